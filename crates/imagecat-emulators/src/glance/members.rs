//! Image members (`/v2/images/{id}/members`, `glance/api/v2/image_members.py`):
//! the owner shares a `shared` image with a project, whose membership
//! starts `pending`; the member accepts or rejects it (`member_status`).

use super::*;

fn member_json(image: &str, member: &str, m: &Member) -> Value {
    json!({
        "member_id": member,
        "image_id": image,
        "status": m.status,
        "created_at": stamp(&m.created_at),
        "updated_at": stamp(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}

fn json_response(status: u16, body: &Value) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

fn not_member(headers: &HeaderMap, id: &str, member: &str) -> Response {
    let message = format!("{member} not found in the member list of the image {id}.");
    webob_error(headers, 404, &message)
}

/// The caller and the image it may see, or the 401/404 to answer.
fn visible_image(
    emu: &Emu,
    state: &Store,
    headers: &HeaderMap,
    id: &str,
) -> Result<(GlanceCaller, GlanceImage), Refused> {
    let caller = emu.caller(state, headers)?;
    match emu.find_visible(state, id, &caller) {
        Some(image) => Ok((caller, image)),
        None => Err(Box::new(webob_error(
            headers,
            404,
            &format!("Image {id} not found."),
        ))),
    }
}

/// `POST /v2/images/{id}/members` `{"member": PROJECT}`: 200, `pending`.
pub(super) async fn add_member((State(emu), Path(id), headers, body): IdWrite) -> Response {
    let mut state = emu.lock();
    let (caller, image) = or_answer!(visible_image(&emu, &state, &headers, &id));
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return webob_error(&headers, 400, "Malformed JSON in request body.");
    };
    let Some(member) = doc.get("member").and_then(Value::as_str) else {
        return webob_error(&headers, 400, "Member to be added not specified");
    };
    if image.visibility != "shared" || !caller.owns(&image) {
        let message = format!("Not allowed to create members for image {id}.");
        return webob_error(&headers, 403, &message);
    }
    let members = state.members.entry(image.id.clone()).or_default();
    if members.contains_key(member) {
        let message = format!("Member {member} is duplicated for image {id}");
        return webob_error(&headers, 409, &message);
    }
    let now = Utc::now();
    let m = Member {
        status: "pending".into(),
        created_at: now,
        updated_at: now,
    };
    let body = member_json(&image.id, member, &m);
    members.insert(member.to_owned(), m);
    json_response(200, &body)
}

/// `GET /v2/images/{id}/members`: the owner (or admin) sees all, a member
/// its own membership.
pub(super) async fn list_members(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let state = emu.lock();
    let (caller, image) = or_answer!(visible_image(&emu, &state, &headers, &id));
    let members: Vec<Value> = state
        .members
        .get(&image.id)
        .into_iter()
        .flatten()
        .filter(|(who, _)| caller.owns(&image) || caller.project.as_deref() == Some(who.as_str()))
        .map(|(who, m)| member_json(&image.id, who, m))
        .collect();
    json_response(
        200,
        &json!({"members": members, "schema": "/v2/schemas/members"}),
    )
}

/// `GET /v2/images/{id}/members/{member}`.
pub(super) async fn show_member(
    State(emu): State<Arc<Emu>>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let state = emu.lock();
    let (_, image) = or_answer!(visible_image(&emu, &state, &headers, &id));
    match emu.membership(&state, &image.id, Some(&member)) {
        Some(m) => json_response(200, &member_json(&image.id, &member, m)),
        None => not_member(&headers, &id, &member),
    }
}

/// `PUT /v2/images/{id}/members/{member}` `{"status": …}`: only the member
/// (or an admin) answers its invitation.
pub(super) async fn update_member(
    State(emu): State<Arc<Emu>>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = emu.lock();
    let (caller, image) = or_answer!(visible_image(&emu, &state, &headers, &id));
    let status = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|d| d.get("status").and_then(Value::as_str).map(str::to_owned));
    let Some(status) = status.filter(|s| matches!(s.as_str(), "pending" | "accepted" | "rejected"))
    else {
        let message =
            "Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".";
        return webob_error(&headers, 400, message);
    };
    if emu.membership(&state, &image.id, Some(&member)).is_none() {
        return not_member(&headers, &id, &member);
    }
    if !caller.admin && caller.project.as_deref() != Some(member.as_str()) {
        let message = "You are not permitted to modify 'status' on this image member.";
        return webob_error(&headers, 403, message);
    }
    let Some(m) = state
        .members
        .get_mut(&image.id)
        .and_then(|ms| ms.get_mut(&member))
    else {
        return not_member(&headers, &id, &member);
    };
    m.status = status;
    m.updated_at = Utc::now();
    json_response(200, &member_json(&image.id, &member, m))
}

/// `DELETE /v2/images/{id}/members/{member}`: 204, by the owner.
pub(super) async fn delete_member(
    State(emu): State<Arc<Emu>>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut state = emu.lock();
    let (caller, image) = or_answer!(visible_image(&emu, &state, &headers, &id));
    if !caller.owns(&image) {
        let message = format!("Not allowed to delete members for image {id}.");
        return webob_error(&headers, 403, &message);
    }
    match state
        .members
        .get_mut(&image.id)
        .and_then(|ms| ms.remove(&member))
    {
        Some(_) => no_content(),
        None => not_member(&headers, &id, &member),
    }
}

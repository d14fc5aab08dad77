//! The Glance emulator's axum handlers: images, versions, Keystone v2 and
//! v3 tokens.

use super::*;

pub(super) type Pairs = Query<Vec<(String, String)>>;

/// What a handler writing to one image takes: the state, the image id,
/// the headers and the body.
pub(super) type IdWrite = (State<Arc<Emu>>, Path<String>, HeaderMap, Bytes);

/// How every image request starts: counted, then the next canned answer
/// if one is queued, else the token's caller (or the 401 to answer).
pub(super) fn begin_image_request<'a>(
    emu: &'a Emu,
    headers: &HeaderMap,
) -> Result<(MutexGuard<'a, Store>, GlanceCaller), Refused> {
    emu.image_requests.bump();
    let mut state = emu.lock();
    if let Some(c) = state.canned.pop_front() {
        return Err(Box::new(c.into_response()));
    }
    let caller = emu.caller(&state, headers)?;
    Ok((state, caller))
}

pub(super) async fn list_images(
    State(emu): State<Arc<Emu>>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (state, caller) = or_answer!(begin_image_request(&emu, &headers));
    let Ok(Query(pairs)) = query else {
        return webob_error(&headers, 400, "Invalid query string");
    };
    let mut limit = emu.config.default_limit as usize;
    let mut marker = None;
    let mut filters = Filters {
        caller: Some(caller.clone()),
        ..Filters::default()
    };
    for (key, value) in &pairs {
        match core_param(&mut filters, key, value) {
            Some(Ok(())) => continue,
            Some(Err(e)) => return webob_error(&headers, 400, &e),
            None => {}
        }
        match key.as_str() {
            "limit" => match value.trim().parse::<i64>() {
                Ok(n) if n < 0 => {
                    return webob_error(&headers, 400, "limit param must be positive");
                }
                Ok(n) => limit = (n as u64).min(u64::from(emu.config.max_limit)) as usize,
                Err(_) => {
                    return webob_error(&headers, 400, "limit param must be an integer");
                }
            },
            "marker" => marker = Some(value.clone()),
            "name" => match filter_values(value) {
                Ok(v) => filters.names = Some(v),
                Err(e) => return webob_error(&headers, 400, &e),
            },
            "status" => match filter_values(value) {
                Ok(v) => filters.statuses = Some(v),
                Err(e) => return webob_error(&headers, 400, &e),
            },
            "visibility" => {
                if !matches!(
                    value.as_str(),
                    "public" | "private" | "shared" | "community" | "all"
                ) {
                    return webob_error(
                        &headers,
                        400,
                        &format!("Invalid visibility value: {value}"),
                    );
                }
                filters.visibility = Some(value.clone());
            }
            "owner" => filters.owner = Some(value.clone()),
            "sort" | "sort_key" | "sort_dir" => {}
            _ => match golden_param(&mut filters.golden, key, value) {
                Some(Ok(())) => {}
                Some(Err(e)) => return webob_error(&headers, 400, &e),
                None => filters.properties.push((key.clone(), value.clone())),
            },
        }
    }
    let sort = match SortParam::parse(&pairs) {
        Ok(sort) => sort,
        Err(e) => return webob_error(&headers, 400, &e),
    };
    let marker = match marker.as_deref() {
        Some(m) if !emu.config.ignore_marker => match emu.marker(&state, &headers, m, &caller) {
            Ok(image) => Some(image),
            Err(refused) => return *refused,
        },
        _ => None,
    };
    let images = if sort.is_default() {
        emu.page(&state, marker.as_ref(), limit, &filters)
    } else {
        let marker = marker.map(|m| m.id);
        emu.sorted_page(&state, marker.as_deref(), limit, &filters, &sort)
    };
    drop(state);
    // Glance writes its links from `dict(request.params)`: each key once,
    // where it first appears, with its last value.
    let mut rest: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs.into_iter().filter(|(k, _)| k != "marker") {
        match rest.iter_mut().find(|(seen, _)| *seen == k) {
            Some(slot) => slot.1 = v,
            None => rest.push((k, v)),
        }
    }
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(images.iter().map(GlanceImage::to_json).collect()),
    );
    let first = if rest.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{}", urlencode(&rest))
    };
    body.insert("first".into(), json!(first));
    body.insert("schema".into(), json!("/v2/schemas/images"));
    if let (Some(last), true) = (images.last(), limit > 0 && images.len() == limit) {
        let mut next = rest;
        next.push(("marker".to_owned(), last.id.clone()));
        body.insert(
            "next".into(),
            json!(format!("/v2/images?{}", urlencode(&next))),
        );
    }
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

pub(super) async fn show_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (state, caller) = or_answer!(begin_image_request(&emu, &headers));
    match emu.find_visible(&state, &id, &caller) {
        Some(image) => {
            let body = serde_json::to_vec(&image.to_json()).unwrap_or_default();
            json_bytes_response(200, body)
        }
        None => webob_error(&headers, 404, &format!("No image found with ID {id}")),
    }
}

pub(super) async fn delete_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (mut state, caller) = or_answer!(begin_image_request(&emu, &headers));
    let Some(image) = emu.find_visible(&state, &id, &caller) else {
        return webob_error(
            &headers,
            404,
            &format!("Failed to find image {id} to delete"),
        );
    };
    if !caller.owns(&image) {
        return webob_error(&headers, 403, "You do not own this image");
    }
    if image.protected {
        return webob_error(
            &headers,
            403,
            &format!("Image {id} is protected and cannot be deleted."),
        );
    }
    if let Some(i) = emu.live_seeded(&state, &id) {
        state.deleted.insert(i);
        state.patched.remove(&i);
    } else {
        state.inserted.remove(&image.key());
    }
    state.tombstones.insert(image.id.clone(), image.key());
    state.members.remove(&image.id);
    no_content()
}

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

pub(super) async fn keystone_v2(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    if emu.config.keystone_users().next().is_none() {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return keystone_error(400, "Bad Request", "Malformed request body");
    };
    let auth = &request["auth"];
    let username = str_at(auth, &["passwordCredentials", "username"]);
    let password = str_at(auth, &["passwordCredentials", "password"]);
    let accepts = |user: &KeystoneUser| {
        let tenant_ok = match (str_at(auth, &["tenantId"]), str_at(auth, &["tenantName"])) {
            (Some(id), _) => id == user.project_id,
            (None, Some(name)) => name == user.project_name,
            (None, None) => false,
        };
        username == Some(user.username.as_str())
            && password == Some(user.password.as_str())
            && tenant_ok
    };
    let Some(user) = emu.config.keystone_users().find(|u| accepts(u)) else {
        return keystone_error(401, "Unauthorized", KEYSTONE_401);
    };
    let (id, expires) = emu.issue(&mut emu.lock(), user.caller());
    let roles: Vec<Value> = user.roles().iter().map(|r| json!({"name": r})).collect();
    let endpoint = emu.endpoint();
    let body = json!({"access": {
        "token": {
            "id": id,
            "expires": expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "issued_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            "tenant": {"id": user.project_id, "name": user.project_name, "enabled": true},
        },
        "serviceCatalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"region": emu.config.region, "publicURL": format!("{endpoint}/identity/v2.0")}]},
            {"type": "image", "name": "glance", "endpoints": [
                {"region": emu.config.region, "publicURL": endpoint},
                {"region": "OtherRegion", "publicURL": "http://127.0.0.1:9/other-region"}]},
        ],
        "user": {"id": "emu-user", "username": user.username, "name": user.username,
                 "roles": roles, "roles_links": []},
        "metadata": {"roles": [], "is_admin": i32::from(user.admin)},
    }});
    let mut body = body;
    emu.add_usage_services(body.pointer_mut("/access/serviceCatalog"), false);
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

pub(super) async fn keystone_v3(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    if emu.config.keystone_users().next().is_none() {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return keystone_error(400, "Bad Request", "Malformed request body");
    };
    let identity = &request["auth"]["identity"];
    let by_app_credential = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == "application_credential"));
    let methods_ok = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == "password"));
    let u = &identity["password"]["user"];
    let project = &request["auth"]["scope"]["project"];
    let accepts = |user: &KeystoneUser| {
        let user_ok = str_at(u, &["name"]) == Some(user.username.as_str())
            && str_at(u, &["password"]) == Some(user.password.as_str())
            && str_at(u, &["domain", "name"]) == Some(user.user_domain.as_str());
        let project_ok = match str_at(project, &["id"]) {
            Some(id) => id == user.project_id,
            None => {
                str_at(project, &["name"]) == Some(user.project_name.as_str())
                    && str_at(project, &["domain", "name"]) == Some(user.project_domain.as_str())
            }
        };
        let app_ok = by_app_credential && app_credential_ok(user, identity);
        app_ok || (methods_ok && user_ok && project_ok)
    };
    let Some(user) = emu.config.keystone_users().find(|u| accepts(u)) else {
        return keystone_error(401, "Unauthorized", KEYSTONE_401);
    };
    let (id, expires) = emu.issue(&mut emu.lock(), user.caller());
    let roles: Vec<Value> = user
        .roles()
        .iter()
        .enumerate()
        .map(|(n, r)| json!({"id": format!("r{}", n + 1), "name": r}))
        .collect();
    let endpoint = emu.endpoint();
    let region = &emu.config.region;
    let body = json!({"token": {
        "methods": ["password"],
        "expires_at": expires.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "issued_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "user": {"id": "emu-user", "name": user.username, "domain": {"id": "default", "name": user.user_domain}},
        "project": {"id": user.project_id, "name": user.project_name, "domain": {"id": "default", "name": user.project_domain}},
        "roles": roles,
        "catalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "public", "region": region, "region_id": region, "url": format!("{endpoint}/identity")}]},
            {"type": "image", "name": "glance", "endpoints": [
                {"interface": "internal", "region": region, "region_id": region, "url": "http://127.0.0.1:9/internal"},
                {"interface": "public", "region": region, "region_id": region, "url": endpoint},
                {"interface": "public", "region": "OtherRegion", "region_id": "OtherRegion", "url": "http://127.0.0.1:9/other-region"}]},
        ],
    }});
    let mut body = body;
    emu.add_usage_services(body.pointer_mut("/token/catalog"), true);
    let mut response = json_bytes_response(201, serde_json::to_vec(&body).unwrap_or_default());
    if let Ok(v) = id.parse() {
        response.headers_mut().insert("x-subject-token", v);
    }
    response
}

/// Whether a v3 `identity` holds this user's application credential.
fn app_credential_ok(user: &KeystoneUser, identity: &Value) -> bool {
    let Some(cred) = &user.app_credential else {
        return false;
    };
    let given = &identity["application_credential"];
    let who = match str_at(given, &["id"]) {
        Some(id) => id == cred.id,
        None => {
            str_at(given, &["name"]) == Some(cred.name.as_str())
                && str_at(given, &["user", "name"]) == Some(user.username.as_str())
                && str_at(given, &["user", "domain", "name"]) == Some(user.user_domain.as_str())
        }
    };
    who && str_at(given, &["secret"]) == Some(cred.secret.as_str())
}

/// Keystone's description of its v3 API (the version discovery of
/// keystoneauth reads it).
fn keystone_v3_doc(emu: &Emu) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/identity/v3/", emu.server_root())}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// `GET /identity/v3`: Keystone's version document, which keystoneauth
/// reads before it authenticates (404 without Keystone users).
pub(super) async fn keystone_v3_version(State(emu): State<Arc<Emu>>) -> Response {
    if emu.config.keystone_users().next().is_none() {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    }
    let body = json!({"version": keystone_v3_doc(&emu)});
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

/// `GET /identity`: Keystone's versions document (300, v3 only), where
/// the service catalog's identity endpoint points.
pub(super) async fn keystone_versions(State(emu): State<Arc<Emu>>) -> Response {
    if emu.config.keystone_users().next().is_none() {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    }
    let body = json!({"versions": {"values": [keystone_v3_doc(&emu)]}});
    json_bytes_response(300, serde_json::to_vec(&body).unwrap_or_default())
}

//! The routes under `/compute/v1/`, dispatched by hand (GCE's paths put
//! a static `family` where an image name may stand), and the image calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::data::{Image, State, label_fingerprint};
use super::filter::Filter;
use super::operations::Effect;
use super::wire::{self, invalid, not_found};
use super::{Deprecation, GceBinding, GceImage, MAX_RESULTS};
use crate::server::json_response;

/// The largest request body read.
const MAX_BODY: usize = 1 << 20;

type Shared = Arc<Mutex<State>>;

/// A refused call: the answer to send instead (boxed: a `Response` is large).
pub(crate) type Refusal = Box<Response>;

/// The emulator's router.
pub(crate) fn router(state: Shared) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a handler sees of the request.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) body: Bytes,
}

impl Call {
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn dispatch(AxumState(state): AxumState<Shared>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/batch/compute/v1" && request.method() == Method::POST {
        return batch(&state, request).await;
    }
    if path == "/token" && request.method() == Method::POST {
        let body = to_bytes(request.into_body(), MAX_BODY)
            .await
            .unwrap_or_default();
        return super::auth::token(&mut lock(&state), &body);
    }
    if (path == "/" || path.starts_with("/computeMetadata/v1/")) && request.method() == Method::GET
    {
        let path = path.to_owned();
        return super::auth::metadata(&mut lock(&state), &path, request.headers());
    }
    single(&state, request).await
}

/// A batch: its parts answered in order by [`single`].
async fn batch(state: &Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(boundary) = super::batch::boundary(&parts.headers) else {
        return invalid("A batch request must be multipart/mixed with a boundary.");
    };
    let Ok(body) = to_bytes(body, 16 * MAX_BODY).await else {
        return invalid("The request body is too large.");
    };
    let inner = match super::batch::parts(&body, &boundary, &parts.headers) {
        Ok(inner) => inner,
        Err(why) => return invalid(&why),
    };
    let mut answers = Vec::with_capacity(inner.len());
    for part in inner {
        answers.push((part.content_id, single(state, part.request).await));
    }
    super::batch::answer(answers).await
}

/// One call under `/compute/v1/`.
async fn single(state: &Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let Some(rest) = path.strip_prefix("/compute/v1/projects/") else {
        return wire::no_such_path(&path);
    };
    let segments: Vec<String> = rest.split('/').map(decode_segment).collect();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return invalid("The request body is too large.");
    };
    let call = Call {
        method: parts.method.clone(),
        query,
        body,
    };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let Some(route) = Route::of(&call.method, &segs) else {
        return wire::no_such_path(&path);
    };
    let mut state = lock(state);
    // The bearer token.
    if !state.anonymous {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let accepted = |token: &str| {
            let token = token.trim();
            state.tokens.iter().any(|t| t == token)
                || (state.self_signed_jwt
                    && super::auth::self_signed_ok(token, chrono::Utc::now().timestamp()))
        };
        match header.and_then(|h| h.strip_prefix("Bearer ")) {
            None => return wire::unauthenticated(true),
            Some(token) if !accepted(token) => return wire::unauthenticated(false),
            Some(_) => {}
        }
    }
    if let Some(e) = state.injected.pop_front() {
        return wire::error(e.status, &e.reason, &e.message);
    }
    let project = segs[0];
    if !state.projects.contains_key(project) {
        return not_found(&format!("projects/{project}"));
    }
    route.answer(&mut state, project, &call)
}

/// A recognised call.
enum Route<'a> {
    ListImages,
    InsertImage,
    Family(&'a str),
    GetImage(&'a str),
    DeleteImage(&'a str),
    Deprecate(&'a str),
    SetLabels(&'a str),
    GetIamPolicy(&'a str),
    PatchImage(&'a str),
    FamilyView(&'a str, &'a str),
    GetOperation(&'a str),
    WaitOperation(&'a str),
    Usage(super::usage::UsageRoute<'a>),
}

impl<'a> Route<'a> {
    fn of(method: &Method, segs: &[&'a str]) -> Option<Self> {
        let get = method == Method::GET;
        let post = method == Method::POST;
        Some(match segs {
            [_, "global", "images"] if get => Route::ListImages,
            [_, "global", "images"] if post => Route::InsertImage,
            [_, "global", "images", "family", f] if get => Route::Family(f),
            [_, "global", "images", i] if get => Route::GetImage(i),
            [_, "global", "images", i] if method == Method::DELETE => Route::DeleteImage(i),
            [_, "global", "images", i] if method == Method::PATCH => Route::PatchImage(i),
            [_, "zones", z, "imageFamilyViews", f] if get => Route::FamilyView(z, f),
            [_, "global", "images", i, "deprecate"] if post => Route::Deprecate(i),
            [_, "global", "images", i, "setLabels"] if post => Route::SetLabels(i),
            [_, "global", "images", i, "getIamPolicy"] if get => Route::GetIamPolicy(i),
            [_, "global", "operations", o] if get => Route::GetOperation(o),
            [_, "global", "operations", o, "wait"] if post => Route::WaitOperation(o),
            _ if get => Route::Usage(super::usage::UsageRoute::of(&segs[1..])?),
            _ => return None,
        })
    }

    fn answer(&self, state: &mut State, project: &str, call: &Call) -> Response {
        match *self {
            Route::ListImages => list_images(state, project, call),
            Route::InsertImage => insert_image(state, project, call),
            Route::Family(family) => match state.family_head(project, family) {
                Some(image) => json_response(200, &wire::image(&state.links, image)),
                None => not_found(&format!("projects/{project}/global/images/family/{family}")),
            },
            Route::GetImage(name) => match state.find_image(project, name) {
                Some(image) => json_response(200, &wire::image(&state.links, image)),
                None => not_found(&format!("projects/{project}/global/images/{name}")),
            },
            Route::DeleteImage(name) => delete_image(state, project, name, call),
            Route::PatchImage(name) => patch_image(state, project, name, call),
            Route::FamilyView(zone, family) => {
                if !state.zones.iter().any(|z| z == zone) {
                    return not_found(&format!("projects/{project}/zones/{zone}"));
                }
                match state.family_head(project, family) {
                    Some(image) => {
                        json_response(200, &json!({"image": wire::image(&state.links, image)}))
                    }
                    None => not_found(&format!(
                        "projects/{project}/zones/{zone}/imageFamilyViews/{family}"
                    )),
                }
            }
            Route::Deprecate(name) => deprecate(state, project, name, call),
            Route::SetLabels(name) => set_labels(state, project, name, call),
            Route::GetIamPolicy(name) => match state.find_image(project, name) {
                Some(image) => json_response(200, &iam_policy(&image.spec.bindings)),
                None => not_found(&format!("projects/{project}/global/images/{name}")),
            },
            Route::GetOperation(name) | Route::WaitOperation(name) => {
                match state.read_operation(project, name) {
                    Some(doc) => json_response(200, &doc),
                    None => not_found(&format!("projects/{project}/global/operations/{name}")),
                }
            }
            Route::Usage(ref route) => route.answer(state, project, call),
        }
    }
}

/// `maxResults`: 0–500, 0 or absent the default 500.
pub(crate) fn max_results(call: &Call) -> Result<usize, Refusal> {
    let Some(text) = call.param("maxResults") else {
        return Ok(MAX_RESULTS as usize);
    };
    match text.parse::<u32>() {
        Ok(0) => Ok(MAX_RESULTS as usize),
        Ok(n) if n <= MAX_RESULTS => Ok(n as usize),
        Ok(_) => Err(Box::new(invalid(&format!(
            "Invalid value for field 'maxResults': '{text}'. Must be less than or equal to 500"
        )))),
        Err(_) => Err(Box::new(invalid(&format!(
            "Invalid value at 'max_results' (TYPE_UINT32), \"{text}\""
        )))),
    }
}

/// The parsed `filter`, or its 400.
pub(crate) fn filter(call: &Call) -> Result<Option<Filter>, Refusal> {
    Filter::parse(call.param("filter").unwrap_or("")).map_err(|e| Box::new(invalid(&e.0)))
}

/// A page token: the hex of `{query hash}:{last key}`, so a token is only
/// good for the filter and order it was made for.
pub(crate) fn page_token(query: u64, key: &str) -> String {
    let text = format!("{query:016x}:{key}");
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The last key a token carries, or the 400 of a bad or foreign token.
pub(crate) fn token_key(call: &Call, query: u64) -> Result<Option<String>, Refusal> {
    let Some(token) = call.param("pageToken").filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        Box::new(invalid(&format!(
            "Invalid value for field 'pageToken': '{token}'."
        )))
    };
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (hash, key) = text.split_once(':').ok_or_else(bad)?;
    if hash != format!("{query:016x}") {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// A hash of what a page token is bound to.
pub(crate) fn query_hash(parts: &[&str]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |h, p| {
        p.bytes()
            .chain([0xff])
            .fold(h, |h, b| crate::seed::splitmix64(h ^ u64::from(b)))
    })
}

fn list_images(state: &mut State, project: &str, call: &Call) -> Response {
    let max = match max_results(call) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let filter_text = call.param("filter").unwrap_or("");
    let filter = match filter(call) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let order = call.param("orderBy").unwrap_or("");
    let by_created = match order {
        "" => false,
        "name" => false,
        "creationTimestamp desc" => true,
        other => {
            return invalid(&format!(
                "Invalid value for field 'orderBy': '{other}'. Only sorting by name or creationTimestamp desc is supported."
            ));
        }
    };
    if !order.is_empty() && filter.is_some() {
        let field = order.split_whitespace().next().unwrap_or(order);
        return invalid(&format!(
            "Invalid value for field 'orderBy': '{field}'. Specifying both a list filter and sort order is not currently supported."
        ));
    }
    let hash = query_hash(&[filter_text, order]);
    let after = match token_key(call, hash) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    if state.empty_pages > 0 {
        // A hostile page: nothing on it, and a token that resumes where
        // this page began.
        state.empty_pages -= 1;
        let next = page_token(hash, after.as_deref().unwrap_or(""));
        let doc = wire::list(
            "compute#imageList",
            &format!("projects/{project}/global/images"),
            state.links.project(project, "global/images"),
            Vec::new(),
            Some(next),
        );
        return json_response(200, &doc);
    }
    let Some(p) = state.projects.get(project) else {
        return not_found(&format!("projects/{project}"));
    };
    // The sort key: the name, or `{inverted creation millis}/{name}`.
    let key = |i: &Image| {
        if by_created {
            format!(
                "{:020}/{}",
                i64::MAX - i.spec.created.timestamp_millis(),
                i.spec.name
            )
        } else {
            i.spec.name.clone()
        }
    };
    // Name order walks the map from the token's key on, lazily; creation
    // order sorts every image by its key first.
    let candidates: Box<dyn Iterator<Item = &Image>> = if by_created {
        let mut all: Vec<_> = p.images.values().map(|i| (key(i), i)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(after) = &after {
            all.retain(|(k, _)| k > after);
        }
        Box::new(all.into_iter().map(|(_, i)| i))
    } else {
        use std::ops::Bound;
        let start = match &after {
            Some(k) => Bound::Excluded(k.clone()),
            None => Bound::Unbounded,
        };
        Box::new(p.images.range((start, Bound::Unbounded)).map(|(_, i)| i))
    };
    let mut items = Vec::new();
    let mut next = None;
    for image in candidates {
        let doc = wire::image(&state.links, image);
        if filter.as_ref().is_some_and(|f| !f.matches(&doc)) {
            continue;
        }
        if items.len() == max {
            next = Some(page_token(hash, &last_key(&items, by_created)));
            break;
        }
        items.push(doc);
    }
    let id = format!("projects/{project}/global/images");
    let doc = wire::list(
        "compute#imageList",
        &id,
        state.links.project(project, "global/images"),
        items,
        next,
    );
    json_response(200, &doc)
}

/// The sort key of the last item of a page.
fn last_key(items: &[Value], by_created: bool) -> String {
    let Some(last) = items.last() else {
        return String::new();
    };
    let name = last["name"].as_str().unwrap_or_default();
    if by_created {
        let millis = last["creationTimestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or_default();
        format!("{:020}/{name}", i64::MAX - millis)
    } else {
        name.to_owned()
    }
}

/// The image a write names, or its 404 (403 in a public image project).
fn writable<'s>(
    state: &'s mut State,
    project: &str,
    name: &str,
    permission: &str,
) -> Result<&'s mut Image, Refusal> {
    let resource = format!("projects/{project}/global/images/{name}");
    let public = state.projects.get(project).is_some_and(|p| p.public);
    let found = state.find_image(project, name).map(|i| i.spec.name.clone());
    match found {
        None => Err(Box::new(not_found(&resource))),
        Some(_) if public => Err(Box::new(wire::error(
            403,
            "forbidden",
            &format!("Required '{permission}' permission for '{resource}'"),
        ))),
        Some(real) => state
            .projects
            .get_mut(project)
            .and_then(|p| p.images.get_mut(&real))
            .ok_or_else(|| Box::new(not_found(&resource))),
    }
}

/// A retried write (same `requestId`) answers its first Operation.
fn replayed(state: &State, project: &str, call: &Call) -> Option<Response> {
    let id = call.param("requestId")?;
    let op = state.projects.get(project)?.request_ids.get(id)?;
    Some(json_response(200, &state.operation_doc(project, op)?))
}

fn operation_answer(state: &State, project: &str, op: &str) -> Response {
    match state.operation_doc(project, op) {
        Some(doc) => json_response(200, &doc),
        None => not_found(&format!("projects/{project}/global/operations/{op}")),
    }
}

fn delete_image(state: &mut State, project: &str, name: &str, call: &Call) -> Response {
    if let Some(r) = replayed(state, project, call) {
        return r;
    }
    let polls = state.operation_polls;
    let (real, id) = match writable(state, project, name, "compute.images.delete") {
        Ok(image) => {
            if polls > 0 {
                image.spec.status = "DELETING".into();
            }
            (image.spec.name.clone(), image.id)
        }
        Err(r) => return *r,
    };
    let failure = state.delete_failures.pop_front();
    let op = state.start_operation(
        project,
        "delete",
        (&real, id),
        Effect::RemoveImage {
            name: real.clone(),
            id,
        },
        failure,
        call.param("requestId").map(str::to_owned),
    );
    operation_answer(state, project, &op)
}

fn body_json(call: &Call) -> Result<Value, Refusal> {
    if call.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&call.body).map_err(|e| {
        Box::new(invalid(&format!(
            "Invalid JSON payload received. {}",
            e.to_string().replace('\n', " ")
        )))
    })
}

/// An image reference in any form GCE accepts (full URL on any host,
/// `projects/P/global/images/N`, `global/images/N`), as a `selfLink`.
fn image_link(state: &State, project: &str, reference: &str) -> Option<String> {
    let tail = match reference.find("projects/") {
        Some(at) => &reference[at..],
        None => reference,
    };
    let parts: Vec<&str> = tail.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "global", "images", n] => Some(state.links.image(p, n)),
        ["global", "images", n] => Some(state.links.image(project, n)),
        _ => None,
    }
}

fn deprecate(state: &mut State, project: &str, name: &str, call: &Call) -> Response {
    if let Some(r) = replayed(state, project, call) {
        return r;
    }
    let body = match body_json(call) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let new = match deprecation(state, project, &body) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let (real, id) = match writable(state, project, name, "compute.images.deprecate") {
        Ok(image) => {
            image.spec.deprecated = new;
            (image.spec.name.clone(), image.id)
        }
        Err(r) => return *r,
    };
    let op = state.start_operation(
        project,
        "deprecate",
        (&real, id),
        Effect::None,
        None,
        call.param("requestId").map(str::to_owned),
    );
    operation_answer(state, project, &op)
}

/// A `DeprecationStatus` body: `None` clears (empty, or ACTIVE); an
/// unknown state or an unreadable replacement is 400.
fn deprecation(state: &State, project: &str, body: &Value) -> Result<Option<Deprecation>, Refusal> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let state_word = text("state").unwrap_or_default();
    if !["", "ACTIVE", "DEPRECATED", "OBSOLETE", "DELETED"].contains(&state_word.as_str()) {
        return Err(Box::new(invalid(&format!(
            "Invalid value for field 'resource.state': '{state_word}'."
        ))));
    }
    let replacement = match text("replacement") {
        None => None,
        Some(r) => match image_link(state, project, &r) {
            Some(link) => Some(link),
            None => {
                return Err(Box::new(invalid(&format!(
                    "Invalid value for field 'resource.replacement': '{r}'."
                ))));
            }
        },
    };
    Ok(
        (!state_word.is_empty() && state_word != "ACTIVE").then(|| Deprecation {
            state: state_word.clone(),
            replacement,
            deprecated: text("deprecated"),
            obsolete: text("obsolete"),
            deleted: text("deleted"),
        }),
    )
}

/// `images.patch`: only `family`, `description` and `deprecated` may
/// change (the DD); other fields in the body are ignored.
fn patch_image(state: &mut State, project: &str, name: &str, call: &Call) -> Response {
    if let Some(r) = replayed(state, project, call) {
        return r;
    }
    let body = match body_json(call) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let new_deprecation = match body.get("deprecated") {
        Some(d) => match deprecation(state, project, d) {
            Ok(d) => Some(d),
            Err(r) => return *r,
        },
        None => None,
    };
    if let Some(family) = body.get("family").and_then(Value::as_str) {
        if !family.is_empty() && !is_rfc1035(family) {
            return invalid(&format!(
                "Invalid value for field 'resource.family': '{family}'."
            ));
        }
    }
    let (real, id) = match writable(state, project, name, "compute.images.update") {
        Ok(image) => {
            if let Some(family) = body.get("family").and_then(Value::as_str) {
                image.spec.family = (!family.is_empty()).then(|| family.to_owned());
            }
            if let Some(description) = body.get("description").and_then(Value::as_str) {
                image.spec.description = description.to_owned();
            }
            if let Some(d) = new_deprecation {
                image.spec.deprecated = d;
            }
            (image.spec.name.clone(), image.id)
        }
        Err(r) => return *r,
    };
    let op = state.start_operation(
        project,
        "patch",
        (&real, id),
        Effect::None,
        None,
        call.param("requestId").map(str::to_owned),
    );
    operation_answer(state, project, &op)
}

/// Whether a label key or value is as GCE allows (lower case letters,
/// digits, `_` and `-`, at most 63; a key starts with a letter).
fn label_ok(text: &str, key: bool) -> bool {
    text.len() <= 63
        && (!key || text.starts_with(|c: char| c.is_ascii_lowercase()))
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Whether two base64 texts of a `bytes` field are the same bytes: proto3
/// JSON accepts the standard and the URL-safe alphabet, padded or not
/// (gcloud sends fingerprints URL-safe).
fn same_bytes(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect()
    };
    !a.is_empty() && norm(a) == norm(b)
}

fn set_labels(state: &mut State, project: &str, name: &str, call: &Call) -> Response {
    let body = match body_json(call) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut labels = BTreeMap::new();
    if let Some(map) = body.get("labels").and_then(Value::as_object) {
        for (k, v) in map {
            let v = v.as_str().unwrap_or_default();
            if !label_ok(k, true) || !label_ok(v, false) {
                return invalid(&format!("Invalid value for field 'labels': '{k}={v}'."));
            }
            labels.insert(k.clone(), v.to_owned());
        }
    }
    let given = body
        .get("labelFingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let relabel = state.relabels.pop_front();
    let (real, id) = match writable(state, project, name, "compute.images.setLabels") {
        Ok(image) => {
            if let Some((k, v)) = relabel {
                image.spec.labels.insert(k, v);
            }
            if !same_bytes(&given, &label_fingerprint(&image.spec.labels)) {
                let message = "Labels fingerprint either invalid or resource labels have changed";
                let doc = wire::error_doc(412, "conditionNotMet", message, Some("If-Match"));
                return json_response(412, &doc);
            }
            image.spec.labels = labels;
            (image.spec.name.clone(), image.id)
        }
        Err(r) => return *r,
    };
    let op = state.start_operation(project, "setLabels", (&real, id), Effect::None, None, None);
    operation_answer(state, project, &op)
}

fn is_rfc1035(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn insert_image(state: &mut State, project: &str, call: &Call) -> Response {
    if let Some(r) = replayed(state, project, call) {
        return r;
    }
    let body = match body_json(call) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    if !is_rfc1035(&name) {
        return invalid(&format!(
            "Invalid value for field 'resource.name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"
        ));
    }
    if state.projects.get(project).is_some_and(|p| p.public) {
        return wire::error(
            403,
            "forbidden",
            &format!(
                "Required 'compute.images.create' permission for 'projects/{project}/global/images/{name}'"
            ),
        );
    }
    if state.find_image(project, &name).is_some() {
        return wire::error(
            409,
            "alreadyExists",
            &format!("The resource 'projects/{project}/global/images/{name}' already exists"),
        );
    }
    let mut image = GceImage::new(name.clone(), chrono::Utc::now());
    image.family = body["family"].as_str().map(str::to_owned);
    image.description = body["description"].as_str().unwrap_or_default().to_owned();
    if let Some(map) = body["labels"].as_object() {
        for (k, v) in map {
            image
                .labels
                .insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    if let Some(arch) = body["architecture"].as_str() {
        image.architecture = Some(arch.to_owned());
    }
    if let Some(gb) = body["diskSizeGb"].as_str().and_then(|s| s.parse().ok()) {
        image.disk_size_gb = gb;
    }
    state.add_image(project, image);
    let id = state
        .find_image(project, &name)
        .map(|i| i.id)
        .unwrap_or_default();
    let op = state.start_operation(
        project,
        "insert",
        (&name, id),
        Effect::None,
        None,
        call.param("requestId").map(str::to_owned),
    );
    operation_answer(state, project, &op)
}

/// An IAM policy document (`bindings` left out when empty, as GCE does).
fn iam_policy(bindings: &[GceBinding]) -> Value {
    if bindings.is_empty() {
        return json!({"version": 1, "etag": "ACAB"});
    }
    let b: Vec<Value> = bindings
        .iter()
        .map(|b| json!({"role": b.role, "members": b.members}))
        .collect();
    json!({"version": 1, "etag": "BwYz1a2b3c4=", "bindings": b})
}

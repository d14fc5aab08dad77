//! What every Glance answer shares: the versions document
//! (`glance/api/versions.py`), the 300 for unversioned paths
//! (`glance/api/middleware/version_negotiation.py`) and the
//! `x-openstack-request-id` header (`BaseContextMiddleware`).

use super::*;

/// The versions Glance 33 lists with a filesystem store and no image
/// cache (`Controller.index`, `enabled_backends` set), in its order.
const VERSIONS: [(&str, &str); 16] = [
    ("v2.15", "SUPPORTED"),
    ("v2.13", "SUPPORTED"),
    ("v2.12", "SUPPORTED"),
    ("v2.11", "SUPPORTED"),
    ("v2.10", "SUPPORTED"),
    ("v2.9", "SUPPORTED"),
    ("v2.8", "SUPPORTED"),
    ("v2.17", "CURRENT"),
    ("v2.7", "SUPPORTED"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

/// The versions document, its links built from the request's `Host`
/// (webob's `application_url`), falling back to the listen address.
fn versions_document(emu: &Emu, headers: &HeaderMap, status: u16) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()));
    let root = match host {
        Some(host) => format!("http://{host}{}", emu.config.base_path),
        None => emu.endpoint(),
    };
    let href = format!("{root}/v2/");
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, status)| json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]}))
        .collect();
    let body = serde_json::to_vec(&json!({"versions": versions})).unwrap_or_default();
    let mut response = json_bytes_response(status, body);
    response.extensions_mut().insert(NoRequestId);
    response
}

/// Marks an answer Glance gives before its context middleware (the
/// versions document): it has no request id.
#[derive(Debug, Clone, Copy)]
struct NoRequestId;

/// `GET /versions`: 200 with the versions document.
pub(super) async fn versions(State(emu): State<Arc<Emu>>, headers: HeaderMap) -> Response {
    versions_document(&emu, &headers, 200)
}

/// Any other path: under `/v2` a 404; anywhere else (`/`, `/v1/…`,
/// `/images`) the 300 versions document, as Glance's version negotiation.
pub(super) async fn unversioned(
    State(emu): State<Arc<Emu>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let rest = path
        .strip_prefix(emu.config.base_path.as_str())
        .unwrap_or(path);
    if rest == "/v2" || rest.starts_with("/v2/") || rest.starts_with("/identity/") {
        return webob_error(&headers, 404, "The resource could not be found.");
    }
    versions_document(&emu, &headers, 300)
}

/// Adds `x-openstack-request-id: req-UUID` to every answer but the
/// versions document.
pub(super) async fn request_id(mut response: Response) -> Response {
    if response.extensions().get::<NoRequestId>().is_some() {
        return response;
    }
    let id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = id.parse() {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

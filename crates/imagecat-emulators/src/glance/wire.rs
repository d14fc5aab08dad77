//! The Glance emulator's error documents (WebOb and Keystone) and query
//! encoding for `next` links.

use super::*;

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        _ => "Error",
    }
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// A webob error page: JSON when the client accepts it, HTML otherwise.
pub(super) fn webob_error(headers: &HeaderMap, status: u16, message: &str) -> Response {
    webob_raw(headers, status, &format!("{message}<br /><br />\n\n\n"))
}

/// A webob error page whose message already holds webob's `<br />` and
/// detail (`explanation<br /><br />\ndetail\ncomment`).
pub(super) fn webob_raw(headers: &HeaderMap, status: u16, message: &str) -> Response {
    let title = reason(status);
    if wants_json(headers) {
        let body = json!({
            "message": message,
            "code": format!("{status} {title}"),
            "title": title,
        });
        return json_bytes_response(status, serde_json::to_vec(&body).unwrap_or_default());
    }
    let html = format!(
        "<html>\n <head>\n  <title>{status} {title}</title>\n </head>\n <body>\n  <h1>{status} {title}</h1>\n  {message}\n </body>\n</html>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=UTF-8")
        .body(Body::from(html))
        .unwrap_or_default()
}

/// An empty 204.
pub(super) fn no_content() -> Response {
    Response::builder()
        .status(204)
        .body(Body::empty())
        .unwrap_or_default()
}

/// Keystone's (and keystonemiddleware's) error document.
pub(super) fn keystone_error(status: u16, title: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "code": status, "title": title}});
    let mut response = json_bytes_response(status, serde_json::to_vec(&body).unwrap_or_default());
    if status == 401 {
        if let Ok(v) = "Keystone uri=\"/identity\"".parse() {
            response.headers_mut().insert("www-authenticate", v);
        }
    }
    response
}

pub(super) fn urlencode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_query_value(k), encode_query_value(v)))
        .collect::<Vec<_>>()
        .join("&")
}

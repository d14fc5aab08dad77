//! The documents the emulator writes, as the discovery document shapes
//! them: `kind` on every object, 64-bit integers as decimal strings,
//! timestamps in RFC3339 with milliseconds and an offset (Pacific, as
//! Google's servers write them), empty lists and maps left out, and
//! Google's error document.

use axum::body::Body;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::data::{Image, Links, label_fingerprint};
use crate::server::json_response;

/// A time as GCE writes it: `2026-10-01T09:12:07.183-08:00` (Pacific
/// standard time, as Google's servers answer).
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    (t - chrono::Duration::hours(8))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f-08:00")
        .to_string()
}

/// An image document (`compute#image`).
pub(crate) fn image(links: &Links, image: &Image) -> Value {
    let spec = &image.spec;
    let mut doc = Map::new();
    doc.insert("kind".into(), json!("compute#image"));
    doc.insert("id".into(), json!(image.id.to_string()));
    doc.insert("creationTimestamp".into(), json!(timestamp(spec.created)));
    doc.insert("name".into(), json!(spec.name));
    if !spec.description.is_empty() {
        doc.insert("description".into(), json!(spec.description));
    }
    doc.insert("sourceType".into(), json!("RAW"));
    doc.insert("status".into(), json!(spec.status));
    doc.insert(
        "archiveSizeBytes".into(),
        json!(spec.archive_size_bytes.to_string()),
    );
    doc.insert("diskSizeGb".into(), json!(spec.disk_size_gb.to_string()));
    if let Some(family) = &spec.family {
        doc.insert("family".into(), json!(family));
    }
    if !spec.labels.is_empty() {
        doc.insert("labels".into(), json!(spec.labels));
    }
    doc.insert(
        "labelFingerprint".into(),
        json!(label_fingerprint(&spec.labels)),
    );
    if let Some(d) = &spec.deprecated {
        let mut dep = Map::new();
        dep.insert("state".into(), json!(d.state));
        for (key, value) in [
            ("replacement", &d.replacement),
            ("deprecated", &d.deprecated),
            ("obsolete", &d.obsolete),
            ("deleted", &d.deleted),
        ] {
            if let Some(v) = value {
                dep.insert(key.into(), json!(v));
            }
        }
        doc.insert("deprecated".into(), Value::Object(dep));
    }
    if !spec.storage_locations.is_empty() {
        doc.insert("storageLocations".into(), json!(spec.storage_locations));
    }
    if let Some(arch) = &spec.architecture {
        doc.insert("architecture".into(), json!(arch));
    }
    doc.insert(
        "guestOsFeatures".into(),
        json!([{"type": "UEFI_COMPATIBLE"}, {"type": "GVNIC"}]),
    );
    doc.insert(
        "selfLink".into(),
        json!(links.image(&image.project, &spec.name)),
    );
    Value::Object(doc)
}

/// A list document: `kind`, `id`, `items` (left out when empty),
/// `nextPageToken`, `selfLink`, and `warning` `NO_RESULTS_ON_PAGE` on an
/// empty page.
pub(crate) fn list(
    kind: &str,
    id: &str,
    self_link: String,
    items: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut doc = Map::new();
    doc.insert("kind".into(), json!(kind));
    doc.insert("id".into(), json!(id));
    if items.is_empty() {
        doc.insert(
            "warning".into(),
            json!({
                "code": "NO_RESULTS_ON_PAGE",
                "message": "There are no results for scope on this page.",
            }),
        );
    } else {
        doc.insert("items".into(), Value::Array(items));
    }
    if let Some(token) = next {
        doc.insert("nextPageToken".into(), json!(token));
    }
    doc.insert("selfLink".into(), json!(self_link));
    Value::Object(doc)
}

/// Google's error document with one error.
pub(crate) fn error(status: u16, reason: &str, message: &str) -> Response {
    json_response(status, &error_doc(status, reason, message, None))
}

/// The error document; `location` adds `location` and `locationType`
/// (`header`) to the error, as GCE does for `If-Match` and `Authorization`.
pub(crate) fn error_doc(status: u16, reason: &str, message: &str, location: Option<&str>) -> Value {
    let mut one = json!({"message": message, "domain": "global", "reason": reason});
    if let Some(at) = location {
        one["location"] = json!(at);
        one["locationType"] = json!("header");
    }
    json!({"error": {"code": status, "message": message, "errors": [one]}})
}

/// 404 `notFound`: `The resource '…' was not found`.
pub(crate) fn not_found(resource: &str) -> Response {
    error(
        404,
        "notFound",
        &format!("The resource '{resource}' was not found"),
    )
}

/// 400 `invalid`.
pub(crate) fn invalid(message: &str) -> Response {
    error(400, "invalid", message)
}

/// The 401 of a missing or refused token.
pub(crate) fn unauthenticated(missing: bool) -> Response {
    let (message, reason) = if missing {
        (
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "required",
        )
    } else {
        (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "authError",
        )
    };
    let doc = error_doc(401, reason, message, Some("Authorization"));
    let mut response = json_response(401, &doc);
    response.headers_mut().insert(
        "www-authenticate",
        axum::http::HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    response
}

/// Google front end's HTML 404 for a path no API serves.
pub(crate) fn no_such_path(path: &str) -> Response {
    let escaped: String = path
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>{escaped}</code> was not found on this server.  <ins>That’s all we know.</ins>\n"
    );
    Response::builder()
        .status(404)
        .header("content-type", "text/html; charset=UTF-8")
        .body(Body::from(body))
        .unwrap_or_default()
}

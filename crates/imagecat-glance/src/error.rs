//! Turning a Glance, Nova, Cinder or Keystone failure into an imagecat
//! [`Error`]: the webob or Keystone error document of an answer, mapped by
//! status, and a listing's refused marker.

use imagecat_core::Error;
use imagecat_http::{ErrorDocument, HttpResponse};
use serde_json::Value;

use crate::config::BACKEND;

/// The error for a failed answer (see [`decode_list_error`]; no marker
/// was sent).
pub(crate) fn decode_error(response: &HttpResponse) -> Error {
    decode_list_error(response, None)
}

/// A Glance (webob) or Keystone JSON error document is classified by the
/// status with its message kept: 400 `InvalidInput` (a stale marker,
/// [`Error::marker_gone`], when it names the marker sent), 401 `Unauthenticated`, 403 `PermissionDenied`,
/// 404 `NotFound`, 409 and others `Api`, 429 `RateLimited`. Without such a
/// document, the fallback every backend shares
/// ([`HttpResponse::undocumented_error`]).
pub(crate) fn decode_list_error(response: &HttpResponse, marker: Option<&str>) -> Error {
    let status = response.status.as_u16();
    let Some(doc) = error_document(response) else {
        return response.undocumented_error();
    };
    if status == 400 {
        if let Some(marker) = marker {
            let lower = doc.message.to_ascii_lowercase();
            if doc.message.contains(marker)
                || lower.starts_with("no image found with id")
                || lower.contains("marker")
            {
                return Error::marker_gone(BACKEND, marker, doc.message).with_code(doc.code);
            }
        }
    }
    response.status_error(doc.code, doc.message)
}

/// The error document of an answer, when its body is one.
pub(crate) fn error_document(response: &HttpResponse) -> Option<ErrorDocument> {
    document(&response.body)
}

/// Reads `{"message","code","title"}` or `{"error":{…}}` (any single
/// wrapping key, as Nova-style bodies use); `None` for anything else.
fn document(body: &[u8]) -> Option<ErrorDocument> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let doc = if object.contains_key("message") {
        object
    } else if object.len() == 1 {
        object.values().next()?.as_object()?
    } else {
        return None;
    };
    let message = doc.get("message")?.as_str()?;
    let code = match doc.get("code") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut message = clean_message(message);
    if message.is_empty() {
        message = doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("the server gave no message")
            .to_owned();
    }
    Some(ErrorDocument::new(code, message))
}

/// Webob's `explanation<br /><br />detail` as one line: the `<br />`
/// markers dropped, the parts trimmed and joined by a space.
fn clean_message(message: &str) -> String {
    message
        .split("<br />")
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webob_and_keystone_error_documents() {
        let doc = document(
            br#"{"message": "Image 1c86 is protected and cannot be deleted.<br /><br />\n\n\n", "code": "403 Forbidden", "title": "Forbidden"}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "Image 1c86 is protected and cannot be deleted."
        );
        assert_eq!(doc.code.as_deref(), Some("403 Forbidden"));
        let doc = document(
            br#"{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "The request you have made requires authentication."
        );
        assert_eq!(doc.code.as_deref(), Some("401"));
        let doc = document(
            br#"{"message": "The request media type application/octet-stream is not supported by this server.\n<br /><br />\nImage disk_format qcow2 does not match stream data raw", "code": "415 Unsupported Media Type", "title": "Unsupported Media Type"}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "The request media type application/octet-stream is not supported by this server. Image disk_format qcow2 does not match stream data raw"
        );
        let doc = document(br#"{"message":"<br /><br />","title":"Conflict"}"#).unwrap();
        assert_eq!(doc.message, "Conflict");
        for body in [
            &b"<html>403 Forbidden</html>"[..],
            b"{}",
            b"[]",
            br#"{"a":1,"b":2}"#,
            br#"{"message":7}"#,
        ] {
            assert_eq!(document(body), None, "{}", String::from_utf8_lossy(body));
        }
    }
}

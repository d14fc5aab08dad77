//! Turning a DCMGR error answer into an imagecat [`Error`].
//!
//! | answer | error |
//! |---|---|
//! | code `"100"` (UnknownUUIDResource) | `NotFound` |
//! | code `"103"` (InvalidRequestCredentials) | `Unauthenticated` |
//! | code `"104"` (DisabledAccount), `"105"` (OperationNotPermitted) | `PermissionDenied` |
//! | code `"143"` (InvalidParameter) | `InvalidInput` |
//! | any other code | `Api` with the code, the message and the HTTP status |
//! | no DCMGR body (a proxy in front, an HTML 404, an empty 500) | the fallback every backend shares, [`HttpResponse::undocumented_error`]: 401, 403, 404, 429 by status, anything else `InvalidResponse` with the status and a snippet |

use imagecat_core::raw::de::FromMap;
use imagecat_core::raw::lenient::LenientText;
use imagecat_core::{Error, ErrorKind};
use imagecat_http::{ErrorDocument, HttpResponse};
use serde::de::{IgnoredAny, MapAccess};

use crate::config::BACKEND;
use crate::wire::first_byte;

/// The error for a failed answer: its DCMGR error document mapped by
/// code, or the shared fallback when it has none.
pub(crate) fn decode_error(response: &HttpResponse) -> Error {
    let status = response.status.as_u16();
    let Some(doc) = error_document(response) else {
        return response.undocumented_error();
    };
    from_code(doc.code.unwrap_or_default(), doc.message, Some(status))
}

/// The DCMGR error document of an answer (`{"error","message","code"}`:
/// its code, and its message or else its error class); `None` when the
/// body is no JSON object with a code.
pub(crate) fn error_document(response: &HttpResponse) -> Option<ErrorDocument> {
    let body = decode_body(&response.body)?;
    let message = body
        .message
        .filter(|m| !m.is_empty())
        .or(body.error)
        .unwrap_or_default();
    Some(ErrorDocument::new(body.code, message))
}

/// The error for a DCMGR code and message.
pub(crate) fn from_code(code: String, message: String, status: Option<u16>) -> Error {
    let kind = match code.as_str() {
        "100" => ErrorKind::NotFound,
        "103" => ErrorKind::Unauthenticated,
        "104" | "105" => ErrorKind::PermissionDenied,
        "143" => ErrorKind::InvalidInput,
        _ => ErrorKind::Api,
    };
    let error = Error::new(kind, message)
        .with_backend(BACKEND)
        .with_code(code);
    match kind {
        ErrorKind::Api => error.with_status(status),
        // DCMGR's own document (code 100) said so: proof the image is gone.
        ErrorKind::NotFound => error.proving_absence(),
        _ => error,
    }
}

/// The error body `{"error", "message", "code"}`.
#[derive(Debug, Default)]
struct ErrorBody {
    /// The error class name.
    error: Option<String>,
    /// The message.
    message: Option<String>,
    /// The code, as a string.
    code: Option<String>,
}

/// Decodes an error body; `None` when the body is no JSON object with a code.
fn decode_body(body: &[u8]) -> Option<ErrorBody> {
    if first_byte(body) != Some(b'{') {
        return None;
    }
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    parsed.code.as_ref()?;
    Some(parsed)
}

impl<'de> FromMap<'de> for ErrorBody {
    const EXPECTING: &'static str = "a DCMGR error object";

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut out = ErrorBody::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "error" => out.error = map.next_value::<LenientText>()?.0,
                "message" => out.message = map.next_value::<LenientText>()?.0,
                "code" => out.code = map.next_value::<LenientText>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

imagecat_core::deserialize_from_map!(ErrorBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let e = decode_body(
            br#"{"error":"Dcmgr::Endpoints::Errors::UnknownUUIDResource","message":"wmi-nothere1","code":"100"}"#,
        )
        .unwrap();
        assert_eq!(e.code.as_deref(), Some("100"));
        assert_eq!(e.message.as_deref(), Some("wmi-nothere1"));
        let e = decode_body(br#"{"message":"limit","code":143}"#).unwrap();
        assert_eq!(e.code.as_deref(), Some("143"));
        for body in [
            &b""[..],
            b"<h1>Not Found</h1>",
            b"{}",
            b"{\"error\":\"x\"}",
            b"[1]",
        ] {
            assert!(decode_body(body).is_none());
        }
    }
}

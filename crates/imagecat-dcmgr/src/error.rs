//! Turning a DCMGR error answer into an imagecat [`Error`].
//!
//! | answer | error |
//! |---|---|
//! | code `"100"` (UnknownUUIDResource) | `NotFound` |
//! | code `"103"` (InvalidRequestCredentials) | `Unauthenticated` |
//! | code `"104"` (DisabledAccount), `"105"` (OperationNotPermitted) | `PermissionDenied` |
//! | code `"143"` (InvalidParameter) | `InvalidInput` |
//! | any other code | `Api` with the code, the message and the HTTP status |
//! | 429, 401 or 403 without a DCMGR body (a proxy in front) | by status: `RateLimited` (honouring `Retry-After`), `Unauthenticated`, `PermissionDenied` |
//! | anything else without a DCMGR body (an HTML 404, an empty 500) | `InvalidResponse` with the status and a snippet (retryable for 5xx) |

use imagecat_core::{BackendKind, Error};
use imagecat_http::HttpResponse;

use crate::wire::decode_error;

const BACKEND: BackendKind = BackendKind::Dcmgr;

/// The error for a non-success answer.
pub(crate) fn from_response(response: &HttpResponse) -> Error {
    let status = response.status.as_u16();
    let Some(body) = decode_error(&response.body) else {
        return match status {
            401 | 403 | 429 => response.status_error(
                None,
                format!("HTTP {status} without a DCMGR error body: {}", response.snippet()),
            ),
            _ => response.invalid(format!(
                "HTTP {status} without a DCMGR error body (expected {{\"error\",\"message\",\"code\"}})"
            )),
        };
    };
    let code = body.code.unwrap_or_default();
    let message = body
        .message
        .filter(|m| !m.is_empty())
        .or(body.error)
        .unwrap_or_default();
    from_code(code, message, Some(status))
}

/// The error for a DCMGR code and message.
pub(crate) fn from_code(code: String, message: String, status: Option<u16>) -> Error {
    match code.as_str() {
        "100" => Error::NotFound {
            backend: BACKEND,
            code: Some(code),
            message,
        },
        "103" => Error::Unauthenticated {
            backend: BACKEND,
            code: Some(code),
            message,
        },
        "104" | "105" => Error::PermissionDenied {
            backend: BACKEND,
            code: Some(code),
            message,
        },
        "143" => Error::InvalidInput {
            backend: BACKEND,
            code: Some(code),
            message,
        },
        _ => Error::Api {
            backend: BACKEND,
            status,
            code,
            message,
        },
    }
}

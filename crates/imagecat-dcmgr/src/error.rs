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

use imagecat_core::{BackendKind, Error};
use imagecat_http::HttpResponse;

use crate::wire::decode_error;

const BACKEND: BackendKind = BackendKind::Dcmgr;

/// The error for a non-success answer.
pub(crate) fn from_response(response: &HttpResponse) -> Error {
    let status = response.status.as_u16();
    let Some(body) = decode_error(&response.body) else {
        return response.undocumented_error();
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

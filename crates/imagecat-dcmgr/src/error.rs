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

use imagecat_core::{BackendKind, Error, ErrorKind};
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

//! Turning a TOAST failure into an imagecat [`Error`]: the `header`
//! envelope of an answer with `isSuccessful: false` (HTTP 200 included),
//! the error document of a non-2xx answer, and the refused marker of a
//! listing.

use imagecat_core::{Error, ErrorKind};
use imagecat_http::{ErrorDocument, HttpResponse};
use serde::Deserialize;

use imagecat_core::raw::lenient;

use crate::config::BACKEND;
use crate::wire::Header;

/// The error for a `header` with `isSuccessful: false`, by `resultCode`.
///
/// | resultCode | kind |
/// |---|---|
/// | -3, 30401, 50401 | Unauthenticated |
/// | -4 | InvalidInput |
/// | -5, 30404 | NotFound |
/// | 30403 | PermissionDenied |
/// | 30429 | RateLimited |
/// | anything else | Api (code and message) |
pub(crate) fn envelope_error(response: &HttpResponse, header: &Header) -> Error {
    let code = header.code_text();
    let message = header.message_text();
    let kind = match header.code_number() {
        Some(-3 | 30401 | 50401) => ErrorKind::Unauthenticated,
        Some(-4) => ErrorKind::InvalidInput,
        Some(-5 | 30404) => ErrorKind::NotFound,
        Some(30403) => ErrorKind::PermissionDenied,
        Some(30429) => ErrorKind::RateLimited,
        _ => ErrorKind::Api,
    };
    let error = Error::new(kind, message)
        .with_backend(BACKEND)
        .with_code(code);
    match kind {
        ErrorKind::RateLimited => error.with_retry_after(response.retry_after()),
        ErrorKind::Api => error.with_status(response.status.as_u16()),
        // TOAST's own envelope said so: proof the image is gone.
        ErrorKind::NotFound => error.proving_absence(),
        _ => error,
    }
}

/// What an error body outside the envelope may look like: Keystone's
/// `{"error":{"code","message","title"}}` or webob's `{"code","message","title"}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient::opt_code")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    title: Option<String>,
}

/// The error for a non-2xx answer: classified by the status, carrying the
/// envelope's (or Keystone's, or webob's) code and message when the body has
/// them; without them, the shared fallback
/// ([`HttpResponse::undocumented_error`]).
pub(crate) fn decode_error(response: &HttpResponse) -> Error {
    response.failure(error_document(response))
}

/// The code and message of a non-2xx answer's body: a TOAST envelope, a
/// Keystone or webob `error`, or a bare `message`.
pub(crate) fn error_document(response: &HttpResponse) -> Option<ErrorDocument> {
    let body = serde_json::from_slice::<ErrorBody>(&response.body).ok()?;
    if let Some(header) = body.header {
        if header.result_code.is_some() || header.result_message.is_some() {
            return Some(ErrorDocument::new(
                header.result_code.clone(),
                header.message_text(),
            ));
        }
    }
    if let Some(detail) = body.error {
        let message = detail.message.or(detail.title);
        if detail.code.is_some() || message.is_some() {
            return Some(ErrorDocument::new(
                detail.code,
                message.unwrap_or_else(|| format!("HTTP {}", response.status)),
            ));
        }
    }
    body.message
        .map(|message| ErrorDocument::new(body.code, message))
}

/// A list request whose marker the server refuses (`30400`: Glance's 400
/// "Invalid marker", relayed) means the marker image vanished during the
/// listing: the pagination engine resumes from an earlier image.
pub(crate) fn stale_marker(error: Error, marker: Option<&str>) -> Error {
    match marker {
        Some(marker) if error.kind() == ErrorKind::Api && error.code() == Some("30400") => {
            Error::marker_gone(BACKEND, marker, error.message())
                .with_code(error.code().map(str::to_owned))
        }
        _ => error,
    }
}

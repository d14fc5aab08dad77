//! [`HttpResponse`], error snippets and the HTTP-status error mapping every
//! adapter shares.

use std::time::Duration;

use bytes::Bytes;
use imagecat_core::{BackendKind, Deleted, Error, ErrorKind};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;

/// The most bytes of a body an error carries.
pub const SNIPPET_LIMIT: usize = 2048;

/// A whole response, its body read under the size cap.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The backend that answered (for errors).
    pub backend: BackendKind,
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Which attempt this response answers (1 for the first).
    pub attempt: u32,
}

impl HttpResponse {
    /// A response made from a body, as if the server had answered it with
    /// `status` and a JSON content type (fixtures, fuzzing, benchmarks).
    pub fn from_body(backend: BackendKind, status: u16, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        HttpResponse {
            backend,
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            body: body.into(),
            attempt: 1,
        }
    }

    /// The content type, if any.
    pub fn content_type(&self) -> Option<String> {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The first 2 KiB of the body, as text.
    pub fn snippet(&self) -> String {
        snippet(&self.body)
    }

    /// An `InvalidResponse` error about this response, with its status,
    /// content type and body snippet.
    pub fn invalid(&self, message: impl std::fmt::Display) -> Error {
        Error::invalid_response(
            self.backend,
            Some(self.status.as_u16()),
            self.content_type(),
            message,
            self.snippet(),
        )
    }

    /// A decode error about this response: an `InvalidResponse` gets this
    /// response's status and content type; other errors are returned as
    /// they are.
    pub fn attach(&self, error: Error) -> Error {
        if error.kind() != ErrorKind::InvalidResponse {
            return error;
        }
        let error = error.with_status(self.status.as_u16());
        match self.content_type() {
            Some(content_type) => error.with_context(Error::CONTENT_TYPE, content_type),
            None => error,
        }
    }

    /// The result of decoding a successful answer that holds a secret (a
    /// token): an `InvalidResponse` is replaced by a fresh one that keeps
    /// neither the body, the decoder's message nor its source, any of which
    /// can quote the secret the process has not registered yet. Other errors,
    /// and the errors of unsuccessful answers, pass as they are.
    pub fn hide_secret_answer<T>(&self, what: &str, decoded: Result<T, Error>) -> Result<T, Error> {
        decoded.map_err(|e| {
            if e.kind() != ErrorKind::InvalidResponse || !self.status.is_success() {
                return e;
            }
            Error::invalid_response(
                self.backend,
                e.status(),
                e.content_type().map(str::to_owned),
                format!("{what} cannot be decoded (its body is not shown: it may hold a token)"),
                "",
            )
        })
    }

    /// Decodes the body as JSON, or an `InvalidResponse` naming the decode error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            self.invalid(format!("cannot decode body: {e}"))
                .with_source(e)
        })
    }

    /// The `Retry-After` delay, in seconds or as an HTTP date, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?;
        parse_retry_after(value, chrono::Utc::now())
    }

    /// The error for a non-success status, classified by the status, with
    /// the backend's own code and message when the adapter found them in the
    /// body: 400/422 InvalidInput, 401 Unauthenticated, 403 PermissionDenied,
    /// 404/410 NotFound, 429 RateLimited (with `Retry-After`), anything else
    /// `Api` with the status.
    /// A 404/410 classified here carries the backend's own document, so it
    /// [proves absence](Error::proves_absence).
    pub fn status_error(&self, code: Option<String>, message: String) -> Error {
        self.classified(code, message).proving_absence()
    }

    /// [`HttpResponse::status_error`] without the proof of absence.
    fn classified(&self, code: Option<String>, message: String) -> Error {
        let status = self.status.as_u16();
        let error = |kind| Error::new(kind, message).with_backend(self.backend);
        match status {
            400 | 422 => error(ErrorKind::InvalidInput).with_code(code),
            401 => error(ErrorKind::Unauthenticated).with_code(code),
            403 => error(ErrorKind::PermissionDenied).with_code(code),
            404 | 410 => error(ErrorKind::NotFound).with_code(code),
            429 => error(ErrorKind::RateLimited)
                .with_code(code)
                .with_retry_after(self.retry_after()),
            _ => error(ErrorKind::Api)
                .with_status(status)
                .with_code(code.unwrap_or_else(|| status.to_string())),
        }
    }
}

impl HttpResponse {
    /// The error for a failed answer that carries no error document of the
    /// backend (a proxy's or gateway's page, an empty body). The same on
    /// every backend: 401 `Unauthenticated`, 403 `PermissionDenied`, 404 and
    /// 410 `NotFound`, 429 `RateLimited` (with `Retry-After`), anything else
    /// `InvalidResponse` with the status, content type and a snippet
    /// (retryable for 5xx). The message names the status, the content type
    /// and the start of the body, so a proxy's page is recognisable.
    pub fn undocumented_error(&self) -> Error {
        let status = self.status.as_u16();
        match status {
            401 | 403 | 404 | 410 | 429 => {
                let content_type = self
                    .content_type()
                    .unwrap_or_else(|| "no content type".into());
                let start = first_line(&self.snippet());
                let body = if start.is_empty() {
                    "an empty body".to_owned()
                } else {
                    format!("body starts: {start}")
                };
                self.classified(
                    None,
                    format!(
                        "HTTP {status} without a {} error document ({content_type}; {body})",
                        self.backend
                    ),
                )
            }
            _ => self.invalid(format!(
                "HTTP {status} without a {} error document",
                self.backend
            )),
        }
    }

    /// The error for a failed answer: classified by the status with the
    /// backend's own code and message when the adapter found a document in
    /// the body, else [`HttpResponse::undocumented_error`].
    pub fn failure(&self, document: Option<ErrorDocument>) -> Error {
        match document {
            Some(doc) => self.status_error(doc.code, doc.message),
            None => self.undocumented_error(),
        }
    }

    /// What a DELETE that failed with `error` means: `AlreadyDeleted` when
    /// this answers a retried attempt (the first may have deleted the image)
    /// and the backend's own error document (`documented`) says not found;
    /// the error otherwise. A bare 404 from a proxy proves nothing, so it
    /// stays an error.
    pub fn refused_delete(&self, error: Error, documented: bool) -> Result<Deleted, Error> {
        if documented && self.attempt > 1 && error.kind() == ErrorKind::NotFound {
            tracing::debug!(backend = %self.backend, attempt = self.attempt, "a retried delete found the image gone");
            Ok(Deleted::AlreadyDeleted)
        } else {
            Err(error)
        }
    }

    /// Checks that the server answered about the image asked for (ids
    /// compared case-insensitively): an `InvalidResponse` naming both ids
    /// otherwise, so another image is never taken for the one asked for.
    pub fn check_id_echo(&self, asked: &str, answered: &str) -> Result<(), Error> {
        if asked.eq_ignore_ascii_case(answered) {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "asked for image {asked}, the server answered image {answered}"
            )))
        }
    }
}

/// The backend's own code and message, as an adapter found them in the
/// body of an error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDocument {
    /// The backend's error code, if any.
    pub code: Option<String>,
    /// The backend's message.
    pub message: String,
}

impl ErrorDocument {
    /// A document with a code and a message.
    pub fn new(code: Option<String>, message: impl Into<String>) -> Self {
        ErrorDocument {
            code,
            message: message.into(),
        }
    }
}

/// The first non-empty line of a text, at most 200 characters.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.chars().take(200).collect()
}

/// The first [`SNIPPET_LIMIT`] bytes of a body as text (lossy UTF-8, cut on
/// a character boundary, `…` appended when cut).
pub fn snippet(body: &[u8]) -> String {
    let cut = body.len() > SNIPPET_LIMIT;
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_LIMIT)]);
    let mut text = text.into_owned();
    if cut {
        // Drop a replacement character made by a multi-byte char cut in half.
        while text.ends_with('\u{FFFD}') {
            text.pop();
        }
        text.push('…');
    }
    text
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_capped_on_a_char_boundary() {
        let body = "한".repeat(2000);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_LIMIT + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert!(!s.contains('\u{FFFD}'));
        assert_eq!(snippet(b"short"), "short");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

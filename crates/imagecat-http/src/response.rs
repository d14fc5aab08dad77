//! [`HttpResponse`], error snippets and the HTTP-status error mapping every
//! adapter shares.

use std::time::Duration;

use bytes::Bytes;
use imagecat_core::{BackendKind, Error};
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
        Error::InvalidResponse {
            backend: self.backend,
            status: Some(self.status.as_u16()),
            content_type: self.content_type(),
            message: message.to_string(),
            snippet: self.snippet(),
        }
    }

    /// Decodes the body as JSON, or an `InvalidResponse` naming the decode error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.invalid(format!("cannot decode body: {e}")))
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
    pub fn status_error(&self, code: Option<String>, message: String) -> Error {
        let backend = self.backend;
        match self.status.as_u16() {
            400 | 422 => Error::InvalidInput {
                backend,
                code,
                message,
            },
            401 => Error::Unauthenticated {
                backend,
                code,
                message,
            },
            403 => Error::PermissionDenied {
                backend,
                code,
                message,
            },
            404 | 410 => Error::NotFound {
                backend,
                code,
                message,
            },
            429 => Error::RateLimited {
                backend,
                retry_after: self.retry_after(),
                code,
                message,
            },
            status => Error::Api {
                backend,
                status: Some(status),
                code: code.unwrap_or_else(|| status.to_string()),
                message,
            },
        }
    }
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

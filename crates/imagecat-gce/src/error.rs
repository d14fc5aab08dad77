//! Turning a failed Compute API answer into an imagecat [`Error`]: Google's
//! JSON error document
//! `{"error":{"code","message","errors":[{"reason","domain","message"}],"status"}}`
//! mapped by status and reason, the reason kept as the error's code.
//!
//! | answer | kind |
//! |---|---|
//! | 404 `notFound` (the document) | `NotFound`, proving absence |
//! | 404 with another or no reason (the document) | `NotFound`, not proving absence |
//! | 403/429 `rateLimitExceeded`, `userRateLimitExceeded`, `quotaExceeded`; any 429 | `RateLimited` (with `Retry-After`) |
//! | 403 otherwise (`forbidden`, `insufficientPermissions`, `accessNotConfigured`) | `PermissionDenied` |
//! | 401 | `Unauthenticated` |
//! | 400 `resourceInUseByAnotherResource` | `Api` with status 400 (a refusal of the resource's state, not of the input; never retried) |
//! | 400 otherwise (`invalid`, …) | `InvalidInput` |
//! | 409, 412 (`conditionNotMet`), 5xx | `Api` with the status (5xx retryable) |
//! | no such document (a proxy's HTML page, an empty body) | the shared undocumented error: a bare 404 never proves absence |
//!
//! Every text from the server is scrubbed of registered secrets and of any
//! `Bearer …` or `access_token=…` it echoes.

use imagecat_core::{Error, ErrorKind};
use imagecat_http::HttpResponse;
use serde_json::Value;

use crate::config::BACKEND;

/// The reasons that mean a rate or quota limit.
const RATE_REASONS: [&str; 3] = [
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
];

/// Google's error document, as far as the mapping reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoogleError {
    /// `error.message`.
    pub(crate) message: String,
    /// The `reason` of each of `error.errors[]`.
    pub(crate) reasons: Vec<String>,
    /// `error.status` (`NOT_FOUND`, `INVALID_ARGUMENT`, …), when sent.
    pub(crate) status: Option<String>,
}

/// The error for a failed answer.
pub fn decode_error(response: &HttpResponse) -> Error {
    let error = match error_document(&response.body) {
        Some(doc) => classify(response, doc),
        None => response.undocumented_error(),
    };
    scrub(error)
}

fn classify(response: &HttpResponse, doc: GoogleError) -> Error {
    let status = response.status.as_u16();
    let has = |reason: &str| doc.reasons.iter().any(|r| r == reason);
    let code = doc
        .reasons
        .first()
        .cloned()
        .or_else(|| doc.status.clone())
        .or_else(|| Some(status.to_string()));
    let make = |kind| {
        Error::new(kind, doc.message.clone())
            .with_backend(BACKEND)
            .with_code(code.clone())
    };
    if status == 429 || RATE_REASONS.iter().any(|r| has(r)) {
        return make(ErrorKind::RateLimited).with_retry_after(response.retry_after());
    }
    match status {
        404 if has("notFound")
            || (doc.reasons.is_empty() && doc.status.as_deref() == Some("NOT_FOUND")) =>
        {
            make(ErrorKind::NotFound).proving_absence()
        }
        404 | 410 => make(ErrorKind::NotFound),
        400 if has("resourceInUseByAnotherResource") => make(ErrorKind::Api).with_status(status),
        400 => make(ErrorKind::InvalidInput),
        401 => make(ErrorKind::Unauthenticated),
        403 => make(ErrorKind::PermissionDenied),
        _ => make(ErrorKind::Api).with_status(status),
    }
}

/// Reads Google's error document; `None` for any other body (the document
/// needs an `error` object with a string `message`).
pub(crate) fn error_document(body: &[u8]) -> Option<GoogleError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.as_object()?.get("error")?.as_object()?;
    let message = error.get("message")?.as_str()?.trim();
    let reasons = error
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e.get("reason")?.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let status = error
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message = if message.is_empty() {
        "the server gave no message".to_owned()
    } else {
        message.to_owned()
    };
    Some(GoogleError {
        message,
        reasons,
        status,
    })
}

/// The error with registered secrets, and bearer tokens the server echoed,
/// removed from every text it carries.
fn scrub(error: Error) -> Error {
    imagecat_http::scrub_error(error).map_text(|text| {
        let clean = redact_bearer(text);
        (clean != text).then_some(clean)
    })
}

/// `text` with the word after `Bearer ` and the value of `access_token=`
/// replaced by `[redacted]`.
pub(crate) fn redact_bearer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let hit = ["bearer ", "access_token="]
            .iter()
            .filter_map(|m| lower.find(m).map(|at| (at, m.len())))
            .min();
        let Some((at, len)) = hit else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        let after = &rest[at + len..];
        let token = after.trim_start_matches(' ');
        out.push_str(&after[..after.len() - token.len()]);
        let after = token;
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '&' | ';' | '<'))
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str(imagecat_http::REDACTED);
        }
        rest = &after[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_document_and_nothing_else() {
        let doc = error_document(
            br#"{"error":{"code":404,"message":"The resource 'projects/p1/global/images/x' was not found","errors":[{"message":"m","domain":"global","reason":"notFound"}]}}"#,
        )
        .unwrap();
        assert_eq!(doc.reasons, ["notFound"]);
        assert_eq!(doc.status, None);
        for body in [
            &b"<html>404</html>"[..],
            b"",
            b"{}",
            br#"{"error":"invalid_grant"}"#,
            br#"{"error":{"code":404}}"#,
            br#"{"message":"x"}"#,
        ] {
            assert_eq!(
                error_document(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn bearer_tokens_are_redacted() {
        assert_eq!(
            redact_bearer("got Authorization: Bearer ya29.a0AfH6SMC, and access_token=ya29.x&y=1"),
            "got Authorization: Bearer [redacted], and access_token=[redacted]&y=1"
        );
        assert_eq!(redact_bearer("BEARER   x"), "BEARER   [redacted]");
        assert_eq!(redact_bearer("no token"), "no token");
    }
}

//! Turning an EC2 (or Auto Scaling, STS) failure into an imagecat
//! [`Error`]: the Query protocol's XML error document, mapped by its code.
//!
//! Documents read (reference §1d), under any root and any namespace:
//! EC2's `<Response><Errors><Error><Code/><Message/></Error></Errors>
//! <RequestID/></Response>`, moto's `<ErrorResponse><Errors><Error>…`, and
//! the query protocol's `<ErrorResponse><Error><Code/>…</Error>
//! <RequestId/></ErrorResponse>`. Anything else (a proxy's HTML 404, an
//! empty body, JSON) is not a document: the shared fallback
//! ([`HttpResponse::undocumented_error`]) classifies it by status, and it
//! never proves absence.
//!
//! The mapping ([`classify`]), by code first since EC2 answers most
//! failures with a plain 400:
//!
//! | code | kind |
//! |---|---|
//! | botocore's throttling codes ([`THROTTLING`]), or HTTP 429 | `RateLimited` (with `Retry-After`) |
//! | `InvalidAMIID.NotFound`, `InvalidAMIID.Unavailable`, `InvalidSnapshot.NotFound` | `NotFound`, proving absence |
//! | `AuthFailure`, `SignatureDoesNotMatch`, `InvalidClientTokenId`, `IncompleteSignature`, `MissingAuthenticationToken`, `ExpiredToken`, `RequestExpired` | `Unauthenticated` |
//! | `UnauthorizedOperation`, `AccessDenied`, `AccessDeniedException`, `OperationNotPermitted`, `OptInRequired`, `Blocked`, or a message naming deregistration protection | `PermissionDenied` |
//! | `InvalidAMIID.Malformed` and other `*.Malformed`, `InvalidParameter*`, `MissingParameter`, `InvalidPaginationToken`, `ValidationError`, `InvalidAction` | `InvalidInput` |
//! | anything else | by status: 401 `Unauthenticated`, 403 `PermissionDenied`, other 4xx `Api`, 5xx `Api` (retryable) |
//!
//! `InvalidSnapshot.InUse` and `DryRunOperation` stay `Api` with their code
//! (the delete step reads the code). A not-found never comes from a status
//! alone: EC2 has no 404 for a missing AMI.
//!
//! Secrets: every text the server sent goes through the workspace's scrub
//! set ([`imagecat_http::scrub_error`]: the secret key and session token are
//! [`SecretString`](imagecat_http::SecretString)s, so they are registered),
//! and the access key id the request was signed with, which is not a
//! `SecretString` but which AWS quotes in signature errors, is replaced too.

use imagecat_core::{Error, ErrorKind};
use imagecat_http::{HttpResponse, REDACTED, scrub_error};

use crate::config::BACKEND;
use crate::wire::xml::{self, Element};

/// The codes botocore retries as throttling, over every service
/// (`retries/standard.py`), EC2's `RequestLimitExceeded` and
/// `EC2ThrottledException` among them.
pub const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// An EC2 error document: its first error's code and message, and the
/// request id when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDocument {
    /// `Code`.
    pub code: String,
    /// `Message` (empty when absent: real AWS sends none for
    /// `InvalidSnapshot.NotFound`).
    pub message: String,
    /// `RequestID` (EC2) or `RequestId` (query protocol).
    pub request_id: Option<String>,
}

/// Reads an error document from `body`; `None` when it is not one.
pub fn document(body: &[u8]) -> Option<ErrorDocument> {
    let root = xml::parse(body).ok()?;
    let error = match root.find("Errors") {
        Some(errors) => errors.children.iter().find(|e| e.name == "Error")?,
        None => root.find("Error")?,
    };
    let code = field(error, "Code").filter(|c| !c.is_empty())?;
    let message = field(error, "Message").unwrap_or_default();
    let request_id = field(&root, "RequestID").or_else(|| field(&root, "RequestId"));
    Some(ErrorDocument {
        code,
        message,
        request_id,
    })
}

fn field(element: &Element, name: &str) -> Option<String> {
    element
        .children
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.text.clone())
}

/// The error for a failed answer: its document classified by
/// [`classify`], or the shared fallback when there is none; every text
/// scrubbed, `access_key_id` (the key the request was signed with) too.
pub fn decode_error(response: &HttpResponse, access_key_id: Option<&str>) -> Error {
    let error = match document(&response.body) {
        Some(doc) => classify(response, doc),
        None => response.undocumented_error(),
    };
    scrub(error, access_key_id)
}

/// Maps an error document (see the table above).
pub fn classify(response: &HttpResponse, doc: ErrorDocument) -> Error {
    let status = response.status.as_u16();
    let kind = kind_of(status, &doc.code, &doc.message);
    let message = if doc.message.is_empty() {
        doc.code.clone()
    } else {
        doc.message
    };
    let mut error = Error::new(kind, message)
        .with_backend(BACKEND)
        .with_status(status)
        .with_code(doc.code.clone());
    if let Some(id) = doc.request_id {
        error = error.with_context("request_id", id);
    }
    match kind {
        ErrorKind::RateLimited => error.with_retry_after(response.retry_after()),
        ErrorKind::NotFound if proves_absence(&doc.code) => error.proving_absence(),
        _ => error,
    }
}

/// Whether a code is the backend's own word that the thing is gone.
fn proves_absence(code: &str) -> bool {
    matches!(
        code,
        "InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable" | "InvalidSnapshot.NotFound"
    )
}

fn kind_of(status: u16, code: &str, message: &str) -> ErrorKind {
    if status == 429 || THROTTLING.contains(&code) {
        return ErrorKind::RateLimited;
    }
    if proves_absence(code) {
        return ErrorKind::NotFound;
    }
    match code {
        "AuthFailure"
        | "SignatureDoesNotMatch"
        | "InvalidClientTokenId"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredToken"
        | "RequestExpired" => return ErrorKind::Unauthenticated,
        "UnauthorizedOperation"
        | "AccessDenied"
        | "AccessDeniedException"
        | "OperationNotPermitted"
        | "OptInRequired"
        | "Blocked" => {
            return ErrorKind::PermissionDenied;
        }
        "MissingParameter" | "InvalidPaginationToken" | "ValidationError" | "InvalidAction" => {
            return ErrorKind::InvalidInput;
        }
        _ => {}
    }
    if code.ends_with(".Malformed") || code.starts_with("InvalidParameter") {
        return ErrorKind::InvalidInput;
    }
    if (400..500).contains(&status)
        && message
            .to_ascii_lowercase()
            .contains("deregistration protection")
    {
        return ErrorKind::PermissionDenied;
    }
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        _ => ErrorKind::Api,
    }
}

/// `error` with the registered secrets and the access key id removed from
/// every text the server supplied.
fn scrub(error: Error, access_key_id: Option<&str>) -> Error {
    let error = scrub_error(error);
    match access_key_id.filter(|k| k.len() >= imagecat_http::MIN_SCRUB_LEN) {
        Some(key) => error.map_text(|text| text.contains(key).then(|| text.replace(key, REDACTED))),
        None => error,
    }
}

/// The error of a failed JSON-protocol answer (SSM): its
/// `{"__type": "…#Code", "message": "…"}` document classified by
/// [`classify`] as an XML one would be (`ParameterNotFound` stays `Api`
/// with its code), or the shared fallback; scrubbed as [`decode_error`].
pub fn decode_json_error(response: &HttpResponse, access_key_id: Option<&str>) -> Error {
    let document = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|value| {
            let code = value.get("__type")?.as_str()?;
            let code = code.rsplit('#').next().unwrap_or(code).to_owned();
            let message = ["message", "Message"]
                .iter()
                .find_map(|k| value.get(*k).and_then(|m| m.as_str()))
                .unwrap_or_default()
                .to_owned();
            (!code.is_empty()).then_some(ErrorDocument {
                code,
                message,
                request_id: None,
            })
        });
    let error = match document {
        Some(doc) => classify(response, doc),
        None => response.undocumented_error(),
    };
    scrub(error, access_key_id)
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn ssm_errors_are_classified_and_scrubbed() {
        let key = "AKIAJSONTESTKEY00001";
        let body = format!(
            r#"{{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"no /p for {key}"}}"#
        );
        let e = decode_json_error(&HttpResponse::from_body(BACKEND, 400, body), Some(key));
        assert_eq!(e.code(), Some("ParameterNotFound"));
        assert!(!e.to_string().contains(key), "{e}");
        let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        let e = decode_json_error(&HttpResponse::from_body(BACKEND, 400, throttled), None);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let e = decode_json_error(&HttpResponse::from_body(BACKEND, 403, "<html/>"), None);
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    }
}

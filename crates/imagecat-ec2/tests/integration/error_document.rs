//! EC2's error document mapped into the workspace's error kinds.

use imagecat_core::ErrorKind;
use imagecat_ec2::error::{decode_error, document};
use imagecat_http::reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use imagecat_http::{HttpResponse, REDACTED, SecretString};

fn ec2(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"
    )
}

fn response(status: u16, body: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::from_body(imagecat_ec2::BACKEND, status, body.into());
    response.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    response
}

#[test]
fn the_mapping_table() {
    use ErrorKind::*;
    // (status, code, message, kind, proves absence, retryable)
    let table: &[(u16, &str, &str, ErrorKind, bool, bool)] = &[
        (
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
            RateLimited,
            false,
            true,
        ),
        (
            400,
            "RequestLimitExceeded",
            "Request limit exceeded.",
            RateLimited,
            false,
            true,
        ),
        (400, "Throttling", "Rate exceeded", RateLimited, false, true),
        (
            400,
            "ThrottlingException",
            "Rate exceeded",
            RateLimited,
            false,
            true,
        ),
        (503, "EC2ThrottledException", "", RateLimited, false, true),
        (429, "SomethingNew", "slow down", RateLimited, false, true),
        (
            400,
            "InvalidAMIID.NotFound",
            "The image id '[ami-1]' does not exist",
            NotFound,
            true,
            false,
        ),
        (
            400,
            "InvalidAMIID.Unavailable",
            "The image ID 'ami-1' is no longer available",
            NotFound,
            true,
            false,
        ),
        (400, "InvalidSnapshot.NotFound", "", NotFound, true, false),
        (
            400,
            "InvalidAMIID.Malformed",
            "Invalid id: \"foo\" (expecting \"ami-...\")",
            InvalidInput,
            false,
            false,
        ),
        (
            400,
            "InvalidParameterValue",
            "Value ( 1 ) for parameter maxResults is invalid.",
            InvalidInput,
            false,
            false,
        ),
        (
            400,
            "InvalidParameterCombination",
            "x",
            InvalidInput,
            false,
            false,
        ),
        (
            400,
            "InvalidPaginationToken",
            "The specified pagination token is not valid or is expired",
            InvalidInput,
            false,
            false,
        ),
        (
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
            Unauthenticated,
            false,
            false,
        ),
        (
            400,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
            Unauthenticated,
            false,
            false,
        ),
        (
            403,
            "SignatureDoesNotMatch",
            "x",
            Unauthenticated,
            false,
            false,
        ),
        (
            400,
            "RequestExpired",
            "Request has expired.",
            Unauthenticated,
            false,
            false,
        ),
        (
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
            PermissionDenied,
            false,
            false,
        ),
        (
            400,
            "OperationNotPermitted",
            "The image ami-1 cannot be deregistered.",
            PermissionDenied,
            false,
            false,
        ),
        (400, "InvalidParameter", "x", InvalidInput, false, false),
        (
            400,
            "SomeNewRefusal",
            "Image ami-1 has deregistration protection enabled",
            PermissionDenied,
            false,
            false,
        ),
        (
            400,
            "InvalidSnapshot.InUse",
            "The snapshot snap-1 is currently in use by ami-1",
            Api,
            false,
            false,
        ),
        (
            412,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
            Api,
            false,
            false,
        ),
        (
            500,
            "InternalError",
            "An internal error has occurred",
            Api,
            false,
            true,
        ),
        (
            503,
            "Unavailable",
            "The server is overloaded",
            Api,
            false,
            true,
        ),
        // A code we do not know on a 404 is not proof of anything.
        (404, "NoSuchThing", "x", Api, false, false),
    ];
    for &(status, code, message, kind, absent, retryable) in table {
        let error = decode_error(&response(status, ec2(code, message)), None);
        assert_eq!(error.kind(), kind, "{status} {code}: {error}");
        assert_eq!(error.proves_absence(), absent, "{status} {code}");
        assert_eq!(error.is_retryable(), retryable, "{status} {code}");
        assert_eq!(error.code(), Some(code), "{status} {code}");
        assert_eq!(error.status(), Some(status), "{status} {code}");
        assert_eq!(error.backend().map(|b| b.as_str()), Some("ec2"));
        let shown = error.to_string();
        assert!(shown.contains("ec2"), "{shown}");
        assert!(
            shown.contains(if message.is_empty() { code } else { message }),
            "{shown}"
        );
        assert_eq!(
            error.context_value("request_id"),
            Some("ea966190-f9aa-478e-9ede-example")
        );
    }
}

#[test]
fn throttling_keeps_retry_after() {
    let mut throttled = response(503, ec2("RequestLimitExceeded", "Request limit exceeded."));
    throttled
        .headers
        .insert(RETRY_AFTER, HeaderValue::from_static("3"));
    let error = decode_error(&throttled, None);
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(3)));
}

#[test]
fn other_layouts_of_the_document() {
    // moto's AuthFailure (reference §1d) and the query protocol's layout.
    let moto = "<ErrorResponse><Errors><Error><Type>Sender</Type><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r</RequestID></ErrorResponse>";
    let query = "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad</Message></Error><RequestId>q</RequestId></ErrorResponse>";
    let doc = document(moto.as_bytes()).unwrap();
    assert_eq!(
        (doc.code.as_str(), doc.request_id.as_deref()),
        ("AuthFailure", Some("r"))
    );
    let doc = document(query.as_bytes()).unwrap();
    assert_eq!(
        (doc.code.as_str(), doc.request_id.as_deref()),
        ("ValidationError", Some("q"))
    );
    assert_eq!(
        decode_error(&response(401, moto), None).kind(),
        ErrorKind::Unauthenticated
    );
    assert_eq!(
        decode_error(&response(400, query), None).kind(),
        ErrorKind::InvalidInput
    );
    // Several errors: the first one counts.
    let two = "<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>a</Message></Error><Error><Code>AuthFailure</Code></Error></Errors></Response>";
    assert_eq!(
        document(two.as_bytes()).unwrap().code,
        "InvalidAMIID.NotFound"
    );
}

#[test]
fn what_is_not_a_document_never_proves_absence() {
    for (status, body) in [
        (
            404,
            "<html><head><title>404 Not Found</title></head><body>nginx</body></html>",
        ),
        (404, "<!DOCTYPE html><html><body>Not Found</body></html>"),
        (404, ""),
        (404, "{\"message\":\"not found\"}"),
        (
            404,
            "<Response><Errors><Error><Message>no code</Message></Error></Errors></Response>",
        ),
        (
            404,
            "<Response><Errors><Error><Code></Code></Error></Errors></Response>",
        ),
        (
            404,
            "<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code>",
        ),
    ] {
        let error = decode_error(&response(status, body), None);
        assert_eq!(error.kind(), ErrorKind::NotFound, "{body}");
        assert!(!error.proves_absence(), "{body}");
    }
    let error = decode_error(&response(503, "<html>Service Unavailable</html>"), None);
    assert_eq!(error.kind(), ErrorKind::InvalidResponse);
    assert!(error.is_retryable());
}

#[test]
fn echoed_secrets_are_scrubbed() {
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY-error-test";
    let token = "FwoGZXIvYXdzEBYaDEXAMPLESESSIONTOKEN-error-test";
    let _secret = SecretString::new(secret);
    let _token = SecretString::new(token);
    let access_key = "AKIDEXAMPLEERRORTEST";
    let message = format!(
        "The request signature we calculated does not match. Credential={access_key}/20261207/us-east-1/ec2/aws4_request key {secret} token {token}"
    );
    let body = ec2("SignatureDoesNotMatch", &message);
    for status in [403, 404, 503] {
        let error = decode_error(&response(status, body.clone()), Some(access_key));
        let shown = format!("{error} {error:?}");
        for leaked in [secret, token, access_key] {
            assert!(!shown.contains(leaked), "{status}: {leaked} in {shown}");
        }
        assert!(shown.contains(REDACTED));
    }
    // Undocumented answers echo through the body snippet: scrubbed too.
    let html = format!("<html>{access_key} {secret}</html>");
    let error = decode_error(&response(502, html), Some(access_key));
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(access_key) && !shown.contains(secret),
        "{shown}"
    );
}

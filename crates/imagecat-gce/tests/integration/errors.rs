//! Google's error document to imagecat's kinds, and what proves absence.

use imagecat_core::ErrorKind;
use imagecat_gce::{BACKEND, decode_error};
use imagecat_http::HttpResponse;

fn google(code: u16, reason: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"error": {"code": code, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}]}})
    .to_string()
    .into_bytes()
}

fn answer(status: u16, body: &[u8]) -> HttpResponse {
    HttpResponse::from_body(BACKEND, status, body.to_vec())
}

#[test]
fn every_documented_answer_to_its_kind() {
    let cases: &[(u16, &str, ErrorKind, bool)] = &[
        (404, "notFound", ErrorKind::NotFound, true),
        (400, "invalid", ErrorKind::InvalidInput, false),
        (400, "resourceInUseByAnotherResource", ErrorKind::Api, false),
        (401, "authError", ErrorKind::Unauthenticated, false),
        (403, "forbidden", ErrorKind::PermissionDenied, false),
        (
            403,
            "insufficientPermissions",
            ErrorKind::PermissionDenied,
            false,
        ),
        (
            403,
            "accessNotConfigured",
            ErrorKind::PermissionDenied,
            false,
        ),
        (403, "rateLimitExceeded", ErrorKind::RateLimited, false),
        (403, "userRateLimitExceeded", ErrorKind::RateLimited, false),
        (429, "rateLimitExceeded", ErrorKind::RateLimited, false),
        (429, "", ErrorKind::RateLimited, false),
        (412, "conditionNotMet", ErrorKind::Api, false),
        (409, "alreadyExists", ErrorKind::Api, false),
        (503, "backendError", ErrorKind::Api, false),
    ];
    for &(status, reason, kind, proves) in cases {
        let e = decode_error(&answer(status, &google(status, reason, "the message")));
        assert_eq!(e.kind(), kind, "{status} {reason}: {e}");
        assert_eq!(e.proves_absence(), proves, "{status} {reason}");
        assert_eq!(e.backend(), Some(BACKEND));
        assert_eq!(e.message(), "the message", "{status} {reason}");
        if !reason.is_empty() {
            assert_eq!(e.code(), Some(reason), "{status}");
        }
    }
    let in_use = decode_error(&answer(
        400,
        &google(400, "resourceInUseByAnotherResource", "in use"),
    ));
    assert_eq!(in_use.status(), Some(400));
    assert!(!in_use.is_retryable());
    assert!(decode_error(&answer(503, &google(503, "backendError", "x"))).is_retryable());
}

#[test]
fn the_verbatim_not_found_body_proves_absence() {
    // googleapis/google-cloud-java PR #11032, quoted in the reference
    let body = br#"{"error": {"code": 404,
           "message": "The resource 'projects/debian-cloud/global/images/family/debian-10' was not found",
           "errors": [{"message": "The resource 'projects/debian-cloud/global/images/family/debian-10' was not found",
                       "domain": "global", "reason": "notFound"}]}}"#;
    let e = decode_error(&answer(404, body));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.proves_absence());
    // the newer shape with status and details, no errors[]
    let body = br#"{"error":{"code":404,"message":"gone","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"x"}]}}"#;
    let e = decode_error(&answer(404, body));
    assert!(e.proves_absence());
    assert_eq!(e.code(), Some("NOT_FOUND"));
    // Google's document with another reason: not found, but not proof
    let e = decode_error(&answer(404, &google(404, "somethingElse", "m")));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.proves_absence());
}

#[test]
fn a_bare_404_never_proves_absence() {
    for body in [
        &b"<html><body>404 Not Found</body></html>"[..],
        b"",
        b"Not Found",
        br#"{"error":"not_found"}"#,
        br#"{"error":{"code":404}}"#,
    ] {
        let mut response = answer(404, body);
        response
            .headers
            .insert("content-type", "text/html".parse().unwrap());
        let e = decode_error(&response);
        assert_eq!(
            e.kind(),
            ErrorKind::NotFound,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert!(!e.proves_absence(), "{}", String::from_utf8_lossy(body));
    }
    let e = decode_error(&answer(502, b"<html>bad gateway</html>"));
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert!(e.is_retryable());
}

#[test]
fn an_echoed_token_is_never_shown() {
    // a token this process holds (registered by SecretString) and one it
    // does not know, both echoed by a server
    let held = imagecat_http::SecretString::new("ya29.held-token-0123456789");
    let body = google(
        401,
        "authError",
        &format!(
            "Invalid Credentials: Authorization: Bearer ya29.unknown-token-abcdef for {} (access_token=ya29.q)",
            held.expose_secret()
        ),
    );
    let e = decode_error(&answer(401, &body));
    let shown = format!("{e} {e:?} {}", e.body());
    for secret in ["ya29.held-token", "ya29.unknown-token", "ya29.q"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("Invalid Credentials"), "{shown}");
}

#[test]
fn bodies_as_the_reference_quotes_them() {
    // FORSETI ACCESS_DENIED (errors before code, as that body has it)
    let forbidden = br#"{"error":{"errors":[{"domain":"global","reason":"forbidden","message":"Required 'compute.instances.list' permission for 'projects/project1'"}],"code":403,"message":"Required 'compute.instances.list' permission for 'projects/project1'"}}"#;
    let e = decode_error(&answer(403, forbidden));
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(e.code(), Some("forbidden"));
    // googleapis/google-cloud-go#7802: a stale label fingerprint
    let stale = br#"{"error":{"code":412,"message":"Labels fingerprint either invalid or resource labels have changed",
        "errors":[{"message":"Labels fingerprint either invalid or resource labels have changed",
                   "domain":"global","reason":"conditionNotMet","location":"If-Match","locationType":"header"}]}}"#;
    let e = decode_error(&answer(412, stale));
    assert_eq!(
        (e.kind(), e.status(), e.code()),
        (ErrorKind::Api, Some(412), Some("conditionNotMet"))
    );
    // a rate limit with Retry-After
    let mut limited = answer(
        403,
        &google(
            403,
            "rateLimitExceeded",
            "Quota exceeded for quota group 'ReadGroup'",
        ),
    );
    limited.headers.insert("retry-after", "7".parse().unwrap());
    let e = decode_error(&limited);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert!(e.is_retryable());
}

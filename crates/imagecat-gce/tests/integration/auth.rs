//! The service-account flow's pieces, offline: the key file, the signed
//! assertion (verified with the key's public half), the token request and
//! answer, and no key or token in any error or Debug.
//!
//! The key in `fixtures/test-service-account-THROWAWAY.json` is a throwaway
//! generated for these tests only; it grants nothing anywhere.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use imagecat_core::ErrorKind;
use imagecat_gce::{
    COMPUTE_READONLY_SCOPE, COMPUTE_SCOPE, METADATA_FLAVOR, METADATA_TOKEN_URL, ServiceAccountKey,
    TokenAnswer, token_request_body,
};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;

const KEY_FILE: &[u8] = include_bytes!("../fixtures/test-service-account-THROWAWAY.json");

fn key_file() -> Value {
    serde_json::from_slice(KEY_FILE).unwrap()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn the_assertion_is_signed_rs256_and_says_who_for_what() {
    let key = ServiceAccountKey::from_json(KEY_FILE).unwrap();
    assert_eq!(
        key.client_email,
        "imagecat-test@imagecat-test.iam.gserviceaccount.com"
    );
    let now = 1_765_100_000;
    let assertion = key
        .assertion(&[COMPUTE_SCOPE, COMPUTE_READONLY_SCOPE], now)
        .unwrap();
    let jwt = assertion.expose_secret();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], "0123456789abcdef0123456789abcdef01234567");
    let claims = decode_part(parts[1]);
    assert_eq!(claims["iss"], key.client_email.as_str());
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/compute https://www.googleapis.com/auth/compute.readonly"
    );
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(claims.as_object().unwrap().len(), 5);

    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der());
    let signed = format!("{}.{}", parts[0], parts[1]);
    public.verify(signed.as_bytes(), &signature).unwrap();
    // a changed claim no longer verifies
    let mut forged = claims.clone();
    forged["iss"] = "someone-else@x.iam.gserviceaccount.com".into();
    let forged = format!(
        "{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string())
    );
    assert!(public.verify(forged.as_bytes(), &signature).is_err());

    let body = token_request_body(&assertion);
    assert_eq!(
        body.expose_secret(),
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}")
    );
    // neither the key nor the assertion shows in Debug
    let shown = format!("{key:?} {assertion:?} {body:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(parts[2]),
        "{shown}"
    );
}

#[test]
fn a_malformed_key_file_is_a_typed_error_that_never_echoes_the_key() {
    let pem = key_file()["private_key"].as_str().unwrap().to_owned();
    // the base64 body of the key, which must never be shown
    let body_line = pem.lines().nth(1).unwrap().to_owned();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = key_file();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let truncated_pem = pem[..pem.len() / 2].to_owned();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "not JSON",
            format!("{{\"private_key\": \"{body_line}").into_bytes(),
        ),
        ("an array", b"[1]".to_vec()),
        (
            "no type",
            with(&|v| {
                v.as_object_mut().unwrap().remove("type");
            }),
        ),
        (
            "authorized user",
            with(&|v| v["type"] = "authorized_user".into()),
        ),
        (
            "no key",
            with(&|v| {
                v.as_object_mut().unwrap().remove("private_key");
            }),
        ),
        ("key a number", with(&|v| v["private_key"] = 7.into())),
        (
            "key truncated",
            with(&|v| v["private_key"] = truncated_pem.clone().into()),
        ),
        (
            "key not PEM",
            with(&|v| v["private_key"] = body_line.clone().into()),
        ),
        (
            "key PKCS#1",
            with(&|v| v["private_key"] = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY").into()),
        ),
        (
            "key garbled",
            with(&|v| {
                v["private_key"] = pem
                    .replacen(&body_line[..20], "AAAAAAAAAAAAAAAAAAAA", 1)
                    .into()
            }),
        ),
        ("no email", with(&|v| v["client_email"] = "".into())),
        (
            "no token_uri",
            with(&|v| {
                v.as_object_mut().unwrap().remove("token_uri");
            }),
        ),
        (
            "token_uri not a URL",
            with(&|v| v["token_uri"] = "oauth2.googleapis.com".into()),
        ),
    ];
    for (what, text) in cases {
        let e = ServiceAccountKey::from_json(&text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{what}: {e}");
        let shown = format!("{e} {e:?} {}", e.body());
        assert!(!shown.contains(&body_line[..16]), "{what}: {shown}");
        assert!(shown.contains("service-account key"), "{what}: {shown}");
    }
}

#[test]
fn token_answers() {
    let TokenAnswer::Token(token) = TokenAnswer::from_json(
        br#"{"access_token":"ya29.c.test-access-token-1","expires_in":3599,"token_type":"Bearer"}"#,
    )
    .unwrap() else {
        panic!("not a token")
    };
    assert_eq!(token.token.expose_secret(), "ya29.c.test-access-token-1");
    assert_eq!(token.expires_in, Some(std::time::Duration::from_secs(3599)));
    assert_eq!(
        token.header_secret().expose_secret(),
        "Bearer ya29.c.test-access-token-1"
    );
    assert!(!format!("{token:?}").contains("test-access-token"));
    // the metadata server's answer has the same shape
    assert_eq!(METADATA_FLAVOR, ("Metadata-Flavor", "Google"));
    assert!(METADATA_TOKEN_URL.ends_with("/service-accounts/default/token"));
    let token = TokenAnswer::from_json(br#"{"access_token":"ya29.m","expires_in":"120"}"#)
        .unwrap()
        .into_token()
        .unwrap();
    assert_eq!(token.expires_in, Some(std::time::Duration::from_secs(120)));

    let refused = TokenAnswer::from_json(
        br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    )
    .unwrap()
    .into_token()
    .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
    assert_eq!(refused.code(), Some("invalid_grant"));
    assert!(refused.message().contains("Invalid JWT Signature."));

    for body in [
        &b"<html>"[..],
        b"[]",
        br#"{"access_token":"ya29.secret-in-a-bad-answer","expires_in":-1}"#,
        br#"{"access_token":"ya29.secret-in-a-bad-answer","token_type":"MAC"}"#,
        br#"{"access_token":""}"#,
        br#"{"token":"ya29.secret-in-a-bad-answer"}"#,
    ] {
        let e = TokenAnswer::from_json(body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let shown = format!("{e} {e:?} {}", e.body());
        assert!(!shown.contains("secret-in-a-bad-answer"), "{shown}");
    }
}

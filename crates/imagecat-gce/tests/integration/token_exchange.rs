//! The grants against token endpoints these tests serve on loopback: the
//! service-account JWT exchange (the assertion checked with the key's
//! public half, as Google's endpoint would) and the metadata server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use imagecat_core::ErrorKind;
use imagecat_gce::{
    BACKEND, COMPUTE_READONLY_SCOPE, JWT_BEARER_GRANT, MetadataGrant, ServiceAccountGrant,
    ServiceAccountKey, TOKEN_HEADER,
};
use imagecat_http::{Grant, HttpClient, HttpOptions, TokenSource};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;

const KEY_FILE: &[u8] = include_bytes!("../fixtures/test-service-account-THROWAWAY.json");

#[derive(Clone, Default)]
pub(crate) struct Seen(pub(crate) Arc<Mutex<Vec<(Method, HeaderMap, String)>>>);

pub(crate) type Script = Arc<dyn Fn(&Method, &HeaderMap, &str) -> Response + Send + Sync>;

pub(crate) async fn serve(script: Script) -> (String, Seen) {
    let seen = Seen::default();
    let state = (seen.clone(), script);
    async fn handle(
        State((seen, script)): State<(Seen, Script)>,
        method: Method,
        headers: HeaderMap,
        body: String,
    ) -> Response {
        let answer = script(&method, &headers, &body);
        seen.0.lock().unwrap().push((method, headers, body));
        answer
    }
    let app = Router::new().fallback(any(handle)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

pub(crate) fn json(status: StatusCode, body: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_owned(),
    )
        .into_response()
}

fn key_for(token_uri: &str) -> ServiceAccountKey {
    let mut file: Value = serde_json::from_slice(KEY_FILE).unwrap();
    file["token_uri"] = token_uri.into();
    ServiceAccountKey::from_json(&serde_json::to_vec(&file).unwrap()).unwrap()
}

fn http() -> HttpClient {
    HttpClient::new(BACKEND, HttpOptions::default().allow_http(true)).unwrap()
}

fn source<G: Grant>(grant: G) -> TokenSource<G> {
    TokenSource::new(
        BACKEND,
        TOKEN_HEADER,
        None,
        Some(grant),
        Duration::from_secs(60),
        "none",
    )
    .unwrap()
}

#[tokio::test]
async fn the_service_account_exchange() {
    // the endpoint checks the assertion as Google's would: grant type,
    // signature by the key's public half, audience, issuer, lifetime
    let public = key_for("http://x/").public_key_der();
    let (base, seen) = serve(Arc::new(move |method, headers, body| {
        assert_eq!(method, Method::POST);
        assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            form[0],
            ("grant_type".to_owned(), JWT_BEARER_GRANT.to_owned())
        );
        let jwt = &form[1].1;
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let ok = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .is_ok();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signed.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        let fresh = (claims["iat"].as_i64().unwrap() - chrono::Utc::now().timestamp()).abs() < 60;
        if ok
            && fresh
            && claims["aud"].as_str().unwrap().ends_with("/token")
            && claims["scope"] == COMPUTE_READONLY_SCOPE
        {
            json(
                StatusCode::OK,
                r#"{"access_token":"ya29.served-token-1","expires_in":3599,"token_type":"Bearer"}"#,
            )
        } else {
            json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            )
        }
    }))
    .await;
    let source = source(ServiceAccountGrant::new(
        key_for(&format!("{base}/token")),
        &[COMPUTE_READONLY_SCOPE],
    ));
    let token = source.current(&http()).await.unwrap();
    assert_eq!(token.header().unwrap(), "Bearer ya29.served-token-1");
    assert!(token.header().unwrap().is_sensitive());
    assert!(!format!("{token:?} {source:?}").contains("served-token"));
    assert_eq!(seen.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_assertion_is_unauthenticated() {
    let (base, _) = serve(Arc::new(|_, _, _| {
        json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        )
    }))
    .await;
    let grant =
        ServiceAccountGrant::new(key_for(&format!("{base}/token")), &[COMPUTE_READONLY_SCOPE]);
    let e = grant.fetch(&http()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.code(), Some("invalid_grant"));
    assert!(e.message().contains("Invalid JWT Signature."));
    // an answer with a token in a shape that does not decode shows no token
    let (base, _) = serve(Arc::new(|_, _, _| {
        json(
            StatusCode::OK,
            r#"{"access_token":"ya29.leaked-token-2","expires_in":"soon"}"#,
        )
    }))
    .await;
    let grant =
        ServiceAccountGrant::new(key_for(&format!("{base}/token")), &[COMPUTE_READONLY_SCOPE]);
    let e = grant.fetch(&http()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert!(!format!("{e} {e:?} {}", e.body()).contains("leaked-token"));
}

#[tokio::test]
async fn the_metadata_server() {
    let (base, seen) = serve(Arc::new(|method, headers, _| {
        if method != Method::GET || headers.get("metadata-flavor").is_none_or(|v| v != "Google") {
            return (
                StatusCode::FORBIDDEN,
                "Missing Metadata-Flavor:Google header.",
            )
                .into_response();
        }
        json(
            StatusCode::OK,
            r#"{"access_token":"ya29.c.metadata-token","expires_in":1799,"token_type":"Bearer"}"#,
        )
    }))
    .await;
    let url = format!("{base}/computeMetadata/v1/instance/service-accounts/default/token");
    let source = source(MetadataGrant::new(url::Url::parse(&url).unwrap()));
    let token = source.current(&http()).await.unwrap();
    assert_eq!(token.header().unwrap(), "Bearer ya29.c.metadata-token");
    let seen = seen.0.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1["metadata-flavor"], "Google");
}

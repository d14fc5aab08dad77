//! Credentials as Google's tools find them, end to end through the
//! builder against a token endpoint and a Compute API these tests serve:
//! the authorized-user refresh token (its form fields, the quota project
//! header), the application-default credentials file, `GCE_METADATA_HOST`,
//! renewal before expiry, and a refusal that echoes the secrets.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use imagecat_core::{ErrorKind, ImageCatalog, ImageCatalogExt, ListQuery};
use imagecat_gce::{CredentialsFile, GceBuilder};
use serde_json::{Value, json};

use crate::token_exchange::{json as answer, serve};

const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty";
const REFRESH_TOKEN: &str = "1//0refresh-token-secret-Zx81";

fn user_file(token_uri: Option<&str>, quota: Option<&str>) -> Value {
    let mut file = json!({
        "type": "authorized_user",
        "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    });
    if let Some(uri) = token_uri {
        file["token_uri"] = uri.into();
    }
    if let Some(q) = quota {
        file["quota_project_id"] = q.into();
    }
    file
}

fn write_temp(name: &str, value: &Value) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("imagecat-gce-adc-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(imagecat_gce::ADC_FILE_NAME);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path
}

/// A token endpoint at `/token` (answering `expires_in`) and an empty
/// image list that wants `Bearer ya29.user-N` for the N-th token.
fn script(expires_in: u64) -> crate::token_exchange::Script {
    let issued = Arc::new(std::sync::atomic::AtomicU32::new(0));
    Arc::new(move |method, headers, body| -> Response {
        let _ = body;
        if method == Method::POST {
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            return answer(
                StatusCode::OK,
                &format!(
                    r#"{{"access_token":"ya29.user-{n}","expires_in":{expires_in},"token_type":"Bearer","scope":"https://www.googleapis.com/auth/cloud-platform"}}"#
                ),
            );
        }
        let n = issued.load(std::sync::atomic::Ordering::SeqCst);
        let wanted = format!("Bearer ya29.user-{n}");
        if headers
            .get("authorization")
            .is_none_or(|v| v != wanted.as_str())
        {
            return answer(
                StatusCode::UNAUTHORIZED,
                r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError"}]}}"#,
            );
        }
        answer(
            StatusCode::OK,
            r#"{"kind":"compute#imageList","id":"projects/p1/global/images"}"#,
        )
    })
}

#[tokio::test]
async fn the_authorized_user_refresh_token_grant() {
    let (base, seen) = serve(script(3599)).await;
    let path = write_temp(
        "user",
        &user_file(Some(&format!("{base}/token")), Some("billing-project")),
    );
    let catalog = GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1/"))
        .credentials_file(&path)
        .build()
        .unwrap();
    assert!(catalog.collect(ListQuery::new()).await.unwrap().is_empty());
    assert!(catalog.collect(ListQuery::new()).await.unwrap().is_empty());
    let shown = format!("{catalog:?}");
    assert!(
        !shown.contains(CLIENT_SECRET) && !shown.contains(REFRESH_TOKEN),
        "{shown}"
    );
    let seen = seen.0.lock().unwrap();
    // one exchange, two listings
    assert_eq!(seen.len(), 3, "{seen:?}");
    let (method, headers, body) = &seen[0];
    assert_eq!(method, Method::POST);
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("grant_type"), Some("refresh_token"));
    assert_eq!(field("refresh_token"), Some(REFRESH_TOKEN));
    assert_eq!(field("client_secret"), Some(CLIENT_SECRET));
    assert!(
        field("client_id")
            .unwrap()
            .ends_with(".apps.googleusercontent.com")
    );
    assert_eq!(form.len(), 4, "{form:?}");
    for (_, headers, _) in &seen[1..] {
        assert_eq!(headers["x-goog-user-project"], "billing-project");
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    // expires_in under the renewal margin (60 s): stale at once, so each
    // listing exchanges again; an hour-long token is exchanged once
    for (expires_in, exchanges) in [(30, 2), (3600, 1)] {
        let (base, seen) = serve(script(expires_in)).await;
        let path = write_temp(&format!("renew-{expires_in}"), &user_file(None, None));
        let catalog = GceBuilder::new()
            .project("p1")
            .endpoint(format!("{base}/compute/v1/"))
            .credentials_file(&path)
            .token_endpoint(url::Url::parse(&format!("{base}/token")).unwrap())
            .build()
            .unwrap();
        for _ in 0..2 {
            catalog.collect(ListQuery::new()).await.unwrap();
        }
        let seen = seen.0.lock().unwrap();
        let posts = seen.iter().filter(|(m, _, _)| m == Method::POST).count();
        assert_eq!(posts, exchanges, "expires_in {expires_in}");
        // no listing was refused: each carried the token current then
        assert_eq!(seen.len(), exchanges + 2, "expires_in {expires_in}");
        let _ = std::fs::remove_file(&path);
    }
}

#[tokio::test]
async fn a_refusal_that_echoes_the_secrets_shows_none() {
    // the endpoint echoes what it was sent, decoded and as sent
    let (base, _) = serve(Arc::new(|_, _, body| {
        let echoed: Vec<String> = url::form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        answer(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": "invalid_grant",
                "error_description": format!("Bad Request: {} ({body})", echoed.join(" ")),
            })
            .to_string(),
        )
    }))
    .await;
    let path = write_temp("echo", &user_file(Some(&format!("{base}/token")), None));
    let catalog = GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1/"))
        .credentials_file(&path)
        .build()
        .unwrap();
    let e = catalog.collect(ListQuery::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.code(), Some("invalid_grant"));
    let text = format!("{e} {e:?} {}", e.body());
    assert!(text.contains("Bad Request"), "{text}");
    for secret in [CLIENT_SECRET, REFRESH_TOKEN] {
        assert!(!text.contains(secret), "{text}");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn credentials_files_by_type() {
    let file = |v: Value| CredentialsFile::from_json(&serde_json::to_vec(&v).unwrap());
    match file(user_file(None, None)).unwrap() {
        CredentialsFile::AuthorizedUser(user) => {
            assert_eq!(user.token_uri, imagecat_gce::GOOGLE_TOKEN_URL);
            let shown = format!("{user:?}");
            assert!(!shown.contains(CLIENT_SECRET) && !shown.contains(REFRESH_TOKEN));
        }
        other => panic!("{other:?}"),
    }
    let key: Value = serde_json::from_slice(include_bytes!(
        "../fixtures/test-service-account-THROWAWAY.json"
    ))
    .unwrap();
    assert!(matches!(
        file(key).unwrap(),
        CredentialsFile::ServiceAccount(_)
    ));
    for (bad, says) in [
        (
            json!({"type": "external_account", "audience": "x"}),
            "external_account",
        ),
        (json!({"client_id": "x"}), "no \"type\""),
        (
            {
                let mut f = user_file(None, None);
                f.as_object_mut().unwrap().remove("refresh_token");
                f
            },
            "refresh_token",
        ),
        (
            {
                let mut f = user_file(None, None);
                f["client_secret"] = 7.into();
                f
            },
            "client_secret",
        ),
        (
            {
                let mut f = user_file(None, None);
                f["token_uri"] = "file:///etc/passwd".into();
                f
            },
            "token_uri",
        ),
        (json!(["authorized_user"]), "not a JSON object"),
    ] {
        let e = file(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains(says), "{e}");
        assert!(!e.to_string().contains(REFRESH_TOKEN), "{e}");
    }
}

#[tokio::test]
async fn the_metadata_server_named_by_its_host() {
    let (base, seen) = serve(Arc::new(|method, headers, _| {
        if method == Method::GET && headers.get("metadata-flavor").is_some() {
            return answer(
                StatusCode::OK,
                r#"{"access_token":"ya29.c.meta","expires_in":3599,"token_type":"Bearer"}"#,
            );
        }
        if headers
            .get("authorization")
            .is_none_or(|v| v != "Bearer ya29.c.meta")
        {
            return answer(
                StatusCode::UNAUTHORIZED,
                r#"{"error":{"code":401,"message":"no"}}"#,
            );
        }
        answer(StatusCode::OK, r#"{"kind":"compute#imageList"}"#)
    }))
    .await;
    let host = base.trim_start_matches("http://");
    let catalog = GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1/"))
        .metadata_host(host)
        .unwrap()
        .build()
        .unwrap();
    catalog.collect(ListQuery::new()).await.unwrap();
    let seen = seen.0.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1["metadata-flavor"], "Google");
    assert!(catalog.info().endpoint.contains("p1"));
}

#[tokio::test]
async fn an_unreachable_metadata_server_as_the_last_resort_says_no_credentials() {
    // a port nothing listens on (bound, then released)
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = url::Url::parse(&format!(
        "http://127.0.0.1:{port}/computeMetadata/v1/instance/service-accounts/default/token"
    ))
    .unwrap();
    let http = imagecat_http::HttpClient::new(
        imagecat_gce::BACKEND,
        imagecat_http::HttpOptions::default()
            .allow_http(true)
            .retry(imagecat_http::RetryPolicy::default().max_attempts(1)),
    )
    .unwrap();
    use imagecat_http::Grant as _;
    let e = imagecat_gce::MetadataGrant::new(url.clone())
        .as_last_resort(true)
        .fetch(&http)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(
        e.message().contains("no credentials found")
            && e.message().contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{e}"
    );
    // chosen on purpose (GCE_METADATA_HOST, metadata_url): the transport error as it is
    let e = imagecat_gce::MetadataGrant::new(url)
        .fetch(&http)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
}

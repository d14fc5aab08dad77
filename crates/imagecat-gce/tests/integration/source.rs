//! `GceCatalog` (the builder, the source and the core's engine) against a
//! small Compute API served on loopback: paging by `nextPageToken`, get,
//! delete through the Operation, error mapping, the bearer token.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::TryStreamExt;
use imagecat_core::{Deleted, ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_gce::{GceBuilder, GceCatalog};
use imagecat_http::{HttpOptions, RetryPolicy, SecretString};
use serde_json::json;

const TOKEN: &str = "ya29.test-secret-token-7f3a";
/// A token the server echoes that this process never registered as a
/// secret: only the adapter's own redaction of `Bearer …` removes it.
const ECHOED: &str = "ya29.echoed-unregistered-9d1c";
const BASE: &str = "/compute/v1/projects/p1/global";

#[derive(Default)]
struct Server {
    seen: Mutex<Vec<(Method, String, Option<String>)>>,
    polls: AtomicU32,
}

fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn image(name: &str) -> serde_json::Value {
    json!({
        "kind": "compute#image",
        "id": "1234",
        "name": name,
        "status": "READY",
        "selfLink": format!("https://compute.googleapis.com/compute/v1/projects/p1/global/images/{name}"),
        "creationTimestamp": "2024-01-10T04:05:06.789-08:00",
        "archiveSizeBytes": "1000",
        "diskSizeGb": "10",
    })
}

fn not_found(what: &str) -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        json!({"error":{"code":404,"message":format!("The resource '{what}' was not found"),
               "errors":[{"message":"m","domain":"global","reason":"notFound"}]}}),
    )
}

fn operation(status: &str, extra: serde_json::Value) -> Response {
    let mut op = json!({
        "kind": "compute#operation",
        "name": "operation-1700000000000-abc",
        "operationType": "delete",
        "status": status,
        "targetLink": "https://compute.googleapis.com/compute/v1/projects/p1/global/images/img-run",
    });
    if let (Some(op), Some(extra)) = (op.as_object_mut(), extra.as_object()) {
        op.extend(extra.clone());
    }
    json_answer(StatusCode::OK, op)
}

async fn handle(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    server.seen.lock().unwrap().push((
        method.clone(),
        uri.path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        auth.clone(),
    ));
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    // the token endpoints come before the bearer check
    let issued = json!({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"});
    if method == Method::POST && path == "/token" {
        return json_answer(StatusCode::OK, issued);
    }
    if method == Method::GET && path == "/metadata/token" {
        return match headers.get("metadata-flavor") {
            Some(v) if v == "Google" => json_answer(StatusCode::OK, issued),
            _ => (
                StatusCode::FORBIDDEN,
                "Missing Metadata-Flavor:Google header.",
            )
                .into_response(),
        };
    }
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}),
        );
    }
    let Some(rest) = path.strip_prefix(BASE) else {
        return (StatusCode::NOT_FOUND, "<html>no</html>").into_response();
    };
    match (&method, rest) {
        (&Method::GET, "/images") => {
            let (names, next): (&[&str], Option<&str>) = if query.contains("pageToken=t2") {
                (&["img-3", "img-4"], Some("t3"))
            } else if query.contains("pageToken=t3") {
                (&["img-5"], None)
            } else {
                (&["img-1", "img-2"], Some("t2"))
            };
            let mut page = json!({
                "kind": "compute#imageList",
                "items": names.iter().map(|n| image(n)).collect::<Vec<_>>(),
            });
            if let Some(next) = next {
                page["nextPageToken"] = next.into();
            }
            json_answer(StatusCode::OK, page)
        }
        (&Method::GET, "/images/img-1") => json_answer(StatusCode::OK, image("img-1")),
        (&Method::GET, "/images/family/golden") => {
            let mut image = image("golden-v2");
            image["family"] = "golden".into();
            json_answer(StatusCode::OK, image)
        }
        (&Method::GET, "/images/family/liar") => {
            let mut image = image("golden-v2");
            image["family"] = "golden".into();
            json_answer(StatusCode::OK, image)
        }
        (&Method::GET, "/images/family/none") => not_found("projects/p1/global/images/family/none"),
        (&Method::GET, "/images/gone") => not_found("projects/p1/global/images/gone"),
        (&Method::DELETE, "/images/img-run") => operation("RUNNING", json!({})),
        (&Method::GET, "/operations/operation-1700000000000-abc") => {
            if server.polls.fetch_add(1, Ordering::SeqCst) < 2 {
                operation("RUNNING", json!({"progress": 50}))
            } else {
                operation("DONE", json!({"progress": 100}))
            }
        }
        (&Method::DELETE, "/images/img-fail") => operation(
            "DONE",
            json!({
                "targetLink": "projects/p1/global/images/img-fail",
                "httpErrorStatusCode": 403,
                "httpErrorMessage": "FORBIDDEN",
                "error": {"errors": [{"code": "forbidden",
                    "message": format!("Required 'compute.images.delete' permission (sent Bearer {TOKEN})")}]},
            }),
        ),
        (&Method::DELETE, "/images/gone") => not_found("projects/p1/global/images/gone"),
        (&Method::DELETE, "/images/echo") => json_answer(
            StatusCode::FORBIDDEN,
            json!({"error":{"code":403,"message":format!("the token Bearer {TOKEN} may not (nor Bearer {ECHOED})"),
                   "errors":[{"reason":"forbidden","message":"m"}]}}),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "<html><body>404 page not found</body></html>",
        )
            .into_response(),
    }
}

async fn serve() -> (String, Arc<Server>) {
    let server = Arc::new(Server::default());
    let app = Router::new()
        .fallback(any(handle))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), server)
}

fn catalog(base: &str, token: &str) -> GceCatalog {
    let fast = RetryPolicy::default()
        .max_attempts(2)
        .backoff(Duration::from_millis(1), Duration::from_millis(5));
    GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1/"))
        .access_token(SecretString::new(token))
        .http_options(HttpOptions::default().retry(fast))
        .build()
        .unwrap()
}

#[tokio::test]
async fn three_pages_yield_every_image_once_with_the_bearer_token() {
    let (base, server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    let images: Vec<_> = catalog
        .list(ListQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        (1..=5)
            .map(|n| format!("projects/p1/global/images/img-{n}"))
            .collect::<Vec<_>>()
    );
    let seen = server.seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            format!("{BASE}/images?maxResults=2"),
            format!("{BASE}/images?maxResults=2&pageToken=t2"),
            format!("{BASE}/images?maxResults=2&pageToken=t3"),
        ]
    );
    assert!(
        seen.iter()
            .all(|(_, _, auth)| auth.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
}

#[tokio::test]
async fn get_by_name_or_path_and_a_proven_absence() {
    let (base, _server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    for id in [
        "img-1",
        "projects/p1/global/images/img-1",
        "https://compute.googleapis.com/compute/v1/projects/p1/global/images/img-1",
    ] {
        let image = catalog.get(&ImageId::from(id)).await.unwrap();
        assert_eq!(image.id.as_str(), "projects/p1/global/images/img-1", "{id}");
        assert_eq!(image.size_bytes, Some(1000));
    }
    let e = catalog.get(&ImageId::from("gone")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.proves_absence());
    for bad in [
        "Img",
        "a_b",
        "1a",
        "a-",
        "projects/p1/global/images/family/f",
        "../x",
    ] {
        let e = catalog.get(&ImageId::from(bad)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

#[tokio::test]
async fn delete_waits_for_a_running_operation_until_done() {
    let (base, server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    let deleted = catalog.delete(&ImageId::from("img-run")).await.unwrap();
    assert_eq!(deleted, Deleted::Deleted);
    assert_eq!(server.polls.load(Ordering::SeqCst), 3);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen[0].0, Method::DELETE);
    assert_eq!(seen[0].1, format!("{BASE}/images/img-run"));
    assert!(seen[1..].iter().all(|(m, p, _)| m == Method::GET
        && p == &format!("{BASE}/operations/operation-1700000000000-abc")));
}

#[tokio::test]
async fn the_wait_is_bounded() {
    let (base, server) = serve().await;
    let fast = RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2));
    let catalog = GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1"))
        .access_token(SecretString::new(TOKEN))
        .http_options(HttpOptions::default().retry(fast))
        .operation_polls(2)
        .build()
        .unwrap();
    let e = catalog.delete(&ImageId::from("img-run")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(server.polls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_done_operation_with_an_error_is_that_error_without_the_token() {
    let (base, _server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    let e = catalog
        .delete(&ImageId::from("img-fail"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("compute.images.delete"), "{e}");
    assert!(!format!("{e} {e:?}").contains(TOKEN), "{e:?}");
}

#[tokio::test]
async fn a_not_found_delete_proves_absence_a_bare_404_does_not() {
    let (base, _server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    let e = catalog.delete(&ImageId::from("gone")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.proves_absence(), "{e:?}");
    // no route: the server's HTML 404, which proves nothing
    let e = catalog
        .delete(&ImageId::from("no-such-route"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!e.proves_absence(), "{e:?}");
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_debug() {
    let (base, server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    let e = catalog.delete(&ImageId::from("echo")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let shown = format!("{e} {e:?} {catalog:?} {:?}", catalog.info());
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains("test-secret"), "{shown}");
    assert!(!shown.contains(ECHOED), "{shown}");
    assert!(shown.contains("Bearer [redacted]"), "{shown}");

    // a refused token: Unauthenticated, and the token is not quoted
    let wrong = catalog_with_wrong_token(&base);
    let e = wrong.get(&ImageId::from("img-1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!format!("{e} {e:?}").contains("wrong-secret-token"));
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|(_, _, a)| a.as_deref() == Some("Bearer wrong-secret-token-1234"))
    );
}

fn catalog_with_wrong_token(base: &str) -> GceCatalog {
    catalog(base, "wrong-secret-token-1234")
}

#[test]
fn the_builder_reads_urls_and_refuses_what_it_cannot_use() {
    let url = url::Url::parse("gce+http://127.0.0.1:9?project=p1").unwrap();
    let options = imagecat_http::OpenOptions::new()
        .credentials(imagecat_http::Credentials::token(SecretString::new(TOKEN)));
    let catalog = GceBuilder::from_url(&url, &options)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(catalog.source().project(), "p1");
    assert_eq!(
        catalog.source().endpoint().as_str(),
        "http://127.0.0.1:9/compute/v1/"
    );
    assert!(!format!("{catalog:?}").contains(TOKEN));
    let token = || SecretString::new("t");
    for builder in [
        GceBuilder::new().access_token(token()),
        GceBuilder::new().project("P1").access_token(token()),
        GceBuilder::new().project("p1"),
        GceBuilder::new()
            .project("p1")
            .access_token(SecretString::new("a\nb")),
        GceBuilder::new()
            .project("p1")
            .access_token(token())
            .endpoint("ftp://h/"),
        GceBuilder::new()
            .project("p1")
            .access_token(token())
            .endpoint("https://u:p@h/"),
        GceBuilder::new()
            .project("p1")
            .service_account_key_file("/nonexistent/key.json"),
    ] {
        let shown = format!("{builder:?}");
        let e = builder.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{shown}: {e}");
    }
}

const KEY_FILE: &[u8] = include_bytes!("../fixtures/test-service-account-THROWAWAY.json");

#[tokio::test]
async fn tokens_from_a_key_file_or_the_metadata_server_and_a_refused_static_token_replaced() {
    let (base, server) = serve().await;
    let mut key: serde_json::Value = serde_json::from_slice(KEY_FILE).unwrap();
    key["token_uri"] = format!("{base}/token").into();
    let path = std::env::temp_dir().join(format!("imagecat-gce-key-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&key).unwrap()).unwrap();
    let metadata = url::Url::parse(&format!("{base}/metadata/token")).unwrap();
    let builders = [
        GceBuilder::new().service_account_key_file(&path),
        GceBuilder::new().metadata_url(metadata.clone()),
        // a static token the server refuses, replaced through the grant
        GceBuilder::new()
            .access_token(SecretString::new("stale-token-5678"))
            .metadata_url(metadata),
    ];
    for builder in builders {
        let catalog = builder
            .project("p1")
            .endpoint(format!("{base}/compute/v1/"))
            .build()
            .unwrap();
        let image = catalog.get(&ImageId::from("img-1")).await.unwrap();
        assert_eq!(image.name.as_deref(), Some("img-1"));
        assert!(!format!("{catalog:?}").contains(TOKEN));
    }
    let _ = std::fs::remove_file(&path);
    let seen = server.seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(
        paths.iter().filter(|p| **p == "/token").count(),
        1,
        "{paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| **p == "/metadata/token").count(),
        2,
        "{paths:?}"
    );
    assert!(
        seen.iter()
            .any(|(_, _, a)| a.as_deref() == Some("Bearer stale-token-5678"))
    );
}

#[tokio::test]
async fn the_newest_of_a_family_is_one_get_from_family() {
    let (base, server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    assert!(catalog.info().capabilities.family_lookup);
    let image = catalog.family_latest("golden").await.unwrap();
    assert_eq!(image.id.as_str(), "projects/p1/global/images/golden-v2");
    assert_eq!(image.properties.get("family"), Some("golden"));
    // an answer of another family is not taken for this one
    let e = catalog.family_latest("liar").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    let e = catalog.family_latest("none").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // a family that is not a GCE name is refused before any request
    for bad in ["", "Golden", "../images", "a/b", "x?y"] {
        let e = catalog.family_latest(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
    }
    let seen = server.seen.lock().unwrap();
    let mut paths: Vec<&str> = seen.iter().map(|(_, p, _)| p.as_str()).collect();
    // (an answer that is not the one asked for is retried as the HTTP
    // policy retries any invalid answer to a GET)
    paths.dedup();
    assert_eq!(
        paths,
        [
            "/compute/v1/projects/p1/global/images/family/golden",
            "/compute/v1/projects/p1/global/images/family/liar",
            "/compute/v1/projects/p1/global/images/family/none",
        ]
    );
}

#[tokio::test]
async fn the_query_goes_to_the_server_as_a_filter_and_is_checked_again() {
    let (base, server) = serve().await;
    let catalog = catalog(&base, TOKEN);
    // the served list ignores the filter: the engine still keeps only img-3
    let images: Vec<_> = catalog
        .list(
            ListQuery::new()
                .name("img-3")
                .status(imagecat_core::ImageStatus::Active)
                .property("label.env", "prod")
                .page_size(2),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(images.is_empty(), "{images:?}"); // no label env on img-3
    let images: Vec<_> = catalog
        .list(ListQuery::new().name("img-3"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    let seen = server.seen.lock().unwrap();
    let first = url::Url::parse(&format!("http://h{}", seen[0].1)).unwrap();
    let pairs: Vec<(String, String)> = first.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("maxResults".to_owned(), "2".to_owned()),
            (
                "filter".to_owned(),
                r#"(name = "img-3") (status = "READY") (labels.env = "prod")"#.to_owned()
            ),
        ]
    );
    // every page re-sends the filter with its token
    assert!(
        seen[1].1.contains("filter=") && seen[1].1.contains("pageToken=t2"),
        "{}",
        seen[1].1
    );
}

#[tokio::test]
async fn a_public_image_project_is_read_only() {
    let (base, server) = serve().await;
    let public = GceBuilder::new()
        .project("debian-cloud")
        .endpoint(format!("{base}/compute/v1/"))
        .access_token(SecretString::new(TOKEN))
        .build()
        .unwrap();
    assert!(public.source().read_only());
    assert!(!public.info().capabilities.delete);
    assert_eq!(public.caller().await.unwrap(), None);
    let e = public
        .delete(&ImageId::from("debian-12-bookworm-v20240110"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    // a project of one's own, marked read-only, is the same
    let marked = catalog_builder(&base).read_only(true).build().unwrap();
    assert!(marked.delete(&ImageId::from("img-run")).await.is_err());
    // a catalog deletes in its own project only
    let own = catalog(&base, TOKEN);
    assert_eq!(own.caller().await.unwrap().as_deref(), Some("p1"));
    let e = own
        .delete(&ImageId::from(
            "projects/debian-cloud/global/images/debian-12",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // no request reached the server
    assert!(server.seen.lock().unwrap().is_empty());
}

fn catalog_builder(base: &str) -> GceBuilder {
    GceBuilder::new()
        .project("p1")
        .endpoint(format!("{base}/compute/v1/"))
        .access_token(SecretString::new(TOKEN))
}

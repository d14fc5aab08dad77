//! Error answers: every DCMGR code, bodies that are not JSON, and the
//! errors the emulator produces like the real server.

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::response::IntoResponse;
use axum::routing::get;
use imagecat_core::raw::PageSource as _;
use imagecat_core::{Error, ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;
use imagecat_emulators::server::ServeOptions;

/// A server answering every show with this status, content type and body.
async fn answering(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> imagecat_emulators::server::EmulatorServer {
    crate::common::canned(Router::new().route(
        "/api/12.03/images/{id}",
        get(move || async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [(CONTENT_TYPE, content_type)],
                body,
            )
                .into_response()
        }),
    ))
    .await
}

async fn get_error(status: u16, content_type: &'static str, body: &'static str) -> (Error, usize) {
    let server = answering(status, content_type, body).await;
    let catalog = crate::common::catalog_at(&server.base_url(), None);
    let e = catalog
        .get(&ImageId::new("wmi-4yalh576"))
        .await
        .unwrap_err();
    (e, server.request_count())
}

fn dcmgr(class: &str, message: &str, code: &str) -> String {
    format!(
        r#"{{"error":"Dcmgr::Endpoints::Errors::{class}","message":"{message}","code":"{code}"}}"#
    )
}

#[tokio::test]
async fn every_code_maps_to_its_kind() {
    let cases: [(u16, String, ErrorKind, &str); 9] = [
        (
            404,
            dcmgr("UnknownUUIDResource", "wmi-nothere1", "100"),
            ErrorKind::NotFound,
            "100",
        ),
        (
            400,
            dcmgr(
                "InvalidRequestCredentials",
                "Invalid uuid or unsupported uuid: shpoolxx in Dcmgr::Models::Account",
                "103",
            ),
            ErrorKind::Unauthenticated,
            "103",
        ),
        (
            403,
            dcmgr("DisabledAccount", "a-shpoolxx", "104"),
            ErrorKind::PermissionDenied,
            "104",
        ),
        (
            403,
            dcmgr("OperationNotPermitted", "wmi-x", "105"),
            ErrorKind::PermissionDenied,
            "105",
        ),
        (
            400,
            dcmgr("InvalidParameter", "Invalid UUID Syntax: 4yalh576", "143"),
            ErrorKind::InvalidInput,
            "143",
        ),
        (
            400,
            dcmgr("InvalidParameter", "limit", "143"),
            ErrorKind::InvalidInput,
            "143",
        ),
        (
            400,
            dcmgr("DatabaseError", "Sequel::DatabaseError: boom", "110"),
            ErrorKind::Api,
            "110",
        ),
        (
            404,
            dcmgr("UnknownImage", "wmi-x", "127"),
            ErrorKind::Api,
            "127",
        ),
        (
            400,
            dcmgr("InvalidBackupStorage", "not ready", "182"),
            ErrorKind::Api,
            "182",
        ),
    ];
    for (status, body, kind, code) in cases {
        let body: &'static str = Box::leak(body.into_boxed_str());
        let (e, sent) = get_error(status, "application/json", body).await;
        assert_eq!(e.kind(), kind, "{body}: {e}");
        assert_eq!(sent, 1, "{body}: a client error is not retried");
        let shown = e.to_string();
        assert!(shown.starts_with("dcmgr: "), "{shown}");
        assert!(shown.contains(code), "{shown}");
        if kind == ErrorKind::Api {
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.code(), Some(code));
            assert!(!e.message().is_empty());
        }
    }
}

#[tokio::test]
async fn a_numeric_code_is_accepted() {
    let (e, _) = get_error(
        404,
        "application/json",
        r#"{"error":"X","message":"gone","code":100}"#,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("gone"), "{e}");
}

#[tokio::test]
async fn an_unknown_code_on_a_5xx_is_a_retryable_api_error() {
    let (e, sent) = get_error(
        500,
        "application/json",
        r#"{"error":"X","message":"boom","code":"999"}"#,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Api, "{e:?}");
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.code(), Some("999"));
    assert!(e.is_retryable());
    assert_eq!(sent, 5, "retried up to the policy's attempts");
}

/// A 404 without a DCMGR body is `NotFound`, the same on every backend
/// (exit 3), and its message shows where it came from.
#[tokio::test]
async fn html_404_is_not_found_naming_the_body() {
    let (e, sent) = get_error(404, "application/json", "<h1>Not Found</h1>").await;
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("dcmgr: not found: HTTP 404 without a dcmgr error document"),
        "{text}"
    );
    assert!(text.contains("body starts: <h1>Not Found</h1>"), "{text}");
    assert!(!e.is_retryable());
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn empty_500_is_a_retryable_invalid_response() {
    let (e, sent) = get_error(500, "text/html", "").await;
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e:?}");
    assert_eq!(e.status(), Some(500));
    assert!(e.is_retryable());
    assert_eq!(sent, 5);
}

#[tokio::test]
async fn a_proxy_rate_limit_is_rate_limited() {
    let server = crate::common::canned(Router::new().route(
        "/api/12.03/images/{id}",
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(RETRY_AFTER, "0")],
                "slow down",
            )
                .into_response()
        }),
    ))
    .await;
    let catalog = crate::common::catalog_at(&server.base_url(), None);
    let e = catalog
        .get(&ImageId::new("wmi-4yalh576"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(server.request_count(), 5);
}

#[tokio::test]
async fn an_unknown_route_is_sinatras_html_404() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    // A base the server does not serve (a typo in the endpoint).
    let catalog =
        crate::common::catalog_at(&format!("{}/api/12.04", emu.server().base_url()), None);
    let e = catalog
        .get(&ImageId::new("wmi-centos1d64"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("<h1>Not Found</h1>"), "{e}");
    let listing: Result<Vec<_>, _> =
        futures::TryStreamExt::try_collect(catalog.list(ListQuery::new())).await;
    let e = listing.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        e.to_string().contains("without a dcmgr error document"),
        "{e}"
    );
}

#[tokio::test]
async fn emulator_errors_map_like_the_real_server() {
    // Legacy 11.12 required the header: 400 "103".
    let legacy = crate::common::emulator(DcmgrEmulatorConfig::legacy()).await;
    let e = crate::common::catalog(&legacy, None)
        .get(&ImageId::new("wmi-centos1d64"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");

    // Legacy: another account's private image is 403 "105".
    let other = legacy.listing(Some("a-tenant0b"), true);
    let private = other
        .iter()
        .find(|id| legacy.image(id).is_some_and(|i| !i.is_public))
        .expect("a private image of another account");
    let e = crate::common::catalog(&legacy, Some("a-shpoolxx"))
        .get(&ImageId::new(private.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("105"), "{e}");

    // A disabled account: 403 "104".
    let mut config = DcmgrEmulatorConfig::v1203();
    config.disabled_accounts = vec!["a-shpoolxx".into()];
    let emu = imagecat_emulators::dcmgr::DcmgrEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let e = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("104"), "{e}");

    // 12.03: another account's image is 404 "100", even when public.
    let v1203 = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let public_other = v1203
        .listing(Some("a-shpoolxx"), false)
        .into_iter()
        .find(|id| {
            v1203
                .image(id)
                .is_some_and(|i| i.account_id != "a-shpoolxx")
        })
        .expect("a public image of another account");
    let catalog = crate::common::catalog(&v1203, Some("a-shpoolxx"));
    let e = catalog
        .get(&ImageId::new(public_other.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("[100]"), "{e}");
    // …and the same image is shown without the header (admin view).
    assert!(
        crate::common::catalog(&v1203, None)
            .get(&ImageId::new(public_other))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn emulator_refuses_bad_parameters_like_the_real_server() {
    // The adapter never sends these; a raw client checks the emulator.
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let client = imagecat_http::reqwest::Client::new();
    let base = emu.endpoint();
    for (query, message) in [
        ("limit=-5", "limit"),
        ("limit=abc", "limit"),
        ("limit=", "limit"),
        ("limit=1.5", "limit"),
        ("start=-1", "start"),
        ("start=x", "start"),
        ("state=creating", "state"),
        ("state=pending", "state"),
        ("is_public=yes", "is_public"),
    ] {
        let r = client
            .get(format!("{base}/images?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{query}");
        let v: serde_json::Value = json_of(r).await;
        assert_eq!(v["code"], "143", "{query}");
        assert_eq!(v["message"], message, "{query}");
        assert_eq!(v["error"], "Dcmgr::Endpoints::Errors::InvalidParameter");
    }
    let r = client
        .get(format!("{base}/images/4yalh576"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: serde_json::Value = json_of(r).await;
    assert_eq!(v["message"], "Invalid UUID Syntax: 4yalh576");
    let r = client
        .get(format!("{base}/images"))
        .header("X-VDC-Account-UUID", "shpoolxx")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: serde_json::Value = json_of(r).await;
    assert_eq!(v["code"], "103");
    assert_eq!(
        v["message"],
        "Invalid uuid or unsupported uuid: shpoolxx in Dcmgr::Models::Account"
    );
    // limit omitted or 0 -> 250; past the end -> empty results, start echoed.
    for query in ["", "limit=0"] {
        let v = client
            .get(format!("{base}/images?{query}"))
            .send()
            .await
            .unwrap();
        let v = json_of(v).await;
        assert_eq!(v[0]["limit"], 250);
        assert_eq!(v[0]["total"], 60);
        assert_eq!(
            v[0]["results"].as_array().unwrap().len(),
            60,
            "no state: deleted listed too"
        );
    }
    let v = client
        .get(format!("{base}/images?start=1000"))
        .send()
        .await
        .unwrap();
    let v = json_of(v).await;
    assert_eq!(
        v,
        serde_json::json!([{"total": 60, "start": 1000, "limit": 250, "results": []}])
    );
    let r = client.get(format!("{base}/imagez")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.text().await.unwrap(), "<h1>Not Found</h1>");
}

async fn json_of(r: imagecat_http::reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

//! Errors: every `resultCode` of an HTTP 200 failure, non-2xx answers with
//! and without an envelope, bodies that are not what they should be, and
//! hostile ids and appkeys refused or contained before any request.

use crate::common::{Auth, builder, hostile_ids, setup, start_default};
use imagecat_core::raw::PageSource as _;
use imagecat_core::raw::PageToken;
use imagecat_core::{Error, ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_emulators::toast::ToastEmulator;
use imagecat_toast::ToastCatalog;

fn failure(code: &str, message: &str) -> String {
    format!(
        r#"{{"header":{{"isSuccessful":false,"resultCode":{code},"resultMessage":"{message}"}}}}"#
    )
}

async fn list_error(emu: &ToastEmulator, catalog: &ToastCatalog, status: u16, body: &str) -> Error {
    emu.push_response(status, body);
    catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .expect_err("the canned answer is a failure")
}

#[tokio::test]
async fn every_result_code_maps_to_its_kind() {
    let (emu, catalog) = setup().await;
    let cases = [
        (
            "-3",
            "Permission denied : Invalid token",
            ErrorKind::Unauthenticated,
        ),
        ("-4", "Invalid parameters : limit", ErrorKind::InvalidInput),
        ("-5", "Nonexistent", ErrorKind::NotFound),
        (
            "30404",
            "Image with identifier x not found",
            ErrorKind::NotFound,
        ),
        ("\"30404\"", "as a string", ErrorKind::NotFound),
        ("30401", "Unauthorized", ErrorKind::Unauthenticated),
        ("\"-3\"", "as a string", ErrorKind::Unauthenticated),
        ("30403", "Image is protected", ErrorKind::PermissionDenied),
        ("30429", "Too many requests", ErrorKind::RateLimited),
        ("-1", "FAIL", ErrorKind::Api),
        ("-2", "UNKNOWN EXCEPTION", ErrorKind::Api),
        ("-6", "Failed to query internal db", ErrorKind::Api),
        ("-7", "Not supported", ErrorKind::Api),
        ("-8", "JSON parsing error", ErrorKind::Api),
        ("30400", "Invalid marker", ErrorKind::Api),
        ("30500", "Internal Server Error", ErrorKind::Api),
        ("\"E-DEPLOY\"", "a word", ErrorKind::Api),
    ];
    for (code, message, kind) in cases {
        let e = list_error(&emu, &catalog, 200, &failure(code, message)).await;
        assert_eq!(e.kind(), kind, "{code}: {e}");
        let shown = e.to_string();
        assert!(shown.starts_with("toast: "), "{shown}");
        assert!(shown.contains(code.trim_matches('"')), "{shown}");
        assert!(shown.contains(message), "{shown}");
        if kind == ErrorKind::Api {
            assert_eq!(e.status(), Some(200));
            assert_eq!(e.code(), Some(code.trim_matches('"')));
            assert!(!e.is_retryable(), "{e}");
        }
    }
    // One request per case: nothing was retried, not even -3 with a static token.
    assert_eq!(emu.image_request_count(), cases.len());
}

#[tokio::test]
async fn is_successful_false_is_a_failure_whatever_else_the_body_says() {
    let (emu, catalog) = setup().await;
    for body in [
        r#"{"header":{"isSuccessful":false,"resultCode":0,"resultMessage":"SUCCESS"},"images":[]}"#,
        r#"{"header":{"isSuccessful":"false","resultCode":0},"images":[]}"#,
        r#"{"header":{"isSuccessful":false},"images":[]}"#,
        r#"{"header":{"isSuccessful":false,"resultCode":-2,"resultMessage":null},"images":"x"}"#,
    ] {
        let e = list_error(&emu, &catalog, 200, body).await;
        assert_eq!(e.kind(), ErrorKind::Api, "{body}: {e}");
    }
}

#[tokio::test]
async fn success_is_judged_by_is_successful_then_by_result_code() {
    let (emu, catalog) = setup().await;
    for body in [
        r#"{"header":{"isSuccessful":"true","resultCode":"0","resultMessage":"SUCCESS"},"images":[]}"#,
        r#"{"header":{"resultCode":0},"images":[]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":1},"images":[]}"#,
    ] {
        emu.push_response(200, body);
        let page = catalog
            .source()
            .page(&ListQuery::new(), None)
            .await
            .unwrap();
        assert!(page.items.is_empty() && page.next.is_none(), "{body}");
    }
}

#[tokio::test]
async fn non_2xx_maps_by_status_with_the_envelope_code_and_message() {
    let (emu, catalog) = setup().await;
    let cases = [
        (400, failure("-4", "Invalid parameters : limit"), ErrorKind::InvalidInput, Some("-4")),
        (401, failure("-3", "Permission denied"), ErrorKind::Unauthenticated, Some("-3")),
        (403, failure("30403", "Forbidden"), ErrorKind::PermissionDenied, Some("30403")),
        (404, failure("30404", "not found"), ErrorKind::NotFound, Some("30404")),
        (429, failure("30429", "slow down"), ErrorKind::RateLimited, Some("30429")),
        (500, failure("-2", "UNKNOWN EXCEPTION"), ErrorKind::Api, Some("-2")),
        // Keystone's and webob's error bodies.
        (
            401,
            r#"{"error":{"message":"The request you have made requires authentication.","code":401,"title":"Unauthorized"}}"#.to_owned(),
            ErrorKind::Unauthenticated,
            Some("401"),
        ),
        (
            403,
            r#"{"message":"Image 1c868787 is protected and cannot be deleted.<br /><br />\n\n\n","code":"403 Forbidden","title":"Forbidden"}"#.to_owned(),
            ErrorKind::PermissionDenied,
            Some("403 Forbidden"),
        ),
    ];
    for (status, body, kind, code) in cases {
        let e = list_error(&emu, &catalog, status, &body).await;
        assert_eq!(e.kind(), kind, "{status} {body}: {e}");
        // TOAST's own not-found document proves absence.
        assert_eq!(e.proves_absence(), kind == ErrorKind::NotFound, "{e:?}");
        if let Some(code) = code {
            assert!(e.to_string().contains(&format!("[{code}]")), "{e}");
        }
    }
    let e = list_error(&emu, &catalog, 503, &failure("-2", "maintenance")).await;
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn non_2xx_without_an_envelope() {
    let (emu, catalog) = setup().await;
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    emu.push_raw_response(502, "text/html", html);
    let e = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e:?}");
    assert_eq!(e.status(), Some(502));
    assert_eq!(e.content_type(), Some("text/html"));
    assert_eq!(e.body(), html);
    assert!(e.is_retryable());
    for (status, kind, retryable) in [
        (500, ErrorKind::InvalidResponse, true),
        (503, ErrorKind::InvalidResponse, true),
        (404, ErrorKind::NotFound, false),
        (400, ErrorKind::InvalidResponse, false),
        (401, ErrorKind::Unauthenticated, false),
        (403, ErrorKind::PermissionDenied, false),
        (429, ErrorKind::RateLimited, true),
    ] {
        emu.push_raw_response(status, "text/plain", "nope");
        let e = catalog
            .source()
            .page(&ListQuery::new(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        // Without the envelope, a 404 proves nothing.
        assert!(!e.proves_absence(), "{status}: {e:?}");
        assert_eq!(e.is_retryable(), retryable, "{status}: {e}");
    }
}

#[tokio::test]
async fn retryable_failures_are_retried_for_reads() {
    let emu = start_default().await;
    let catalog = builder(&emu, Auth::Token)
        .http_options(imagecat_http::HttpOptions::default().retry(
            imagecat_http::RetryPolicy::default().backoff(
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(2),
            ),
        ))
        .build()
        .unwrap();
    emu.push_raw_response(503, "text/plain", "");
    emu.push_response(200, failure("30429", "slow down"));
    let page = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 50);
    assert_eq!(emu.image_request_count(), 3);
}

#[tokio::test]
async fn bodies_that_are_not_the_envelope_are_invalid_responses_with_a_snippet() {
    let (emu, catalog) = setup().await;
    let long = format!("{{\"header\":{}", "x".repeat(10_000));
    let cases = [
        "not json at all",
        "",
        &long,
        r#"{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"}}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":null}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":{"id":"x"}}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"name":"no id"}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a","minDisk":"lots"}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a","size":-1}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a","createdAt":"yesterday"}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a","isPublic":"maybe"}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a","properties":[1]}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[7]}"#,
        r#"{"images":[]}"#,
        r#"{"header":{},"images":[]}"#,
        r#"{"unexpected":{"shape":[1,2,3]}}"#,
        r#"[{"header":{"isSuccessful":true}}]"#,
    ];
    for body in cases {
        let e = list_error(&emu, &catalog, 200, body).await;
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{body}: {e:?}");
        let snippet = e.body();
        assert_eq!(e.status(), Some(200), "{body}");
        assert!(snippet.len() <= 2048 + '…'.len_utf8(), "{body}");
        assert!(
            body.is_empty() || !snippet.is_empty(),
            "{body}: no snippet in {e}"
        );
    }
    // A bad image names its position and carries its own text.
    let e = list_error(
        &emu,
        &catalog,
        200,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"images":[{"id":"a"},{"id":"b","minRam":"many"}]}"#,
    )
    .await;
    assert!(e.to_string().contains("image #1"), "{e}");
    assert!(e.to_string().contains(r#""minRam":"many""#), "{e}");
}

#[tokio::test]
async fn delete_results_map_through_the_same_table() {
    let (emu, catalog) = setup().await;
    let id = ImageId::new(emu.deletable_ids(1).remove(0));
    for (status, body, kind) in [
        (200, failure("30404", "gone"), ErrorKind::NotFound),
        (200, failure("-5", "Nonexistent"), ErrorKind::NotFound),
        (
            200,
            failure("30403", "Image is protected"),
            ErrorKind::PermissionDenied,
        ),
        (
            200,
            failure("-4", "Invalid parameters : id"),
            ErrorKind::InvalidInput,
        ),
        (200, failure("-2", "UNKNOWN EXCEPTION"), ErrorKind::Api),
        (200, "{}".to_owned(), ErrorKind::InvalidResponse),
        (200, "<html/>".to_owned(), ErrorKind::InvalidResponse),
        (500, "<html/>".to_owned(), ErrorKind::InvalidResponse),
    ] {
        emu.push_response(status, body.clone());
        let e = catalog.delete(&id).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{body}: {e}");
    }
    // A delete is never retried once it may have reached the server.
    let retrying = builder(&emu, Auth::Token).build().unwrap();
    let before = emu.image_request_count();
    emu.push_raw_response(503, "text/plain", "");
    let e = retrying.delete(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert_eq!(emu.image_request_count(), before + 1);
}

#[tokio::test]
async fn hostile_ids_are_refused_before_any_request() {
    let (emu, catalog) = setup().await;
    for id in hostile_ids() {
        let e = catalog.get(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "get {id:?}: {e}");
        let e = catalog.delete(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "delete {id:?}: {e}");
    }
    assert_eq!(emu.server().request_count(), 0);
}

#[tokio::test]
async fn a_well_formed_id_is_sent_only_as_the_id_query_value() {
    let (emu, catalog) = setup().await;
    let id = emu.deletable_ids(1).remove(0);
    catalog
        .delete(&ImageId::new(id.to_ascii_uppercase()))
        .await
        .unwrap();
    let requests = emu.server().requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "DELETE");
    assert_eq!(r.path, "/compute/v1.0/appkeys/emulator-appkey/images");
    assert_eq!(r.query.as_deref(), Some(format!("id={id}").as_str()));
    assert_eq!(
        r.header("x-auth-token"),
        Some(imagecat_emulators::toast::TOKEN)
    );
}

#[tokio::test]
async fn a_hostile_appkey_changes_neither_path_nor_query() {
    let emu = start_default().await;
    let hostile = "x/../../y?id=z&marker=1#f %2F";
    for auth in [Auth::Token, Auth::Password] {
        emu.server().clear_requests();
        let catalog = builder(&emu, auth).appkey(hostile).build().unwrap();
        let e = catalog
            .source()
            .page(&ListQuery::new().page_size(3), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        let requests = emu.server().requests();
        assert!(!requests.is_empty());
        for r in &requests {
            let segments: Vec<&str> = r.path.split('/').collect();
            assert_eq!(segments.len(), 6, "{}", r.path);
            assert_eq!(&segments[..4], ["", "compute", "v1.0", "appkeys"]);
            assert_eq!(segments[4], "x%2F..%2F..%2Fy%3Fid=z&marker=1%23f%20%252F");
            assert!(matches!(segments[5], "images" | "tokens"), "{}", r.path);
            if segments[5] == "images" {
                assert_eq!(r.query.as_deref(), Some("limit=3"));
            } else {
                assert_eq!(r.query, None);
            }
        }
    }
    for refused in ["", ".", ".."] {
        let e = builder(&emu, Auth::Token)
            .appkey(refused)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{refused:?}");
    }
}

#[tokio::test]
async fn a_marker_is_sent_only_as_the_marker_query_value() {
    let (emu, catalog) = setup().await;
    let e = catalog
        .source()
        .page(
            &ListQuery::new().page_size(2),
            Some(PageToken::Marker("a&id=b#c".into())),
        )
        .await
        .unwrap_err();
    // The emulator answers an unknown marker as Glance does (400, relayed as
    // 30400): a stale marker, which the engine would resume from.
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("[30400]"), "{e}");
    let requests = emu.server().requests();
    assert_eq!(
        requests[0].query.as_deref(),
        Some("limit=2&marker=a%26id%3Db%23c")
    );
    let e = catalog
        .source()
        .page(&ListQuery::new(), Some(PageToken::Offset(3)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(emu.server().request_count(), 1);
}

#[tokio::test]
async fn a_missing_but_well_formed_id() {
    let (emu, catalog) = setup().await;
    let missing = ImageId::new(emu.missing_id());
    let e = catalog.get(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = catalog.delete(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("[30404]"), "{e}");
}

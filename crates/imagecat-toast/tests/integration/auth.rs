//! Tokens: the static token, the token API, caching, renewal before expiry,
//! re-authentication after a refusal, single flight, and secrets kept out of
//! Debug output.

use imagecat_core::raw::PageSource as _;
use std::time::Duration;

use crate::common::{Auth, builder, catalog, start, start_default};
use imagecat_core::{ErrorKind, ImageCatalog, ListQuery};
use imagecat_emulators::toast::{APPKEY, PASSWORD, TOKEN, ToastEmulator, ToastEmulatorConfig};
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;
use imagecat_toast::ToastCatalog;

async fn list_once(catalog: &ToastCatalog) -> imagecat_core::Result<usize> {
    catalog
        .source()
        .page(&ListQuery::new().page_size(5), None)
        .await
        .map(|p| p.items.len())
}

fn auth_headers(emu: &ToastEmulator) -> Vec<Option<String>> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/images"))
        .map(|r| r.header("x-auth-token").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn static_token_is_sent_as_x_auth_token_and_no_token_is_requested() {
    let emu = start_default().await;
    let catalog = crate::common::catalog(&emu, Auth::Token);
    assert_eq!(list_once(&catalog).await.unwrap(), 5);
    assert_eq!(list_once(&catalog).await.unwrap(), 5);
    assert_eq!(emu.token_request_count(), 0);
    assert_eq!(auth_headers(&emu), vec![Some(TOKEN.to_owned()); 2]);
}

#[tokio::test]
async fn password_is_exchanged_once_and_the_token_cached() {
    let emu = start_default().await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    for _ in 0..3 {
        assert_eq!(list_once(&catalog).await.unwrap(), 5);
    }
    assert_eq!(emu.token_request_count(), 1);
    let issued = emu.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(auth_headers(&emu), vec![Some(issued[0].clone()); 3]);
    let requests = emu.server().requests();
    let token_request = &requests[0];
    assert_eq!(token_request.method, "POST");
    assert_eq!(
        token_request.path,
        "/compute/v1.0/appkeys/emulator-appkey/tokens"
    );
    assert_eq!(token_request.query, None);
    assert_eq!(
        token_request.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(token_request.header("x-auth-token"), None);
    // The issued token never shows in Debug.
    let shown = format!("{catalog:?} {catalog:#?} {:?}", catalog.info());
    assert!(!shown.contains(&issued[0]), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    // The emulator's tokens live 30 s, less than the 60 s margin: each use
    // finds the token due for renewal, and renews it before the server
    // would refuse it (no request is ever refused).
    let emu = start(ToastEmulatorConfig {
        token_ttl: Duration::from_secs(30),
        ..ToastEmulatorConfig::default()
    })
    .await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    for _ in 0..3 {
        list_once(&catalog).await.unwrap();
    }
    assert_eq!(emu.token_request_count(), 3);
    assert_eq!(emu.image_request_count(), 3);
    let headers = auth_headers(&emu);
    assert_ne!(headers[0], headers[1]);
    assert_ne!(headers[1], headers[2]);
}

#[tokio::test]
async fn the_renewal_margin_is_configurable() {
    // 1 h tokens: kept with the default margin, renewed with a 2 h margin.
    let emu = start_default().await;
    let keep = catalog(&emu, Auth::Password);
    list_once(&keep).await.unwrap();
    list_once(&keep).await.unwrap();
    assert_eq!(emu.token_request_count(), 1);

    let emu = start_default().await;
    let renew = builder(&emu, Auth::Password)
        .token_renew_margin(Duration::from_secs(7200))
        .build()
        .unwrap();
    list_once(&renew).await.unwrap();
    list_once(&renew).await.unwrap();
    assert_eq!(emu.token_request_count(), 2);
    assert_eq!(emu.image_request_count(), 2);
}

#[tokio::test]
async fn expires_without_a_zone_is_utc_and_a_past_one_is_renewed() {
    // The canned answers hand out the emulator's static token, which the
    // images API accepts, with different `expires` forms.
    let answer = |expires: &str| {
        format!(
            r#"{{"header":{{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"}},
            "access":{{"token":{{"id":"{TOKEN}",{expires}"issued_at":"2019-01-22T08:41:09.166563"}}}}}}"#
        )
    };
    // Far in the future, no zone, a fraction: cached.
    let emu = start_default().await;
    emu.push_token_response(200, answer(r#""expires":"2999-01-22T09:41:09.123456","#));
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    list_once(&catalog).await.unwrap();
    assert_eq!(emu.token_request_count(), 1);
    // In the past, no zone: renewed at the next use.
    let emu = start_default().await;
    emu.push_token_response(200, answer(r#""expires":"2019-01-22T09:41:09","#));
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    list_once(&catalog).await.unwrap();
    assert_eq!(emu.token_request_count(), 2);
    // Nine hours ahead in +09:00 is now in UTC: within the margin, renewed.
    let emu = start_default().await;
    let kst = (chrono::Utc::now() + chrono::Duration::seconds(10))
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    emu.push_token_response(200, answer(&format!(r#""expires":"{kst}","#)));
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    list_once(&catalog).await.unwrap();
    assert_eq!(emu.token_request_count(), 2);
    // No expires at all: used until refused.
    let emu = start_default().await;
    emu.push_token_response(200, answer(""));
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    list_once(&catalog).await.unwrap();
    assert_eq!(emu.token_request_count(), 1);
}

#[tokio::test]
async fn a_refused_token_is_obtained_again_once() {
    let emu = start_default().await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    emu.expire_tokens();
    assert_eq!(list_once(&catalog).await.unwrap(), 5);
    assert_eq!(emu.token_request_count(), 2);
    // list, refused list, list with the new token
    assert_eq!(emu.image_request_count(), 3);
    let headers = auth_headers(&emu);
    assert_eq!(headers[0], headers[1]);
    assert_ne!(headers[1], headers[2]);
    // And the new token is cached again.
    list_once(&catalog).await.unwrap();
    assert_eq!(emu.token_request_count(), 2);
}

#[tokio::test]
async fn a_delete_refused_for_its_token_is_sent_again_with_a_new_one() {
    let emu = start_default().await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    list_once(&catalog).await.unwrap();
    emu.expire_tokens();
    let id = emu.deletable_ids(1).remove(0);
    let done = catalog.delete(&id.as_str().into()).await.unwrap();
    assert_eq!(done, imagecat_core::Deleted::Deleted);
    assert_eq!(emu.token_request_count(), 2);
    let deletes = emu
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 2);
}

#[tokio::test]
async fn a_second_refusal_is_unauthenticated() {
    // Tokens that are expired when issued: refused every time.
    let emu = start(ToastEmulatorConfig {
        token_ttl: Duration::ZERO,
        ..ToastEmulatorConfig::default()
    })
    .await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    let e = list_once(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.to_string().contains("[-3]"), "{e}");
    assert!(e.to_string().contains("again"), "{e}");
    assert_eq!(emu.token_request_count(), 2);
    assert_eq!(emu.image_request_count(), 2);
}

#[tokio::test]
async fn a_refused_static_token_is_unauthenticated_at_once() {
    let emu = start_default().await;
    let catalog = ToastCatalog::builder()
        .endpoint(emu.endpoint())
        .appkey(APPKEY)
        .token(SecretString::new("stale-token"))
        .build()
        .unwrap();
    let e = list_once(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        e.to_string(),
        "toast: unauthenticated [-3]: Permission denied : Invalid token"
    );
    assert_eq!(emu.image_request_count(), 1);
    assert_eq!(emu.token_request_count(), 0);
    let e = catalog
        .delete(&emu.deletable_ids(1)[0].as_str().into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(emu.image_request_count(), 2);
}

#[tokio::test]
async fn a_static_token_with_a_password_falls_back_to_the_token_api() {
    let emu = start_default().await;
    let catalog = builder(&emu, Auth::Password)
        .token(SecretString::new("stale-token"))
        .build()
        .unwrap();
    assert_eq!(list_once(&catalog).await.unwrap(), 5);
    assert_eq!(emu.token_request_count(), 1);
    assert_eq!(emu.image_request_count(), 2);
    let headers = auth_headers(&emu);
    assert_eq!(headers[0].as_deref(), Some("stale-token"));
    assert_eq!(headers[1], Some(emu.issued_tokens()[0].clone()));
}

#[tokio::test]
async fn a_wrong_password_is_unauthenticated_without_any_image_request() {
    let emu = start_default().await;
    let catalog = ToastCatalog::builder()
        .endpoint(emu.endpoint())
        .appkey(APPKEY)
        .password("demo@example.com", SecretString::new("wrong-password"))
        .build()
        .unwrap();
    let e = list_once(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.to_string().contains("[50401]"), "{e}");
    assert!(e.to_string().contains("token request was refused"), "{e}");
    assert!(!e.to_string().contains("wrong-password"), "{e}");
    assert_eq!(emu.token_request_count(), 1);
    assert_eq!(emu.image_request_count(), 0);
}

#[tokio::test]
async fn a_wrong_appkey_is_unauthenticated() {
    let emu = start_default().await;
    let catalog = ToastCatalog::builder()
        .endpoint(emu.endpoint())
        .appkey("other-appkey")
        .token(SecretString::new(TOKEN))
        .build()
        .unwrap();
    let e = list_once(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.to_string().contains("appkey"), "{e}");
}

#[tokio::test]
async fn a_broken_token_answer_is_invalid_response() {
    let emu = start_default().await;
    let catalog = builder(&emu, Auth::Password)
        .http_options(test_http(1))
        .build()
        .unwrap();
    emu.push_token_response(
        200,
        r#"{"header":{"isSuccessful":true,"resultCode":0},"access":{}}"#,
    );
    let e = list_once(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert_eq!(emu.image_request_count(), 0);
    // The next call tries again (nothing broken was cached).
    assert_eq!(list_once(&catalog).await.unwrap(), 5);
    assert_eq!(emu.token_request_count(), 2);
}

async fn burst(catalog: &ToastCatalog, tasks: usize) {
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let catalog = catalog.clone();
        handles.push(tokio::spawn(async move { list_once(&catalog).await }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap().unwrap(), 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_share_one_token_request() {
    let emu = start_default().await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    burst(&catalog, 32).await;
    assert_eq!(emu.token_request_count(), 1);
    // All refused at once: one renewal for all of them.
    emu.expire_tokens();
    burst(&catalog, 32).await;
    assert_eq!(emu.token_request_count(), 2);
}

// One thread: every task reaches the token source before the shared fetch
// can complete, so "one renewal" does not depend on scheduling (on several
// busy threads a task arriving after the fetch finds the new token already
// stale — it lives 30 s against a 60 s margin — and rightly renews again).
#[tokio::test(flavor = "current_thread")]
async fn many_tasks_share_one_renewal_before_expiry() {
    let emu = start(ToastEmulatorConfig {
        token_ttl: Duration::from_secs(30),
        ..ToastEmulatorConfig::default()
    })
    .await;
    let catalog = crate::common::catalog(&emu, Auth::Password);
    burst(&catalog, 32).await;
    assert_eq!(emu.token_request_count(), 1);
    burst(&catalog, 32).await;
    assert_eq!(emu.token_request_count(), 2);
}

#[tokio::test]
async fn debug_of_builder_and_catalog_holds_no_secret() {
    let emu = start_default().await;
    let builder = builder(&emu, Auth::Password).token(SecretString::new("static-secret-token"));
    let shown = format!("{builder:?} {builder:#?}");
    assert!(!shown.contains("static-secret-token"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    let catalog = builder.build().unwrap();
    let shown = format!("{catalog:?} {catalog:#?} {:?}", catalog.info());
    assert!(!shown.contains("static-secret-token"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains(APPKEY), "{shown}");
}

//! Tokens and passwords never show: not in Debug, not in errors (Display or
//! Debug), not in tracing output at TRACE level, reqwest's and hyper's own
//! included, through a token exchange, a listing, a re-authentication, a
//! delete, refusals and a token answer that cannot be decoded.
//!
//! This binary installs one global capture (tracing at TRACE, and the `log`
//! records reqwest writes), so every test here runs under it.

use crate::common::{Auth, builder, start_default};
use futures::TryStreamExt;
use imagecat_core::raw::PageSource as _;
use imagecat_core::{ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_emulators::toast::ToastEmulator;
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;
use imagecat_testkit::secrets::{Shown, assert_hidden, capture_logs, captured_text};

fn secrets_of(emu: &ToastEmulator) -> Vec<String> {
    let config = emu.config();
    let mut secrets = vec![config.password.clone(), config.token.clone()];
    secrets.extend(emu.issued_tokens());
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_exchange_a_listing_and_a_renewal_leave_no_secret_at_trace_level() {
    capture_logs();
    let emu = start_default().await;
    let mut shown = Shown::default();
    let catalog = builder(&emu, Auth::Password).build().unwrap();
    shown.debug(&catalog);
    let all: Vec<_> = catalog
        .list(ListQuery::new().page_size(7))
        .try_collect()
        .await
        .unwrap();
    assert!(!all.is_empty());
    // A refused token, renewed in the middle of a listing.
    emu.expire_tokens();
    let again: Vec<_> = catalog
        .list(ListQuery::new().page_size(7))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(again.len(), all.len());
    catalog
        .delete(&ImageId::new(emu.deletable_ids(1).remove(0)))
        .await
        .unwrap();
    let e = catalog
        .delete(&ImageId::new(emu.missing_id()))
        .await
        .unwrap_err();
    shown.error(&e);
    let e = catalog
        .delete(&ImageId::new(emu.protected_id().unwrap()))
        .await
        .unwrap_err();
    shown.error(&e);
    shown.debug(&catalog);
    assert_eq!(emu.issued_tokens().len(), 2);

    let logs = captured_text();
    // The capture works, and holds the HTTP stack's own trace output.
    assert!(logs.contains("requesting a token"), "{logs}");
    assert!(logs.contains("TRACE"), "{logs}");
    assert!(logs.contains("hyper_util"), "{logs}");
    assert_hidden(&secrets_of(&emu), &shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_keep_the_password_and_tokens_out_of_errors_and_logs() {
    capture_logs();
    let emu = start_default().await;
    let mut shown = Shown::default();
    let wrong_password = "wrong-SECRET-password-1";
    let wrong = builder(&emu, Auth::Password)
        .password(
            emu.config().username.clone(),
            SecretString::new(wrong_password),
        )
        .http_options(test_http(1))
        .build()
        .unwrap();
    shown.debug(&wrong);
    let e = wrong
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    shown.error(&e);

    let refused_token = "refused-SECRET-token-2";
    let refused = builder(&emu, Auth::Token)
        .token(SecretString::new(refused_token))
        .build()
        .unwrap();
    shown.debug(&refused);
    let e = refused
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    shown.error(&e);

    let mut secrets = secrets_of(&emu);
    secrets.extend([wrong_password.to_owned(), refused_token.to_owned()]);
    assert_hidden(&secrets, &shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_answer_that_cannot_be_decoded_never_shows_its_token() {
    capture_logs();
    let emu = start_default().await;
    let mut shown = Shown::default();
    // A token the server issued, with an expiry of a type nobody expected:
    // the answer is refused, and its body (holding the token) never shown.
    let leaked = "0123leaky-SECRET-token-3";
    let odd = format!(
        r#"{{"header":{{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"}},"access":{{"token":{{"id":"{leaked}","expires":1700000000}}}}}}"#
    );
    let numeric = r#"{"header":{"isSuccessful":true,"resultCode":0},"access":{"token":{"id":987654321012345}}}"#;
    for body in [odd.as_str(), numeric] {
        emu.push_token_response(200, body);
        let catalog = builder(&emu, Auth::Password)
            .http_options(test_http(1))
            .build()
            .unwrap();
        let e = catalog
            .source()
            .page(&ListQuery::new(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        shown.error(&e);
    }
    // With retries, the same answer is logged as a retried failure, then
    // the next answer is a good token.
    emu.push_token_response(200, odd.clone());
    let catalog = builder(&emu, Auth::Password).build().unwrap();
    assert!(catalog.source().page(&ListQuery::new(), None).await.is_ok());
    assert!(captured_text().contains("retrying"));

    let mut secrets = secrets_of(&emu);
    secrets.extend([leaked.to_owned(), "987654321012345".to_owned()]);
    assert_hidden(&secrets, &shown);
}

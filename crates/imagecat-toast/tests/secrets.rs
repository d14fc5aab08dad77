//! Tokens and passwords never show: not in Debug, not in errors (Display or
//! Debug), not in tracing output at TRACE level, reqwest's and hyper's own
//! included, through a token exchange, a listing, a re-authentication, a
//! delete, refusals and a token answer that cannot be decoded.
//!
//! This binary installs one global capture (tracing at TRACE, and the `log`
//! records reqwest writes), so every test here runs under it.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Auth, builder, no_retries, start_default};
use futures::TryStreamExt;
use imagecat_core::{Error, ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_http::SecretString;
use imagecat_testkit::toast::ToastEmulator;

/// Everything logged by this test binary.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_target(true)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .try_init()
            .expect("the capture is the only subscriber of this binary");
        log::set_logger(Box::leak(Box::new(LogCapture(Arc::clone(&buffer)))))
            .expect("the capture is the only logger of this binary");
        log::set_max_level(log::LevelFilter::Trace);
        buffer
    })
}

fn captured_text() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap()).into_owned()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The `log` records (reqwest logs through `log`, not `tracing`).
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!(
            "LOG {} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        self.0.lock().unwrap().extend_from_slice(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Every error's Display and Debug, for the final check.
#[derive(Default)]
struct Shown(Vec<String>);

impl Shown {
    fn error(&mut self, e: &Error) {
        self.0.push(format!("{e} {e:?} {e:#?}"));
    }

    fn debug(&mut self, value: &impl std::fmt::Debug) {
        self.0.push(format!("{value:?} {value:#?}"));
    }
}

/// Asserts that no secret is in what was shown or logged.
fn assert_hidden(secrets: &[String], shown: &Shown) {
    let logs = captured_text();
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret.as_str()), "{secret} in the logs");
        for text in &shown.0 {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    }
}

fn secrets_of(emu: &ToastEmulator) -> Vec<String> {
    let config = emu.config();
    let mut secrets = vec![config.password.clone(), config.token.clone()];
    secrets.extend(emu.issued_tokens());
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_exchange_a_listing_and_a_renewal_leave_no_secret_at_trace_level() {
    captured();
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
    captured();
    let emu = start_default().await;
    let mut shown = Shown::default();
    let wrong_password = "wrong-SECRET-password-1";
    let wrong = builder(&emu, Auth::Password)
        .password(
            emu.config().username.clone(),
            SecretString::new(wrong_password),
        )
        .http_options(no_retries())
        .build()
        .unwrap();
    shown.debug(&wrong);
    let e = wrong.list_page(&ListQuery::new(), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    shown.error(&e);

    let refused_token = "refused-SECRET-token-2";
    let refused = builder(&emu, Auth::Token)
        .token(SecretString::new(refused_token))
        .build()
        .unwrap();
    shown.debug(&refused);
    let e = refused
        .list_page(&ListQuery::new(), None)
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
    captured();
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
            .http_options(no_retries())
            .build()
            .unwrap();
        let e = catalog
            .list_page(&ListQuery::new(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        shown.error(&e);
    }
    // With retries, the same answer is logged as a retried failure, then
    // the next answer is a good token.
    emu.push_token_response(200, odd.clone());
    let catalog = builder(&emu, Auth::Password).build().unwrap();
    assert!(catalog.list_page(&ListQuery::new(), None).await.is_ok());
    assert!(captured_text().contains("retrying"));

    let mut secrets = secrets_of(&emu);
    secrets.extend([leaked.to_owned(), "987654321012345".to_owned()]);
    assert_hidden(&secrets, &shown);
}

//! Keystone passwords and tokens never show: not in Debug, not in errors,
//! not in tracing output at TRACE level (reqwest's and hyper's own
//! included), through Keystone v2.0 and v3 token exchanges, listings, a
//! renewal after a 401, and refusals.

use imagecat_core::raw::PageSource as _;
use std::collections::BTreeSet;

use futures::TryStreamExt;
use imagecat_core::{ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig, KeystoneUser};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::{GlanceBuilder, GlanceCatalog};
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;
use imagecat_testkit::secrets::{Shown, assert_hidden, capture_logs, captured_text};

const PASSWORD: &str = "keystone-SECRET-password";

fn user() -> KeystoneUser {
    KeystoneUser {
        password: PASSWORD.into(),
        ..KeystoneUser::default()
    }
}

fn builders(emu: &GlanceEmulator, password: &str) -> [GlanceBuilder; 2] {
    let u = user();
    [
        GlanceCatalog::builder().keystone_v2(
            emu.identity_v2_url(),
            u.project_id.clone(),
            u.username.clone(),
            SecretString::new(password),
        ),
        GlanceCatalog::builder().keystone_v3(
            emu.identity_v3_url(),
            u.username,
            u.user_domain,
            u.project_name,
            u.project_domain,
            SecretString::new(password),
        ),
    ]
    .map(|b| b.region("RegionOne").http_options(test_http(1)))
}

/// The tokens the client sent: every `X-Auth-Token` the emulator received.
fn tokens_sent(emu: &GlanceEmulator) -> BTreeSet<String> {
    emu.server()
        .requests()
        .iter()
        .filter_map(|r| r.header("x-auth-token").map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_exchanges_listings_and_renewals_leave_no_secret_at_trace_level() {
    capture_logs();
    let emu = GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(40).keystone(user()),
        ServeOptions::default(),
    )
    .await
    .unwrap();
    let mut shown = Shown::default();
    for builder in builders(&emu, PASSWORD) {
        shown.debug(&builder);
        let catalog = builder.build().unwrap();
        shown.debug(&catalog);
        let all: Vec<_> = catalog
            .list(ListQuery::new().page_size(9))
            .try_collect()
            .await
            .unwrap();
        assert!(!all.is_empty());
        // The server forgets its tokens: the next call is refused once and renewed.
        emu.expire_tokens();
        let one = catalog.get(&all[0].id).await.unwrap();
        assert_eq!(one.id, all[0].id);
        let e = catalog
            .get(&ImageId::new(emu.missing_id()))
            .await
            .unwrap_err();
        shown.error(&e);
        shown.debug(&catalog);
    }
    for builder in builders(&emu, "wrong-SECRET-password") {
        let e = builder
            .build()
            .unwrap()
            .source()
            .page(&ListQuery::new(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        shown.error(&e);
    }
    let tokens = tokens_sent(&emu);
    assert!(
        tokens.len() >= 4,
        "two tokens per Keystone version: {tokens:?}"
    );
    let logs = captured_text();
    assert!(
        logs.contains("TRACE") && logs.contains("hyper_util"),
        "the capture works"
    );
    let mut secrets: Vec<String> = tokens.into_iter().collect();
    secrets.extend([PASSWORD.to_owned(), "wrong-SECRET-password".to_owned()]);
    assert_hidden(&secrets, &shown);
}

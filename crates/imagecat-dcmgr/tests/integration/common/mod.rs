//! Helpers shared by the adapter's integration tests: emulators, catalogs
//! over them, and the conformance fixture.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use imagecat_core::{ImageCatalog, ImageId};
use imagecat_dcmgr::DcmgrCatalog;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig, Layout};
use imagecat_emulators::server::{EmulatorServer, ServeOptions};
use imagecat_http::HttpOptions;
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete};
use imagecat_testkit::listing::test_http;

/// The hostile ids of the issue, plus a few more; all refused before sending.
pub(crate) const HOSTILE_IDS: [&str; 9] = [
    "wmi-../../instances",
    "wmi-a?x=1",
    "wmi-a/b",
    "WMI-abc",
    "4yalh576",
    "",
    "wmi-",
    "wmi-a#frag",
    "wmi-a%2Fb",
];

/// Quick retries, so tests with faults stay fast.
pub(crate) fn fast_http() -> HttpOptions {
    test_http(5).request_timeout(Duration::from_secs(20))
}

pub(crate) async fn emulator(config: DcmgrEmulatorConfig) -> DcmgrEmulator {
    DcmgrEmulator::start(config, ServeOptions::default())
        .await
        .expect("emulator starts")
}

pub(crate) fn catalog_at(endpoint: &str, account: Option<&str>) -> DcmgrCatalog {
    let mut builder = DcmgrCatalog::builder()
        .endpoint(endpoint)
        .http_options(fast_http());
    if let Some(account) = account {
        builder = builder.account(account);
    }
    builder.build().expect("catalog builds")
}

pub(crate) fn catalog(emu: &DcmgrEmulator, account: Option<&str>) -> DcmgrCatalog {
    catalog_at(&emu.endpoint(), account)
}

/// Serves a hand-made router (canned documents, errors) on loopback.
pub(crate) async fn canned(router: Router) -> EmulatorServer {
    EmulatorServer::start(router).await.expect("server starts")
}

/// Everything a conformance run needs, kept alive together.
pub(crate) struct Conformance {
    pub(crate) fixture: Fixture,
    pub(crate) emulator: DcmgrEmulator,
    /// The server of the fixture's lying catalog.
    pub(crate) lying: DcmgrEmulator,
}

fn config_for(layout: Layout, with_account: bool, seed: u64) -> DcmgrEmulatorConfig {
    let base = match layout {
        Layout::V1203 => DcmgrEmulatorConfig::v1203(),
        Layout::Legacy => DcmgrEmulatorConfig::legacy().require_account(with_account),
    };
    base.seed(seed)
}

/// The fixture for one layout, with or without the account header.
///
/// With the header, a real 12.03 server shows only the account's own images
/// (another account's public image is listed but 404 on show), while the
/// suite's `get` case fetches the first, middle and last listed images; the
/// seed is chosen (deterministically) so that those three are own images,
/// and so that the first four images the server lists are not deleted.
pub(crate) async fn conformance(layout: Layout, with_account: bool) -> Conformance {
    for seed in 0..500u64 {
        let emu = emulator(config_for(layout, with_account, seed)).await;
        let account = with_account.then(|| emu.own_account().to_owned());
        let all = emu.listing(account.as_deref(), true);
        // The legacy server cannot filter deleted images out, so a deleted
        // image among the first two pages of two would cost the suite's
        // `limit` case (which counts requests) an extra page.
        let top_alive = all
            .iter()
            .take(4)
            .all(|id| emu.image(id).is_some_and(|i| i.state != "deleted"));
        if !top_alive {
            continue;
        }
        if let Some(me) = &account {
            let own = |id: &String| emu.image(id).is_some_and(|i| &i.account_id == me);
            let picks = [&all[0], &all[all.len() / 2], &all[all.len() - 1]];
            if !picks.iter().all(|id| own(id)) {
                continue;
            }
        }
        // The server writes only its own states (and the column default
        // `init`); a word its constants lack stands for a hand-edited row.
        let odd = emu.deletable_ids(account.as_deref(), 3).pop();
        if let Some(odd) = &odd {
            assert!(emu.set_state(odd, "frozen"));
        }
        let expected: Vec<ImageId> = emu
            .default_listing(account.as_deref())
            .into_iter()
            .map(ImageId::new)
            .collect();
        assert!(
            expected.len() >= 20,
            "only {} images listed",
            expected.len()
        );
        let deletable: Vec<ImageId> = emu
            .deletable_ids(account.as_deref(), 2)
            .into_iter()
            .map(ImageId::new)
            .collect();
        let lying = emulator(config_for(layout, with_account, seed).ignore_start(true)).await;
        let catalog: Arc<dyn ImageCatalog> = Arc::new(catalog(&emu, account.as_deref()));
        let lying_catalog: Arc<dyn ImageCatalog> =
            Arc::new(catalog_at(&lying.endpoint(), account.as_deref()));
        let fixture = Fixture {
            catalog,
            requests: Arc::new(emu.server().request_counter()),
            expected,
            deletable,
            missing: ImageId::new(emu.missing_id()),
            invalid: HOSTILE_IDS.iter().map(|id| ImageId::new(*id)).collect(),
            unknown_status: odd.map(|id| (ImageId::new(id), "frozen".to_owned())),
            after_delete: AfterDelete::ShownAsDeleted,
            second_delete: SecondDelete::AlreadyDeleted,
            lying: Some(lying_catalog),
            secrets: Vec::new(),
        };
        return Conformance {
            fixture,
            emulator: emu,
            lying,
        };
    }
    panic!("no seed gives own images at the first, middle and last place");
}

//! The testkit's reliability and hostile-server scenarios against the
//! DCMGR emulator, in both layouts, with pages read ahead.

use std::sync::Arc;

use imagecat_core::{ImageCatalog, PagingOptions};
use imagecat_dcmgr::DcmgrCatalog;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig, Layout};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::HttpOptions;
use imagecat_testkit::scenarios::{Outcome, Rig, Skip};

/// Offset paging: no id from a page ever goes into a request.
const OFFSET_PAGING: Skip = Skip("offset paging sends no id from a page");

/// The account sent: the legacy server requires one (and then lists that
/// account's images only, about half); 12.03 is listed as the administrator.
fn account(layout: Layout) -> Option<&'static str> {
    (layout == Layout::Legacy).then_some("a-shpoolxx")
}

/// The DCMGR emulator in one layout; `SEED` with `IMAGES` draws every fault kind.
struct Dcmgr<const LEGACY: bool, const IMAGES: usize, const SEED: u64>;

impl<const LEGACY: bool, const IMAGES: usize, const SEED: u64> Rig for Dcmgr<LEGACY, IMAGES, SEED> {
    type Emu = DcmgrEmulator;

    const EVERY_KIND: (usize, u64) = (IMAGES, SEED);

    async fn start(images: usize, options: ServeOptions) -> DcmgrEmulator {
        let config = if LEGACY {
            DcmgrEmulatorConfig::legacy()
        } else {
            DcmgrEmulatorConfig::v1203()
        };
        DcmgrEmulator::start(config.images(images), options)
            .await
            .expect("the emulator starts")
    }

    fn catalog(emu: &DcmgrEmulator, http: HttpOptions) -> Arc<dyn ImageCatalog> {
        let mut builder = DcmgrCatalog::builder()
            .endpoint(emu.endpoint())
            .http_options(http)
            .paging_options(PagingOptions::default().read_ahead(8));
        if let Some(account) = account(emu.config().layout) {
            builder = builder.account(account);
        }
        Arc::new(builder.build().expect("the catalog builds"))
    }

    fn listed_ids(emu: &DcmgrEmulator) -> Vec<String> {
        emu.listing(account(emu.config().layout), true)
    }

    fn push_page(_: &DcmgrEmulator, _: &[&str]) -> Outcome {
        Err(OFFSET_PAGING)
    }

    fn marker_key() -> Result<&'static str, Skip> {
        Err(OFFSET_PAGING)
    }
}

mod v1203 {
    imagecat_testkit::scenario_tests!(super::Dcmgr<false, 170, 1>);
}

mod legacy {
    imagecat_testkit::scenario_tests!(super::Dcmgr<true, 330, 11>);
}

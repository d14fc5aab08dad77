//! The conformance suite against the DCMGR emulator: both layouts, with
//! and without an account; one test per case and mode.

use imagecat_emulators::dcmgr::{DcmgrEmulator, Layout};
use imagecat_testkit::conformance::Fixture;

async fn fixture_for(layout: Layout, with_account: bool) -> ([DcmgrEmulator; 2], Fixture) {
    let c = crate::common::conformance(layout, with_account).await;
    ([c.emulator, c.lying], c.fixture)
}

mod v1203_with_account {
    use super::*;
    imagecat_testkit::conformance_tests!(listing, fixture_for(Layout::V1203, true).await);
}

mod v1203_without_account {
    use super::*;
    imagecat_testkit::conformance_tests!(listing, fixture_for(Layout::V1203, false).await);
}

mod legacy_with_account {
    use super::*;
    imagecat_testkit::conformance_tests!(listing, fixture_for(Layout::Legacy, true).await);
}

mod legacy_without_account {
    use super::*;
    imagecat_testkit::conformance_tests!(listing, fixture_for(Layout::Legacy, false).await);
}

//! The conformance suite against the adapter and the emulator, in both
//! marker modes, with a static token and with a username and API password:
//! one test per case and mode.

use crate::common::{Auth, fixture};
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig};
use imagecat_testkit::conformance::Fixture;

async fn fixture_for(
    marker: MarkerMode,
    auth: Auth,
    quoted_scalars: bool,
) -> (Vec<ToastEmulator>, Fixture) {
    let config = ToastEmulatorConfig {
        marker,
        quoted_scalars,
        ..ToastEmulatorConfig::default()
    };
    fixture(config, auth).await
}

mod exclusive_marker_static_token {
    use super::*;
    imagecat_testkit::conformance_tests!(
        listing,
        fixture_for(MarkerMode::Exclusive, Auth::Token, false).await
    );
}

mod exclusive_marker_password {
    use super::*;
    imagecat_testkit::conformance_tests!(
        listing,
        fixture_for(MarkerMode::Exclusive, Auth::Password, false).await
    );
}

mod inclusive_marker_static_token {
    use super::*;
    imagecat_testkit::conformance_tests!(
        listing,
        fixture_for(MarkerMode::Inclusive, Auth::Token, false).await
    );
}

mod inclusive_marker_password {
    use super::*;
    imagecat_testkit::conformance_tests!(
        listing,
        fixture_for(MarkerMode::Inclusive, Auth::Password, false).await
    );
}

mod quoted_scalars_as_the_docs_template_writes_them {
    use super::*;
    imagecat_testkit::conformance_tests!(
        listing,
        fixture_for(MarkerMode::Inclusive, Auth::Password, true).await
    );
}

//! The conformance suite against the adapter and the emulator, in both
//! marker modes, with a static token and with a username and API password.

use crate::common::{Auth, fixture};
use imagecat_emulators::toast::{MarkerMode, ToastEmulatorConfig};
use imagecat_testkit::conformance::run_all;

async fn run(marker: MarkerMode, auth: Auth, quoted_scalars: bool) {
    let config = ToastEmulatorConfig {
        marker,
        quoted_scalars,
        ..ToastEmulatorConfig::default()
    };
    let (_emulators, fixture) = fixture(config, auth).await;
    let report = run_all(&fixture).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test]
async fn exclusive_marker_static_token() {
    run(MarkerMode::Exclusive, Auth::Token, false).await;
}

#[tokio::test]
async fn exclusive_marker_password() {
    run(MarkerMode::Exclusive, Auth::Password, false).await;
}

#[tokio::test]
async fn inclusive_marker_static_token() {
    run(MarkerMode::Inclusive, Auth::Token, false).await;
}

#[tokio::test]
async fn inclusive_marker_password() {
    run(MarkerMode::Inclusive, Auth::Password, false).await;
}

#[tokio::test]
async fn quoted_scalars_as_the_docs_template_writes_them() {
    run(MarkerMode::Inclusive, Auth::Password, true).await;
}

//! The conformance suite against the DCMGR emulator: both layouts, with
//! and without an account.

use imagecat_emulators::dcmgr::Layout;
use imagecat_testkit::conformance::run_all;

async fn run(layout: Layout, with_account: bool) {
    let c = crate::common::conformance(layout, with_account).await;
    let report = run_all(&c.fixture).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test]
async fn v1203_with_account() {
    run(Layout::V1203, true).await;
}

#[tokio::test]
async fn v1203_without_account() {
    run(Layout::V1203, false).await;
}

#[tokio::test]
async fn legacy_with_account() {
    run(Layout::Legacy, true).await;
}

#[tokio::test]
async fn legacy_without_account() {
    run(Layout::Legacy, false).await;
}

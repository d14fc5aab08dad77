//! The conformance suite against the reference backend, in every paging and
//! delete mode.

use imagecat_testkit::conformance::run_all;
use imagecat_testkit::memory_fixture;

#[tokio::test]
async fn memory_marker_paging_hard_delete() {
    run_all(&memory_fixture(false, false)).await.assert_passed();
}

#[tokio::test]
async fn memory_marker_paging_soft_delete() {
    run_all(&memory_fixture(false, true)).await.assert_passed();
}

#[tokio::test]
async fn memory_offset_paging_with_read_ahead() {
    let report = run_all(&memory_fixture(true, true)).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

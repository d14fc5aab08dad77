//! The conformance suite against the reference backend, in every paging and
//! delete mode.

use imagecat_core::UsageScope;
use imagecat_testkit::conformance::run_all;
use imagecat_testkit::conformance::usage::run_usage;
use imagecat_testkit::{memory_fixture, memory_usage_fixture};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_all_tenants() {
    let report = run_usage(&memory_usage_fixture(UsageScope::AllTenants)).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_own_tenant() {
    let report = run_usage(&memory_usage_fixture(UsageScope::OwnTenant)).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test]
async fn memory_prune_cases() {
    use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;
    for (offset, soft) in [(false, false), (true, true)] {
        prune_apply_deletes_exactly_the_plan(&memory_fixture(offset, soft))
            .await
            .unwrap();
    }
}

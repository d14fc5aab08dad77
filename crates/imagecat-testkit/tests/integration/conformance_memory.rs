//! The conformance suite against the reference backend, in every paging and
//! delete mode: one test per case and mode.

mod memory_marker_paging_hard_delete {
    imagecat_testkit::conformance_tests!(listing, imagecat_testkit::memory_fixture(false, false));
}

mod memory_marker_paging_soft_delete {
    imagecat_testkit::conformance_tests!(listing, imagecat_testkit::memory_fixture(false, true));
}

mod memory_offset_paging_with_read_ahead {
    imagecat_testkit::conformance_tests!(listing, imagecat_testkit::memory_fixture(true, true));
}

mod usage_all_tenants {
    imagecat_testkit::conformance_tests!(
        usage,
        imagecat_testkit::memory_usage_fixture(imagecat_core::UsageScope::AllTenants)
    );
}

mod usage_own_tenant {
    imagecat_testkit::conformance_tests!(
        usage,
        imagecat_testkit::memory_usage_fixture(imagecat_core::UsageScope::OwnTenant)
    );
}

mod memory_prune_cases_marker_paging_hard_delete {
    imagecat_testkit::conformance_tests!(prune, imagecat_testkit::memory_fixture(false, false));
}

mod memory_prune_cases_offset_paging_soft_delete {
    imagecat_testkit::conformance_tests!(prune, imagecat_testkit::memory_fixture(true, true));
}

/// The sequential runner gives the same verdicts as one test per case:
/// every case of every table passes over the reference backend.
#[tokio::test]
async fn run_all_reports_every_case() {
    use imagecat_testkit::conformance::{LISTING, run_all};
    let report = run_all(&imagecat_testkit::memory_fixture(true, true)).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
    assert_eq!(report.passed.len(), LISTING.len(), "{report}");
}

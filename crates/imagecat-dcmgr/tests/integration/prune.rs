//! The prune cases against the DCMGR emulator, with and without an
//! account; the request log shows a DELETE for exactly the images gone.

use std::collections::HashSet;

use imagecat_core::{ImageCatalogExt, ListQuery};
use imagecat_emulators::dcmgr::Layout;
use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;

async fn run(with_account: bool) {
    let c = crate::common::conformance(Layout::V1203, with_account).await;
    let ids = |images: Vec<imagecat_core::Image>| -> HashSet<String> {
        images.into_iter().map(|i| i.id.to_string()).collect()
    };
    let before = ids(c.fixture.catalog.collect(ListQuery::new()).await.unwrap());
    prune_apply_deletes_exactly_the_plan(&c.fixture)
        .await
        .unwrap();
    let after = ids(c.fixture.catalog.collect(ListQuery::new()).await.unwrap());
    let gone: HashSet<String> = before.difference(&after).cloned().collect();
    let deleted = c.emulator.server().deleted_image_ids();
    assert!(!gone.is_empty(), "the case deleted nothing");
    assert_eq!(deleted, gone, "DELETE requests differ from the images gone");
}

#[tokio::test]
async fn prune_with_account() {
    run(true).await;
}

#[tokio::test]
async fn prune_without_account() {
    run(false).await;
}

/// The account of an account-scoped catalog is the caller: without any
/// owner given, a plan deletes that account's images (and only its), and
/// records the account as the catalog's identity; without an account the
/// catalog does not say who the caller is.
#[tokio::test]
async fn the_account_is_the_caller() {
    use imagecat_core::ImageCatalog;
    use imagecat_core::retention::{self, PlanTarget, Reason, RetentionPolicy};

    let c = crate::common::conformance(Layout::V1203, true).await;
    let account = c.emulator.own_account().to_owned();
    let catalog = &c.fixture.catalog;
    let caller = catalog.caller().await.unwrap();
    assert_eq!(caller.as_deref(), Some(account.as_str()));
    let policy = RetentionPolicy::default()
        .group_by("regex:^()".parse().unwrap())
        .keep(0)
        .older_than("0s")
        .allow_unknown_usage(true);
    let target = PlanTarget::new("lab", catalog.clone()).caller(caller.unwrap());
    let plan = retention::plan(&policy, &[target], imagecat_core::chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        plan.catalogs["lab"].account.as_deref(),
        Some(account.as_str())
    );
    let owners: Vec<Option<String>> = plan
        .deletes()
        .map(|e| c.emulator.image(e.id.as_str()).map(|i| i.account_id))
        .collect();
    assert!(!owners.is_empty(), "{:?}", plan.entries);
    assert!(
        owners
            .iter()
            .all(|o| o.as_deref() == Some(account.as_str())),
        "{owners:?}"
    );
    assert!(
        plan.entries
            .iter()
            .filter(|e| e.reasons.contains(&Reason::NotOwned))
            .all(|e| c
                .emulator
                .image(e.id.as_str())
                .is_some_and(|i| i.account_id != account)),
        "an image of the account was called not-owned"
    );

    let without = crate::common::conformance(Layout::V1203, false).await;
    assert_eq!(without.fixture.catalog.caller().await.unwrap(), None);
}

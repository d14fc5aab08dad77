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

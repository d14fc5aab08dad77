//! The prune cases against the TOAST emulator; the emulator's request log
//! shows a DELETE for exactly the images that went away.

use std::collections::HashSet;

use crate::common::{Auth, fixture};
use imagecat_core::{ImageCatalogExt, ListQuery};
use imagecat_emulators::toast::ToastEmulatorConfig;
use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;

#[tokio::test]
async fn prune_deletes_exactly_the_plan() {
    let (emulators, fx) = fixture(ToastEmulatorConfig::default(), Auth::Token).await;
    let ids = |images: Vec<imagecat_core::Image>| -> HashSet<String> {
        images.into_iter().map(|i| i.id.to_string()).collect()
    };
    let before = ids(fx.catalog.collect(ListQuery::new()).await.unwrap());
    prune_apply_deletes_exactly_the_plan(&fx).await.unwrap();
    let after = ids(fx.catalog.collect(ListQuery::new()).await.unwrap());
    let gone: HashSet<String> = before.difference(&after).cloned().collect();
    let deleted = emulators[0].server().deleted_image_ids();
    assert!(!gone.is_empty(), "the case deleted nothing");
    assert_eq!(deleted, gone, "DELETE requests differ from the images gone");
}

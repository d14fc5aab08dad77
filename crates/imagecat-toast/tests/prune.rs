//! The prune cases against the TOAST emulator; the emulator's request log
//! shows a DELETE for exactly the images that went away.

mod common;

use std::collections::HashSet;

use common::{Auth, fixture};
use imagecat_core::{ImageCatalogExt, ListQuery};
use imagecat_testkit::emulators::Emulator;
use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;
use imagecat_testkit::toast::ToastEmulatorConfig;

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
    let deleted: HashSet<String> = emulators[0]
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        // `DELETE …/images?id={uuid}`
        .filter_map(|r| {
            let query = r.query?;
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "id")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(!gone.is_empty(), "the case deleted nothing");
    assert_eq!(deleted, gone, "DELETE requests differ from the images gone");
}

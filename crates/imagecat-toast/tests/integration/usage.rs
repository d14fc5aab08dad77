//! Usage end to end against the TOAST emulator: the conformance cases and
//! the Compute Instance API's quirks.

use std::sync::Arc;

use crate::common::{Auth, catalog, start_default};
use imagecat_core::{ImageCatalog, ImageCatalogExt, InstanceQuery, UsageScope};
use imagecat_emulators::instances::live_users;
use imagecat_testkit::conformance::usage::{UsageFixture, run_usage};
use imagecat_testkit::listing::test_http;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_conformance() {
    let emu = Arc::new(start_default().await);
    // Every v1 status counts: nothing is final.
    let (instances, users) = live_users(&emu.instances(), |_| false, None);
    assert!(users.len() >= 3 && instances.len() >= 8, "a useful seed");
    let failing = Arc::clone(&emu);
    let counting = Arc::clone(&emu);
    let fx = UsageFixture {
        catalog: Arc::new(catalog(&emu, Auth::Token)),
        instances,
        users,
        scope: UsageScope::OwnTenant,
        fail_next_page: Arc::new(move || {
            failing.push_instances_response(
                200,
                r#"{"header":{"isSuccessful":false,"resultCode":-1,"resultMessage":"FAIL"}}"#,
            )
        }),
        instance_requests: Arc::new(move || counting.instance_request_count() as u64),
    };
    let report = run_usage(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test]
async fn one_request_with_the_token_and_deleting_instances_count() {
    let emu = start_default().await;
    let cat = catalog(&emu, Auth::Token);
    let deleting = emu
        .instances()
        .into_iter()
        .find(|i| i.status == "DELETING")
        .expect("a deleting instance is seeded");
    let image = deleting.image_id.clone().unwrap();
    let scan = cat.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    assert!(scan.used_images().any(|i| i.as_str() == image));
    let requests = emu.server().requests();
    let listed: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/instances-detail"))
        .collect();
    assert_eq!(listed.len(), 1, "no paging: one call");
    assert_eq!(
        listed[0].path,
        format!(
            "/compute/v1.0/appkeys/{}/instances-detail",
            emu.config().appkey
        )
    );
    assert_eq!(cat.info().capabilities.usage, Some(UsageScope::OwnTenant));
}

#[tokio::test]
async fn a_hostile_instance_answer_is_a_typed_error_naming_the_backend() {
    let emu = start_default().await;
    // One answer, one error: no retry of a bad answer.
    let cat = crate::common::builder(&emu, Auth::Token)
        .http_options(test_http(1))
        .build()
        .unwrap();
    for body in [
        r#"{"header":{"isSuccessful":true,"resultCode":0},"instances":[{"name":"no id"}]}"#,
        r#"{"header":{"isSuccessful":true,"resultCode":0}}"#,
        "<html>\u{1b}[2J</html>",
    ] {
        emu.push_instances_response(200, body);
        let got =
            futures::TryStreamExt::try_collect::<Vec<_>>(cat.instances(InstanceQuery::new())).await;
        let e = got.map(|v| v.len()).expect_err(body);
        assert!(e.to_string().starts_with("toast"), "{e}");
    }
}

/// An instance naming its image in another spelling (upper case,
/// whitespace, a link) is still that image's user; a reference that is no
/// UUID makes every image not seen in use unknown.
#[tokio::test]
async fn image_references_are_read_by_the_uuid_rule() {
    use imagecat_core::usage::{ImageUsage, UnknownReason};
    use imagecat_core::{ListQuery, Visibility};
    use imagecat_emulators::instances::RefSpelling;

    let emu = start_default().await;
    let cat = catalog(&emu, Auth::Token);
    let (_, users) = live_users(&emu.instances(), |_| false, None);
    let want: std::collections::BTreeSet<String> = users.keys().map(|i| i.to_string()).collect();
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let unused = images
        .iter()
        .find(|i| i.visibility == Some(Visibility::Private) && !want.contains(i.id.as_str()))
        .expect("a private unused image is seeded");
    let in_use = images
        .iter()
        .find(|i| want.contains(i.id.as_str()))
        .expect("a used image is listed");
    for spelling in [RefSpelling::Upper, RefSpelling::Padded, RefSpelling::Link] {
        emu.set_ref_spelling(spelling);
        let scan = cat.usage_scan(InstanceQuery::new()).await;
        let used: std::collections::BTreeSet<String> =
            scan.used_images().map(|i| i.to_string()).collect();
        assert_eq!(used, want, "{spelling:?}");
        assert_eq!(scan.usage_of(unused), ImageUsage::NotInUse, "{spelling:?}");
        // The one-image check (delete's refusal, apply's re-check) filters
        // the listing to the image by the same rule.
        let one = cat.usage_of(std::slice::from_ref(in_use)).await;
        assert_eq!(one[0].as_str(), "in_use", "{spelling:?}");
    }
    emu.push_instances_response(
        200,
        r#"{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"},
            "instances":[{"id":"i-1","status":"ACTIVE","image":"centos-7"}]}"#,
    );
    let scan = cat.usage_scan(InstanceQuery::new()).await;
    assert!(matches!(
        scan.usage_of(unused),
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { count: 1, .. }
        }
    ));
}

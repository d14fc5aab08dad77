//! Usage end to end against the DCMGR emulator: the conformance cases with
//! and without an account, and what the instance index is asked.

use std::sync::Arc;

use imagecat_core::{
    ImageCatalogExt, ImageUsage, InstanceQuery, ListQuery, UnknownReason, UsageScope, Visibility,
};
use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;
use imagecat_emulators::dcmgr::instances::TERMINATED;
use imagecat_emulators::instances::live_users;
use imagecat_testkit::conformance::usage::{UsageFixture, run_usage};

async fn conformance(with_account: bool) {
    let emu = Arc::new(crate::common::emulator(DcmgrEmulatorConfig::default()).await);
    let account = with_account.then(|| emu.own_account().to_owned());
    let (instances, users) = live_users(&emu.instances(), |s| s == TERMINATED, account.as_deref());
    assert!(!users.is_empty() && !instances.is_empty(), "a useful seed");
    let failing = Arc::clone(&emu);
    let counting = Arc::clone(&emu);
    let fx = UsageFixture {
        catalog: Arc::new(crate::common::catalog(&emu, account.as_deref())),
        instances,
        users,
        scope: if with_account {
            UsageScope::OwnTenant
        } else {
            UsageScope::AllTenants
        },
        fail_next_page: Arc::new(move || {
            failing.push_instances_response(
                400,
                r#"{"error":"Dcmgr::Endpoints::Errors::InvalidParameter","message":"state","code":"143"}"#,
            )
        }),
        instance_requests: Arc::new(move || counting.instance_request_count() as u64),
    };
    let report = run_usage(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_conformance_without_account() {
    conformance(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_conformance_with_account() {
    conformance(true).await;
}

#[tokio::test]
async fn terminated_instances_never_count_and_pages_walk_in_id_order() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    let cat = crate::common::catalog(&emu, None);
    let scan = cat.usage_scan(InstanceQuery::new().page_size(2)).await;
    assert!(scan.is_complete());
    let all = emu.instances();
    // An image whose only seeded users are terminated is not in use.
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let only_terminated = images.iter().find(|image| {
        let users: Vec<_> = all
            .iter()
            .filter(|i| i.image_id.as_deref() == Some(image.id.as_str()))
            .collect();
        !users.is_empty() && users.iter().all(|i| i.status == TERMINATED)
    });
    if let Some(image) = only_terminated {
        assert_eq!(scan.usage_of(image), ImageUsage::NotInUse, "{}", image.id);
    }
    let index: Vec<_> = emu
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/instances"))
        .collect();
    let live = all.iter().filter(|i| i.status != TERMINATED).count();
    assert_eq!(index.len(), live.div_ceil(2), "every page, once");
    for r in &index {
        let q = r.query.as_deref().unwrap_or("");
        assert!(
            q.contains("state=alive") && q.contains("sort_by=id.asc"),
            "{q}"
        );
    }
}

#[tokio::test]
async fn an_account_scoped_answer_is_unknown_for_a_public_unused_image() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    let own = emu.own_account().to_owned();
    let cat = crate::common::catalog(&emu, Some(&own));
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let answers = cat.usage_of(&images).await;
    let mut public_unknown = 0;
    for (image, usage) in images.iter().zip(&answers) {
        if image.visibility == Some(Visibility::Public)
            && !matches!(usage, ImageUsage::InUse { .. })
        {
            assert_eq!(
                usage,
                &ImageUsage::Unknown {
                    reason: UnknownReason::OutOfScope {
                        scope: UsageScope::OwnTenant
                    }
                },
                "{}",
                image.id
            );
            public_unknown += 1;
        }
    }
    assert!(public_unknown > 0, "the seed has an unused public image");
    let sent = emu.server().requests();
    let index = sent
        .iter()
        .find(|r| r.path.ends_with("/instances"))
        .unwrap();
    assert_eq!(index.header("x-vdc-account-uuid"), Some(own.as_str()));
}

/// The answers of a scan for every image of the emulator, by id.
async fn answers(
    cat: &imagecat_dcmgr::DcmgrCatalog,
    scan: &imagecat_core::UsageScan,
) -> Vec<(String, ImageUsage)> {
    let images = cat.collect(ListQuery::new()).await.unwrap();
    images
        .iter()
        .map(|i| (i.id.to_string(), scan.usage_of(i)))
        .collect()
}

#[tokio::test]
async fn empty_instance_pages_short_of_the_total_make_every_unseen_image_unknown() {
    // Every page after the first comes back empty with the real total:
    // no walk is consistent, so nothing is "not in use".
    let emu = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    emu.instance_faults(imagecat_emulators::faults::InstanceFaults {
        empty_pages: 1000,
        past_row: 2,
        ..Default::default()
    });
    let cat = crate::common::catalog(&emu, None);
    let scan = cat.usage_scan(InstanceQuery::new().page_size(2)).await;
    assert!(!scan.is_complete());
    let answers = answers(&cat, &scan).await;
    assert!(
        answers.iter().all(|(_, u)| !u.is_known_unused()),
        "{answers:?}"
    );
    let inconsistent = answers.iter().find_map(|(_, u)| match u {
        ImageUsage::Unknown {
            reason: UnknownReason::InconsistentListing { walks, detail },
        } => Some((*walks, detail.clone())),
        _ => None,
    });
    let (walks, detail) = inconsistent.expect("an image unknown for the inconsistent listing");
    assert_eq!(walks, 3);
    assert!(detail.contains("holds none"), "{detail}");
}

#[tokio::test]
async fn one_empty_instance_page_walks_again_and_answers_as_an_honest_server() {
    let honest = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    let faulty = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    faulty.instance_faults(imagecat_emulators::faults::InstanceFaults {
        empty_pages: 1,
        past_row: 2,
        ..Default::default()
    });
    let expected = {
        let cat = crate::common::catalog(&honest, None);
        let scan = cat.usage_scan(InstanceQuery::new().page_size(2)).await;
        assert!(scan.is_complete());
        answers(&cat, &scan).await
    };
    let cat = crate::common::catalog(&faulty, None);
    let scan = cat.usage_scan(InstanceQuery::new().page_size(2)).await;
    assert!(scan.is_complete(), "the second walk is consistent");
    assert_eq!(answers(&cat, &scan).await, expected);
    assert!(
        faulty.instance_request_count() > honest.instance_request_count(),
        "a second walk was made"
    );
}

#[tokio::test]
async fn a_listing_that_shifts_between_pages_still_finds_every_user() {
    // Before each page after the first, the first instance (before the
    // cursor) ends and one of the same image is launched last: the total
    // stays, and without the overlapping reads the instance at each page
    // boundary would slip onto a page already read.
    let emu = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    emu.instance_faults(imagecat_emulators::faults::InstanceFaults {
        shifts: 1000,
        past_row: 2,
        ..Default::default()
    });
    let cat = crate::common::catalog(&emu, None);
    let scan = cat.usage_scan(InstanceQuery::new().page_size(2)).await;
    // The shifted instances' images are the same, so the users per image
    // after the scan are those of every image that was in use throughout.
    let (_, users) = live_users(&emu.instances(), |s| s == TERMINATED, None);
    for (id, usage) in answers(&cat, &scan).await {
        if users.contains_key(&imagecat_core::ImageId::new(id.clone())) {
            assert!(!usage.is_known_unused(), "{id} is in use: {usage:?}");
        }
    }
    assert!(scan.is_complete(), "a shift of one is within the overlap");
}

/// DCMGR's identity rule: `wmi-` ids in another case or with whitespace
/// name the same image; a reference that is no `wmi-` id (here a link)
/// is unresolved, so every image not seen in use is unknown.
#[tokio::test]
async fn image_references_are_read_by_the_wmi_rule() {
    use imagecat_emulators::instances::RefSpelling;

    let emu = crate::common::emulator(DcmgrEmulatorConfig::default()).await;
    let cat = crate::common::catalog(&emu, None);
    let (_, users) = live_users(&emu.instances(), |s| s == TERMINATED, None);
    let want: std::collections::BTreeSet<String> = users.keys().map(|i| i.to_string()).collect();
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let unused = images
        .iter()
        .find(|i| !want.contains(i.id.as_str()))
        .expect("an unused image is seeded");
    for spelling in [RefSpelling::Upper, RefSpelling::Padded] {
        emu.set_ref_spelling(spelling);
        let scan = cat.usage_scan(InstanceQuery::new()).await;
        let used: std::collections::BTreeSet<String> =
            scan.used_images().map(|i| i.to_string()).collect();
        assert_eq!(used, want, "{spelling:?}");
        assert_eq!(scan.usage_of(unused), ImageUsage::NotInUse, "{spelling:?}");
    }
    emu.set_ref_spelling(RefSpelling::Link);
    let scan = cat.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.used_images().count(), 0);
    assert!(matches!(
        scan.usage_of(unused),
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { .. }
        }
    ));
}

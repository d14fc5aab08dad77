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

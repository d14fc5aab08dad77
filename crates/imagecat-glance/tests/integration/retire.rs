//! Retire, then delete, on the Glance emulator with Nova: retire is a
//! PATCH of `imagecat_retired_at` and a deactivate, restore a reactivate
//! and a PATCH removing it, and the second phase deletes only images
//! retired long enough and still unused, each request asserted on the
//! emulator's request log. Glance's policy: only an admin or the owning
//! project may deactivate; only an active image can be.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use imagecat_core::chrono::{Duration, Utc};
use imagecat_core::retention::{self, Action, ApplyOptions, PlanTarget, Reason, RetentionPolicy};
use imagecat_core::retire::{RetireRequest, Retirement, retirement};
use imagecat_core::{DynImageCatalog, ErrorKind, ImageCatalog, ImageId, ImageStatus};
use imagecat_emulators::glance::{
    GlanceCaller, GlanceEmulator, GlanceEmulatorConfig, GlanceImage, KeystoneUser, NovaServer,
    PROJECT_ID,
};
use imagecat_emulators::server::{RecordedRequest, ServeOptions};
use imagecat_glance::{GlanceCatalog, RETIRED_AT};
use imagecat_http::SecretString;

const OTHER_TOKEN: &str = "other-project-member-token";

fn uuid(n: u32) -> String {
    format!("7e71e000-0000-4000-8000-{n:012x}")
}

/// `web-1` (newest) … `web-4`, active and private to the caller's project.
fn insert_family(emu: &GlanceEmulator) {
    for n in 1..=4u32 {
        let mut image = GlanceImage::new(uuid(n), format!("web-{n}"));
        image.created_at = Utc::now() - Duration::days(i64::from(n) * 10);
        emu.insert(image);
    }
}

fn policy() -> RetentionPolicy {
    RetentionPolicy::default()
        .name("web-*")
        .group_by("regex:^(web)-".parse().unwrap())
        .keep(1)
}

/// The image actions and patches sent, in order, as `METHOD path`.
fn writes(emu: &GlanceEmulator) -> Vec<String> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path.contains("/v2/images"))
        .map(|r: &RecordedRequest| format!("{} {}", r.method, r.path))
        .collect()
}

async fn start() -> (GlanceEmulator, DynImageCatalog) {
    let config = GlanceEmulatorConfig::default()
        .keystone(KeystoneUser::default())
        .project_token(OTHER_TOKEN, GlanceCaller::member("other-project"));
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    emu.clear_servers();
    insert_family(&emu);
    let catalog = crate::support::keystone_v3(&emu, KeystoneUser::default())
        .http_options(imagecat_testkit::listing::test_http(2))
        .build()
        .unwrap();
    (emu, Arc::new(catalog))
}

async fn plan_and_apply(
    catalog: &DynImageCatalog,
    policy: &RetentionPolicy,
) -> (retention::Plan, retention::ApplySummary) {
    let target = PlanTarget::new("glance", catalog.clone()).caller(PROJECT_ID);
    let plan = retention::plan(policy, &[target], Utc::now())
        .await
        .unwrap();
    let catalogs = HashMap::from([("glance".to_owned(), catalog.clone())]);
    let planned = plan.clone();
    let (_, summary) = retention::apply(plan, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    (planned, summary)
}

#[tokio::test]
async fn retire_list_restore_and_delete_retired_after_on_the_emulator() {
    let (emu, catalog) = start().await;
    let caps = catalog.info().capabilities;
    let support = caps.retire.expect("Glance can retire");
    assert_eq!(support.methods[0].name, "deactivate");
    assert_eq!(support.stamp.key, RETIRED_AT);

    // Phase one: the three older images are retired, the newest kept.
    let (plan, summary) = plan_and_apply(&catalog, &policy().retire(None)).await;
    let retired: Vec<String> = plan
        .entries
        .iter()
        .filter(|e| e.action == Action::Retire)
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(retired, [uuid(2), uuid(3), uuid(4)]);
    assert_eq!(
        (summary.retired, summary.deleted, summary.failed),
        (3, 0, 0)
    );
    let mut expected = Vec::new();
    for id in &retired {
        expected.push(format!("PATCH /v2/images/{id}"));
        expected.push(format!("POST /v2/images/{id}/actions/deactivate"));
    }
    let mut sent = writes(&emu);
    sent.sort();
    expected.sort();
    assert_eq!(
        sent, expected,
        "a retire is a stamp and a deactivate, no DELETE"
    );
    let patch = emu
        .server()
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch.header("content-type"),
        Some("application/openstack-images-v2.1-json-patch")
    );

    // List retired: read back from the images themselves.
    let listed: Vec<imagecat_core::Image> = futures::TryStreamExt::try_collect(
        catalog.list(imagecat_core::ListQuery::new().name("web-*")),
    )
    .await
    .unwrap();
    let retired_now: HashSet<String> = listed
        .iter()
        .filter(|i| {
            matches!(
                retirement(&caps, i),
                Retirement::Retired {
                    in_effect: true,
                    ..
                }
            )
        })
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(retired_now, retired.iter().cloned().collect());
    for image in listed
        .iter()
        .filter(|i| retired_now.contains(i.id.as_str()))
    {
        assert_eq!(image.status, ImageStatus::Deactivated);
        assert_eq!(image.native_status, "deactivated");
    }

    // Restore web-2: a reactivate, then the stamp removed.
    let before = emu.server().request_count();
    catalog.restore(&ImageId::new(uuid(2))).await.unwrap();
    let restore: Vec<String> = emu.server().requests()[before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        restore,
        [
            format!("POST /v2/images/{}/actions/reactivate", uuid(2)),
            format!("PATCH /v2/images/{}", uuid(2)),
        ]
    );
    let web2 = catalog.get(&ImageId::new(uuid(2))).await.unwrap();
    assert_eq!(web2.status, ImageStatus::Active);
    assert!(!web2.properties.contains_key(RETIRED_AT));

    // Twenty days pass for web-3 and web-4; web-3 is used again.
    let old = (Utc::now() - Duration::days(20))
        .to_rfc3339_opts(imagecat_core::chrono::SecondsFormat::Secs, true);
    for n in [3, 4] {
        emu.update(&uuid(n), |img| {
            img.properties.insert(RETIRED_AT.to_owned(), old.clone());
        });
    }
    emu.insert_server(NovaServer::new(
        "5e7e0000-0000-4000-8000-000000000003",
        uuid(3),
    ));

    // Phase two: only web-4 is deleted.
    let before = emu.server().request_count();
    let phase_two = RetentionPolicy::default()
        .name("web-*")
        .group_by("regex:^(web)-".parse().unwrap())
        .delete_retired_after("14d");
    let (plan, summary) = plan_and_apply(&catalog, &phase_two).await;
    let reasons = |n: u32| {
        plan.entries
            .iter()
            .find(|e| e.id.as_str() == uuid(n))
            .unwrap()
            .reasons
            .clone()
    };
    assert_eq!(reasons(1), [Reason::NotRetired]);
    assert_eq!(reasons(2), [Reason::NotRetired]);
    assert_eq!(reasons(3), [Reason::InUse]);
    assert_eq!(reasons(4), [Reason::Selected]);
    assert_eq!((summary.deleted, summary.failed), (1, 0));
    let sent: Vec<String> = emu.server().requests()[before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(sent, [format!("DELETE /v2/images/{}", uuid(4))]);
    assert!(catalog.get(&ImageId::new(uuid(3))).await.is_ok());
}

#[tokio::test]
async fn only_the_owner_or_an_admin_may_retire_and_only_an_active_image() {
    let (emu, _admin) = start().await;
    // web-1 made public: another project's member sees it, may not retire it.
    emu.update(&uuid(1), |img| img.visibility = "public".into());
    let other = GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new(OTHER_TOKEN))
        .build()
        .unwrap();
    let support = other.info().capabilities.retire.unwrap();
    let request = RetireRequest::new(&support.methods[0], Utc::now());
    let before = emu.server().request_count();
    let e = other
        .retire(&ImageId::new(uuid(1)), &request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("You do not own this image"), "{e}");
    // The refused PATCH was the only write: nothing was deactivated.
    let writes_after: Vec<_> = emu.server().requests()[before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(writes_after, ["PATCH"]);
    // The action itself, sent by hand, is refused the same way.
    let url = format!(
        "{}/v2/images/{}/actions/deactivate",
        emu.endpoint(),
        uuid(1)
    );
    let answer = imagecat_http::reqwest::Client::new()
        .post(&url)
        .header("x-auth-token", OTHER_TOKEN)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let body = answer.text().await.unwrap();
    assert!(body.contains("You do not own this image"), "{body}");
    assert_eq!(
        emu.snapshot()
            .iter()
            .find(|i| i.id == uuid(1))
            .map(|i| i.status.clone()),
        Some("active".to_owned())
    );
    // A private image of another project is not even visible to it.
    let e = other
        .retire(&ImageId::new(uuid(2)), &request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // A queued image cannot be deactivated (Glance's 403).
    let owner = GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new(crate::support::TOKEN))
        .build()
        .unwrap();
    emu.update(&uuid(3), |img| img.status = "queued".into());
    let e = owner
        .retire(&ImageId::new(uuid(3)), &request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.to_string()
            .contains("Not allowed to deactivate image in status 'queued'"),
        "{e}"
    );
    // Deactivating twice is a no-op, as is reactivating an active image.
    owner
        .retire(&ImageId::new(uuid(4)), &request)
        .await
        .unwrap();
    owner
        .retire(&ImageId::new(uuid(4)), &request)
        .await
        .unwrap();
    owner.restore(&ImageId::new(uuid(4))).await.unwrap();
    owner.restore(&ImageId::new(uuid(4))).await.unwrap();
    let web4 = owner.get(&ImageId::new(uuid(4))).await.unwrap();
    assert_eq!(web4.status, ImageStatus::Active);
}

//! Retire, then delete: the two phases through the one planner and
//! executor, on the in-memory catalog (which retires like Glance's
//! deactivate when asked to).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, Utc};

use super::*;
use crate::model::{BackendKind, Image, ImageStatus, Visibility};
use crate::retire::{RetireRequest, RetireSupport};
use crate::usage::InstanceRef;
use crate::{ErrorKind, ImageCatalog, InMemoryCatalog, MEMORY_RETIRE};

const STAMP: &str = "imagecat_retired_at";

fn dated(id: &str, name: &str, days_old: i64) -> Image {
    Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
        .with_name(name)
        .with_owner("me")
        .with_visibility(Visibility::Private)
        .with_created_at(Utc::now() - Duration::days(days_old))
}

/// Two families of four: `web-0` (newest) … `web-3`, `db-0` … `db-3`.
fn fleet() -> Vec<Image> {
    let mut images = Vec::new();
    for family in ["web", "db"] {
        for d in 0..4 {
            images.push(dated(
                &format!("{family}-{d}"),
                &format!("{family}-2026{:04}", 300 - d),
                d * 10,
            ));
        }
    }
    images
}

fn retiring(support: RetireSupport) -> Arc<InMemoryCatalog> {
    Arc::new(
        InMemoryCatalog::from_images(fleet())
            .with_instances(Vec::new())
            .retire_support(Some(support)),
    )
}

fn policy() -> RetentionPolicy {
    RetentionPolicy::default()
        .group_by("regex:^(.+)-\\d{8}$".parse().unwrap())
        .keep(1)
        .owner("me")
}

fn ids(plan: &Plan, action: Action) -> Vec<String> {
    let mut ids: Vec<String> = plan
        .entries
        .iter()
        .filter(|e| e.action == action)
        .map(|e| e.id.to_string())
        .collect();
    ids.sort();
    ids
}

fn entry<'a>(plan: &'a Plan, id: &str) -> &'a PlanEntry {
    plan.entries
        .iter()
        .find(|e| e.id.as_str() == id)
        .unwrap_or_else(|| panic!("no entry for {id}"))
}

fn image(catalog: &InMemoryCatalog, id: &str) -> Option<Image> {
    catalog.snapshot().into_iter().find(|i| i.id.as_str() == id)
}

/// Time passes: the image's retired-at stamp is moved `days` back (as if
/// it had been retired then).
fn retired_days_ago(catalog: &InMemoryCatalog, id: &str, days: i64) {
    let mut img = image(catalog, id).expect("the image");
    let at = Utc::now() - Duration::days(days);
    img.properties
        .insert(STAMP, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    catalog.insert(img);
}

fn open(name: &str, catalog: &Arc<InMemoryCatalog>) -> HashMap<String, DynImageCatalog> {
    HashMap::from([(name.to_owned(), catalog.clone() as DynImageCatalog)])
}

async fn plan_on(policy: &RetentionPolicy, catalog: &Arc<InMemoryCatalog>) -> Plan {
    let target = PlanTarget::new("m", catalog.clone() as DynImageCatalog);
    plan(policy, &[target], Utc::now()).await.unwrap()
}

#[tokio::test]
async fn retire_then_delete_keeps_every_image_wanted_back_and_deletes_the_rest() {
    let catalog = retiring(MEMORY_RETIRE);
    // Phase one: the same selection a delete would make, as retires.
    let phase_one = policy().retire(None);
    let planned = plan_on(&phase_one, &catalog).await;
    assert_eq!(planned.version, RETIRE_PLAN_VERSION);
    assert_eq!(
        ids(&planned, Action::Retire),
        ["db-1", "db-2", "db-3", "web-1", "web-2", "web-3"]
    );
    assert!(ids(&planned, Action::Delete).is_empty());
    let saved: Plan = serde_json::from_str(&serde_json::to_string(&planned).unwrap()).unwrap();
    let (done, summary) = apply(
        saved,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!(
        (summary.retired, summary.deleted, summary.failed),
        (6, 0, 0)
    );
    assert!(
        summary.line().starts_with("6 retired, 0 deleted"),
        "{}",
        summary.line()
    );
    assert_eq!(entry(&done, "web-1").result, Some(Outcome::Retired));
    let web1 = image(&catalog, "web-1").unwrap();
    assert_eq!(web1.status, ImageStatus::Deactivated);
    assert!(web1.properties.get(STAMP).is_some());
    assert_eq!(catalog.snapshot().len(), 8, "a retire deletes nothing");
    // Phase one again: nothing more to retire.
    let again = plan_on(&phase_one, &catalog).await;
    assert!(ids(&again, Action::Retire).is_empty());
    assert_eq!(entry(&again, "db-2").reasons, [Reason::AlreadyRetired]);

    // Time passes: five retired 20 days ago, db-3 only 2 days ago.
    for id in ["db-1", "db-2", "web-1", "web-2", "web-3"] {
        retired_days_ago(&catalog, id, 20);
    }
    retired_days_ago(&catalog, "db-3", 2);
    // web-3 is used again (an instance appears); db-1 is reactivated by
    // hand (its stamp left behind).
    catalog
        .source()
        .insert_instance(InstanceRef::booting("i-1", "running", "web-3".into()));
    let mut db1 = image(&catalog, "db-1").unwrap();
    db1.status = ImageStatus::Active;
    catalog.insert(db1);

    // Phase two.
    let phase_two = RetentionPolicy::default()
        .group_by("regex:^(.+)-\\d{8}$".parse().unwrap())
        .owner("me")
        .delete_retired_after("14d");
    let planned = plan_on(&phase_two, &catalog).await;
    assert_eq!(planned.version, RETIRE_PLAN_VERSION);
    assert_eq!(ids(&planned, Action::Delete), ["db-2", "web-1", "web-2"]);
    let why = |id| entry(&planned, id).reasons.clone();
    assert_eq!(why("web-0"), [Reason::NotRetired]);
    assert_eq!(why("web-3"), [Reason::InUse]);
    assert_eq!(why("db-1"), [Reason::RetireUndone]);
    assert_eq!(why("db-3"), [Reason::RetiredRecently]);
    assert!(entry(&planned, "web-1").retired_at.is_some());

    // web-2 is used again after the plan was saved: the apply keeps it.
    let saved: Plan = serde_json::from_str(&serde_json::to_string(&planned).unwrap()).unwrap();
    catalog
        .source()
        .insert_instance(InstanceRef::booting("i-2", "building", "web-2".into()));
    let (done, summary) = apply(
        saved,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!(
        (summary.deleted, summary.failed, summary.retired),
        (2, 0, 0)
    );
    let web2 = entry(&done, "web-2");
    assert_eq!(
        (web2.result, web2.skip_reasons.clone()),
        (Some(Outcome::Skipped), vec![Reason::InUse])
    );
    for kept in ["web-0", "web-2", "web-3", "db-0", "db-1", "db-3"] {
        assert!(image(&catalog, kept).is_some(), "{kept} was deleted");
    }
    for gone in ["db-2", "web-1"] {
        assert!(image(&catalog, gone).is_none(), "{gone} is still there");
    }
}

#[tokio::test]
async fn a_retire_restored_between_plan_and_apply_is_not_deleted() {
    let catalog = retiring(MEMORY_RETIRE);
    let planned = plan_on(&policy().retire(None), &catalog).await;
    apply(
        planned,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    retired_days_ago(&catalog, "web-3", 30);
    let phase_two = policy().keep(0).delete_retired_after("14d");
    let planned = plan_on(&phase_two, &catalog).await;
    assert_eq!(ids(&planned, Action::Delete), ["web-3"]);
    // Restored through the catalog after the plan: kept by the re-check.
    catalog.restore(&"web-3".into()).await.unwrap();
    let restored = image(&catalog, "web-3").unwrap();
    assert_eq!(restored.status, ImageStatus::Active);
    assert!(restored.properties.get(STAMP).is_none());
    let (done, summary) = apply(
        planned,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!((summary.deleted, summary.sent), (0, 0));
    assert_eq!(entry(&done, "web-3").result, Some(Outcome::Skipped));
    assert!(image(&catalog, "web-3").is_some());
}

#[tokio::test]
async fn a_backend_that_cannot_retire_plans_nothing_and_says_so_by_name() {
    let able = retiring(MEMORY_RETIRE);
    let unable = Arc::new(InMemoryCatalog::from_images(fleet()).with_instances(Vec::new()));
    let targets = [
        PlanTarget::new("able", able.clone() as DynImageCatalog),
        PlanTarget::new("unable", unable.clone() as DynImageCatalog),
    ];
    let planned = plan(&policy().retire(None), &targets, Utc::now())
        .await
        .unwrap();
    let on = |name: &str| -> Vec<&PlanEntry> {
        planned
            .entries
            .iter()
            .filter(|e| e.catalog == name)
            .collect()
    };
    assert_eq!(
        on("able")
            .iter()
            .filter(|e| e.action == Action::Retire)
            .count(),
        6
    );
    assert!(!on("unable").is_empty());
    for e in on("unable") {
        assert_eq!(
            (e.action, e.reasons.clone()),
            (Action::Keep, vec![Reason::RetireNotSupported])
        );
    }
    let request = RetireRequest::new(&MEMORY_RETIRE.methods[0], Utc::now());
    for e in [
        unable.retire(&"web-1".into(), &request).await.unwrap_err(),
        unable.restore(&"web-1".into()).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        assert!(e.to_string().contains("memory cannot retire"), "{e}");
    }
    // A way the backend does not have is an error naming its ways.
    let e = plan(
        &policy().retire(Some("obsolete")),
        &targets[..1],
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("deactivate, hide"), "{e}");
}

#[tokio::test]
async fn an_image_launched_since_it_was_retired_is_kept() {
    let catalog = retiring(MEMORY_RETIRE.last_launched("last_launched"));
    let planned = plan_on(&policy().retire(Some("hide")), &catalog).await;
    let (_, summary) = apply(
        planned,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!(summary.retired, 6);
    let hidden = image(&catalog, "db-1").unwrap();
    assert_eq!(
        (hidden.status, hidden.properties.get("hidden")),
        (ImageStatus::Active, Some("true"))
    );
    for id in ["db-1", "db-2", "db-3"] {
        retired_days_ago(&catalog, id, 20);
    }
    let set = |id: &str, value: String| {
        let mut img = image(&catalog, id).unwrap();
        img.properties.insert("last_launched", value);
        catalog.insert(img);
    };
    let stamp = |days: i64| (Utc::now() - Duration::days(days)).to_rfc3339();
    set("db-1", stamp(3)); // launched after its retire
    set("db-2", stamp(40)); // launched before
    set("db-3", "yesterday".into());
    let planned = plan_on(&policy().keep(0).delete_retired_after("14d"), &catalog).await;
    assert_eq!(
        entry(&planned, "db-1").reasons,
        [Reason::LaunchedSinceRetired]
    );
    assert_eq!(entry(&planned, "db-2").action, Action::Delete);
    assert_eq!(entry(&planned, "db-3").reasons, [Reason::LaunchUnknown]);
}

#[tokio::test]
async fn retired_images_point_to_the_newest_of_their_family_where_the_backend_records_it() {
    let catalog = retiring(MEMORY_RETIRE.replacement(true));
    let planned = plan_on(&policy().retire(None), &catalog).await;
    for id in ["web-1", "web-2", "web-3"] {
        assert_eq!(
            entry(&planned, id).replacement.as_ref().map(|r| r.as_str()),
            Some("web-0")
        );
    }
    assert_eq!(entry(&planned, "web-0").replacement, None);
    apply(
        planned,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    let web2 = image(&catalog, "web-2").unwrap();
    assert_eq!(web2.properties.get("imagecat_replacement"), Some("web-0"));
    // Without the capability no replacement is planned.
    let plain = retiring(MEMORY_RETIRE);
    let planned = plan_on(&policy().retire(None), &plain).await;
    assert!(planned.entries.iter().all(|e| e.replacement.is_none()));
}

#[tokio::test]
async fn plan_versions_say_what_a_plan_does_and_an_edited_one_is_refused() {
    let catalog = retiring(MEMORY_RETIRE);
    let deleting = plan_on(&policy(), &catalog).await;
    assert_eq!(deleting.version, PLAN_VERSION);
    assert!(deleting.version_ok());
    // A version-3 plan passed off as version 2 (an older imagecat reading
    // it would misread it): nothing is sent.
    let mut retiring_plan = plan_on(&policy().retire(None), &catalog).await;
    retiring_plan.version = PLAN_VERSION;
    assert!(!retiring_plan.version_ok());
    let (done, summary) = apply(
        retiring_plan,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!((summary.sent, summary.retired), (0, 0));
    assert!(done.acting().all(|e| e.result == Some(Outcome::Failed)));
    // A delete plan whose entries were edited to retire: refused as well.
    let mut edited = deleting.clone();
    for e in &mut edited.entries {
        if e.action == Action::Delete {
            e.action = Action::Retire;
        }
    }
    assert!(!edited.version_ok());
    // A delete edited into a retire plan (version and policy too) is not a
    // delete the fresh evaluation agrees with.
    let mut swapped = plan_on(&policy(), &catalog).await;
    swapped.version = RETIRE_PLAN_VERSION;
    swapped.policy = policy().retire(None);
    let (_, summary) = apply(
        swapped,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    assert_eq!((summary.sent, summary.deleted), (0, 0));
    assert_eq!(catalog.snapshot().len(), 8);
}

#[test]
fn the_two_phases_are_exclusive_and_phase_two_needs_no_other_rule() {
    let both = RetentionPolicy::default()
        .retire(None)
        .delete_retired_after("14d");
    assert!(
        both.validate()
            .unwrap_err()
            .to_string()
            .contains("two phases")
    );
    assert!(
        RetentionPolicy::default()
            .delete_retired_after("14d")
            .validate()
            .is_ok()
    );
    assert!(
        RetentionPolicy::default()
            .delete_retired_after("soon")
            .validate()
            .is_err()
    );
    let mut stray = RetentionPolicy::default().keep(1);
    stray.retire_method = Some("hide".into());
    assert!(stray.validate().is_err());
    let json = serde_json::to_string(&RetentionPolicy::default().keep(1)).unwrap();
    assert!(
        !json.contains("retire"),
        "a delete policy reads as before: {json}"
    );
}

/// A catalog that renews an image's retire (a fresh stamp, same status
/// and updated time) when it is fetched: between the apply's fresh
/// evaluation (a listing) and the per-image re-check (a get).
#[derive(Debug)]
struct RestampOnGet {
    inner: Arc<InMemoryCatalog>,
    id: &'static str,
}

#[crate::async_trait]
impl ImageCatalog for RestampOnGet {
    fn info(&self) -> crate::CatalogInfo {
        self.inner.info()
    }
    fn list(&self, query: crate::ListQuery) -> crate::ImageStream {
        self.inner.list(query)
    }
    async fn get(&self, id: &crate::ImageId) -> crate::Result<Image> {
        if id.as_str() == self.id {
            retired_days_ago(&self.inner, self.id, 1);
        }
        self.inner.get(id).await
    }
    async fn delete(&self, id: &crate::ImageId) -> crate::Result<crate::Deleted> {
        self.inner.delete(id).await
    }
    fn instance_listing(&self, query: crate::InstanceQuery) -> crate::InstanceListing {
        self.inner.instance_listing(query)
    }
}

#[tokio::test]
async fn a_retire_renewed_right_before_the_delete_is_kept_by_the_re_check() {
    let catalog = retiring(MEMORY_RETIRE);
    let planned = plan_on(&policy().retire(None), &catalog).await;
    apply(
        planned,
        &open("m", &catalog),
        &ApplyOptions::default(),
        &|_| {},
    )
    .await;
    for id in ["web-2", "web-3"] {
        retired_days_ago(&catalog, id, 30);
    }
    let phase_two = policy().keep(0).delete_retired_after("14d");
    let planned = plan_on(&phase_two, &catalog).await;
    assert_eq!(ids(&planned, Action::Delete), ["web-2", "web-3"]);
    let wrapped: DynImageCatalog = Arc::new(RestampOnGet {
        inner: catalog.clone(),
        id: "web-3",
    });
    let catalogs = HashMap::from([("m".to_owned(), wrapped)]);
    let (done, summary) = apply(planned, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.sent), (1, 1));
    let web3 = entry(&done, "web-3");
    assert_eq!(
        (web3.result, web3.skip_reasons.clone()),
        (Some(Outcome::Skipped), vec![Reason::RetiredRecently])
    );
    assert!(image(&catalog, "web-3").is_some());
    assert!(image(&catalog, "web-2").is_none());
}

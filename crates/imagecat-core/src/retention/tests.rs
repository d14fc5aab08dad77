use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::BoxStream;
use tokio::time::Instant;

use super::*;
use crate::catalog::{CatalogInfo, Deleted, ImageCatalog, ImageStream};
use crate::error::{Error, Result};
use crate::model::{BackendKind, Image, ImageStatus, Visibility};
use crate::query::ListQuery;
use crate::usage::InstanceRef;
use crate::{InMemoryCatalog, async_trait};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap()
}

fn dated(id: &str, name: &str, days_old: i64) -> Image {
    Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
        .with_name(name)
        .with_owner("me")
        .with_visibility(Visibility::Private)
        .with_created_at(now() - chrono::Duration::days(days_old))
}

/// Two Packer-style families of five dated images each, plus strays.
fn fleet() -> Vec<Image> {
    let mut images = Vec::new();
    for family in ["web", "db"] {
        for d in 0..5 {
            let days = d * 10;
            images.push(dated(
                &format!("{family}-{d}"),
                &format!("{family}-2026{:04}", 300 - days),
                days,
            ));
        }
    }
    images
}

fn target(name: &str, catalog: InMemoryCatalog) -> PlanTarget {
    PlanTarget::new(name, Arc::new(catalog) as DynImageCatalog)
}

fn policy() -> RetentionPolicy {
    RetentionPolicy::default()
        .group_by("regex:^(.+)-\\d{8}$".parse().unwrap())
        .keep(2)
        .older_than("15d")
        .owner("me")
        .allow_unknown_usage(true)
}

/// The entry of image `id`.
fn entry<'a>(entries: &'a [PlanEntry], id: &str) -> &'a PlanEntry {
    entries
        .iter()
        .find(|e| e.id.as_str() == id)
        .unwrap_or_else(|| panic!("no entry for {id}"))
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

#[tokio::test]
async fn families_keep_the_newest_and_the_young_and_delete_the_rest() {
    let t = target("mem", InMemoryCatalog::from_images(fleet()));
    let plan = plan(&policy(), &[t], now()).await.unwrap();
    // Ranks 0 and 1 are newest; rank 2 (20 days) is past 15d: deleted.
    assert_eq!(
        ids(&plan, Action::Delete),
        ["db-2", "db-3", "db-4", "web-2", "web-3", "web-4"]
    );
    let web0 = entry(&plan.entries, "web-0");
    assert_eq!(web0.reasons, [Reason::Newest]);
    assert_eq!(web0.family.as_deref(), Some("web"));
    // A larger age keeps the 20-day-old image as younger-than.
    let plan2 = super::plan(
        &policy().older_than("25d"),
        &[target("m", InMemoryCatalog::from_images(fleet()))],
        now(),
    )
    .await
    .unwrap();
    let web2 = entry(&plan2.entries, "web-2");
    assert_eq!(
        (web2.action, web2.reasons.clone()),
        (Action::Keep, vec![Reason::YoungerThan])
    );
}

#[tokio::test]
async fn protected_foreign_unknown_and_undated_images_are_never_deleted() {
    let mut images = fleet();
    images[4] = images[4].clone().with_protected(true); // web-4
    images[3].owner = Some("someone-else".into()); // web-3
    images[2].owner = None; // web-2: owner unknown is not owned
    let mut undated = dated("web-x", "web-20250101", 0);
    undated.created_at = None;
    images.push(undated);
    // The caller is known from the target; no owner filter, so foreign
    // images are listed and must be refused with a reason.
    let mut open = policy();
    open.owner = None;
    let mine = |images: Vec<Image>| target("m", InMemoryCatalog::from_images(images)).caller("me");
    let strict = open.clone().allow_unknown_usage(false);
    let plan = plan(&strict, &[mine(images.clone())], now()).await.unwrap();
    assert!(
        ids(&plan, Action::Delete).is_empty(),
        "usage is unknown everywhere"
    );
    let reasons = |plan: &Plan, id: &str| entry(&plan.entries, id).reasons.clone();
    assert_eq!(reasons(&plan, "db-4"), [Reason::UsageUnknown]);
    let plan = super::plan(&open, &[mine(images)], now()).await.unwrap();
    assert_eq!(ids(&plan, Action::Delete), ["db-2", "db-3", "db-4"]);
    assert_eq!(reasons(&plan, "web-4"), [Reason::Protected]);
    assert_eq!(reasons(&plan, "web-3"), [Reason::NotOwned]);
    assert_eq!(reasons(&plan, "web-2"), [Reason::NotOwned]);
    assert_eq!(reasons(&plan, "web-x"), [Reason::Undated]);
    // Without any caller identity nothing is owned.
    let mut anonymous = policy();
    anonymous.owner = None;
    let plan = super::plan(
        &anonymous,
        &[target("m", InMemoryCatalog::from_images(fleet()))],
        now(),
    )
    .await
    .unwrap();
    assert!(ids(&plan, Action::Delete).is_empty());
}

#[tokio::test]
async fn a_fan_out_plans_each_catalog_separately() {
    // Same names in both: each catalog keeps its own newest two.
    let a = target("a", InMemoryCatalog::from_images(fleet()));
    let b = target("b", InMemoryCatalog::from_images(fleet()[..3].to_vec()));
    let plan = plan(&policy(), &[a, b], now()).await.unwrap();
    let deletes: Vec<(String, String)> = plan
        .deletes()
        .map(|e| (e.catalog.clone(), e.id.to_string()))
        .collect();
    assert_eq!(deletes.iter().filter(|(c, _)| c == "a").count(), 6);
    assert_eq!(
        deletes.iter().filter(|(c, _)| c == "b").collect::<Vec<_>>(),
        [&("b".to_owned(), "web-2".to_owned())]
    );
}

#[tokio::test]
async fn apply_deletes_exactly_the_plan_and_a_second_run_plans_nothing() {
    let catalog = Arc::new(InMemoryCatalog::from_images(fleet()));
    let dynamic: DynImageCatalog = catalog.clone();
    let targets = [PlanTarget::new("m", dynamic.clone())];
    let plan = plan(&policy(), &targets, now()).await.unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let saved: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(saved, plan);
    // Someone re-uploads db-2 in between: the apply skips it as changed.
    let mut changed = catalog
        .source()
        .snapshot()
        .into_iter()
        .find(|i| i.id.as_str() == "db-2")
        .unwrap();
    catalog.source().remove(&changed.id);
    changed.updated_at = Some(now());
    catalog.source().insert(changed);
    let seen = Mutex::new(Vec::new());
    let catalogs = HashMap::from([("m".to_owned(), dynamic.clone())]);
    let (done, summary) = apply(saved, &catalogs, &ApplyOptions::default(), &|e| {
        seen.lock().unwrap().push(e.id.to_string())
    })
    .await;
    assert_eq!(
        seen.lock().unwrap().len(),
        plan.entries.len(),
        "one observation per entry"
    );
    assert_eq!((summary.deleted, summary.failed), (5, 0));
    let db2 = entry(&done.entries, "db-2");
    assert_eq!(
        (db2.result, db2.skip_reasons.clone()),
        (Some(Outcome::Skipped), vec![Reason::Changed])
    );
    let left: HashSet<String> = catalog
        .source()
        .snapshot()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    let expected: HashSet<String> = ["web-0", "web-1", "db-0", "db-1", "db-2"]
        .map(String::from)
        .into();
    assert_eq!(left, expected);
    let again = super::plan(&policy(), &targets, now()).await.unwrap();
    assert_eq!(
        ids(&again, Action::Delete),
        ["db-2"],
        "only the changed image is left to plan"
    );
    // Applying the same plan twice: everything already done.
    let (_, twice) = apply(plan, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((twice.deleted, twice.failed), (0, 0));
    assert_eq!(twice.already_deleted, 5);
}

/// A catalog that logs each request with its (paused) time, rate-limits
/// its first delete and refuses some deletes outright.
#[derive(Debug)]
struct Flaky {
    inner: InMemoryCatalog,
    log: Mutex<Vec<(Instant, String)>>,
    limited: Mutex<bool>,
    broken: HashSet<String>,
}

#[async_trait]
impl ImageCatalog for Flaky {
    fn info(&self) -> CatalogInfo {
        self.inner.info()
    }
    fn list(&self, query: ListQuery) -> ImageStream {
        let s: BoxStream<'static, Result<Image>> = self.inner.list(query);
        s
    }
    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.log
            .lock()
            .unwrap()
            .push((Instant::now(), format!("get {id}")));
        self.inner.get(id).await
    }
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.log
            .lock()
            .unwrap()
            .push((Instant::now(), format!("delete {id}")));
        if std::mem::replace(&mut *self.limited.lock().unwrap(), false) {
            return Err(Error::RateLimited {
                backend: BackendKind::Memory,
                retry_after: Some(Duration::from_secs(2)),
                code: None,
                message: "slow down".into(),
            });
        }
        if self.broken.contains(id.as_str()) {
            return Err(Error::Api {
                backend: BackendKind::Memory,
                status: Some(500),
                code: "E500".into(),
                message: "boom".into(),
            });
        }
        self.inner.delete(id).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_worker_and_one_failure_does_not_stop_the_rest() {
    let flaky = Arc::new(Flaky {
        inner: InMemoryCatalog::from_images(fleet()),
        log: Mutex::new(Vec::new()),
        limited: Mutex::new(true),
        broken: HashSet::from(["web-3".to_owned()]),
    });
    let dynamic: DynImageCatalog = flaky.clone();
    let plan = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let start = Instant::now();
    let options = ApplyOptions::default().concurrency(4);
    let (done, summary) = apply(plan, &catalogs, &options, &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (5, 1));
    let failed = done
        .entries
        .iter()
        .find(|e| e.result == Some(Outcome::Failed))
        .unwrap();
    assert_eq!(failed.id.as_str(), "web-3");
    assert!(failed.error.as_deref().unwrap().contains("boom"));
    let log = flaky.log.lock().unwrap();
    let limited_at = log
        .iter()
        .position(|(_, what)| what.starts_with("delete"))
        .unwrap();
    // Every request after the 429, whichever worker sent it, waited out
    // the server's two seconds.
    for (at, what) in &log[limited_at + 1..] {
        assert!(
            *at >= start + Duration::from_secs(2),
            "{what} went out during the pause"
        );
    }
    assert!(log.len() > limited_at + 1);
}

#[tokio::test]
async fn in_use_images_are_kept_and_a_saved_plan_skips_an_image_that_came_into_use() {
    let catalog = Arc::new(
        InMemoryCatalog::from_images(fleet()).with_instances(vec![InstanceRef::booting(
            "i-1",
            "running",
            "web-2".into(),
        )]),
    );
    let dynamic: DynImageCatalog = catalog.clone();
    let strict = policy().allow_unknown_usage(false);
    let plan = plan(&strict, &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let web2 = entry(&plan.entries, "web-2");
    assert_eq!(
        (web2.action, web2.reasons.clone()),
        (Action::Keep, vec![Reason::InUse])
    );
    assert_eq!(
        ids(&plan, Action::Delete),
        ["db-2", "db-3", "db-4", "web-3", "web-4"]
    );
    // An instance boots db-2 after the plan was saved.
    let saved: Plan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    catalog
        .source()
        .insert_instance(InstanceRef::booting("i-2", "building", "db-2".into()));
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let (done, summary) = apply(saved, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (4, 0));
    let db2 = entry(&done.entries, "db-2");
    assert_eq!(
        (db2.result, db2.skip_reasons.clone()),
        (Some(Outcome::Skipped), vec![Reason::InUse])
    );
    assert!(
        catalog
            .source()
            .snapshot()
            .iter()
            .any(|i| i.id.as_str() == "db-2")
    );
}

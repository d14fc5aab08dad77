use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::BoxStream;
use tokio::time::Instant;

use super::*;
use crate::catalog::{CatalogInfo, Deleted, ImageCatalog, ImageStream};
use crate::error::{Error, ErrorKind, Result};
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

/// The entry of image `id` in a plan (or an applied plan).
fn entry<'a>(plan: &'a Plan, id: &str) -> &'a PlanEntry {
    plan.entries
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
    let web0 = entry(&plan, "web-0");
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
    let web2 = entry(&plan2, "web-2");
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
    let reasons = |plan: &Plan, id: &str| entry(plan, id).reasons.clone();
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
    let db2 = entry(&done, "db-2");
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
            return Err(Error::new(ErrorKind::RateLimited, "slow down")
                .with_backend(BackendKind::Memory)
                .with_retry_after(Duration::from_secs(2)));
        }
        if self.broken.contains(id.as_str()) {
            return Err(Error::new(ErrorKind::Api, "boom")
                .with_backend(BackendKind::Memory)
                .with_status(500)
                .with_code("E500".to_owned()));
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
    let web2 = entry(&plan, "web-2");
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
    let db2 = entry(&done, "db-2");
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

/// A catalog that says who the caller is (as DCMGR's account header does).
#[derive(Debug)]
struct As {
    inner: Arc<InMemoryCatalog>,
    account: &'static str,
}

#[async_trait]
impl ImageCatalog for As {
    fn info(&self) -> CatalogInfo {
        self.inner.info()
    }
    fn list(&self, query: ListQuery) -> ImageStream {
        self.inner.list(query)
    }
    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.inner.get(id).await
    }
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.inner.delete(id).await
    }
    async fn caller(&self) -> Result<Option<String>> {
        Ok(Some(self.account.to_owned()))
    }
}

fn left(catalog: &InMemoryCatalog) -> HashSet<String> {
    catalog
        .source()
        .snapshot()
        .iter()
        .map(|i| i.id.to_string())
        .collect()
}

#[tokio::test]
async fn apply_reevaluates_the_policy_so_a_family_keeps_its_newest_n() {
    let catalog = Arc::new(InMemoryCatalog::from_images(fleet()));
    let dynamic: DynImageCatalog = catalog.clone();
    let saved = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    assert_eq!(
        ids(&saved, Action::Delete),
        ["db-2", "db-3", "db-4", "web-2", "web-3", "web-4"]
    );
    // After the plan, someone deletes web's two newest: keep 2 now means
    // web-2 and web-3 stay.
    catalog.source().remove(&ImageId::from("web-0"));
    catalog.source().remove(&ImageId::from("web-1"));
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let (done, summary) = apply(saved, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (4, 0));
    for id in ["web-2", "web-3"] {
        let e = entry(&done, id);
        assert_eq!(
            (e.result, e.skip_reasons.clone()),
            (Some(Outcome::Skipped), vec![Reason::Newest]),
            "{id}"
        );
    }
    let expected: HashSet<String> = ["web-2", "web-3", "db-0", "db-1"].map(String::from).into();
    assert_eq!(left(&catalog), expected);
}

#[tokio::test]
async fn a_hand_edited_plan_deletes_only_what_the_policy_selects_once() {
    let mut images = fleet();
    // Not a candidate of the policy (being built), and so never planned.
    let mut queued = dated("q-1", "q-20250101", 90);
    queued.status = ImageStatus::Queued;
    images.push(queued);
    let catalog = Arc::new(InMemoryCatalog::from_images(images));
    let dynamic: DynImageCatalog = catalog.clone();
    let mut saved = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let at = |plan: &Plan, id: &str| {
        plan.entries
            .iter()
            .position(|e| e.id.as_str() == id)
            .unwrap()
    };
    // web-0 turned to delete, its reasons left saying newest.
    let w0 = at(&saved, "web-0");
    saved.entries[w0].action = Action::Delete;
    // web-1 turned to delete consistently: the policy still keeps it.
    let w1 = at(&saved, "web-1");
    saved.entries[w1].action = Action::Delete;
    saved.entries[w1].reasons = vec![Reason::Selected];
    // An id the policy does not select, added as a delete.
    let mut extra = saved.entries[at(&saved, "web-4")].clone();
    extra.id = ImageId::from("q-1");
    saved.entries.push(extra);
    // db-2 twice (once in another spelling of its id).
    let mut twice = saved.entries[at(&saved, "db-2")].clone();
    twice.id = ImageId::from(" DB-2 ");
    saved.entries.push(twice);
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let (done, summary) = apply(saved, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    let skipped = |id: &str| {
        let e = entry(&done, id);
        assert_eq!(e.result, Some(Outcome::Skipped), "{id}");
        e.skip_reasons.clone()
    };
    assert_eq!(skipped("web-0"), [Reason::ContradictsReasons]);
    assert_eq!(skipped("web-1"), [Reason::Newest]);
    assert_eq!(skipped("q-1"), [Reason::NotSelected]);
    // The first db-2 entry stands for the image; its repeat is skipped.
    assert_eq!(skipped(" DB-2 "), [Reason::Duplicate]);
    assert_eq!(entry(&done, "db-2").result, Some(Outcome::Deleted));
    // web-2, web-3, web-4, db-2, db-3 and db-4, each once.
    assert_eq!((summary.deleted, summary.failed), (6, 0));
    let expected: HashSet<String> = ["web-0", "web-1", "db-0", "db-1", "q-1"]
        .map(String::from)
        .into();
    assert_eq!(left(&catalog), expected);
}

#[tokio::test]
async fn a_plan_is_bound_to_the_identity_of_its_catalogs() {
    let inner = Arc::new(InMemoryCatalog::from_images(fleet()));
    let mine: DynImageCatalog = Arc::new(As {
        inner: inner.clone(),
        account: "me",
    });
    let theirs: DynImageCatalog = Arc::new(As {
        inner: inner.clone(),
        account: "them",
    });
    // The caller comes from the catalog, not from the policy.
    let mut no_owner = policy();
    no_owner.owner = None;
    let target = PlanTarget::new("m", mine.clone()).caller("me");
    let saved = plan(&no_owner, &[target], now()).await.unwrap();
    assert_eq!(saved.deletes().count(), 6);
    let recorded = &saved.catalogs["m"];
    assert_eq!(recorded.account.as_deref(), Some("me"));
    let json = serde_json::to_string(&saved).unwrap();
    assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), saved);

    let elsewhere = HashMap::from([("m".to_owned(), theirs)]);
    let e = check_identities(&saved, &elsewhere).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("\"me\"") && text.contains("\"them\""),
        "{text}"
    );
    let (done, summary) = apply(saved.clone(), &elsewhere, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (0, 6));
    assert!(
        done.deletes()
            .all(|e| e.error.as_deref().is_some_and(|m| m.contains("them")))
    );
    assert_eq!(
        left(&inner).len(),
        10,
        "nothing deleted on another identity"
    );

    // A plan that records no identity is refused too.
    let mut unbound = saved.clone();
    unbound.catalogs.clear();
    let here = HashMap::from([("m".to_owned(), mine)]);
    assert!(matches!(
        check_identities(&unbound, &here).await,
        Err(PlanError::Unbound { .. })
    ));
    let (_, summary) = apply(unbound, &here, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (0, 6));
    // The same identity applies.
    check_identities(&saved, &here).await.unwrap();
    let (_, summary) = apply(saved, &here, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (6, 0));
}

#[tokio::test]
async fn a_plain_name_is_never_part_of_a_captured_family() {
    // `web` (no timestamp) is its own family: keep 1 keeps it and the
    // newest `web-<date>`; it neither counts as nor displaces one of them.
    let images = vec![
        dated("plain", "web", 0),
        dated("w-new", "web-20260301", 30),
        dated("w-old", "web-20260201", 60),
    ];
    let t = target("m", InMemoryCatalog::from_images(images));
    let p = plan(&policy().keep(1), &[t], now()).await.unwrap();
    assert_eq!(ids(&p, Action::Delete), ["w-old"]);
    assert_eq!(entry(&p, "plain").reasons, [Reason::Newest]);
    assert_eq!(entry(&p, "w-new").reasons, [Reason::Newest]);
}

#[tokio::test]
async fn an_age_past_the_earliest_date_is_an_error_not_a_dropped_cutoff() {
    let t = target("m", InMemoryCatalog::from_images(fleet()));
    let e = plan(&policy().older_than("20000000w"), &[t], now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("earliest representable"), "{e}");
}

#[test]
fn every_reason_is_written_as_it_is_shown() {
    for r in [
        Reason::Newest,
        Reason::YoungerThan,
        Reason::Undated,
        Reason::Protected,
        Reason::NotOwned,
        Reason::InUse,
        Reason::UsageUnknown,
        Reason::AlreadyDeleted,
        Reason::Changed,
        Reason::Selected,
        Reason::ContradictsReasons,
        Reason::NotSelected,
        Reason::Duplicate,
        Reason::Stopped,
        Reason::RetireNotSupported,
        Reason::AlreadyRetired,
        Reason::NotRetired,
        Reason::RetiredRecently,
        Reason::RetireUndone,
        Reason::RetiredAtUnknown,
        Reason::LaunchedSinceRetired,
        Reason::LaunchUnknown,
    ] {
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str(), "{r:?}");
    }
}

/// The fleet with sizes: every image `1 GiB + n MiB` but `db-4`, whose
/// size the catalog does not report.
fn sized_fleet() -> Vec<Image> {
    fleet()
        .into_iter()
        .enumerate()
        .map(|(n, image)| {
            if image.id.as_str() == "db-4" {
                image
            } else {
                image.with_size_bytes((1 << 30) + (n as u64) * (1 << 20))
            }
        })
        .collect()
}

/// The known sizes of these ids in the sized fleet, and how many are unknown.
fn sizes_of(ids: &[String]) -> (u64, usize) {
    let fleet = sized_fleet();
    let mut bytes = 0;
    let mut unknown = 0;
    for id in ids {
        let image = fleet.iter().find(|i| i.id.as_str() == id).unwrap();
        match image.size_bytes {
            Some(n) => bytes += n,
            None => unknown += 1,
        }
    }
    (bytes, unknown)
}

#[tokio::test]
async fn the_freed_bytes_are_the_sum_of_the_deletes_and_unknown_sizes_are_said() {
    // "used": instances listable (none use the fleet): its deletes free
    // bytes; "blind": cannot list instances, every candidate is kept as
    // usage-unknown.
    let used = Arc::new(InMemoryCatalog::from_images(sized_fleet()).with_instances(Vec::new()));
    let blind = Arc::new(InMemoryCatalog::from_images(sized_fleet()));
    let targets = [
        PlanTarget::new("used", used.clone() as DynImageCatalog),
        PlanTarget::new("blind", blind.clone() as DynImageCatalog),
    ];
    let policy = policy().allow_unknown_usage(false);
    let plan = plan(&policy, &targets, now()).await.unwrap();
    let planned: Vec<String> = plan.deletes().map(|e| e.id.to_string()).collect();
    assert_eq!(planned.len(), 6, "{planned:?}");
    assert!(plan.deletes().all(|e| e.catalog == "used"));
    let (bytes, unknown) = sizes_of(&planned);
    assert_eq!(unknown, 1, "db-4 is among the deletes");
    let sizes = plan.sizes();
    assert!(!sizes.applied);
    let freed = sizes.catalogs["used"].freed;
    assert_eq!(
        (freed.images, freed.bytes, freed.size_unknown),
        (6, bytes, 1)
    );
    assert_eq!(sizes.total.freed, freed);
    // The same six are kept on "blind" because nobody can tell their usage.
    let kept: Vec<String> = plan
        .entries
        .iter()
        .filter(|e| e.reasons.contains(&Reason::UsageUnknown))
        .map(|e| e.id.to_string())
        .collect();
    let held = sizes.catalogs["blind"].kept_unknown_usage;
    assert_eq!(
        (held.images, held.bytes, held.size_unknown),
        (kept.len() as u64, sizes_of(&kept).0, 1)
    );
    assert_eq!(sizes.catalogs["blind"].freed.images, 0);
    let lines = sizes.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[2].starts_with(&format!(
            "total: {} ({bytes} B) would be freed by 6 deletes, 1 of unknown size; ",
            human_bytes(bytes)
        )),
        "{lines:?}"
    );
    // After the apply: what was deleted, by the catalog's own account.
    let catalogs = HashMap::from([
        ("used".to_owned(), used.clone() as DynImageCatalog),
        ("blind".to_owned(), blind.clone() as DynImageCatalog),
    ]);
    let (_, summary) = apply(plan, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    let left: HashSet<String> = used
        .source()
        .snapshot()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    let gone: Vec<String> = sized_fleet()
        .iter()
        .map(|i| i.id.to_string())
        .filter(|id| !left.contains(id))
        .collect();
    assert_eq!(gone.len(), summary.deleted);
    let freed = summary.sizes.total.freed;
    assert!(summary.sizes.applied);
    assert_eq!(
        (freed.images, freed.bytes, freed.size_unknown),
        (
            gone.len() as u64,
            sizes_of(&gone).0,
            sizes_of(&gone).1 as u64
        )
    );
}

#[tokio::test]
async fn a_saved_plan_without_sizes_still_applies_its_sizes_unknown() {
    let catalog = Arc::new(InMemoryCatalog::from_images(sized_fleet()));
    let dynamic: DynImageCatalog = catalog.clone();
    let plan = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let mut json = serde_json::to_value(&plan).unwrap();
    for entry in json["entries"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("size_bytes").unwrap();
    }
    let old: Plan = serde_json::from_value(json).unwrap();
    let freed = old.sizes().total.freed;
    assert_eq!((freed.images, freed.bytes, freed.size_unknown), (6, 0, 6));
    assert!(old.sizes().lines()[0].starts_with("m: unknown size would be freed by 6 deletes;"));
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let (_, summary) = apply(old, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!((summary.deleted, summary.failed), (6, 0));
    assert_eq!(summary.sizes.total.freed.size_unknown, 6);
}

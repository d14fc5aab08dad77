//! The executor's guarantees of "what is printed is what happened": the
//! audit log written ahead (and a failing one stopping the run), lost
//! answers looked up and never retried, a bare 404 never taken for proof,
//! one DELETE per image and run, a cancel stopping new DELETEs.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::catalog::{CatalogInfo, Deleted, ImageCatalog, ImageStream};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{BackendKind, Image, ImageId, ImageStatus, Visibility};
use crate::query::ListQuery;
use crate::{InMemoryCatalog, async_trait};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap()
}

/// Five images of family `app`, 10 to 50 days old: the newest is kept,
/// `app-2`..`app-5` are deleted.
fn images() -> Vec<Image> {
    (1..=5)
        .map(|n| {
            Image::new(
                format!("app-{n}"),
                BackendKind::Memory,
                ImageStatus::Active,
                "active",
            )
            .with_name(format!("app-2026{:04}", 400 - n))
            .with_owner("me")
            .with_visibility(Visibility::Private)
            .with_created_at(now() - chrono::Duration::days(10 * n))
        })
        .collect()
}

fn policy() -> RetentionPolicy {
    RetentionPolicy::default()
        .group_by("regex:^(.+)-\\d{8}$".parse().unwrap())
        .keep(1)
        .owner("me")
        .allow_unknown_usage(true)
}

/// How the scripted catalog answers a DELETE.
#[derive(Debug, Clone)]
enum OnDelete {
    /// Deletes and answers.
    Normal,
    /// Deletes, then the connection drops (the answer is lost).
    PerformThenDrop,
    /// Does nothing and times out.
    TimeOutUntouched,
    /// A proxy's bare 404: nothing proved, nothing done.
    Bare404,
    /// Cancels the run while this DELETE is in flight, then either answers
    /// (deleting) or never answers.
    CancelThen(Cancel, bool),
}

/// A memory catalog whose requests go to one shared event log (with the
/// audit records of [`Recorder`]), scripted per id.
#[derive(Debug)]
struct Scripted {
    inner: InMemoryCatalog,
    events: Arc<Mutex<Vec<String>>>,
    on_delete: HashMap<String, OnDelete>,
    /// Ids whose GET answers a bare 404.
    bare_get: Vec<String>,
    /// The look-up after a lost answer fails too.
    get_fails_after_delete: bool,
}

impl Scripted {
    fn new(events: &Arc<Mutex<Vec<String>>>) -> Self {
        Scripted {
            inner: InMemoryCatalog::from_images(images()),
            events: events.clone(),
            on_delete: HashMap::new(),
            bare_get: Vec::new(),
            get_fails_after_delete: false,
        }
    }

    fn log(&self, what: String) {
        self.events.lock().unwrap().push(what);
    }
}

fn sent(events: &Mutex<Vec<String>>) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| e.strip_prefix("delete ").map(str::to_owned))
        .collect()
}

fn bare_404() -> Error {
    // What `HttpResponse::undocumented_error` makes of a proxy's HTML 404.
    Error::new(
        ErrorKind::NotFound,
        "HTTP 404 without a memory error document (text/html)",
    )
    .with_backend(BackendKind::Memory)
}

#[async_trait]
impl ImageCatalog for Scripted {
    fn info(&self) -> CatalogInfo {
        self.inner.info()
    }
    fn list(&self, query: ListQuery) -> ImageStream {
        self.inner.list(query)
    }
    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.log(format!("get {id}"));
        if self.bare_get.iter().any(|b| b == id.as_str()) {
            return Err(bare_404());
        }
        let deleted_before = self
            .events
            .lock()
            .unwrap()
            .contains(&format!("delete {id}"));
        if self.get_fails_after_delete && deleted_before {
            return Err(Error::new(ErrorKind::Transport, "connection refused")
                .with_backend(BackendKind::Memory));
        }
        self.inner.get(id).await
    }
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.log(format!("delete {id}"));
        let lost = || Error::new(ErrorKind::Transport, "connection closed before the answer");
        match self
            .on_delete
            .get(id.as_str())
            .cloned()
            .unwrap_or(OnDelete::Normal)
        {
            OnDelete::Normal => self.inner.delete(id).await,
            OnDelete::PerformThenDrop => {
                self.inner.delete(id).await?;
                Err(lost().with_backend(BackendKind::Memory))
            }
            OnDelete::TimeOutUntouched => {
                Err(Error::new(ErrorKind::Timeout, "no answer within 30s")
                    .with_backend(BackendKind::Memory))
            }
            OnDelete::Bare404 => Err(bare_404()),
            OnDelete::CancelThen(cancel, answer) => {
                cancel.cancel();
                if answer {
                    tokio::task::yield_now().await;
                    self.inner.delete(id).await
                } else {
                    std::future::pending().await
                }
            }
        }
    }
}

/// An audit sink writing into the shared event log; its `fail_at`-th
/// record (counting from 0) fails, once: the ones after it would succeed,
/// so only the executor's stop keeps further DELETEs from going out.
#[derive(Debug)]
struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
    written: Mutex<usize>,
    fail_at: usize,
}

impl AuditSink for Recorder {
    fn record(&self, stage: AuditStage, entry: &PlanEntry) -> io::Result<()> {
        let mut written = self.written.lock().unwrap();
        *written += 1;
        if *written - 1 == self.fail_at {
            return Err(io::Error::other("disk full"));
        }
        let result = entry.result.map_or("-", |r| r.as_str());
        self.events
            .lock()
            .unwrap()
            .push(format!("{} {} {result}", stage.as_str(), entry.id));
        Ok(())
    }
}

async fn run(catalog: Scripted, options: ApplyOptions) -> (Plan, ApplySummary) {
    let dynamic: DynImageCatalog = Arc::new(catalog);
    let plan = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    apply(plan, &catalogs, &options, &|_| {}).await
}

fn result_of(plan: &Plan, id: &str) -> (Option<Outcome>, Option<Lookup>, Vec<Reason>) {
    let e = plan.entries.iter().find(|e| e.id.as_str() == id).unwrap();
    (e.result, e.lookup, e.skip_reasons.clone())
}

fn position(events: &[String], what: &str) -> usize {
    events
        .iter()
        .position(|e| e.starts_with(what))
        .unwrap_or_else(|| panic!("no {what:?} in {events:?}"))
}

#[tokio::test]
async fn the_intent_is_recorded_before_each_delete_and_the_outcome_after() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::new(Recorder {
        events: events.clone(),
        written: Mutex::new(0),
        fail_at: usize::MAX,
    });
    let options = ApplyOptions::default().concurrency(3).audit(recorder);
    let (_, summary) = run(Scripted::new(&events), options).await;
    assert_eq!((summary.deleted, summary.sent), (4, 4));
    assert!(summary.ok());
    let events = events.lock().unwrap().clone();
    for n in 2..=5 {
        let intent = position(&events, &format!("intent app-{n} -"));
        let delete = position(&events, &format!("delete app-{n}"));
        let outcome = position(&events, &format!("outcome app-{n} deleted"));
        assert!(intent < delete && delete < outcome, "{events:?}");
    }
    // The kept image has an outcome record and no intent.
    assert!(events.contains(&"outcome app-1 skipped".to_owned()));
    assert!(!events.iter().any(|e| e.starts_with("intent app-1")));
}

#[tokio::test]
async fn a_failing_audit_log_stops_every_further_delete() {
    let events = Arc::new(Mutex::new(Vec::new()));
    // One at a time, in plan order: app-1 kept (its outcome), app-2's
    // intent, then app-2's outcome cannot be written.
    let recorder = Arc::new(Recorder {
        events: events.clone(),
        written: Mutex::new(0),
        fail_at: 2,
    });
    let options = ApplyOptions::default().concurrency(1).audit(recorder);
    let catalog = Scripted::new(&events);
    let (done, summary) = run(catalog, options).await;
    assert_eq!(sent(&events), ["app-2"], "{events:?}");
    assert_eq!(summary.sent, 1);
    assert_eq!(summary.deleted, 1);
    assert_eq!(summary.stopped, 3);
    assert!(
        summary
            .audit_error
            .as_deref()
            .unwrap()
            .contains("disk full")
    );
    assert!(!summary.ok());
    for id in ["app-3", "app-4", "app-5"] {
        assert_eq!(
            result_of(&done, id),
            (Some(Outcome::Skipped), None, vec![Reason::Stopped])
        );
    }
}

#[tokio::test]
async fn a_delete_whose_intent_cannot_be_written_is_never_sent() {
    let events = Arc::new(Mutex::new(Vec::new()));
    // app-1 kept (its outcome written), then app-2's intent fails: app-2's
    // DELETE is not sent, nor any after it.
    let recorder = Arc::new(Recorder {
        events: events.clone(),
        written: Mutex::new(0),
        fail_at: 1,
    });
    let options = ApplyOptions::default().concurrency(1).audit(recorder);
    let (done, summary) = run(Scripted::new(&events), options).await;
    assert!(sent(&events).is_empty(), "{events:?}");
    assert_eq!((summary.sent, summary.deleted, summary.stopped), (0, 0, 4));
    assert!(!summary.ok());
    for id in ["app-2", "app-3", "app-4", "app-5"] {
        assert_eq!(
            result_of(&done, id),
            (Some(Outcome::Skipped), None, vec![Reason::Stopped])
        );
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_real_full_disk_sends_no_delete() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let full = std::fs::OpenOptions::new()
        .append(true)
        .open("/dev/full")
        .unwrap();
    let options = ApplyOptions::default()
        .concurrency(1)
        .audit(Arc::new(AuditLog::new(full)));
    let (done, summary) = run(Scripted::new(&events), options).await;
    assert!(sent(&events).is_empty(), "{events:?}");
    assert_eq!((summary.sent, summary.stopped, summary.deleted), (0, 4, 0));
    assert!(summary.audit_error.is_some());
    assert!(done.deletes().all(|e| e.skip_reasons == [Reason::Stopped]));
}

#[tokio::test]
async fn a_lost_answer_is_unknown_looked_up_once_and_never_retried() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut catalog = Scripted::new(&events);
    catalog.on_delete = HashMap::from([
        ("app-2".to_owned(), OnDelete::PerformThenDrop),
        ("app-3".to_owned(), OnDelete::TimeOutUntouched),
    ]);
    let (done, summary) = run(catalog, ApplyOptions::default()).await;
    // Performed, answer lost; the look-up proves it gone.
    assert_eq!(
        result_of(&done, "app-2"),
        (Some(Outcome::Unknown), Some(Lookup::Gone), vec![])
    );
    // Not performed; the look-up finds it still there (so far): unknown
    // all the same, the server may yet process the request.
    assert_eq!(
        result_of(&done, "app-3"),
        (Some(Outcome::Unknown), Some(Lookup::Present), vec![])
    );
    assert_eq!(
        (summary.unknown, summary.failed, summary.deleted),
        (2, 0, 2)
    );
    assert!(!summary.ok());
    let mut deletes = sent(&events);
    deletes.sort();
    assert_eq!(deletes, ["app-2", "app-3", "app-4", "app-5"], "a retry");
}

#[tokio::test]
async fn a_lost_answer_whose_look_up_fails_stays_unknown() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut catalog = Scripted::new(&events);
    catalog.on_delete = HashMap::from([("app-2".to_owned(), OnDelete::PerformThenDrop)]);
    catalog.get_fails_after_delete = true;
    let (done, summary) = run(catalog, ApplyOptions::default()).await;
    assert_eq!(
        result_of(&done, "app-2"),
        (Some(Outcome::Unknown), Some(Lookup::Failed), vec![])
    );
    assert_eq!(summary.unknown, 1);
}

#[tokio::test]
async fn a_bare_404_is_never_proof_that_an_image_is_gone() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut catalog = Scripted::new(&events);
    // The re-check's GET of app-2 meets a proxy's 404: kept, not "already
    // deleted", and no DELETE is sent for it.
    catalog.bare_get = vec!["app-2".to_owned()];
    // The DELETE of app-3 is answered by a proxy's 404: failed, not done.
    catalog.on_delete = HashMap::from([("app-3".to_owned(), OnDelete::Bare404)]);
    let (done, summary) = run(catalog, ApplyOptions::default()).await;
    assert_eq!(result_of(&done, "app-2").0, Some(Outcome::Failed));
    assert_eq!(result_of(&done, "app-3").0, Some(Outcome::Failed));
    assert_eq!((summary.already_deleted, summary.failed), (0, 2));
    assert!(!sent(&events).contains(&"app-2".to_owned()));
    // The backend's own not-found (the memory catalog's) is proof.
    assert!(Error::not_found(BackendKind::Memory, &"x".into()).proves_absence());
    assert!(!bare_404().proves_absence());
}

#[tokio::test]
async fn the_same_image_twice_in_one_run_is_one_delete() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let dynamic: DynImageCatalog = Arc::new(Scripted::new(&events));
    let mut plan = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    let twice = plan
        .entries
        .iter()
        .find(|e| e.id.as_str() == "app-3")
        .cloned();
    plan.entries.push(twice.unwrap());
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let options = ApplyOptions::default().concurrency(4);
    let (done, summary) = apply(plan, &catalogs, &options, &|_| {}).await;
    let deletes = sent(&events);
    assert_eq!(deletes.iter().filter(|d| *d == "app-3").count(), 1);
    assert_eq!(summary.deleted, 4);
    assert_eq!(
        result_of(
            &Plan {
                entries: done.entries[5..].to_vec(),
                ..done.clone()
            },
            "app-3"
        ),
        (Some(Outcome::Skipped), None, vec![Reason::Duplicate])
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancel_sends_no_new_delete_and_records_the_one_in_flight() {
    for answers in [true, false] {
        let events = Arc::new(Mutex::new(Vec::new()));
        let cancel = Cancel::new();
        let mut catalog = Scripted::new(&events);
        catalog.on_delete = HashMap::from([(
            "app-2".to_owned(),
            OnDelete::CancelThen(cancel.clone(), answers),
        )]);
        let options = ApplyOptions::default()
            .concurrency(1)
            .cancel(cancel)
            .grace(Duration::from_secs(5));
        let (done, summary) = run(catalog, options).await;
        assert_eq!(sent(&events), ["app-2"], "a DELETE after the cancel");
        let expected = if answers {
            Outcome::Deleted
        } else {
            Outcome::Unknown
        };
        assert_eq!(result_of(&done, "app-2").0, Some(expected));
        assert!(summary.cancelled && !summary.ok());
        assert_eq!(summary.stopped, 3);
        for id in ["app-3", "app-4", "app-5"] {
            assert_eq!(result_of(&done, id).2, [Reason::Stopped]);
        }
    }
}

/// A memory catalog whose delete names a snapshot beside the image and
/// records the options it was given.
#[derive(Debug)]
struct Detailed {
    inner: InMemoryCatalog,
    options: Mutex<Vec<crate::catalog::DeleteOptions>>,
}

#[async_trait]
impl ImageCatalog for Detailed {
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
    async fn delete_with(
        &self,
        id: &ImageId,
        options: &crate::catalog::DeleteOptions,
    ) -> Result<crate::catalog::DeleteOutcome> {
        use crate::catalog::{DeleteDetail, DeleteOutcome, DetailResult};
        self.options.lock().unwrap().push(*options);
        let deleted = self.inner.delete(id).await?;
        let result = if options.keep_snapshots {
            DetailResult::Kept
        } else {
            DetailResult::Deleted
        };
        Ok(DeleteOutcome::new(
            deleted,
            vec![DeleteDetail::new(
                "snapshot",
                format!("snap-of-{id}"),
                result,
            )],
        ))
    }
}

/// The plan's delete options reach every delete, and what each delete
/// says of its other resources lands in the entry and its audit record.
#[tokio::test]
async fn the_plans_delete_options_reach_the_catalog_and_the_details_the_audit() {
    let catalog = Arc::new(Detailed {
        inner: InMemoryCatalog::from_images(images()),
        options: Mutex::new(Vec::new()),
    });
    let dynamic: DynImageCatalog = catalog.clone();
    let mut planned = plan(&policy(), &[PlanTarget::new("m", dynamic.clone())], now())
        .await
        .unwrap();
    planned.delete = crate::catalog::DeleteOptions::new().keep_snapshots(true);
    let text = serde_json::to_string(&planned).unwrap();
    assert!(
        text.contains("\"keep_snapshots\":true"),
        "the plan records it"
    );
    let catalogs = HashMap::from([("m".to_owned(), dynamic)]);
    let (done, summary) = apply(planned, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert_eq!(summary.deleted, 4);
    let seen = catalog.options.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|o| o.keep_snapshots), "{seen:?}");
    let entry = done
        .entries
        .iter()
        .find(|e| e.id.as_str() == "app-2")
        .unwrap();
    assert_eq!(entry.details.len(), 1);
    assert_eq!(entry.details[0].id, "snap-of-app-2");
    assert_eq!(entry.details[0].result, crate::catalog::DetailResult::Kept);
    let record = audit_record(AuditStage::Outcome, entry);
    assert_eq!(record["details"][0]["id"], "snap-of-app-2");
    assert_eq!(record["details"][0]["result"], "kept");
    // An entry without details has no such field (other backends' records
    // are unchanged).
    let kept = done
        .entries
        .iter()
        .find(|e| e.id.as_str() == "app-1")
        .unwrap();
    assert!(
        audit_record(AuditStage::Outcome, kept)
            .get("details")
            .is_none()
    );
}

//! The executor: applies a [`Plan`]'s deletes with bounded concurrency,
//! re-checking each image right before its delete, slowing every worker
//! when the server rate-limits one, and carrying on past failures. Each
//! DELETE is preceded by its audit intent record and followed by its
//! outcome record; a lost answer is `unknown`, checked by a look-up; one
//! DELETE per catalog and id and run; a cancel or an unwritable audit log
//! stops new DELETEs.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use super::audit::{AuditSink, AuditStage};
use super::cancel::Cancel;
use super::gate::RateGate;
use super::plan::{Action, Lookup, Outcome, Plan, PlanEntry, Reason, blockers, mode_gate};
use super::policy::{Mode, RetentionPolicy};
use super::sizes::PlanSizes;
use super::usage_scan;
use crate::catalog::{DeleteDetail, DeleteOptions, Deleted, DynImageCatalog};
use crate::error::{Error, ErrorKind, Result};
use crate::ext::ImageCatalogExt;
use crate::model::{ImageId, ImageStatus};
use crate::retire::RetireRequest;

/// How an apply runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Deletes in flight at once (at least 1; default 4).
    pub concurrency: usize,
    /// Attempts per request when rate-limited (default 5).
    pub attempts: u32,
    /// The pause after a 429 without `Retry-After` (default 1 s, doubled
    /// per attempt).
    pub backoff: Duration,
    /// The audit log, written ahead (`None`: none).
    pub audit: Option<Arc<dyn AuditSink>>,
    /// Cancels the run: no new DELETE starts after it.
    pub cancel: Cancel,
    /// How long an in-flight DELETE may still take after a cancel before it
    /// is recorded as `unknown` (default 10 s).
    pub grace: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            attempts: 5,
            backoff: Duration::from_secs(1),
            audit: None,
            cancel: Cancel::new(),
            grace: Duration::from_secs(10),
        }
    }
}

impl ApplyOptions {
    /// Sets the concurrency (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the pause after a 429 without `Retry-After`.
    pub fn backoff(mut self, pause: Duration) -> Self {
        self.backoff = pause;
        self
    }

    /// Sets the audit log the run writes ahead.
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Sets the cancellation token.
    pub fn cancel(mut self, token: Cancel) -> Self {
        self.cancel = token;
        self
    }

    /// Sets the grace of in-flight DELETEs after a cancel.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

/// Counts of an apply, for the summary line and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplySummary {
    /// Deleted now.
    pub deleted: usize,
    /// Already gone.
    pub already_deleted: usize,
    /// Kept by the plan or refused by a re-check.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Sent, answer lost: may have happened.
    pub unknown: usize,
    /// Retired now.
    pub retired: usize,
    /// Planned deletes never sent because the run stopped (also counted
    /// in `skipped`).
    pub stopped: usize,
    /// DELETE requests sent.
    pub sent: usize,
    /// The run was cancelled.
    pub cancelled: bool,
    /// The first audit record that could not be written, if any.
    pub audit_error: Option<String>,
    /// The bytes the run freed (the images it deleted) and the bytes of the
    /// images kept because their usage is unknown, per catalog and in total.
    pub sizes: PlanSizes,
}

impl ApplySummary {
    /// Whether every planned delete succeeded or was already done (a
    /// re-check skip is not a failure), nothing is unknown, the run was not
    /// cancelled and the audit log holds every record.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.unknown == 0 && !self.cancelled && self.audit_error.is_none()
    }

    /// The one summary line (`3 deleted, 0 already deleted, …`; a run
    /// that retired images starts with `N retired, `).
    pub fn line(&self) -> String {
        let mut line = if self.retired > 0 {
            format!("{} retired, ", self.retired)
        } else {
            String::new()
        };
        line += &format!(
            "{} deleted, {} already deleted, {} skipped, {} failed, {} unknown (may have happened)",
            self.deleted, self.already_deleted, self.skipped, self.failed, self.unknown
        );
        if self.cancelled {
            line.push_str(&format!(
                "; cancelled: {} planned deletes not sent",
                self.stopped
            ));
        }
        if let Some(e) = &self.audit_error {
            line.push_str(&format!(
                "; audit log failed ({e}): {} planned deletes not sent",
                self.stopped
            ));
        }
        line
    }

    fn count(&mut self, entry: &PlanEntry) {
        let Some(outcome) = entry.result else { return };
        match outcome {
            Outcome::Deleted => self.deleted += 1,
            Outcome::AlreadyDeleted => self.already_deleted += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Unknown => self.unknown += 1,
            Outcome::Retired => self.retired += 1,
        }
        if entry.skip_reasons.contains(&Reason::Stopped) {
            self.stopped += 1;
        }
    }
}

/// The state one run shares between its workers: what was claimed, whether
/// it must stop, the first audit failure.
#[derive(Debug, Default)]
struct Run {
    claimed: Mutex<HashSet<(String, ImageId)>>,
    audit_failed: AtomicBool,
    audit_error: Mutex<Option<String>>,
    sent: std::sync::atomic::AtomicUsize,
}

impl Run {
    fn halted(&self, options: &ApplyOptions) -> bool {
        options.cancel.is_cancelled() || self.audit_failed.load(Ordering::SeqCst)
    }

    /// Claims the one DELETE of a catalog and id in this run: false when
    /// an earlier entry holds it (the hard invariant: never two DELETEs).
    fn claim(&self, catalog: &str, id: &ImageId) -> bool {
        self.claimed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((catalog.to_owned(), id.clone()))
    }

    /// Writes a record; a failure stops the run (no further DELETE).
    fn record(&self, options: &ApplyOptions, stage: AuditStage, entry: &PlanEntry) -> bool {
        let Some(sink) = &options.audit else {
            return true;
        };
        match sink.record(stage, entry) {
            Ok(()) => true,
            Err(e) => {
                self.audit_failed.store(true, Ordering::SeqCst);
                tracing::error!(error = %e, "the audit log cannot be written: no further delete is sent");
                self.audit_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| e.to_string());
                false
            }
        }
    }
}

/// Applies a plan: every `delete` entry is first checked against the plan
/// itself, the catalog's identity and the plan's policy evaluated again on
/// fresh data (a saved plan is an upper bound), then re-checked (same id, same
/// status and updated time as planned, not protected, owned, fresh usage
/// not in use; the caller is the plan's) and deleted; `keep` entries are skipped. Entries of a
/// catalog missing from `catalogs` fail. Each DELETE is preceded by an
/// audit intent record and every entry ends with an outcome record
/// (`options.audit`); a catalog and id is deleted at most once per run; after
/// a cancel or a failed audit record no further DELETE is sent (the rest is
/// skipped as `stopped`). `observe` sees each entry once
/// its result is set (the progress bar), in completion
/// order. Returns the plan with results, in plan order, and the counts.
pub async fn apply(
    mut plan: Plan,
    catalogs: &HashMap<String, DynImageCatalog>,
    options: &ApplyOptions,
    observe: &(dyn Fn(&PlanEntry) + Send + Sync),
) -> (Plan, ApplySummary) {
    let gate = RateGate::new(options);
    let run = Run::default();
    let policy = plan.policy.clone();
    let callers = plan.callers.clone();
    let delete = plan.delete;
    let mut summary = ApplySummary::default();
    // The plan against itself, its catalogs and its policy on fresh data.
    let verdicts = super::revalidate::revalidate(&plan, catalogs).await;
    let entries = std::mem::take(&mut plan.entries);
    let results: Vec<(usize, PlanEntry)> = futures::stream::iter(entries.into_iter().enumerate())
        .zip(futures::stream::iter(verdicts))
        .map(|((at, mut entry), verdict)| {
            let gate = &gate;
            let policy = &policy;
            let callers = &callers;
            let run = &run;
            let delete = &delete;
            async move {
                if entry.action == Action::Keep {
                    entry.result = Some(Outcome::Skipped);
                } else if verdict.settle(&mut entry) {
                    // Refused by the plan checks (revalidate.rs).
                } else if run.halted(options) {
                    entry.result = Some(Outcome::Skipped);
                    entry.skip_reasons = vec![Reason::Stopped];
                } else if !run.claim(&entry.catalog, &entry.id) {
                    entry.result = Some(Outcome::Skipped);
                    entry.skip_reasons = vec![Reason::Duplicate];
                } else {
                    let caller = callers
                        .get(&entry.catalog)
                        .map(String::as_str)
                        .or(policy.owner.as_deref());
                    match catalogs.get(&entry.catalog) {
                        None => {
                            entry.result = Some(Outcome::Failed);
                            entry.error = Some(format!(
                                "{}: no such catalog is open for this plan",
                                entry.catalog
                            ));
                        }
                        Some(catalog) => {
                            let step = Step {
                                catalog,
                                delete,
                                caller,
                                policy,
                                gate,
                                run,
                                options,
                            };
                            run_one(&mut entry, &step).await;
                        }
                    }
                }
                run.record(options, AuditStage::Outcome, &entry);
                observe(&entry);
                (at, entry)
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut ordered = results;
    ordered.sort_by_key(|(at, _)| *at);
    for (_, entry) in &ordered {
        summary.count(entry);
    }
    summary.sent = run.sent.load(Ordering::SeqCst);
    summary.cancelled = options.cancel.is_cancelled();
    summary.audit_error = run
        .audit_error
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    plan.entries = ordered.into_iter().map(|(_, e)| e).collect();
    summary.sizes = PlanSizes::applied(&plan.entries);
    (plan, summary)
}

/// What one delete entry runs with.
struct Step<'a> {
    catalog: &'a DynImageCatalog,
    delete: &'a DeleteOptions,
    caller: Option<&'a str>,
    policy: &'a RetentionPolicy,
    gate: &'a RateGate,
    run: &'a Run,
    options: &'a ApplyOptions,
}

async fn run_one(entry: &mut PlanEntry, step: &Step<'_>) {
    let sent = match recheck(entry, step).await {
        Ok(Checked::Ready) => {
            // Checked again after the (slow) re-check: a cancel or a failed
            // record since then stops this delete too.
            if step.run.halted(step.options) {
                entry.result = Some(Outcome::Skipped);
                entry.skip_reasons = vec![Reason::Stopped];
                return;
            }
            // Written ahead: no intent record, no DELETE.
            if !step.run.record(step.options, AuditStage::Intent, entry) {
                entry.result = Some(Outcome::Skipped);
                entry.skip_reasons = vec![Reason::Stopped];
                return;
            }
            step.run.sent.fetch_add(1, Ordering::SeqCst);
            if entry.action == Action::Retire {
                send_retire(entry, step).await
            } else {
                send_delete_with(
                    step.catalog,
                    &entry.id,
                    step.delete,
                    step.gate,
                    &step.options.cancel,
                    step.options.grace,
                )
                .await
            }
        }
        Ok(Checked::Gone) => Sent::of(Outcome::AlreadyDeleted),
        Ok(Checked::Refused(why)) => {
            entry.result = Some(Outcome::Skipped);
            entry.skip_reasons = why;
            return;
        }
        Err(e) => Sent {
            outcome: Outcome::Failed,
            lookup: None,
            error: Some(e),
            details: Vec::new(),
        },
    };
    entry.result = Some(sent.outcome);
    entry.lookup = sent.lookup;
    entry.details = sent.details;
    entry.error = sent.error.map(|e| e.to_string());
}

enum Checked {
    Ready,
    Gone,
    Refused(Vec<Reason>),
}

async fn recheck(entry: &PlanEntry, step: &Step<'_>) -> Result<Checked> {
    let image = match step.gate.call(|| step.catalog.get(&entry.id)).await {
        Ok(image) => image,
        // Only the backend's own not-found document proves it gone; a bare
        // 404 (a proxy's page) is an error, and the image is kept.
        Err(e) if e.proves_absence() => return Ok(Checked::Gone),
        Err(e) => return Err(e),
    };
    if image.status == ImageStatus::Deleted {
        return Ok(Checked::Gone);
    }
    let mut why = Vec::new();
    if image.id != entry.id || image.status != entry.status || image.updated_at != entry.updated_at
    {
        why.push(Reason::Changed);
    }
    // The mode's own rules on the fresh image: still retired long enough
    // and not launched since (phase two), not retired already (phase one).
    let mode = step.policy.mode().unwrap_or(Mode::Delete);
    if mode != Mode::Delete {
        let caps = step.catalog.info().capabilities;
        why.extend(mode_gate(mode, &caps, &image, chrono::Utc::now()));
    }
    // Fresh usage, never the plan's: an instance started since is seen.
    let scan = usage_scan(step.catalog, Some(&entry.id)).await;
    let usage = step.catalog.candidate_usage(&scan, &image).await;
    why.extend(blockers(
        &image,
        step.caller,
        &usage,
        step.policy.allow_unknown_usage,
    ));
    if !why.is_empty() {
        return Ok(Checked::Refused(why));
    }
    Ok(Checked::Ready)
}

/// Sends one retire through the gate (the plan's method, the retired-at
/// time now, the entry's replacement): `Retired`, or `Failed` with why; a
/// lost answer is `Unknown` (it may have happened; a retire is undone by
/// `restore`, so it is not looked up).
async fn send_retire(entry: &PlanEntry, step: &Step<'_>) -> Sent {
    let info = step.catalog.info();
    let method = match info.capabilities.retire {
        None => Err(crate::retire::not_supported(info.backend)),
        Some(support) => support.method(info.backend, step.policy.retire_method.as_deref()),
    };
    let method = match method {
        Ok(m) => m,
        Err(e) => {
            return Sent {
                outcome: Outcome::Failed,
                lookup: None,
                error: Some(e),
                details: Vec::new(),
            };
        }
    };
    let request =
        RetireRequest::new(method, chrono::Utc::now()).replacement(entry.replacement.clone());
    match step
        .gate
        .call(|| step.catalog.retire(&entry.id, &request))
        .await
    {
        Ok(()) => Sent::of(Outcome::Retired),
        Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => Sent {
            outcome: Outcome::Unknown,
            lookup: None,
            error: Some(e),
            details: Vec::new(),
        },
        Err(e) => Sent {
            outcome: Outcome::Failed,
            lookup: None,
            error: Some(e),
            details: Vec::new(),
        },
    }
}

/// What one DELETE did, as far as can be told: the outcome, what the
/// look-up after a lost answer found, and the error of a failed or unknown
/// delete.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sent {
    /// `Deleted`, `AlreadyDeleted`, `Failed` or `Unknown`.
    pub outcome: Outcome,
    /// What the look-up after a lost answer found.
    pub lookup: Option<Lookup>,
    /// Why it failed, or how the answer was lost.
    pub error: Option<Error>,
    /// Every other resource the delete touched (EC2's snapshots) and what
    /// happened to it, as the backend said.
    pub details: Vec<DeleteDetail>,
}

impl Sent {
    fn of(outcome: Outcome) -> Self {
        Sent {
            outcome,
            lookup: None,
            error: None,
            details: Vec::new(),
        }
    }

    fn with_details(mut self, details: Vec<DeleteDetail>) -> Self {
        self.details = details;
        self
    }
}

/// Sends one DELETE through the gate and tells what happened: a 429 is
/// retried by the gate (nothing was done); a lost answer (a broken
/// connection, a timeout) is never retried: it is `Unknown`, and looked up
/// once with a GET whose finding is recorded ([`Lookup::Gone`],
/// [`Lookup::Present`], [`Lookup::Failed`]); a not-found answer is `AlreadyDeleted` only when
/// it [proves absence](Error::proves_absence). After `cancel`, the DELETE
/// has `grace` to answer, then is `Unknown` (not looked up). The one send of
/// `apply` and of the CLI's `delete ID…`.
pub async fn send_delete(
    catalog: &DynImageCatalog,
    id: &ImageId,
    gate: &RateGate,
    cancel: &Cancel,
    grace: Duration,
) -> Sent {
    send_delete_with(catalog, id, &DeleteOptions::default(), gate, cancel, grace).await
}

/// [`send_delete`] with [`DeleteOptions`] (`keep_snapshots`), through
/// [`ImageCatalog::delete_with`](crate::ImageCatalog::delete_with): the
/// [`Sent`] carries the details the backend gave (each snapshot and what
/// happened to it).
pub async fn send_delete_with(
    catalog: &DynImageCatalog,
    id: &ImageId,
    options: &DeleteOptions,
    gate: &RateGate,
    cancel: &Cancel,
    grace: Duration,
) -> Sent {
    let delete = gate.call(|| catalog.delete_with(id, options));
    let bounded = async {
        cancel.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    let answer = tokio::select! {
        answer = delete => answer,
        () = bounded => {
            return Sent {
                outcome: Outcome::Unknown,
                lookup: None,
                error: Some(Error::new(
                    ErrorKind::Timeout,
                    format!("the run was cancelled and the DELETE of {id} had no answer within {:.1}s: it may have happened", grace.as_secs_f64()),
                ).with_backend(catalog.info().backend)),
                details: Vec::new(),
            };
        }
    };
    match answer {
        Ok(done) => {
            let outcome = match done.deleted {
                Deleted::Deleted => Outcome::Deleted,
                _ => Outcome::AlreadyDeleted,
            };
            Sent::of(outcome).with_details(done.details)
        }
        Err(e) if e.proves_absence() => Sent::of(Outcome::AlreadyDeleted),
        Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
            let lookup = match gate.call(|| catalog.get(id)).await {
                Ok(image) if image.status == ImageStatus::Deleted => Lookup::Gone,
                // A status we cannot read (`pending_delete`, `deleting`…)
                // says neither gone nor untouched.
                Ok(image) if matches!(image.status, ImageStatus::Unknown(_)) => Lookup::Failed,
                Ok(_) => Lookup::Present,
                Err(found) if found.proves_absence() => Lookup::Gone,
                Err(_) => Lookup::Failed,
            };
            // Whatever the look-up found, the outcome stays unknown: an
            // image still there may yet be deleted by a request the server
            // has not processed, one gone may have been deleted by another.
            Sent {
                outcome: Outcome::Unknown,
                lookup: Some(lookup),
                error: Some(e),
                details: Vec::new(),
            }
        }
        Err(e) => Sent {
            outcome: Outcome::Failed,
            lookup: None,
            error: Some(e),
            details: Vec::new(),
        },
    }
}

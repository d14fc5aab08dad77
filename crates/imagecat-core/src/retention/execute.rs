//! The executor: applies a [`Plan`]'s deletes with bounded concurrency,
//! re-checking each image right before its delete, slowing every worker
//! when the server rate-limits one, and carrying on past failures.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;

use super::gate::RateGate;
use super::plan::{Action, Outcome, Plan, PlanEntry, Reason, blockers};
use super::usage_scan;
use crate::catalog::{Deleted, DynImageCatalog};
use crate::error::{Error, ErrorKind, Result};

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
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            attempts: 5,
            backoff: Duration::from_secs(1),
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
}

/// Counts of an apply, for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

impl ApplySummary {
    /// Whether every planned delete succeeded or was already done (a
    /// re-check skip is not a failure).
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Deleted => self.deleted += 1,
            Outcome::AlreadyDeleted => self.already_deleted += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// Applies a plan: every `delete` entry is first checked against the plan
/// itself, the catalog's identity and the plan's policy evaluated again on
/// fresh data (a saved plan is an upper bound), then re-checked (same id, same
/// status and updated time as planned, not protected, owned, fresh usage
/// not in use; the caller is the plan's) and deleted; `keep` entries are skipped. Entries of a
/// catalog missing from `catalogs` fail. `observe` sees each entry once
/// its result is set (the audit log, the progress bar), in completion
/// order. Returns the plan with results, in plan order, and the counts.
pub async fn apply(
    mut plan: Plan,
    catalogs: &HashMap<String, DynImageCatalog>,
    options: &ApplyOptions,
    observe: &(dyn Fn(&PlanEntry) + Send + Sync),
) -> (Plan, ApplySummary) {
    let gate = RateGate::new(options);
    let policy = plan.policy.clone();
    let callers = plan.callers.clone();
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
            async move {
                if entry.action == Action::Keep {
                    entry.result = Some(Outcome::Skipped);
                } else if verdict.settle(&mut entry) {
                    // Refused by the plan checks (revalidate.rs).
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
                            let allow = policy.allow_unknown_usage;
                            run_one(&mut entry, catalog, caller, allow, gate).await;
                        }
                    }
                }
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
        if let Some(outcome) = entry.result {
            summary.count(outcome);
        }
    }
    plan.entries = ordered.into_iter().map(|(_, e)| e).collect();
    (plan, summary)
}

async fn run_one(
    entry: &mut PlanEntry,
    catalog: &DynImageCatalog,
    caller: Option<&str>,
    allow_unknown_usage: bool,
    gate: &RateGate,
) {
    let (outcome, why, error) =
        match recheck_and_delete(entry, catalog, caller, allow_unknown_usage, gate).await {
            Ok(Checked::Done(Deleted::Deleted)) => (Outcome::Deleted, Vec::new(), None),
            Ok(Checked::Done(_)) => (Outcome::AlreadyDeleted, Vec::new(), None),
            Ok(Checked::Refused(why)) => (Outcome::Skipped, why, None),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                (Outcome::AlreadyDeleted, Vec::new(), None)
            }
            Err(e) => (Outcome::Failed, Vec::new(), Some(e.to_string())),
        };
    entry.result = Some(outcome);
    entry.skip_reasons = why;
    entry.error = error;
}

enum Checked {
    Done(Deleted),
    Refused(Vec<Reason>),
}

async fn recheck_and_delete(
    entry: &PlanEntry,
    catalog: &DynImageCatalog,
    caller: Option<&str>,
    allow_unknown_usage: bool,
    gate: &RateGate,
) -> Result<Checked> {
    let image = gate.call(|| catalog.get(&entry.id)).await?;
    if image.status == crate::model::ImageStatus::Deleted {
        return Ok(Checked::Done(Deleted::AlreadyDeleted));
    }
    let mut why = Vec::new();
    if image.id != entry.id || image.status != entry.status || image.updated_at != entry.updated_at
    {
        why.push(Reason::Changed);
    }
    // Fresh usage, never the plan's: an instance started since is seen.
    let usage = usage_scan(catalog, Some(&entry.id)).await.usage_of(&image);
    why.extend(blockers(&image, caller, &usage, allow_unknown_usage));
    if !why.is_empty() {
        return Ok(Checked::Refused(why));
    }
    gate.call(|| catalog.delete(&entry.id))
        .await
        .map(Checked::Done)
        .or_else(|e: Error| match e.kind() {
            ErrorKind::NotFound => Ok(Checked::Done(Deleted::AlreadyDeleted)),
            _ => Err(e),
        })
}

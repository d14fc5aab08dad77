//! A saved plan is an upper bound, and anyone can edit its file. Before an
//! apply sends any DELETE, each planned delete is checked against the plan
//! itself (its own reasons, repeats), the catalog it was made on (the
//! recorded identity) and the plan's policy evaluated again on fresh data
//! by the same planner: an entry goes on to the per-image re-check only
//! when the plan and the fresh evaluation both say delete.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;

use super::identity::identify;
use super::plan::{Action, Outcome, Plan, PlanEntry, PlanError, PlanTarget, Reason, plan};
use crate::catalog::DynImageCatalog;
use crate::error::ErrorKind;
use crate::model::ImageStatus;

/// What the checks decided for one entry of the plan.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// On to the per-image re-check and the delete.
    Proceed,
    /// Never deleted, for these reasons.
    Skip(Vec<Reason>),
    /// The image is gone already: nothing to send.
    Gone,
    /// Not deleted: the checks could not be made (the error says why).
    Fail(String),
}

impl Verdict {
    /// Settles an entry the checks refused; `false` when it proceeds.
    pub(super) fn settle(&self, entry: &mut PlanEntry) -> bool {
        let (outcome, why, error) = match self {
            Verdict::Proceed => return false,
            Verdict::Skip(why) => (Outcome::Skipped, why.clone(), None),
            Verdict::Gone => (Outcome::AlreadyDeleted, Vec::new(), None),
            Verdict::Fail(error) => (Outcome::Failed, Vec::new(), Some(error.clone())),
        };
        entry.result = Some(outcome);
        entry.skip_reasons = why;
        entry.error = error;
        true
    }
}

/// The key an entry is known by: its catalog and its id, compared
/// without case or surrounding space (a repeat in another spelling is
/// still a repeat).
fn key(catalog: &str, id: &str) -> (String, String) {
    (catalog.to_owned(), id.trim().to_ascii_lowercase())
}

/// Refuses a plan applied to a catalog of the same name but another
/// identity than it was made on (or with no identity recorded) before
/// anything runs. Catalogs that are not open, or whose identity cannot be
/// read now, are left to the re-check at apply time (their deletes fail).
pub async fn check_identities(
    plan: &Plan,
    catalogs: &HashMap<String, DynImageCatalog>,
) -> Result<(), PlanError> {
    let names: BTreeSet<&str> = plan.acting().map(|e| e.catalog.as_str()).collect();
    for name in names {
        let Some(catalog) = catalogs.get(name) else {
            continue;
        };
        let Some(planned) = plan.catalogs.get(name) else {
            return Err(PlanError::Unbound {
                catalog: name.to_owned(),
            });
        };
        if let Ok(now) = identify(catalog).await {
            if &now != planned {
                return Err(PlanError::Identity {
                    catalog: name.to_owned(),
                    planned: Box::new(planned.clone()),
                    now: Box::new(now),
                });
            }
        }
    }
    Ok(())
}

/// One verdict per entry of the plan, in plan order (`Proceed` for keeps,
/// which the executor skips anyway).
pub(super) async fn revalidate(
    saved: &Plan,
    catalogs: &HashMap<String, DynImageCatalog>,
) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Proceed; saved.entries.len()];
    let deletes: Vec<usize> = (0..saved.entries.len())
        .filter(|&at| saved.entries[at].action != Action::Keep)
        .collect();
    if !saved.version_ok() {
        let e = format!(
            "the plan's version {} does not match what it does (its policy or its actions were edited)",
            saved.version
        );
        for &at in &deletes {
            verdicts[at] = Verdict::Fail(e.clone());
        }
        return verdicts;
    }
    if let Err(e) = saved.policy.validate() {
        for &at in &deletes {
            verdicts[at] = Verdict::Fail(e.to_string());
        }
        return verdicts;
    }
    // The plan against itself: repeats and contradicted reasons. The first
    // entry of an image stands for it; every later one is a repeat (one
    // DELETE per image, reported once).
    let mut first: HashMap<(String, String), usize> = HashMap::new();
    for (at, e) in saved.entries.iter().enumerate() {
        first.entry(key(&e.catalog, e.id.as_str())).or_insert(at);
    }
    for &at in &deletes {
        let e = &saved.entries[at];
        let mut why = Vec::new();
        if first[&key(&e.catalog, e.id.as_str())] != at {
            why.push(Reason::Duplicate);
        }
        if e.reasons != [Reason::Selected] {
            why.push(Reason::ContradictsReasons);
        }
        if !why.is_empty() {
            verdicts[at] = Verdict::Skip(why);
        }
    }
    // The plan against each catalog now: its identity, then the policy on
    // fresh data.
    let names: BTreeSet<&str> = deletes
        .iter()
        .filter(|&&at| verdicts[at] == Verdict::Proceed)
        .map(|&at| saved.entries[at].catalog.as_str())
        .collect();
    for name in names {
        // A catalog that is not open is failed by the executor.
        let Some(catalog) = catalogs.get(name) else {
            continue;
        };
        let verdict = fresh_verdicts(saved, name, catalog).await;
        for &at in &deletes {
            let e = &saved.entries[at];
            if e.catalog == name && verdicts[at] == Verdict::Proceed {
                verdicts[at] = match &verdict {
                    Err(error) => Verdict::Fail(error.clone()),
                    Ok(fresh) => match fresh.get(&key(name, e.id.as_str())) {
                        Some(f) if f.action == e.action => Verdict::Proceed,
                        Some(f) if f.action == Action::Keep => Verdict::Skip(f.reasons.clone()),
                        // A delete where the policy retires, or the reverse.
                        Some(_) => Verdict::Skip(vec![Reason::ContradictsReasons]),
                        None => absent(e, catalog).await,
                    },
                };
            }
        }
    }
    verdicts
}

/// The plan's policy on one catalog now, by entry key, once its identity
/// is checked; an error text when it cannot be evaluated.
async fn fresh_verdicts(
    saved: &Plan,
    name: &str,
    catalog: &DynImageCatalog,
) -> Result<HashMap<(String, String), PlanEntry>, String> {
    let planned = saved.catalogs.get(name).ok_or_else(|| {
        PlanError::Unbound {
            catalog: name.to_owned(),
        }
        .to_string()
    })?;
    let now = identify(catalog)
        .await
        .map_err(|e| format!("{name}: cannot tell which catalog this is: {e}"))?;
    if &now != planned {
        return Err(PlanError::Identity {
            catalog: name.to_owned(),
            planned: Box::new(planned.clone()),
            now: Box::new(now),
        }
        .to_string());
    }
    let mut target = PlanTarget::new(name, catalog.clone());
    target.caller = saved.callers.get(name).cloned();
    let fresh = plan(&saved.policy, &[target], Utc::now())
        .await
        .map_err(|e| format!("cannot evaluate the plan's policy again: {e}"))?;
    Ok(fresh
        .entries
        .into_iter()
        .map(|f| (key(name, f.id.as_str()), f))
        .collect())
}

/// A planned delete the fresh evaluation does not consider: gone, or an
/// image the policy does not select (a hand-added id).
async fn absent(entry: &PlanEntry, catalog: &DynImageCatalog) -> Verdict {
    match catalog.get(&entry.id).await {
        Ok(image) if image.status == ImageStatus::Deleted => Verdict::Gone,
        Ok(_) => Verdict::Skip(vec![Reason::NotSelected]),
        Err(e) if e.kind() == ErrorKind::NotFound => Verdict::Gone,
        Err(e) => Verdict::Fail(e.to_string()),
    }
}

//! `imagecat apply FILE`: a plan saved by `prune --plan-out`, applied
//! through the same path as `prune --apply`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;
use imagecat::retention::{self, Plan, PlanEntry};
use imagecat::{DynImageCatalog, NamedCatalog};

use super::prune::{RunArgs, run_plan};
use crate::exit::CliError;
use crate::sanitize::for_terminal;
use crate::session::Session;

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The plan file (JSON).
    file: PathBuf,
    /// How it is applied.
    #[command(flatten)]
    run: RunArgs,
}

/// `apply FILE`: a saved plan through [`run_plan`], always applied.
pub(crate) async fn run(session: &Session, args: ApplyArgs) -> Result<(), CliError> {
    session.check::<PlanEntry>()?;
    let ctx = session.open().await?;
    let file = &args.file;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(&format!("cannot read plan {}: {e}", file.display())))?;
    let mut plan: Plan = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(&format!("plan {}: {e}", file.display())))?;
    let known = [retention::PLAN_VERSION, retention::RETIRE_PLAN_VERSION];
    if !known.contains(&plan.version) {
        return Err(CliError::usage(&format!(
            "plan {} has version {}; this imagecat reads versions {} (deletes) and {} \
             (retire, delete retired); a version 1 plan records no catalog identity: \
             make a new plan with prune --plan-out",
            file.display(),
            plan.version,
            retention::PLAN_VERSION,
            retention::RETIRE_PLAN_VERSION,
        )));
    }
    if !plan.version_ok() {
        return Err(CliError::usage(&format!(
            "plan {} has version {}, which does not match what it does (version {} retires \
             or deletes retired images, version {} only deletes): it was edited; make a new plan",
            file.display(),
            plan.version,
            retention::RETIRE_PLAN_VERSION,
            retention::PLAN_VERSION,
        )));
    }
    // `--keep-snapshots` keeps more than the plan said, never less.
    plan.delete.keep_snapshots |= args.run.keep_snapshots;
    check_saved_plan(&ctx.catalogs, &plan, file).await?;
    run_plan(&ctx.catalogs, &ctx.view, plan, true, &args.run).await
}

/// The checks of a saved plan before anything is asked or deleted: its
/// policy is valid, and every catalog it deletes on is the one it was made
/// on (same endpoint and account).
async fn check_saved_plan(
    catalogs: &[NamedCatalog],
    plan: &Plan,
    file: &Path,
) -> Result<(), CliError> {
    plan.policy
        .validate()
        .map_err(|e| CliError::usage(&format!("plan {}: {e}", file.display())))?;
    let open: HashMap<String, DynImageCatalog> = catalogs
        .iter()
        .map(|c| (c.name.clone(), c.catalog.clone()))
        .collect();
    retention::check_identities(plan, &open)
        .await
        .map_err(|e| CliError::usage(&for_terminal(&e.to_string())))
}

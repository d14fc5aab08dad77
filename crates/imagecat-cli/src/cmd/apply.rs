//! `imagecat apply FILE`: a plan saved by `prune --plan-out`, applied
//! through the same path as `prune --apply`.

use std::path::PathBuf;

use clap::Args;
use imagecat::retention::{self, Plan, PlanEntry};

use super::prune::{RunArgs, run_plan};
use crate::exit::CliError;
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
    let ctx = session.open()?;
    let file = &args.file;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(&format!("cannot read plan {}: {e}", file.display())))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(&format!("plan {}: {e}", file.display())))?;
    if plan.version != retention::PLAN_VERSION {
        return Err(CliError::usage(&format!(
            "plan {} has version {}; this imagecat reads version {}",
            file.display(),
            plan.version,
            retention::PLAN_VERSION
        )));
    }
    run_plan(&ctx.catalogs, &ctx.view, plan, true, &args.run).await
}

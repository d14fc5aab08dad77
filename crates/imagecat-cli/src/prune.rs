//! `prune` and `apply`: a retention policy planned, printed, saved and
//! applied. The dry run and the real run are one path: [`run_plan`] prints
//! the plan and, only with `--apply` (or `apply FILE`), hands the very same
//! plan object to the core executor.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use imagecat::chrono::Utc;
use imagecat::retention::{
    self, Action, ApplyOptions, ApplySummary, AuditLog, Plan, PlanEntry, PlanTarget,
    RetentionPolicy,
};
use imagecat::{DynImageCatalog, ImageCatalog, ImageStatus, NamedCatalog};

use crate::cli::{Format, GroupArgs, status_parser};
use crate::exit::{CliError, ExitCode};
use crate::output::write_columns;
use crate::progress::Progress;
use crate::sanitize::{TABLE_CELL_WIDTH, cell, for_terminal};
use crate::signals::Signals;

/// The policy flags of `prune` (over `--policy FILE`, which they override).
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// A policy file (TOML, YAML or JSON, by extension); flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Only images whose name matches (exact or a glob).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) name: Option<String>,
    /// Only this owner's images; also who you are (an image is yours when
    /// its owner is this). Where the catalog says who you are (DCMGR's
    /// account), that is used without it, and a different value is an error.
    #[arg(long, value_name = "O")]
    pub(crate) owner: Option<String>,
    /// Only images whose property KEY is VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = crate::cli::parse_property)]
    pub(crate) property: Vec<(String, String)>,
    /// Candidate statuses (repeatable; default active and deactivated).
    #[arg(long, value_name = "S", value_parser = status_parser())]
    pub(crate) status: Vec<ImageStatus>,
    /// Families (default: by exact name).
    #[command(flatten)]
    pub(crate) group: GroupArgs,
    /// Keep the newest N of each family (by created time).
    #[arg(long, value_name = "N")]
    pub(crate) keep: Option<u32>,
    /// Keep images younger than AGE (`30d`, `12h`, `2w`).
    #[arg(long, value_name = "AGE")]
    pub(crate) older_than: Option<String>,
    /// Also delete images whose usage is unknown.
    #[arg(long)]
    pub(crate) allow_unknown_usage: bool,
    /// Write the plan as JSON to FILE (for `imagecat apply FILE`).
    #[arg(long, value_name = "FILE")]
    pub(crate) plan_out: Option<PathBuf>,
    /// Delete the plan's deletes (asks on a terminal, or needs --yes).
    #[arg(long)]
    pub(crate) apply: bool,
    /// The apply flags.
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// How a plan is applied (`prune --apply` and `apply FILE`).
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Do not ask; required when stdin is not a terminal.
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
    /// Append one NDJSON record per action taken or skipped to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Deletes in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
}

impl PruneArgs {
    /// The policy: the file's, then the flags over it.
    fn policy(&self) -> Result<RetentionPolicy, CliError> {
        let mut p = match &self.policy {
            Some(path) => read_policy(path)?,
            None => RetentionPolicy::default(),
        };
        if let Some(name) = &self.name {
            p.name = Some(name.clone());
        }
        if let Some(owner) = &self.owner {
            p.owner = Some(owner.clone());
        }
        p.properties.extend(self.property.iter().cloned());
        if !self.status.is_empty() {
            p.statuses = self.status.clone();
        }
        if let Some(group) = self.group.group() {
            p.group_by = group;
        }
        p.keep = self.keep.or(p.keep);
        p.older_than = self.older_than.clone().or(p.older_than);
        p.allow_unknown_usage |= self.allow_unknown_usage;
        p.validate().map_err(|e| CliError::usage(&e.to_string()))?;
        Ok(p)
    }
}

fn read_policy(path: &Path) -> Result<RetentionPolicy, CliError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(&format!("cannot read policy {shown}: {e}")))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let parsed = match ext {
        "toml" => toml::from_str(&text).map_err(|e| e.to_string()),
        "yaml" | "yml" => serde_norway::from_str(&text).map_err(|e| e.to_string()),
        "json" => serde_json::from_str(&text).map_err(|e| e.to_string()),
        _ => Err("the extension must be .toml, .yaml, .yml or .json".to_owned()),
    };
    parsed.map_err(|e| CliError::usage(&format!("policy {shown}: {e}")))
}

/// `prune POLICY…`: plans every catalog separately, then [`run_plan`].
pub(crate) async fn prune(
    catalogs: &[NamedCatalog],
    format: Format,
    args: &PruneArgs,
) -> Result<(), CliError> {
    let policy = args.policy()?;
    let targets = targets(catalogs, &policy).await?;
    let plan = retention::plan(&policy, &targets, Utc::now())
        .await
        .map_err(|e| CliError::new(ExitCode::Failure, e.to_string()))?;
    if let Some(path) = &args.plan_out {
        let text = serde_json::to_string_pretty(&plan).map_err(io::Error::other)?;
        std::fs::write(path, text + "\n").map_err(|e| {
            CliError::new(
                ExitCode::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    run_plan(catalogs, format, plan, args.apply, &args.run).await
}

/// `apply FILE`: a saved plan through [`run_plan`], always applied.
pub(crate) async fn apply_file(
    catalogs: &[NamedCatalog],
    format: Format,
    file: &Path,
    run: &RunArgs,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(&format!("cannot read plan {}: {e}", file.display())))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(&format!("plan {}: {e}", file.display())))?;
    if plan.version != retention::PLAN_VERSION {
        return Err(CliError::usage(&format!(
            "plan {} has version {}; this imagecat reads version {} (a version 1 plan \
             records no catalog identity: make a new plan with prune --plan-out)",
            file.display(),
            plan.version,
            retention::PLAN_VERSION
        )));
    }
    check_saved_plan(catalogs, &plan, file).await?;
    run_plan(catalogs, format, plan, true, run).await
}

/// One plan target per catalog, with who the caller is: the backend's own
/// answer when it gives one (said on stderr), else `--owner`. An `--owner`
/// that contradicts the backend is a usage error.
async fn targets(
    catalogs: &[NamedCatalog],
    policy: &RetentionPolicy,
) -> Result<Vec<PlanTarget>, CliError> {
    let mut targets = Vec::new();
    for c in catalogs {
        let mut target = PlanTarget::new(c.name.clone(), c.catalog.clone());
        let caller = c.catalog.caller().await.map_err(|e| {
            CliError::new(
                ExitCode::Failure,
                format!("{}: cannot tell who you are: {e}", c.name),
            )
        })?;
        match (caller, policy.owner.as_deref()) {
            (Some(me), Some(owner)) if me != owner => {
                return Err(CliError::usage(&format!(
                    "{}: --owner {} contradicts the catalog, which says you are {}",
                    c.name,
                    for_terminal(&format!("{owner:?}")),
                    for_terminal(&format!("{me:?}")),
                )));
            }
            (Some(me), owner) => {
                if owner.is_none() {
                    eprintln!(
                        "{}: you are {} (as the catalog says); images owned by it are yours",
                        c.name,
                        for_terminal(&format!("{me:?}"))
                    );
                }
                target = target.caller(me);
            }
            (None, _) => {}
        }
        targets.push(target);
    }
    Ok(targets)
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

/// The one path of the dry run and the real run: print the plan; when
/// `apply`, confirm, execute this same plan and print its results.
pub(crate) async fn run_plan(
    catalogs: &[NamedCatalog],
    format: Format,
    plan: Plan,
    apply: bool,
    run: &RunArgs,
) -> Result<(), CliError> {
    let deletes = plan.deletes().count();
    let mut out = io::stdout().lock();
    if !apply || format == Format::Table {
        write_plan(&mut out, format, &plan.entries)?;
    }
    if !apply {
        eprintln!(
            "plan: {deletes} to delete, {} kept; nothing deleted (dry run; --apply to delete)",
            plan.entries.len() - deletes
        );
        return Ok(());
    }
    if deletes > 0 && !run.yes {
        if !io::stdin().is_terminal() {
            return Err(CliError::usage(
                "refusing to delete without --yes: stdin is not a terminal to ask on",
            ));
        }
        if !crate::commands::confirm(&format!("Delete these {deletes} images? [y/N] "))? {
            eprintln!("nothing deleted");
            return Ok(());
        }
    }
    let open: HashMap<String, DynImageCatalog> = catalogs
        .iter()
        .map(|c| (c.name.clone(), c.catalog.clone()))
        .collect();
    let mut options = ApplyOptions::default().concurrency(usize::from(run.concurrency));
    if let Some(path) = &run.audit_log {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                CliError::usage(&format!("cannot open audit log {}: {e}", path.display()))
            })?;
        options = options.audit(Arc::new(AuditLog::new(file)));
    }
    let progress = Progress::new(format, "images", Some(plan.entries.len() as u64));
    let observe = |_: &PlanEntry| progress.inc(1);
    let signals = Signals::install();
    options = options.cancel(signals.cancel());
    let (done, summary) = retention::apply(plan, &open, &options, &observe).await;
    progress.finish();
    // The results go to stdout; the summary to stderr whatever became of
    // them (a closed pipe included).
    let printed = write_plan(&mut out, format, &done.entries);
    finish(&summary, signals.exit_code(), printed)
}

/// The summary line on stderr, always, then the exit: the signal's code
/// after a cancel, a failure when a record of the audit log or the results
/// could not be written, a partial failure when a delete failed or may have
/// happened.
fn finish(
    s: &ApplySummary,
    signal: Option<ExitCode>,
    printed: io::Result<()>,
) -> Result<(), CliError> {
    let line = s.line();
    eprintln!("{line}");
    let done = |code, line: String| Err(CliError::new(code, line).already_reported());
    if let Some(code) = signal {
        return done(code, line);
    }
    if let Some(e) = &s.audit_error {
        return Err(CliError::new(ExitCode::Failure, format!("audit log: {e}")));
    }
    if let Err(e) = printed {
        if e.kind() != io::ErrorKind::BrokenPipe || !s.ok() {
            return Err(CliError::new(
                if s.ok() {
                    ExitCode::Failure
                } else {
                    ExitCode::PartialFanOut
                },
                format!(
                    "the results could not be written to stdout ({e}); the summary above is what happened"
                ),
            ));
        }
    }
    if s.ok() {
        Ok(())
    } else {
        done(ExitCode::PartialFanOut, line)
    }
}

fn write_plan(out: &mut impl Write, format: Format, entries: &[PlanEntry]) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, entries)?;
            writeln!(out)
        }
        Format::Ndjson => {
            for e in entries {
                serde_json::to_writer(&mut *out, e)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Yaml => serde_norway::to_writer(&mut *out, entries).map_err(io::Error::other),
        Format::Table | Format::Csv | Format::Value => {
            let with_result = entries.iter().any(|e| e.result.is_some());
            let mut header = [
                "CATALOG", "ID", "NAME", "FAMILY", "CREATED", "ACTION", "REASONS",
            ]
            .map(str::to_owned)
            .to_vec();
            if with_result {
                header.push("RESULT".into());
            }
            let rows: Vec<Vec<String>> = entries.iter().map(|e| row(e, with_result)).collect();
            match format {
                Format::Csv => {
                    let mut w = csv::Writer::from_writer(&mut *out);
                    w.write_record(&header)?;
                    for r in &rows {
                        w.write_record(r)?;
                    }
                    w.flush()
                }
                Format::Value => {
                    for r in &rows {
                        let line: Vec<_> = r.iter().map(|c| for_terminal(c)).collect();
                        writeln!(out, "{}", line.join(" "))?;
                    }
                    Ok(())
                }
                _ if rows.is_empty() => writeln!(out, "no images match the policy"),
                _ => {
                    let cells = rows
                        .iter()
                        .map(|r| r.iter().map(|c| cell(c, TABLE_CELL_WIDTH)).collect());
                    write_columns(out, &header, cells)
                }
            }
        }
    }
}

fn row(e: &PlanEntry, with_result: bool) -> Vec<String> {
    let words =
        |rs: &[retention::Reason]| rs.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
    let mut r = vec![
        e.catalog.clone(),
        e.id.to_string(),
        e.name.clone().unwrap_or_else(|| "-".into()),
        e.family.clone().unwrap_or_else(|| "-".into()),
        e.created_at
            .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
        match e.action {
            Action::Keep => "keep".into(),
            Action::Delete => "delete".into(),
        },
        words(&e.reasons),
    ];
    if with_result {
        let mut result = e.result.map_or("-", |o| o.as_str()).to_owned();
        if !e.skip_reasons.is_empty() {
            result = format!("{result} ({})", words(&e.skip_reasons));
        }
        if e.result == Some(retention::Outcome::Unknown) {
            result.push_str(" (may have happened)");
        }
        if let Some(lookup) = e.lookup {
            result = format!("{result} [lookup: {}]", lookup.as_str());
        }
        if let Some(err) = &e.error {
            result = format!("{result}: {err}");
        }
        r.push(result);
    }
    r
}

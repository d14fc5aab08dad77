//! `prune` and `apply`: a retention policy planned, printed, saved and
//! applied. The dry run and the real run are one path: [`run_plan`] prints
//! the plan and, only with `--apply` (or `apply FILE`), hands the very same
//! plan object to the core executor.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use imagecat::chrono::Utc;
use imagecat::retention::{
    self, ApplyOptions, ApplySummary, AuditLog, Plan, PlanEntry, PlanTarget, RetentionPolicy,
};
use imagecat::{DeleteOptions, DynImageCatalog, ImageCatalog, NamedCatalog};

use crate::args::{FilterArgs, GroupArgs};
use crate::exit::{CliError, ExitCode};
use crate::output::{
    Column, EmptyTable, Format, Shown, Style, Tabular, View, emit, human_size, short_time,
};
use crate::progress::Progress;
use crate::sanitize::for_terminal;
use crate::session::{Session, confirm};
use crate::signals::Signals;

/// The policy flags of `prune` (over `--policy FILE`, which they override).
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// A policy file (TOML, YAML or JSON, by extension); flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// The candidates: --name, --owner (also who you are; where the
    /// catalog says who you are, that is used and a different --owner is an
    /// error), --property,
    /// --status (default active and deactivated) and --older-than (images
    /// younger are kept).
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Families (default: by exact name).
    #[command(flatten)]
    pub(crate) group: GroupArgs,
    /// Keep the newest N of each family (by created time).
    #[arg(long, value_name = "N")]
    pub(crate) keep: Option<u32>,
    /// Also delete images whose usage is unknown.
    #[arg(long)]
    pub(crate) allow_unknown_usage: bool,
    /// Phase one: retire the selected images instead of deleting them
    /// (reversibly unusable, the retired-at time stamped on each; undo with
    /// `imagecat restore`). A catalog that cannot retire plans nothing.
    #[arg(long, conflicts_with = "delete_retired_after")]
    pub(crate) retire: bool,
    /// The backend's way to retire (Glance: deactivate; EC2: disable or
    /// deprecate); default the backend's first.
    #[arg(long, value_name = "METHOD", requires = "retire")]
    pub(crate) retire_method: Option<String>,
    /// Phase two: delete only images retired at least AGE ago (`14d`),
    /// still retired, unused and not launched since; the rest is kept with
    /// a reason.
    #[arg(long, value_name = "AGE")]
    pub(crate) delete_retired_after: Option<String>,
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
    /// Keep the storage each image is made of (EC2: its EBS snapshots,
    /// otherwise deleted where no other AMI uses them). Recorded in the
    /// plan; on `apply FILE` it can only add to what the plan says.
    #[arg(long)]
    pub(crate) keep_snapshots: bool,
}

impl PruneArgs {
    /// The policy: the file's, then the flags over it.
    fn policy(&self) -> Result<RetentionPolicy, CliError> {
        let mut p = policy_of_flags(
            self.policy.as_deref(),
            &self.filter,
            &self.group,
            self.keep,
            self.allow_unknown_usage,
        )?;
        if self.retire {
            p.retire = true;
            p.delete_retired_after = None;
        }
        if let Some(method) = &self.retire_method {
            p.retire_method = Some(method.clone());
        }
        if let Some(age) = &self.delete_retired_after {
            p.delete_retired_after = Some(age.clone());
            p.retire = false;
        }
        p.validate().map_err(|e| CliError::usage(&e.to_string()))?;
        Ok(p)
    }
}

/// A retention policy from a policy file (if any) and the policy flags
/// over it, validated (`prune` and `report` read the same flags).
pub(crate) fn build_policy(
    file: Option<&Path>,
    f: &FilterArgs,
    group: &GroupArgs,
    keep: Option<u32>,
    allow_unknown_usage: bool,
) -> Result<RetentionPolicy, CliError> {
    let p = policy_of_flags(file, f, group, keep, allow_unknown_usage)?;
    p.validate().map_err(|e| CliError::usage(&e.to_string()))?;
    Ok(p)
}

/// [`build_policy`] before its validation (prune sets the retire phases
/// first).
pub(crate) fn policy_of_flags(
    file: Option<&Path>,
    f: &FilterArgs,
    group: &GroupArgs,
    keep: Option<u32>,
    allow_unknown_usage: bool,
) -> Result<RetentionPolicy, CliError> {
    let mut p = match file {
        Some(path) => read_policy(path)?,
        None => RetentionPolicy::default(),
    };
    let not_policy = [
        ("--visibility", f.visibility.is_some()),
        ("--size-min", f.size_min.is_some()),
        ("--size-max", f.size_max.is_some()),
        ("--created-before", f.created_before.is_some()),
        ("--created-after", f.created_after.is_some()),
        ("--updated-before", f.updated_before.is_some()),
        ("--updated-after", f.updated_after.is_some()),
        ("--newer-than", f.newer_than.is_some()),
        ("--tag", !f.tag.is_empty()),
    ];
    if let Some((flag, _)) = not_policy.iter().find(|(_, given)| *given) {
        return Err(CliError::usage(&format!(
            "{flag} is not a prune filter: a policy chooses by --name, --owner, --property, --status and --older-than"
        )));
    }
    if let Some(name) = &f.name {
        p.name = Some(name.clone());
    }
    if let Some(owner) = &f.owner {
        p.owner = Some(owner.clone());
    }
    p.properties.extend(f.property.iter().cloned());
    if !f.status.is_empty() {
        p.statuses = f.status.clone();
    }
    if let Some(group) = group.group() {
        p.group_by = group;
    }
    p.keep = keep.or(p.keep);
    p.older_than = f
        .older_than
        .as_ref()
        .map(|a| a.text.clone())
        .or(p.older_than);
    p.allow_unknown_usage |= allow_unknown_usage;
    Ok(p)
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
pub(crate) async fn run(session: &Session, args: PruneArgs) -> Result<(), CliError> {
    session.check::<PlanEntry>()?;
    let ctx = session.open().await?;
    let catalogs = &ctx.catalogs[..];
    let policy = args.policy()?;
    let targets = targets(catalogs, &policy).await?;
    let mut plan = retention::plan(&policy, &targets, Utc::now())
        .await
        .map_err(|e| CliError::new(ExitCode::Failure, e.to_string()))?;
    plan.delete = DeleteOptions::new().keep_snapshots(args.run.keep_snapshots);
    if let Some(path) = &args.plan_out {
        let text = serde_json::to_string_pretty(&plan).map_err(io::Error::other)?;
        std::fs::write(path, text + "\n").map_err(|e| {
            CliError::new(
                ExitCode::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    run_plan(catalogs, &ctx.view, plan, args.apply, &args.run).await
}

/// One plan target per catalog, with who the caller is: the backend's own
/// answer when it gives one (said on stderr), else `--owner`. An `--owner`
/// that contradicts the backend is a usage error.
pub(crate) async fn targets(
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

/// The one path of the dry run and the real run: print the plan; when
/// `apply`, confirm, execute this same plan and print its results.
pub(crate) async fn run_plan(
    catalogs: &[NamedCatalog],
    view: &View,
    plan: Plan,
    apply: bool,
    run: &RunArgs,
) -> Result<(), CliError> {
    let deletes = plan.acting().count();
    let verb = if plan.policy.retire {
        "retire"
    } else {
        "delete"
    };
    let format = view.format;
    let mut out = io::stdout().lock();
    say_retire(catalogs, &plan);
    if !apply || format == Format::Table {
        emit(&mut out, view, plan.entries.clone())?;
    }
    if !apply {
        eprintln!(
            "plan: {deletes} to {verb}, {} kept{}; nothing {verb}d (dry run; --apply to {verb})",
            plan.entries.len() - deletes,
            if plan.delete.keep_snapshots {
                " (snapshots kept)"
            } else {
                ""
            }
        );
        say_sizes(&plan.sizes());
        return Ok(());
    }
    if deletes > 0 && !run.yes {
        if !io::stdin().is_terminal() {
            return Err(CliError::usage(&format!(
                "refusing to {verb} without --yes: stdin is not a terminal to ask on"
            )));
        }
        let ask = format!("{}{verb}", verb[..1].to_uppercase(), verb = &verb[1..]);
        if !confirm(&format!("{ask} these {deletes} images? [y/N] "))? {
            eprintln!("nothing {verb}d");
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
    let printed = emit(&mut out, view, done.entries);
    finish(&summary, signals.exit_code(), printed)
}

/// The summary line on stderr, always, then the exit: the signal's code
/// after a cancel, a failure when a record of the audit log or the results
/// could not be written, a partial failure when a delete failed or may have
/// happened.
fn finish(
    s: &ApplySummary,
    signal: Option<ExitCode>,
    printed: Result<(), CliError>,
) -> Result<(), CliError> {
    let line = s.line();
    eprintln!("{line}");
    say_sizes(&s.sizes);
    let done = |code, line: String| Err(CliError::new(code, line).already_reported());
    if let Some(code) = signal {
        return done(code, line);
    }
    if let Some(e) = &s.audit_error {
        return Err(CliError::new(ExitCode::Failure, format!("audit log: {e}")));
    }
    if let Err(e) = printed {
        // A closed pipe with nothing failed is a success, as for `list`.
        if !e.is_closed_pipe() || !s.ok() {
            return Err(CliError::new(
                if s.ok() {
                    ExitCode::Failure
                } else {
                    ExitCode::PartialFanOut
                },
                format!(
                    "the results could not be written to stdout ({}); the summary above is what happened",
                    e.line()
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

/// The bytes freed (or to be freed) and kept for unknown usage, per
/// catalog and in total, on stderr (catalog names are server-chosen only
/// through the user's config, but sanitized like every other text).
fn say_sizes(sizes: &retention::PlanSizes) {
    for line in sizes.lines() {
        eprintln!("{}", for_terminal(&line));
    }
}

/// For a plan that retires or deletes retired images: on stderr, per
/// catalog, what retiring does there, or that it cannot retire (and so
/// nothing is planned there).
fn say_retire(catalogs: &[NamedCatalog], plan: &Plan) {
    if !plan.policy.retire && plan.policy.delete_retired_after.is_none() {
        return;
    }
    for c in catalogs {
        let info = c.catalog.info();
        let line = match info.capabilities.retire {
            None => format!(
                "{}: {} cannot retire images; nothing planned there",
                c.name, info.backend
            ),
            Some(support) => {
                match support.method(info.backend, plan.policy.retire_method.as_deref()) {
                    Ok(m) if plan.policy.retire => {
                        format!("{}: retire = {}: {}", c.name, m.name, m.does)
                    }
                    _ => format!(
                        "{}: retired images carry their time in {}",
                        c.name, support.stamp.key
                    ),
                }
            }
        };
        eprintln!("{}", for_terminal(&line));
    }
}

/// The words of reasons, comma-separated.
fn words(reasons: &[retention::Reason]) -> String {
    let words: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    words.join(",")
}

impl Tabular for PlanEntry {
    type Line = PlanEntry;
    const COLUMNS: &'static [Column<PlanEntry>] = &[
        Column::new("catalog", "CATALOG", |e| e.catalog.clone()),
        Column::new("id", "ID", |e| e.id.to_string()),
        Column::new("name", "NAME", |e| {
            e.name.clone().unwrap_or_else(|| "-".into())
        }),
        Column::new("family", "FAMILY", |e| {
            e.family.clone().unwrap_or_else(|| "-".into())
        }),
        Column::new("created_at", "CREATED", |e| {
            let shown = short_time(&e.created_at);
            if shown.is_empty() { "-".into() } else { shown }
        }),
        Column {
            human: Some(|e| e.size_bytes.map_or_else(|| "-".into(), human_size)),
            ..Column::new("size_bytes", "SIZE", |e| {
                e.size_bytes.map(|n| n.to_string()).unwrap_or_default()
            })
        },
        Column::new("action", "ACTION", |e| e.action.as_str().to_owned()),
        Column::new("reasons", "REASONS", |e| words(&e.reasons)),
        Column {
            shown: Shown::IfAny(|e| e.retired_at.is_some()),
            ..Column::new("retired_at", "RETIRED", |e| {
                let shown = short_time(&e.retired_at);
                if shown.is_empty() { "-".into() } else { shown }
            })
        },
        Column {
            shown: Shown::IfAny(|e| e.replacement.is_some()),
            ..Column::new("replacement", "REPLACEMENT", |e| {
                e.replacement
                    .as_ref()
                    .map_or_else(|| "-".into(), ToString::to_string)
            })
        },
        Column {
            shown: Shown::IfAny(|e| e.result.is_some()),
            ..Column::new("result", "RESULT", |e| {
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
                result
            })
        },
        Column {
            shown: Shown::IfAny(|e| !e.details.is_empty()),
            ..Column::new("details", "DETAILS", |e| {
                let details: Vec<String> = e.details.iter().map(ToString::to_string).collect();
                details.join("; ")
            })
        },
    ];
    const STYLE: Style = Style {
        empty_table: EmptyTable::Say("no images match the policy"),
        ..Style::of("plan entries")
    };
    fn each_line(&self, each: &mut dyn FnMut(&PlanEntry)) {
        each(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delete whose answer was lost says so in the table, with what the
    /// look-up afterwards found; the machine formats carry the same fields.
    #[test]
    fn an_unknown_result_is_shown_as_may_have_happened_with_its_lookup() {
        let entry: PlanEntry = serde_json::from_value(serde_json::json!({
            "catalog": "lab", "backend": "toast", "id": "img-1", "name": "web",
            "family": "web", "created_at": null, "updated_at": null,
            "status": "active", "action": "delete", "reasons": [],
            "result": "unknown", "lookup": "gone",
        }))
        .unwrap();
        let mut out = Vec::new();
        emit(&mut out, &View::new(Format::Table, false), vec![entry]).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(
            table.contains("unknown (may have happened) [lookup: gone]"),
            "{table}"
        );
    }
}

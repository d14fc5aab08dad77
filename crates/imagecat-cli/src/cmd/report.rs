//! `report`: one self-contained HTML page (or, with `-o json`/`yaml`, the
//! same figures as a document) over a set of catalogs. The figures are
//! gathered once by the core ([`imagecat::report::gather`]); both renderers
//! read that one [`Report`], so the page and the JSON cannot disagree.
//! Nothing is ever deleted: a policy is only planned (dry run).

mod html;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use imagecat::chrono::Utc;
use imagecat::golden::BuildKey;
use imagecat::report::{self, MatrixRule, Report};
use imagecat::retention::{PlanTarget, RetentionPolicy};

use crate::args::{FilterArgs, GroupArgs};
use crate::cmd::prune::{build_policy, targets};
use crate::exit::{CliError, ExitCode};
use crate::output::{Format, emit_document};
use crate::session::Session;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Write the page (or the JSON) to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The page's title.
    #[arg(long, value_name = "TEXT", default_value = "imagecat report")]
    title: String,
    /// A retention policy file to plan, dry run only (TOML, YAML or JSON);
    /// the prune flags below override it. Without a policy and without
    /// those flags, the report has no retention figures.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The golden matrix: what identifies a build, as in `golden`.
    #[arg(long, default_value = "name", value_parser = parse_by, value_name = "name|checksum|property:KEY|tag:GLOB")]
    by: BuildKey,
    /// The policy's candidates, as in `prune`: --name, --owner,
    /// --property, --status, --older-than.
    #[command(flatten)]
    filter: FilterArgs,
    /// The families, of the golden matrix and of the policy (default: by
    /// exact name).
    #[command(flatten)]
    group: GroupArgs,
    /// The policy keeps the newest N of each family.
    #[arg(long, value_name = "N")]
    keep: Option<u32>,
    /// The policy also deletes images whose usage is unknown.
    #[arg(long)]
    allow_unknown_usage: bool,
}

fn parse_by(text: &str) -> Result<BuildKey, String> {
    text.parse()
        .map_err(|e: imagecat::golden::BuildKeyError| e.to_string())
}

impl ReportArgs {
    /// Whether any policy flag or file was given (the families alone are
    /// not a policy: they are the matrix's too).
    fn wants_policy(&self) -> bool {
        let f = &self.filter;
        self.policy.is_some()
            || self.keep.is_some()
            || self.allow_unknown_usage
            || f.name.is_some()
            || f.owner.is_some()
            || !f.property.is_empty()
            || !f.status.is_empty()
            || f.older_than.is_some()
            || f.visibility.is_some()
            || f.size_min.is_some()
            || f.size_max.is_some()
            || f.created_before.is_some()
            || f.created_after.is_some()
            || f.updated_before.is_some()
            || f.updated_after.is_some()
            || f.newer_than.is_some()
            || !f.tag.is_empty()
    }

    /// The policy to plan, if one was given.
    fn policy(&self) -> Result<Option<RetentionPolicy>, CliError> {
        if !self.wants_policy() {
            return Ok(None);
        }
        build_policy(
            self.policy.as_deref(),
            &self.filter,
            &self.group,
            self.keep,
            self.allow_unknown_usage,
        )
        .map(Some)
    }
}

/// `report`: gathers the figures of every catalog, writes them as HTML
/// (the default format) or as a json/yaml document; exit 6 when some
/// catalog's figures are missing (1 when all are), after writing the rest.
pub(crate) async fn run(session: &Session, args: ReportArgs) -> Result<(), CliError> {
    let format = session.format();
    if matches!(format, Format::Csv | Format::Value | Format::Ndjson) {
        return Err(CliError::usage(
            "report writes an HTML page (the default) or one document: -o json or -o yaml",
        ));
    }
    let policy = args.policy()?;
    let ctx = session.open().await?;
    let targets: Vec<PlanTarget> = match &policy {
        Some(policy) => targets(&ctx.catalogs, policy).await?,
        None => ctx
            .catalogs
            .iter()
            .map(|c| PlanTarget::new(c.name.clone(), c.catalog.clone()))
            .collect(),
    };
    let matrix = MatrixRule::new(args.group.group().unwrap_or_default(), args.by.clone());
    let report = report::gather(&targets, policy.as_ref(), Some(&matrix), Utc::now()).await;
    write(&args, format, &report)?;
    finish(&report)
}

/// Writes the report to `--out` or stdout.
fn write(args: &ReportArgs, format: Format, report: &Report) -> Result<(), CliError> {
    let render = |out: &mut dyn Write| -> Result<(), CliError> {
        let mut out = out;
        if !emit_document(&mut out, format, report)? {
            out.write_all(html::page(&args.title, report).as_bytes())?;
        }
        out.flush()?;
        Ok(())
    };
    match &args.out {
        Some(path) => {
            let file = File::create(path).map_err(|e| {
                CliError::new(
                    ExitCode::Failure,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
            render(&mut BufWriter::new(file))?;
            eprintln!("report written to {}", path.display());
            Ok(())
        }
        None => render(&mut io::stdout().lock()),
    }
}

/// The exit: 0 when every catalog's figures are there, 6 when some are
/// missing, 1 when every catalog failed. The errors are in the report and
/// on stderr.
fn finish(report: &Report) -> Result<(), CliError> {
    let failed: Vec<CliError> = report
        .catalogs
        .iter()
        .filter_map(|c| {
            c.error.as_ref().map(|e| {
                let err = CliError::new(ExitCode::Failure, format!("{}: {e}", c.catalog));
                err.report();
                err
            })
        })
        .collect();
    crate::session::finish_fan_out(report.catalogs.len(), failed)
}

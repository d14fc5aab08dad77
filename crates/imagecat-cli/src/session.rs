//! What every catalog command starts from: the global flags, the catalogs
//! they name (opened here, once), the [`View`] its output goes through,
//! and the shared endings: the exit of a fan-out and the confirmation
//! prompt.

use std::io::{self, BufRead, Write};

use imagecat::{Config, NamedCatalog, OpenOptions};

use crate::args::GlobalArgs;
use crate::exit::{CliError, ExitCode};
use crate::output::{Format, Tabular, View};

/// One run of the CLI: the global flags and the command tree (for
/// `completions` and `man`).
#[derive(Debug)]
pub(crate) struct Session {
    global: GlobalArgs,
    tree: fn() -> clap::Command,
}

/// The opened catalogs of a catalog command and the view of its output.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The catalogs, in the order given.
    pub(crate) catalogs: Vec<NamedCatalog>,
    /// How the output is written (`catalog` column when several).
    pub(crate) view: View,
}

impl Session {
    /// A session of these global flags; `tree` builds the command tree.
    pub(crate) fn new(global: GlobalArgs, tree: fn() -> clap::Command) -> Self {
        Session { global, tree }
    }

    /// The output format.
    pub(crate) fn format(&self) -> Format {
        self.global.output
    }

    /// The command tree, as clap parses it.
    pub(crate) fn command_tree(&self) -> clap::Command {
        (self.tree)()
    }

    /// The view of the output, given whether several catalogs are printed.
    pub(crate) fn view(&self, several: bool) -> View {
        View::new(self.global.output, several)
            .with_columns(&self.global.columns)
            .csv_safe(self.global.csv_safe)
    }

    /// Checks `--column` against the rows `T` a command prints, before it
    /// opens or asks anything.
    pub(crate) fn check<T: Tabular>(&self) -> Result<(), CliError> {
        self.view(false).check::<T>()
    }

    /// Opens every `--catalog`: URLs directly, names through the config
    /// file; `--os-cloud` alone opens that cloud's Glance (`glance:`). A
    /// fan-out URL (`ec2://all`) opens one catalog per region, each named
    /// by its URL.
    pub(crate) async fn open(&self) -> Result<Ctx, CliError> {
        let catalogs =
            open_catalogs(&self.global.catalogs, self.global.os_cloud.as_deref()).await?;
        let view = self.view(catalogs.len() > 1);
        Ok(Ctx { catalogs, view })
    }
}

async fn open_catalogs(
    specs: &[String],
    os_cloud: Option<&str>,
) -> Result<Vec<NamedCatalog>, CliError> {
    let glance = ["glance:".to_owned()];
    let specs = match (specs.is_empty(), os_cloud) {
        (true, Some(_)) => &glance[..],
        _ => specs,
    };
    let mut options = OpenOptions::new();
    if let Some(cloud) = os_cloud {
        options = options.os_cloud(cloud);
    }
    if specs.is_empty() {
        return Err(CliError::usage(
            "no catalog given: pass --catalog SPEC|NAME or set IMAGECAT_CATALOG (try `imagecat demo`)",
        ));
    }
    let needs_config = specs.iter().any(|s| !s.contains(':'));
    let config = if needs_config {
        Config::load().map_err(|e| CliError::from_error(None, e))?
    } else {
        Config::default()
    };
    let mut catalogs = Vec::new();
    for spec in specs {
        let opened = config
            .open_all_with(spec, &options)
            .await
            .map_err(|e| CliError::from_error(Some(spec), e))?;
        catalogs.extend(opened);
    }
    Ok(catalogs)
}

/// The exit of a fan-out: the catalog's own error when there was one
/// catalog, code 6 when only some of several failed.
pub(crate) fn finish_fan_out(total: usize, mut failures: Vec<CliError>) -> Result<(), CliError> {
    match failures.len() {
        0 => Ok(()),
        n if n == total && n == 1 => Err(failures.remove(0).already_reported()),
        n if n == total => Err(CliError::new(
            ExitCode::Failure,
            format!("all {n} catalogs failed"),
        )),
        n => Err(CliError::new(
            ExitCode::PartialFanOut,
            format!("{n} of {total} catalogs failed; the others were listed"),
        )),
    }
}

/// Asks `prompt` on stderr and reads the answer from stdin: yes only for
/// `y` or `yes`.
pub(crate) fn confirm(prompt: &str) -> io::Result<bool> {
    let mut stderr = io::stderr();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

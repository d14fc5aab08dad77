//! `imagecat`: list, inspect and delete machine images across clouds.

mod cli;
mod columns;
mod commands;
mod config_show;
mod demo;
mod emulate;
mod exit;
mod golden;
mod output;
mod progress;
mod prune;
mod sanitize;
mod signals;
mod usage;

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::exit::CliError;

static VERBOSITY: OnceLock<u8> = OnceLock::new();
static QUIET: OnceLock<bool> = OnceLock::new();

/// Whether `--quiet` was given (no progress line).
pub(crate) fn quiet() -> bool {
    QUIET.get().copied().unwrap_or(false)
}

/// How many `-v` were given.
pub(crate) fn verbosity() -> u8 {
    VERBOSITY.get().copied().unwrap_or(0)
}

/// Whether stderr gets colour: only on a terminal, never with `NO_COLOR`.
pub(crate) fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs go to stderr through the sanitizing layer: a server's text in a
/// log line cannot carry a control character; colour only on a terminal.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let colour = stderr_colour();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(move || sanitize::SanitizingWriter::new(std::io::stderr(), colour))
        .with_target(verbose >= 2)
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _ = VERBOSITY.set(cli.verbose);
    let _ = QUIET.set(cli.quiet);
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imagecat: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            e.report();
            std::process::ExitCode::from(e.code() as u8)
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Emulate(args) => return emulate::run(args).await,
        Command::Demo => return demo::run().await,
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "imagecat", &mut std::io::stdout());
            return Ok(());
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
            return Ok(());
        }
        Command::Config(ConfigCommand::Show) => return config_show::run(cli.output),
        _ => {}
    }
    let catalogs = commands::open_catalogs(&cli.catalogs, cli.os_cloud.as_deref())?;
    let several = catalogs.len() > 1;
    let view = output::View::new(cli.output, several)
        .with_columns(&cli.columns, several)
        .csv_safe(cli.csv_safe);
    match cli.command {
        Command::List(args) => commands::list(&catalogs, view, &args).await,
        Command::Show { id, raw } => commands::show(&catalogs, view, &id, raw).await,
        Command::Delete {
            ids,
            yes,
            dry_run,
            force_in_use,
            concurrency,
        } => {
            commands::delete(
                &catalogs,
                &ids,
                yes,
                dry_run,
                force_in_use,
                concurrency.into(),
            )
            .await
        }
        Command::Usage { ids } => usage::run(&catalogs, cli.output, &ids).await,
        Command::Latest { filter, group, raw } => match group.group() {
            Some(group) => {
                golden::latest_per_family(&catalogs, view, filter.query(), &group, raw).await
            }
            None => commands::latest(&catalogs, view, filter.query(), raw).await,
        },
        Command::Diff { by, filter } => {
            golden::diff(&catalogs, cli.output, filter.query(), by).await
        }
        Command::Prune(args) => prune::prune(&catalogs, cli.output, &args).await,
        Command::Apply { file, run } => prune::apply_file(&catalogs, cli.output, &file, &run).await,
        Command::Info => commands::info(&catalogs, cli.output),
        Command::Emulate(_)
        | Command::Demo
        | Command::Completions { .. }
        | Command::Man
        | Command::Config(_) => Ok(()),
    }
}

//! `imagecat`: list, inspect and delete machine images across clouds.

mod cli;
mod commands;
mod demo;
mod emulate;
mod exit;
mod golden;
mod output;

use std::sync::OnceLock;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

static VERBOSITY: OnceLock<u8> = OnceLock::new();

/// How many `-v` were given.
pub(crate) fn verbosity() -> u8 {
    VERBOSITY.get().copied().unwrap_or(0)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _ = VERBOSITY.set(cli.verbose);
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
        _ => {}
    }
    let catalogs = commands::open_catalogs(&cli.catalogs, cli.os_cloud.as_deref())?;
    match cli.command {
        Command::List(args) => commands::list(&catalogs, cli.output, &args).await,
        Command::Show { id, raw } => commands::show(&catalogs, cli.output, &id, raw).await,
        Command::Delete { ids, yes, dry_run } => {
            commands::delete(&catalogs, &ids, yes, dry_run).await
        }
        Command::Latest { filter, group, raw } => match group.group() {
            Some(group) => {
                golden::latest_per_family(&catalogs, cli.output, filter.query(), &group, raw).await
            }
            None => commands::latest(&catalogs, cli.output, filter.query(), raw).await,
        },
        Command::Diff { by, filter } => {
            golden::diff(&catalogs, cli.output, filter.query(), by).await
        }
        Command::Info => commands::info(&catalogs, cli.output),
        Command::Emulate(_) | Command::Demo => Ok(()),
    }
}

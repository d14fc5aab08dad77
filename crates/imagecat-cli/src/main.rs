//! `imagecat`: list, inspect and delete machine images across clouds.
//!
//! The modules form a tree (no module imports one that imports it back,
//! checked by `module_graph`): `main → cmd → cmd/<command> → {session,
//! args, output, progress, signals} → exit → {sanitize, term}`.

mod args;
mod cmd;
mod exit;
mod output;
mod progress;
mod sanitize;
mod session;
mod signals;
mod term;

#[cfg(test)]
mod module_graph;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cmd::Cli;

/// Logs go to stderr through the sanitizing layer: a server's text in a
/// log line cannot carry a control character; colour only on a terminal.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let colour = term::stderr_colour();
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
    term::set(cli.global.quiet, cli.global.verbose);
    init_logging(cli.global.verbose);
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
    match runtime.block_on(cmd::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            e.report();
            std::process::ExitCode::from(e.code() as u8)
        }
    }
}

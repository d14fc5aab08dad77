//! The commands, one module each: its arguments (`#[derive(Args)]`) and
//! its `run(&Session, args)`. [`Cli`] is the command line as clap parses
//! it; [`run`] is the one dispatch.

mod apply;
mod completions;
mod config;
mod delete;
mod demo;
mod diff;
mod emulate;
mod golden;
mod info;
mod latest;
mod list;
mod man;
mod prune;
mod report;
mod restore;
mod show;
mod usage;

use clap::{CommandFactory, Parser, Subcommand};

use crate::args::GlobalArgs;
use crate::exit::CliError;
use crate::session::Session;

/// List, inspect and delete machine images across clouds.
#[derive(Debug, Parser)]
#[command(name = "imagecat", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The global flags.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List images.
    List(list::ListArgs),
    /// Show one image.
    Show(show::ShowArgs),
    /// Delete images (asks on a terminal; --yes otherwise).
    Delete(delete::DeleteArgs),
    /// Which instances use each image (IMAGE, INSTANCE, NAME, STATUS, HOW,
    /// CATALOG); every listed image when no id is given.
    Usage(usage::UsageArgs),
    /// Show the newest matching image, or fail with "not found"; with
    /// --family or --group-by, the newest image of each family.
    Latest(latest::LatestArgs),
    /// Compare two catalogs: images missing from B, extra in B, changed
    /// (same name, other checksum or size). Exit 0 when they agree, 10
    /// when they differ.
    Diff(diff::DiffArgs),
    /// The golden-image matrix of two or more catalogs: per family, each
    /// catalog's newest image is current (the newest build anywhere),
    /// stale, missing or extra (the family is there only); --by name,
    /// checksum, property:KEY or tag:GLOB says what a build is. Exit 0
    /// when every cell is current, 10 on drift or an unknown build.
    Golden(golden::GoldenArgs),
    /// Plan a clean-up by a retention policy and print it; delete nothing
    /// unless --apply. Exit 6 when some deletes failed.
    ///
    /// The candidates are chosen by the filters --name, --owner,
    /// --property, --status (default active and deactivated) and
    /// --older-than, which mean what they mean in `list`; the other list
    /// filters are refused. --owner is also who you are: an image is yours
    /// when its owner is this; without it, no image counts as yours, unless
    /// the catalog says who you are (DCMGR's account, a Glance token's
    /// project): then that is used, and a different --owner is an error.
    Prune(prune::PruneArgs),
    /// One self-contained HTML page over the catalogs (-o json: the same
    /// figures): images by status and owner, sizes, in use / not in use /
    /// unknown, ages, and what a retention policy would free (dry run).
    /// Exit 6 when some catalog's figures are missing.
    Report(report::ReportArgs),
    /// Apply a plan saved by `prune --plan-out`, re-checking each image
    /// right before its delete.
    Apply(apply::ApplyArgs),
    /// Undo a retire (`prune --retire`): the image is usable again and its
    /// retired-at time removed. One catalog.
    Restore(restore::RestoreArgs),
    /// Show the backend, endpoint (no secrets) and capabilities.
    Info(info::InfoArgs),
    /// Run an emulator in the foreground; prints its catalog URL first.
    Emulate(emulate::EmulateArgs),
    /// The embedded demo: both emulators in-process, listed, shown, deleted.
    Demo(demo::DemoArgs),
    /// Print a shell completion script (`source <(imagecat completions bash)`).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff; `imagecat man | man -l -`).
    Man(man::ManArgs),
    /// The config file.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Runs the command of `cli`.
pub(crate) async fn run(cli: Cli) -> Result<(), CliError> {
    let session = Session::new(cli.global, Cli::command);
    match cli.command {
        Command::List(args) => list::run(&session, args).await,
        Command::Show(args) => show::run(&session, args).await,
        Command::Delete(args) => delete::run(&session, args).await,
        Command::Usage(args) => usage::run(&session, args).await,
        Command::Latest(args) => latest::run(&session, args).await,
        Command::Diff(args) => diff::run(&session, args).await,
        Command::Golden(args) => golden::run(&session, args).await,
        Command::Prune(args) => prune::run(&session, args).await,
        Command::Report(args) => report::run(&session, args).await,
        Command::Apply(args) => apply::run(&session, args).await,
        Command::Restore(args) => restore::run(&session, args).await,
        Command::Info(args) => info::run(&session, args).await,
        Command::Emulate(args) => emulate::run(&session, args).await,
        Command::Demo(args) => demo::run(&session, args).await,
        Command::Completions(args) => completions::run(&session, args).await,
        Command::Man(args) => man::run(&session, args).await,
        Command::Config(args) => config::run(&session, args).await,
    }
}

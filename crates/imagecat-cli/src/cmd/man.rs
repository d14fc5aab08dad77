//! `imagecat man`: the man page.

use clap::Args;

use crate::exit::CliError;
use crate::session::Session;

/// Arguments of `man` (none).
#[derive(Debug, Args)]
pub(crate) struct ManArgs {}

/// Prints the man page (roff) on stdout.
pub(crate) async fn run(session: &Session, _args: ManArgs) -> Result<(), CliError> {
    clap_mangen::Man::new(session.command_tree()).render(&mut std::io::stdout().lock())?;
    Ok(())
}

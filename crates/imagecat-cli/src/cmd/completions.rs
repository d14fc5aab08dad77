//! `imagecat completions SHELL`: a shell completion script.

use clap::Args;

use crate::exit::CliError;
use crate::session::Session;

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the script on stdout.
pub(crate) async fn run(session: &Session, args: CompletionsArgs) -> Result<(), CliError> {
    let mut cmd = session.command_tree();
    clap_complete::generate(args.shell, &mut cmd, "imagecat", &mut std::io::stdout());
    Ok(())
}

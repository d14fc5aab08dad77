//! `imagecat restore ID…`: undoes a retire.

use clap::Args;
use imagecat::retire::{Retirement, retirement};
use imagecat::{ImageCatalog, ImageId};

use crate::exit::CliError;
use crate::sanitize::for_terminal;
use crate::session::Session;

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The image ids.
    #[arg(required = true)]
    ids: Vec<String>,
    /// Only say what would be restored.
    #[arg(long)]
    dry_run: bool,
}

/// `restore ID…` on exactly one catalog: each image is looked up; one
/// that carries the catalog's retired-at stamp is restored (usable again,
/// the stamp removed); one that does not is left alone and said so (an
/// image deactivated by someone else is not imagecat's to undo). A backend
/// that cannot retire is `NotSupported`, naming it. Exit 0 when every
/// image is restored or was not retired; otherwise the first failure's.
pub(crate) async fn run(session: &Session, args: RestoreArgs) -> Result<(), CliError> {
    let ctx = session.open().await?;
    let [named] = &ctx.catalogs[..] else {
        return Err(CliError::usage(
            "restore works on exactly one catalog; pass a single --catalog",
        ));
    };
    let catalog = &named.catalog;
    let info = catalog.info();
    if info.capabilities.retire.is_none() {
        return Err(CliError::from_error(
            Some(&named.name),
            imagecat::retire::not_supported(info.backend),
        ));
    }
    let mut first_failure = None;
    for text in &args.ids {
        let id = ImageId::new(text.clone());
        let shown = for_terminal(text);
        let image = match catalog.get(&id).await {
            Ok(image) => image,
            Err(e) => {
                let failure = CliError::from_error(Some(&named.name), e);
                failure.report_now();
                first_failure.get_or_insert(failure);
                continue;
            }
        };
        let at = match retirement(&info.capabilities, &image) {
            Retirement::Retired { at, .. } => at.to_rfc3339(),
            Retirement::Unreadable(text) => format!("an unreadable time {text:?}"),
            _ => {
                println!("{shown} is not retired (no retired-at time): nothing to restore");
                continue;
            }
        };
        if args.dry_run {
            println!("would restore {shown} (retired {})", for_terminal(&at));
            continue;
        }
        match catalog.restore(&id).await {
            Ok(()) => println!("restored {shown} (retired {})", for_terminal(&at)),
            Err(e) => {
                let failure = CliError::from_error(Some(&named.name), e);
                failure.report_now();
                first_failure.get_or_insert(failure);
            }
        }
    }
    match first_failure {
        None => Ok(()),
        Some(f) => Err(f.already_reported()),
    }
}

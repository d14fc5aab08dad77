//! `imagecat show ID`: one image, from the first catalog that has it.

use std::io;

use clap::Args;
use imagecat::{ErrorKind, ImageId};

use crate::exit::{CliError, ExitCode};
use crate::output::{Row, emit_one};
use crate::sanitize::for_terminal;
use crate::session::Session;

/// Arguments of `show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The image id.
    id: String,
    /// Include the backend's native record.
    #[arg(long)]
    raw: bool,
}

/// `show ID`: the image from the first catalog that has it.
pub(crate) async fn run(session: &Session, args: ShowArgs) -> Result<(), CliError> {
    session.check::<Row>()?;
    let ctx = session.open().await?;
    let catalogs = &ctx.catalogs;
    let id = ImageId::new(args.id.as_str());
    let mut last = None;
    for named in catalogs {
        match named.catalog.get(&id).await {
            Ok(image) => {
                let catalog = (catalogs.len() > 1).then(|| named.name.clone());
                let row = Row::new(image, catalog, args.raw);
                return emit_one(&mut io::stdout().lock(), &ctx.view, row);
            }
            Err(e) if e.kind() == ErrorKind::NotFound && catalogs.len() > 1 => {
                last = Some(CliError::from_error(Some(&named.name), e));
            }
            Err(e) => return Err(CliError::from_error(Some(&named.name), e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        CliError::new(
            ExitCode::NotFound,
            format!("no image {}", for_terminal(id.as_str())),
        )
    }))
}

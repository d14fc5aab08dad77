//! `imagecat delete ID…`: never on a guess.

use std::io::{self, IsTerminal};

use clap::Args;
use futures::StreamExt;
use imagecat::retention::{ApplyOptions, RateGate};
use imagecat::{Deleted, Error, ErrorKind, Image, ImageId, NamedCatalog};

use super::usage::check_before_delete;
use crate::exit::{CliError, ExitCode};
use crate::sanitize::for_terminal;
use crate::session::{Session, confirm};

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The image ids.
    #[arg(required = true)]
    ids: Vec<String>,
    /// Do not ask; required when stdin is not a terminal.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Only say what would be deleted (and the usage, checked the
    /// same way as for a real run).
    #[arg(long)]
    dry_run: bool,
    /// Delete even an image in use, or whose usage is unknown.
    #[arg(long)]
    force_in_use: bool,
    /// Deletes in flight at once (a 429 slows them all).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
}

/// Runs `delete` on the opened catalogs.
pub(crate) async fn run(session: &Session, args: DeleteArgs) -> Result<(), CliError> {
    let ctx = session.open()?;
    delete(
        &ctx.catalogs,
        &args.ids,
        args.yes,
        args.dry_run,
        args.force_in_use,
        args.concurrency.into(),
    )
    .await
}

/// `delete ID…`: never on a guess. One catalog only; each image is looked
/// up first (the id validated before any request); protected images are
/// refused; images in use or of unknown usage are refused unless
/// `force_in_use`, by a fresh check right before the delete; asks on a
/// terminal, requires `--yes` otherwise; `--dry-run` runs the same checks
/// and only says what it would do. The look-ups and prompts run one id at
/// a time; the confirmed deletes then run `concurrency` at once through
/// one [`RateGate`] (a 429 slows every worker), reported in id order.
pub(crate) async fn delete(
    catalogs: &[NamedCatalog],
    ids: &[String],
    yes: bool,
    dry_run: bool,
    force_in_use: bool,
    concurrency: usize,
) -> Result<(), CliError> {
    let [named] = catalogs else {
        return Err(CliError::usage(
            "delete works on exactly one catalog; pass a single --catalog",
        ));
    };
    let interactive = io::stdin().is_terminal();
    if !yes && !dry_run && !interactive {
        return Err(CliError::usage(
            "refusing to delete without --yes: stdin is not a terminal to ask on",
        ));
    }
    let mut first_failure: Option<CliError> = None;
    let mut failed = |e: CliError| {
        e.report_now();
        first_failure.get_or_insert(e.already_reported());
    };
    let mut confirmed = Vec::new();
    for id in ids {
        let id = ImageId::new(id.as_str());
        match prepare(named, id, yes, dry_run, force_in_use).await {
            Ok(Some(target)) => confirmed.push(target),
            Ok(None) => {}
            Err(e) => failed(e),
        }
    }
    let options = ApplyOptions::default().concurrency(concurrency);
    let gate = RateGate::new(&options);
    let mut deletes = futures::stream::iter(confirmed)
        .map(|target| delete_confirmed(named, target, force_in_use, &gate))
        .buffered(options.concurrency);
    while let Some(outcome) = deletes.next().await {
        match outcome {
            Ok(line) => println!("{line}"),
            Err(e) => failed(e),
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// An image the user confirmed for deletion, with its escaped label.
#[derive(Debug)]
struct Confirmed {
    id: ImageId,
    image: Image,
    label: String,
}

/// The sequential part of one id: look-up, protected, dry run, prompt.
/// `None` when there is nothing to delete (dry run, skipped).
async fn prepare(
    named: &NamedCatalog,
    id: ImageId,
    yes: bool,
    dry_run: bool,
    force_in_use: bool,
) -> Result<Option<Confirmed>, CliError> {
    let fail = |e: Error| CliError::from_error(Some(&named.name), e);
    let image = named.catalog.get(&id).await.map_err(fail)?;
    // The label holds a server's text: it goes out escaped.
    let label = for_terminal(&format!(
        "{id} ({}, {})",
        image.name.as_deref().unwrap_or("unnamed"),
        image.status
    ))
    .into_owned();
    if image.protected == Some(true) {
        return Err(CliError::new(
            ExitCode::Denied,
            format!("{}: refusing to delete protected image {label}", named.name),
        ));
    }
    if dry_run {
        let usage = check_before_delete(named, &image, &label, force_in_use).await?;
        println!("would delete {label} from {} ({usage})", named.name);
        return Ok(None);
    }
    if !yes && !confirm(&format!("Delete image {label} from {}? [y/N] ", named.name))? {
        println!("skipped {}", for_terminal(id.as_str()));
        return Ok(None);
    }
    Ok(Some(Confirmed { id, image, label }))
}

/// The concurrent part: a fresh usage check right before the delete, then
/// the delete through the shared gate. Returns the line to print.
async fn delete_confirmed(
    named: &NamedCatalog,
    target: Confirmed,
    force_in_use: bool,
    gate: &RateGate,
) -> Result<String, CliError> {
    let Confirmed { id, image, label } = target;
    let id_shown = for_terminal(id.as_str()).into_owned();
    // Right before the delete: a fresh listing, never a cached answer.
    check_before_delete(named, &image, &label, force_in_use).await?;
    let outcome = gate.call(|| named.catalog.delete(&id)).await.map_err(|e| {
        if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) {
            // The request may have reached the server before the
            // connection broke: say so rather than guess.
            CliError::from_error(Some(&named.name), e).reworded(format!(
                "{}: the delete of {id_shown} may have happened (the connection broke or timed out after the request was sent); `imagecat show {id_shown}` to check",
                named.name
            ))
        } else {
            CliError::from_error(Some(&named.name), e)
        }
    })?;
    Ok(match outcome {
        Deleted::AlreadyDeleted => format!("{id_shown} was already deleted"),
        _ => format!("deleted {label}"),
    })
}

#[cfg(test)]
mod tests;

//! `imagecat delete ID…`: never on a guess.

use std::collections::HashSet;
use std::io::{self, IsTerminal};

use clap::Args;
use futures::StreamExt;
use imagecat::retention::{ApplyOptions, Outcome, RateGate, send_delete_with};
use imagecat::{DeleteDetail, DeleteOptions, Error, ErrorKind, Image, ImageId, NamedCatalog};

use super::usage::check_before_delete;
use crate::exit::{CliError, ExitCode};
use crate::sanitize::for_terminal;
use crate::session::{Session, confirm};
use crate::signals::Signals;

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
    /// Keep the storage the image is made of (EC2: its EBS snapshots,
    /// which a delete otherwise removes where no other AMI uses them).
    #[arg(long)]
    keep_snapshots: bool,
}

/// Runs `delete` on the opened catalogs.
pub(crate) async fn run(session: &Session, args: DeleteArgs) -> Result<(), CliError> {
    let ctx = session.open().await?;
    delete(
        &ctx.catalogs,
        &args.ids,
        args.yes,
        args.dry_run,
        args.force_in_use,
        args.concurrency.into(),
        DeleteOptions::new().keep_snapshots(args.keep_snapshots),
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
/// one [`RateGate`] (a 429 slows every worker), reported in id order,
/// each with every other resource the delete touched (EC2's snapshots,
/// one line each). `delete_options` go to every delete (`--keep-snapshots`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn delete(
    catalogs: &[NamedCatalog],
    ids: &[String],
    yes: bool,
    dry_run: bool,
    force_in_use: bool,
    concurrency: usize,
    delete_options: DeleteOptions,
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
    // The same id twice, or two spellings the server answers with one
    // image: one delete, reported once.
    let mut given = HashSet::new();
    let mut seen = HashSet::new();
    for id in ids {
        if !given.insert(id.as_str()) {
            continue;
        }
        let id = ImageId::new(id.as_str());
        match prepare(named, id, yes, dry_run, force_in_use, &mut seen).await {
            Ok(Some(target)) => confirmed.push(target),
            Ok(None) => {}
            Err(e) => failed(e),
        }
    }
    if confirmed.is_empty() {
        return first_failure.map_or(Ok(()), Err);
    }
    let signals = Signals::install();
    let options = ApplyOptions::default()
        .concurrency(concurrency)
        .cancel(signals.cancel());
    let gate = RateGate::new(&options);
    let mut deletes = futures::stream::iter(confirmed)
        .map(|target| {
            delete_confirmed(
                named,
                target,
                force_in_use,
                &delete_options,
                &gate,
                &options,
            )
        })
        .buffered(options.concurrency);
    let mut not_sent = 0;
    while let Some(outcome) = deletes.next().await {
        match outcome {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => not_sent += 1,
            Err(e) => failed(e),
        }
    }
    if let Some(code) = signals.exit_code() {
        let line = format!("interrupted: {not_sent} confirmed deletes not sent");
        eprintln!("imagecat: {line}");
        return Err(CliError::new(code, line).already_reported());
    }
    first_failure.map_or(Ok(()), Err)
}

/// An image the user confirmed for deletion, with its escaped label.
#[derive(Debug)]
struct Confirmed {
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
    seen: &mut HashSet<ImageId>,
) -> Result<Option<Confirmed>, CliError> {
    let fail = |e: Error| CliError::from_error(Some(&named.name), e);
    let image = named.catalog.get(&id).await.map_err(fail)?;
    if !seen.insert(image.id.clone()) {
        tracing::info!(%id, "another spelling of an id given earlier: deleted once");
        return Ok(None);
    }
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
    Ok(Some(Confirmed { image, label }))
}

/// The concurrent part: a fresh usage check right before the delete, then
/// the core's one send of a DELETE ([`send_delete`]: a lost answer is
/// looked up, never retried). Returns the line to print, `None` when the
/// run was cancelled before this delete was sent.
async fn delete_confirmed(
    named: &NamedCatalog,
    target: Confirmed,
    force_in_use: bool,
    delete_options: &DeleteOptions,
    gate: &RateGate,
    options: &ApplyOptions,
) -> Result<Option<String>, CliError> {
    let Confirmed { image, label } = target;
    if options.cancel.is_cancelled() {
        return Ok(None);
    }
    // The server's spelling of the id, as `get` answered it.
    let id = image.id.clone();
    let id_shown = for_terminal(id.as_str()).into_owned();
    // Right before the delete: a fresh listing, never a cached answer.
    check_before_delete(named, &image, &label, force_in_use).await?;
    if options.cancel.is_cancelled() {
        return Ok(None);
    }
    let sent = send_delete_with(
        &named.catalog,
        &id,
        delete_options,
        gate,
        &options.cancel,
        options.grace,
    )
    .await;
    let details = detail_lines(&sent.details);
    let lookup = sent.lookup.map_or(String::new(), |l| {
        format!(" (a look-up afterwards: {})", l.as_str())
    });
    match sent.outcome {
        Outcome::Deleted => Ok(Some(format!("deleted {label}{details}"))),
        Outcome::AlreadyDeleted => Ok(Some(format!("{id_shown} was already deleted{details}"))),
        Outcome::Unknown => {
            let line = format!(
                "{}: the delete of {id_shown} may have happened (its answer was lost){lookup}; `imagecat show {id_shown}` to check",
                named.name
            );
            let e = sent
                .error
                .unwrap_or_else(|| Error::new(ErrorKind::Timeout, line.clone()));
            Err(CliError::from_error(Some(&named.name), e).reworded(line))
        }
        _ => Err(match sent.error {
            Some(e) => CliError::from_error(Some(&named.name), e),
            None => CliError::new(
                ExitCode::Failure,
                format!("{}: the delete of {id_shown} failed", named.name),
            ),
        }),
    }
}

/// One indented line per other resource a delete touched (`  snapshot
/// snap-… deleted`), each escaped (ids and messages are server text);
/// empty when there were none.
pub(crate) fn detail_lines(details: &[DeleteDetail]) -> String {
    details
        .iter()
        .map(|d| format!("\n  {}", for_terminal(&d.to_string())))
        .collect()
}

#[cfg(test)]
mod tests;

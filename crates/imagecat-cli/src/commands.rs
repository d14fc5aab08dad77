//! The catalog commands: list, show, delete, latest, info.

use std::collections::HashSet;
use std::io::{self, BufRead, IsTerminal, Write};

use futures::{FutureExt, StreamExt};
use imagecat::retention::{ApplyOptions, Outcome, RateGate, send_delete};
use imagecat::{
    Config, Error, ErrorKind, Image, ImageCatalogExt, ImageId, NamedCatalog, OpenOptions, list_all,
};

use crate::cli::{Format, ListArgs};
use crate::exit::{CliError, ExitCode};
use crate::output::{ImageWriter, Row, View, write_info, write_one};
use crate::progress::Progress;
use crate::sanitize::for_terminal;
use crate::signals::Signals;
use crate::usage::check_before_delete;

/// Opens every `--catalog`: URLs directly, names through the config file;
/// `--os-cloud` alone opens that cloud's Glance (`glance:`).
pub(crate) fn open_catalogs(
    specs: &[String],
    os_cloud: Option<&str>,
) -> Result<Vec<NamedCatalog>, CliError> {
    let glance = ["glance:".to_owned()];
    let specs = match (specs.is_empty(), os_cloud) {
        (true, Some(_)) => &glance[..],
        _ => specs,
    };
    let mut options = OpenOptions::new();
    if let Some(cloud) = os_cloud {
        options = options.os_cloud(cloud);
    }
    if specs.is_empty() {
        return Err(CliError::usage(
            "no catalog given: pass --catalog SPEC|NAME or set IMAGECAT_CATALOG (try `imagecat demo`)",
        ));
    }
    let needs_config = specs.iter().any(|s| !s.contains(':'));
    let config = if needs_config {
        Config::load().map_err(|e| CliError::from_error(None, e))?
    } else {
        Config::default()
    };
    specs
        .iter()
        .map(|spec| {
            config
                .open_with(spec, &options)
                .map(|catalog| NamedCatalog::new(spec.clone(), catalog))
                .map_err(|e| CliError::from_error(Some(spec), e))
        })
        .collect()
}

/// `list`: streams (json, ndjson, csv) or collects (table, yaml, and
/// `--sort` unless one catalog whose server sorts by the key).
pub(crate) async fn list(
    catalogs: &[NamedCatalog],
    view: View,
    args: &ListArgs,
) -> Result<(), CliError> {
    let query = args.query();
    let several = catalogs.len() > 1;
    let format = view.format;
    let stdout = io::stdout().lock();
    let mut writer = ImageWriter::new(io::BufWriter::new(stdout), view)?;
    let mut stream = list_all(catalogs, &query);
    let mut failures: Vec<CliError> = Vec::new();
    let mut sorted: Vec<Row> = Vec::new();
    let progress = Progress::new(format, "images", None);
    let mut seen = 0u64;
    let server_sorted = match catalogs {
        [one] => one.catalog.info().capabilities.streams_sorted(&query),
        _ => args.sort.is_none(),
    };
    let mut usage = crate::usage::UsageFilter::new(catalogs, args.in_use, args.unused).await;
    loop {
        // Flush what we have whenever the next image is not ready yet, so
        // lines go out as pages arrive without a write per line.
        let item = match stream.next().now_or_never() {
            Some(item) => item,
            None => {
                writer.flush()?;
                stream.next().await
            }
        };
        let Some(item) = item else { break };
        match item {
            Ok(tagged) => {
                if !usage.keeps(&tagged) {
                    continue;
                }
                seen += 1;
                progress.inc(1);
                let row = Row::new(tagged.image, several.then_some(tagged.catalog), args.raw);
                if !server_sorted {
                    sorted.push(row);
                } else {
                    writer.write(row)?;
                }
            }
            Err(e) => {
                let failure = CliError::from_error(Some(&e.catalog), e.error);
                progress.suspend(|| failure.report_now());
                failures.push(failure);
            }
        }
    }
    progress.finish();
    if let (Some(sort), false) = (args.sort, server_sorted) {
        sorted.sort_by(|a, b| sort.compare(&a.image, &b.image));
        for row in sorted {
            writer.write(row)?;
        }
    }
    writer.finish()?;
    usage.report();
    if seen == 0 && failures.is_empty() && format == Format::Table {
        eprintln!("no images match");
    }
    finish_fan_out(catalogs.len(), failures)
}

/// The exit of a fan-out: the catalog's own error when there was one
/// catalog, code 6 when only some of several failed.
pub(crate) fn finish_fan_out(total: usize, mut failures: Vec<CliError>) -> Result<(), CliError> {
    match failures.len() {
        0 => Ok(()),
        n if n == total && n == 1 => Err(failures.remove(0).already_reported()),
        n if n == total => Err(CliError::new(
            ExitCode::Failure,
            format!("all {n} catalogs failed"),
        )),
        n => Err(CliError::new(
            ExitCode::PartialFanOut,
            format!("{n} of {total} catalogs failed; the others were listed"),
        )),
    }
}

/// `show ID`: the image from the first catalog that has it.
pub(crate) async fn show(
    catalogs: &[NamedCatalog],
    view: View,
    id: &str,
    raw: bool,
) -> Result<(), CliError> {
    let id = ImageId::new(id);
    let mut last = None;
    for named in catalogs {
        match named.catalog.get(&id).await {
            Ok(image) => {
                let row = Row::new(image, (catalogs.len() > 1).then(|| named.name.clone()), raw);
                return Ok(write_one(&mut io::stdout().lock(), view, row)?);
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

/// `latest`: the newest image matching the filters across the catalogs.
pub(crate) async fn latest(
    catalogs: &[NamedCatalog],
    view: View,
    query: imagecat::ListQuery,
    raw: bool,
) -> Result<(), CliError> {
    let mut best: Option<(String, Image)> = None;
    let mut last_error = None;
    for named in catalogs {
        match named.catalog.latest(query.clone()).await {
            Ok(image) => {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| image.created_at > b.created_at)
                {
                    best = Some((named.name.clone(), image));
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                last_error = Some(CliError::from_error(Some(&named.name), e));
            }
            Err(e) => return Err(CliError::from_error(Some(&named.name), e)),
        }
    }
    match best {
        Some((name, image)) => {
            let row = Row::new(image, (catalogs.len() > 1).then_some(name), raw);
            Ok(write_one(&mut io::stdout().lock(), view, row)?)
        }
        None => Err(last_error
            .unwrap_or_else(|| CliError::new(ExitCode::NotFound, "no image matches".into()))),
    }
}

/// `info`.
pub(crate) fn info(catalogs: &[NamedCatalog], format: Format) -> Result<(), CliError> {
    let infos: Vec<_> = catalogs
        .iter()
        .map(|n| (n.name.clone(), n.catalog.info()))
        .collect();
    Ok(write_info(&mut io::stdout().lock(), format, &infos)?)
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
        .map(|target| delete_confirmed(named, target, force_in_use, &gate, &options))
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
    let sent = send_delete(&named.catalog, &id, gate, &options.cancel, options.grace).await;
    let lookup = sent.lookup.map_or(String::new(), |l| {
        format!(" (a look-up afterwards: {})", l.as_str())
    });
    match sent.outcome {
        Outcome::Deleted => Ok(Some(format!("deleted {label}"))),
        Outcome::AlreadyDeleted => Ok(Some(format!("{id_shown} was already deleted"))),
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

pub(crate) fn confirm(prompt: &str) -> io::Result<bool> {
    let mut stderr = io::stderr();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

#[cfg(test)]
mod tests;

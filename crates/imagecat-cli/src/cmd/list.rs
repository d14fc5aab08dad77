//! `imagecat list`: images matching the filters, across the catalogs.

use std::io;

use clap::Args;
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;

use imagecat::retire::{Retirement, retirement};
use imagecat::{Capabilities, ImageCatalog, ListQuery, NamedCatalog, Sort, list_all};

use super::usage::UsageFilter;
use crate::args::FilterArgs;
use crate::exit::CliError;
use crate::output::{Emitter, Format, Row};
use crate::progress::Progress;
use crate::sanitize::for_terminal;
use crate::session::{Session, finish_fan_out};

/// Arguments of `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Filters.
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Also list deleted images.
    #[arg(long)]
    pub(crate) include_deleted: bool,
    /// Stop after N images (per catalog).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u64>,
    /// Images per request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page_size: Option<u32>,
    /// Sort by created, updated, name or size, ascending unless `:desc`.
    /// Sent to the server where it sorts (streamed); collected and sorted
    /// here otherwise.
    #[arg(long, value_name = "KEY[:asc|desc]", value_parser = parse_sort)]
    pub(crate) sort: Option<Sort>,
    /// Include the backend's native record.
    #[arg(long)]
    pub(crate) raw: bool,
    /// Only images some instance uses (a fresh instance listing first);
    /// images of unknown usage are listed under neither flag.
    #[arg(long, conflicts_with = "unused")]
    pub(crate) in_use: bool,
    /// Only images known to be unused.
    #[arg(long)]
    pub(crate) unused: bool,
    /// Only retired images (those carrying the catalog's retired-at
    /// time, `prune --retire`); a catalog that cannot retire has none, and
    /// says so.
    #[arg(long)]
    pub(crate) retired: bool,
}

impl ListArgs {
    /// The query of a `list` command.
    pub(crate) fn query(&self) -> ListQuery {
        let mut q = self
            .filter
            .query()
            .include_deleted(self.include_deleted)
            .include_retired(self.retired);
        q.limit = self.limit;
        q.page_size = self.page_size;
        q.sort = self.sort;
        q
    }
}

/// The capabilities of each catalog, by name, for `--retired`; a catalog
/// that cannot retire is said on stderr.
fn retired_filter(catalogs: &[NamedCatalog]) -> HashMap<String, Capabilities> {
    let mut caps = HashMap::new();
    for c in catalogs {
        let info = c.catalog.info();
        if info.capabilities.retire.is_none() {
            eprintln!(
                "{}",
                for_terminal(&format!(
                    "{}: {} cannot retire images; none are retired",
                    c.name, info.backend
                ))
            );
        }
        caps.insert(c.name.clone(), info.capabilities);
    }
    caps
}

fn parse_sort(text: &str) -> Result<Sort, String> {
    text.parse()
        .map_err(|e: imagecat::SortParseError| e.to_string())
}

/// `list`: streams (json, ndjson, csv) or collects (table, yaml, and
/// `--sort` unless one catalog whose server sorts by the key).
pub(crate) async fn run(session: &Session, args: ListArgs) -> Result<(), CliError> {
    session.check::<Row>()?;
    let ctx = session.open().await?;
    let catalogs = &ctx.catalogs[..];
    let query = args.query();
    let several = catalogs.len() > 1;
    let format = ctx.view.format;
    let stdout = io::stdout().lock();
    let columns = ctx.view.columns::<Row>(&[])?;
    let mut writer = Emitter::new(io::BufWriter::new(stdout), &ctx.view, columns)?;
    let mut stream = list_all(catalogs, &query);
    let mut failures: Vec<CliError> = Vec::new();
    let mut sorted: Vec<Row> = Vec::new();
    let progress = Progress::new(format, "images", None);
    let mut seen = 0u64;
    let server_sorted = match catalogs {
        [one] => one.catalog.info().capabilities.streams_sorted(&query),
        _ => args.sort.is_none(),
    };
    let mut usage = UsageFilter::new(catalogs, args.in_use, args.unused).await;
    let retire = args.retired.then(|| retired_filter(catalogs));
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
                if let Some(caps) = &retire {
                    let retired = caps.get(&tagged.catalog).is_some_and(|c| {
                        !matches!(
                            retirement(c, &tagged.image),
                            Retirement::NotRetired | Retirement::NotSupported
                        )
                    });
                    if !retired {
                        continue;
                    }
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

//! `imagecat latest`: the newest image matching the filters across the
//! catalogs; with `--family` or `--group-by`, the newest of each family;
//! with `--image-family NAME`, the newest usable image of each image
//! family as the backend answers it (GCE's `getFromFamily`, one request
//! per family and catalog; elsewhere the listing's newest active image
//! whose property `family` is NAME: `ImageCatalog::family_latest`).

use std::collections::BTreeMap;
use std::io;

use clap::Args;
use imagecat::family::GroupBy;
use imagecat::{ErrorKind, Image, ImageCatalogExt, ListQuery, NamedCatalog};

use imagecat::chrono::Utc;
use imagecat::retention::{self, PlanEntry};

use super::prune::{RunArgs, policy_of_flags, run_plan, targets};
use crate::args::{FilterArgs, GroupArgs};
use crate::exit::{CliError, ExitCode};
use crate::output::{Row, View, emit, emit_one};
use crate::session::{Session, finish_fan_out};

/// Arguments of `latest`.
#[derive(Debug, Args)]
pub(crate) struct LatestArgs {
    /// Filters.
    #[command(flatten)]
    filter: FilterArgs,
    /// Families.
    #[command(flatten)]
    group: GroupArgs,
    /// The newest usable image of the image family NAME (repeatable): one
    /// `getFromFamily` request per family and catalog on GCE, elsewhere
    /// the newest active image whose property `family` is NAME. The
    /// filters then apply to each family's image.
    #[arg(
        long = "image-family",
        value_name = "NAME",
        conflicts_with_all = ["family", "group_by"]
    )]
    image_family: Vec<String>,
    /// Include the backend's native record.
    #[arg(long)]
    raw: bool,
    /// Retire every image of each family but its newest (per catalog),
    /// pointing them to it where the backend records a replacement: a
    /// `prune --keep 1 --retire` plan over these filters and families,
    /// printed, and applied with --apply. Needs --family or --group-by.
    #[arg(long)]
    retire_older: bool,
    /// The backend's way to retire (see `prune --retire-method`).
    #[arg(long, value_name = "METHOD", requires = "retire_older")]
    retire_method: Option<String>,
    /// Retire the plan's images (asks on a terminal, or needs --yes).
    #[arg(long, requires = "retire_older")]
    apply: bool,
    /// The apply flags.
    #[command(flatten)]
    run: RunArgs,
}

/// `latest`: one image, or one per family.
pub(crate) async fn run(session: &Session, args: LatestArgs) -> Result<(), CliError> {
    if args.retire_older {
        return retire_older(session, &args).await;
    }
    session.check::<Row>()?;
    let ctx = session.open().await?;
    let query = args.filter.query();
    if !args.image_family.is_empty() {
        return image_families(
            &ctx.catalogs,
            &ctx.view,
            &query,
            &args.image_family,
            args.raw,
        )
        .await;
    }
    match args.group.group() {
        Some(group) => per_family(&ctx.catalogs, &ctx.view, query, &group, args.raw).await,
        None => newest(&ctx.catalogs, &ctx.view, query, args.raw).await,
    }
}

/// `latest --family F --retire-older`: the plan of `prune --keep 1
/// --retire` over the same filters and families, through the one plan
/// path ([`run_plan`]).
async fn retire_older(session: &Session, args: &LatestArgs) -> Result<(), CliError> {
    session.check::<PlanEntry>()?;
    if args.group.group().is_none() {
        return Err(CliError::usage(
            "--retire-older needs --family or --group-by: it retires all but the newest of each family",
        ));
    }
    let ctx = session.open().await?;
    let mut policy = policy_of_flags(None, &args.filter, &args.group, Some(1), false)?;
    policy.retire = true;
    policy.retire_method.clone_from(&args.retire_method);
    policy
        .validate()
        .map_err(|e| CliError::usage(&e.to_string()))?;
    let targets = targets(&ctx.catalogs, &policy).await?;
    let plan = retention::plan(&policy, &targets, Utc::now())
        .await
        .map_err(|e| CliError::new(ExitCode::Failure, e.to_string()))?;
    run_plan(&ctx.catalogs, &ctx.view, plan, args.apply, &args.run).await
}

/// The newest image matching the filters across the catalogs.
async fn newest(
    catalogs: &[NamedCatalog],
    view: &View,
    query: ListQuery,
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
            emit_one(&mut io::stdout().lock(), view, row)
        }
        None => Err(last_error
            .unwrap_or_else(|| CliError::new(ExitCode::NotFound, "no image matches".into()))),
    }
}

/// `latest --image-family NAME…`: each family's image from each catalog
/// (`family_latest`), the newest across catalogs, one row per family in
/// the order given. A family no catalog has is an error naming it after
/// the rows; a catalog that fails is reported and counted as in any
/// fan-out.
async fn image_families(
    catalogs: &[NamedCatalog],
    view: &View,
    query: &ListQuery,
    families: &[String],
    raw: bool,
) -> Result<(), CliError> {
    let several = catalogs.len() > 1;
    let mut best: Vec<Option<(String, Image)>> = vec![None; families.len()];
    let mut failures = Vec::new();
    for named in catalogs {
        let mut failed = None;
        for (slot, family) in best.iter_mut().zip(families) {
            match named.catalog.family_latest(family).await {
                Ok(image) if query.matches(&image) => {
                    if slot
                        .as_ref()
                        .is_none_or(|(_, b)| image.created_at > b.created_at)
                    {
                        *slot = Some((named.name.clone(), image));
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    failed = Some(CliError::from_error(Some(&named.name), e));
                    break;
                }
            }
        }
        if let Some(failure) = failed {
            failure.report_now();
            failures.push(failure);
        }
    }
    let missing: Vec<&str> = families
        .iter()
        .zip(&best)
        .filter(|(_, b)| b.is_none())
        .map(|(f, _)| f.as_str())
        .collect();
    let rows = best
        .into_iter()
        .flatten()
        .map(|(catalog, image)| Row::new(image, several.then_some(catalog), raw))
        .collect();
    emit(&mut io::BufWriter::new(io::stdout().lock()), view, rows)?;
    finish_fan_out(catalogs.len(), failures)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(
            ExitCode::NotFound,
            format!(
                "no usable image of image family {}",
                missing
                    .iter()
                    .map(|f| format!("{:?}", crate::sanitize::for_terminal(f)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// `latest --family REGEX | --group-by property:KEY`: the newest image of
/// each family across the catalogs, one row per family, by family.
async fn per_family(
    catalogs: &[NamedCatalog],
    view: &View,
    query: ListQuery,
    group: &GroupBy,
    raw: bool,
) -> Result<(), CliError> {
    let several = catalogs.len() > 1;
    let mut best: BTreeMap<String, (String, Image)> = BTreeMap::new();
    let mut failures = Vec::new();
    for named in catalogs {
        match named.catalog.latest_per_family(query.clone(), group).await {
            Ok(families) => {
                for (family, image) in families {
                    let newer = best
                        .get(&family)
                        .is_none_or(|(_, b)| image.created_at > b.created_at);
                    if newer {
                        best.insert(family, (named.name.clone(), image));
                    }
                }
            }
            Err(e) => {
                let failure = CliError::from_error(Some(&named.name), e);
                failure.report_now();
                failures.push(failure);
            }
        }
    }
    let rows = best
        .into_values()
        .map(|(catalog, image)| Row::new(image, several.then_some(catalog), raw))
        .collect();
    emit(&mut io::BufWriter::new(io::stdout().lock()), view, rows)?;
    finish_fan_out(catalogs.len(), failures)
}

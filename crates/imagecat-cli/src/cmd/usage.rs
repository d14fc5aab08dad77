//! Usage in the CLI: `imagecat usage [ID…]`, and the check `delete` runs
//! right before each delete (never from a cache).

use std::io::{self, Write};

use std::collections::{BTreeMap, HashMap};

use imagecat::{
    Image, ImageCatalogExt, ImageId, ImageUsage, InstanceQuery, ListQuery, NamedCatalog,
    TaggedImage, UsageScan,
};
use serde::Serialize;

use crate::cli::Format;
use crate::exit::{CliError, ExitCode};
use crate::output::write_columns;
use crate::sanitize::{TABLE_CELL_WIDTH, cell, for_terminal};

/// How many users a refusal names.
const NAMED_USERS: usize = 5;

/// One line of a usage answer for people: `in use by i-1 (web, running), …`.
fn describe(usage: &ImageUsage) -> String {
    match usage {
        ImageUsage::InUse { instances } => {
            let named: Vec<String> = instances
                .iter()
                .take(NAMED_USERS)
                .map(|u| match &u.name {
                    Some(name) => format!("{} ({name}, {})", u.instance_id, u.status),
                    None => format!("{} ({})", u.instance_id, u.status),
                })
                .collect();
            let more = instances.len().saturating_sub(NAMED_USERS);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!(
                "in use by {} instance(s): {}{tail}",
                instances.len(),
                named.join(", ")
            )
        }
        ImageUsage::NotInUse => "not in use".to_owned(),
        ImageUsage::Unknown { reason } => format!("usage unknown: {reason}"),
        other => other.as_str().to_owned(),
    }
}

/// Checks, with a fresh instance listing, that `image` may be deleted: in
/// use or unknown is refused (exit 4) unless `force`. Returns the answer
/// as a line, escaped for the terminal.
pub(crate) async fn check_before_delete(
    named: &NamedCatalog,
    image: &Image,
    label: &str,
    force: bool,
) -> Result<String, CliError> {
    let usage = named
        .catalog
        .usage_of(std::slice::from_ref(image))
        .await
        .pop()
        .unwrap_or(ImageUsage::NotInUse);
    let line = for_terminal(&describe(&usage)).into_owned();
    if !usage.is_known_unused() && !force {
        return Err(CliError::new(
            ExitCode::Denied,
            format!(
                "{}: refusing to delete {label}: {line}; --force-in-use deletes anyway",
                named.name
            ),
        ));
    }
    Ok(line)
}

/// One image's answer in JSON output.
#[derive(Serialize)]
struct Answer<'a> {
    catalog: &'a str,
    image: &'a str,
    #[serde(flatten)]
    usage: &'a ImageUsage,
}

/// `usage [ID…]`: which instances use each image (every listed image when
/// no id is given), one fresh scan per catalog.
pub(crate) async fn run(
    catalogs: &[NamedCatalog],
    format: Format,
    ids: &[String],
) -> Result<(), CliError> {
    let mut answers: Vec<(String, Image, ImageUsage)> = Vec::new();
    for named in catalogs {
        let fail = |e| CliError::from_error(Some(&named.name), e);
        let images = if ids.is_empty() {
            named
                .catalog
                .collect(ListQuery::new())
                .await
                .map_err(fail)?
        } else {
            let mut images = Vec::new();
            for id in ids {
                images.push(
                    named
                        .catalog
                        .get(&ImageId::new(id.as_str()))
                        .await
                        .map_err(fail)?,
                );
            }
            images
        };
        let usage = named.catalog.usage_of(&images).await;
        answers.extend(
            images
                .into_iter()
                .zip(usage)
                .map(|(i, u)| (named.name.clone(), i, u)),
        );
    }
    let mut out = io::stdout().lock();
    match format {
        Format::Json | Format::Ndjson | Format::Yaml => {
            let docs: Vec<Answer<'_>> = answers
                .iter()
                .map(|(catalog, image, usage)| Answer {
                    catalog,
                    image: image.id.as_str(),
                    usage,
                })
                .collect();
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &docs).map_err(io::Error::other)?
                }
                Format::Yaml => out.write_all(
                    serde_norway::to_string(&docs)
                        .map_err(io::Error::other)?
                        .as_bytes(),
                )?,
                _ => {
                    for doc in &docs {
                        serde_json::to_writer(&mut out, doc).map_err(io::Error::other)?;
                        writeln!(out)?;
                    }
                }
            }
            if format == Format::Json {
                writeln!(out)?;
            }
        }
        _ => {
            let header: Vec<String> = ["IMAGE", "INSTANCE", "NAME", "STATUS", "HOW", "CATALOG"]
                .map(String::from)
                .into();
            let c = |text: &str| cell(text, TABLE_CELL_WIDTH);
            let mut rows = Vec::new();
            for (catalog, image, usage) in &answers {
                match usage {
                    ImageUsage::InUse { instances } => {
                        for u in instances {
                            rows.push(vec![
                                c(image.id.as_str()),
                                c(&u.instance_id),
                                c(u.name.as_deref().unwrap_or("-")),
                                c(&u.status),
                                c(u.via.as_str()),
                                c(catalog),
                            ]);
                        }
                    }
                    other => rows.push(vec![
                        c(image.id.as_str()),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        c(&describe(other)),
                        c(catalog),
                    ]),
                }
            }
            write_columns(&mut out, &header, rows)?;
        }
    }
    Ok(())
}

/// `list --in-use` / `--unused`: one fresh scan per catalog before the
/// listing; images of unknown usage are kept under neither, and counted.
pub(crate) struct UsageFilter {
    want: Option<bool>,
    scans: HashMap<String, UsageScan>,
    unknown: BTreeMap<String, usize>,
}

impl UsageFilter {
    /// No filter unless `in_use` or `unused`; then every catalog is scanned.
    pub(crate) async fn new(catalogs: &[NamedCatalog], in_use: bool, unused: bool) -> Self {
        let want = (in_use || unused).then_some(in_use);
        let mut scans = HashMap::new();
        if want.is_some() {
            for named in catalogs {
                let scan = named.catalog.usage_scan(InstanceQuery::new()).await;
                scans.insert(named.name.clone(), scan);
            }
        }
        UsageFilter {
            want,
            scans,
            unknown: BTreeMap::new(),
        }
    }

    /// Whether the image is listed.
    pub(crate) fn keeps(&mut self, tagged: &TaggedImage) -> bool {
        let Some(in_use) = self.want else {
            return true;
        };
        let Some(scan) = self.scans.get(&tagged.catalog) else {
            return false;
        };
        match scan.usage_of(&tagged.image) {
            ImageUsage::InUse { .. } => in_use,
            ImageUsage::NotInUse => !in_use,
            ImageUsage::Unknown { reason } => {
                let why = format!("{}: {reason}", tagged.catalog);
                *self.unknown.entry(why).or_default() += 1;
                false
            }
            _ => false,
        }
    }

    /// The note on stderr: how many images were of unknown usage, and why.
    pub(crate) fn report(&self) {
        let total: usize = self.unknown.values().sum();
        if total == 0 {
            return;
        }
        eprintln!(
            "note: {total} image(s) of unknown usage listed under neither --in-use nor --unused:"
        );
        for (why, n) in &self.unknown {
            eprintln!("  {n}: {}", for_terminal(why));
        }
    }
}

//! Usage in the CLI: `imagecat usage [ID…]`, the check `delete` runs
//! right before each delete (never from a cache), and the filter of
//! `list --in-use / --unused`.

use std::collections::{BTreeMap, HashMap};
use std::io;

use clap::Args;
use imagecat::{
    Image, ImageCatalogExt, ImageId, ImageUsage, InstanceQuery, ListQuery, NamedCatalog,
    TaggedImage, UsageScan,
};
use serde::Serialize;

use crate::exit::{CliError, ExitCode};
use crate::output::{Column, Style, Tabular, emit};
use crate::sanitize::for_terminal;
use crate::session::Session;

/// Arguments of `usage`.
#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// The image ids.
    ids: Vec<String>,
}

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

/// One image's answer: one JSON object, a table line per instance using
/// it (one line saying why when none or unknown).
#[derive(Debug, Serialize)]
struct Answer {
    catalog: String,
    image: String,
    #[serde(flatten)]
    usage: ImageUsage,
}

/// One table line of an answer.
#[derive(Debug)]
struct UsageLine {
    image: String,
    instance: String,
    name: String,
    status: String,
    how: String,
    catalog: String,
}

impl Tabular for Answer {
    type Line = UsageLine;
    const COLUMNS: &'static [Column<UsageLine>] = &[
        Column::new("image", "IMAGE", |l| l.image.clone()),
        Column::new("instance", "INSTANCE", |l| l.instance.clone()),
        Column::new("name", "NAME", |l| l.name.clone()),
        Column::new("status", "STATUS", |l| l.status.clone()),
        Column::new("how", "HOW", |l| l.how.clone()),
        Column::new("catalog", "CATALOG", |l| l.catalog.clone()),
    ];
    const STYLE: Style = Style::of("usage answers");
    fn each_line(&self, each: &mut dyn FnMut(&UsageLine)) {
        let line = |instance: &str, name: &str, status: &str, how: String| UsageLine {
            image: self.image.clone(),
            instance: instance.to_owned(),
            name: name.to_owned(),
            status: status.to_owned(),
            how,
            catalog: self.catalog.clone(),
        };
        match &self.usage {
            ImageUsage::InUse { instances } => {
                for u in instances {
                    each(&line(
                        &u.instance_id,
                        u.name.as_deref().unwrap_or("-"),
                        &u.status,
                        u.via.as_str().to_owned(),
                    ));
                }
            }
            other => each(&line("-", "-", "-", describe(other))),
        }
    }
}

/// `usage [ID…]`: which instances use each image (every listed image when
/// no id is given), one fresh scan per catalog.
pub(crate) async fn run(session: &Session, args: UsageArgs) -> Result<(), CliError> {
    session.check::<Answer>()?;
    let ctx = session.open().await?;
    let mut answers: Vec<Answer> = Vec::new();
    for named in &ctx.catalogs {
        let fail = |e| CliError::from_error(Some(&named.name), e);
        let images = if args.ids.is_empty() {
            named
                .catalog
                .collect(ListQuery::new())
                .await
                .map_err(fail)?
        } else {
            let mut images = Vec::new();
            for id in &args.ids {
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
        answers.extend(images.into_iter().zip(usage).map(|(i, u)| Answer {
            catalog: named.name.clone(),
            image: i.id.to_string(),
            usage: u,
        }));
    }
    emit(&mut io::stdout().lock(), &ctx.view, answers)
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

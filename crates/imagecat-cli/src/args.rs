//! The command line, as clap parses it.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use imagecat::chrono::{DateTime, Utc};
use imagecat::diff::DiffBy;
use imagecat::family::GroupBy;
use imagecat::{ImageStatus, ListQuery, Sort, Visibility};

use crate::columns::{self, Column};

/// List, inspect and delete machine images across clouds.
#[derive(Debug, Parser)]
#[command(name = "imagecat", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// A catalog URL (toast://…, dcmgr://…, memory:) or a name from the config
    /// file; repeat it to list several catalogs at once.
    #[arg(
        short = 'c',
        long = "catalog",
        global = true,
        env = "IMAGECAT_CATALOG",
        value_delimiter = ',',
        value_name = "SPEC|NAME"
    )]
    pub(crate) catalogs: Vec<String>,

    /// The OpenStack cloud of clouds.yaml for glance catalogs (like OS_CLOUD);
    /// without --catalog, opens that cloud's Glance.
    #[arg(long = "os-cloud", global = true, value_name = "NAME")]
    pub(crate) os_cloud: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,

    /// A column of table, csv and value output (repeatable, in order): a
    /// field name (`id`, `size_bytes`, `description`, …) or a table header.
    #[arg(
        short = 'C',
        long = "column",
        global = true,
        value_name = "NAME",
        value_parser = parse_column
    )]
    pub(crate) columns: Vec<&'static Column>,

    /// In csv output, prefix cells that start with `=`, `+`, `-`, `@`, tab
    /// or CR with `'` so a spreadsheet shows them as text, not formulas.
    #[arg(long, global = true)]
    pub(crate) csv_safe: bool,

    /// No progress line on stderr.
    #[arg(short = 'q', long, global = true)]
    pub(crate) quiet: bool,

    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array (one object for show/info).
    Json,
    /// One JSON object per line, written as pages arrive.
    Ndjson,
    /// Comma-separated values with a header.
    Csv,
    /// YAML.
    Yaml,
    /// Values only, space-separated, one image a line (for shell scripts).
    Value,
}

fn parse_column(name: &str) -> Result<&'static Column, String> {
    columns::by_name(name).ok_or_else(|| {
        format!(
            "no column {name:?}; the columns: {}",
            columns::names().join(", ")
        )
    })
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List images.
    List(ListArgs),
    /// Show one image.
    Show {
        /// The image id.
        id: String,
        /// Include the backend's native record.
        #[arg(long)]
        raw: bool,
    },
    /// Delete images (asks on a terminal; --yes otherwise).
    Delete {
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
    },
    /// Which instances use each image (IMAGE, INSTANCE, NAME, STATUS, HOW,
    /// CATALOG); every listed image when no id is given.
    Usage {
        /// The image ids.
        ids: Vec<String>,
    },
    /// Show the newest matching image, or fail with "not found"; with
    /// --family or --group-by, the newest image of each family.
    Latest {
        /// Filters.
        #[command(flatten)]
        filter: FilterArgs,
        /// Families.
        #[command(flatten)]
        group: GroupArgs,
        /// Include the backend's native record.
        #[arg(long)]
        raw: bool,
    },
    /// Compare two catalogs: images missing from B, extra in B, changed
    /// (same name, other checksum or size). Exit 0 when they agree, 10
    /// when they differ.
    Diff {
        /// How images are matched.
        #[arg(long, default_value = "name", value_parser = parse_diff_by, value_name = "name|checksum|name+checksum")]
        by: DiffBy,
        /// Filters, applied to both catalogs.
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Plan a clean-up by a retention policy and print it; delete nothing
    /// unless --apply. Exit 6 when some deletes failed.
    Prune(crate::prune::PruneArgs),
    /// Apply a plan saved by `prune --plan-out`, re-checking each image
    /// right before its delete.
    Apply {
        /// The plan file (JSON).
        file: std::path::PathBuf,
        /// How it is applied.
        #[command(flatten)]
        run: crate::prune::RunArgs,
    },
    /// Show the backend, endpoint (no secrets) and capabilities.
    Info,
    /// Run an emulator in the foreground; prints its catalog URL first.
    Emulate(crate::emulate::EmulateArgs),
    /// The embedded demo: both emulators in-process, listed, shown, deleted.
    Demo,
    /// Print a shell completion script (`source <(imagecat completions bash)`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; `imagecat man | man -l -`).
    Man,
    /// The config file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `imagecat config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the config file's path and its catalogs, secrets redacted.
    Show,
}

/// Filters shared by list and latest.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Name, exact or a glob (`web-*`).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) name: Option<String>,
    /// Keep these statuses (repeatable).
    #[arg(long, value_name = "S", value_parser = status_parser())]
    pub(crate) status: Vec<ImageStatus>,
    /// Keep this visibility.
    #[arg(long, value_enum)]
    pub(crate) visibility: Option<VisibilityArg>,
    /// Keep this owner's images.
    #[arg(long, value_name = "O")]
    pub(crate) owner: Option<String>,
    /// Keep images of at least this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub(crate) size_min: Option<u64>,
    /// Keep images of at most this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub(crate) size_max: Option<u64>,
    /// Keep images created before this RFC 3339 time or age (`30d`: 30 days ago).
    #[arg(long, value_name = "TIME|AGE", value_parser = parse_time, conflicts_with = "older_than")]
    pub(crate) created_before: Option<DateTime<Utc>>,
    /// Keep images created after this RFC 3339 time or age.
    #[arg(long, value_name = "TIME|AGE", value_parser = parse_time, conflicts_with = "newer_than")]
    pub(crate) created_after: Option<DateTime<Utc>>,
    /// Keep images updated before this RFC 3339 time or age.
    #[arg(long, value_name = "TIME|AGE", value_parser = parse_time)]
    pub(crate) updated_before: Option<DateTime<Utc>>,
    /// Keep images updated after this RFC 3339 time or age.
    #[arg(long, value_name = "TIME|AGE", value_parser = parse_time)]
    pub(crate) updated_after: Option<DateTime<Utc>>,
    /// Keep images created more than AGE ago (`--created-before AGE`).
    #[arg(long, value_name = "AGE", value_parser = parse_age_ago)]
    pub(crate) older_than: Option<DateTime<Utc>>,
    /// Keep images created less than AGE ago (`--created-after AGE`).
    #[arg(long, value_name = "AGE", value_parser = parse_age_ago)]
    pub(crate) newer_than: Option<DateTime<Utc>>,
    /// Keep images whose property KEY is VALUE (repeatable; all must match).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_property)]
    pub(crate) property: Vec<(String, String)>,
    /// Keep images with this tag (repeatable; all must be present; Glance only).
    #[arg(long, value_name = "TAG")]
    pub(crate) tag: Vec<String>,
}

/// How `latest` groups images into families.
#[derive(Debug, Args)]
pub(crate) struct GroupArgs {
    /// Families by regex: the group named `family`, else the first group,
    /// else the match; a name it does not match is its own family.
    #[arg(long, value_name = "REGEX", value_parser = parse_family, conflicts_with = "group_by")]
    pub(crate) family: Option<GroupBy>,
    /// Families by `property:KEY` (or `name`, `regex:RE`).
    #[arg(long, value_name = "property:KEY", value_parser = parse_group_by)]
    pub(crate) group_by: Option<GroupBy>,
}

impl GroupArgs {
    /// The grouping asked for, if any.
    pub(crate) fn group(&self) -> Option<GroupBy> {
        self.family.clone().or_else(|| self.group_by.clone())
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    imagecat::duration::parse_time_or_age(text, Utc::now()).map_err(|e| e.to_string())
}

fn parse_age_ago(text: &str) -> Result<DateTime<Utc>, String> {
    let age = imagecat::duration::parse_age(text).map_err(|e| e.to_string())?;
    Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(|| format!("{text:?} reaches before year 0"))
}

pub(crate) fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

fn parse_family(text: &str) -> Result<GroupBy, String> {
    GroupBy::regex(text).map_err(|e| e.to_string())
}

fn parse_group_by(text: &str) -> Result<GroupBy, String> {
    text.parse()
        .map_err(|e: imagecat::family::GroupByError| e.to_string())
}

fn parse_sort(text: &str) -> Result<Sort, String> {
    text.parse()
        .map_err(|e: imagecat::SortParseError| e.to_string())
}

fn parse_diff_by(text: &str) -> Result<DiffBy, String> {
    text.parse()
}

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
}

/// `--status S`: a unified status word (as [`ImageStatus::as_str`] prints
/// it), parsed into the status itself.
pub(crate) fn status_parser() -> impl TypedValueParser<Value = ImageStatus> {
    let words = [
        ("queued", "Reserved, no data yet"),
        ("saving", "Data being written"),
        ("active", "Ready"),
        ("deactivated", "Administrators only"),
        ("failed", "Creation failed"),
        ("deleted", "Deleted"),
        ("unknown", "Any status no mapping knows"),
    ];
    PossibleValuesParser::new(words.map(|(word, help)| PossibleValue::new(word).help(help)))
        .map(|word| ImageStatus::from_unified(&word))
}

/// Visibilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VisibilityArg {
    /// Public.
    Public,
    /// Private.
    Private,
    /// Shared.
    Shared,
    /// Community.
    Community,
}

impl FilterArgs {
    /// The query these filters describe.
    pub(crate) fn query(&self) -> ListQuery {
        let mut q = ListQuery::new();
        if let Some(name) = &self.name {
            q = q.name(name);
        }
        for s in &self.status {
            q = q.status(s.clone());
        }
        if let Some(v) = self.visibility {
            q = q.visibility(match v {
                VisibilityArg::Public => Visibility::Public,
                VisibilityArg::Private => Visibility::Private,
                VisibilityArg::Shared => Visibility::Shared,
                VisibilityArg::Community => Visibility::Community,
            });
        }
        if let Some(owner) = &self.owner {
            q = q.owner(owner.clone());
        }
        if self.size_min.is_some() || self.size_max.is_some() {
            q = q.size_range(self.size_min, self.size_max);
        }
        q.created_before = self.created_before.or(self.older_than);
        q.created_after = self.created_after.or(self.newer_than);
        q.updated_before = self.updated_before;
        q.updated_after = self.updated_after;
        for (k, v) in &self.property {
            q = q.property(k.clone(), v.clone());
        }
        for t in &self.tag {
            q = q.tag(t.clone());
        }
        q
    }
}

impl ListArgs {
    /// The query of a `list` command.
    pub(crate) fn query(&self) -> ListQuery {
        let mut q = self.filter.query().include_deleted(self.include_deleted);
        q.limit = self.limit;
        q.page_size = self.page_size;
        q.sort = self.sort;
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_parse_into_unified_statuses_and_others_are_refused() {
        let cli = Cli::try_parse_from([
            "imagecat", "list", "--status", "deleted", "--status", "unknown",
        ])
        .unwrap();
        let Command::List(args) = cli.command else {
            panic!("not a list command");
        };
        assert_eq!(
            args.filter.status,
            [ImageStatus::Deleted, ImageStatus::Unknown("unknown".into())]
        );
        for bad in ["Active", "killed", ""] {
            assert!(
                Cli::try_parse_from(["imagecat", "list", "--status", bad]).is_err(),
                "{bad:?}"
            );
        }
    }
}

//! The arguments every command shares: the global flags, the filters of
//! `list`, `latest`, `diff` and `prune`, the families of `latest` and
//! `prune`, and their value parsers. Each command's own arguments live in
//! its module under `cmd/`; this module imports nothing of the CLI but the
//! output format.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use imagecat::chrono::{DateTime, Utc};
use imagecat::family::GroupBy;
use imagecat::{ImageStatus, ListQuery, Visibility};

use crate::output::Format;

/// The global flags (before or after the command).
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
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
    #[arg(short = 'C', long = "column", global = true, value_name = "NAME")]
    pub(crate) columns: Vec<String>,

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
}

/// The filters shared by list, latest, diff and prune.
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
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) older_than: Option<Age>,
    /// Keep images created less than AGE ago (`--created-after AGE`).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) newer_than: Option<Age>,
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

/// An age (`30d`) as given, and the time that long ago: `list` filters by
/// the time, `prune` hands the text to its policy; both parse it here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Age {
    /// The age as written.
    pub(crate) text: String,
    /// Now minus the age.
    pub(crate) ago: DateTime<Utc>,
}

fn parse_age(text: &str) -> Result<Age, String> {
    let age = imagecat::duration::parse_age(text).map_err(|e| e.to_string())?;
    let ago = Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(|| format!("{text:?} reaches before year 0"))?;
    Ok(Age {
        text: text.to_owned(),
        ago,
    })
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
        q.created_before = self
            .created_before
            .or(self.older_than.as_ref().map(|a| a.ago));
        q.created_after = self
            .created_after
            .or(self.newer_than.as_ref().map(|a| a.ago));
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The filters alone, as a command flattens them.
    #[derive(Debug, Parser)]
    struct Filters {
        #[command(flatten)]
        filter: FilterArgs,
    }

    #[test]
    fn status_words_parse_into_unified_statuses_and_others_are_refused() {
        let parsed =
            Filters::try_parse_from(["list", "--status", "deleted", "--status", "unknown"])
                .unwrap();
        assert_eq!(
            parsed.filter.status,
            [ImageStatus::Deleted, ImageStatus::Unknown("unknown".into())]
        );
        for bad in ["Active", "killed", ""] {
            assert!(
                Filters::try_parse_from(["list", "--status", bad]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_age_keeps_its_text_and_its_time() {
        let before = Utc::now();
        let parsed = Filters::try_parse_from(["list", "--older-than", "2d"]).unwrap();
        let age = parsed.filter.older_than.clone().unwrap();
        assert_eq!(age.text, "2d");
        let days = (before - age.ago).num_hours();
        assert!((47..=48).contains(&days), "{days}h");
        assert_eq!(parsed.filter.query().created_before, Some(age.ago));
        assert!(Filters::try_parse_from(["list", "--older-than", "3x"]).is_err());
    }
}

//! `imagecat golden -c A -c B -c C …`: the golden-image matrix, one row
//! per family, one short column per catalog (`imagecat::golden`).

use std::io::{self, Write};

use clap::Args;
use imagecat::ImageStatus;
use imagecat::golden::{BuildKey, CellState, GoldenFamily, golden_catalogs, golden_image_families};

use crate::args::{FilterArgs, GroupArgs};
use crate::exit::{CliError, ExitCode};
use crate::output::{Column, EmptyTable, Format, Shown, Style, Tabular, emit};
use crate::sanitize;
use crate::session::{Session, finish_fan_out};

/// The most catalogs a table shows (one column each); json has no limit.
const MAX_TABLE_CATALOGS: usize = 32;

/// How many terminal columns a short build takes in a table cell.
const SHORT_BUILD: usize = 12;

/// Arguments of `golden`.
#[derive(Debug, Args)]
pub(crate) struct GoldenArgs {
    /// What identifies a build: the image name, its checksum, a property's
    /// value or its tags matching a glob.
    #[arg(long, default_value = "name", value_parser = parse_by, value_name = "name|checksum|property:KEY|tag:GLOB")]
    by: BuildKey,
    /// Families (default: one per exact name).
    #[command(flatten)]
    group: GroupArgs,
    /// Compare only the head of each image family NAME (repeatable): one
    /// `getFromFamily` request per family and catalog on GCE, elsewhere
    /// the newest active image whose property `family` is NAME.
    #[arg(
        long = "image-family",
        value_name = "NAME",
        conflicts_with_all = ["family", "group_by"]
    )]
    image_family: Vec<String>,
    /// Filters, applied to every catalog (`--status` defaults to active).
    #[command(flatten)]
    filter: FilterArgs,
}

fn parse_by(text: &str) -> Result<BuildKey, String> {
    text.parse()
        .map_err(|e: imagecat::golden::BuildKeyError| e.to_string())
}

/// The one-character mark of a state in a table cell.
fn mark(state: CellState) -> &'static str {
    match state {
        CellState::Current => "=",
        CellState::Stale => "<",
        CellState::Missing => "-",
        CellState::Extra => "+",
        _ => "?",
    }
}

/// A build cut for a table: a checksum's first 8 characters; a name
/// without its family prefix; anything else its last characters.
fn short_build(family: &GoldenFamily, build: &str, by_checksum: bool) -> String {
    if by_checksum {
        return build.chars().take(8).collect();
    }
    let rest = build
        .strip_prefix(family.family.as_str())
        .map(|r| r.trim_start_matches(['-', '_', '.', ' ']))
        .filter(|r| !r.is_empty())
        .unwrap_or(build);
    let count = rest.chars().count();
    if count <= SHORT_BUILD {
        rest.to_owned()
    } else {
        let tail: String = rest.chars().skip(count - (SHORT_BUILD - 1)).collect();
        format!("…{tail}")
    }
}

/// One row as printed: the family (its JSON is the family's, exactly) and
/// whether builds are checksums (cut at the head in a table, not the tail).
#[derive(Debug)]
pub(crate) struct MatrixRow {
    family: GoldenFamily,
    checksums: bool,
}

impl serde::Serialize for MatrixRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.family.serialize(s)
    }
}

/// Cell `n`, exact: `state` or `state:BUILD` (csv, value).
fn exact_cell(row: &MatrixRow, n: usize) -> String {
    let Some(cell) = row.family.cells.get(n) else {
        return String::new();
    };
    match cell.image.as_ref().and_then(|i| i.build.as_deref()) {
        Some(build) if cell.state != CellState::Missing => {
            format!("{}:{build}", cell.state.as_str())
        }
        _ => cell.state.as_str().to_owned(),
    }
}

/// Cell `n` for people: its mark alone (the builds of stale cells are in
/// the `OLDER` column, so ten catalogs fit a terminal).
fn human_cell(row: &MatrixRow, n: usize) -> String {
    row.family
        .cells
        .get(n)
        .map(|cell| mark(cell.state).to_owned())
        .unwrap_or_default()
}

/// The stale builds of a row, each with the catalogs (numbered from 1)
/// holding it, in catalog order: `20260101 (2,7)`; `short` cuts builds.
fn older(row: &MatrixRow, short: bool) -> String {
    let mut builds: Vec<(&str, Vec<String>)> = Vec::new();
    for (n, cell) in row.family.cells.iter().enumerate() {
        let build = cell.image.as_ref().and_then(|i| i.build.as_deref());
        if let (CellState::Stale, Some(build)) = (cell.state, build) {
            match builds.iter_mut().find(|(b, _)| *b == build) {
                Some((_, at)) => at.push((n + 1).to_string()),
                None => builds.push((build, vec![(n + 1).to_string()])),
            }
        }
    }
    let shown = builds.into_iter().map(|(build, at)| {
        let build = if short {
            short_build(&row.family, build, row.checksums)
        } else {
            build.to_owned()
        };
        format!("{build} ({})", at.join(","))
    });
    shown.collect::<Vec<_>>().join(" ")
}

fn newest_exact(row: &MatrixRow) -> String {
    row.family.newest.image.build.clone().unwrap_or_default()
}

fn newest_human(row: &MatrixRow) -> String {
    match row.family.newest.image.build.as_deref() {
        Some(b) => short_build(&row.family, b, row.checksums),
        None => "?".to_owned(),
    }
}

/// Catalog column `n` (0-based): header `n+1`, named `cN`, shown when the
/// matrix has that many catalogs.
macro_rules! slot {
    ($n:literal, $name:literal, $header:literal) => {
        Column {
            name: $name,
            header: $header,
            shown: Shown::IfAny(|r: &MatrixRow| r.family.cells.len() > $n),
            exact: |r: &MatrixRow| exact_cell(r, $n),
            human: Some(|r: &MatrixRow| human_cell(r, $n)),
        }
    };
}

impl Tabular for MatrixRow {
    type Line = MatrixRow;
    const COLUMNS: &'static [Column<MatrixRow>] = &[
        Column::new("family", "FAMILY", |r| r.family.family.clone()),
        Column::new("state", "STATE", |r| r.family.state.as_str().to_owned()),
        Column {
            name: "newest",
            header: "NEWEST",
            shown: Shown::Always,
            exact: newest_exact,
            human: Some(newest_human),
        },
        Column {
            name: "newest_catalog",
            header: "NEWEST IN",
            shown: Shown::CsvOnly,
            exact: |r| r.family.newest.catalog.clone(),
            human: None,
        },
        slot!(0, "c1", "1"),
        slot!(1, "c2", "2"),
        slot!(2, "c3", "3"),
        slot!(3, "c4", "4"),
        slot!(4, "c5", "5"),
        slot!(5, "c6", "6"),
        slot!(6, "c7", "7"),
        slot!(7, "c8", "8"),
        slot!(8, "c9", "9"),
        slot!(9, "c10", "10"),
        slot!(10, "c11", "11"),
        slot!(11, "c12", "12"),
        slot!(12, "c13", "13"),
        slot!(13, "c14", "14"),
        slot!(14, "c15", "15"),
        slot!(15, "c16", "16"),
        slot!(16, "c17", "17"),
        slot!(17, "c18", "18"),
        slot!(18, "c19", "19"),
        slot!(19, "c20", "20"),
        slot!(20, "c21", "21"),
        slot!(21, "c22", "22"),
        slot!(22, "c23", "23"),
        slot!(23, "c24", "24"),
        slot!(24, "c25", "25"),
        slot!(25, "c26", "26"),
        slot!(26, "c27", "27"),
        slot!(27, "c28", "28"),
        slot!(28, "c29", "29"),
        slot!(29, "c30", "30"),
        slot!(30, "c31", "31"),
        slot!(31, "c32", "32"),
        Column {
            name: "older",
            header: "OLDER",
            shown: Shown::IfAny(|r| r.family.cells.iter().any(|c| c.state == CellState::Stale)),
            exact: |r| older(r, false),
            human: Some(|r| older(r, true)),
        },
    ];
    const STYLE: Style = Style {
        cell_width: 40,
        empty_table: EmptyTable::Say("no families"),
        ..Style::of("families")
    };
    fn each_line(&self, each: &mut dyn FnMut(&MatrixRow)) {
        each(self);
    }
}

/// A catalog's name as a matrix shows it (the legend, the report's
/// columns): a URL without its user and query (where credentials may sit,
/// and which make columns unreadably wide); a config name as it is.
pub(crate) fn shown_catalog(name: &str) -> String {
    let mut shown = name.split(['?', '#']).next().unwrap_or(name).to_owned();
    if let Some((scheme, rest)) = shown.split_once("://") {
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let host = authority.rsplit('@').next().unwrap_or(authority);
        shown = format!("{scheme}://{host}{path}");
    }
    shown
}

/// A catalog's name for the legend: [`shown_catalog`], escaped and cut to
/// 60 columns.
fn legend_name(name: &str) -> String {
    sanitize::cell(&sanitize::for_terminal(&shown_catalog(name)), 60)
}

/// `golden`: the matrix; exit 0 when every cell is current, 10 on drift
/// (or a build that cannot be told), 6 when some catalogs failed.
pub(crate) async fn run(session: &Session, args: GoldenArgs) -> Result<(), CliError> {
    session.check::<MatrixRow>()?;
    let ctx = session.open().await?;
    if ctx.catalogs.len() < 2 {
        return Err(CliError::usage(
            "golden compares two or more catalogs: pass --catalog A --catalog B …",
        ));
    }
    if ctx.view.format == Format::Table && ctx.catalogs.len() > MAX_TABLE_CATALOGS {
        return Err(CliError::usage(&format!(
            "a golden table shows at most {MAX_TABLE_CATALOGS} catalogs; use -o json for more"
        )));
    }
    let mut query = args.filter.query();
    if args.filter.status.is_empty() {
        query = query.status(ImageStatus::Active);
    }
    let group = args.group.group().unwrap_or_default();
    let named: Vec<(&str, &dyn imagecat::ImageCatalog)> = ctx
        .catalogs
        .iter()
        .map(|c| (c.name.as_str(), &*c.catalog as &dyn imagecat::ImageCatalog))
        .collect();
    let (matrix, failed) = if args.image_family.is_empty() {
        golden_catalogs(&named, &query, &group, &args.by).await
    } else {
        golden_image_families(&named, &args.image_family, &query, &args.by).await
    };
    let failures: Vec<CliError> = failed
        .into_iter()
        .map(|(name, e)| {
            let failure = CliError::from_error(Some(&name), e);
            failure.report_now();
            failure
        })
        .collect();
    if failures.len() == ctx.catalogs.len() {
        return finish_fan_out(ctx.catalogs.len(), failures);
    }
    let consistent = matrix.is_consistent();
    let counts = matrix.counts();
    let drifting = matrix
        .families
        .iter()
        .filter(|f| f.state != imagecat::golden::FamilyState::Consistent)
        .count();
    let families = matrix.families.len();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let checksums = matches!(args.by, BuildKey::Checksum);
    let rows = matrix
        .families
        .into_iter()
        .map(|family| MatrixRow { family, checksums })
        .collect();
    emit(&mut out, &ctx.view, rows)?;
    if ctx.view.format == Format::Table && families > 0 {
        writeln!(out)?;
        for (n, c) in matrix.catalogs.iter().enumerate() {
            writeln!(out, "{:>2}  {}", n + 1, legend_name(&c.name))?;
        }
        writeln!(
            out,
            "= current  < stale (OLDER: its build)  - missing  + extra (only here)  ? unknown build"
        )?;
    }
    out.flush()?;
    if !failures.is_empty() {
        return finish_fan_out(ctx.catalogs.len(), failures);
    }
    if consistent {
        return Ok(());
    }
    Err(CliError::new(
        ExitCode::Differences,
        format!(
            "{drifting} of {families} families not consistent by {}: {} stale, {} missing, {} extra, {} unknown",
            args.by, counts.stale, counts.missing, counts.extra, counts.unknown
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_builds_drop_the_family_and_keep_the_tail() {
        use imagecat::golden::{BuildKey, CatalogFamilies, golden_matrix};
        use imagecat::{BackendKind, Image};
        let group = imagecat::family::GroupBy::regex(r"^(.+)-\d{8}$").unwrap();
        let image = Image::new("i", BackendKind::Memory, ImageStatus::Active, "active")
            .with_name("ubuntu-24.04-20260101");
        let listed = [CatalogFamilies::from_images("a", &group, vec![image])];
        let family = golden_matrix(&listed, &group, &BuildKey::Name)
            .families
            .remove(0);
        assert_eq!(
            short_build(&family, "ubuntu-24.04-20260101", false),
            "20260101"
        );
        assert_eq!(
            short_build(&family, "other-2026.01.01-rc1", false),
            "…6.01.01-rc1"
        );
        assert_eq!(short_build(&family, "0123456789abcdef", true), "01234567");
        assert_eq!(short_build(&family, "ubuntu-24.04", false), "ubuntu-24.04");
    }

    #[test]
    fn legend_names_drop_credentials_and_queries() {
        assert_eq!(legend_name("kr1"), "kr1");
        assert_eq!(
            legend_name("toast://user:pw@api.example.com/v1?appkey=SECRET"),
            "toast://api.example.com/v1"
        );
        assert_eq!(
            legend_name("glance+http://127.0.0.1:9/"),
            "glance+http://127.0.0.1:9/"
        );
        assert_eq!(legend_name("a\x1b[2Jb"), "a\\x1b[2Jb");
    }
}

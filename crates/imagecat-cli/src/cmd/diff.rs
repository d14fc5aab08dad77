//! `imagecat diff -c A -c B`: images missing from B, extra in B, changed.

use std::io::{self, Write};

use clap::Args;
use imagecat::ImageCatalogExt;
use imagecat::diff::{DiffBy, DiffSide, Difference, diff_images};

use crate::args::FilterArgs;
use crate::exit::{CliError, ExitCode};
use crate::output::{Column, EmptyTable, Style, Tabular, emit};
use crate::session::Session;

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// How images are matched.
    #[arg(long, default_value = "name", value_parser = parse_diff_by, value_name = "name|checksum|name+checksum")]
    by: DiffBy,
    /// Filters, applied to both catalogs.
    #[command(flatten)]
    filter: FilterArgs,
}

fn parse_diff_by(text: &str) -> Result<DiffBy, String> {
    text.parse()
}

fn join(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(",")
    }
}

fn ids(sides: &[DiffSide]) -> String {
    join(sides.iter().map(|x| x.id.to_string()))
}

fn sums(sides: &[DiffSide]) -> String {
    join(sides.iter().map(|x| match (&x.checksum, x.size_bytes) {
        (Some(c), _) => c.clone(),
        (None, Some(n)) => format!("size {n}"),
        (None, None) => "-".to_owned(),
    }))
}

impl Tabular for Difference {
    type Line = Difference;
    const COLUMNS: &'static [Column<Difference>] = &[
        Column::new("kind", "KIND", |d| d.kind.as_str().to_owned()),
        Column::new("name", "NAME", |d| {
            d.name.clone().unwrap_or_else(|| "-".to_owned())
        }),
        Column::new("a_id", "A ID", |d| ids(&d.a)),
        Column::new("a_checksum", "A CHECKSUM", |d| sums(&d.a)),
        Column::new("b_id", "B ID", |d| ids(&d.b)),
        Column::new("b_checksum", "B CHECKSUM", |d| sums(&d.b)),
    ];
    const STYLE: Style = Style {
        empty_table: EmptyTable::Say("no differences"),
        ..Style::of("differences")
    };
    fn each_line(&self, each: &mut dyn FnMut(&Difference)) {
        each(self);
    }
}

/// `diff --catalog A --catalog B`: exit 0 when they agree, 10 when they
/// differ, a failure code when a listing fails.
pub(crate) async fn run(session: &Session, args: DiffArgs) -> Result<(), CliError> {
    session.check::<Difference>()?;
    let ctx = session.open().await?;
    let [a, b] = &ctx.catalogs[..] else {
        return Err(CliError::usage(
            "diff compares exactly two catalogs: pass --catalog A --catalog B",
        ));
    };
    let query = args.filter.query();
    let left = a
        .catalog
        .collect(query.clone())
        .await
        .map_err(|e| CliError::from_error(Some(&a.name), e))?;
    let right = b
        .catalog
        .collect(query)
        .await
        .map_err(|e| CliError::from_error(Some(&b.name), e))?;
    let diffs = diff_images(&left, &right, args.by);
    let count = diffs.len();
    let mut out = io::BufWriter::new(io::stdout().lock());
    emit(&mut out, &ctx.view, diffs)?;
    out.flush()?;
    if count == 0 {
        return Ok(());
    }
    Err(CliError::new(
        ExitCode::Differences,
        format!("{count} differences between {} and {}", a.name, b.name),
    ))
}

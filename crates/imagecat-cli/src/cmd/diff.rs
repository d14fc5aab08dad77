//! The golden-image commands: `latest --family/--group-by` and `diff`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use imagecat::diff::{DiffBy, DiffSide, Difference, diff_images};
use imagecat::family::GroupBy;
use imagecat::{Image, ImageCatalogExt, ListQuery, NamedCatalog};

use crate::cli::Format;
use crate::commands::finish_fan_out;
use crate::exit::{CliError, ExitCode};
use crate::output::{ImageWriter, Row, View, write_columns};
use crate::sanitize::{TABLE_CELL_WIDTH, cell, for_terminal};

/// `latest --family REGEX | --group-by property:KEY`: the newest image of
/// each family across the catalogs, one row per family, by family.
pub(crate) async fn latest_per_family(
    catalogs: &[NamedCatalog],
    view: View,
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
    let mut writer = ImageWriter::new(io::BufWriter::new(io::stdout().lock()), view)?;
    for (_, (catalog, image)) in best {
        writer.write(Row::new(image, several.then_some(catalog), raw))?;
    }
    writer.finish()?;
    finish_fan_out(catalogs.len(), failures)
}

/// `diff --catalog A --catalog B`: exit 0 when they agree, 10 when they
/// differ, a failure code when a listing fails.
pub(crate) async fn diff(
    catalogs: &[NamedCatalog],
    format: Format,
    query: ListQuery,
    by: DiffBy,
) -> Result<(), CliError> {
    let [a, b] = catalogs else {
        return Err(CliError::usage(
            "diff compares exactly two catalogs: pass --catalog A --catalog B",
        ));
    };
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
    let diffs = diff_images(&left, &right, by);
    let mut out = io::BufWriter::new(io::stdout().lock());
    write_diffs(&mut out, format, &diffs)?;
    out.flush()?;
    if diffs.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        ExitCode::Differences,
        format!(
            "{} differences between {} and {}",
            diffs.len(),
            a.name,
            b.name
        ),
    ))
}

fn write_diffs(out: &mut impl Write, format: Format, diffs: &[Difference]) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, diffs)?;
            writeln!(out)
        }
        Format::Ndjson => {
            for d in diffs {
                serde_json::to_writer(&mut *out, d)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Yaml => serde_norway::to_writer(&mut *out, diffs).map_err(io::Error::other),
        Format::Table | Format::Csv | Format::Value => {
            let header: Vec<String> = ["KIND", "NAME", "A ID", "A CHECKSUM", "B ID", "B CHECKSUM"]
                .map(str::to_owned)
                .to_vec();
            let ids = |s: &[DiffSide]| join(s.iter().map(|x| x.id.to_string()));
            let sums = |s: &[DiffSide]| {
                join(s.iter().map(|x| match (&x.checksum, x.size_bytes) {
                    (Some(c), _) => c.clone(),
                    (None, Some(n)) => format!("size {n}"),
                    (None, None) => "-".to_owned(),
                }))
            };
            let rows: Vec<Vec<String>> = diffs
                .iter()
                .map(|d| {
                    vec![
                        d.kind.as_str().to_owned(),
                        d.name.clone().unwrap_or_else(|| "-".to_owned()),
                        ids(&d.a),
                        sums(&d.a),
                        ids(&d.b),
                        sums(&d.b),
                    ]
                })
                .collect();
            if format == Format::Csv {
                let mut w = csv::Writer::from_writer(&mut *out);
                w.write_record(&header)?;
                for r in &rows {
                    w.write_record(r)?;
                }
                return w.flush();
            }
            if format == Format::Value {
                for r in &rows {
                    let line: Vec<_> = r.iter().map(|c| for_terminal(c)).collect();
                    writeln!(out, "{}", line.join(" "))?;
                }
                return Ok(());
            }
            if rows.is_empty() {
                return writeln!(out, "no differences");
            }
            let cells = rows
                .iter()
                .map(|r| r.iter().map(|c| cell(c, TABLE_CELL_WIDTH)).collect());
            write_columns(out, &header, cells)
        }
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(",")
    }
}

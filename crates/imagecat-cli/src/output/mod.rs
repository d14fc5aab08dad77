//! Writing images in every output format. json, ndjson and csv stream (one
//! image at a time); table and yaml need the whole listing first.

use std::io::{self, Write};

use imagecat::{CatalogInfo, Image};
use serde::Serialize;

use crate::cli::Format;
use crate::columns::{self, COLUMNS, Column};
use crate::sanitize;

/// One image as printed: the image's fields, and its catalog when several
/// catalogs are listed.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    #[serde(flatten)]
    pub(crate) image: Image,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) catalog: Option<String>,
}

impl Row {
    /// A row; drops the native record unless `raw`.
    pub(crate) fn new(mut image: Image, catalog: Option<String>, raw: bool) -> Self {
        if !raw {
            image.native = None;
        }
        Row { image, catalog }
    }
}

/// How a listing is printed: the format, the columns (table, csv, value)
/// and whether csv cells are guarded against spreadsheet formulas.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// The format.
    pub(crate) format: Format,
    /// The columns of table, csv and value output.
    pub(crate) columns: Vec<&'static Column>,
    /// Prefix csv cells that start with `=`, `+`, `-`, `@`, tab or CR
    /// with `'`, so a spreadsheet shows them as text.
    pub(crate) csv_safe: bool,
}

impl View {
    /// The view of a format with its default columns.
    pub(crate) fn new(format: Format, with_catalog: bool) -> Self {
        View {
            format,
            columns: columns::selected(&[], format, with_catalog),
            csv_safe: false,
        }
    }

    /// The columns asked for with `--column`, if any.
    pub(crate) fn with_columns(mut self, asked: &[&'static Column], with_catalog: bool) -> Self {
        self.columns = columns::selected(asked, self.format, with_catalog);
        self
    }

    /// Guards csv cells against formula injection.
    pub(crate) fn csv_safe(mut self, yes: bool) -> Self {
        self.csv_safe = yes;
        self
    }

    fn csv_record(&self, row: &Row) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| {
                let v = c.exact(row);
                if self.csv_safe && v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{v}")
                } else {
                    v
                }
            })
            .collect()
    }

    /// One `-o value` line: the values, space-separated, escaped as for a
    /// terminal so that one image stays one line.
    fn value_line(&self, row: &Row) -> String {
        let values: Vec<String> = self
            .columns
            .iter()
            .map(|c| sanitize::for_terminal(&c.exact(row)).into_owned())
            .collect();
        values.join(" ")
    }
}

/// Writes rows in one format.
pub(crate) struct ImageWriter<W: Write> {
    sink: Sink<W>,
    view: View,
    written: u64,
    buffered: Vec<Row>,
    /// One json/ndjson record, serialized here first and written whole:
    /// reused, so a listing allocates no buffer per image.
    line: Vec<u8>,
}

/// Where rows go: the output itself, or a CSV writer over it.
enum Sink<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> std::fmt::Debug for ImageWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageWriter")
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ImageWriter<W> {
    /// A writer for a view.
    pub(crate) fn new(mut out: W, view: View) -> io::Result<Self> {
        let sink = match view.format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let header: Vec<&str> = view.columns.iter().map(|c| c.name).collect();
                csv.write_record(&header).map_err(csv_io)?;
                Sink::Csv(Box::new(csv))
            }
            Format::Json => {
                out.write_all(b"[")?;
                Sink::Plain(out)
            }
            _ => Sink::Plain(out),
        };
        Ok(ImageWriter {
            sink,
            view,
            written: 0,
            buffered: Vec::new(),
            line: Vec::with_capacity(4096),
        })
    }

    /// Writes (or buffers) one row.
    pub(crate) fn write(&mut self, row: Row) -> io::Result<()> {
        match (&mut self.sink, self.view.format) {
            (Sink::Csv(csv), _) => csv
                .write_record(self.view.csv_record(&row))
                .map_err(csv_io)?,
            (Sink::Plain(out), Format::Json) => {
                self.line.clear();
                self.line
                    .extend_from_slice(if self.written == 0 { b"\n" } else { b",\n" });
                serde_json::to_writer_pretty(&mut self.line, &row)?;
                out.write_all(&self.line)?;
            }
            (Sink::Plain(out), Format::Ndjson) => {
                self.line.clear();
                serde_json::to_writer(&mut self.line, &row)?;
                self.line.push(b'\n');
                out.write_all(&self.line)?;
            }
            (Sink::Plain(out), Format::Value) => {
                writeln!(out, "{}", self.view.value_line(&row))?;
            }
            (Sink::Plain(_), _) => self.buffered.push(row),
        }
        self.written += 1;
        Ok(())
    }

    /// Flushes what is written so far (between pages).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(out) => out.flush(),
            Sink::Csv(csv) => csv.flush(),
        }
    }

    /// Finishes the output.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        let rows = std::mem::take(&mut self.buffered);
        match (&mut self.sink, self.view.format) {
            (Sink::Plain(out), Format::Json) => {
                if self.written > 0 {
                    out.write_all(b"\n")?;
                }
                out.write_all(b"]\n")?;
            }
            (Sink::Plain(out), Format::Table) if !rows.is_empty() => {
                let header: Vec<String> = self
                    .view
                    .columns
                    .iter()
                    .map(|c| c.header.to_owned())
                    .collect();
                let cells = rows.iter().map(|row| {
                    self.view
                        .columns
                        .iter()
                        .map(|c| sanitize::cell(&c.human(row), sanitize::TABLE_CELL_WIDTH))
                        .collect()
                });
                write_columns(out, &header, cells)?
            }
            (Sink::Plain(out), Format::Yaml) => {
                serde_norway::to_writer(&mut *out, &rows).map_err(io::Error::other)?
            }
            _ => {}
        }
        self.flush()
    }
}

/// A CSV error as an I/O error, keeping the kind (a closed pipe stays
/// `BrokenPipe`, which ends the output quietly).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes left-aligned columns without borders, sized by display width
/// (comfy-table). The cells must be sanitized already.
pub(crate) fn write_columns(
    out: &mut impl Write,
    header: &[String],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> io::Result<()> {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(header)
        .add_rows(rows);
    let last = header.len().saturating_sub(1);
    for (n, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if n == last { 0 } else { 2 }));
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes one image in a format (show, latest).
pub(crate) fn write_one(out: &mut impl Write, view: View, row: Row) -> io::Result<()> {
    match view.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &row)?;
            writeln!(out)
        }
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, &row)?;
            writeln!(out)
        }
        Format::Yaml => serde_norway::to_writer(out, &row).map_err(io::Error::other),
        Format::Csv | Format::Value => {
            let mut w = ImageWriter::new(out, view)?;
            w.write(row)?;
            w.finish()
        }
        Format::Table => write_vertical(out, &row),
    }
}

/// `FIELD  VALUE` lines of one image: every column, then `native` with
/// `--raw`; values sanitized and capped.
fn write_vertical(out: &mut impl Write, row: &Row) -> io::Result<()> {
    let mut lines: Vec<(String, String)> = COLUMNS
        .iter()
        .filter(|c| c.name != "catalog" || row.catalog.is_some())
        .map(|c| {
            let v = c.exact(row);
            (
                c.name.to_owned(),
                if v.is_empty() || v == "{}" {
                    "-".into()
                } else {
                    v
                },
            )
        })
        .collect();
    if let Some(native) = &row.image.native {
        let text = serde_json::to_string(native).unwrap_or_default();
        lines.push(("native".to_owned(), text));
    }
    let cells = lines
        .into_iter()
        .map(|(k, v)| vec![k, sanitize::cell(&v, sanitize::SHOW_VALUE_WIDTH)]);
    write_columns(out, &["FIELD".into(), "VALUE".into()], cells)
}

/// Writes a catalog's description (info).
pub(crate) fn write_info(
    out: &mut impl Write,
    format: Format,
    infos: &[(String, CatalogInfo)],
) -> io::Result<()> {
    #[derive(Serialize)]
    struct InfoRow<'a> {
        catalog: &'a str,
        #[serde(flatten)]
        info: &'a CatalogInfo,
    }
    let rows: Vec<InfoRow<'_>> = infos
        .iter()
        .map(|(catalog, info)| InfoRow { catalog, info })
        .collect();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)
        }
        Format::Ndjson => {
            for row in &rows {
                serde_json::to_writer(&mut *out, row)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Yaml => serde_norway::to_writer(out, &rows).map_err(io::Error::other),
        Format::Csv | Format::Table | Format::Value => {
            let header: Vec<String> = ["CATALOG", "BACKEND", "ENDPOINT", "CAPABILITIES"]
                .into_iter()
                .map(str::to_owned)
                .collect();
            let cells: Vec<Vec<String>> = infos
                .iter()
                .map(|(name, info)| {
                    let c = &info.capabilities;
                    let caps = format!(
                        "paging={} page_size={}..{} total={} get={} delete={} soft_delete={}",
                        serde_json::to_value(c.paging)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        c.default_page_size,
                        c.max_page_size,
                        c.reports_total,
                        serde_json::to_value(c.get)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        c.delete,
                        c.soft_delete
                    );
                    vec![
                        name.clone(),
                        info.backend.to_string(),
                        info.endpoint.clone(),
                        caps,
                    ]
                })
                .collect();
            match format {
                Format::Csv => {
                    let mut csv = csv::Writer::from_writer(out);
                    csv.write_record(&header).map_err(csv_io)?;
                    for row in cells {
                        csv.write_record(&row).map_err(csv_io)?;
                    }
                    csv.flush()
                }
                Format::Value => {
                    for row in cells {
                        let safe: Vec<String> = row
                            .iter()
                            .map(|v| sanitize::for_terminal(v).into_owned())
                            .collect();
                        writeln!(out, "{}", safe.join(" "))?;
                    }
                    Ok(())
                }
                _ => {
                    let safe = cells.into_iter().map(|row| {
                        row.iter()
                            .map(|v| sanitize::cell(v, sanitize::SHOW_VALUE_WIDTH))
                            .collect()
                    });
                    write_columns(out, &header, safe)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat::{BackendKind, ImageStatus};

    fn row(id: &str, catalog: Option<&str>) -> Row {
        let image = imagecat::Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
            .with_name("이미지-1")
            .with_size_bytes(1536);
        Row::new(image, catalog.map(str::to_owned), false)
    }

    fn render(format: Format, rows: Vec<Row>, with_catalog: bool) -> String {
        let mut out = Vec::new();
        let mut w = ImageWriter::new(&mut out, View::new(format, with_catalog)).unwrap();
        for r in rows {
            w.write(r).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_is_one_array_with_nulls() {
        let text = render(Format::Json, vec![row("a", None), row("b", None)], false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert!(v[0]["owner"].is_null());
        assert!(v[0].get("catalog").is_none());
        assert!(v[0].get("native").is_none());
        let empty: serde_json::Value =
            serde_json::from_str(&render(Format::Json, vec![], false)).unwrap();
        assert_eq!(empty, serde_json::json!([]));
    }

    #[test]
    fn csv_has_a_header_and_catalog_column() {
        let text = render(Format::Csv, vec![row("a", Some("lab"))], true);
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("id,name,status"));
        assert!(lines.next().unwrap().ends_with(",lab"));
    }

    #[test]
    fn table_aligns_wide_names() {
        let mut ascii = row("b", None);
        ascii.image.name = Some("plain".into());
        let text = render(Format::Table, vec![row("a", None), ascii], false);
        assert!(text.starts_with("ID"));
        assert!(text.contains("1.5 KiB"));
        // The STATUS column starts at the same terminal column on every
        // line, counting the Korean name two columns a character.
        let starts: Vec<usize> = text
            .lines()
            .map(|line| {
                let at = line.find("STATUS").or_else(|| line.find("active")).unwrap();
                unicode_width::UnicodeWidthStr::width(&line[..at])
            })
            .collect();
        assert_eq!(starts.len(), 3);
        assert!(starts.iter().all(|&s| s == starts[0]), "{text}");
    }

    #[test]
    fn value_and_safe_csv() {
        let mut r = row("a", None);
        r.image.name = Some("=HYPERLINK(\"x\")\nsecond".into());
        let asked = [
            columns::by_name("id").unwrap(),
            columns::by_name("name").unwrap(),
        ];
        let view = View::new(Format::Value, false).with_columns(&asked, false);
        let mut out = Vec::new();
        write_one(&mut out, view, r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a =HYPERLINK(\"x\")\\nsecond\n"
        );
        let mut r = row("a", None);
        r.image.name = Some("=1+1".into());
        let view = View::new(Format::Csv, false)
            .with_columns(&asked, false)
            .csv_safe(true);
        let mut out = Vec::new();
        write_one(&mut out, view, r).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,name\na,'=1+1\n");
    }
}

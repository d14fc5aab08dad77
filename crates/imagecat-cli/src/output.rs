//! Writing images in every output format. json, ndjson and csv stream (one
//! image at a time); table and yaml need the whole listing first.

use std::io::{self, Write};

use imagecat::{CatalogInfo, Image};
use serde::Serialize;

use crate::cli::Format;

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

/// Writes rows in one format.
pub(crate) struct ImageWriter<W: Write> {
    sink: Sink<W>,
    format: Format,
    with_catalog: bool,
    written: u64,
    buffered: Vec<Row>,
}

/// Where rows go: the output itself, or a CSV writer over it.
enum Sink<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> std::fmt::Debug for ImageWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageWriter")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// An image's fields in the order of the model: the CSV columns, and the
/// lines of `show` (which adds `catalog` and `native` when present).
const IMAGE_FIELDS: [&str; 18] = [
    "id",
    "name",
    "status",
    "native_status",
    "visibility",
    "owner",
    "created_at",
    "updated_at",
    "size_bytes",
    "min_disk_gb",
    "min_ram_mb",
    "disk_format",
    "arch",
    "checksum",
    "protected",
    "description",
    "properties",
    "backend",
];

impl<W: Write> ImageWriter<W> {
    /// A writer; `with_catalog` adds the catalog column or field.
    pub(crate) fn new(mut out: W, format: Format, with_catalog: bool) -> io::Result<Self> {
        let sink = match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let mut header: Vec<&str> = IMAGE_FIELDS.to_vec();
                if with_catalog {
                    header.push("catalog");
                }
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
            format,
            with_catalog,
            written: 0,
            buffered: Vec::new(),
        })
    }

    /// Writes (or buffers) one row.
    pub(crate) fn write(&mut self, row: Row) -> io::Result<()> {
        match (&mut self.sink, self.format) {
            (Sink::Csv(csv), _) => csv
                .write_record(csv_record(&row, self.with_catalog))
                .map_err(csv_io)?,
            (Sink::Plain(out), Format::Json) => {
                out.write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer_pretty(&mut *out, &row)?;
            }
            (Sink::Plain(out), Format::Ndjson) => {
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
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
        match (&mut self.sink, self.format) {
            (Sink::Plain(out), Format::Json) => {
                if self.written > 0 {
                    out.write_all(b"\n")?;
                }
                out.write_all(b"]\n")?;
            }
            (Sink::Plain(out), Format::Table) => write_table(out, &rows, self.with_catalog)?,
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

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn csv_record(row: &Row, with_catalog: bool) -> Vec<String> {
    let i = &row.image;
    let mut rec = vec![
        i.id.to_string(),
        opt(&i.name),
        i.status.to_string(),
        i.native_status.clone(),
        opt(&i.visibility),
        opt(&i.owner),
        i.created_at.map(rfc3339).unwrap_or_default(),
        i.updated_at.map(rfc3339).unwrap_or_default(),
        opt(&i.size_bytes),
        opt(&i.min_disk_gb),
        opt(&i.min_ram_mb),
        opt(&i.disk_format),
        opt(&i.arch),
        opt(&i.checksum),
        opt(&i.protected),
        opt(&i.description),
        serde_json::to_string(&i.properties).unwrap_or_default(),
        i.backend.to_string(),
    ];
    if with_catalog {
        rec.push(opt(&row.catalog));
    }
    rec
}

/// RFC 3339 in UTC with `Z`, as in the JSON output.
fn rfc3339(t: imagecat::chrono::DateTime<imagecat::chrono::Utc>) -> String {
    t.to_rfc3339_opts(imagecat::chrono::SecondsFormat::AutoSi, true)
}

/// `1.5 GiB`-style sizes.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn dash(s: String) -> String {
    if s.is_empty() { "-".to_owned() } else { s }
}

fn write_table(out: &mut impl Write, rows: &[Row], with_catalog: bool) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut header = vec![
        "ID",
        "NAME",
        "STATUS",
        "VISIBILITY",
        "SIZE",
        "CREATED",
        "BACKEND",
    ];
    if with_catalog {
        header.push("CATALOG");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let i = &row.image;
            let status = match &i.status {
                imagecat::ImageStatus::Unknown(word) => format!("unknown ({word})"),
                s => s.to_string(),
            };
            let mut cells = vec![
                i.id.to_string(),
                dash(opt(&i.name)),
                status,
                dash(opt(&i.visibility)),
                i.size_bytes.map(human_size).unwrap_or_else(|| "-".into()),
                i.created_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
                i.backend.to_string(),
            ];
            if with_catalog {
                cells.push(dash(opt(&row.catalog)));
            }
            cells
        })
        .collect();
    let header: Vec<String> = header.into_iter().map(str::to_owned).collect();
    write_columns(out, &header, &cells)
}

/// Writes left-aligned columns, sized by display width.
pub(crate) fn write_columns(
    out: &mut impl Write,
    header: &[String],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let width = |s: &str| s.chars().map(char_width).sum::<usize>();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (n, (cell, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if n + 1 < row.len() {
                line.push_str(&" ".repeat(w - width(cell) + 2));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Terminal cells a character takes: 2 for East Asian wide characters.
fn char_width(c: char) -> usize {
    let c = c as u32;
    let wide = matches!(c,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF |
        0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF |
        0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
    if wide { 2 } else { 1 }
}

/// Writes one image in a format (show, latest).
pub(crate) fn write_one(out: &mut impl Write, format: Format, row: Row) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &row)?;
            writeln!(out)
        }
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, &row)?;
            writeln!(out)
        }
        Format::Yaml => serde_norway::to_writer(out, &row).map_err(io::Error::other),
        Format::Csv => {
            let with_catalog = row.catalog.is_some();
            let mut w = ImageWriter::new(out, Format::Csv, with_catalog)?;
            w.write(row)?;
            w.finish()
        }
        Format::Table => write_vertical(out, &row),
    }
}

/// `FIELD  VALUE` lines of one image, in the model's order.
fn write_vertical(out: &mut impl Write, row: &Row) -> io::Result<()> {
    let value = serde_json::to_value(row)?;
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    let rows: Vec<Vec<String>> = IMAGE_FIELDS
        .iter()
        .chain(&["catalog", "native"])
        .filter_map(|&k| map.get(k).map(|v| (k, v)))
        .map(|(k, v)| {
            let shown = match v {
                serde_json::Value::Null => "-".to_owned(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Object(o) if o.is_empty() => "-".to_owned(),
                other => other.to_string(),
            };
            vec![k.to_owned(), shown]
        })
        .collect();
    write_columns(out, &["FIELD".into(), "VALUE".into()], &rows)
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
        Format::Csv | Format::Table => {
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
            if format == Format::Csv {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(&header).map_err(csv_io)?;
                for row in cells {
                    csv.write_record(&row).map_err(csv_io)?;
                }
                csv.flush()
            } else {
                write_columns(out, &header, &cells)
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
        let mut w = ImageWriter::new(&mut out, format, with_catalog).unwrap();
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
        let text = render(Format::Table, vec![row("a", None)], false);
        assert!(text.starts_with("ID"));
        assert!(text.contains("1.5 KiB"));
    }
}

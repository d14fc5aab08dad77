//! The one output layer: every command's rows go through [`Emitter`] (or
//! [`emit`], which is the emitter over rows already collected) in every
//! format. A kind of row says what it is by implementing [`Tabular`]: its
//! columns (for table, csv, value and `--column`) and its [`Style`]; json,
//! ndjson and yaml are its serde form. json, ndjson, csv and value stream
//! (one row at a time); table and yaml need every row first.
//!
//! Server text reaching a table or `-o value` goes through
//! [`crate::sanitize`] here; machine formats stay exact.

mod images;
mod tabular;

use std::io::{self, Write};

use serde::Serialize;

pub(crate) use self::images::{Row, human_size};
pub(crate) use self::tabular::{
    Column, EmptyTable, Format, JsonLayout, Shown, Style, Tabular, by_name, defaults, short_time,
};
use crate::exit::CliError;
use crate::sanitize;

/// How a command prints: the format, the columns asked with `--column`,
/// whether csv cells are guarded against spreadsheet formulas, and whether
/// several catalogs are listed (the `catalog` column).
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// The format.
    pub(crate) format: Format,
    /// The `--column` names, in order (checked against a kind of row by
    /// [`View::check`]).
    asked: Vec<String>,
    /// Prefix csv cells that start with `=`, `+`, `-`, `@`, tab or CR
    /// with `'`, so a spreadsheet shows them as text.
    csv_safe: bool,
    /// Several catalogs are listed.
    several: bool,
}

impl View {
    /// The view of a format with its default columns.
    pub(crate) fn new(format: Format, several: bool) -> Self {
        View {
            format,
            asked: Vec::new(),
            csv_safe: false,
            several,
        }
    }

    /// The columns asked for with `--column`, if any.
    pub(crate) fn with_columns(mut self, asked: &[String]) -> Self {
        self.asked = asked.to_vec();
        self
    }

    /// Guards csv cells against formula injection.
    pub(crate) fn csv_safe(mut self, yes: bool) -> Self {
        self.csv_safe = yes;
        self
    }

    /// Checks every `--column` names a column of `T` (a usage error
    /// listing them otherwise); commands call it before any request.
    pub(crate) fn check<T: Tabular>(&self) -> Result<(), CliError> {
        self.asked_columns::<T>().map(drop)
    }

    fn asked_columns<T: Tabular>(&self) -> Result<Vec<&'static Column<T::Line>>, CliError> {
        self.asked
            .iter()
            .map(|name| {
                by_name(T::COLUMNS, name).ok_or_else(|| {
                    let names: Vec<&str> = T::COLUMNS.iter().map(|c| c.name).collect();
                    CliError::usage(&format!(
                        "no column {name:?} for {}; the columns: {}",
                        T::STYLE.what,
                        names.join(", ")
                    ))
                })
            })
            .collect()
    }

    /// The columns printed: those asked for, else `T`'s defaults for
    /// these rows.
    pub(crate) fn columns<T: Tabular>(
        &self,
        rows: &[T],
    ) -> Result<Vec<&'static Column<T::Line>>, CliError> {
        let asked = self.asked_columns::<T>()?;
        if !asked.is_empty() {
            return Ok(asked);
        }
        let any = |has: fn(&T::Line) -> bool| {
            let mut found = false;
            for row in rows {
                row.each_line(&mut |line| found |= has(line));
            }
            found
        };
        Ok(defaults(T::COLUMNS, self.format, self.several, &any))
    }

    fn csv_cell(&self, value: String) -> String {
        if self.csv_safe && value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{value}")
        } else {
            value
        }
    }
}

/// Prints `rows` in the view's format.
pub(crate) fn emit<T: Tabular>(
    out: &mut impl Write,
    view: &View,
    rows: Vec<T>,
) -> Result<(), CliError> {
    let columns = view.columns(&rows)?;
    let mut emitter = Emitter::new(out, view, columns)?;
    for row in rows {
        emitter.write(row)?;
    }
    Ok(emitter.finish()?)
}

/// Writes rows of one kind in one format, one at a time.
pub(crate) struct Emitter<W: Write, T: Tabular> {
    sink: Sink<W>,
    view: View,
    columns: Vec<&'static Column<T::Line>>,
    written: u64,
    buffered: Vec<T>,
    /// One json/ndjson record, serialized here first and written whole:
    /// reused, so a listing allocates no buffer per row.
    line: Vec<u8>,
}

/// Where rows go: the output itself, or a CSV writer over it.
enum Sink<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write, T: Tabular> std::fmt::Debug for Emitter<W, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("view", &self.view)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: Write, T: Tabular> Emitter<W, T> {
    /// An emitter of `columns` (from [`View::columns`]).
    pub(crate) fn new(
        mut out: W,
        view: &View,
        columns: Vec<&'static Column<T::Line>>,
    ) -> io::Result<Self> {
        let sink = match view.format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let header: Vec<&str> = columns
                    .iter()
                    .map(|c| if T::STYLE.csv_names { c.name } else { c.header })
                    .collect();
                csv.write_record(&header).map_err(csv_io)?;
                Sink::Csv(Box::new(csv))
            }
            Format::Json if T::STYLE.json == JsonLayout::Stream => {
                out.write_all(b"[")?;
                Sink::Plain(out)
            }
            _ => Sink::Plain(out),
        };
        Ok(Emitter {
            sink,
            view: view.clone(),
            columns,
            written: 0,
            buffered: Vec::new(),
            line: Vec::with_capacity(4096),
        })
    }

    /// Writes (or buffers) one row.
    pub(crate) fn write(&mut self, row: T) -> io::Result<()> {
        match (&mut self.sink, self.view.format) {
            (Sink::Csv(csv), _) => {
                let mut result = Ok(());
                row.each_line(&mut |line| {
                    if result.is_ok() {
                        let record = self
                            .columns
                            .iter()
                            .map(|c| self.view.csv_cell(c.exact(line)));
                        result = csv.write_record(record).map_err(csv_io);
                    }
                });
                result?;
            }
            (Sink::Plain(out), Format::Json) => {
                self.line.clear();
                match T::STYLE.json {
                    JsonLayout::Stream => {
                        self.line
                            .extend_from_slice(if self.written == 0 { b"\n" } else { b",\n" });
                        serde_json::to_writer_pretty(&mut self.line, &row)?;
                    }
                    JsonLayout::Array => {
                        self.line.extend_from_slice(if self.written == 0 {
                            b"[\n  "
                        } else {
                            b",\n  "
                        });
                        let mut pretty = Vec::new();
                        serde_json::to_writer_pretty(&mut pretty, &row)?;
                        // A pretty JSON text has no raw line break in a
                        // string: indenting each line nests it exactly as
                        // serde_json's pretty array does.
                        for byte in pretty {
                            self.line.push(byte);
                            if byte == b'\n' {
                                self.line.extend_from_slice(b"  ");
                            }
                        }
                    }
                }
                out.write_all(&self.line)?;
            }
            (Sink::Plain(out), Format::Ndjson) => {
                self.line.clear();
                serde_json::to_writer(&mut self.line, &row)?;
                self.line.push(b'\n');
                out.write_all(&self.line)?;
            }
            (Sink::Plain(out), Format::Value) => {
                let mut result = Ok(());
                row.each_line(&mut |line| {
                    if result.is_ok() {
                        let values: Vec<String> = self
                            .columns
                            .iter()
                            .map(|c| sanitize::for_terminal(&c.exact(line)).into_owned())
                            .collect();
                        result = writeln!(out, "{}", values.join(" "));
                    }
                });
                result?;
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
            (Sink::Plain(out), Format::Json) => match T::STYLE.json {
                JsonLayout::Stream => {
                    if self.written > 0 {
                        out.write_all(b"\n")?;
                    }
                    out.write_all(b"]\n")?;
                }
                JsonLayout::Array if self.written == 0 => out.write_all(b"[]\n")?,
                JsonLayout::Array => out.write_all(b"\n]\n")?,
            },
            (Sink::Plain(out), Format::Table) => {
                let style = T::STYLE;
                let mut cells: Vec<Vec<String>> = Vec::new();
                for row in &rows {
                    row.each_line(&mut |line| {
                        cells.push(
                            self.columns
                                .iter()
                                .map(|c| {
                                    let value = c.human(line);
                                    let value = match style.blank {
                                        Some(blank) if value.is_empty() => blank.to_owned(),
                                        _ => value,
                                    };
                                    sanitize::cell(&value, style.cell_width)
                                })
                                .collect(),
                        );
                    });
                }
                let header: Vec<String> =
                    self.columns.iter().map(|c| c.header.to_owned()).collect();
                match style.empty_table {
                    EmptyTable::Say(line) if cells.is_empty() => writeln!(out, "{line}")?,
                    EmptyTable::Nothing if cells.is_empty() => {}
                    _ => write_columns(out, &header, cells)?,
                }
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
fn write_columns(
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

/// Writes one image in a format (show, latest): one JSON object (not an
/// array), `FIELD  VALUE` lines for a table, a csv or value row otherwise.
pub(crate) fn emit_one(out: &mut impl Write, view: &View, row: Row) -> Result<(), CliError> {
    match view.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &row).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, &row).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        Format::Yaml => serde_norway::to_writer(out, &row).map_err(io::Error::other)?,
        Format::Csv | Format::Value => emit(out, view, vec![row])?,
        Format::Table => {
            let cells = row
                .fields()
                .into_iter()
                .map(|(k, v)| vec![k, sanitize::cell(&v, sanitize::SHOW_VALUE_WIDTH)]);
            write_columns(out, &["FIELD".into(), "VALUE".into()], cells)?;
        }
    }
    Ok(())
}

/// Writes a document that is not rows (`config show`'s file and catalogs)
/// as json (also for ndjson) or yaml; `false` for the other formats, which
/// print its rows.
pub(crate) fn emit_document(
    out: &mut impl Write,
    format: Format,
    doc: &impl Serialize,
) -> Result<bool, CliError> {
    match format {
        Format::Json | Format::Ndjson => {
            serde_json::to_writer_pretty(&mut *out, doc).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        Format::Yaml => serde_norway::to_writer(&mut *out, doc).map_err(io::Error::other)?,
        Format::Table | Format::Csv | Format::Value => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests;

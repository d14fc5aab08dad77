//! What a kind of row is to the output layer: the [`Tabular`] trait, its
//! [`Column`]s and [`Style`], and the [`Format`]s. A leaf: it knows no
//! command and no writer.

use clap::ValueEnum;
use serde::Serialize;

use crate::sanitize;

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

/// How a JSON array of rows is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonLayout {
    /// `[`, then each object flush left, `,`-separated (images: written
    /// as pages arrive since the first release).
    Stream,
    /// serde_json's pretty array: each object indented by two.
    Array,
}

/// What a table with no rows prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmptyTable {
    /// Nothing (the command says so on stderr if it wants).
    Nothing,
    /// The header line alone.
    Header,
    /// This line.
    Say(&'static str),
}

/// How one kind of row is written, beyond its columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// What the rows are, for errors (`images`, `plan entries`).
    pub(crate) what: &'static str,
    /// The layout of `-o json`.
    pub(crate) json: JsonLayout,
    /// Whether the csv header is the field names (else the table headers).
    pub(crate) csv_names: bool,
    /// The widest a table cell gets, in terminal columns.
    pub(crate) cell_width: usize,
    /// What a table shows for an empty value (`None`: the empty value).
    pub(crate) blank: Option<&'static str>,
    /// What a table with no rows prints.
    pub(crate) empty_table: EmptyTable,
}

impl Style {
    /// The style of most rows: a pretty JSON array, the table headers as
    /// the csv header, list-width cells, the header alone when empty.
    pub(crate) const fn of(what: &'static str) -> Self {
        Style {
            what,
            json: JsonLayout::Array,
            csv_names: false,
            cell_width: sanitize::TABLE_CELL_WIDTH,
            blank: None,
            empty_table: EmptyTable::Header,
        }
    }
}

/// A kind of row every format can print.
pub(crate) trait Tabular: Serialize {
    /// One line of the table: `Self` for most rows (a usage answer has a
    /// line per instance).
    type Line: 'static;
    /// Every column, in order.
    const COLUMNS: &'static [Column<Self::Line>];
    /// How the rows are written.
    const STYLE: Style;
    /// Calls `each` with every table line of this row.
    fn each_line(&self, each: &mut dyn FnMut(&Self::Line));
}

/// When a column is among the defaults (no `--column` given).
#[derive(Debug)]
pub(crate) enum Shown<L: 'static> {
    /// In every format.
    Always,
    /// In csv only (table and value leave it out).
    CsvOnly,
    /// Only when several catalogs are listed.
    Several,
    /// Only when some line of the output has it (the plan's `RESULT`).
    IfAny(fn(&L) -> bool),
}

/// One column of a kind of row (`L` is one line of the table).
#[derive(Debug)]
pub(crate) struct Column<L: 'static> {
    /// The field name: what `--column` takes (and the csv header of
    /// images).
    pub(crate) name: &'static str,
    /// The table header (`--column` takes it too, in any case).
    pub(crate) header: &'static str,
    /// Whether it is among the defaults.
    pub(crate) shown: Shown<L>,
    /// The exact value (csv, value, show); empty when absent.
    pub(crate) exact: fn(&L) -> String,
    /// The value for people in a table, when it differs from `exact`.
    pub(crate) human: Option<fn(&L) -> String>,
}

impl<L: 'static> Column<L> {
    /// A column shown by default, whose table value is its exact value.
    pub(crate) const fn new(
        name: &'static str,
        header: &'static str,
        exact: fn(&L) -> String,
    ) -> Self {
        Column {
            name,
            header,
            shown: Shown::Always,
            exact,
            human: None,
        }
    }

    /// The exact value of this column in a line; empty when absent.
    pub(crate) fn exact(&self, line: &L) -> String {
        (self.exact)(line)
    }

    /// The value a table shows, not yet sanitized or capped.
    pub(crate) fn human(&self, line: &L) -> String {
        self.human.unwrap_or(self.exact)(line)
    }

    /// Whether `name` (a field name or a table header, any case, `-` or
    /// space for `_`) names this column.
    pub(crate) fn is_named(&self, name: &str) -> bool {
        let wanted = name.trim().replace(['-', ' '], "_");
        self.name.eq_ignore_ascii_case(&wanted)
            || self.header.replace(' ', "_").eq_ignore_ascii_case(&wanted)
    }
}

/// The column of `columns` named `name`.
pub(crate) fn by_name<L>(columns: &'static [Column<L>], name: &str) -> Option<&'static Column<L>> {
    columns.iter().find(|c| c.is_named(name))
}

/// The columns an output prints by default: per [`Shown`], given the
/// format, whether several catalogs are listed, and `any` (whether some
/// line of the output passes a test, for [`Shown::IfAny`]).
pub(crate) fn defaults<L>(
    columns: &'static [Column<L>],
    format: Format,
    several: bool,
    any: &dyn Fn(fn(&L) -> bool) -> bool,
) -> Vec<&'static Column<L>> {
    columns
        .iter()
        .filter(|c| match c.shown {
            Shown::Always => true,
            Shown::CsvOnly => format == Format::Csv,
            Shown::Several => several,
            Shown::IfAny(has) => any(has),
        })
        .collect()
}

/// `2026-01-02 03:04`-style times for tables.
pub(crate) fn short_time(t: &Option<imagecat::chrono::DateTime<imagecat::chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

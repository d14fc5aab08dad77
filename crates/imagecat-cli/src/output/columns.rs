//! The one list of image columns: the table, csv, `-o value`, `--column`
//! and the lines of `show` all come from [`COLUMNS`].

use imagecat::ImageStatus;

use crate::cli::Format;
use crate::output::Row;

/// One column of an image listing.
#[derive(Debug)]
pub(crate) struct Column {
    /// The field name: the csv header, the `show` line and what
    /// `--column` takes.
    pub(crate) name: &'static str,
    /// The table header (`--column` takes it too, in any case).
    pub(crate) header: &'static str,
    /// In the table (and `-o value`) when no `--column` is given.
    pub(crate) in_table: bool,
    /// The exact value (csv, value, show); empty when absent.
    exact: fn(&Row) -> String,
    /// The value for people in a table, when it differs from `exact`.
    human: Option<fn(&Row) -> String>,
}

impl Column {
    /// The exact value of this column in a row; empty when absent.
    pub(crate) fn exact(&self, row: &Row) -> String {
        (self.exact)(row)
    }

    /// The value a table shows: sizes and times for people, `-` when
    /// absent. Not yet sanitized or capped.
    pub(crate) fn human(&self, row: &Row) -> String {
        let value = self.human.unwrap_or(self.exact)(row);
        if value.is_empty() {
            "-".to_owned()
        } else {
            value
        }
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// RFC 3339 in UTC with `Z`, as in the JSON output.
fn rfc3339(t: &Option<imagecat::chrono::DateTime<imagecat::chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(imagecat::chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// `2026-01-02 03:04`-style times for tables.
fn short_time(t: &Option<imagecat::chrono::DateTime<imagecat::chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
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

macro_rules! column {
    ($name:literal, $header:literal, $in_table:literal, |$r:ident| $exact:expr) => {
        column!($name, $header, $in_table, |$r| $exact, None)
    };
    ($name:literal, $header:literal, $in_table:literal, |$r:ident| $exact:expr, $human:expr) => {
        Column {
            name: $name,
            header: $header,
            in_table: $in_table,
            exact: |$r: &Row| $exact,
            human: $human,
        }
    };
}

/// Every column, in the model's order, then `catalog` (filled only when
/// several catalogs are listed).
pub(crate) const COLUMNS: &[Column] = &[
    column!("id", "ID", true, |r| r.image.id.to_string()),
    column!("name", "NAME", true, |r| opt(&r.image.name)),
    column!(
        "status",
        "STATUS",
        true,
        |r| r.image.status.to_string(),
        Some(|r: &Row| match &r.image.status {
            ImageStatus::Unknown(word) => format!("unknown ({word})"),
            s => s.to_string(),
        })
    ),
    column!("native_status", "NATIVE STATUS", false, |r| r
        .image
        .native_status
        .clone()),
    column!("visibility", "VISIBILITY", true, |r| opt(&r
        .image
        .visibility)),
    column!("owner", "OWNER", false, |r| opt(&r.image.owner)),
    column!(
        "created_at",
        "CREATED",
        true,
        |r| rfc3339(&r.image.created_at),
        Some(|r: &Row| short_time(&r.image.created_at))
    ),
    column!(
        "updated_at",
        "UPDATED",
        false,
        |r| rfc3339(&r.image.updated_at),
        Some(|r: &Row| short_time(&r.image.updated_at))
    ),
    column!(
        "size_bytes",
        "SIZE",
        true,
        |r| opt(&r.image.size_bytes),
        Some(|r: &Row| r.image.size_bytes.map(human_size).unwrap_or_default())
    ),
    column!("min_disk_gb", "MIN DISK GB", false, |r| opt(&r
        .image
        .min_disk_gb)),
    column!("min_ram_mb", "MIN RAM MB", false, |r| opt(&r
        .image
        .min_ram_mb)),
    column!("disk_format", "DISK FORMAT", false, |r| opt(&r
        .image
        .disk_format)),
    column!("arch", "ARCH", false, |r| opt(&r.image.arch)),
    column!("checksum", "CHECKSUM", false, |r| opt(&r.image.checksum)),
    column!("protected", "PROTECTED", false, |r| opt(&r.image.protected)),
    column!("description", "DESCRIPTION", false, |r| opt(&r
        .image
        .description)),
    column!(
        "properties",
        "PROPERTIES",
        false,
        |r| serde_json::to_string(&r.image.properties).unwrap_or_default(),
        Some(|r: &Row| if r.image.properties.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&r.image.properties).unwrap_or_default()
        })
    ),
    column!("backend", "BACKEND", true, |r| r.image.backend.to_string()),
    column!("catalog", "CATALOG", true, |r| opt(&r.catalog)),
];

/// The column named `name` (a field name or a table header, any case).
pub(crate) fn by_name(name: &str) -> Option<&'static Column> {
    let wanted = name.trim().replace(['-', ' '], "_");
    COLUMNS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(&wanted)
            || c.header.replace(' ', "_").eq_ignore_ascii_case(&wanted)
    })
}

/// What `--column` accepts, for its help and its error.
pub(crate) fn names() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

/// The columns a listing prints: those asked for with `--column`, else the
/// table's (table, value) or every field (csv). `catalog` only when several
/// catalogs are listed (or asked for).
pub(crate) fn selected(
    asked: &[&'static Column],
    format: Format,
    with_catalog: bool,
) -> Vec<&'static Column> {
    if !asked.is_empty() {
        return asked.to_vec();
    }
    COLUMNS
        .iter()
        .filter(|c| c.name != "catalog" || with_catalog)
        .filter(|c| format == Format::Csv || c.in_table)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_field_or_header() {
        assert_eq!(by_name("size_bytes").unwrap().name, "size_bytes");
        assert_eq!(by_name("SIZE").unwrap().name, "size_bytes");
        assert_eq!(by_name("created").unwrap().name, "created_at");
        assert_eq!(by_name("native-status").unwrap().name, "native_status");
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn defaults_per_format() {
        let table: Vec<_> = selected(&[], Format::Table, false)
            .iter()
            .map(|c| c.header)
            .collect();
        assert_eq!(
            table,
            [
                "ID",
                "NAME",
                "STATUS",
                "VISIBILITY",
                "CREATED",
                "SIZE",
                "BACKEND"
            ]
        );
        assert_eq!(selected(&[], Format::Csv, false).len(), 18);
        assert_eq!(selected(&[], Format::Csv, true).len(), 19);
    }
}

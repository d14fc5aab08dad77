//! Images as printed (list, show, latest, demo): the [`Row`] and the one
//! list of image columns. The table, csv, `-o value`, `--column` and the
//! lines of `show` all come from [`IMAGE_COLUMNS`].

use imagecat::{Image, ImageStatus};
use serde::Serialize;

use super::tabular::{Column, EmptyTable, JsonLayout, Shown, Style, Tabular, short_time};
use crate::sanitize;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// RFC 3339 in UTC with `Z`, as in the JSON output.
fn rfc3339(t: &Option<imagecat::chrono::DateTime<imagecat::chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(imagecat::chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// `1.5 GiB`-style sizes.
pub(crate) fn human_size(bytes: u64) -> String {
    imagecat::retention::human_bytes(bytes)
}

macro_rules! column {
    ($name:literal, $header:literal, $shown:ident, |$r:ident| $exact:expr) => {
        column!($name, $header, $shown, |$r| $exact, None)
    };
    ($name:literal, $header:literal, $shown:ident, |$r:ident| $exact:expr, $human:expr) => {
        Column {
            name: $name,
            header: $header,
            shown: Shown::$shown,
            exact: |$r: &Row| $exact,
            human: $human,
        }
    };
}

/// Every image column, in the model's order, then `catalog` (filled only
/// when several catalogs are listed).
pub(crate) const IMAGE_COLUMNS: &[Column<Row>] = &[
    column!("id", "ID", Always, |r| r.image.id.to_string()),
    column!("name", "NAME", Always, |r| opt(&r.image.name)),
    column!(
        "status",
        "STATUS",
        Always,
        |r| r.image.status.to_string(),
        Some(|r: &Row| match &r.image.status {
            ImageStatus::Unknown(word) => format!("unknown ({word})"),
            s => s.to_string(),
        })
    ),
    column!("native_status", "NATIVE STATUS", CsvOnly, |r| r
        .image
        .native_status
        .clone()),
    column!("visibility", "VISIBILITY", Always, |r| opt(&r
        .image
        .visibility)),
    column!("owner", "OWNER", CsvOnly, |r| opt(&r.image.owner)),
    column!(
        "created_at",
        "CREATED",
        Always,
        |r| rfc3339(&r.image.created_at),
        Some(|r: &Row| short_time(&r.image.created_at))
    ),
    column!(
        "updated_at",
        "UPDATED",
        CsvOnly,
        |r| rfc3339(&r.image.updated_at),
        Some(|r: &Row| short_time(&r.image.updated_at))
    ),
    column!(
        "size_bytes",
        "SIZE",
        Always,
        |r| opt(&r.image.size_bytes),
        Some(|r: &Row| r.image.size_bytes.map(human_size).unwrap_or_default())
    ),
    column!("min_disk_gb", "MIN DISK GB", CsvOnly, |r| opt(&r
        .image
        .min_disk_gb)),
    column!("min_ram_mb", "MIN RAM MB", CsvOnly, |r| opt(&r
        .image
        .min_ram_mb)),
    column!("disk_format", "DISK FORMAT", CsvOnly, |r| opt(&r
        .image
        .disk_format)),
    column!("arch", "ARCH", CsvOnly, |r| opt(&r.image.arch)),
    column!("checksum", "CHECKSUM", CsvOnly, |r| opt(&r.image.checksum)),
    column!("protected", "PROTECTED", CsvOnly, |r| opt(&r
        .image
        .protected)),
    column!("description", "DESCRIPTION", CsvOnly, |r| opt(&r
        .image
        .description)),
    column!(
        "properties",
        "PROPERTIES",
        CsvOnly,
        |r| serde_json::to_string(&r.image.properties).unwrap_or_default(),
        Some(|r: &Row| if r.image.properties.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&r.image.properties).unwrap_or_default()
        })
    ),
    column!("backend", "BACKEND", Always, |r| r
        .image
        .backend
        .to_string()),
    column!("catalog", "CATALOG", Several, |r| opt(&r.catalog)),
];

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

    /// The `FIELD  VALUE` lines of `show`: every column (`catalog` only
    /// when set), `-` for an empty value, then `native` with `--raw`.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        let mut lines: Vec<(String, String)> = IMAGE_COLUMNS
            .iter()
            .filter(|c| c.name != "catalog" || self.catalog.is_some())
            .map(|c| {
                let v = c.exact(self);
                let v = if v.is_empty() || v == "{}" {
                    "-".into()
                } else {
                    v
                };
                (c.name.to_owned(), v)
            })
            .collect();
        if let Some(native) = &self.image.native {
            let text = serde_json::to_string(native).unwrap_or_default();
            lines.push(("native".to_owned(), text));
        }
        lines
    }
}

impl Tabular for Row {
    type Line = Row;
    const COLUMNS: &'static [Column<Row>] = IMAGE_COLUMNS;
    const STYLE: Style = Style {
        what: "images",
        json: JsonLayout::Stream,
        csv_names: true,
        cell_width: sanitize::TABLE_CELL_WIDTH,
        blank: Some("-"),
        empty_table: EmptyTable::Nothing,
    };
    fn each_line(&self, each: &mut dyn FnMut(&Row)) {
        each(self);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tabular::{Format, by_name, defaults};
    use super::*;

    #[test]
    fn columns_are_found_by_field_or_header() {
        let name = |n: &str| by_name(IMAGE_COLUMNS, n).map(|c| c.name);
        assert_eq!(name("size_bytes"), Some("size_bytes"));
        assert_eq!(name("SIZE"), Some("size_bytes"));
        assert_eq!(name("created"), Some("created_at"));
        assert_eq!(name("native-status"), Some("native_status"));
        assert_eq!(name("nope"), None);
    }

    #[test]
    fn defaults_per_format() {
        let table: Vec<_> = defaults(IMAGE_COLUMNS, Format::Table, false, &|_| false)
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
        assert_eq!(
            defaults(IMAGE_COLUMNS, Format::Csv, false, &|_| false).len(),
            18
        );
        assert_eq!(
            defaults(IMAGE_COLUMNS, Format::Csv, true, &|_| false).len(),
            19
        );
    }
}

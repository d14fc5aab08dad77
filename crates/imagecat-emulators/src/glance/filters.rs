//! Glance's core-attribute filters (`_make_conditions_from_filters` in
//! `glance/db/sqlalchemy/api.py`, the checks of `ImagesController.index`
//! and `RequestDeserializer.index` in `glance/api/v2/images.py`).

use super::*;

/// Columns of Glance's `images` table that a query parameter of the same
/// name compares for equality (`getattr(models.Image, k) == value`).
const NUMERIC_COLUMNS: [&str; 4] = ["min_ram", "min_disk", "size", "virtual_size"];
const TEXT_COLUMNS: [&str; 3] = ["checksum", "os_hash_algo", "os_hash_value"];

/// Filters on core attributes: `id`, `disk_format`, `container_format`
/// (with `eq:`/`in:`), `protected`, and equality on the other columns.
#[derive(Debug, Default)]
pub(super) struct CoreFilters {
    ids: Option<Vec<String>>,
    disk_formats: Option<Vec<String>>,
    container_formats: Option<Vec<String>>,
    protected: Option<bool>,
    /// Column name and the value asked (SQL equality; a non-number never
    /// equals a numeric column).
    columns: Vec<(String, String)>,
}

impl CoreFilters {
    pub(super) fn matches(&self, image: &GlanceImage) -> bool {
        let within = |set: &Option<Vec<String>>, v: Option<&String>| {
            set.as_ref()
                .is_none_or(|s| v.is_some_and(|v| s.contains(v)))
        };
        within(&self.ids, Some(&image.id))
            && within(&self.disk_formats, image.disk_format.as_ref())
            && within(&self.container_formats, image.container_format.as_ref())
            && self.protected.is_none_or(|p| p == image.protected)
            && self.columns.iter().all(|(k, v)| column_equals(image, k, v))
    }
}

fn column_equals(image: &GlanceImage, column: &str, value: &str) -> bool {
    let number = |n: Option<u64>| value.parse::<u64>().ok().is_some_and(|v| n == Some(v));
    match column {
        "min_ram" => number(Some(image.min_ram)),
        "min_disk" => number(Some(image.min_disk)),
        "size" | "virtual_size" => number(image.size),
        "checksum" => image.checksum.as_deref() == Some(value),
        "os_hash_value" => image.os_hash_value.as_deref() == Some(value),
        "os_hash_algo" => image.os_hash_value.is_some() && value == "sha512",
        _ => false,
    }
}

/// Glance's boolean filters: only `true` or `false`.
fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!(
            "Invalid value '{other}' for '{key}' filter. Valid values are 'true' or 'false'."
        )),
    }
}

/// Reads one core-attribute parameter into the filters: `None` when the
/// key is none, `Some(Err(message))` for Glance's 400.
pub(super) fn core_param(
    filters: &mut Filters,
    key: &str,
    value: &str,
) -> Option<Result<(), String>> {
    let core = &mut filters.core;
    let result = match key {
        "id" => filter_values(value).map(|v| core.ids = Some(v)),
        "disk_format" => filter_values(value).map(|v| core.disk_formats = Some(v)),
        "container_format" => filter_values(value).map(|v| core.container_formats = Some(v)),
        "protected" => boolean(key, value).map(|b| core.protected = Some(b)),
        "os_hidden" => boolean(key, value).map(|b| filters.hidden = Some(b)),
        "size_min" | "size_max" => match value.trim().parse::<u64>() {
            Ok(n) if key == "size_min" => {
                filters.size_min = Some(n);
                Ok(())
            }
            Ok(n) => {
                filters.size_max = Some(n);
                Ok(())
            }
            Err(_) => Err("Unable to filter on a range with a non-numeric value.".to_owned()),
        },
        "member_status" => match value {
            "pending" | "accepted" | "rejected" | "all" => {
                filters.member_status = Some(value.to_owned());
                Ok(())
            }
            other => Err(format!("Invalid status: {other}")),
        },
        "changes-since" => {
            Err("The \"changes-since\" filter is no longer available on v2.".to_owned())
        }
        k if NUMERIC_COLUMNS.contains(&k) || TEXT_COLUMNS.contains(&k) => {
            core.columns.push((k.to_owned(), value.to_owned()));
            Ok(())
        }
        _ => return None,
    };
    Some(result)
}

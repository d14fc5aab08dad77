//! The 12.03 index narrowing beyond scope and paging: date bounds, sort
//! orders, `service_type` and `filter=col.nil|not_nil`.

use serde_json::Value;

use super::*;

/// An inclusive time range; either end may be open.
type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The image table's columns (what `sort_by` and `filter` may name).
const COLUMNS: [&str; 23] = [
    "id",
    "account_id",
    "uuid",
    "created_at",
    "updated_at",
    "boot_dev_type",
    "arch",
    "description",
    "is_public",
    "state",
    "features",
    "file_format",
    "root_device",
    "is_cacheable",
    "instance_model_name",
    "parent_image_id",
    "service_type",
    "display_name",
    "backup_object_id",
    "deleted_at",
    "volumes",
    "vifs",
    "os_type",
];

/// Sinatra's answer to an unhandled Ruby exception in production
/// (`show_exceptions` disabled): 500 with an empty body.
pub(super) fn ruby_crash() -> Response {
    json_bytes(500, Vec::new())
}

/// Sequel's error for a column the table does not have.
fn no_such_column(column: &str) -> Box<Response> {
    Box::new(api_error(
        400,
        "DatabaseError",
        &format!(
            "Sequel::DatabaseError: Mysql2::Error: Unknown column '{column}' in 'where clause'"
        ),
        "110",
    ))
}

/// How MySQL orders two values of one column: NULL first, numbers and
/// booleans by value, text by its characters (serialized columns by their
/// text).
fn column_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) | Value::Number(_) => 1,
        _ => 2,
    };
    let number = |v: &Value| match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    rank(a).cmp(&rank(b)).then_with(|| match rank(a) {
        1 => number(a).total_cmp(&number(b)),
        2 => text(a).cmp(&text(b)),
        _ => std::cmp::Ordering::Equal,
    })
}

/// Whether a nullable column of `image` is NULL (NOT NULL columns never are).
fn is_null(image: &EmulatedImage, column: &str) -> bool {
    match column {
        "root_device" => image.root_device.is_none(),
        "parent_image_id" => image.parent_image_id.is_none(),
        "backup_object_id" => image.backup_object_id.is_none(),
        "deleted_at" => image.deleted_at.is_none(),
        _ => false,
    }
}

/// The `filter` values (`filter=col.nil`, repeatable as `filter[]`) as
/// (column, wants NULL); a value of another form is 400 `"filter"`, an
/// unknown column 400 `DatabaseError`.
fn null_filters(filters: &[String]) -> Result<Vec<(String, bool)>, Box<Response>> {
    filters
        .iter()
        .map(|f| {
            let (column, null) = match f.rsplit_once('.') {
                Some((c, "nil")) => (c, true),
                Some((c, "not_nil")) => (c, false),
                _ => return Err(Box::new(invalid_parameter("filter"))),
            };
            if !COLUMNS.contains(&column) {
                return Err(no_such_column(column));
            }
            Ok((column.to_owned(), null))
        })
        .collect()
}

/// A pair of `*_since`/`*_until` bounds (ISO 8601, inclusive; a bad value
/// is 400 with the parameter's name; since not before until is 400).
fn bounds(params: &HashMap<String, String>, what: &str) -> Result<Bounds, Box<Response>> {
    let time = |key: String| -> Result<Option<DateTime<Utc>>, Box<Response>> {
        match params.get(&key) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| Box::new(invalid_parameter(&key))),
        }
    };
    let since = time(format!("{what}_since"))?;
    let until = time(format!("{what}_until"))?;
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            return Err(Box::new(invalid_parameter(&format!(
                "{what}_since is larger than {what}_until"
            ))));
        }
    }
    Ok((since, until))
}

fn within(at: Option<DateTime<Utc>>, (since, until): Bounds) -> bool {
    if since.is_none() && until.is_none() {
        return true;
    }
    at.is_some_and(|at| since.is_none_or(|s| at >= s) && until.is_none_or(|u| at <= u))
}

/// The 12.03 narrowing parameters: `created_since`/`created_until`,
/// `deleted_since`/`deleted_until`, `service_type` (one of the configured
/// types, else 400 `"service_type"`), `filter=col.nil|not_nil` (repeatable)
/// and `sort_by=col.asc|col.desc` on any column of the table (without a
/// direction the real server fails with 500; an unknown column is 400
/// `DatabaseError`). `Ok(None)`
/// when none is given (the cheap path); otherwise the scope filtered and
/// sorted, ties in the default `id DESC` order (O(scope) per page).
pub(super) fn golden_select(
    params: &HashMap<String, String>,
    filters: &[String],
    service_types: &[String],
    scope: impl Iterator<Item = EmulatedImage>,
) -> Result<Option<Vec<EmulatedImage>>, Box<Response>> {
    let service_type = match params.get("service_type") {
        None => None,
        Some(t) if service_types.contains(t) => Some(t),
        Some(_) => return Err(Box::new(invalid_parameter("service_type"))),
    };
    let created = bounds(params, "created")?;
    let deleted = bounds(params, "deleted")?;
    let nulls = null_filters(filters)?;
    let sort = params.get("sort_by");
    let unbounded = |b: &Bounds| b.0.is_none() && b.1.is_none();
    if unbounded(&created)
        && unbounded(&deleted)
        && sort.is_none()
        && service_type.is_none()
        && nulls.is_empty()
    {
        return Ok(None);
    }
    let mut selected: Vec<EmulatedImage> = scope
        .filter(|i| within(Some(i.created_at), created))
        .filter(|i| within(i.deleted_at, deleted))
        .filter(|i| service_type.is_none_or(|t| &i.service_type == t))
        .filter(|i| nulls.iter().all(|(c, null)| is_null(i, c) == *null))
        .collect();
    if let Some(sort) = sort {
        let Some((column, dir)) = sort.split_once('.') else {
            return Err(Box::new(ruby_crash()));
        };
        let descending = match dir {
            "asc" => false,
            "desc" => true,
            _ => return Err(Box::new(invalid_parameter("sort_by"))),
        };
        if !COLUMNS.contains(&column) {
            return Err(no_such_column(column));
        }
        // `id` is the integer primary key: the scope is in `id DESC` order.
        if column == "id" {
            if !descending {
                selected.reverse();
            }
            return Ok(Some(selected));
        }
        // Each image's value of the column as the server stores it
        // (MySQL puts NULL first in ascending order); stable, so ties keep
        // the default `id DESC`.
        let mut keyed: Vec<(Value, EmulatedImage)> = selected
            .into_iter()
            .map(|image| {
                let doc = serde_json::to_value(V1203Doc(&image)).unwrap_or_default();
                (doc[column].clone(), image)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let o = column_order(a, b);
            if descending { o.reverse() } else { o }
        });
        selected = keyed.into_iter().map(|(_, image)| image).collect();
    }
    Ok(Some(selected))
}

//! The golden-image query grammar: date operators, tags and sort orders.

use super::*;

/// The golden-image filters: `created_at`/`updated_at` with Glance's
/// `lt:`, `lte:`, `gt:`, `gte:`, `eq:`, `neq:` operators (one per key, the
/// last given wins, as Glance reads its query into a dict), and `tag`
/// (repeatable, every one must be present).
#[derive(Debug, Default)]
pub(super) struct GoldenFilters {
    created: Option<(String, DateTime<Utc>)>,
    updated: Option<(String, DateTime<Utc>)>,
    tags: Vec<String>,
}

impl GoldenFilters {
    pub(super) fn matches(&self, image: &GlanceImage) -> bool {
        let holds = |cond: &Option<(String, DateTime<Utc>)>, at: DateTime<Utc>| match cond {
            None => true,
            Some((op, t)) => match op.as_str() {
                "lt" => at < *t,
                "lte" => at <= *t,
                "gt" => at > *t,
                "gte" => at >= *t,
                "neq" => at != *t,
                _ => at == *t,
            },
        };
        holds(&self.created, image.created_at)
            && holds(&self.updated, image.updated_at)
            && self.tags.iter().all(|t| image.tags.contains(t))
    }
}

/// Reads one golden-image parameter into the filters: `None` when the key
/// is no such parameter, `Some(Err(message))` for a 400.
pub(super) fn golden_param(
    filters: &mut GoldenFilters,
    key: &str,
    value: &str,
) -> Option<Result<(), String>> {
    let slot = match key {
        "tag" => {
            filters.tags.push(value.to_owned());
            return Some(Ok(()));
        }
        "created_at" => &mut filters.created,
        "updated_at" => &mut filters.updated,
        _ => return None,
    };
    // `split_filter_op`: a value that is a whole ISO 8601 time is `eq:`.
    let (op, time) = match parse_isotime(value) {
        Some(_) => ("eq", value),
        None => value.split_once(':').unwrap_or(("eq", value)),
    };
    let Some(t) = parse_isotime(time) else {
        return Some(Err(format!(
            "Bad \"{key}\" query filter format. Use ISO 8601 DateTime notation."
        )));
    };
    if !matches!(op, "lt" | "lte" | "gt" | "gte" | "eq" | "neq") {
        return Some(Err("Unable to filter on a unknown operator.".to_owned()));
    }
    *slot = Some((op.to_owned(), t));
    Some(Ok(()))
}

/// oslo's `parse_isotime` for the forms clients send: RFC 3339, or a
/// date and time without an offset (UTC), or a date.
fn parse_isotime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| t.and_utc())
}

/// The sort order: keys (any of Glance's `_available_sort_keys`) with
/// their directions, then `created_at` and `id` appended when missing, in
/// the default direction (the one direction given, else `desc`), as
/// `_image_get_all` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SortParam {
    keys: Vec<(String, bool)>,
}

/// `_available_sort_keys` of `glance/api/v2/images.py`, in its order.
const SORT_KEYS: [&str; 8] = [
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

fn sort_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if SORT_KEYS.contains(&key) {
        Ok(key.to_owned())
    } else {
        Err(format!(
            "Invalid sort key: {key}. It must be one of the following: {}.",
            SORT_KEYS.join(", ")
        ))
    }
}

fn sort_dir(dir: &str) -> Result<bool, String> {
    match dir.trim() {
        "desc" => Ok(true),
        "asc" => Ok(false),
        other => Err(format!("Invalid sort direction: {other}")),
    }
}

impl SortParam {
    /// `_get_sorting_params`: `sort=k[:dir],…` or repeated `sort_key` and
    /// `sort_dir` (one direction for all, or one per key); `Err` is the 400.
    pub(super) fn parse(pairs: &[(String, String)]) -> Result<Self, String> {
        let values = |name: &str| {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        let (sort, keys, dirs) = (values("sort"), values("sort_key"), values("sort_dir"));
        let mut out = Vec::new();
        // The directions `_image_get_all` receives: one of them is the default.
        let given: Vec<bool>;
        if let Some(sort) = sort.last() {
            if !keys.is_empty() || !dirs.is_empty() {
                return Err("Old and new sorting syntax cannot be combined".to_owned());
            }
            for part in sort.trim().split(',') {
                let (key, dir) = part.split_once(':').unwrap_or((part, ""));
                let dir = if dir.is_empty() { "desc" } else { dir };
                out.push((sort_key(key)?, sort_dir(dir)?));
            }
            given = out.iter().map(|(_, d)| *d).collect();
        } else {
            let keys = keys
                .iter()
                .map(|k| sort_key(k))
                .collect::<Result<Vec<_>, _>>()?;
            let dirs = dirs
                .iter()
                .map(|d| sort_dir(d))
                .collect::<Result<Vec<_>, _>>()?;
            if dirs.len() > 1 && dirs.len() != keys.len() {
                return Err("Number of sort dirs does not match the number of sort keys".to_owned());
            }
            let keys = if keys.is_empty() {
                vec!["created_at".to_owned()]
            } else {
                keys
            };
            for (i, key) in keys.into_iter().enumerate() {
                let desc = dirs.get(i).or(dirs.first()).copied().unwrap_or(true);
                out.push((key, desc));
            }
            given = dirs;
        }
        let default_desc = if given.len() == 1 { given[0] } else { true };
        for key in ["created_at", "id"] {
            if !out.iter().any(|(k, _)| k == key) {
                out.push((key.to_owned(), default_desc));
            }
        }
        Ok(SortParam { keys: out })
    }

    pub(super) fn is_default(&self) -> bool {
        self.keys == [("created_at".to_owned(), true), ("id".to_owned(), true)]
    }

    fn compare(&self, a: &GlanceImage, b: &GlanceImage) -> std::cmp::Ordering {
        self.keys
            .iter()
            .map(|(key, desc)| {
                let order = match key.as_str() {
                    "name" => a.name.cmp(&b.name),
                    "status" => a.status.cmp(&b.status),
                    "container_format" => a.container_format.cmp(&b.container_format),
                    "disk_format" => a.disk_format.cmp(&b.disk_format),
                    "size" => a.size.cmp(&b.size),
                    "id" => a.id.cmp(&b.id),
                    "updated_at" => a.updated_at.cmp(&b.updated_at),
                    _ => a.created_at.cmp(&b.created_at),
                };
                if *desc { order.reverse() } else { order }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl Emu {
    /// A page in a non-default sort order: every live image is sorted
    /// (O(catalog) per page, fine for the small catalogs such tests seed),
    /// then the images after the marker that match the filters are taken.
    pub(super) fn sorted_page(
        &self,
        state: &Store,
        marker: Option<&str>,
        limit: usize,
        filters: &Filters,
        sort: &SortParam,
    ) -> Vec<GlanceImage> {
        let mut all: Vec<GlanceImage> = (0..self.seeded_len())
            .filter(|i| !state.deleted.contains(i))
            .map(|i| self.seeded(state, i))
            .chain(state.inserted.values().cloned())
            .collect();
        all.sort_by(|a, b| sort.compare(a, b));
        let start = marker
            .and_then(|m| all.iter().position(|i| i.id == m))
            .map_or(0, |p| p + 1);
        all.into_iter()
            .skip(start)
            .filter(|i| self.lists(state, i, filters))
            .take(limit)
            .collect()
    }
}

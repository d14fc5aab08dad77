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
    let (op, time) = value.split_once(':').unwrap_or(("eq", value));
    if !matches!(op, "lt" | "lte" | "gt" | "gte" | "eq" | "neq") {
        return Some(Err(format!("Invalid operator {op} for {key}")));
    }
    match DateTime::parse_from_rfc3339(time) {
        Ok(t) => {
            *slot = Some((op.to_owned(), t.with_timezone(&Utc)));
            Some(Ok(()))
        }
        Err(_) => Some(Err(format!("Unable to parse datetime {time}"))),
    }
}

/// A sort other than the default: key (`created_at`, `updated_at`, `name`,
/// `size`) and direction, with `created_at` then `id` as tie-breakers in
/// the same direction, as Glance appends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SortParam {
    key: String,
    descending: bool,
}

impl SortParam {
    /// Reads `sort_key`/`sort_dir`; `Err` for an unknown key or direction.
    pub(super) fn parse(key: Option<&str>, dir: Option<&str>) -> Result<Self, String> {
        let key = key.unwrap_or("created_at");
        if !matches!(key, "created_at" | "updated_at" | "name" | "size") {
            return Err(format!("Invalid sort key: {key}."));
        }
        let descending = match dir.unwrap_or("desc") {
            "desc" => true,
            "asc" => false,
            other => return Err(format!("Invalid sort direction: {other}")),
        };
        Ok(SortParam {
            key: key.to_owned(),
            descending,
        })
    }

    pub(super) fn is_default(&self) -> bool {
        self.key == "created_at" && self.descending
    }

    fn compare(&self, a: &GlanceImage, b: &GlanceImage) -> std::cmp::Ordering {
        let primary = match self.key.as_str() {
            "updated_at" => a.updated_at.cmp(&b.updated_at),
            "name" => a.name.cmp(&b.name),
            "size" => a.size.cmp(&b.size),
            _ => std::cmp::Ordering::Equal,
        };
        let order = primary.then_with(|| a.key().cmp(&b.key()));
        if self.descending {
            order.reverse()
        } else {
            order
        }
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
        let caller = self.config.project_id.as_deref();
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
            .filter(|i| filters.matches(i, caller))
            .take(limit)
            .collect()
    }
}

//! The server-side query parameters of a Glance listing: the filters
//! Glance applies itself exactly (the engine filters on the client
//! anyway), the date, tag and property filters, and the sort.

use imagecat_core::{ImageStatus, ListQuery, SortKey};

use crate::wire;

/// The Glance status word a unified status filter is sent as, when exactly
/// one word matches it.
fn glance_status(status: &ImageStatus) -> Option<&'static str> {
    match status {
        ImageStatus::Queued => Some("queued"),
        ImageStatus::Active => Some("active"),
        ImageStatus::Deactivated => Some("deactivated"),
        ImageStatus::Failed => Some("killed"),
        // saving/uploading/importing, deleted/pending_delete (never listed
        // by v2), and unknown words: filtered on the client only.
        _ => None,
    }
}

/// The query parameters of the filters Glance applies itself. Filters it
/// cannot apply exactly are left to the engine's client-side filter:
/// globs, names holding `:` (Glance reads `in:`/`eq:` operators before a
/// colon), several statuses, statuses with more than one Glance word.
pub(crate) fn server_filters(query: &ListQuery) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(name) = query.name.as_ref().and_then(|n| n.exact()) {
        if !name.contains(':') && !name.is_empty() {
            pairs.push(("name", name.to_owned()));
        }
    }
    if let [status] = query.statuses.as_slice() {
        if let Some(word) = glance_status(status) {
            pairs.push(("status", word.to_owned()));
        }
    }
    if let Some(visibility) = query.visibility {
        pairs.push(("visibility", visibility.as_str().to_owned()));
    }
    if let Some(owner) = query.owner.as_ref().filter(|o| !o.is_empty()) {
        pairs.push(("owner", owner.clone()));
    }
    if let Some(min) = query.size_min {
        pairs.push(("size_min", min.to_string()));
    }
    if let Some(max) = query.size_max {
        pairs.push(("size_max", max.to_string()));
    }
    pairs
}

/// Query keys Glance reads itself: a property of that name is filtered on
/// the client only.
const RESERVED_KEYS: [&str; 12] = [
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "tag",
    "member_status",
    "size_min",
    "size_max",
    "os_hidden",
    "properties",
    "self",
];

/// The date, tag, property and sort parameters (Glance's `lt:`/`gt:`
/// operators on `created_at`/`updated_at`; `tag` repeated, all must
/// match; any other key is a property filter; `sort_key`/`sort_dir`).
/// Times are rounded outwards to whole seconds, so the server keeps a
/// superset of what the engine's strict check keeps.
pub(crate) fn golden_filters(query: &ListQuery) -> Vec<(String, String)> {
    use imagecat_http::endpoint::{ceil_second, floor_second, seconds_param};
    let mut pairs = Vec::new();
    for (key, after, before) in [
        ("created_at", query.created_after, query.created_before),
        ("updated_at", query.updated_after, query.updated_before),
    ] {
        // Glance takes one operator per key; with both bounds, the lower one
        // is sent and the engine checks the other.
        if let Some(after) = after {
            pairs.push((
                key.to_owned(),
                format!("gt:{}", seconds_param(floor_second(after))),
            ));
        } else if let Some(before) = before {
            pairs.push((
                key.to_owned(),
                format!("lt:{}", seconds_param(ceil_second(before))),
            ));
        }
    }
    for tag in &query.tags {
        pairs.push(("tag".to_owned(), tag.clone()));
    }
    for (key, value) in &query.properties {
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !wire::is_base_field(key)
            && !RESERVED_KEYS.contains(&key.as_str());
        if plain && !value.contains(':') && !value.is_empty() {
            pairs.push((key.clone(), value.clone()));
        }
    }
    if let Some(sort) = query.sort {
        // Name and size are sorted on the client (see `capabilities`).
        let key = match sort.key {
            SortKey::Created => "created_at",
            SortKey::Updated => "updated_at",
            _ => return pairs,
        };
        pairs.push(("sort_key".to_owned(), key.to_owned()));
        let dir = if sort.descending { "desc" } else { "asc" };
        pairs.push(("sort_dir".to_owned(), dir.to_owned()));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::capabilities;
    use imagecat_core::Visibility;

    #[test]
    fn filters_sent_only_when_glance_applies_them_exactly() {
        let q = ListQuery::new()
            .name_exact("web")
            .status(ImageStatus::Failed)
            .visibility(Visibility::Community)
            .owner("p1");
        assert_eq!(
            server_filters(&q),
            [
                ("name", "web".to_owned()),
                ("status", "killed".to_owned()),
                ("visibility", "community".to_owned()),
                ("owner", "p1".to_owned())
            ]
        );
        for q in [
            ListQuery::new().name("web-*"),
            ListQuery::new().name_exact("in:a,b"),
            ListQuery::new().status(ImageStatus::Saving),
            ListQuery::new().status(ImageStatus::Deleted),
            ListQuery::new()
                .status(ImageStatus::Active)
                .status(ImageStatus::Queued),
        ] {
            assert!(server_filters(&q).is_empty(), "{q:?}");
        }
    }

    #[test]
    fn dates_tags_properties_and_sort_are_sent_rounded_outwards() {
        use imagecat_core::Sort;
        use imagecat_core::chrono::{DateTime, TimeDelta};
        let t = DateTime::from_timestamp(1_767_225_600, 0).unwrap(); // 2026-01-01T00:00:00Z
        let q = ListQuery::new()
            .created_before(t + TimeDelta::milliseconds(1500))
            .updated_after(t + TimeDelta::milliseconds(500))
            .tag("golden")
            .tag("lts")
            .property("os_distro", "ubuntu")
            .property("name", "x")
            .property("limit", "1")
            .property("k", "in:a,b")
            .property("bad key", "v")
            .sort(Sort::desc(SortKey::Created));
        let got: Vec<(String, String)> = golden_filters(&q);
        let want = [
            ("created_at", "lt:2026-01-01T00:00:02Z"),
            ("updated_at", "gt:2026-01-01T00:00:00Z"),
            ("tag", "golden"),
            ("tag", "lts"),
            ("os_distro", "ubuntu"),
            ("sort_key", "created_at"),
            ("sort_dir", "desc"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        // Both bounds: the lower is sent, the engine checks the upper.
        let both = golden_filters(&ListQuery::new().created_after(t).created_before(t));
        assert_eq!(
            both,
            [(
                "created_at".to_owned(),
                "gt:2026-01-01T00:00:00Z".to_owned()
            )]
        );
        let caps = capabilities();
        assert!(caps.tags && caps.streams_sorted(&q));
        let by_size = ListQuery::new().sort(Sort::asc(SortKey::Size));
        assert!(golden_filters(&by_size).is_empty() && !caps.streams_sorted(&by_size));
    }
}

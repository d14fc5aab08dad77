//! The golden-image query parameters DCMGR 12.03 applies itself:
//! `created_since`/`created_until` (ISO 8601, inclusive) and
//! `sort_by=col.asc|col.desc`. The legacy `/api` layout ignores both, so
//! there the engine filters and [`collect_sorted`] sorts on the client.
//!
//! [`collect_sorted`]: imagecat_core::ImageCatalogExt::collect_sorted

use imagecat_core::{Capabilities, ListQuery, ServerSort, SortKey};
use imagecat_http::Url;
use imagecat_http::endpoint::{ceil_second, floor_second, seconds_param};

/// Whether the base is the 12.03 layout (which reads these parameters).
pub(crate) fn is_v1203(base: &Url) -> bool {
    base.path().trim_end_matches('/').ends_with("/12.03")
}

/// The capabilities with the date filter and sort flags of this layout.
pub(crate) fn capabilities(caps: Capabilities, base: &Url) -> Capabilities {
    let v1203 = is_v1203(base);
    let sort = if v1203 {
        ServerSort::keys(&[SortKey::Created, SortKey::Updated, SortKey::Name])
    } else {
        ServerSort::default()
    };
    let filters = caps.server_filters.created(v1203).sort(sort);
    caps.server_filters(filters)
}

/// The parameters for a query. Times are rounded outwards to whole
/// seconds, so the inclusive server bounds keep a superset of what the
/// engine's strict check keeps; `until` is left out when it would not be
/// after `since` (the server answers 400 to that).
pub(crate) fn params(query: &ListQuery) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    let since = query.created_after.map(floor_second);
    let until = query.created_before.map(ceil_second);
    if let Some(since) = since {
        pairs.push(("created_since", seconds_param(since)));
    }
    if let Some(until) = until.filter(|u| since.is_none_or(|s| *u > s)) {
        pairs.push(("created_until", seconds_param(until)));
    }
    if let Some(sort) = query.sort {
        let column = match sort.key {
            SortKey::Created => Some("created_at"),
            SortKey::Updated => Some("updated_at"),
            SortKey::Name => Some("display_name"),
            _ => None,
        };
        if let Some(column) = column {
            let dir = if sort.descending { "desc" } else { "asc" };
            pairs.push(("sort_by", format!("{column}.{dir}")));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::chrono::{DateTime, TimeDelta};
    use imagecat_core::{PagingStyle, Sort};

    #[test]
    fn dates_round_outwards_and_sort_names_the_column() {
        let t = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let q = ListQuery::new()
            .created_after(t + TimeDelta::milliseconds(300))
            .created_before(t + TimeDelta::milliseconds(1300))
            .sort(Sort::asc(SortKey::Name));
        assert_eq!(
            params(&q),
            [
                ("created_since", "2026-01-01T00:00:00Z".to_owned()),
                ("created_until", "2026-01-01T00:00:02Z".to_owned()),
                ("sort_by", "display_name.asc".to_owned()),
            ]
        );
        let empty = ListQuery::new().created_after(t).created_before(t);
        assert_eq!(
            params(&empty),
            [("created_since", "2026-01-01T00:00:00Z".to_owned())]
        );
        assert!(params(&ListQuery::new().sort(Sort::desc(SortKey::Size))).is_empty());
    }

    #[test]
    fn only_the_1203_layout_sorts_and_filters_dates() {
        let caps = Capabilities::new(PagingStyle::Offset, 10, 10);
        let new = capabilities(caps, &Url::parse("http://h/api/12.03").unwrap());
        assert!(new.server_filters.created && new.server_filters.sort.supports(SortKey::Name));
        let old = capabilities(caps, &Url::parse("http://h/api").unwrap());
        assert!(!old.server_filters.created && !old.server_filters.sort.supports(SortKey::Created));
    }
}

//! What to list: [`ListQuery`] and its client-side filter.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Image, ImageStatus, Visibility};

/// A name to match: exactly, or as a glob (`*`, `?`, `[…]`).
#[derive(Debug, Clone)]
pub enum NamePattern {
    /// The name must equal this string.
    Exact(String),
    /// The name must match this glob.
    Glob(glob::Pattern),
}

impl NamePattern {
    /// A glob when the text holds `*`, `?` or `[` and parses as one; exact otherwise.
    pub fn parse(text: &str) -> Self {
        if text.contains(['*', '?', '[']) {
            if let Ok(p) = glob::Pattern::new(text) {
                return NamePattern::Glob(p);
            }
        }
        NamePattern::Exact(text.to_owned())
    }

    /// Whether a name matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Exact(s) => s == name,
            NamePattern::Glob(p) => p.matches(name),
        }
    }

    /// The exact name, when this is no glob (a server can filter on it).
    pub fn exact(&self) -> Option<&str> {
        match self {
            NamePattern::Exact(s) => Some(s),
            NamePattern::Glob(_) => None,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        match self {
            NamePattern::Exact(s) => s,
            NamePattern::Glob(p) => p.as_str(),
        }
    }
}

/// What to list.
///
/// Filters are applied by the server where the backend's
/// [`Capabilities`](crate::Capabilities) say it can, and always once more on
/// the client by the pagination engine, so the same query gives the same
/// answer on every backend.
///
/// `page_size` is how many images one request asks for; `limit` is how many
/// images the whole listing yields at most.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListQuery {
    /// Match the name exactly or as a glob.
    pub name: Option<NamePattern>,
    /// Keep only these unified statuses (empty: any).
    pub statuses: Vec<ImageStatus>,
    /// Keep only this visibility.
    pub visibility: Option<Visibility>,
    /// Keep only images of this owner.
    pub owner: Option<String>,
    /// Keep only images of at least this many bytes (images without a
    /// size are left out, as Glance does).
    pub size_min: Option<u64>,
    /// Keep only images of at most this many bytes (images without a size
    /// are left out).
    pub size_max: Option<u64>,
    /// Keep only images created strictly before this time (images without
    /// a creation time are left out).
    pub created_before: Option<DateTime<Utc>>,
    /// Keep only images created strictly after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Keep only images updated strictly before this time (images without
    /// an update time are left out).
    pub updated_before: Option<DateTime<Utc>>,
    /// Keep only images updated strictly after this time.
    pub updated_after: Option<DateTime<Utc>>,
    /// Keep only images having every one of these properties with exactly
    /// this value.
    pub properties: BTreeMap<String, String>,
    /// Keep only images carrying every one of these tags. A backend whose
    /// images have no tags answers `NotSupported`.
    pub tags: Vec<String>,
    /// The order wanted. Backends that sort server-side by this key
    /// ([`ServerFilters::sort`](crate::ServerFilters)) stream in this
    /// order; others stream in their own order, and
    /// [`ImageCatalogExt::collect_sorted`](crate::ImageCatalogExt::collect_sorted)
    /// sorts on the client.
    pub sort: Option<Sort>,
    /// Also list deleted images (default false). Asking for the `deleted`
    /// status includes them too.
    pub include_deleted: bool,
    /// Also list retired images where the backend hides them from a plain
    /// listing (EC2 disabled AMIs; default false).
    pub include_retired: bool,
    /// Images per request; `None` for the backend's default.
    pub page_size: Option<u32>,
    /// Stop after this many images.
    pub limit: Option<u64>,
}

impl ListQuery {
    /// Everything visible, deleted images excluded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Match the name: a glob if it holds `*`, `?` or `[`, exact otherwise.
    pub fn name(mut self, pattern: &str) -> Self {
        self.name = Some(NamePattern::parse(pattern));
        self
    }

    /// Match the name exactly, even if it holds glob characters.
    pub fn name_exact(mut self, name: impl Into<String>) -> Self {
        self.name = Some(NamePattern::Exact(name.into()));
        self
    }

    /// Add a status to keep.
    pub fn status(mut self, status: ImageStatus) -> Self {
        self.statuses.push(status);
        self
    }

    /// Keep only this visibility.
    pub fn visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = Some(visibility);
        self
    }

    /// Keep only this owner's images.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Keep only images whose size in bytes is within `min..=max`
    /// (either bound optional).
    pub fn size_range(mut self, min: Option<u64>, max: Option<u64>) -> Self {
        self.size_min = min;
        self.size_max = max;
        self
    }

    /// Keep only images created strictly before `at`.
    pub fn created_before(mut self, at: DateTime<Utc>) -> Self {
        self.created_before = Some(at);
        self
    }

    /// Keep only images created strictly after `at`.
    pub fn created_after(mut self, at: DateTime<Utc>) -> Self {
        self.created_after = Some(at);
        self
    }

    /// Keep only images updated strictly before `at`.
    pub fn updated_before(mut self, at: DateTime<Utc>) -> Self {
        self.updated_before = Some(at);
        self
    }

    /// Keep only images updated strictly after `at`.
    pub fn updated_after(mut self, at: DateTime<Utc>) -> Self {
        self.updated_after = Some(at);
        self
    }

    /// Keep only images whose property `key` is exactly `value` (all such
    /// conditions must hold).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Keep only images carrying this tag (all such tags must be present).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Ask for this order.
    pub fn sort(mut self, sort: Sort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Include deleted images.
    pub fn include_deleted(mut self, yes: bool) -> Self {
        self.include_deleted = yes;
        self
    }

    /// Include retired images a backend would hide (EC2 disabled AMIs).
    pub fn include_retired(mut self, yes: bool) -> Self {
        self.include_retired = yes;
        self
    }

    /// Images per request.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Stop after this many images.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether deleted images are wanted (asked for, or `deleted` among the statuses).
    pub fn wants_deleted(&self) -> bool {
        self.include_deleted || self.statuses.contains(&ImageStatus::Deleted)
    }

    /// The client-side filter: whether an image satisfies every condition.
    pub fn matches(&self, image: &Image) -> bool {
        if image.status == ImageStatus::Deleted && !self.wants_deleted() {
            return false;
        }
        if !self.statuses.is_empty() && !self.statuses.iter().any(|s| status_eq(s, &image.status)) {
            return false;
        }
        if let Some(v) = self.visibility {
            if image.visibility != Some(v) {
                return false;
            }
        }
        if let Some(owner) = &self.owner {
            if image.owner.as_deref() != Some(owner.as_str()) {
                return false;
            }
        }
        if let Some(p) = &self.name {
            if !image.name.as_deref().is_some_and(|n| p.matches(n)) {
                return false;
            }
        }
        if self.size_min.is_some() || self.size_max.is_some() {
            let Some(size) = image.size_bytes else {
                return false;
            };
            if self.size_min.is_some_and(|min| size < min)
                || self.size_max.is_some_and(|max| size > max)
            {
                return false;
            }
        }
        if !within(image.created_at, self.created_after, self.created_before)
            || !within(image.updated_at, self.updated_after, self.updated_before)
        {
            return false;
        }
        if !self
            .properties
            .iter()
            .all(|(k, v)| image.properties.get(k) == Some(v.as_str()))
        {
            return false;
        }
        self.tags.iter().all(|t| image.tags.contains(t))
    }
}

/// Whether a time is strictly inside the open interval `(after, before)`;
/// no time matches only when neither bound is set.
fn within(
    at: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
) -> bool {
    if after.is_none() && before.is_none() {
        return true;
    }
    at.is_some_and(|at| after.is_none_or(|a| at > a) && before.is_none_or(|b| at < b))
}

/// What to sort images by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SortKey {
    /// Creation time.
    Created,
    /// Last update time.
    Updated,
    /// Name (byte order).
    Name,
    /// Size in bytes.
    Size,
}

impl SortKey {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Created => "created",
            SortKey::Updated => "updated",
            SortKey::Name => "name",
            SortKey::Size => "size",
        }
    }
}

/// A sort order: a key and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    /// What to sort by.
    pub key: SortKey,
    /// Descending (newest, largest, last name first) when true.
    pub descending: bool,
}

impl Sort {
    /// Ascending by `key`.
    pub fn asc(key: SortKey) -> Self {
        Sort {
            key,
            descending: false,
        }
    }

    /// Descending by `key`.
    pub fn desc(key: SortKey) -> Self {
        Sort {
            key,
            descending: true,
        }
    }

    /// Compares two images in this order. An image without the key's
    /// value counts as smallest (first ascending, last descending), as
    /// Glance on MySQL or SQLite orders `NULL`; ties compare equal (a
    /// stable sort keeps the server's order for them).
    pub fn compare(&self, a: &Image, b: &Image) -> Ordering {
        let order = match self.key {
            SortKey::Created => a.created_at.cmp(&b.created_at),
            SortKey::Updated => a.updated_at.cmp(&b.updated_at),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Size => a.size_bytes.cmp(&b.size_bytes),
        };
        if self.descending {
            order.reverse()
        } else {
            order
        }
    }

    /// Whether the image has a value for the key.
    pub fn has_value(&self, image: &Image) -> bool {
        match self.key {
            SortKey::Created => image.created_at.is_some(),
            SortKey::Updated => image.updated_at.is_some(),
            SortKey::Name => image.name.is_some(),
            SortKey::Size => image.size_bytes.is_some(),
        }
    }

    /// Whether the images are in this order.
    pub fn is_sorted(&self, images: &[Image]) -> bool {
        images
            .windows(2)
            .all(|w| self.compare(&w[0], &w[1]) != Ordering::Greater)
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.descending { "desc" } else { "asc" };
        write!(f, "{}:{dir}", self.key.as_str())
    }
}

/// A sort order that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sort {0:?}: expected KEY[:asc|desc] with KEY one of created, updated, name, size")]
pub struct SortParseError(String);

impl FromStr for Sort {
    type Err = SortParseError;

    /// Parses `KEY[:asc|desc]`, ascending by default.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SortParseError(text.to_owned());
        let (key, dir) = text.split_once(':').unwrap_or((text, "asc"));
        let key = match key {
            "created" | "created_at" => SortKey::Created,
            "updated" | "updated_at" => SortKey::Updated,
            "name" => SortKey::Name,
            "size" => SortKey::Size,
            _ => return Err(err()),
        };
        match dir {
            "asc" => Ok(Sort::asc(key)),
            "desc" => Ok(Sort::desc(key)),
            _ => Err(err()),
        }
    }
}

/// `Unknown` statuses compare by the unified word, so `--status unknown`
/// keeps every status no mapping knows.
fn status_eq(wanted: &ImageStatus, actual: &ImageStatus) -> bool {
    wanted == actual || wanted.as_str() == actual.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BackendKind;

    fn img(name: &str, status: ImageStatus) -> Image {
        Image::new("x", BackendKind::Memory, status, "n").with_name(name)
    }

    #[test]
    fn glob_and_exact_names() {
        let q = ListQuery::new().name("web-*");
        assert!(q.matches(&img("web-1", ImageStatus::Active)));
        assert!(!q.matches(&img("db-1", ImageStatus::Active)));
        let q = ListQuery::new().name("web");
        assert!(q.matches(&img("web", ImageStatus::Active)));
        assert!(!q.matches(&img("web-1", ImageStatus::Active)));
        // an unparsable glob is matched exactly
        assert!(
            ListQuery::new()
                .name("[")
                .matches(&img("[", ImageStatus::Active))
        );
    }

    #[test]
    fn size_range_keeps_sized_images_within_bounds() {
        let sized = |n| img("a", ImageStatus::Active).with_size_bytes(n);
        let q = ListQuery::new().size_range(Some(10), Some(20));
        assert!(q.matches(&sized(10)) && q.matches(&sized(20)));
        assert!(!q.matches(&sized(9)) && !q.matches(&sized(21)));
        assert!(
            !q.matches(&img("a", ImageStatus::Active)),
            "no size, no match"
        );
        assert!(
            ListQuery::new()
                .size_range(None, Some(5))
                .matches(&sized(0))
        );
        assert!(ListQuery::new().matches(&img("a", ImageStatus::Active)));
    }

    fn at(hour: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + hour * 3600, 0).unwrap()
    }

    #[test]
    fn date_bounds_are_strict_and_undated_images_are_left_out() {
        let made = |h| img("a", ImageStatus::Active).with_created_at(at(h));
        let q = ListQuery::new().created_after(at(1)).created_before(at(3));
        assert!(q.matches(&made(2)));
        assert!(!q.matches(&made(1)) && !q.matches(&made(3)));
        assert!(!q.matches(&img("a", ImageStatus::Active)));
        let u = ListQuery::new().updated_before(at(5));
        assert!(u.matches(&img("a", ImageStatus::Active).with_updated_at(at(4))));
        assert!(!u.matches(&made(4)), "created is not updated");
    }

    #[test]
    fn every_property_and_tag_must_match() {
        let i = img("a", ImageStatus::Active)
            .with_property("os", "ubuntu")
            .with_property("v", "24")
            .with_tag("golden")
            .with_tag("x");
        assert!(
            ListQuery::new()
                .property("os", "ubuntu")
                .property("v", "24")
                .matches(&i)
        );
        assert!(
            !ListQuery::new()
                .property("os", "ubuntu")
                .property("v", "22")
                .matches(&i)
        );
        assert!(!ListQuery::new().property("arch", "").matches(&i));
        assert!(ListQuery::new().tag("golden").tag("x").matches(&i));
        assert!(!ListQuery::new().tag("golden").tag("y").matches(&i));
    }

    #[test]
    fn sort_parses_and_orders_with_missing_values_smallest() {
        assert_eq!(
            "created:desc".parse::<Sort>().unwrap(),
            Sort::desc(SortKey::Created)
        );
        assert_eq!("name".parse::<Sort>().unwrap(), Sort::asc(SortKey::Name));
        assert_eq!(Sort::desc(SortKey::Size).to_string(), "size:desc");
        for bad in ["", "id", "name:up", "size:"] {
            assert!(bad.parse::<Sort>().is_err(), "{bad:?}");
        }
        let sized = |n| img("a", ImageStatus::Active).with_size_bytes(n);
        let mut v = vec![sized(2), img("a", ImageStatus::Active), sized(9), sized(5)];
        v.sort_by(|a, b| Sort::desc(SortKey::Size).compare(a, b));
        let sizes: Vec<_> = v.iter().map(|i| i.size_bytes).collect();
        assert_eq!(sizes, [Some(9), Some(5), Some(2), None]);
        assert!(Sort::desc(SortKey::Size).is_sorted(&v));
        assert!(!Sort::asc(SortKey::Size).is_sorted(&v));
        v.sort_by(|a, b| Sort::asc(SortKey::Size).compare(a, b));
        assert_eq!(v[0].size_bytes, None);
    }

    #[test]
    fn deleted_only_when_asked() {
        let d = img("a", ImageStatus::Deleted);
        assert!(!ListQuery::new().matches(&d));
        assert!(ListQuery::new().include_deleted(true).matches(&d));
        assert!(ListQuery::new().status(ImageStatus::Deleted).matches(&d));
    }

    #[test]
    fn unknown_status_filter_matches_any_unknown_word() {
        let q = ListQuery::new().status(ImageStatus::Unknown("unknown".into()));
        assert!(q.matches(&img("a", ImageStatus::Unknown("frozen".into()))));
        assert!(!q.matches(&img("a", ImageStatus::Active)));
    }
}

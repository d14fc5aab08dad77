//! What to list: [`ListQuery`] and its client-side filter.

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
    /// Also list deleted images (default false). Asking for the `deleted`
    /// status includes them too.
    pub include_deleted: bool,
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

    /// Include deleted images.
    pub fn include_deleted(mut self, yes: bool) -> Self {
        self.include_deleted = yes;
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
        true
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

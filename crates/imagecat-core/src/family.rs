//! Image families: how images are grouped for "newest per family" and
//! for retention. One implementation, used by `latest` and clean-up alike.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Image;

/// How images are grouped into families.
///
/// Serialises as text, the way the CLI and a policy file write it:
/// `name`, `regex:RE` or `property:KEY`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum GroupBy {
    /// One family per exact name (the default).
    #[default]
    Name,
    /// The family is the regex's group named `family`, else its first
    /// capture group, else its whole match; a name the regex does not
    /// match is its own family, its whole name.
    Regex(regex::Regex),
    /// The family is the value of this property.
    Property(String),
}

/// A grouping that cannot be parsed (bad regex, empty property key, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid grouping {text:?}: {reason}")]
pub struct GroupByError {
    text: String,
    reason: String,
}

impl GroupBy {
    /// Groups by a regex (`--family REGEX`).
    pub fn regex(pattern: &str) -> Result<Self, GroupByError> {
        regex::Regex::new(pattern)
            .map(GroupBy::Regex)
            .map_err(|e| GroupByError {
                text: pattern.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Groups by a property (`--group-by property:KEY`).
    pub fn property(key: &str) -> Result<Self, GroupByError> {
        if key.is_empty() {
            return Err(GroupByError {
                text: format!("property:{key}"),
                reason: "the property key is empty".to_owned(),
            });
        }
        Ok(GroupBy::Property(key.to_owned()))
    }

    /// The family of a name alone (for [`GroupBy::Name`] and
    /// [`GroupBy::Regex`]); `None` for [`GroupBy::Property`].
    pub fn family_of_name<'a>(&self, name: &'a str) -> Option<&'a str> {
        match self {
            GroupBy::Name => Some(name),
            GroupBy::Regex(re) => Some(match re.captures(name) {
                None => name,
                Some(caps) => caps
                    .name("family")
                    .or_else(|| caps.get(1))
                    .or_else(|| caps.get(0))
                    .map_or(name, |m| m.as_str()),
            }),
            GroupBy::Property(_) => None,
        }
    }
}

/// The property that names an image's image family (GCE's `family`; any
/// backend's property of that name).
pub const FAMILY_PROPERTY: &str = "family";

/// The newest active image whose property [`FAMILY_PROPERTY`] is `family`,
/// from the listing: what [`ImageCatalog::family_latest`] does where the
/// backend has no call of its own. `NotFound` (naming the family) when
/// there is none.
///
/// [`ImageCatalog::family_latest`]: crate::ImageCatalog::family_latest
pub async fn newest_in_family<C: crate::ImageCatalog + ?Sized>(
    catalog: &C,
    family: &str,
) -> crate::Result<Image> {
    use crate::ImageCatalogExt as _;
    let query = crate::ListQuery::new()
        .property(FAMILY_PROPERTY, family)
        .status(crate::ImageStatus::Active);
    catalog.latest(query).await.map_err(|e| {
        if e.kind() == crate::ErrorKind::NotFound {
            crate::Error::new(
                crate::ErrorKind::NotFound,
                format!("no active image of family {family:?}"),
            )
            .with_backend(catalog.info().backend)
        } else {
            e
        }
    })
}

/// The family an image belongs to under a grouping, or `None` when it has
/// none: no name (by name or regex) or no such property. Callers treat an
/// image without a family as a family of its own (never grouped with
/// others).
pub fn family_of(group: &GroupBy, image: &Image) -> Option<String> {
    match group {
        GroupBy::Property(key) => image.properties.get(key).map(str::to_owned),
        _ => image
            .name
            .as_deref()
            .and_then(|n| group.family_of_name(n))
            .map(str::to_owned),
    }
}

/// The key that groups an image with others, or `None` when it is a
/// family of its own. Unlike [`family_of`] (the family as shown), keys of
/// different kinds never collide: under [`GroupBy::Regex`] a name the
/// regex does not match is grouped only with the same unmatched name,
/// never with a family captured from other names (a plain `web` is not in
/// the `web-<timestamp>` family, even though both show as `web`).
pub fn family_key(group: &GroupBy, image: &Image) -> Option<String> {
    let family = family_of(group, image)?;
    match (group, image.name.as_deref()) {
        (GroupBy::Regex(re), Some(name)) if !re.is_match(name) => Some(format!("whole:{family}")),
        (GroupBy::Regex(_), _) => Some(format!("match:{family}")),
        _ => Some(family),
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupBy::Name => f.write_str("name"),
            GroupBy::Regex(re) => write!(f, "regex:{}", re.as_str()),
            GroupBy::Property(key) => write!(f, "property:{key}"),
        }
    }
}

impl FromStr for GroupBy {
    type Err = GroupByError;

    /// Parses `name`, `regex:RE` or `property:KEY`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "name" {
            Ok(GroupBy::Name)
        } else if let Some(re) = text.strip_prefix("regex:") {
            GroupBy::regex(re)
        } else if let Some(key) = text.strip_prefix("property:") {
            GroupBy::property(key)
        } else {
            Err(GroupByError {
                text: text.to_owned(),
                reason: "expected name, regex:RE or property:KEY".to_owned(),
            })
        }
    }
}

impl PartialEq for GroupBy {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Serialize for GroupBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GroupBy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendKind, ImageStatus};

    fn img(name: &str) -> Image {
        Image::new("x", BackendKind::Memory, ImageStatus::Active, "active").with_name(name)
    }

    #[test]
    fn by_name_is_the_exact_name() {
        assert_eq!(
            family_of(&GroupBy::Name, &img("web-1")).as_deref(),
            Some("web-1")
        );
        let mut nameless = img("a");
        nameless.name = None;
        assert_eq!(family_of(&GroupBy::Name, &nameless), None);
    }

    #[test]
    fn by_regex_named_group_then_first_group_then_whole_name() {
        let named = GroupBy::regex(r"^(\w+)-(?P<family>[a-z]+)-\d+$").unwrap();
        assert_eq!(
            family_of(&named, &img("x-ubuntu-2024")).as_deref(),
            Some("ubuntu")
        );
        let first = GroupBy::regex(r"^(.+)-\d{8}$").unwrap();
        assert_eq!(
            family_of(&first, &img("centos-7-20240101")).as_deref(),
            Some("centos-7")
        );
        assert_eq!(family_of(&first, &img("custom")).as_deref(), Some("custom"));
        let whole = GroupBy::regex(r"^web").unwrap();
        assert_eq!(family_of(&whole, &img("web-2")).as_deref(), Some("web"));
        // An optional group that did not take part falls back to the whole match.
        let optional = GroupBy::regex(r"^db(-x)?").unwrap();
        assert_eq!(family_of(&optional, &img("db-1")).as_deref(), Some("db"));
    }

    #[test]
    fn an_unmatched_name_never_joins_a_captured_family() {
        let g = GroupBy::regex(r"^(.+)-\d{8}$").unwrap();
        // Both show as `web`, but they are two families.
        assert_eq!(
            family_of(&g, &img("web")),
            family_of(&g, &img("web-20260101"))
        );
        assert_ne!(
            family_key(&g, &img("web")),
            family_key(&g, &img("web-20260101"))
        );
        // Unmatched names group with the same unmatched name only.
        assert_eq!(family_key(&g, &img("web")), family_key(&g, &img("web")));
        assert_eq!(
            family_key(&g, &img("web-20260101")),
            family_key(&g, &img("web-20250101"))
        );
        // A captured group equal to the other kind's prefix cannot collide.
        let odd = GroupBy::regex(r"^x-(.+)$").unwrap();
        assert_ne!(
            family_key(&odd, &img("x-whole:a")),
            family_key(&odd, &img("match:whole:a"))
        );
        assert_eq!(
            family_key(&GroupBy::Name, &img("web")).as_deref(),
            Some("web")
        );
    }

    #[test]
    fn by_property_missing_is_no_family() {
        let g = GroupBy::property("os_distro").unwrap();
        let i = img("a").with_property("os_distro", "ubuntu");
        assert_eq!(family_of(&g, &i).as_deref(), Some("ubuntu"));
        assert_eq!(family_of(&g, &img("a")), None);
    }

    #[test]
    fn text_and_serde_round_trip_and_errors() {
        for text in ["name", "regex:^(.+)-\\d+$", "property:os_distro"] {
            let g: GroupBy = text.parse().unwrap();
            assert_eq!(g.to_string(), text);
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(serde_json::from_str::<GroupBy>(&json).unwrap(), g);
        }
        assert!("regex:(".parse::<GroupBy>().is_err());
        assert!("property:".parse::<GroupBy>().is_err());
        assert!("size".parse::<GroupBy>().is_err());
        assert!(serde_json::from_str::<GroupBy>("\"regex:[\"").is_err());
    }
}

#[cfg(test)]
mod family_latest_tests {
    use chrono::{TimeZone, Utc};

    use crate::model::{BackendKind, ImageStatus};
    use crate::{ErrorKind, Image, ImageCatalog, InMemoryCatalog};

    fn img(id: &str, family: &str, day: u32, status: ImageStatus) -> Image {
        let mut image = Image::new(id, BackendKind::Memory, status, "x").with_name(id);
        image.created_at = Some(Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap());
        image.properties.insert(super::FAMILY_PROPERTY, family);
        image
    }

    #[tokio::test]
    async fn without_a_family_call_the_listing_answers() {
        let catalog = InMemoryCatalog::from_images(vec![
            img("g1", "golden", 1, ImageStatus::Active),
            img("g2", "golden", 2, ImageStatus::Active),
            img("g3", "golden", 3, ImageStatus::Failed),
            img("o9", "other", 9, ImageStatus::Active),
        ]);
        assert!(!catalog.info().capabilities.family_lookup);
        let newest = catalog.family_latest("golden").await.unwrap();
        assert_eq!(newest.id.as_str(), "g2");
        let e = catalog.family_latest("none").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("none"), "{e}");
        // through Arc<dyn …> too
        let shared: crate::DynImageCatalog = std::sync::Arc::new(catalog);
        assert_eq!(
            shared.family_latest("other").await.unwrap().id.as_str(),
            "o9"
        );
    }
}

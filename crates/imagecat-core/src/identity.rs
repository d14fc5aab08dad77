//! How a backend spells its image ids, as data: one rule per backend
//! ([`Capabilities::ids`](crate::Capabilities::ids)) turns an image id from
//! the catalog and an image reference from an instance into the same
//! canonical form, so the usage index compares like with like. A reference
//! the rule cannot read is not "no image": the usage scan makes it
//! [`BootSource::Unresolved`], and every answer it could hide is unknown.

use serde::Serialize;

use crate::model::ImageId;
use crate::usage::BootSource;

/// A backend's identity rule for image ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdRule {
    /// Ids are opaque strings compared as given, after surrounding
    /// whitespace is trimmed (the in-memory catalog).
    #[default]
    Exact,
    /// UUIDs (Glance, TOAST): any spelling `uuid` parses (upper case,
    /// braces, `urn:uuid:`, no hyphens) is the hyphenated lower-case form;
    /// an OpenStack link `http(s)://…/images/{uuid}` (how Nova may name a
    /// server's image) is the UUID it ends in.
    Uuid,
    /// A fixed prefix and a body of `[A-Za-z0-9_]` (DCMGR `wmi-…`): the
    /// prefix is matched without regard to case and the whole id is lower
    /// case (DCMGR looks ids up in a case-insensitive database column, so
    /// two spellings that differ in case name one image).
    Prefixed {
        /// The prefix, lower case (`wmi-`).
        prefix: &'static str,
    },
}

impl IdRule {
    /// The canonical form of an id or a reference, `None` when the rule
    /// cannot read it (empty, not of the backend's shape, a link to
    /// something else).
    pub fn canonical(self, raw: &str) -> Option<ImageId> {
        let text = raw.trim();
        if text.is_empty() {
            return None;
        }
        match self {
            IdRule::Exact => Some(ImageId::new(text)),
            IdRule::Uuid => {
                let id = link_tail(text).unwrap_or(Some(text))?;
                uuid_canonical(id).map(ImageId::new)
            }
            IdRule::Prefixed { prefix } => {
                let head = text.get(..prefix.len())?;
                let body = &text[prefix.len()..];
                let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
                (head.eq_ignore_ascii_case(prefix) && !body.is_empty() && body.chars().all(word))
                    .then(|| ImageId::new(format!("{prefix}{}", body.to_ascii_lowercase())))
            }
        }
    }

    /// The key a catalog's image is looked up by: its canonical form, or
    /// the id as given when the rule cannot read it (such an image cannot
    /// be deleted through its backend anyway, which validates ids first).
    pub fn key_of(self, id: &ImageId) -> ImageId {
        self.canonical(id.as_str()).unwrap_or_else(|| id.clone())
    }

    /// Whether two ids name the same image under this rule (an unreadable
    /// one equals only its own spelling).
    pub fn same(self, a: &ImageId, b: &ImageId) -> bool {
        self.key_of(a) == self.key_of(b)
    }

    /// An instance's boot source with its image reference in canonical
    /// form; a reference the rule cannot read becomes unresolved (it may
    /// name any image). Other sources are unchanged.
    pub fn resolve(self, boot: BootSource) -> BootSource {
        match boot {
            BootSource::Image { id, via } => match self.canonical(id.as_str()) {
                Some(id) => BootSource::Image { id, via },
                None => BootSource::Unresolved {
                    reason: format!("the image reference {:?} is not an image id", id.as_str()),
                },
            },
            other => other,
        }
    }
}

/// The last path segment of an `http(s)` link whose segment before it is
/// `images`: `None` when `text` is not a link, `Some(None)` when it is a
/// link to something else.
fn link_tail(text: &str) -> Option<Option<&str>> {
    let lower = text
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return None;
    };
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
    let (last, before) = match segments.as_slice() {
        [.., before, last] => (Some(*last), Some(*before)),
        _ => (None, None),
    };
    Some(match (last, before) {
        (Some(id), Some("images")) => Some(id),
        _ => None,
    })
}

/// A UUID in any spelling the `uuid` crate parses, hyphenated lower case.
fn uuid_canonical(text: &str) -> Option<String> {
    uuid::Uuid::try_parse(text)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::FoundVia;

    const ID: &str = "8b9f8d47-0000-4000-8000-000000000001";

    #[test]
    fn uuid_spellings_resolve_to_one_canonical_id() {
        for spelling in [
            ID,
            "8B9F8D47-0000-4000-8000-000000000001",
            "  8b9f8d47-0000-4000-8000-000000000001\n",
            "{8b9f8d47-0000-4000-8000-000000000001}",
            "urn:uuid:8b9f8d47-0000-4000-8000-000000000001",
            "8b9f8d47000040008000000000000001",
            "https://nova:8774/v2.1/images/8b9f8d47-0000-4000-8000-000000000001",
            "HTTP://h/t/images/8B9F8D47-0000-4000-8000-000000000001?x=1",
            "http://h/compute/v2.1/images/8b9f8d47-0000-4000-8000-000000000001/",
        ] {
            assert_eq!(
                IdRule::Uuid
                    .canonical(spelling)
                    .as_ref()
                    .map(ImageId::as_str),
                Some(ID),
                "{spelling:?}"
            );
        }
        for unreadable in [
            "",
            "   ",
            "img-a",
            "https://nova/v2.1/flavors/8b9f8d47-0000-4000-8000-000000000001",
            "https://nova/v2.1/images/",
            "https://nova/v2.1/images/not-a-uuid",
            "ftp://h/images/8b9f8d47-0000-4000-8000-000000000001",
        ] {
            assert_eq!(IdRule::Uuid.canonical(unreadable), None, "{unreadable:?}");
        }
    }

    #[test]
    fn prefixed_ids_ignore_case_and_whitespace_and_nothing_else() {
        let rule = IdRule::Prefixed { prefix: "wmi-" };
        for spelling in ["wmi-abc_1", "WMI-ABC_1", " wmi-Abc_1\t"] {
            assert_eq!(
                rule.canonical(spelling).as_ref().map(ImageId::as_str),
                Some("wmi-abc_1"),
                "{spelling:?}"
            );
        }
        for unreadable in ["wmi-", "abc_1", "wmi-a b", "wmi-a/b", "vol-abc", "wmi-é"] {
            assert_eq!(rule.canonical(unreadable), None, "{unreadable:?}");
        }
    }

    #[test]
    fn exact_ids_are_trimmed_only() {
        assert_eq!(
            IdRule::Exact.canonical(" Img-A ").unwrap().as_str(),
            "Img-A"
        );
        assert_eq!(IdRule::Exact.canonical(" \t"), None);
        assert!(!IdRule::Exact.same(&"a".into(), &"A".into()));
        assert!(IdRule::Uuid.same(&ID.into(), &ID.to_ascii_uppercase().into()));
        // an unreadable catalog id keeps its own spelling
        assert_eq!(IdRule::Uuid.key_of(&"img-a".into()).as_str(), "img-a");
    }

    #[test]
    fn an_unreadable_reference_is_unresolved_never_no_image() {
        let boot = |id: &str| BootSource::Image {
            id: id.into(),
            via: FoundVia::ImageField,
        };
        assert_eq!(
            IdRule::Uuid.resolve(boot(&ID.to_ascii_uppercase())),
            boot(ID)
        );
        assert!(matches!(
            IdRule::Uuid.resolve(boot("https://h/v2/images/x")),
            BootSource::Unresolved { .. }
        ));
        assert_eq!(
            IdRule::Uuid.resolve(BootSource::NoImage),
            BootSource::NoImage
        );
    }
}

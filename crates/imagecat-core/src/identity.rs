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
    /// Google Compute Engine image paths: the canonical form is
    /// `projects/{project}/global/images/{name}`, read from that partial
    /// path (a leading `/` allowed) or from any `http(s)` link ending in it
    /// (`https://www.googleapis.com/compute/v1/…`, the API host, an
    /// endpoint override). Unreadable, so unresolved: a family
    /// (`…/images/family/F` names no single image), a numeric image id in
    /// the name's place (`…/images/1234`, another spelling of some name),
    /// `global/images/N` without its project (the adapter qualifies it with
    /// the project it read it in before resolving), anything not matching
    /// GCE's lower-case name and project patterns.
    GcePath,
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
            IdRule::GcePath => gce_path(text).map(ImageId::new),
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

/// `projects/{p}/global/images/{name}` from a partial path or a link ending
/// in one; `None` for anything else (see [`IdRule::GcePath`]).
fn gce_path(text: &str) -> Option<String> {
    let lower = text
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let path = if lower.starts_with("https://") || lower.starts_with("http://") {
        let rest = &text[lower.find("//")? + 2..];
        let path = rest.split(['?', '#']).next().unwrap_or_default();
        // the host goes; what follows it is the path
        path.split_once('/').map(|(_, p)| p).unwrap_or_default()
    } else if text.contains(['?', '#']) {
        return None;
    } else {
        text.strip_prefix('/').unwrap_or(text)
    };
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let tail = segments.get(segments.len().checked_sub(5)?..)?;
    let (project, name) = match tail {
        ["projects", project, "global", "images", name] => (*project, *name),
        _ => return None,
    };
    // a partial path is exactly the five segments; a link may carry any
    // prefix (`compute/v1`, an emulator's base)
    if !text.contains("://") && segments.len() != 5 {
        return None;
    }
    (gce_project(project) && gce_name(name))
        .then(|| format!("projects/{project}/global/images/{name}"))
}

/// GCE's resource name pattern `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63.
fn gce_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A project id (`[a-z0-9-]`, at most 63, optionally `domain:` before it
/// as the API's pattern allows). A project number (all digits; the API
/// accepts one, and instance metadata writes `projects/1111111/…`) is
/// refused: it is another spelling of some project id, so comparing it as
/// text could take an image in use for an unused one.
fn gce_project(project: &str) -> bool {
    let (domain, id) = project.rsplit_once(':').unwrap_or(("", project));
    let id_ok = (1..=63).contains(&id.len())
        && !id.bytes().all(|b| b.is_ascii_digit())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    let domain_ok = domain.is_empty()
        || domain.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    id_ok && domain_ok
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
    fn gce_paths_in_every_spelling_are_one_id() {
        let id = "projects/p1/global/images/golden-v1";
        for spelling in [
            id,
            "/projects/p1/global/images/golden-v1",
            " projects/p1/global/images/golden-v1/ ",
            "https://www.googleapis.com/compute/v1/projects/p1/global/images/golden-v1",
            "https://compute.googleapis.com/compute/v1/projects/p1/global/images/golden-v1",
            "https://www.googleapis.com/compute/beta/projects/p1/global/images/golden-v1?alt=json",
            "HTTP://127.0.0.1:18765/compute/v1/projects/p1/global/images/golden-v1",
        ] {
            assert_eq!(
                IdRule::GcePath
                    .canonical(spelling)
                    .as_ref()
                    .map(ImageId::as_str),
                Some(id),
                "{spelling:?}"
            );
        }
        assert_eq!(
            IdRule::GcePath
                .canonical("projects/example.com:p-2/global/images/a")
                .unwrap()
                .as_str(),
            "projects/example.com:p-2/global/images/a"
        );
        for unresolved in [
            "",
            "golden-v1",
            "global/images/golden-v1",
            "p1/golden-v1",
            "projects/p1/global/images/family/golden",
            "https://www.googleapis.com/compute/v1/projects/p1/global/images/family/golden",
            "projects/p1/global/images/1403374394217470035",
            "projects/1111111/global/images/golden-v1",
            "projects/p1/global/images/Golden-V1",
            "projects/p1/global/images/golden-",
            "projects/p1/zones/us-central1-a/disks/golden-v1",
            "projects/p1/global/snapshots/golden-v1",
            "x/projects/p1/global/images/golden-v1",
            "projects/p1/global/images/golden-v1?x=1",
            "projects//global/images/golden-v1",
            "https://www.googleapis.com/compute/v1/projects/p1/global/images/",
        ] {
            assert_eq!(
                IdRule::GcePath.canonical(unresolved),
                None,
                "{unresolved:?}"
            );
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

//! Image references as GCE disks, templates and users write them, read
//! against the project they were found in. The core's
//! [`IdRule::GcePath`] reads the project-qualified forms; this adds the
//! project-relative `global/images/N` and tells a family reference (which
//! names no single image: the usage scan must treat it as unresolved, or
//! resolve it through `getFromFamily`) from an unreadable one.

use imagecat_core::{IdRule, ImageId};

/// What an image reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageReference {
    /// One image, as its canonical id `projects/{p}/global/images/{name}`.
    Image(ImageId),
    /// The family's current image, whichever that is when asked.
    Family {
        /// The project of the family.
        project: String,
        /// The family.
        family: String,
    },
    /// Not an image reference this rule can read (unresolved, never "no image").
    Unreadable,
}

/// Reads `reference` as found in `project`: a full link or
/// `projects/P/global/images/N` (the core rule), `global/images/N` (in
/// `project`), and the same shapes ending in `images/family/F`.
pub fn qualify_reference(reference: &str, project: &str) -> ImageReference {
    let text = reference.trim();
    let relative = text.strip_prefix('/').unwrap_or(text);
    let qualified = match relative.strip_prefix("global/images/") {
        Some(_) => format!("projects/{project}/{relative}"),
        None => text.to_owned(),
    };
    if let Some(id) = IdRule::GcePath.canonical(&qualified) {
        return ImageReference::Image(id);
    }
    // a family: the same path with `family/F` in the name's place
    if let Some((head, family)) = qualified.trim_end_matches('/').rsplit_once("/family/") {
        // `{head}/{family}` reads as an image path exactly when the family
        // is a valid name in a valid project
        if let Some(id) = IdRule::GcePath.canonical(&format!("{head}/{family}")) {
            let project = id
                .as_str()
                .strip_prefix("projects/")
                .and_then(|rest| rest.split_once('/'))
                .map(|(project, _)| project.to_owned())
                .unwrap_or_default();
            return ImageReference::Family {
                project,
                family: family.to_owned(),
            };
        }
    }
    ImageReference::Unreadable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str) -> ImageReference {
        ImageReference::Image(ImageId::new(id))
    }

    #[test]
    fn every_spelling_of_a_reference() {
        let id = "projects/p1/global/images/golden-v1";
        for spelling in [
            "https://www.googleapis.com/compute/v1/projects/p1/global/images/golden-v1",
            "projects/p1/global/images/golden-v1",
            "global/images/golden-v1",
            "/global/images/golden-v1",
        ] {
            assert_eq!(qualify_reference(spelling, "p1"), image(id), "{spelling}");
        }
        // another project's image keeps its project
        assert_eq!(
            qualify_reference("projects/debian-cloud/global/images/debian-12-v1", "p1"),
            image("projects/debian-cloud/global/images/debian-12-v1")
        );
        let family = ImageReference::Family {
            project: "debian-cloud".into(),
            family: "debian-12".into(),
        };
        for spelling in [
            "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-12",
            "projects/debian-cloud/global/images/family/debian-12",
        ] {
            assert_eq!(qualify_reference(spelling, "p1"), family, "{spelling}");
        }
        assert_eq!(
            qualify_reference("global/images/family/golden", "p1"),
            ImageReference::Family {
                project: "p1".into(),
                family: "golden".into()
            }
        );
        for unreadable in [
            "",
            "golden-v1",
            "global/images/1403374394217470035",
            "projects/p1/global/images/family/a/b",
            "projects/p1/global/images/family/Bad",
            "projects/p1/zones/z/disks/d",
        ] {
            assert_eq!(
                qualify_reference(unreadable, "p1"),
                ImageReference::Unreadable,
                "{unreadable:?}"
            );
        }
    }
}

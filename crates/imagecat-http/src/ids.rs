//! Id checks shared by the backends whose ids are UUIDs (TOAST, Glance).

use imagecat_core::{BackendKind, Error, ImageId, Result};

/// Validates an image id as a UUID and returns its canonical form
/// (hyphenated, lower case), or `InvalidInput` naming the backend: called
/// before any request is built, so a hostile id never reaches the wire.
pub fn canonical_uuid(backend: BackendKind, id: &ImageId) -> Result<String> {
    uuid::Uuid::try_parse(id.as_str())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            Error::invalid_input(
                backend,
                format!(
                    "invalid image id {:?}: a {backend} image id is a UUID",
                    id.as_str()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn ids_must_be_uuids() {
        for bad in [
            "",
            "x&id=y",
            "../images",
            "not-a-uuid",
            "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b1",
            "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10/file",
            "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10?id=x",
        ] {
            let e = canonical_uuid(BackendKind::Toast, &ImageId::new(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.to_string().starts_with("toast: "), "{e}");
        }
        assert_eq!(
            canonical_uuid(
                BackendKind::Glance,
                &ImageId::new("6F2C1B4E-0C2A-4F0E-9D35-1F7C2A8E9B10")
            )
            .unwrap(),
            "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10"
        );
    }
}

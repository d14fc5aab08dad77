//! [`BackendKind`]: the open name of a backend.

use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of the backend an image, a catalog or an error comes from: a
/// short lower-case word, used in URLs, errors and output ("toast",
/// "dcmgr", "glance", "memory").
///
/// The set is open, as OpenDAL's scheme names are: a backend names itself
/// in its own crate (`pub const BACKEND: BackendKind =
/// BackendKind::new("ec2");`) and edits nothing here. The constants below
/// are the names of this workspace's backends, spelled like the enum
/// variants they once were so call sites read the same.
///
/// ```
/// use imagecat_core::BackendKind;
/// const EC2: BackendKind = BackendKind::new("ec2");
/// assert_eq!(EC2.to_string(), "ec2");
/// assert_eq!(serde_json::to_string(&BackendKind::Toast).unwrap(), "\"toast\"");
/// let back: BackendKind = serde_json::from_str("\"ec2\"").unwrap();
/// assert_eq!(back, EC2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendKind(&'static str);

#[allow(non_upper_case_globals)]
impl BackendKind {
    /// NHN Cloud (TOAST) Compute Image API v1.0: `"toast"`.
    pub const Toast: BackendKind = BackendKind::new("toast");
    /// Wakame-vdc DCMGR images API: `"dcmgr"`.
    pub const Dcmgr: BackendKind = BackendKind::new("dcmgr");
    /// OpenStack Image v2 (Glance): `"glance"`.
    pub const Glance: BackendKind = BackendKind::new("glance");
    /// The in-memory catalog (tests, examples, the demo): `"memory"`.
    pub const Memory: BackendKind = BackendKind::new("memory");
}

/// The longest backend name.
const MAX_NAME: usize = 32;

/// The most distinct names read from documents (saved plans) that are not
/// compiled in; each is kept for the life of the process.
const MAX_INTERNED: usize = 64;

/// Names read from documents, kept so a [`BackendKind`] stays `Copy`.
static INTERNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

impl BackendKind {
    /// A backend name: 1 to 32 characters of `a-z`, `0-9` and `-`,
    /// starting with a letter. A bad name in a `const` fails to compile.
    ///
    /// # Panics
    ///
    /// When the name is not of that form.
    pub const fn new(name: &'static str) -> Self {
        assert!(is_name(name), "a backend name is 1-32 of a-z, 0-9, -");
        BackendKind(name)
    }

    /// The short lower-case name used in URLs, errors and output.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The backend of a name read from a document: a known one, or a new
    /// one kept for the life of the process (at most 64 of them).
    fn from_document(name: &str) -> Result<Self, String> {
        if !is_name(name) {
            return Err(format!(
                "{name:?} is not a backend name (1-32 of a-z, 0-9, -, starting with a letter)"
            ));
        }
        let known = [Self::Toast, Self::Dcmgr, Self::Glance, Self::Memory];
        if let Some(kind) = known.into_iter().find(|k| k.0 == name) {
            return Ok(kind);
        }
        let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kept) = interned.iter().find(|k| **k == name) {
            return Ok(BackendKind(kept));
        }
        if interned.len() >= MAX_INTERNED {
            return Err(format!("too many backend names; {name:?} is one too many"));
        }
        let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
        interned.push(kept);
        Ok(BackendKind(kept))
    }
}

/// Whether a name is 1 to 32 of `a-z0-9-`, starting with a letter.
const fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Serialize for BackendKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for BackendKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        BackendKind::from_document(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_names_are_what_they_always_were() {
        for (kind, word) in [
            (BackendKind::Toast, "toast"),
            (BackendKind::Dcmgr, "dcmgr"),
            (BackendKind::Glance, "glance"),
            (BackendKind::Memory, "memory"),
        ] {
            assert_eq!(kind.to_string(), word);
            assert_eq!(kind.as_str(), word);
            assert_eq!(format!("{kind:?}"), format!("{word:?}"));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{word}\""));
            assert_eq!(serde_json::from_str::<BackendKind>(&json).unwrap(), kind);
        }
    }

    fn a_new_name_reads_back_equal_and_bad_names_are_refused() {
        let ec2 = BackendKind::new("ec2");
        assert_eq!(serde_json::from_str::<BackendKind>("\"ec2\"").unwrap(), ec2);
        assert_eq!(serde_json::from_str::<BackendKind>("\"ec2\"").unwrap(), ec2);
        for bad in ["\"\"", "\"Toast\"", "\"to ast\"", "\"9x\"", "\"a/b\"", "1"] {
            assert!(serde_json::from_str::<BackendKind>(bad).is_err(), "{bad}");
        }
        let long = format!("\"{}\"", "a".repeat(33));
        assert!(serde_json::from_str::<BackendKind>(&long).is_err());
    }

    /// One test, in this order: the interned names are one table for the
    /// whole process, so a new name must be read before the table is
    /// filled (two tests would race).
    #[test]
    fn names_read_from_documents_are_bounded() {
        a_new_name_reads_back_equal_and_bad_names_are_refused();
        let mut refused = 0;
        for i in 0..(MAX_INTERNED + 8) {
            let json = format!("\"bounded-{i}\"");
            if serde_json::from_str::<BackendKind>(&json).is_err() {
                refused += 1;
            }
        }
        assert!(refused >= 8, "only {refused} refused");
        // A known name still reads once the table is full.
        assert_eq!(
            serde_json::from_str::<BackendKind>("\"glance\"").unwrap(),
            BackendKind::Glance
        );
        // So does a name kept before the table filled.
        assert_eq!(
            serde_json::from_str::<BackendKind>("\"ec2\"")
                .unwrap()
                .as_str(),
            "ec2"
        );
    }
}

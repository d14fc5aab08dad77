//! The unified image model every backend decodes into.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::Properties;
pub use crate::backend::BackendKind;

/// An image id as the backend issued it.
///
/// Constructing one never fails; the backend that receives it validates it
/// (a TOAST id must be a UUID, a DCMGR id `wmi-…`) before any request is built.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(String);

impl ImageId {
    /// Wraps an id string.
    pub fn new(id: impl Into<String>) -> Self {
        ImageId(id.into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ImageId {
    fn from(s: &str) -> Self {
        ImageId(s.to_owned())
    }
}

impl From<String> for ImageId {
    fn from(s: String) -> Self {
        ImageId(s)
    }
}

/// The unified lifecycle status of an image. Parsing never fails: a word no
/// mapping knows becomes [`ImageStatus::Unknown`], and [`Image::native_status`]
/// always keeps the server's own word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageStatus {
    /// Reserved, no data yet.
    Queued,
    /// Data is being written.
    Saving,
    /// Ready to use.
    Active,
    /// Usable only by administrators.
    Deactivated,
    /// Creation failed; the image is not usable.
    Failed,
    /// Deleted (possibly still listed by soft-deleting backends).
    Deleted,
    /// A status no mapping knows, with the server's word.
    Unknown(String),
}

impl ImageStatus {
    /// The unified name: `queued`, `saving`, `active`, `deactivated`, `failed`,
    /// `deleted` or `unknown`.
    pub fn as_str(&self) -> &str {
        match self {
            ImageStatus::Queued => "queued",
            ImageStatus::Saving => "saving",
            ImageStatus::Active => "active",
            ImageStatus::Deactivated => "deactivated",
            ImageStatus::Failed => "failed",
            ImageStatus::Deleted => "deleted",
            ImageStatus::Unknown(_) => "unknown",
        }
    }

    /// Parses a unified status name (as printed by [`ImageStatus::as_str`]);
    /// any other word becomes `Unknown(word)`.
    pub fn from_unified(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "queued" => ImageStatus::Queued,
            "saving" => ImageStatus::Saving,
            "active" => ImageStatus::Active,
            "deactivated" => ImageStatus::Deactivated,
            "failed" => ImageStatus::Failed,
            "deleted" => ImageStatus::Deleted,
            _ => ImageStatus::Unknown(word.to_owned()),
        }
    }

    /// Maps a Glance status (also used by TOAST, which fronts Glance).
    ///
    /// | Glance | unified |
    /// |---|---|
    /// | queued | queued |
    /// | saving, uploading, importing | saving |
    /// | active | active |
    /// | deactivated | deactivated |
    /// | killed | failed |
    /// | deleted, pending_delete | deleted |
    pub fn from_glance(native: &str) -> Self {
        match native {
            "queued" => ImageStatus::Queued,
            "saving" | "uploading" | "importing" => ImageStatus::Saving,
            "active" => ImageStatus::Active,
            "deactivated" => ImageStatus::Deactivated,
            "killed" => ImageStatus::Failed,
            "deleted" | "pending_delete" => ImageStatus::Deleted,
            other => ImageStatus::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ImageStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ImageStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        Ok(ImageStatus::from_unified(&word))
    }
}

/// Who may see and use an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Visibility {
    /// Every project or account.
    Public,
    /// The owner only.
    Private,
    /// The owner and the members it was shared with (Glance).
    Shared,
    /// Usable by everyone, listed only on request (Glance).
    Community,
}

impl Visibility {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Shared => "shared",
            Visibility::Community => "community",
        }
    }

    /// Parses a lower-case name; `None` for anything else.
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "public" => Some(Visibility::Public),
            "private" => Some(Visibility::Private),
            "shared" => Some(Visibility::Shared),
            "community" => Some(Visibility::Community),
            _ => None,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The backend's own record of an image, kept verbatim as JSON text for
/// whoever needs a field imagecat did not unify.
#[derive(Clone)]
pub struct NativeRecord(Box<RawValue>);

impl NativeRecord {
    /// Wraps raw JSON text already validated as JSON.
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        NativeRecord(raw)
    }

    /// Serialises a JSON value.
    pub fn from_value(value: &serde_json::Value) -> Self {
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        NativeRecord(RawValue::from_string(text).unwrap_or_else(|_| null_raw()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the record into a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }
}

fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

impl fmt::Debug for NativeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NativeRecord").field(&self.0.get()).finish()
    }
}

impl PartialEq for NativeRecord {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for NativeRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for NativeRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(NativeRecord(Box::<RawValue>::deserialize(d)?))
    }
}

/// A machine image, in the model shared by every backend.
///
/// Anything a backend does not provide is `None`, never a made-up value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Image {
    /// The id, as the backend issued it.
    pub id: ImageId,
    /// The display name.
    pub name: Option<String>,
    /// The unified status.
    pub status: ImageStatus,
    /// The server's own status word.
    pub native_status: String,
    /// Who may use the image.
    pub visibility: Option<Visibility>,
    /// The owning account or project.
    pub owner: Option<String>,
    /// Creation time, UTC.
    pub created_at: Option<DateTime<Utc>>,
    /// Last update time, UTC.
    pub updated_at: Option<DateTime<Utc>>,
    /// Size of the image data in bytes.
    pub size_bytes: Option<u64>,
    /// Minimum disk in GB to boot it.
    pub min_disk_gb: Option<u64>,
    /// Minimum RAM in MB to boot it.
    pub min_ram_mb: Option<u64>,
    /// Disk format (qcow2, raw, …).
    pub disk_format: Option<String>,
    /// CPU architecture.
    pub arch: Option<String>,
    /// Checksum of the data, as the backend reports it (Glance `checksum`,
    /// an MD5; DCMGR `md5sum` on the older layout; TOAST v1.0 has none).
    pub checksum: Option<String>,
    /// The algorithm of [`Image::os_hash_value`] (Glance `os_hash_algo`,
    /// e.g. `sha512`).
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    /// Glance's multihash of the data (`os_hash_value`).
    #[serde(default)]
    pub os_hash_value: Option<String>,
    /// Whether the image is protected from deletion.
    pub protected: Option<bool>,
    /// Free-text description.
    pub description: Option<String>,
    /// Further backend properties, as strings.
    pub properties: Properties,
    /// Tags (Glance); empty where the backend has none.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The backend the image comes from.
    pub backend: BackendKind,
    /// The backend's own record, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeRecord>,
}

impl Image {
    /// A new image with the given id, backend and native status word, the
    /// unified status given, and every optional field empty.
    pub fn new(
        id: impl Into<ImageId>,
        backend: BackendKind,
        status: ImageStatus,
        native_status: impl Into<String>,
    ) -> Self {
        Image {
            id: id.into(),
            name: None,
            status,
            native_status: native_status.into(),
            visibility: None,
            owner: None,
            created_at: None,
            updated_at: None,
            size_bytes: None,
            min_disk_gb: None,
            min_ram_mb: None,
            disk_format: None,
            arch: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            protected: None,
            description: None,
            properties: Properties::new(),
            tags: Vec::new(),
            backend,
            native: None,
        }
    }

    /// Sets the name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the visibility (builder style).
    pub fn with_visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = Some(visibility);
        self
    }

    /// Sets the owner (builder style).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets the creation time (builder style).
    pub fn with_created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(at);
        self
    }

    /// Sets the protected flag (builder style).
    pub fn with_protected(mut self, protected: bool) -> Self {
        self.protected = Some(protected);
        self
    }

    /// Sets the size in bytes (builder style).
    pub fn with_size_bytes(mut self, size: u64) -> Self {
        self.size_bytes = Some(size);
        self
    }

    /// Sets the update time (builder style).
    pub fn with_updated_at(mut self, at: DateTime<Utc>) -> Self {
        self.updated_at = Some(at);
        self
    }

    /// Sets the checksum (builder style).
    pub fn with_checksum(mut self, checksum: impl Into<String>) -> Self {
        self.checksum = Some(checksum.into());
        self
    }

    /// Adds one tag (builder style).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds one property (builder style).
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glance_statuses_map_as_designed() {
        let cases = [
            ("queued", ImageStatus::Queued),
            ("saving", ImageStatus::Saving),
            ("uploading", ImageStatus::Saving),
            ("importing", ImageStatus::Saving),
            ("active", ImageStatus::Active),
            ("deactivated", ImageStatus::Deactivated),
            ("killed", ImageStatus::Failed),
            ("deleted", ImageStatus::Deleted),
            ("pending_delete", ImageStatus::Deleted),
            ("weird", ImageStatus::Unknown("weird".into())),
        ];
        for (word, want) in cases {
            assert_eq!(ImageStatus::from_glance(word), want, "{word}");
        }
    }

    #[test]
    fn status_serialises_as_unified_word_and_round_trips() {
        for s in [
            ImageStatus::Active,
            ImageStatus::Failed,
            ImageStatus::Deleted,
        ] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(text, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<ImageStatus>(&text).unwrap(), s);
        }
        let unknown = ImageStatus::Unknown("frozen".into());
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"unknown\"");
    }

    #[test]
    fn image_json_has_stable_field_names_and_nulls() {
        let img = Image::new("i-1", BackendKind::Memory, ImageStatus::Active, "active");
        let v = serde_json::to_value(&img).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "id",
            "name",
            "status",
            "native_status",
            "visibility",
            "owner",
            "created_at",
            "updated_at",
            "size_bytes",
            "min_disk_gb",
            "min_ram_mb",
            "disk_format",
            "arch",
            "checksum",
            "os_hash_algo",
            "os_hash_value",
            "protected",
            "description",
            "properties",
            "tags",
            "backend",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert!(v["name"].is_null());
        assert!(v.get("native").is_none());
    }
}

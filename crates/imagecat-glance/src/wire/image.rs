//! One Glance image object decoded in a single pass, straight into the
//! model: no `serde_json::Value` tree is built (the record's raw JSON text
//! is kept as its native record, parsed again only when asked).
//!
//! Strict as before: `id` and `status` are required, a field of the wrong
//! type is `InvalidResponse` naming it, and a key read twice in one object
//! is refused (the rule of [`imagecat_core::raw::lenient`]).

use imagecat_core::raw::compact_str::CompactString;
use imagecat_core::raw::de::{FromMap, deserialize_key};
use imagecat_core::raw::lenient::{self, Keys};
use imagecat_core::{Error, Image, ImageStatus, NativeRecord, Properties, Visibility};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess};
use serde_json::value::RawValue;

use crate::wire::{
    ARCH_PROPERTIES, BACKEND, BASE_FIELDS, DESCRIPTION_PROPERTY, invalid_document, parse_time,
};

/// Decodes one image from its raw JSON text, keeping the text as the native
/// record.
pub(crate) fn decode_image(raw: Box<RawValue>) -> Result<Image, Error> {
    let text = raw.get();
    let doc: Doc = serde_json::from_str(text)
        .map_err(|e| invalid_document("invalid image", text, &e).with_source(e))?;
    let wrong_time = |key: &str| {
        invalid_document(
            "invalid image",
            text,
            format!("field {key:?} is not an ISO 8601 timestamp"),
        )
    };
    let time = |key: &str, value: Option<CompactString>| match value {
        None => Ok(None),
        Some(t) => parse_time(&t).map(Some).ok_or_else(|| wrong_time(key)),
    };
    let id = doc
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid_document("invalid image", text, "no \"id\""))?;
    let Some(native_status) = doc.status else {
        let message = format!("image {id} has no \"status\"");
        return Err(invalid_document("invalid image", text, message));
    };
    let status = ImageStatus::from_glance(&native_status);
    let mut image = Image::new(id, BACKEND, status, native_status);
    image.name = doc.name;
    image.visibility = doc.visibility.as_deref().and_then(Visibility::parse);
    image.owner = doc.owner;
    image.created_at = time("created_at", doc.created_at)?;
    image.updated_at = time("updated_at", doc.updated_at)?;
    image.size_bytes = doc.size;
    image.min_disk_gb = doc.min_disk;
    image.min_ram_mb = doc.min_ram;
    image.disk_format = doc.disk_format;
    // The MD5 `checksum` and the multihash stay apart, so that a diff
    // never compares two algorithms.
    image.checksum = doc.checksum;
    image.os_hash_algo = doc.os_hash_algo;
    image.os_hash_value = doc.os_hash_value;
    image.tags = doc.tags.unwrap_or_default();
    image.protected = doc.protected;
    let mut properties = doc.properties;
    // NHN documents a `properties` object besides the flattened keys; a
    // flattened key wins.
    for (k, v) in doc.nested.iter() {
        properties.insert_new(k, v);
    }
    image.arch = ARCH_PROPERTIES
        .iter()
        .find_map(|k| properties.get(k))
        .map(str::to_owned);
    image.description = properties.get(DESCRIPTION_PROPERTY).map(str::to_owned);
    image.properties = properties;
    image.native = Some(NativeRecord::from_raw(raw));
    Ok(image)
}

/// The fields of one image as read, before the checks.
#[derive(Default)]
struct Doc {
    id: Option<String>,
    name: Option<String>,
    status: Option<String>,
    visibility: Option<CompactString>,
    owner: Option<String>,
    created_at: Option<CompactString>,
    updated_at: Option<CompactString>,
    size: Option<u64>,
    min_disk: Option<u64>,
    min_ram: Option<u64>,
    disk_format: Option<String>,
    checksum: Option<String>,
    os_hash_algo: Option<String>,
    os_hash_value: Option<String>,
    tags: Option<Vec<String>>,
    protected: Option<bool>,
    properties: Properties,
    nested: Properties,
}

/// The next value as `T`, or an error naming the field and the type wanted
/// (the page was valid JSON already: only a type can be wrong here).
fn typed<'de, A: MapAccess<'de>, T: DeserializeOwned>(
    map: &mut A,
    key: &str,
    want: &str,
) -> Result<T, A::Error> {
    map.next_value::<T>()
        .map_err(|_| de::Error::custom(format_args!("field {key:?} is not {want}")))
}

impl<'de> FromMap<'de> for Doc {
    const EXPECTING: &'static str = "a Glance image object";

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut doc = Doc::default();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Key>()? {
            let index = match key {
                Key::Base(index) => index,
                Key::Other(key) => {
                    let raw: &'de RawValue = map.next_value()?;
                    if key == "properties" && raw.get().starts_with('{') {
                        keys.field(63, &key)?;
                        doc.nested = nested(raw).map_err(de::Error::custom)?;
                        continue;
                    }
                    let text = property_text(raw).map_err(de::Error::custom)?;
                    lenient::property(&mut keys, &mut doc.properties, key, text)?;
                    continue;
                }
            };
            let key = BASE_FIELDS[index];
            keys.field(index as u32, key)?;
            let text = |map: &mut A| typed::<_, Option<String>>(map, key, "a string");
            // Parsed further, so held inline when short.
            let short = |map: &mut A| typed::<_, Option<CompactString>>(map, key, "a string");
            let count = |map: &mut A| {
                typed::<_, Option<u64>>(map, key, "a non-negative integer below 2^64")
            };
            match key {
                "id" => doc.id = text(&mut map)?,
                "name" => doc.name = text(&mut map)?,
                "status" => doc.status = text(&mut map)?,
                "visibility" => doc.visibility = short(&mut map)?,
                "owner" => doc.owner = text(&mut map)?,
                "created_at" => doc.created_at = short(&mut map)?,
                "updated_at" => doc.updated_at = short(&mut map)?,
                "disk_format" => doc.disk_format = text(&mut map)?,
                "checksum" => doc.checksum = text(&mut map)?,
                "os_hash_algo" => doc.os_hash_algo = text(&mut map)?,
                "os_hash_value" => doc.os_hash_value = text(&mut map)?,
                "size" => doc.size = count(&mut map)?,
                "min_disk" => doc.min_disk = count(&mut map)?,
                "min_ram" => doc.min_ram = count(&mut map)?,
                "protected" => doc.protected = typed(&mut map, key, "a boolean")?,
                "tags" => doc.tags = typed(&mut map, key, "an array of strings")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

imagecat_core::deserialize_from_map!(Doc);

/// A key of the image object: one of [`BASE_FIELDS`] (its index), or a
/// custom property (escaped keys are unescaped).
enum Key {
    Base(usize),
    Other(CompactString),
}

impl Key {
    /// The key as sent, classified.
    fn from_key(v: &str) -> Self {
        match BASE_FIELDS.iter().position(|f| *f == v) {
            Some(index) => Key::Base(index),
            None => Key::Other(CompactString::from(v)),
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_key(d, Key::from_key)
    }
}

/// The nested `properties` object, each value as [`property_text`]; a key
/// twice is refused as at the top level.
fn nested(raw: &RawValue) -> Result<Properties, serde_json::Error> {
    struct Nested(Properties);
    impl<'de> FromMap<'de> for Nested {
        const EXPECTING: &'static str = "an object of properties";

        fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
            let (mut out, mut keys) = (Properties::new(), Keys::default());
            while let Some(key) = map.next_key::<CompactString>()? {
                let raw: &'de RawValue = map.next_value()?;
                let text = property_text(raw).map_err(de::Error::custom)?;
                lenient::property(&mut keys, &mut out, key, text)?;
            }
            Ok(Nested(out))
        }
    }
    imagecat_core::deserialize_from_map!(Nested);
    serde_json::from_str::<Nested>(raw.get()).map(|n| n.0)
}

/// A custom property as text: strings as they are, numbers and booleans
/// printed, other JSON compact; `null` is no property.
fn property_text(raw: &RawValue) -> Result<Option<CompactString>, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes() {
        b"null" => Ok(None),
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
            // No escapes: the text between the quotes is the string.
            Ok(Some(CompactString::from(&text[1..text.len() - 1])))
        }
        [b'"', ..] => serde_json::from_str(text).map(Some),
        [b't' | b'f' | b'-' | b'0'..=b'9', ..] => Ok(Some(CompactString::from(text))),
        _ => serde_json::from_str::<serde_json::Value>(text).map(|v| Some(v.to_string().into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    fn decode(text: &str) -> Result<Image, Error> {
        decode_image(RawValue::from_string(text.to_owned()).unwrap())
    }

    /// Duplicate keys (issue 12): a key twice in one image (a field, an
    /// ignored schema field, a property, a nested property) is refused;
    /// never first or last wins.
    #[test]
    fn a_key_twice_in_one_image_is_refused() {
        let fine =
            decode(r#"{"id":"a","status":"active","x":"1","properties":{"x":"2","y":3}}"#).unwrap();
        assert_eq!(fine.properties["x"], "1");
        assert_eq!(fine.properties["y"], "3");
        for text in [
            r#"{"id":"a","status":"active","id":"b"}"#,
            r#"{"id":"a","status":"active","status":"deleted"}"#,
            r#"{"id":"a","status":"active","self":"/1","self":"/2"}"#,
            r#"{"id":"a","status":"active","x":"1","x":"2"}"#,
            r#"{"id":"a","status":"active","x":null,"x":"2"}"#,
            r#"{"id":"a","status":"active","properties":{"x":"1","x":"2"}}"#,
            r#"{"id":"a","status":"active","properties":{},"properties":{}}"#,
        ] {
            let e = decode(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{text}");
            assert!(e.to_string().starts_with("glance: "), "{e}");
            assert!(e.to_string().contains("duplicate"), "{e}");
        }
    }

    #[test]
    fn escaped_keys_and_values_are_unescaped() {
        let image = decode(
            r#"{"id":"a","st\u0061tus":"active","n\u0061me":"x\ty","k\"":"v\"","o":{"a": [1, 2]}}"#,
        )
        .unwrap();
        assert_eq!(image.native_status, "active");
        assert_eq!(image.name.as_deref(), Some("x\ty"));
        assert_eq!(image.properties["k\""], "v\"");
        assert_eq!(image.properties["o"], r#"{"a":[1,2]}"#);
    }
}

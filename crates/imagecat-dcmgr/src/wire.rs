//! The wire format of DCMGR: the index page in both layouts, one image
//! document in both layouts, and the error body, decoded leniently and fast.
//!
//! - index: a JSON array holding one object (12.03) or the bare object (the
//!   wiki's legacy layout); `results` or `result`; `total` or `owner_total`;
//! - image: the 24-key 12.03 document or the 13-key legacy one, whose
//!   `source` and `features` are YAML strings;
//! - error: `{"error", "message", "code"}` with `code` a string (a number is
//!   accepted too).
//!
//! Each element of `results` is kept as its raw JSON text (the native record)
//! and decoded by a hand-written map visitor: known keys into typed fields,
//! every other key into the string properties, without building a
//! `serde_json::Value` tree.

use std::fmt;

use chrono::{DateTime, Utc};
use imagecat_core::raw::compact_str::CompactString;
use imagecat_core::raw::de::{FromMap, deserialize_key};
use imagecat_core::raw::lenient::{
    self, LenientBool, LenientShortText, LenientText, LenientU64, parse_timestamp,
};
use imagecat_core::{BackendKind, Image, ImageStatus, NativeRecord, Properties, Visibility};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// One page of the index, whatever the layout.
#[derive(Debug)]
pub(crate) struct IndexPage {
    /// `total` (12.03) or `owner_total` (legacy), when present.
    pub(crate) total: Option<u64>,
    /// The echoed `start`, when present.
    pub(crate) start: Option<u64>,
    /// The images, each as its raw JSON text.
    pub(crate) results: Vec<Box<RawValue>>,
}

/// Decodes an index body: `[{…}]` or `{…}`.
pub(crate) fn decode_index(body: &[u8]) -> Result<IndexPage, String> {
    match first_byte(body) {
        Some(b'[') => {
            let mut objects: Vec<IndexObject> = serde_json::from_slice(body)
                .map_err(|e| format!("cannot decode the index: {e}"))?;
            if objects.len() != 1 {
                return Err(format!(
                    "expected an array holding one index object, got {} elements",
                    objects.len()
                ));
            }
            objects.remove(0).into_page()
        }
        Some(b'{') => serde_json::from_slice::<IndexObject>(body)
            .map_err(|e| format!("cannot decode the index: {e}"))?
            .into_page(),
        _ => Err("expected a JSON object, or an array holding one, as the index".to_owned()),
    }
}

pub(crate) fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// The index object as read, before checks.
#[derive(Default)]
struct IndexObject {
    total: Option<u64>,
    owner_total: Option<u64>,
    start: Option<u64>,
    results: Option<Vec<Box<RawValue>>>,
    result: Option<Vec<Box<RawValue>>>,
}

impl IndexObject {
    fn into_page(self) -> Result<IndexPage, String> {
        let results = self
            .results
            .or(self.result)
            .ok_or_else(|| "the index object has neither `results` nor `result`".to_owned())?;
        Ok(IndexPage {
            total: self.total.or(self.owner_total),
            start: self.start,
            results,
        })
    }
}

impl<'de> FromMap<'de> for IndexObject {
    const EXPECTING: &'static str = "a DCMGR index object";

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut out = IndexObject::default();
        while let Some(key) = map.next_key::<IndexKey>()? {
            match key {
                IndexKey::Total => out.total = map.next_value::<LenientU64>()?.0,
                IndexKey::OwnerTotal => {
                    out.owner_total = map.next_value::<LenientU64>()?.0;
                }
                IndexKey::Start => out.start = map.next_value::<LenientU64>()?.0,
                IndexKey::Results => out.results = map.next_value()?,
                IndexKey::Result => out.result = map.next_value()?,
                IndexKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

imagecat_core::deserialize_from_map!(IndexObject);

enum IndexKey {
    Total,
    OwnerTotal,
    Start,
    Results,
    Result,
    Other,
}

impl IndexKey {
    /// The key as sent, classified.
    fn from_key(v: &str) -> Self {
        match v {
            "total" => IndexKey::Total,
            "owner_total" => IndexKey::OwnerTotal,
            "start" => IndexKey::Start,
            "results" => IndexKey::Results,
            "result" => IndexKey::Result,
            _ => IndexKey::Other,
        }
    }
}

impl<'de> Deserialize<'de> for IndexKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_key(d, IndexKey::from_key)
    }
}

/// Decodes one image document (raw JSON text) into the unified model,
/// keeping the text as the native record.
pub(crate) fn decode_image(raw: Box<RawValue>) -> Result<Image, String> {
    let doc: Doc = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let mut image = doc.into_image()?;
    image.native = Some(NativeRecord::from_raw(raw));
    Ok(image)
}

/// Decodes a show body (one image object).
pub(crate) fn decode_show(body: &[u8]) -> Result<Image, String> {
    if first_byte(body) != Some(b'{') {
        return Err("expected a JSON object as the image".to_owned());
    }
    let raw: Box<RawValue> =
        serde_json::from_slice(body).map_err(|e| format!("cannot decode the image: {e}"))?;
    decode_image(raw)
}

/// Maps a DCMGR state word to the unified status.
///
/// | DCMGR | unified |
/// |---|---|
/// | init, pending | queued |
/// | creating | saving |
/// | available | active |
/// | deleted | deleted |
/// | anything else | unknown |
pub(crate) fn status_from_state(state: &str) -> ImageStatus {
    match state {
        "init" | "pending" => ImageStatus::Queued,
        "creating" => ImageStatus::Saving,
        "available" => ImageStatus::Active,
        "deleted" => ImageStatus::Deleted,
        other => ImageStatus::Unknown(other.to_owned()),
    }
}

/// One image document as read: the unified fields typed, the rest as
/// property strings.
#[derive(Default)]
struct Doc {
    id: Option<String>,
    display_name: Option<String>,
    account_id: Option<String>,
    state: Option<String>,
    file_format: Option<String>,
    md5sum: Option<String>,
    arch: Option<String>,
    description: Option<String>,
    is_public: Option<bool>,
    created_at: Option<CompactString>,
    updated_at: Option<CompactString>,
    properties: Properties,
}

impl Doc {
    fn into_image(self) -> Result<Image, String> {
        let id = non_empty(self.id).ok_or("an image has no `id`")?;
        let native = self.state.unwrap_or_default();
        let status = status_from_state(&native);
        let mut image = Image::new(id, BackendKind::Dcmgr, status, native);
        image.name = non_empty(self.display_name);
        image.visibility = self.is_public.map(|public| {
            if public {
                Visibility::Public
            } else {
                Visibility::Private
            }
        });
        image.owner = non_empty(self.account_id);
        image.disk_format = non_empty(self.file_format);
        image.checksum = non_empty(self.md5sum);
        image.arch = non_empty(self.arch);
        image.description = non_empty(self.description);
        image.created_at = time_field("created_at", self.created_at)?;
        image.updated_at = time_field("updated_at", self.updated_at)?;
        image.properties = self.properties;
        Ok(image)
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn time_field(name: &str, value: Option<CompactString>) -> Result<Option<DateTime<Utc>>, String> {
    match value.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => parse_timestamp(&text)
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not a timestamp: {text:?}")),
    }
}

impl<'de> FromMap<'de> for Doc {
    const EXPECTING: &'static str = "a DCMGR image object";

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        // A 12.03 document has 24 keys, the others are properties.
        let mut doc = Doc {
            properties: Properties::with_capacity(24 - DOC_KEYS.len()),
            ..Doc::default()
        };
        let mut keys = lenient::Keys::default();
        while let Some(key) = map.next_key::<DocKey>()? {
            if let Some(index) = key.index() {
                keys.field(index, key.name())?;
            }
            match key {
                DocKey::Id => doc.id = map.next_value::<LenientText>()?.0,
                DocKey::Uuid => {
                    map.next_value::<IgnoredAny>()?;
                }
                DocKey::DisplayName => {
                    doc.display_name = map.next_value::<LenientText>()?.0;
                }
                DocKey::AccountId => {
                    doc.account_id = map.next_value::<LenientText>()?.0;
                }
                DocKey::State => doc.state = map.next_value::<LenientText>()?.0,
                DocKey::FileFormat => {
                    doc.file_format = map.next_value::<LenientText>()?.0;
                }
                DocKey::Md5sum => doc.md5sum = map.next_value::<LenientText>()?.0,
                DocKey::Arch => doc.arch = map.next_value::<LenientText>()?.0,
                DocKey::Description => {
                    doc.description = map.next_value::<LenientText>()?.0;
                }
                DocKey::IsPublic => doc.is_public = map.next_value::<LenientBool>()?.0,
                DocKey::CreatedAt => {
                    doc.created_at = map.next_value::<LenientShortText>()?.0;
                }
                DocKey::UpdatedAt => {
                    doc.updated_at = map.next_value::<LenientShortText>()?.0;
                }
                DocKey::Other(name) => {
                    let raw: &RawValue = map.next_value()?;
                    let text = property_text(raw).map_err(de::Error::custom)?;
                    lenient::property(&mut keys, &mut doc.properties, name, text)?;
                }
            }
        }
        Ok(doc)
    }
}

imagecat_core::deserialize_from_map!(Doc);

enum DocKey {
    Id,
    Uuid,
    DisplayName,
    AccountId,
    State,
    FileFormat,
    Md5sum,
    Arch,
    Description,
    IsPublic,
    CreatedAt,
    UpdatedAt,
    Other(CompactString),
}

/// The schema keys, in [`DocKey`] order (their index is the bit in
/// [`lenient::Keys`]).
const DOC_KEYS: [&str; 12] = [
    "id",
    "uuid",
    "display_name",
    "account_id",
    "state",
    "file_format",
    "md5sum",
    "arch",
    "description",
    "is_public",
    "created_at",
    "updated_at",
];

impl DocKey {
    /// The schema key's index in [`DOC_KEYS`]; `None` for a property.
    fn index(&self) -> Option<u32> {
        Some(match self {
            DocKey::Id => 0,
            DocKey::Uuid => 1,
            DocKey::DisplayName => 2,
            DocKey::AccountId => 3,
            DocKey::State => 4,
            DocKey::FileFormat => 5,
            DocKey::Md5sum => 6,
            DocKey::Arch => 7,
            DocKey::Description => 8,
            DocKey::IsPublic => 9,
            DocKey::CreatedAt => 10,
            DocKey::UpdatedAt => 11,
            DocKey::Other(_) => return None,
        })
    }

    /// The key as sent.
    fn name(&self) -> &str {
        match self {
            DocKey::Other(name) => name,
            known => known.index().map_or("", |i| DOC_KEYS[i as usize]),
        }
    }
}

impl DocKey {
    /// The key as sent, classified.
    fn from_key(v: &str) -> Self {
        match v {
            "id" => DocKey::Id,
            "uuid" => DocKey::Uuid,
            "display_name" => DocKey::DisplayName,
            "account_id" => DocKey::AccountId,
            "state" => DocKey::State,
            "file_format" => DocKey::FileFormat,
            "md5sum" => DocKey::Md5sum,
            "arch" => DocKey::Arch,
            "description" => DocKey::Description,
            "is_public" => DocKey::IsPublic,
            "created_at" => DocKey::CreatedAt,
            "updated_at" => DocKey::UpdatedAt,
            other => DocKey::Other(CompactString::from(other)),
        }
    }
}

impl<'de> Deserialize<'de> for DocKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_key(d, DocKey::from_key)
    }
}

/// The property text of a value: a string as-is, `null` as absent, anything
/// else as compact JSON text.
fn property_text(raw: &RawValue) -> Result<Option<CompactString>, serde_json::Error> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        None | Some(b'n') => Ok(None),
        Some(b'"') => {
            if text.contains('\\') {
                serde_json::from_str::<CompactString>(text).map(Some)
            } else {
                Ok(Some(CompactString::from(&text[1..text.len() - 1])))
            }
        }
        Some(b'[' | b'{') => Ok(Some(minify(text).into())),
        Some(_) => Ok(Some(CompactString::from(text))),
    }
}

/// Removes the whitespace outside strings from valid JSON text, keeping the
/// key order and every byte inside strings.
fn minify(text: &str) -> String {
    if !text
        .bytes()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// Decodes a destroy body: a JSON array of id strings (`["wmi-…"]`).
pub(crate) fn decode_destroyed(body: &[u8]) -> Result<Vec<String>, String> {
    struct Ids(Vec<String>);
    impl<'de> Deserialize<'de> for Ids {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ids;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an array of ids")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ids, A::Error> {
                    let mut ids = Vec::new();
                    while let Some(id) = seq.next_element::<LenientText>()? {
                        ids.extend(id.0);
                    }
                    Ok(Ids(ids))
                }
            }
            d.deserialize_seq(V)
        }
    }
    serde_json::from_slice::<Ids>(body)
        .map(|ids| ids.0)
        .map_err(|e| format!("expected an array of ids as the destroy answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        let want = utc(2015, 4, 8, 7, 6, 20);
        for text in [
            "2015-04-08T07:06:20Z",
            "2015-04-08T07:06:20.000Z",
            "2015-04-08T07:06:20+00:00",
            "2015-04-08T16:06:20+09:00",
            "2015-04-08 07:06:20 UTC",
            "2015-04-08 07:06:20.000000000 Z",
            "2015-04-08 07:06:20 +0000",
            "2015-04-08 16:06:20 +0900",
            "2015-04-08 16:06:20 +09:00",
            "2015-04-08T07:06:20",
            "2015-04-08 07:06:20",
            " 2015-04-08T07:06:20Z ",
        ] {
            assert_eq!(parse_timestamp(text), Some(want), "{text}");
        }
        for bad in [
            "",
            "yesterday",
            "2015-13-08T07:06:20Z",
            "2015-04-08",
            "2015-04-08T25:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn states_map_as_designed() {
        for (word, want) in [
            ("init", ImageStatus::Queued),
            ("pending", ImageStatus::Queued),
            ("creating", ImageStatus::Saving),
            ("available", ImageStatus::Active),
            ("deleted", ImageStatus::Deleted),
            ("frozen", ImageStatus::Unknown("frozen".into())),
            ("", ImageStatus::Unknown(String::new())),
        ] {
            assert_eq!(status_from_state(word), want, "{word}");
        }
    }

    #[test]
    fn index_in_every_layout() {
        let bodies = [
            r#"[{"total":3,"start":0,"limit":2,"results":[{"id":"wmi-a"},{"id":"wmi-b"}]}]"#,
            r#"{"total":3,"start":0,"limit":2,"results":[{"id":"wmi-a"},{"id":"wmi-b"}]}"#,
            r#"{"owner_total":3,"start":0,"limit":null,"result":[{"id":"wmi-a"},{"id":"wmi-b"}]}"#,
            r#"[{"owner_total":"3","start":"0","limit":"2","results":[{"id":"wmi-a"},{"id":"wmi-b"}]}]"#,
            " \n [ { \"result\" : [ {\"id\":\"wmi-a\"} , {\"id\":\"wmi-b\"} ] , \"owner_total\" : 3 , \"start\":0 } ] ",
        ];
        for body in bodies {
            let page = decode_index(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(page.total, Some(3), "{body}");
            assert_eq!(page.start, Some(0), "{body}");
            assert_eq!(page.results.len(), 2, "{body}");
            assert_eq!(page.results[1].get(), r#"{"id":"wmi-b"}"#);
        }
        let no_total = decode_index(br#"{"results":[]}"#).unwrap();
        assert_eq!(no_total.total, None);
        assert!(no_total.results.is_empty());
    }

    #[test]
    fn bad_index_bodies_are_errors() {
        for body in [
            "",
            "null",
            "<h1>Not Found</h1>",
            "[]",
            "[{\"results\":[]},{\"results\":[]}]",
            "{\"unexpected\":{\"shape\":[1,2,3]}}",
            "{\"total\":-1,\"results\":[]}",
            "{\"total\":1.5,\"results\":[]}",
            "{\"total\":\"many\",\"results\":[]}",
            "{\"results\":{\"id\":\"wmi-a\"}}",
            "{\"results\":null}",
            "[{\"total\":3,\"results\":[",
            "\"text\"",
        ] {
            assert!(decode_index(body.as_bytes()).is_err(), "{body:?}");
        }
    }

    #[test]
    fn lenient_types() {
        let doc = r#"{"id":"wmi-x","is_public":1,"display_name":42,"state":"available",
            "boot_dev_type":"2","is_cacheable":0,"description":null,"arch":null,
            "account_id":"a-x","created_at":null,"updated_at":"","md5sum":""}"#;
        let image = decode_image(raw(doc)).unwrap();
        assert_eq!(image.visibility, Some(Visibility::Public));
        assert_eq!(image.name.as_deref(), Some("42"));
        assert_eq!(image.description, None);
        assert_eq!(image.arch, None);
        assert_eq!(image.created_at, None);
        assert_eq!(image.updated_at, None);
        assert_eq!(image.checksum, None);
        assert_eq!(image.properties["boot_dev_type"], "2");
        assert_eq!(image.properties["is_cacheable"], "0");
        for (value, want) in [
            ("true", Some(Visibility::Public)),
            ("false", Some(Visibility::Private)),
            ("0", Some(Visibility::Private)),
            ("\"true\"", Some(Visibility::Public)),
            ("\"0\"", Some(Visibility::Private)),
            ("null", None),
        ] {
            let doc = format!(r#"{{"id":"wmi-x","is_public":{value}}}"#);
            assert_eq!(decode_image(raw(&doc)).unwrap().visibility, want, "{value}");
        }
        for bad in ["2", "\"yes\"", "[]", "{}"] {
            let doc = format!(r#"{{"id":"wmi-x","is_public":{bad}}}"#);
            assert!(decode_image(raw(&doc)).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_documents_are_errors_not_panics() {
        for doc in [
            r#"{}"#,
            r#"{"id":null}"#,
            r#"{"id":""}"#,
            r#"{"id":["wmi-x"]}"#,
            r#"{"id":"wmi-x","created_at":"later"}"#,
            r#"{"id":"wmi-x","state":{"word":"available"}}"#,
            r#"[]"#,
            r#""wmi-x""#,
        ] {
            assert!(decode_image(raw(doc)).is_err(), "{doc}");
        }
        assert!(decode_show(b"").is_err());
        assert!(decode_show(b"[{\"id\":\"wmi-x\"}]").is_err());
        assert!(decode_show(b"{\"id\":\"wmi-x\"").is_err());
    }

    #[test]
    fn properties_are_strings_or_compact_json() {
        let doc = r#"{
            "id": "wmi-x",
            "features": { "virtio": true, "note": "a  b" },
            "labels": [ ],
            "os_type": "lin\"ux",
            "root_device": null,
            "volumes": [{"backup_object_id": "bo-1"}],
            "size": 1.5,
            "source": "---\n:uri: http://x/y.raw.gz\n:type: http\n"
        }"#;
        let image = decode_image(raw(doc)).unwrap();
        let p = &image.properties;
        assert_eq!(p["features"], r#"{"virtio":true,"note":"a  b"}"#);
        assert_eq!(p["labels"], "[]");
        assert_eq!(p["os_type"], "lin\"ux");
        assert_eq!(p["volumes"], r#"[{"backup_object_id":"bo-1"}]"#);
        assert_eq!(p["size"], "1.5");
        assert_eq!(p["source"], "---\n:uri: http://x/y.raw.gz\n:type: http\n");
        assert!(!p.contains_key("root_device"));
        assert!(!p.contains_key("id"));
        assert_eq!(image.native.as_ref().unwrap().as_str(), doc);
    }

    #[test]
    fn destroy_bodies() {
        assert_eq!(
            decode_destroyed(br#"["wmi-4yalh576"]"#).unwrap(),
            ["wmi-4yalh576"]
        );
        assert!(decode_destroyed(b"{}").is_err());
        assert!(decode_destroyed(b"").is_err());
    }
}

//! The wire format of `images.list` and `images.get`: a `compute#imageList`
//! page and `compute#image` documents, decoded straight into the model.
//!
//! The mapping (docs/backends/gce.md will carry it):
//!
//! | model | GCE | rule |
//! |---|---|---|
//! | `id` | `selfLink` | `projects/{project}/global/images/{name}` ([`IdRule::GcePath`]): names are unique in a project and immutable, every API call and every disk reference names images this way, and a name without its project is ambiguous across projects; the numeric `id` (a new one when a name is reused) is the property `gce.id` |
//! | `name` | `name` | must be the name in `selfLink` |
//! | `status` | `status`, `deprecated.state` | `READY` active, `PENDING` queued, `FAILED` failed, `DELETING` deleted; a `READY` image that is `deprecated.state` `OBSOLETE` is deactivated, `DELETED` deleted (`DEPRECATED` and `ACTIVE` stay active); any other word unknown |
//! | `native_status` | `status` | the server's word |
//! | `owner` | the project of `selfLink` | |
//! | `created_at` | `creationTimestamp` | RFC 3339 with its offset, to UTC |
//! | `size_bytes` | `archiveSizeBytes` | int64 as a JSON string (or a number) |
//! | `min_disk_gb` | `diskSizeGb` | likewise |
//! | `arch` | `architecture` | `X86_64` x86_64, `ARM64` aarch64, `ARCHITECTURE_UNSPECIFIED` none, others as sent |
//! | `description` | `description` | none when empty |
//! | `properties` | | `gce.id`, `family`, `deprecated.state`, `deprecated.replacement` (as a canonical path when it is one), `deprecated.deprecated`/`.obsolete`/`.deleted`, `storage_locations` (comma-joined), `label_fingerprint`, `self_link`, `source_disk`, `source_image`, `source_snapshot`, and `label.{key}` per label |
//! | `native` | the image object | verbatim |
//!
//! A list answer must say `"kind": "compute#imageList"` (Google's always
//! does): a 200 of any other shape is refused rather than read as an
//! empty last page, which would end a listing early in silence.
//!
//! Visibility stays unknown (it needs the IAM policy or the public-project
//! list, not in this document). A page is `{items?, nextPageToken?}`:
//! `items` may be absent (an empty page), `nextPageToken` absent or empty
//! on the last page, and the token is opaque, carried as
//! [`PageToken::Link`] (the engine's marker semantics do not apply).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use imagecat_core::raw::{Page, PageToken};
use imagecat_core::raw::{compact_str, lenient};
use imagecat_core::{Error, IdRule, Image, ImageStatus, NativeRecord, Properties, Result};
use imagecat_http::HttpResponse;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::BACKEND;

/// The largest list body decoded (a full page of 500 images is a few MB).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListWire<'a> {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// One `compute#image`; the text fields borrow from the page where they
/// hold no escape (most do), so decoding copies each once, into the model.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageWire<'a> {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    id: Option<String>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    self_link: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    family: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    archive_size_bytes: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    disk_size_gb: Option<u64>,
    #[serde(default, borrow)]
    architecture: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::properties")]
    labels: Properties,
    #[serde(default, borrow)]
    label_fingerprint: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    storage_locations: Option<Vec<Cow<'a, str>>>,
    /// Read as an object only (see [`object`]).
    #[serde(default, borrow)]
    deprecated: Option<&'a RawValue>,
    #[serde(default, borrow)]
    source_disk: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    source_image: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    source_snapshot: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeprecationWire {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    deprecated: Option<String>,
    #[serde(default)]
    obsolete: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
}

/// Decodes a list answer into a page of images and the next page's token;
/// `project`, when the caller knows it, names an image that has no
/// `selfLink` (a partial response).
pub(crate) fn decode_list(response: &HttpResponse, project: Option<&str>) -> Result<Page<Image>> {
    if response.body.len() > MAX_BODY_BYTES {
        return Err(response.invalid(format!(
            "the list answer is {} bytes, over the {MAX_BODY_BYTES}-byte limit",
            response.body.len()
        )));
    }
    // serde's derive also takes a struct from an array of its fields
    if response.body.trim_ascii_start().first() != Some(&b'{') {
        return Err(response.invalid("the image list is not a JSON object"));
    }
    let wire: ListWire<'_> = serde_json::from_slice(&response.body)
        .map_err(|e| response.invalid(format!("cannot decode the image list: {e}")))?;
    // Every list answer names its kind; a 200 of another shape (a proxy's,
    // a broken server's) would otherwise read as an empty last page and
    // end the listing early without an error.
    if wire.kind.as_deref() != Some("compute#imageList") {
        return Err(response.invalid(match wire.kind.as_deref() {
            Some(kind) => format!("the answer is a {kind:?}, not a compute#imageList"),
            None => "the answer has no kind: it is not a compute#imageList".to_owned(),
        }));
    }
    let images = wire
        .items
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            decode_image(raw, project).map_err(|e| e.map_message(|m| format!("image #{i}: {m}")))
        })
        .collect::<Result<Vec<_>>>()
        .map_err(|e| response.attach(e))?;
    let next = wire
        .next_page_token
        .filter(|t| !t.is_empty())
        .map(PageToken::Link);
    Ok(Page::new(images, next))
}

/// Decodes the answer of `images.get` (or `getFromFamily`).
pub(crate) fn decode_show(response: &HttpResponse, project: Option<&str>) -> Result<Image> {
    let raw: &RawValue = serde_json::from_slice(&response.body)
        .map_err(|e| response.invalid(format!("cannot decode the image: {e}")))?;
    decode_image(raw, project).map_err(|e| response.attach(e))
}

/// A document that must be a JSON object (serde's derive would also take
/// an array of the fields in order).
fn object<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> std::result::Result<T, String> {
    if !raw.get().starts_with('{') {
        return Err("not a JSON object".to_owned());
    }
    serde_json::from_str(raw.get()).map_err(|e| e.to_string())
}

fn invalid(raw: &RawValue, message: impl std::fmt::Display) -> Error {
    Error::invalid_response(
        BACKEND,
        None,
        None,
        message,
        imagecat_http::snippet(raw.get().as_bytes()),
    )
}

/// One `compute#image` object into the model, its text kept as the native
/// record. The id comes from `selfLink`; without one, from `project` and
/// `name` when the caller knows the project, else the image is refused.
pub(crate) fn decode_image(raw: &RawValue, project: Option<&str>) -> Result<Image> {
    let wire: ImageWire = object(raw).map_err(|e| invalid(raw, format!("cannot decode: {e}")))?;
    let self_link = wire.self_link.as_deref().filter(|l| !l.is_empty());
    let id = match (self_link, project, wire.name.as_deref()) {
        (Some(link), _, _) => IdRule::GcePath
            .canonical(link)
            .ok_or_else(|| invalid(raw, format!("the selfLink {link:?} is not an image path")))?,
        (None, Some(project), Some(name)) => IdRule::GcePath
            .canonical(&format!("projects/{project}/global/images/{name}"))
            .ok_or_else(|| invalid(raw, format!("{name:?} is not an image name")))?,
        (None, _, _) => {
            return Err(invalid(
                raw,
                "the image has no selfLink (and no name in a known project)",
            ));
        }
    };
    let (project, link_name) = split_path(id.as_str());
    let name = wire.name.as_deref().unwrap_or(link_name);
    if name != link_name {
        return Err(invalid(
            raw,
            format!("the image is named {name:?} but its selfLink names {link_name:?}"),
        ));
    }
    let native = wire
        .status
        .as_deref()
        .ok_or_else(|| invalid(raw, "the image has no status"))?;
    let deprecated: Option<DeprecationWire> = match wire.deprecated {
        Some(text) => Some(object(text).map_err(|e| invalid(raw, format!("deprecated: {e}")))?),
        None => None,
    };
    let deprecation = deprecated.as_ref().and_then(|d| d.state.as_deref());
    let (name, project) = (name.to_owned(), project.to_owned());
    let mut image = Image::new(id, BACKEND, unified_status(native, deprecation), native)
        .with_name(name)
        .with_owner(project);
    image.created_at = wire.creation_timestamp;
    image.size_bytes = wire.archive_size_bytes;
    image.min_disk_gb = wire.disk_size_gb;
    image.arch = wire.architecture.as_deref().and_then(arch);
    image.description = wire
        .description
        .filter(|d| !d.is_empty())
        .map(Cow::into_owned);
    // sized once: the fields below, the deprecation's five, the labels
    image.properties = Properties::with_capacity(13 + wire.labels.len());
    let props = &mut image.properties;
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            props.insert(key, value);
        }
    };
    put("gce.id", wire.id.as_deref());
    put("family", wire.family.as_deref());
    put("self_link", self_link);
    put("label_fingerprint", wire.label_fingerprint.as_deref());
    put(
        "storage_locations",
        wire.storage_locations.map(|l| l.join(",")).as_deref(),
    );
    put("source_disk", wire.source_disk.as_deref());
    put("source_image", wire.source_image.as_deref());
    put("source_snapshot", wire.source_snapshot.as_deref());
    if let Some(d) = deprecated {
        put("deprecated.state", d.state.as_deref());
        let replacement = d.replacement.map(|r| {
            IdRule::GcePath
                .canonical(&r)
                .map_or(r, |id| id.as_str().to_owned())
        });
        put("deprecated.replacement", replacement.as_deref());
        put("deprecated.deprecated", d.deprecated.as_deref());
        put("deprecated.obsolete", d.obsolete.as_deref());
        put("deprecated.deleted", d.deleted.as_deref());
    }
    for (key, value) in wire.labels.iter() {
        props.insert(compact_str::format_compact!("label.{key}"), value);
    }
    image.native = Some(NativeRecord::from_raw(raw.to_owned()));
    Ok(image)
}

/// The project and name of a canonical `projects/{p}/global/images/{n}`.
fn split_path(path: &str) -> (&str, &str) {
    let rest = path.strip_prefix("projects/").unwrap_or(path);
    let (project, rest) = rest.split_once('/').unwrap_or((rest, ""));
    (project, rest.rsplit('/').next().unwrap_or_default())
}

/// The unified status of an image's `status` and `deprecated.state`.
pub fn unified_status(native: &str, deprecation: Option<&str>) -> ImageStatus {
    match native {
        "READY" => match deprecation {
            None | Some("" | "ACTIVE" | "DEPRECATED") => ImageStatus::Active,
            Some("OBSOLETE") => ImageStatus::Deactivated,
            Some("DELETED") => ImageStatus::Deleted,
            Some(other) => ImageStatus::Unknown(other.to_owned()),
        },
        "PENDING" => ImageStatus::Queued,
        "FAILED" => ImageStatus::Failed,
        "DELETING" => ImageStatus::Deleted,
        other => ImageStatus::Unknown(other.to_owned()),
    }
}

fn arch(word: &str) -> Option<String> {
    match word {
        "" | "ARCHITECTURE_UNSPECIFIED" => None,
        "X86_64" => Some("x86_64".to_owned()),
        "ARM64" => Some("aarch64".to_owned()),
        other => Some(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_self_link_the_known_project_names_the_image() {
        let body = br#"{"kind":"compute#imageList","items":[{"name":"a","status":"READY"}]}"#;
        let response = HttpResponse::from_body(BACKEND, 200, body.to_vec());
        let page = decode_list(&response, Some("p1")).unwrap();
        assert_eq!(page.items[0].id.as_str(), "projects/p1/global/images/a");
        assert_eq!(page.items[0].properties.get("self_link"), None);
        assert!(decode_list(&response, None).is_err());
        // the self link wins over the project asked for
        let body = br#"{"kind":"compute#imageList","items":[{"name":"a","status":"READY","selfLink":"projects/p2/global/images/a"}]}"#;
        let response = HttpResponse::from_body(BACKEND, 200, body.to_vec());
        let page = decode_list(&response, Some("p1")).unwrap();
        assert_eq!(page.items[0].owner.as_deref(), Some("p2"));
        let bad = br#"{"kind":"compute#imageList","items":[{"name":"A","status":"READY"}]}"#;
        let response = HttpResponse::from_body(BACKEND, 200, bad.to_vec());
        assert!(decode_list(&response, Some("p1")).is_err());
    }
}

//! `DescribeImagesResponse` → `Page<Image>`.
//!
//! | EC2 (XML element) | imagecat |
//! |---|---|
//! | `imageId` (required) | `id` |
//! | `name`, `description` | `name`, `description` |
//! | `imageState` | `status` by [`image_status`], `native_status` as sent |
//! | `imageOwnerId` | `owner` |
//! | `isPublic` | `visibility`: `true` public, `false` private |
//! | `creationDate` | `created_at` |
//! | `architecture` | `arch` (and the property) |
//! | `blockDeviceMapping/item/ebs/volumeSize` (GiB) | `size_bytes`: their sum in bytes; `None` when no mapping has a size (instance-store AMIs) |
//! | `deregistrationProtection` | `protected`: `enabled…` true, `disabled` false, else unknown |
//! | `tagSet/item/{key,value}` | `tags` ← each key; `properties` `tag:KEY` ← its value |
//! | the scalars in [`PROPERTIES`] | `properties` under their EC2 names |
//! | the whole `item` | `native`, as JSON (below) |
//!
//! Tags: EC2's tags are key/value pairs; `tags` holds their keys (as EC2's
//! `tag-key` filter sees them) and `properties` `tag:KEY` their values (as
//! EC2's `tag:KEY` filter does), so `--tag K` and `--property tag:K=V` can
//! both go to the server.
//!
//! The native record is the item as JSON under the XML names: a leaf is
//! its text, a wrapper of `item`s (`…Set`, `blockDeviceMapping`,
//! `productCodes`) an array, anything else an object; an element repeated
//! where one was expected becomes an array of its values, never dropped.
//!
//! Lenient where servers differ: any namespace, any element order, booleans
//! in any case or as `0`/`1`, timestamps with or without fraction and zone,
//! `<nextToken/>` or an empty one as the last page. Strict where two readers
//! could disagree: a field imagecat reads given twice, a size or flag that is
//! not one, a date that is not one → `InvalidResponse`.

use std::collections::BTreeMap;

use imagecat_core::raw::lenient::parse_timestamp;
use imagecat_core::raw::{Page, PageToken};
use imagecat_core::{Error, Image, ImageStatus, NativeRecord, Visibility};
use serde_json::{Map, Value};

use super::xml::{self, Element, XmlError};
use crate::config::BACKEND;

/// The scalar `Image` fields kept as properties, under their XML names.
pub const PROPERTIES: &[&str] = &[
    "architecture",
    "imageType",
    "platform",
    "platformDetails",
    "usageOperation",
    "rootDeviceType",
    "rootDeviceName",
    "virtualizationType",
    "hypervisor",
    "bootMode",
    "tpmSupport",
    "imdsSupport",
    "enaSupport",
    "sriovNetSupport",
    "imageOwnerAlias",
    "imageLocation",
    "kernelId",
    "ramdiskId",
    "deprecationTime",
    "deregistrationProtection",
    "lastLaunchedTime",
    "sourceInstanceId",
    "sourceImageId",
    "sourceImageRegion",
    "imageAllowed",
    "freeTierEligible",
    "publicSsmParameterName",
];

const GIB: u64 = 1024 * 1024 * 1024;

/// EC2's `imageState` in the unified status:
///
/// | EC2 | unified |
/// |---|---|
/// | pending | queued |
/// | transient | saving |
/// | available | active |
/// | disabled | deactivated |
/// | failed, invalid, error | failed |
/// | deregistered | deleted |
/// | anything else | unknown (the word kept) |
pub fn image_status(native: &str) -> ImageStatus {
    match native {
        "pending" => ImageStatus::Queued,
        "transient" => ImageStatus::Saving,
        "available" => ImageStatus::Active,
        "disabled" => ImageStatus::Deactivated,
        "failed" | "invalid" | "error" => ImageStatus::Failed,
        "deregistered" => ImageStatus::Deleted,
        other => ImageStatus::Unknown(other.to_owned()),
    }
}

/// Decodes a DescribeImages answer: its images in the server's order and
/// `nextToken` as [`PageToken::Link`] (absent or empty: the last page).
/// Anything else (not XML, another document, a bad field) is an
/// `InvalidResponse` naming the backend, with the start of the body.
pub fn decode_describe_images(body: &[u8]) -> Result<Page<Image>, Error> {
    let invalid = |message: String| {
        Error::invalid_response(BACKEND, None, None, message, imagecat_http::snippet(body))
    };
    let root = xml::parse(body).map_err(|e| invalid(format!("cannot read DescribeImages: {e}")))?;
    if root.name != "DescribeImagesResponse" {
        return Err(invalid(format!(
            "expected <DescribeImagesResponse>, got <{}>",
            root.name
        )));
    }
    let decode = || -> Result<Page<Image>, XmlError> {
        let mut items = Vec::new();
        if let Some(set) = root.one("imagesSet")? {
            items.reserve(set.children.len());
            for (index, item) in set.children.iter().enumerate() {
                if item.name != "item" {
                    continue;
                }
                items.push(image(item).map_err(|e| XmlError::new(format!("image #{index}: {e}")))?);
            }
        }
        let next = root
            .text_of("nextToken")?
            .filter(|t| !t.is_empty())
            .map(|t| PageToken::Link(t.to_owned()));
        Ok(Page::new(items, next))
    };
    decode().map_err(|e| invalid(format!("cannot decode DescribeImages: {e}")))
}

/// One `imagesSet/item`.
fn image(item: &Element) -> Result<Image, XmlError> {
    let id = item
        .text_of("imageId")?
        .filter(|id| !id.is_empty())
        .ok_or_else(|| XmlError::new("no <imageId>"))?;
    let native_status = item.text_of("imageState")?.unwrap_or("");
    let mut image = Image::new(id, BACKEND, image_status(native_status), native_status);
    image.name = non_empty(item.text_of("name")?);
    image.description = non_empty(item.text_of("description")?);
    image.owner = non_empty(item.text_of("imageOwnerId")?);
    image.arch = non_empty(item.text_of("architecture")?);
    image.visibility = match item.text_of("isPublic")? {
        None | Some("") => None,
        Some(text) => Some(if boolean("isPublic", text)? {
            Visibility::Public
        } else {
            Visibility::Private
        }),
    };
    image.created_at = match item.text_of("creationDate")? {
        None | Some("") => None,
        Some(text) => Some(
            parse_timestamp(text)
                .ok_or_else(|| XmlError::new(format!("<creationDate> {text:?} is not a time")))?,
        ),
    };
    image.protected = match item.text_of("deregistrationProtection")? {
        Some(text) if text.starts_with("enabled") => Some(true),
        Some("disabled") => Some(false),
        _ => None,
    };
    image.size_bytes = size(item)?;
    for &key in PROPERTIES {
        if let Some(value) = non_empty(item.text_of(key)?) {
            image.properties.insert(key, value);
        }
    }
    if let Some(tags) = item.one("tagSet")? {
        for tag in tags.all("item") {
            let key = tag
                .text_of("key")?
                .ok_or_else(|| XmlError::new("a tag without <key>"))?;
            let value = tag.text_of("value")?.unwrap_or("");
            let property = format!("tag:{key}");
            if image.properties.contains_key(&property) {
                return Err(XmlError::new(format!("the tag {key:?} is given twice")));
            }
            image.properties.insert(property, value);
            image.tags.push(key.to_owned());
        }
    }
    image.native = Some(NativeRecord::from_value(&to_json(item)));
    Ok(image)
}

/// The sum of the EBS volume sizes (GiB) in bytes; `None` when no mapping
/// gives one.
fn size(item: &Element) -> Result<Option<u64>, XmlError> {
    let Some(mappings) = item.one("blockDeviceMapping")? else {
        return Ok(None);
    };
    let mut total: Option<u64> = None;
    for mapping in mappings.all("item") {
        let Some(ebs) = mapping.one("ebs")? else {
            continue;
        };
        let Some(text) = ebs.text_of("volumeSize")?.filter(|t| !t.is_empty()) else {
            continue;
        };
        let gib: u64 = text
            .parse()
            .map_err(|_| XmlError::new(format!("<volumeSize> {text:?} is not a size in GiB")))?;
        total = Some(
            gib.checked_mul(GIB)
                .and_then(|bytes| bytes.checked_add(total.unwrap_or(0)))
                .ok_or_else(|| XmlError::new(format!("<volumeSize> {text} overflows")))?,
        );
    }
    Ok(total)
}

/// EC2 sends `true`/`false`; any case and `0`/`1` are accepted too.
fn boolean(name: &str, text: &str) -> Result<bool, XmlError> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(XmlError::new(format!("<{name}> {text:?} is not a boolean"))),
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Whether an element is a list wrapper by EC2's naming.
fn is_list(element: &Element) -> bool {
    element.name.ends_with("Set")
        || matches!(element.name.as_str(), "blockDeviceMapping" | "productCodes")
        || (!element.children.is_empty()
            && element
                .children
                .iter()
                .all(|c| c.name == "item" || c.name == "member"))
}

/// An element as JSON (the native record's shape, above).
pub(crate) fn to_json(element: &Element) -> Value {
    if is_list(element) {
        return Value::Array(element.children.iter().map(to_json).collect());
    }
    if element.children.is_empty() {
        return Value::String(element.text.clone());
    }
    let mut grouped: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for child in &element.children {
        grouped.entry(&child.name).or_default().push(to_json(child));
    }
    let object: Map<String, Value> = grouped
        .into_iter()
        .map(|(name, mut values)| {
            let value = if values.len() == 1 {
                values.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(values)
            };
            (name.to_owned(), value)
        })
        .collect();
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_maps_as_designed() {
        for (word, want) in [
            ("pending", ImageStatus::Queued),
            ("transient", ImageStatus::Saving),
            ("available", ImageStatus::Active),
            ("disabled", ImageStatus::Deactivated),
            ("failed", ImageStatus::Failed),
            ("invalid", ImageStatus::Failed),
            ("error", ImageStatus::Failed),
            ("deregistered", ImageStatus::Deleted),
            ("frozen", ImageStatus::Unknown("frozen".into())),
            ("Available", ImageStatus::Unknown("Available".into())),
        ] {
            assert_eq!(image_status(word), want, "{word}");
        }
    }
}

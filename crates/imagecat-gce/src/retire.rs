//! Retire on GCE: `images.deprecate` to `OBSOLETE` (the default: new disks
//! and instances from the image are refused) or `DEPRECATED` (still
//! launchable, with a `DEPRECATED_RESOURCE_USED` warning; gcloud's
//! `images list` hides it), naming the family's newest image as the
//! `replacement` (a full image URL), with the retired-at time in the label
//! `imagecat-retired-at` (seconds since the epoch: label values allow only
//! `[a-z0-9_-]`). Restore: `deprecate` with state `ACTIVE` (which clears
//! the deprecation), then the label removed.
//!
//! Labels are written by `setLabels`, which replaces the whole set and is
//! conditional on the `labelFingerprint` read with the image: the image is
//! read, its labels changed, and on a 412 (`conditionNotMet`: someone
//! relabelled it in between) read and written once more. Both calls answer
//! an Operation, waited for as a delete's is.
//!
//! Who may (Compute IAM): `compute.images.deprecate` and
//! `compute.images.setLabels` (with `compute.images.get`), all three in
//! `roles/compute.storageAdmin` and `roles/compute.admin`.

use std::collections::BTreeMap;

use imagecat_core::raw::PageSource as _;
use imagecat_core::retire::{
    Blocks, InEffect, RetireMethod, RetireRequest, RetireStamp, RetireSupport, StampFormat,
};
use imagecat_core::{IdRule, Image, ImageId, Result};
use imagecat_http::Idempotency;
use serde_json::json;

use crate::error;
use crate::source::{GceSource, decode_operation, project_and_name};

/// The label holding the retired-at time (seconds since the epoch).
pub const RETIRED_AT_LABEL: &str = "imagecat-retired-at";

/// The same label as the model's properties carry it (`label.{key}`).
const STAMP_KEY: &str = "label.imagecat-retired-at";

/// The who-may text of both methods.
const WHO: &str = "a principal with compute.images.deprecate, compute.images.setLabels and \
                   compute.images.get on the project (roles/compute.storageAdmin, roles/compute.admin)";

/// The undo text of both methods.
const UNDO: &str = "POST images/{name}/deprecate {\"state\":\"ACTIVE\"} (clears the deprecation), \
                    then setLabels without imagecat-retired-at";

/// What retiring means on GCE: the two deprecation states that retire,
/// the stamp as a label, replacements named.
pub(crate) const SUPPORT: RetireSupport = RetireSupport::new(
    &[
        RetireMethod::new(
            "obsolete",
            "setLabels imagecat-retired-at (with the labelFingerprint), then POST \
             images/{name}/deprecate {\"state\":\"OBSOLETE\",\"replacement\":<the family's newest>}",
            Blocks::Everyone,
            WHO,
            UNDO,
            InEffect::Property {
                key: "deprecated.state",
                value: "OBSOLETE",
            },
        ),
        RetireMethod::new(
            "deprecated",
            "setLabels imagecat-retired-at (with the labelFingerprint), then POST \
             images/{name}/deprecate {\"state\":\"DEPRECATED\",\"replacement\":<the family's newest>} \
             (launches still allowed, with a warning)",
            Blocks::No,
            WHO,
            UNDO,
            InEffect::Property {
                key: "deprecated.state",
                value: "DEPRECATED",
            },
        ),
    ],
    RetireStamp::new(STAMP_KEY, StampFormat::UnixSeconds),
)
.replacement(true);

/// The deprecation state a method sets.
fn state_of(method: &RetireMethod) -> &'static str {
    match method.name {
        "deprecated" => "DEPRECATED",
        _ => "OBSOLETE",
    }
}

/// Stamps the retired-at label, then deprecates with the replacement.
pub(crate) async fn retire(
    source: &GceSource,
    id: &ImageId,
    request: &RetireRequest,
) -> Result<()> {
    let wanted = source.writable(id, "retired")?;
    let value = SUPPORT.stamp.write(request.at);
    let image = source.get(&wanted).await?;
    set_labels(source, &wanted, image, |labels| {
        labels.insert(RETIRED_AT_LABEL.to_owned(), value.clone()) != Some(value.clone())
    })
    .await?;
    let state = state_of(request.method);
    let at = request
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut body = json!({ "state": state });
    // the informational time of the state set now
    body[state.to_ascii_lowercase()] = at.into();
    if let Some(r) = &request.replacement {
        body["replacement"] = replacement_url(source, r)?.into();
    }
    deprecate(source, &wanted, &body).await
}

/// Clears the deprecation, then removes the label (each only when the
/// image carries it).
pub(crate) async fn restore(source: &GceSource, id: &ImageId) -> Result<()> {
    let wanted = source.writable(id, "restored")?;
    let image = source.get(&wanted).await?;
    if image.properties.contains_key("deprecated.state") {
        deprecate(source, &wanted, &json!({ "state": "ACTIVE" })).await?;
    }
    if image.properties.contains_key(STAMP_KEY) {
        set_labels(source, &wanted, image, |labels| {
            labels.remove(RETIRED_AT_LABEL).is_some()
        })
        .await?;
    }
    Ok(())
}

/// The full URL GCE wants for a replacement, from its canonical path (a
/// bare name is in this catalog's project).
fn replacement_url(source: &GceSource, id: &ImageId) -> Result<String> {
    let path = source.check_id(id)?;
    debug_assert!(IdRule::GcePath.canonical(path.as_str()).is_some());
    let (project, name) = project_and_name(&path);
    Ok(source
        .url(&["projects", project, "global", "images", name])?
        .to_string())
}

/// `POST …/images/{name}/deprecate` with a `DeprecationStatus`, the
/// Operation waited for. Setting a state is idempotent.
async fn deprecate(source: &GceSource, wanted: &ImageId, body: &serde_json::Value) -> Result<()> {
    let (project, name) = project_and_name(wanted);
    let url = source.url(&["projects", project, "global", "images", name, "deprecate"])?;
    let state = source
        .authed_json(
            "deprecate image",
            Idempotency::Idempotent,
            &url,
            body,
            |response| {
                if !response.status.is_success() {
                    return Err(error::decode_error(&response));
                }
                decode_operation(&response, wanted, "deprecate")
            },
        )
        .await?;
    source.finish("deprecate", project, state, wanted).await
}

/// The labels of an image, as read (`label.{key}` properties).
fn labels_of(image: &Image) -> BTreeMap<String, String> {
    image
        .properties
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("label.")
                .map(|k| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// `POST …/images/{name}/setLabels` with `image`'s labels as `change`
/// leaves them and its fingerprint; nothing when `change` says nothing
/// changed. On a 412 (the labels changed since they were read) the image
/// is read again and the write sent once more. A resend of the same
/// conditional write is safe: if the first applied, it is refused 412.
async fn set_labels(
    source: &GceSource,
    wanted: &ImageId,
    mut image: Image,
    change: impl Fn(&mut BTreeMap<String, String>) -> bool,
) -> Result<()> {
    let (project, name) = project_and_name(wanted);
    let url = source.url(&["projects", project, "global", "images", name, "setLabels"])?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut labels = labels_of(&image);
        if !change(&mut labels) {
            return Ok(());
        }
        let fingerprint = image
            .properties
            .get("label_fingerprint")
            .unwrap_or_default()
            .to_owned();
        let body = json!({ "labels": labels, "labelFingerprint": fingerprint });
        let sent = source
            .authed_json(
                "set image labels",
                Idempotency::Idempotent,
                &url,
                &body,
                |response| {
                    if !response.status.is_success() {
                        return Err(error::decode_error(&response));
                    }
                    decode_operation(&response, wanted, "setLabels")
                },
            )
            .await;
        match sent {
            Ok(state) => return source.finish("setLabels", project, state, wanted).await,
            Err(e) if e.status() == Some(412) && attempt == 1 => {
                image = source.get(wanted).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_methods_say_what_they_set_and_the_stamp_is_a_legal_label_value() {
        let obsolete = SUPPORT.method(crate::BACKEND, None).unwrap();
        assert_eq!(state_of(obsolete), "OBSOLETE");
        assert_eq!(obsolete.blocks_launches, Blocks::Everyone);
        let deprecated = SUPPORT.method(crate::BACKEND, Some("deprecated")).unwrap();
        assert_eq!(state_of(deprecated), "DEPRECATED");
        assert_eq!(deprecated.blocks_launches, Blocks::No);
        assert!(SUPPORT.replacement && SUPPORT.last_launched.is_none());
        let value = SUPPORT.stamp.write("2026-12-07T15:33:00Z".parse().unwrap());
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
            "{value}"
        );
        assert_eq!(STAMP_KEY, format!("label.{RETIRED_AT_LABEL}"));
    }
}

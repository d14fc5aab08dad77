//! Retire on Glance: deactivate, with the retired-at time in the image
//! property `imagecat_retired_at`; restore: reactivate and remove it.
//!
//! Who may (glance/policies/image.py, glance 33): `deactivate` and
//! `reactivate` are `ADMIN_OR_PROJECT_MEMBER` (an admin, or a member of
//! the image's owning project); with the legacy defaults
//! (`enforce_new_defaults = false`) `check_is_image_mutable` also holds:
//! an admin or the owner. Launches: Nova refuses to boot an image that is
//! not `active` (`ImageNotActive`), and Glance serves a deactivated
//! image's data to admins only.
//!
//! Not built: retire by hiding (`os_hidden`). Glance leaves hidden images
//! out of every listing unless asked `os_hidden=true`, which lists only
//! hidden ones; the planner would need a second listing per scan.

use imagecat_core::raw::PageSource as _;
use imagecat_core::retire::{
    Blocks, InEffect, RetireMethod, RetireRequest, RetireStamp, RetireSupport, StampFormat,
};
use imagecat_core::{ImageId, ImageStatus, Result};
use imagecat_http::reqwest::Method;
use imagecat_http::{Idempotency, canonical_uuid};
use serde_json::json;

use crate::config::BACKEND;
use crate::error;
use crate::source::{GlanceSource, image_url};

/// The property holding the retired-at time (RFC 3339, UTC).
pub const RETIRED_AT: &str = "imagecat_retired_at";

/// What retiring means on Glance.
pub(crate) const SUPPORT: RetireSupport = RetireSupport::new(
    &[RetireMethod::new(
        "deactivate",
        "PATCH the property imagecat_retired_at, then POST /v2/images/{id}/actions/deactivate (status deactivated)",
        Blocks::Everyone,
        "an admin, or a member of the image's owning project (policy deactivate: ADMIN_OR_PROJECT_MEMBER; legacy defaults: admin or owner)",
        "POST /v2/images/{id}/actions/reactivate, then PATCH to remove imagecat_retired_at",
        InEffect::Deactivated,
    )],
    RetireStamp::new(RETIRED_AT, StampFormat::Rfc3339),
);

/// The media type of Glance's JSON patch.
const PATCH_TYPE: &str = "application/openstack-images-v2.1-json-patch";

/// Stamps the retired-at time, then deactivates.
pub(crate) async fn retire(
    source: &GlanceSource,
    id: &ImageId,
    request: &RetireRequest,
) -> Result<()> {
    let wanted = canonical_uuid(BACKEND, id)?;
    let value = SUPPORT.stamp.write(request.at);
    let ops = json!([{"op": "add", "path": format!("/{RETIRED_AT}"), "value": value}]);
    patch(source, &wanted, &ops, "stamp retired image").await?;
    action(source, &wanted, "deactivate").await
}

/// Reactivates a deactivated image, then removes the stamp (each only
/// when needed).
pub(crate) async fn restore(source: &GlanceSource, id: &ImageId) -> Result<()> {
    let wanted = canonical_uuid(BACKEND, id)?;
    let image = source.get(id).await?;
    if image.status == ImageStatus::Deactivated {
        action(source, &wanted, "reactivate").await?;
    }
    if image.properties.contains_key(RETIRED_AT) {
        let ops = json!([{"op": "remove", "path": format!("/{RETIRED_AT}")}]);
        patch(source, &wanted, &ops, "unstamp restored image").await?;
    }
    Ok(())
}

/// `PATCH {base}/v2/images/{id}` with a JSON patch; 200.
async fn patch(source: &GlanceSource, id: &str, ops: &serde_json::Value, what: &str) -> Result<()> {
    let body = serde_json::to_vec(ops).unwrap_or_default();
    source
        .auth()
        .send_body(
            source.http(),
            what,
            Idempotency::Idempotent,
            Method::PATCH,
            Some((PATCH_TYPE, &body)),
            |token| image_url(&source.base_for(token)?, id),
            |response, _| {
                if response.status.is_success() {
                    Ok(())
                } else {
                    Err(error::decode_error(&response))
                }
            },
        )
        .await
}

/// `POST {base}/v2/images/{id}/actions/{action}`; 204. Both actions are
/// no-ops on an image already in their target status, so a retry is safe.
async fn action(source: &GlanceSource, id: &str, action: &str) -> Result<()> {
    source
        .auth()
        .send(
            source.http(),
            &format!("{action} image"),
            Idempotency::Idempotent,
            Method::POST,
            |token| {
                imagecat_http::endpoint::join_segments(
                    BACKEND,
                    &source.base_for(token)?,
                    &["v2", "images", id, "actions", action],
                )
            },
            |response, _| {
                if response.status.is_success() {
                    Ok(())
                } else {
                    Err(error::decode_error(&response))
                }
            },
        )
        .await
}

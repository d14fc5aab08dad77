//! Glance's image actions (glance/api/v2/image_actions.py, checked against
//! glance 33): `POST {base}/v2/images/{id}/actions/deactivate` and
//! `…/reactivate`, 204 with no body.
//!
//! - an image the caller cannot see: 404 `No image found with ID …`;
//! - who may: an admin, or the image's owning project (the legacy
//!   defaults' `check_is_image_mutable`, 403 `You do not own this image`;
//!   the new defaults' `ADMIN_OR_PROJECT_MEMBER` admits the same callers
//!   here, whose tokens carry `member`);
//! - deactivate: `active` becomes `deactivated`, a `deactivated` image is
//!   left as it is (no update); any other status is 403
//!   `Not allowed to deactivate image in status '…'`; reactivate the
//!   other way round.

use super::*;

/// `POST …/actions/deactivate`.
pub(super) async fn deactivate_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    image_action(&emu, &id, &headers, "deactivate", "active", "deactivated")
}

/// `POST …/actions/reactivate`.
pub(super) async fn reactivate_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    image_action(&emu, &id, &headers, "reactivate", "deactivated", "active")
}

/// One action: from `from` to `to`; already `to` is a no-op.
fn image_action(
    emu: &Emu,
    id: &str,
    headers: &HeaderMap,
    action: &str,
    from: &str,
    to: &str,
) -> Response {
    let (mut state, caller) = or_answer!(begin_image_request(emu, headers));
    let Some(image) = emu.find_visible(&state, id, &caller) else {
        return webob_error(headers, 404, &format!("No image found with ID {id}"));
    };
    if !caller.owns(&image) {
        return webob_error(headers, 403, "You do not own this image");
    }
    if image.status == to {
        return no_content();
    }
    if image.status != from {
        let message = format!("Not allowed to {action} image in status '{}'", image.status);
        return webob_error(headers, 403, &message);
    }
    emu.modify(&mut state, id, |img| {
        img.status = to.to_owned();
        img.updated_at = Utc::now();
    });
    no_content()
}

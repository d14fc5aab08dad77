//! Glance's project model: who a token stands for, and what that caller
//! may list, show, delete and use as a marker (`is_image_visible` in
//! `glance/db/utils.py`, `_select_images_query` in
//! `glance/db/sqlalchemy/api.py`).

use super::*;

/// A refusal to answer as is (boxed: a response is large).
pub(super) type Refused = Box<Response>;

/// Who a token stands for: a member of a project, or an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlanceCaller {
    /// The token's project (`None`: no project, as Glance's unauthenticated context).
    pub project: Option<String>,
    /// Whether the token carries the admin role (sees and changes every image).
    pub admin: bool,
}

impl GlanceCaller {
    /// A member (no admin role) of `project`.
    pub fn member(project: impl Into<String>) -> Self {
        GlanceCaller {
            project: Some(project.into()),
            admin: false,
        }
    }

    /// An admin whose token is scoped to `project`.
    pub fn admin(project: impl Into<String>) -> Self {
        GlanceCaller {
            project: Some(project.into()),
            admin: true,
        }
    }

    /// Whether this caller may change `image` (admin or owner).
    pub(super) fn owns(&self, image: &GlanceImage) -> bool {
        self.admin || (self.project.is_some() && image.owner == self.project)
    }
}

/// One image membership (`/v2/images/{id}/members`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) status: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl Emu {
    /// The caller the static token and unchecked requests stand for: an
    /// admin of the configured project.
    pub(super) fn operator(&self) -> GlanceCaller {
        GlanceCaller {
            project: self.config.project_id.clone(),
            admin: true,
        }
    }

    /// Who the request's token stands for, or the 401 to answer.
    pub(super) fn caller(
        &self,
        state: &Store,
        headers: &HeaderMap,
    ) -> Result<GlanceCaller, Refused> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some((_, caller)) = self.config.project_tokens.iter().find(|(t, _)| t == token) {
            return Ok(caller.clone());
        }
        match self.check_auth(state, headers) {
            // A Keystone-issued token: its user's project and roles.
            None => Ok(state
                .token_callers
                .get(token)
                .cloned()
                .unwrap_or_else(|| self.operator())),
            Some(refused) => Err(Box::new(refused)),
        }
    }

    /// The status of `project`'s membership of image `id`.
    pub(super) fn membership<'a>(
        &self,
        state: &'a Store,
        id: &str,
        project: Option<&str>,
    ) -> Option<&'a Member> {
        state.members.get(id)?.get(project?)
    }

    /// `is_image_visible`: admin, no owner, public or community, owned, or
    /// shared with the caller (any membership status).
    pub(super) fn visible(
        &self,
        state: &Store,
        image: &GlanceImage,
        caller: &GlanceCaller,
    ) -> bool {
        caller.admin
            || image.owner.is_none()
            || matches!(image.visibility.as_str(), "public" | "community")
            || caller.project.is_some() && image.owner == caller.project
            || image.visibility == "shared"
                && self
                    .membership(state, &image.id, caller.project.as_deref())
                    .is_some()
    }

    /// Whether a listing with these filters serves `image`: the filters,
    /// then for a non-admin only public, community, owned and shared images
    /// whose membership has the asked `member_status` (default `accepted`).
    pub(super) fn lists(&self, state: &Store, image: &GlanceImage, filters: &Filters) -> bool {
        let operator;
        let caller = match &filters.caller {
            Some(c) => c,
            None => {
                operator = self.operator();
                &operator
            }
        };
        if !filters.matches(image, caller.project.as_deref()) {
            return false;
        }
        if caller.admin
            || matches!(image.visibility.as_str(), "public" | "community")
            || caller.project.is_some() && image.owner == caller.project
        {
            return true;
        }
        let wanted = filters.member_status.as_deref().unwrap_or("accepted");
        image.visibility == "shared"
            && self
                .membership(state, &image.id, caller.project.as_deref())
                .is_some_and(|m| wanted == "all" || m.status == wanted)
    }

    /// The sort key of the image a listing's marker names, or Glance's
    /// answer: 400 when there is none (or it is deleted, unless the caller
    /// is an admin: `can_show_deleted`), 403 when the caller may not see it.
    pub(super) fn marker(
        &self,
        state: &Store,
        headers: &HeaderMap,
        id: &str,
        caller: &GlanceCaller,
    ) -> Result<Key, Refused> {
        let Some(image) = self.find(state, id) else {
            return match state.tombstones.get(id).cloned() {
                Some(key) if caller.admin => Ok(key),
                _ => Err(Box::new(webob_error(
                    headers,
                    400,
                    &format!("No image found with ID {id}"),
                ))),
            };
        };
        if !self.visible(state, &image, caller) {
            return Err(Box::new(webob_error(
                headers,
                403,
                &format!("Forbidding request, image {id} not visible"),
            )));
        }
        Ok(image.key())
    }

    /// The image `id` if this caller may see it.
    pub(super) fn find_visible(
        &self,
        state: &Store,
        id: &str,
        caller: &GlanceCaller,
    ) -> Option<GlanceImage> {
        self.find(state, id)
            .filter(|image| self.visible(state, image, caller))
    }
}

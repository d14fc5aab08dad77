//! The marker rules: dropping the marker image from a page after it
//! ([`MarkerRule`]), and resuming before a marker that vanished during the
//! listing.

use super::{Cursor, Engine};
use crate::catalog::{MarkerRule, PageToken};
use crate::paging::pager::{Chunk, Pager};

/// The most recent page: the token that fetched it and its ids, in order,
/// the fallbacks when its last id (the next marker) vanishes.
#[derive(Default)]
pub(super) struct LastPage {
    pub(super) token: Option<PageToken>,
    pub(super) ids: Vec<String>,
}

/// How many times one listing may resume after a vanished marker.
const MAX_RESUMES: u32 = 16;

impl<P: Pager> Engine<P> {
    /// Drops the marker image from the head of a page fetched after it, as
    /// the backend's [`MarkerRule`] says; `None` when the page held only the
    /// marker on the first detection (to be asked again with one image more).
    pub(super) fn drop_marker(
        &mut self,
        token: Option<&PageToken>,
        mut page: Chunk<P::Item>,
    ) -> Option<Chunk<P::Item>> {
        let Some(PageToken::Marker(marker)) = token else {
            return Some(page);
        };
        if self.rule == MarkerRule::Exclusive
            || page.items.first().is_none_or(|i| P::id(i) != marker)
        {
            return Some(page);
        }
        page.items.remove(0);
        let first_time = !self.inclusive;
        if first_time {
            tracing::debug!(backend = %self.backend, "the server includes the marker image in the next page");
            self.inclusive = true;
        }
        if first_time && page.items.is_empty() && page.next.is_some() {
            return None;
        }
        Some(page)
    }

    /// Moves the cursor to the image before `marker` on the last page (or to
    /// the token of that page), if the resume budget allows.
    pub(super) fn resume_before(&mut self, marker: &str) -> bool {
        if self.resumes >= MAX_RESUMES {
            return false;
        }
        let ids = &mut self.last_page.ids;
        let Some(at) = ids.iter().position(|id| id == marker) else {
            return false;
        };
        ids.truncate(at);
        let resume = match ids.last() {
            Some(previous) => Some(PageToken::Marker(previous.clone())),
            None => self.last_page.token.clone(),
        };
        self.resumes += 1;
        tracing::debug!(backend = %self.backend, marker, resume = ?resume, "marker vanished; resuming");
        self.cursor = match resume {
            Some(token) => Cursor::At(token),
            None => Cursor::First,
        };
        true
    }
}

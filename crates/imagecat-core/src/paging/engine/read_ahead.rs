//! Read-ahead: for offset paging with a known total, up to `read_ahead`
//! pages in flight, dropped when the plan stops matching the server
//! (another `next`, a changed total, a shrunk total).

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::{Cursor, Engine};
use crate::catalog::PageToken;
use crate::error::Result;
use crate::paging::pager::{Chunk, Pager};

/// A spawned page fetch, aborted when dropped.
pub(super) struct Fetch<T> {
    pub(super) token: PageToken,
    pub(super) handle: JoinHandle<Result<Chunk<T>>>,
}

impl<T> Drop for Fetch<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl<P: Pager> Engine<P> {
    /// Whether `page` reports another total than the page before it; if so,
    /// read-ahead stops for the rest of the listing.
    pub(super) fn catalog_changed(&mut self, page: &Chunk<P::Item>) -> bool {
        let changed =
            matches!((page.total, self.total), (Some(now), Some(before)) if now != before);
        if changed && !self.sequential {
            tracing::debug!(backend = %self.backend, before = ?self.total, now = ?page.total, "the catalog changed during the listing; reading on without read-ahead");
            self.sequential = true;
            self.pending.clear();
        }
        changed
    }

    /// Where to read on when an offset page ends the listing short of the
    /// larger total an earlier page reported: the pages contradict each
    /// other, so the smaller total is not trusted and paging goes on until
    /// an empty page. `None` when the end agrees with every total seen.
    pub(super) fn past_a_shrunk_total(
        &self,
        token: Option<&PageToken>,
        on_page: usize,
    ) -> Option<PageToken> {
        let Some(PageToken::Offset(from)) = token else {
            return None;
        };
        let end = from.checked_add(on_page as u64)?;
        if on_page == 0 || end >= self.largest_total {
            return None;
        }
        tracing::debug!(backend = %self.backend, end, before = self.largest_total, now = ?self.total, "the total shrank; reading on until an empty page");
        Some(PageToken::Offset(end))
    }

    /// Fetches nothing more: the cursor is done and the fetches in flight
    /// are dropped.
    pub(super) fn finish_fetching(&mut self) {
        self.cursor = Cursor::Done;
        self.pending.clear();
    }

    /// Keeps up to `read_ahead` offset pages in flight, starting at the cursor.
    pub(super) fn plan_read_ahead(&mut self) {
        let (Cursor::At(PageToken::Offset(at)), Some(total), Some(step)) =
            (&self.cursor, self.total, self.step)
        else {
            self.pending.clear();
            return;
        };
        if self.options.read_ahead <= 1 || self.sequential {
            self.pending.clear();
            return;
        }
        let at = *at;
        if self
            .pending
            .front()
            .is_some_and(|f| f.token != PageToken::Offset(at))
        {
            self.pending.clear();
        }
        let mut planned = match self.pending.back() {
            Some(Fetch {
                token: PageToken::Offset(last),
                ..
            }) => last + step,
            _ => at,
        };
        let mut budget = self.options.max_pages.saturating_sub(self.pages);
        if let Some(limit) = self.limit {
            // Never speculate past the pages the limit can still need.
            let wanted = limit.saturating_sub(self.yielded + self.buffer.len() as u64);
            budget = budget.min(wanted.div_ceil(step.max(1)));
        }
        while self.pending.len() < self.options.read_ahead
            && planned < total
            && (self.pending.len() as u64) < budget
        {
            let token = PageToken::Offset(planned);
            let handle = tokio::spawn(Arc::clone(&self.pager).fetch(Some(token.clone()), false));
            self.pending.push_back(Fetch { token, handle });
            planned += step;
        }
    }
}

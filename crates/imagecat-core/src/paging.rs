//! The pagination engine: turns an adapter's `list_page` into the lazy
//! [`ImageStream`] every backend returns from `list`.
//!
//! Written once, here, so every backend gets the same guarantees:
//! - nothing is sent before the first poll, and nothing after the stream is
//!   dropped or `limit` images were yielded;
//! - it ends with an error, never a loop, on an empty or repeated token, an
//!   offset that does not advance, a page with no new image, or more pages
//!   than the ceiling;
//! - an id already yielded by this listing is dropped;
//! - every [`ListQuery`] filter is applied on the client, whatever the server did;
//! - when a marker vanished during the listing ([`Error::StaleMarker`]), it
//!   resumes from the image before it on the last page, a bounded number of
//!   times (an image deleted during a listing cannot end it);
//! - for offset paging with a known total, up to `read_ahead` pages are
//!   fetched concurrently and yielded in order; a page whose `next` does not
//!   match the plan (a short page, a shrinking catalog) cancels the
//!   speculative fetches and paging resumes from what the server said.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::catalog::{ImageCatalog, ImageStream, Page, PageToken};
use crate::error::{Error, Result};
#[cfg(test)]
use crate::model::ImageId;
use crate::model::{BackendKind, Image};
use crate::query::ListQuery;

/// Tuning of the pagination engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PagingOptions {
    /// Pages fetched concurrently ahead of the consumer for offset paging
    /// with a known total (1 disables read-ahead). Default 8.
    pub read_ahead: usize,
    /// The most pages one listing may fetch before it fails. Default 100,000.
    pub max_pages: u64,
}

impl Default for PagingOptions {
    fn default() -> Self {
        PagingOptions {
            read_ahead: 8,
            max_pages: 100_000,
        }
    }
}

impl PagingOptions {
    /// Sets the read-ahead depth (at least 1).
    pub fn read_ahead(mut self, pages: usize) -> Self {
        self.read_ahead = pages.max(1);
        self
    }

    /// Sets the page ceiling.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages;
        self
    }
}

/// Turns `source.list_page` into the lazy, checked, filtered stream of a
/// listing. Adapters call this from [`ImageCatalog::list`].
pub fn paginate(
    source: Arc<dyn ImageCatalog>,
    query: ListQuery,
    options: PagingOptions,
) -> ImageStream {
    let backend = source.info().backend;
    let engine = Engine {
        source,
        backend,
        query: Arc::new(query),
        options,
        buffer: VecDeque::new(),
        cursor: Cursor::First,
        seen_ids: HashSet::new(),
        seen_tokens: HashSet::new(),
        hasher: RandomState::new(),
        pages: 0,
        yielded: 0,
        total: None,
        step: None,
        pending: VecDeque::new(),
        last_page: LastPage::default(),
        resumes: 0,
    };
    futures::stream::unfold(engine, |mut engine| async move {
        engine.next_item().await.map(|item| (item, engine))
    })
    .boxed()
}

/// Where the listing stands.
#[derive(Debug, Clone, PartialEq)]
enum Cursor {
    /// The first page is still to be fetched.
    First,
    /// This page is the next to fetch.
    At(PageToken),
    /// No further page.
    Done,
}

/// The most recent page: the token that fetched it and its ids, in order,
/// the fallbacks when its last id (the next marker) vanishes.
#[derive(Default)]
struct LastPage {
    token: Option<PageToken>,
    ids: Vec<String>,
}

/// How many times one listing may resume after a vanished marker.
const MAX_RESUMES: u32 = 16;

/// A spawned page fetch, aborted when dropped.
struct Fetch {
    token: PageToken,
    handle: JoinHandle<Result<Page>>,
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

struct Engine {
    source: Arc<dyn ImageCatalog>,
    backend: BackendKind,
    query: Arc<ListQuery>,
    options: PagingOptions,
    buffer: VecDeque<Image>,
    cursor: Cursor,
    /// Hashes of the ids yielded so far (64-bit, randomly keyed per listing).
    seen_ids: HashSet<u64>,
    seen_tokens: HashSet<u64>,
    hasher: RandomState,
    pages: u64,
    yielded: u64,
    total: Option<u64>,
    /// The offset advance of a full page, learnt from the first page.
    step: Option<u64>,
    /// Speculative fetches, in offset order; the front is for `cursor`.
    pending: VecDeque<Fetch>,
    last_page: LastPage,
    resumes: u32,
}

impl Engine {
    async fn next_item(&mut self) -> Option<Result<Image>> {
        loop {
            if self.query.limit.is_some_and(|limit| self.yielded >= limit) {
                self.finish();
                return None;
            }
            if let Some(image) = self.buffer.pop_front() {
                self.yielded += 1;
                return Some(Ok(image));
            }
            let token = match &self.cursor {
                Cursor::Done => return None,
                Cursor::First => None,
                Cursor::At(token) => Some(token.clone()),
            };
            let page = match self.fetch(token.clone()).await {
                Ok(page) => page,
                Err(Error::StaleMarker { marker, .. }) if self.resume_before(&marker) => continue,
                Err(e) => {
                    self.finish();
                    return Some(Err(e));
                }
            };
            if let Err(e) = self.accept(token, page) {
                self.finish();
                return Some(Err(e));
            }
        }
    }

    /// Moves the cursor to the image before `marker` on the last page (or to
    /// the token of that page), if the resume budget allows.
    fn resume_before(&mut self, marker: &str) -> bool {
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

    fn finish(&mut self) {
        self.cursor = Cursor::Done;
        self.pending.clear();
        self.buffer.clear();
    }

    async fn fetch(&mut self, token: Option<PageToken>) -> Result<Page> {
        self.pages += 1;
        if self.pages > self.options.max_pages {
            return Err(Error::paging(
                self.backend,
                format!(
                    "listing stopped at the page ceiling of {} pages; raise PagingOptions::max_pages if the catalog is that large",
                    self.options.max_pages
                ),
            ));
        }
        let planned = self
            .pending
            .front()
            .is_some_and(|f| Some(&f.token) == token.as_ref());
        if planned {
            if let Some(mut fetch) = self.pending.pop_front() {
                return match (&mut fetch.handle).await {
                    Ok(result) => result,
                    Err(e) => Err(Error::Transport {
                        backend: self.backend,
                        message: format!("page fetch task failed: {e}"),
                        source: None,
                    }),
                };
            }
        }
        self.pending.clear();
        tracing::debug!(backend = %self.backend, page = self.pages, token = ?token, "fetching page");
        self.source.list_page(&self.query, token).await
    }

    /// Checks a page against everything seen so far, buffers its new
    /// matching images and moves the cursor.
    fn accept(&mut self, token: Option<PageToken>, page: Page) -> Result<()> {
        let Page {
            images,
            next,
            total,
        } = page;
        tracing::debug!(backend = %self.backend, images = images.len(), next = ?next, total = ?total, "page received");
        if total.is_some() {
            self.total = total;
        }
        let on_page = images.len();
        let mut fresh = 0usize;
        if matches!(next, Some(PageToken::Marker(_))) {
            self.last_page.token = token.clone();
            self.last_page.ids.clear();
            self.last_page
                .ids
                .extend(images.iter().map(|i| i.id.as_str().to_owned()));
        }
        for image in images {
            if self
                .seen_ids
                .insert(self.hasher.hash_one(image.id.as_str()))
            {
                fresh += 1;
                if self.query.matches(&image) {
                    self.buffer.push_back(image);
                }
            }
        }
        let Some(next) = next else {
            self.finish_fetching();
            return Ok(());
        };
        if next.is_empty() {
            return Err(Error::paging(
                self.backend,
                "the server returned an empty next-page token",
            ));
        }
        if !self.seen_tokens.insert(self.hasher.hash_one(&next)) {
            return Err(Error::paging(
                self.backend,
                format!("the server returned {next} twice; stopping instead of looping"),
            ));
        }
        if on_page > 0 && fresh == 0 {
            return Err(Error::paging(
                self.backend,
                format!(
                    "a page of {on_page} images brought no new image; stopping instead of looping"
                ),
            ));
        }
        if let PageToken::Offset(to) = next {
            let from = match token {
                Some(PageToken::Offset(from)) => from,
                _ => 0,
            };
            if to <= from {
                return Err(Error::paging(
                    self.backend,
                    format!("the page at offset {from} made no progress (next offset {to})"),
                ));
            }
            self.step.get_or_insert(to - from);
        }
        self.cursor = Cursor::At(next);
        self.plan_read_ahead();
        Ok(())
    }

    fn finish_fetching(&mut self) {
        self.cursor = Cursor::Done;
        self.pending.clear();
    }

    /// Keeps up to `read_ahead` offset pages in flight, starting at the cursor.
    fn plan_read_ahead(&mut self) {
        let (Cursor::At(PageToken::Offset(at)), Some(total), Some(step)) =
            (&self.cursor, self.total, self.step)
        else {
            self.pending.clear();
            return;
        };
        if self.options.read_ahead <= 1 {
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
        if let Some(limit) = self.query.limit {
            // Never speculate past the pages the limit can still need.
            let wanted = limit.saturating_sub(self.yielded + self.buffer.len() as u64);
            budget = budget.min(wanted.div_ceil(step.max(1)));
        }
        while self.pending.len() < self.options.read_ahead
            && planned < total
            && (self.pending.len() as u64) < budget
        {
            let source = Arc::clone(&self.source);
            let query = Arc::clone(&self.query);
            let token = PageToken::Offset(planned);
            let task_token = token.clone();
            let handle =
                tokio::spawn(async move { source.list_page(&query, Some(task_token)).await });
            self.pending.push_back(Fetch { token, handle });
            planned += step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryCatalog;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn a_vanished_marker_resumes_from_the_image_before_it() {
        let cat = InMemoryCatalog::with_samples(10);
        let mut stream = cat.list(ListQuery::new().page_size(3));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(stream.try_next().await.unwrap().unwrap().id);
        }
        // The next marker is the third image; delete it and the second too.
        cat.remove(&got[2]).unwrap();
        cat.remove(&got[1]).unwrap();
        while let Some(image) = stream.try_next().await.unwrap() {
            got.push(image.id);
        }
        let want: Vec<_> = (0..10)
            .map(|i| ImageId::new(format!("img-{i:05}")))
            .collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn offset_read_ahead_keeps_order() {
        let cat = InMemoryCatalog::with_samples(103).offset_paging(true);
        let want: Vec<_> = cat.snapshot().into_iter().map(|i| i.id).collect();
        let got: Vec<_> = cat
            .list(ListQuery::new().page_size(5).include_deleted(true))
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got, want);
    }
}

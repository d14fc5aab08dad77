//! [`Engine`]: the state machine of one listing, generic over the
//! [`Pager`]: where it stands ([`Cursor`]), the checks every page passes
//! (tokens, offsets, progress, the page ceiling), de-duplication and the
//! client-side filter. The marker rules are in `marker`, read-ahead in
//! `read_ahead`.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use futures::StreamExt;

use super::ids::IdSet;
use super::pager::{Chunk, Pager};
use super::{MAX_TOKEN_BYTES, PagingOptions};
use crate::catalog::{MarkerRule, PageToken};
use crate::error::{Error, Result};
use crate::model::BackendKind;

mod marker;
mod read_ahead;

use marker::LastPage;
use read_ahead::Fetch;

/// Refuses a next-page token longer than [`MAX_TOKEN_BYTES`] (a 1 MB
/// marker id is never sent back blindly); the error gives its size, not
/// its text.
fn token_fits(backend: BackendKind, next: &PageToken) -> Result<()> {
    let len = match next {
        PageToken::Offset(_) => return Ok(()),
        PageToken::Marker(text) | PageToken::Link(text) => text.len(),
    };
    if len <= MAX_TOKEN_BYTES {
        return Ok(());
    }
    let what = if matches!(next, PageToken::Marker(_)) {
        "marker id"
    } else {
        "next link"
    };
    Err(Error::paging(
        backend,
        format!(
            "the page's {what} is {len} bytes, over the {MAX_TOKEN_BYTES}-byte limit of a page token; stopping instead of sending it"
        ),
    ))
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

/// One listing in progress.
pub(super) struct Engine<P: Pager> {
    pager: Arc<P>,
    backend: BackendKind,
    /// The backend's marker rule.
    rule: MarkerRule,
    /// Whether pages after a marker start with it (known or detected).
    inclusive: bool,
    /// The most items to yield.
    limit: Option<u64>,
    options: PagingOptions,
    buffer: VecDeque<P::Item>,
    cursor: Cursor,
    /// Hashes of the ids yielded so far (64-bit, randomly keyed per listing).
    seen_ids: IdSet,
    seen_tokens: HashSet<u64>,
    hasher: RandomState,
    pages: u64,
    yielded: u64,
    total: Option<u64>,
    /// The largest total any page reported.
    largest_total: u64,
    /// The offset advance of a full page, learnt from the first page.
    step: Option<u64>,
    /// Speculative fetches, in offset order; the front is for `cursor`.
    pending: VecDeque<Fetch<P::Item>>,
    last_page: LastPage,
    resumes: u32,
    /// Set once the catalog changed during the listing: no more read-ahead.
    sequential: bool,
}

impl<P: Pager> Engine<P> {
    /// The lazy stream of a listing: nothing happens before the first poll.
    pub(super) fn start(
        pager: P,
        backend: BackendKind,
        rule: MarkerRule,
        options: PagingOptions,
    ) -> futures::stream::BoxStream<'static, Result<P::Item>> {
        let engine = Engine {
            limit: pager.limit(),
            pager: Arc::new(pager),
            backend,
            rule,
            inclusive: rule == MarkerRule::Inclusive,
            options,
            buffer: VecDeque::new(),
            cursor: Cursor::First,
            seen_ids: IdSet::new(IdSet::MERGE_AT),
            seen_tokens: HashSet::new(),
            hasher: RandomState::new(),
            pages: 0,
            yielded: 0,
            total: None,
            largest_total: 0,
            step: None,
            pending: VecDeque::new(),
            last_page: LastPage::default(),
            resumes: 0,
            sequential: false,
        };
        futures::stream::unfold(engine, |mut engine| async move {
            engine.next_item().await.map(|item| (item, engine))
        })
        .boxed()
    }

    /// The next item, fetching pages as needed; `None` at the end.
    async fn next_item(&mut self) -> Option<Result<P::Item>> {
        loop {
            if self.limit.is_some_and(|limit| self.yielded >= limit) {
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
            let (fetched, speculative) = self.fetch(token.clone()).await;
            let page = match fetched {
                Ok(page) => page,
                Err(e) if e.stale_marker().is_some_and(|m| self.resume_before(m)) => continue,
                Err(e) => {
                    self.finish();
                    return Some(Err(e));
                }
            };
            let Some(page) = self.drop_marker(token.as_ref(), page) else {
                // Only the marker came back: ask again, one image more.
                continue;
            };
            if self.catalog_changed(&page) && speculative {
                // Fetched concurrently with the page before it, it may have
                // been served first: ask again, now after that page.
                continue;
            }
            if let Err(e) = self.accept(token, page) {
                self.finish();
                return Some(Err(e));
            }
        }
    }

    /// Ends the listing: nothing more is fetched or yielded.
    fn finish(&mut self) {
        self.finish_fetching();
        self.buffer.clear();
    }

    /// Fetches the page at `token`: the result, and whether it was fetched
    /// speculatively (read ahead, concurrently with the page before it).
    async fn fetch(&mut self, token: Option<PageToken>) -> (Result<Chunk<P::Item>>, bool) {
        self.pages += 1;
        if self.pages > self.options.max_pages {
            let error = Error::paging(
                self.backend,
                format!(
                    "listing stopped at the page ceiling of {} pages; raise PagingOptions::max_pages if the catalog is that large",
                    self.options.max_pages
                ),
            );
            return (Err(error), false);
        }
        let planned = self
            .pending
            .front()
            .is_some_and(|f| Some(&f.token) == token.as_ref());
        if planned {
            if let Some(mut fetch) = self.pending.pop_front() {
                let result = match (&mut fetch.handle).await {
                    Ok(result) => result,
                    Err(e) => Err(Error::transport(
                        self.backend,
                        format!("page fetch task failed: {e}"),
                        e,
                    )),
                };
                return (result, true);
            }
        }
        self.pending.clear();
        tracing::debug!(backend = %self.backend, page = self.pages, token = ?token, "fetching page");
        let wider = self.inclusive && matches!(token, Some(PageToken::Marker(_)));
        (Arc::clone(&self.pager).fetch(token, wider).await, false)
    }

    /// Checks a page against everything seen so far, buffers its new
    /// matching images and moves the cursor.
    fn accept(&mut self, token: Option<PageToken>, page: Chunk<P::Item>) -> Result<()> {
        let Chunk {
            items: images,
            next,
            total,
        } = page;
        tracing::debug!(backend = %self.backend, items = images.len(), next = ?next, total = ?total, "page received");
        // The catalog changed since the page before (its total moved).
        let moved = total.is_some() && self.total.is_some() && total != self.total;
        if let Some(total) = total {
            self.total = Some(total);
            self.largest_total = self.largest_total.max(total);
        }
        let on_page = images.len();
        let mut fresh = 0usize;
        if matches!(next, Some(PageToken::Marker(_))) {
            self.last_page.token = token.clone();
            self.last_page.ids.clear();
            self.last_page
                .ids
                .extend(images.iter().map(|i| P::id(i).to_owned()));
        }
        for image in images {
            if self.seen_ids.insert(self.hasher.hash_one(P::id(&image))) {
                fresh += 1;
                if self.pager.keeps(&image) {
                    self.buffer.push_back(image);
                }
            }
        }
        let next = next.or_else(|| self.past_a_shrunk_total(token.as_ref(), on_page));
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
        token_fits(self.backend, &next)?;
        if !self.seen_tokens.insert(self.hasher.hash_one(&next)) {
            return Err(Error::paging(
                self.backend,
                format!("the server returned {next} twice; stopping instead of looping"),
            ));
        }
        // A page of images already yielded: a server that ignores the
        // offset or the marker, unless the catalog changed under an offset
        // listing (images created at the front push pages already read
        // down); the offset still advances, so that listing ends at the
        // total or at the page ceiling.
        if on_page > 0 && fresh == 0 {
            if moved && matches!(next, PageToken::Offset(_)) {
                tracing::debug!(backend = %self.backend, "a page brought no new image while the catalog grew; reading on");
            } else {
                return Err(Error::paging(
                    self.backend,
                    format!(
                        "a page of {on_page} {} brought nothing new; stopping instead of looping",
                        P::NOUN
                    ),
                ));
            }
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
}

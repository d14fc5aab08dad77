//! The pagination engine: turns a [`PageSource`]'s pages into the lazy
//! [`ImageStream`] every backend returns from `list`, and its instance
//! pages into the stream of an [`InstanceListing`].
//!
//! Written once, here, generic over the item (an image or an instance,
//! each with an id), so every backend and both listings get the same
//! guarantees:
//! - nothing is sent before the first poll, and nothing after the stream is
//!   dropped or `limit` images were yielded;
//! - it ends with an error, never a loop, on an empty or repeated token, an
//!   offset that does not advance, a page with no new image (unless its
//!   total shows an offset listing's catalog changed), or more pages than
//!   the ceiling;
//! - an id already yielded by this listing is dropped;
//! - on a server whose pages after a marker start with the marker
//!   ([`MarkerRule`]: inclusive, or detected from the first such page), the
//!   marker image is dropped and one image more is asked for; a page that
//!   held only the marker when it was first detected is asked again;
//! - every [`ListQuery`] filter is applied on the client, whatever the server did;
//! - when a marker vanished during the listing ([`Error::stale_marker`]), it
//!   resumes from the image before it on the last page, a bounded number of
//!   times (an image deleted during a listing cannot end it);
//! - for offset paging with a known total, up to `read_ahead` pages are
//!   fetched concurrently and yielded in order; a page whose `next` does not
//!   match the plan (a short page, a shrinking catalog) cancels the
//!   speculative fetches and paging resumes from what the server said;
//! - a next-page token (marker id, next link) over [`MAX_TOKEN_BYTES`]
//!   ends the listing with an error instead of being sent back;
//! - once a page reports a total other than the page before it (the catalog
//!   changed during the listing), read-ahead stops for the rest of the
//!   listing, and a speculative page with the new total is fetched again:
//!   it may have been served before the page ahead of it, and pages served
//!   out of order while images are created at the front skip images;
//! - a shrinking total is trusted only when the pages agree: an offset page
//!   that ends the listing short of a larger total an earlier page reported
//!   does not end it; paging goes on until an empty page (a listing never
//!   comes back short because a later page said less).

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;

use crate::catalog::{ImageStream, InstanceListing, InstanceQuery, MarkerRule, PageToken};
use crate::error::{Error, ErrorKind, Result};
#[cfg(test)]
use crate::model::ImageId;
use crate::model::{BackendKind, Image};
use crate::query::ListQuery;
use crate::source::PageSource;
use crate::usage::{InstanceRef, UsageScope};

/// The longest next-page token (a marker id or a next link) the engine
/// sends back to a server: 8 KiB, past what servers and proxies accept in
/// a URL. A longer one ends the listing with `InvalidResponse`.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

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

/// Turns `source.page` into the lazy, checked, filtered stream of a
/// listing. [`Catalog`](crate::Catalog) calls it for every source.
pub fn paginate(
    source: Arc<dyn PageSource>,
    query: ListQuery,
    options: PagingOptions,
) -> ImageStream {
    let info = source.info();
    let backend = info.backend;
    if !query.tags.is_empty() && !info.capabilities.tags {
        // Lazy like every listing: the error comes at the first poll.
        let e = Error::new(
            ErrorKind::NotSupported,
            format!("{backend} images have no tags; a tag filter cannot be applied"),
        )
        .with_backend(backend);
        return futures::stream::once(async move { Err(e) }).boxed();
    }
    let mut wider = query.clone();
    let size = info.capabilities.page_size_for(&query);
    wider.page_size = Some((size + 1).min(info.capabilities.max_page_size.max(1)));
    let pager = ImagePager {
        source,
        limit: query.limit,
        query: Arc::new(query),
        wider: Arc::new(wider),
    };
    Engine::start(pager, backend, info.capabilities.marker, options)
}

/// Turns `source.instance_page` into an instance listing by the same rules
/// as [`paginate`] (every token, offset, ceiling and de-duplication check;
/// read-ahead where a total is known; the query's image filter re-checked
/// on the client), recording the narrowest scope any page reported.
pub fn paginate_instances(
    source: Arc<dyn PageSource>,
    query: InstanceQuery,
    options: PagingOptions,
) -> InstanceListing {
    let info = source.info();
    let scope = Arc::new(Mutex::new(None));
    let mut wider = query.clone();
    wider.page_size = Some(
        (query.page_size_for(&info.capabilities) + 1).min(info.capabilities.max_page_size.max(1)),
    );
    let pager = InstancePager {
        source,
        query: Arc::new(query),
        wider: Arc::new(wider),
        scope: Arc::clone(&scope),
        most: Mutex::new(None),
    };
    let stream = Engine::start(pager, info.backend, MarkerRule::Exclusive, options);
    InstanceListing::new(stream, scope)
}

/// A page as the engine sees it: items, next token, total.
struct Chunk<T> {
    items: Vec<T>,
    next: Option<PageToken>,
    total: Option<u64>,
}

/// What the engine pages through: images or instances.
trait Pager: Send + Sync + 'static {
    /// An image or an instance.
    type Item: Send + 'static;
    /// What the items are called in errors.
    const NOUN: &'static str;
    /// The item's id (de-duplication, markers).
    fn id(item: &Self::Item) -> &str;
    /// Whether the client-side filter keeps the item.
    fn keeps(&self, item: &Self::Item) -> bool;
    /// The most items the listing yields.
    fn limit(&self) -> Option<u64> {
        None
    }
    /// Fetches the page at `token`, one item more when `wider`.
    fn fetch(
        self: Arc<Self>,
        token: Option<PageToken>,
        wider: bool,
    ) -> BoxFuture<'static, Result<Chunk<Self::Item>>>;
}

/// The image listing of a source.
struct ImagePager {
    source: Arc<dyn PageSource>,
    query: Arc<ListQuery>,
    wider: Arc<ListQuery>,
    limit: Option<u64>,
}

impl Pager for ImagePager {
    type Item = Image;
    const NOUN: &'static str = "images";

    fn id(item: &Image) -> &str {
        item.id.as_str()
    }

    fn keeps(&self, item: &Image) -> bool {
        self.query.matches(item)
    }

    fn limit(&self) -> Option<u64> {
        self.limit
    }

    fn fetch(
        self: Arc<Self>,
        token: Option<PageToken>,
        wider: bool,
    ) -> BoxFuture<'static, Result<Chunk<Image>>> {
        Box::pin(async move {
            let query = if wider { &self.wider } else { &self.query };
            let page = self.source.page(query, token).await?;
            Ok(Chunk {
                items: page.images,
                next: page.next,
                total: page.total,
            })
        })
    }
}

/// The instance listing of a source.
struct InstancePager {
    source: Arc<dyn PageSource>,
    query: Arc<InstanceQuery>,
    wider: Arc<InstanceQuery>,
    scope: Arc<Mutex<Option<UsageScope>>>,
    /// The largest total a page reported.
    most: Mutex<Option<u64>>,
}

impl InstancePager {
    /// An offset listing whose total shrank (an instance ended during the
    /// walk) may have shifted a live instance onto a page already read:
    /// an error, so the answer is unknown rather than missing a user.
    fn check_total(&self, token: Option<&PageToken>, total: Option<u64>) -> Result<()> {
        let Some(total) = total else { return Ok(()) };
        let mut most = self.most.lock().unwrap_or_else(|e| e.into_inner());
        let before = most.unwrap_or(total);
        *most = Some(before.max(total));
        if total < before && matches!(token, Some(PageToken::Offset(_))) {
            return Err(Error::paging(
                self.source.info().backend,
                format!(
                    "the instance listing shrank from {before} to {total} during the walk; an instance may have been skipped"
                ),
            ));
        }
        Ok(())
    }
}

impl Pager for InstancePager {
    type Item = InstanceRef;
    const NOUN: &'static str = "instances";

    fn id(item: &InstanceRef) -> &str {
        &item.id
    }

    fn keeps(&self, item: &InstanceRef) -> bool {
        self.query.matches(item)
    }

    fn fetch(
        self: Arc<Self>,
        token: Option<PageToken>,
        wider: bool,
    ) -> BoxFuture<'static, Result<Chunk<InstanceRef>>> {
        Box::pin(async move {
            let query = if wider { &self.wider } else { &self.query };
            let page = self.source.instance_page(query, token.clone()).await?;
            self.check_total(token.as_ref(), page.total)?;
            let mut scope = self.scope.lock().unwrap_or_else(|e| e.into_inner());
            *scope = Some(scope.map_or(page.scope, |s| s.narrowest(page.scope)));
            Ok(Chunk {
                items: page.instances,
                next: page.next,
                total: page.total,
            })
        })
    }
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

/// The ids a listing has yielded, as 64-bit keyed hashes: a sorted vector
/// (8 bytes an id) plus a bounded hash set of recent ones, merged into the
/// vector in batches. Memory grows by 8 bytes per image, without a hash
/// table's slack or its doubling on resize.
struct IdSet {
    sorted: Vec<u64>,
    recent: HashSet<u64>,
    merge_at: usize,
}

impl IdSet {
    /// Recent ids kept in the hash set before a merge.
    const MERGE_AT: usize = 1 << 15;

    fn new(merge_at: usize) -> Self {
        IdSet {
            sorted: Vec::new(),
            recent: HashSet::new(),
            merge_at: merge_at.max(1),
        }
    }

    /// Adds a hash; false when it was there already.
    fn insert(&mut self, hash: u64) -> bool {
        if self.sorted.binary_search(&hash).is_ok() || !self.recent.insert(hash) {
            return false;
        }
        if self.recent.len() >= self.merge_at {
            self.merge();
        }
        true
    }

    /// Moves the recent hashes into the sorted vector, merging from the back
    /// in place (no second copy of the vector).
    fn merge(&mut self) {
        let mut batch: Vec<u64> = self.recent.drain().collect();
        batch.sort_unstable();
        let old = self.sorted.len();
        self.sorted.reserve_exact(batch.len());
        self.sorted.resize(old + batch.len(), 0);
        let (mut i, mut j) = (old, batch.len());
        for k in (0..old + batch.len()).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && self.sorted[i - 1] > batch[j - 1] {
                self.sorted[k] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[k] = batch[j - 1];
                j -= 1;
            }
        }
    }
}

/// A spawned page fetch, aborted when dropped.
struct Fetch<T> {
    token: PageToken,
    handle: JoinHandle<Result<Chunk<T>>>,
}

impl<T> Drop for Fetch<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

struct Engine<P: Pager> {
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
    fn start(
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

    /// Drops the marker image from the head of a page fetched after it, as
    /// the backend's [`MarkerRule`] says; `None` when the page held only the
    /// marker on the first detection (to be asked again with one image more).
    fn drop_marker(
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

    /// Whether `page` reports another total than the page before it; if so,
    /// read-ahead stops for the rest of the listing.
    fn catalog_changed(&mut self, page: &Chunk<P::Item>) -> bool {
        let changed =
            matches!((page.total, self.total), (Some(now), Some(before)) if now != before);
        if changed && !self.sequential {
            tracing::debug!(backend = %self.backend, before = ?self.total, now = ?page.total, "the catalog changed during the listing; reading on without read-ahead");
            self.sequential = true;
            self.pending.clear();
        }
        changed
    }

    fn finish(&mut self) {
        self.cursor = Cursor::Done;
        self.pending.clear();
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

    /// Where to read on when an offset page ends the listing short of the
    /// larger total an earlier page reported: the pages contradict each
    /// other, so the smaller total is not trusted and paging goes on until
    /// an empty page. `None` when the end agrees with every total seen.
    fn past_a_shrunk_total(&self, token: Option<&PageToken>, on_page: usize) -> Option<PageToken> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageCatalog;
    use crate::catalog::Page;
    use crate::memory::InMemoryCatalog;
    use futures::TryStreamExt;

    #[test]
    fn the_id_set_remembers_every_id_across_merges() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut set = IdSet::new(8);
        let mut reference = HashSet::new();
        for _ in 0..5_000 {
            // Small values, so that most later draws are repeats.
            let hash = rng.random_range(0..3_000u64);
            assert_eq!(set.insert(hash), reference.insert(hash), "{hash}");
        }
        assert!(set.sorted.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(set.sorted.len() + set.recent.len(), reference.len());
    }

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

    /// An active memory image with this id.
    fn active(id: &str) -> Image {
        Image::new(
            id.to_owned(),
            BackendKind::Memory,
            crate::ImageStatus::Active,
            "active",
        )
    }

    /// A marker catalog whose pages after a marker start with the marker
    /// (as TOAST's docs say), and the limits it was asked for.
    #[derive(Debug)]
    struct Inclusive {
        ids: Vec<String>,
        limits: std::sync::Mutex<Vec<u32>>,
        rule: MarkerRule,
    }

    #[async_trait::async_trait]
    impl PageSource for Inclusive {
        fn info(&self) -> crate::CatalogInfo {
            crate::CatalogInfo::new(
                BackendKind::Memory,
                "memory:",
                crate::Capabilities::new(crate::PagingStyle::Marker, 2, 10).marker(self.rule),
            )
        }

        async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
            let limit = query.page_size.unwrap_or(2) as usize;
            self.limits.lock().unwrap().push(limit as u32);
            let start = match token {
                Some(PageToken::Marker(m)) => self.ids.iter().position(|i| *i == m).unwrap(),
                _ => 0,
            };
            let images: Vec<Image> = self.ids[start..]
                .iter()
                .take(limit)
                .map(|id| active(id))
                .collect();
            let next = (images.len() == limit)
                .then(|| PageToken::Marker(images[limit - 1].id.to_string()));
            Ok(Page::new(images, next))
        }

        async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn an_inclusive_marker_is_dropped_and_one_image_more_asked_for() {
        let ids: Vec<String> = "abcdefg".chars().map(String::from).collect();
        for (rule, page_size, want_limits) in [
            (MarkerRule::Detect, 2, vec![2, 2, 3, 3, 3]),
            (MarkerRule::Inclusive, 2, vec![2, 3, 3, 3]),
            // A page of 1 holds only the marker: asked again for 2.
            (MarkerRule::Detect, 1, vec![1, 1, 2, 2, 2, 2, 2, 2, 2]),
        ] {
            let source = Arc::new(Inclusive {
                ids: ids.clone(),
                limits: std::sync::Mutex::new(Vec::new()),
                rule,
            });
            let got: Vec<String> = paginate(
                Arc::clone(&source) as Arc<dyn PageSource>,
                ListQuery::new().page_size(page_size).include_deleted(true),
                PagingOptions::default(),
            )
            .map_ok(|i| i.id.to_string())
            .try_collect()
            .await
            .unwrap();
            assert_eq!(got, ids, "{rule:?} {page_size}");
            assert_eq!(
                *source.limits.lock().unwrap(),
                want_limits,
                "{rule:?} {page_size}"
            );
        }
    }

    /// An offset catalog whose page at offset 2 is served only after the
    /// page at offset 4, with an image created at the front in between: the
    /// read-ahead pages are served out of order while the catalog grows.
    #[derive(Debug)]
    struct OutOfOrder {
        ids: std::sync::Mutex<Vec<String>>,
        page_four_served: tokio::sync::Notify,
        waited: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl PageSource for OutOfOrder {
        fn info(&self) -> crate::CatalogInfo {
            crate::CatalogInfo::new(
                BackendKind::Memory,
                "memory:",
                crate::Capabilities::new(crate::PagingStyle::Offset, 2, 2).reports_total(true),
            )
        }

        async fn page(&self, _: &ListQuery, token: Option<PageToken>) -> Result<Page> {
            let start = match token {
                Some(PageToken::Offset(o)) => o as usize,
                _ => 0,
            };
            if start == 2 && !self.waited.swap(true, std::sync::atomic::Ordering::SeqCst) {
                self.page_four_served.notified().await;
            }
            let mut ids = self.ids.lock().unwrap();
            let images: Vec<Image> = ids
                .iter()
                .skip(start)
                .take(2)
                .map(|id| active(id))
                .collect();
            let total = ids.len() as u64;
            let end = (start + images.len()) as u64;
            if start == 4 {
                ids.insert(0, "new".to_owned());
                self.page_four_served.notify_one();
            }
            let next = (end < total && !images.is_empty()).then_some(PageToken::Offset(end));
            Ok(Page::new(images, next).with_total(total))
        }

        async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn read_ahead_served_out_of_order_while_the_catalog_grows_skips_nothing() {
        let ids: Vec<String> = "abcdefgh".chars().map(String::from).collect();
        let source = Arc::new(OutOfOrder {
            ids: std::sync::Mutex::new(ids.clone()),
            page_four_served: tokio::sync::Notify::new(),
            waited: std::sync::atomic::AtomicBool::new(false),
        });
        let got: Vec<String> = paginate(
            source,
            ListQuery::new().include_deleted(true),
            PagingOptions::default().read_ahead(4),
        )
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap();
        assert_eq!(got, ids);
    }

    /// An offset catalog that gains a page of images at the front after its
    /// first page is served: the second page repeats the first.
    #[derive(Debug)]
    struct Growing {
        ids: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl PageSource for Growing {
        fn info(&self) -> crate::CatalogInfo {
            crate::CatalogInfo::new(
                BackendKind::Memory,
                "memory:",
                crate::Capabilities::new(crate::PagingStyle::Offset, 2, 2).reports_total(true),
            )
        }

        async fn page(&self, _: &ListQuery, token: Option<PageToken>) -> Result<Page> {
            let start = match token {
                Some(PageToken::Offset(o)) => o as usize,
                _ => 0,
            };
            let mut ids = self.ids.lock().unwrap();
            let page: Vec<Image> = ids
                .iter()
                .skip(start)
                .take(2)
                .map(|id| active(id))
                .collect();
            let total = ids.len() as u64;
            let end = (start + page.len()) as u64;
            if start == 0 {
                ids.insert(0, "new1".to_owned());
                ids.insert(0, "new2".to_owned());
            }
            let next = (end < total && !page.is_empty()).then_some(PageToken::Offset(end));
            Ok(Page::new(page, next).with_total(total))
        }

        async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_repeated_offset_page_of_a_growing_catalog_is_skipped_not_an_error() {
        let ids: Vec<String> = "abcdef".chars().map(String::from).collect();
        let source = Arc::new(Growing {
            ids: std::sync::Mutex::new(ids.clone()),
        });
        let got: Vec<String> = paginate(
            source,
            ListQuery::new().include_deleted(true),
            PagingOptions::default().read_ahead(1),
        )
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap();
        assert_eq!(got, ids);
    }
}

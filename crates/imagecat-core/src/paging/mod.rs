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
//!
//! The code, by concern: `pager` (what is paged: the image and the
//! instance listings, the only places the item type matters), `engine`
//! (the state machine: cursor, checks, page ceiling; its `marker` rules
//! and `read_ahead`), `ids` (the set of ids already yielded).

use std::sync::{Arc, Mutex};

use futures::StreamExt;

use crate::catalog::{ImageStream, InstanceListing, InstanceQuery, MarkerRule};
use crate::error::{Error, ErrorKind};
use crate::query::ListQuery;
use crate::source::PageSource;

mod engine;
mod ids;
mod pager;
#[cfg(test)]
mod tests;
mod walk;

use engine::Engine;
use pager::{ImagePager, InstancePager, Queries, one_more};
pub(crate) use walk::WalkCheck;

/// The longest next-page token (a marker id or a next link) the engine
/// sends back to a server: 8 KiB, past what servers and proxies accept in
/// a URL. A longer one ends the listing with `InvalidResponse`.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Tuning of the pagination engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PagingOptions {
    /// Pages fetched concurrently ahead of the consumer for offset paging
    /// with a known total (1 disables read-ahead). Default 8.
    pub read_ahead: usize,
    /// The most pages one listing may fetch before it fails. Default 100,000.
    pub max_pages: u64,
    /// Rows an instance listing's offset pages re-read from the page
    /// before, so that a shift of the listing between two page reads shows
    /// (up to `instance_overlap - 1` instances ended before the cursor are
    /// proven harmless). 0 disables it. Default 8.
    pub instance_overlap: u32,
}

impl Default for PagingOptions {
    fn default() -> Self {
        PagingOptions {
            read_ahead: 8,
            max_pages: 100_000,
            instance_overlap: 8,
        }
    }
}

impl PagingOptions {
    /// Sets the read-ahead depth (at least 1).
    pub fn read_ahead(mut self, pages: usize) -> Self {
        self.read_ahead = pages.max(1);
        self
    }

    /// Sets the instance listings' overlap (0 disables it).
    pub fn instance_overlap(mut self, rows: u32) -> Self {
        self.instance_overlap = rows;
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
    let size = info.capabilities.page_size_for(&query);
    let wider = query.clone().page_size(one_more(size, &info.capabilities));
    let pager = ImagePager {
        source,
        limit: query.limit,
        queries: Queries::new(query, wider),
    };
    Engine::start(pager, backend, info.capabilities.marker, options)
}

/// Turns `source.instance_page` into an instance listing by the same rules
/// as [`paginate`] (every token, offset, ceiling and de-duplication check;
/// read-ahead where a total is known; the query's image filter re-checked
/// on the client), recording the narrowest scope any page reported, and
/// what the listing's [`verdict`](InstanceListing::verdict) needs to prove
/// that the walk saw every instance: offset pages after the first are read
/// `options.instance_overlap` rows early (the page size shrinks by as much
/// when it would pass the backend's cap).
pub fn paginate_instances(
    source: Arc<dyn PageSource>,
    query: InstanceQuery,
    options: PagingOptions,
) -> InstanceListing {
    let info = source.info();
    let scope = Arc::new(Mutex::new(None));
    let max = info.capabilities.max_page_size.max(1);
    let overlap = options.instance_overlap.min(max - 1);
    let size = query
        .page_size_for(&info.capabilities)
        .min(max - overlap)
        .max(1);
    let exact = query.page_size(size);
    let wider = exact.clone().page_size(one_more(size, &info.capabilities));
    let check = Arc::new(WalkCheck::default());
    let pager = InstancePager {
        source,
        queries: Queries::new(exact, wider),
        scope: Arc::clone(&scope),
        overlap: u64::from(overlap),
        check: Arc::clone(&check),
    };
    let stream = Engine::start(pager, info.backend, MarkerRule::Exclusive, options);
    InstanceListing::new(stream, scope).with_check(check)
}

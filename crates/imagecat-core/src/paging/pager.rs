//! What the engine pages through. The engine is generic over the item:
//! [`ImagePager`] (a source's images) and [`InstancePager`] (its
//! instances) are the only code that knows which one it is.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::catalog::{Capabilities, InstancePage, InstanceQuery, Page, PageToken};
use crate::error::Result;
use crate::model::Image;
use crate::query::ListQuery;
use crate::source::PageSource;
use crate::usage::{InstanceRef, UsageScope};

use super::walk::WalkCheck;

/// A page as the engine sees it: items, next token, total.
pub(super) struct Chunk<T> {
    pub(super) items: Vec<T>,
    pub(super) next: Option<PageToken>,
    pub(super) total: Option<u64>,
}

impl From<Page> for Chunk<Image> {
    fn from(page: Page) -> Self {
        Chunk {
            items: page.images,
            next: page.next,
            total: page.total,
        }
    }
}

impl From<InstancePage> for Chunk<InstanceRef> {
    fn from(page: InstancePage) -> Self {
        Chunk {
            items: page.instances,
            next: page.next,
            total: page.total,
        }
    }
}

/// What the engine pages through: images or instances.
pub(super) trait Pager: Send + Sync + 'static {
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

/// The page size one item more than `size`, within the backend's cap: the
/// page after an inclusive marker, whose first item is the marker.
pub(super) fn one_more(size: u32, capabilities: &Capabilities) -> u32 {
    (size + 1).min(capabilities.max_page_size.max(1))
}

/// A listing's query, and the same query asking for one item more.
pub(super) struct Queries<Q> {
    exact: Q,
    wider: Q,
}

impl<Q> Queries<Q> {
    /// The query as asked, and its wider twin.
    pub(super) fn new(exact: Q, wider: Q) -> Self {
        Queries { exact, wider }
    }

    /// The query for a page, one item more when `wider`.
    pub(super) fn pick(&self, wider: bool) -> &Q {
        if wider { &self.wider } else { &self.exact }
    }
}

/// The image listing of a source.
pub(super) struct ImagePager {
    pub(super) source: Arc<dyn PageSource>,
    pub(super) queries: Queries<ListQuery>,
    pub(super) limit: Option<u64>,
}

impl Pager for ImagePager {
    type Item = Image;
    const NOUN: &'static str = "images";

    fn id(item: &Image) -> &str {
        item.id.as_str()
    }

    fn keeps(&self, item: &Image) -> bool {
        self.queries.pick(false).matches(item)
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
            let page = self.source.page(self.queries.pick(wider), token).await?;
            Ok(page.into())
        })
    }
}

/// The instance listing of a source. Offset pages after the first are
/// read `overlap` rows early and recorded in `check`, which judges at the
/// end whether the walk saw every instance ([`WalkCheck`]). The overlap
/// rows go to the engine too: after a shift they may hold instances not
/// yet yielded, and the engine drops those it has.
pub(super) struct InstancePager {
    pub(super) source: Arc<dyn PageSource>,
    pub(super) queries: Queries<InstanceQuery>,
    pub(super) scope: Arc<Mutex<Option<UsageScope>>>,
    /// Rows read before each offset page (0: no overlapping reads).
    pub(super) overlap: u64,
    /// The record of this walk.
    pub(super) check: Arc<WalkCheck>,
}

impl Pager for InstancePager {
    type Item = InstanceRef;
    const NOUN: &'static str = "instances";

    fn id(item: &InstanceRef) -> &str {
        &item.id
    }

    fn keeps(&self, item: &InstanceRef) -> bool {
        let rule = self.source.info().capabilities.ids;
        self.queries.pick(false).matches(rule, item)
    }

    fn fetch(
        self: Arc<Self>,
        token: Option<PageToken>,
        wider: bool,
    ) -> BoxFuture<'static, Result<Chunk<InstanceRef>>> {
        Box::pin(async move {
            let (sent, overlap, query) = match &token {
                Some(PageToken::Offset(at)) if *at > 0 && self.overlap > 0 => {
                    let overlap = self.overlap.min(*at);
                    let exact = self.queries.pick(false);
                    let size = exact.page_size.unwrap_or(1) as u64 + overlap;
                    let query = exact.clone().page_size(size as u32);
                    (Some(PageToken::Offset(at - overlap)), overlap, query)
                }
                _ => (token.clone(), 0, self.queries.pick(wider).clone()),
            };
            let page = self.source.instance_page(&query, sent).await?;
            let ids = page.instances.iter().map(|i| i.id.clone()).collect();
            self.check
                .record(token.as_ref(), overlap, ids, page.next.as_ref(), page.total);
            let mut scope = self.scope.lock().unwrap_or_else(|e| e.into_inner());
            *scope = Some(scope.map_or(page.scope, |s| s.narrowest(page.scope)));
            Ok(page.into())
        })
    }
}

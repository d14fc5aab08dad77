//! What the engine pages through. The engine is generic over the item:
//! [`ImagePager`] (a source's images) and [`InstancePager`] (its
//! instances) are the only code that knows which one it is.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::catalog::{Capabilities, InstanceQuery, Page, PageToken};
use crate::error::{Error, Result};
use crate::model::Image;
use crate::query::ListQuery;
use crate::source::PageSource;
use crate::usage::{InstanceRef, UsageScope};

/// A page as the engine sees it: items, next token, total.
pub(super) struct Chunk<T> {
    pub(super) items: Vec<T>,
    pub(super) next: Option<PageToken>,
    pub(super) total: Option<u64>,
}

impl<T> From<Page<T>> for Chunk<T> {
    fn from(page: Page<T>) -> Self {
        Chunk {
            items: page.items,
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

/// The instance listing of a source.
pub(super) struct InstancePager {
    pub(super) source: Arc<dyn PageSource>,
    pub(super) queries: Queries<InstanceQuery>,
    pub(super) scope: Arc<Mutex<Option<UsageScope>>>,
    /// The largest total a page reported.
    pub(super) most: Mutex<Option<u64>>,
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
        self.queries.pick(false).matches(item)
    }

    fn fetch(
        self: Arc<Self>,
        token: Option<PageToken>,
        wider: bool,
    ) -> BoxFuture<'static, Result<Chunk<InstanceRef>>> {
        Box::pin(async move {
            let query = self.queries.pick(wider);
            let page = self.source.instance_page(query, token.clone()).await?;
            self.check_total(token.as_ref(), page.total)?;
            let mut scope = self.scope.lock().unwrap_or_else(|e| e.into_inner());
            // A page that does not say what it saw saw the narrowest.
            let seen = page.scope.unwrap_or(UsageScope::OwnTenant);
            *scope = Some(scope.map_or(seen, |s| s.narrowest(seen)));
            Ok(page.into())
        })
    }
}

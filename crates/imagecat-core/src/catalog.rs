//! The [`ImageCatalog`] trait and the types of its surface.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::IdRule;
use crate::model::{BackendKind, Image, ImageId, Visibility};
use crate::query::{ListQuery, SortKey};
use crate::retire::{RetireRequest, RetireSupport};
use crate::usage::{InstanceRef, UsageScope};

/// The lazy stream of a listing: nothing is sent before the first poll, no
/// further request after it is dropped, and it ends after an error.
pub type ImageStream = BoxStream<'static, Result<Image>>;

/// How a backend pages through its catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PagingStyle {
    /// `start`/`offset` plus `limit`.
    Offset,
    /// The id of the last image seen (or a `next` link).
    Marker,
}

/// Whether a marker-paged server repeats the marker image at the head of
/// the next page: a backend quirk described to the pagination engine as
/// data, so no adapter loops over pages itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MarkerRule {
    /// The page after a marker starts after it (Glance, the memory catalog).
    #[default]
    Exclusive,
    /// The page after a marker starts with it: the engine drops it and asks
    /// for one image more.
    Inclusive,
    /// Either: the first page that starts with its marker tells, and from
    /// then on the engine acts as for `Inclusive` (TOAST, whose docs and
    /// servers disagree).
    Detect,
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageToken {
    /// An offset into the ordered catalog.
    Offset(u64),
    /// The id of the last image seen.
    Marker(String),
    /// A next-page link given by the server.
    Link(String),
}

impl PageToken {
    /// Whether the token carries nothing (an empty marker or link), which the
    /// pagination engine treats as a server fault.
    pub fn is_empty(&self) -> bool {
        match self {
            PageToken::Offset(_) => false,
            PageToken::Marker(s) | PageToken::Link(s) => s.is_empty(),
        }
    }
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageToken::Offset(n) => write!(f, "offset {n}"),
            PageToken::Marker(m) => write!(f, "marker {m:?}"),
            PageToken::Link(l) => write!(f, "link {l:?}"),
        }
    }
}

/// One page of a listing (`Page<Image>`, the default) or of an instance
/// listing (`Page<InstanceRef>`), as an adapter returns it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T = Image> {
    /// The items of this page, in the server's order (for instances, only
    /// those not in a final state).
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this was the last page.
    pub next: Option<PageToken>,
    /// How many items the whole listing holds, when the server says.
    pub total: Option<u64>,
    /// What an instance page could see (all tenants, or the caller's own).
    /// An instance page that does not say counts as the caller's own
    /// tenant, the narrowest (an unknown scope never proves an image
    /// unused); image pages leave it `None`.
    pub scope: Option<UsageScope>,
}

impl<T> Page<T> {
    /// A page with its items and the token of the next page.
    pub fn new(items: Vec<T>, next: Option<PageToken>) -> Self {
        Page {
            items,
            next,
            total: None,
            scope: None,
        }
    }

    /// Sets the total the server reported (builder style).
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }

    /// Sets what an instance page could see (builder style).
    pub fn with_scope(mut self, scope: UsageScope) -> Self {
        self.scope = Some(scope);
        self
    }
}

/// What an instance listing asks for: every instance (the default), or
/// the users of one image, where the server can filter (the client checks
/// again anyway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceQuery {
    /// Only instances that may boot from this image (instances whose image
    /// could not be resolved are kept: they may).
    pub image: Option<ImageId>,
    /// The page size to ask for (the backend's default when `None`).
    pub page_size: Option<u32>,
}

impl InstanceQuery {
    /// Every instance.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the instances that may use this image (builder style).
    pub fn image(mut self, id: impl Into<ImageId>) -> Self {
        self.image = Some(id.into());
        self
    }

    /// Sets the page size (builder style).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Whether an instance passes the image filter: it boots from the
    /// image (the two ids compared by the backend's identity `rule`), or
    /// from something unresolved or unreadable (which may be it).
    pub fn matches(&self, rule: IdRule, instance: &InstanceRef) -> bool {
        use crate::usage::BootSource;
        match (&self.image, &instance.boot) {
            (None, _) | (Some(_), BootSource::Unresolved { .. }) => true,
            (Some(want), BootSource::Image { id, .. }) => match rule.canonical(id.as_str()) {
                Some(id) => id == rule.key_of(want),
                None => true,
            },
            (Some(_), _) => false,
        }
    }
}

/// The lazy stream of an instance listing, with the same guarantees as an
/// [`ImageStream`].
pub type InstanceStream = BoxStream<'static, Result<InstanceRef>>;

/// An instance listing plus the scope its pages reported: the narrowest so
/// far, `None` before the first page; and, from the pagination engine, the
/// record that judges whether the walk saw every instance.
pub struct InstanceListing {
    /// The instances.
    pub stream: InstanceStream,
    scope: Arc<Mutex<Option<UsageScope>>>,
    check: Option<Arc<crate::paging::WalkCheck>>,
}

impl fmt::Debug for InstanceListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceListing")
            .field("scope", &self.scope())
            .finish_non_exhaustive()
    }
}

impl InstanceListing {
    /// A listing whose pages narrow `scope` as they arrive (the pagination
    /// engine holds the other end).
    pub fn new(stream: InstanceStream, scope: Arc<Mutex<Option<UsageScope>>>) -> Self {
        InstanceListing {
            stream,
            scope,
            check: None,
        }
    }

    /// Attaches the engine's record of the walk.
    pub(crate) fn with_check(mut self, check: Arc<crate::paging::WalkCheck>) -> Self {
        self.check = Some(check);
        self
    }

    /// Once the stream has ended without an error: `None` when the walk
    /// proved it saw every instance that lived through it (or the listing
    /// did not come from the engine), else the contradiction its pages
    /// showed (a shift between pages, an end short of the total, a
    /// distinct count short of a steady total).
    pub fn verdict(&self) -> Option<String> {
        self.check.as_ref().and_then(|check| check.verdict())
    }

    /// A listing that fails at its first poll with this error.
    pub fn failed(error: Error) -> Self {
        Self::new(
            futures::stream::once(async move { Err(error) }).boxed(),
            Arc::default(),
        )
    }

    /// The narrowest scope any page fetched so far reported.
    pub fn scope(&self) -> Option<UsageScope> {
        *self.scope.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Deleted {
    /// The image was deleted by this call.
    Deleted,
    /// The image was already deleted (or gone after a retried request).
    AlreadyDeleted,
}

/// How a delete runs beyond the image itself. Backends without such
/// resources ignore it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Keep the storage the image is made of (EC2's EBS snapshots), which
    /// a delete otherwise removes where nothing else uses it.
    #[serde(default)]
    pub keep_snapshots: bool,
}

impl DeleteOptions {
    /// The default: the image and what only it uses.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `keep_snapshots` (builder style).
    pub fn keep_snapshots(mut self, yes: bool) -> Self {
        self.keep_snapshots = yes;
        self
    }

    /// Whether these are the defaults (a plan then leaves them out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// What happened to one resource a delete touched beside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DetailResult {
    /// Deleted by this delete.
    Deleted,
    /// Already gone.
    AlreadyDeleted,
    /// Kept on purpose (still in use, or asked to keep it).
    Kept,
    /// The delete of it failed (it is likely still there).
    Failed,
}

impl DetailResult {
    /// The snake-case word (`deleted`, `already_deleted`, `kept`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            DetailResult::Deleted => "deleted",
            DetailResult::AlreadyDeleted => "already_deleted",
            DetailResult::Kept => "kept",
            DetailResult::Failed => "failed",
        }
    }
}

/// One resource a delete touched beside the image (an EC2 snapshot) and
/// what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct DeleteDetail {
    /// What it is (`snapshot`).
    pub kind: String,
    /// Its id (`snap-…`).
    pub id: String,
    /// What happened to it.
    pub result: DetailResult,
    /// Why (the server's code or words, a reason it was kept), when said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl DeleteDetail {
    /// A detail without a message.
    pub fn new(kind: impl Into<String>, id: impl Into<String>, result: DetailResult) -> Self {
        DeleteDetail {
            kind: kind.into(),
            id: id.into(),
            result,
            message: None,
        }
    }

    /// Sets the message (builder style).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl fmt::Display for DeleteDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.result {
            DetailResult::Deleted => "deleted",
            DetailResult::AlreadyDeleted => "already deleted",
            DetailResult::Kept => "kept",
            DetailResult::Failed => "not deleted",
        };
        write!(f, "{} {} {word}", self.kind, self.id)?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

/// What a delete did: the image's [`Deleted`] and, beside it, every other
/// resource it touched ([`DeleteDetail`]; empty on backends that have
/// none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeleteOutcome {
    /// What happened to the image.
    pub deleted: Deleted,
    /// What happened to each other resource.
    pub details: Vec<DeleteDetail>,
}

impl DeleteOutcome {
    /// An outcome with details.
    pub fn new(deleted: Deleted, details: Vec<DeleteDetail>) -> Self {
        DeleteOutcome { deleted, details }
    }
}

impl From<Deleted> for DeleteOutcome {
    fn from(deleted: Deleted) -> Self {
        DeleteOutcome::new(deleted, Vec::new())
    }
}

/// How `get` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GetSupport {
    /// The backend has a show call.
    Native,
    /// Emulated by walking the listing until the id is found.
    Emulated,
}

/// Which [`ListQuery`] filters a backend's server applies itself. The
/// pagination engine applies every filter on the client anyway; these flags
/// say which ones also shrink the traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServerFilters {
    /// Exact name.
    pub name: bool,
    /// Status.
    pub status: bool,
    /// Visibility.
    pub visibility: bool,
    /// Owner.
    pub owner: bool,
    /// Excluding deleted images.
    pub deleted: bool,
    /// Size range.
    pub size: bool,
    /// Creation-time bounds.
    pub created: bool,
    /// Update-time bounds.
    pub updated: bool,
    /// Property values.
    pub properties: bool,
    /// Tags.
    pub tags: bool,
    /// Which sort keys the server orders by (the listing then streams in
    /// the query's order).
    pub sort: ServerSort,
}

/// The sort keys a server orders by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServerSort {
    /// Creation time.
    pub created: bool,
    /// Update time.
    pub updated: bool,
    /// Name.
    pub name: bool,
    /// Size.
    pub size: bool,
}

impl ServerSort {
    /// Sorting by these keys (builder style: all given are true).
    pub fn keys(keys: &[SortKey]) -> Self {
        let mut s = ServerSort::default();
        for key in keys {
            match key {
                SortKey::Created => s.created = true,
                SortKey::Updated => s.updated = true,
                SortKey::Name => s.name = true,
                SortKey::Size => s.size = true,
            }
        }
        s
    }

    /// Whether the server sorts by this key.
    pub fn supports(&self, key: SortKey) -> bool {
        match key {
            SortKey::Created => self.created,
            SortKey::Updated => self.updated,
            SortKey::Name => self.name,
            SortKey::Size => self.size,
        }
    }
}

impl ServerFilters {
    /// No filter is applied by the server.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the name flag (builder style).
    pub fn name(mut self, yes: bool) -> Self {
        self.name = yes;
        self
    }

    /// Sets the status flag (builder style).
    pub fn status(mut self, yes: bool) -> Self {
        self.status = yes;
        self
    }

    /// Sets the visibility flag (builder style).
    pub fn visibility(mut self, yes: bool) -> Self {
        self.visibility = yes;
        self
    }

    /// Sets the owner flag (builder style).
    pub fn owner(mut self, yes: bool) -> Self {
        self.owner = yes;
        self
    }

    /// Sets the deleted flag (builder style).
    pub fn deleted(mut self, yes: bool) -> Self {
        self.deleted = yes;
        self
    }

    /// Sets the size-range flag (builder style).
    pub fn size(mut self, yes: bool) -> Self {
        self.size = yes;
        self
    }

    /// Sets the creation-time flag (builder style).
    pub fn created(mut self, yes: bool) -> Self {
        self.created = yes;
        self
    }

    /// Sets the update-time flag (builder style).
    pub fn updated(mut self, yes: bool) -> Self {
        self.updated = yes;
        self
    }

    /// Sets the property flag (builder style).
    pub fn properties(mut self, yes: bool) -> Self {
        self.properties = yes;
        self
    }

    /// Sets the tag flag (builder style).
    pub fn tags(mut self, yes: bool) -> Self {
        self.tags = yes;
        self
    }

    /// Sets the server-side sort keys (builder style).
    pub fn sort(mut self, sort: ServerSort) -> Self {
        self.sort = sort;
        self
    }
}

/// What a catalog can do, as data (in the manner of OpenDAL's `Capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// How the backend pages.
    pub paging: PagingStyle,
    /// Whether the page after a marker repeats it (marker paging only).
    pub marker: MarkerRule,
    /// Whether pages report the listing's total (allows read-ahead).
    pub reports_total: bool,
    /// The page size used when the query sets none.
    pub default_page_size: u32,
    /// The largest page size the backend accepts.
    pub max_page_size: u32,
    /// How `get` is served.
    pub get: GetSupport,
    /// Whether `delete` is available.
    pub delete: bool,
    /// Whether a deleted image stays visible with status `deleted`.
    pub soft_delete: bool,
    /// Which filters the server applies.
    pub server_filters: ServerFilters,
    /// Whether images carry tags (a tag filter elsewhere is `NotSupported`).
    pub tags: bool,
    /// Whether the catalog can list instances, and the best scope it
    /// expects: `None` when it cannot (no compute endpoint…), so every
    /// usage answer is unknown.
    pub usage: Option<UsageScope>,
    /// How the backend spells image ids: the usage index compares an
    /// instance's image reference and a catalog's image id by this rule.
    pub ids: IdRule,
    /// What retiring an image does here (see [`crate::retire`]); `None`:
    /// the backend cannot retire images, and `retire` is `NotSupported`.
    pub retire: Option<RetireSupport>,
    /// Whether the catalog can tell, for one image, who besides the
    /// caller's tenant may use it ([`ImageCatalog::audience`], GCE's image
    /// IAM policy, EC2's launch permissions): asked only for delete
    /// candidates that a scan of the caller's own tenant found no user of.
    pub audience: bool,
    /// Whether the backend answers "the newest usable image of an image
    /// family" in one request (GCE's `getFromFamily`): then
    /// [`ImageCatalog::family_latest`] asks the server instead of walking
    /// the listing.
    pub family_lookup: bool,
}

impl Capabilities {
    /// Capabilities with the given paging style and default page size, a
    /// native `get`, `delete`, and nothing else.
    pub fn new(paging: PagingStyle, default_page_size: u32, max_page_size: u32) -> Self {
        Capabilities {
            paging,
            marker: MarkerRule::Exclusive,
            reports_total: false,
            default_page_size,
            max_page_size,
            get: GetSupport::Native,
            delete: true,
            soft_delete: false,
            server_filters: ServerFilters::none(),
            tags: false,
            usage: None,
            ids: IdRule::Exact,
            retire: None,
            audience: false,
            family_lookup: false,
        }
    }

    /// Sets what retiring does here (builder style; `None`: cannot retire).
    pub fn retire(mut self, support: Option<RetireSupport>) -> Self {
        self.retire = support;
        self
    }

    /// Sets whether [`ImageCatalog::audience`] answers (builder style).
    pub fn audience(mut self, yes: bool) -> Self {
        self.audience = yes;
        self
    }

    /// Sets `family_lookup` (builder style).
    pub fn family_lookup(mut self, yes: bool) -> Self {
        self.family_lookup = yes;
        self
    }

    /// Sets the identity rule of image ids (builder style).
    pub fn ids(mut self, rule: IdRule) -> Self {
        self.ids = rule;
        self
    }

    /// Sets the instance-listing scope (builder style; `None`: cannot list
    /// instances).
    pub fn usage(mut self, scope: Option<UsageScope>) -> Self {
        self.usage = scope;
        self
    }

    /// Sets `tags` (builder style).
    pub fn tags(mut self, yes: bool) -> Self {
        self.tags = yes;
        self
    }

    /// Whether a listing of this query streams in the query's order: no
    /// sort asked, or the server sorts by its key.
    pub fn streams_sorted(&self, query: &ListQuery) -> bool {
        query
            .sort
            .is_none_or(|s| self.server_filters.sort.supports(s.key))
    }

    /// Sets the marker rule (builder style).
    pub fn marker(mut self, rule: MarkerRule) -> Self {
        self.marker = rule;
        self
    }

    /// Sets `reports_total` (builder style).
    pub fn reports_total(mut self, yes: bool) -> Self {
        self.reports_total = yes;
        self
    }

    /// Sets how `get` is served (builder style).
    pub fn get(mut self, get: GetSupport) -> Self {
        self.get = get;
        self
    }

    /// Sets `delete` (builder style).
    pub fn delete(mut self, yes: bool) -> Self {
        self.delete = yes;
        self
    }

    /// Sets `soft_delete` (builder style).
    pub fn soft_delete(mut self, yes: bool) -> Self {
        self.soft_delete = yes;
        self
    }

    /// Sets the server-side filters (builder style).
    pub fn server_filters(mut self, filters: ServerFilters) -> Self {
        self.server_filters = filters;
        self
    }

    /// The page size to request for a query's (or an instance query's)
    /// `page_size`: the one asked for, clamped to `1..=max_page_size`, or
    /// the default.
    pub fn page_size_for(&self, requested: Option<u32>) -> u32 {
        requested
            .unwrap_or(self.default_page_size)
            .clamp(1, self.max_page_size.max(1))
    }
}

/// Who a catalog is: backend, endpoint (never with a secret) and capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CatalogInfo {
    /// The backend.
    pub backend: BackendKind,
    /// The endpoint, without credentials.
    pub endpoint: String,
    /// What the catalog can do.
    pub capabilities: Capabilities,
}

impl CatalogInfo {
    /// A new description.
    pub fn new(
        backend: BackendKind,
        endpoint: impl Into<String>,
        capabilities: Capabilities,
    ) -> Self {
        CatalogInfo {
            backend,
            endpoint: endpoint.into(),
            capabilities,
        }
    }
}

/// One machine-image catalog: list, inspect and delete images the same way
/// on every cloud. Dyn-compatible: tools hold catalogs as
/// `Arc<dyn ImageCatalog>`. Conveniences live in
/// [`ImageCatalogExt`](crate::ImageCatalogExt).
///
/// Adapters do not implement it: they implement a [`PageSource`](crate::raw::PageSource), and
/// [`Catalog`](crate::Catalog) makes it a catalog, so every backend lists through the one
/// pagination engine and no user can fetch a raw page by accident.
///
/// ```
/// use futures::TryStreamExt;
/// use imagecat_core::{ImageCatalog, InMemoryCatalog, ListQuery};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> imagecat_core::Result<()> {
/// let catalog: Arc<dyn ImageCatalog> = Arc::new(InMemoryCatalog::with_samples(10));
/// let images: Vec<_> = catalog.list(ListQuery::new().page_size(3)).try_collect().await?;
/// assert_eq!(images.len(), 10);
/// let first = catalog.get(&images[0].id).await?;
/// assert_eq!(first, images[0]);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait ImageCatalog: fmt::Debug + Send + Sync {
    /// The backend, endpoint and capabilities.
    fn info(&self) -> CatalogInfo;

    /// Lists every image matching the query as a lazy stream (see
    /// [`ImageStream`]).
    fn list(&self, query: ListQuery) -> ImageStream;

    /// Fetches one image by id.
    async fn get(&self, id: &ImageId) -> Result<Image>;

    /// Deletes one image.
    async fn delete(&self, id: &ImageId) -> Result<Deleted>;

    /// Retires one image the way `request` says (see [`crate::retire`]):
    /// reversibly unusable, the retired-at time stamped on it. The default:
    /// `NotSupported` naming the backend.
    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        let _ = (id, request);
        Err(crate::retire::not_supported(self.info().backend))
    }

    /// Undoes a retire: usable again, the stamp removed. The default:
    /// `NotSupported` naming the backend.
    async fn restore(&self, id: &ImageId) -> Result<()> {
        let _ = id;
        Err(crate::retire::not_supported(self.info().backend))
    }

    /// Deletes one image with options, naming every other resource the
    /// delete touched (EC2's snapshots). The default: [`delete`](Self::delete)
    /// with no details.
    async fn delete_with(&self, id: &ImageId, options: &DeleteOptions) -> Result<DeleteOutcome> {
        let _ = options;
        Ok(self.delete(id).await?.into())
    }

    /// Who the credentials act as on this catalog, when the backend says:
    /// the account or project id that owns the caller's images (DCMGR's
    /// account header, the project of a Keystone token, the tenant of a
    /// TOAST token answer; later EC2's STS account, GCE's project). Never
    /// a secret. `Ok(None)`: the backend does not say (the default).
    async fn caller(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// Lists the instances that are not in a final state (every page,
    /// through the pagination engine's rules), with the scope their pages
    /// reported. The default: `NotSupported` at the first poll.
    fn instance_listing(&self, query: InstanceQuery) -> InstanceListing {
        let _ = query;
        let backend = self.info().backend;
        InstanceListing::failed(
            Error::new(
                ErrorKind::NotSupported,
                format!("{backend} catalogs here cannot list instances"),
            )
            .with_backend(backend),
        )
    }

    /// The instances of [`instance_listing`](Self::instance_listing), as a
    /// lazy stream.
    fn instances(&self, query: InstanceQuery) -> InstanceStream {
        self.instance_listing(query).stream
    }

    /// Who besides the caller's tenant may use this image, as the backend
    /// can prove right now from the image's own grants (GCE: its IAM
    /// policy): `Private` when nobody else is granted it, `Shared` or
    /// `Public` otherwise. Asked only for a delete candidate that a usage
    /// scan of the caller's own tenant would otherwise leave unknown or call
    /// unused (the listing's visibility may not know the shares: EC2)
    /// ([`ImageCatalogExt::candidate_usage`](crate::ImageCatalogExt::candidate_usage)),
    /// never for every image. The default, `Ok(None)`, cannot tell: the
    /// answer stays unknown. [`Capabilities::audience`] says whether a
    /// catalog answers.
    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        let _ = image;
        Ok(None)
    }

    /// The newest usable image of the image family `family`: where the
    /// capabilities say [`family_lookup`](Capabilities::family_lookup),
    /// the backend's own answer in one request (GCE's `getFromFamily`:
    /// the newest image of the family that is not deprecated); otherwise
    /// (the default) the newest active image of the listing whose property
    /// `family` is `family` ([`crate::family::newest_in_family`]).
    /// `NotFound` when the family has none.
    async fn family_latest(&self, family: &str) -> Result<Image> {
        crate::family::newest_in_family(self, family).await
    }
}

/// A catalog held behind dynamic dispatch, the way tools share one.
pub type DynImageCatalog = Arc<dyn ImageCatalog>;

/// Forwards every [`ImageCatalog`] method of a smart pointer to the
/// catalog it holds, so `Arc<dyn ImageCatalog>` and `Box<…>` are catalogs
/// too (a new trait method fails to compile until it is forwarded here).
macro_rules! forward_image_catalog {
    ($($pointer:ident),*) => {$(
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: ImageCatalog + ?Sized> ImageCatalog for $pointer<T> {
            fn info(&self) -> CatalogInfo {
                (**self).info()
            }

            fn list(&self, query: ListQuery) -> ImageStream {
                (**self).list(query)
            }

            async fn get(&self, id: &ImageId) -> Result<Image> {
                (**self).get(id).await
            }

            async fn delete(&self, id: &ImageId) -> Result<Deleted> {
                (**self).delete(id).await
            }

            async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
                (**self).retire(id, request).await
            }

            async fn restore(&self, id: &ImageId) -> Result<()> {
                (**self).restore(id).await
            }

            async fn delete_with(
                &self,
                id: &ImageId,
                options: &DeleteOptions,
            ) -> Result<DeleteOutcome> {
                (**self).delete_with(id, options).await
            }

            async fn caller(&self) -> Result<Option<String>> {
                (**self).caller().await
            }

            fn instance_listing(&self, query: InstanceQuery) -> InstanceListing {
                (**self).instance_listing(query)
            }

            fn instances(&self, query: InstanceQuery) -> InstanceStream {
                (**self).instances(query)
            }

            async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
                (**self).audience(image).await
            }

            async fn family_latest(&self, family: &str) -> Result<Image> {
                (**self).family_latest(family).await
            }
        }
    )*};
}

forward_image_catalog!(Arc, Box);

//! What an adapter implements ([`PageSource`]: one page, get, delete,
//! capabilities) and the [`Catalog`] that turns it into the
//! [`ImageCatalog`] users call, in the manner of object_store's `ListClient`
//! behind `ObjectStore`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use crate::catalog::{
    CatalogInfo, DeleteOptions, DeleteOutcome, Deleted, GetSupport, ImageCatalog, ImageStream,
    InstanceListing, InstanceQuery, Page, PageToken,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Image, ImageId, Visibility};
use crate::paging::{PagingOptions, paginate};
use crate::query::ListQuery;
use crate::retire::{RetireRequest, not_supported};
use crate::usage::InstanceRef;

/// What an adapter implements: its capabilities, one page of images, and
/// (when the backend has the calls) get and delete. The listing stream,
/// the conveniences and an emulated `get` come from [`Catalog`].
#[async_trait]
pub trait PageSource: fmt::Debug + Send + Sync + 'static {
    /// The backend, endpoint and capabilities.
    fn info(&self) -> CatalogInfo;

    /// Fetches one page; `token` is `None` for the first page. Only the
    /// pagination engine calls it.
    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page>;

    /// Validates an id before any request, returning the form the backend
    /// issues (used by the emulated `get`).
    fn check_id(&self, id: &ImageId) -> Result<ImageId> {
        Ok(id.clone())
    }

    /// Fetches one image by id, when the capabilities say `get` is native.
    /// The default says it is not supported; with `GetSupport::Emulated`
    /// the catalog walks the listing instead and never calls this.
    async fn get(&self, id: &ImageId) -> Result<Image> {
        Err(Error::new(
            ErrorKind::NotSupported,
            format!("no show call to get image {id}"),
        )
        .with_backend(self.info().backend))
    }

    /// Deletes one image.
    async fn delete(&self, id: &ImageId) -> Result<Deleted>;

    /// Retires one image as `request` says: makes it unusable by
    /// `request.method` and stamps `request.at` where the capabilities'
    /// [`RetireStamp`](crate::retire::RetireStamp) says. Called only when
    /// the capabilities' `retire` is set, with one of its methods; the
    /// default says it is not supported.
    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        let _ = (id, request);
        Err(not_supported(self.info().backend))
    }

    /// Undoes a retire (usable again, the stamp removed). Called only when
    /// the capabilities' `retire` is set; the default says it is not
    /// supported.
    async fn restore(&self, id: &ImageId) -> Result<()> {
        let _ = id;
        Err(not_supported(self.info().backend))
    }

    /// Deletes one image with options, naming every other resource the
    /// delete touched (see [`ImageCatalog::delete_with`]). The default:
    /// [`delete`](Self::delete) with no details.
    async fn delete_with(&self, id: &ImageId, options: &DeleteOptions) -> Result<DeleteOutcome> {
        let _ = options;
        Ok(self.delete(id).await?.into())
    }

    /// Who the credentials act as (see [`ImageCatalog::caller`]); the
    /// default: the backend does not say.
    async fn caller(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// The newest usable image of an image family in one request, when
    /// the capabilities say `family_lookup` (only then does the catalog
    /// call it). The default says it is not supported.
    async fn family_latest(&self, family: &str) -> Result<Image> {
        Err(Error::new(
            ErrorKind::NotSupported,
            format!("no call answers the newest image of family {family:?}"),
        )
        .with_backend(self.info().backend))
    }

    /// Fetches one page of instances not in a final state (adapters drop
    /// only final states: DCMGR `terminated`, Nova `DELETED`), with the
    /// scope it could see ([`Page::with_scope`]); `token` is `None` for the
    /// first page. Only the pagination engine calls it, and only when the
    /// capabilities' `usage` is set. The default says it is not supported.
    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        let _ = (query, token);
        Err(Error::new(
            ErrorKind::NotSupported,
            "this catalog cannot list instances",
        )
        .with_backend(self.info().backend))
    }

    /// Who besides the caller's tenant may use this image (see
    /// [`ImageCatalog::audience`]); the default cannot tell.
    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        let _ = image;
        Ok(None)
    }
}

/// A source that a builder makes, so that `XCatalog::builder()` works on
/// every adapter's catalog type.
pub trait BuildSource {
    /// The builder.
    type Builder;

    /// A new builder.
    fn builder() -> Self::Builder;
}

/// The [`ImageCatalog`] of every [`PageSource`]: the lazy listing through
/// the pagination engine (tuned by the catalog's [`PagingOptions`], held
/// here and nowhere else), `get` (the source's, or emulated by walking the
/// listing) and `delete`. Cheap to clone when the source is. It does not
/// dereference to its source: a raw page is reached only on purpose,
/// through [`source`](Self::source).
#[derive(Clone)]
pub struct Catalog<S> {
    source: S,
    paging: PagingOptions,
}

impl<S: fmt::Debug> fmt::Debug for Catalog<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl<S> Catalog<S> {
    /// The catalog of a source, with the default paging options.
    pub fn new(source: S) -> Self {
        Catalog {
            source,
            paging: PagingOptions::default(),
        }
    }

    /// Sets the pagination engine's options (builder style).
    pub fn paging_options(mut self, options: PagingOptions) -> Self {
        self.paging = options;
        self
    }

    /// The pagination engine's options of this catalog.
    pub fn paging(&self) -> PagingOptions {
        self.paging
    }

    /// The source: the adapter's own accessors, and its raw pages for
    /// tests that mean to bypass the engine.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The same catalog over a changed source (its paging options kept).
    pub(crate) fn map_source(self, change: impl FnOnce(S) -> S) -> Self {
        Catalog {
            source: change(self.source),
            paging: self.paging,
        }
    }

    /// The source, unwrapped.
    pub fn into_source(self) -> S {
        self.source
    }
}

impl<S: BuildSource> Catalog<S> {
    /// The source's builder.
    pub fn builder() -> S::Builder {
        S::builder()
    }
}

impl<S: PageSource + Clone> Catalog<S> {
    /// Walks the listing (deleted images included) and stops at the image.
    async fn emulated_get(&self, id: &ImageId) -> Result<Image> {
        let wanted = self.source.check_id(id)?;
        let mut stream = self.list(ListQuery::new().include_deleted(true));
        while let Some(item) = stream.next().await {
            let image = item?;
            if image.id.as_str().eq_ignore_ascii_case(wanted.as_str()) {
                return Ok(image);
            }
        }
        Err(Error::not_found(self.source.info().backend, id))
    }
}

#[async_trait]
impl<S: PageSource + Clone> ImageCatalog for Catalog<S> {
    fn info(&self) -> CatalogInfo {
        self.source.info()
    }

    fn list(&self, query: ListQuery) -> ImageStream {
        paginate(Arc::new(self.source.clone()), query, self.paging)
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        match self.source.info().capabilities.get {
            GetSupport::Emulated => self.emulated_get(id).await,
            _ => self.source.get(id).await,
        }
    }

    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.source.delete(id).await
    }

    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        let info = self.source.info();
        let support = info
            .capabilities
            .retire
            .ok_or_else(|| not_supported(info.backend))?;
        // Only one of the backend's own methods reaches the adapter.
        if !support.methods.contains(request.method) {
            support.method(info.backend, Some(request.method.name))?;
            return Err(Error::invalid_input(
                info.backend,
                format!(
                    "{} is not this backend's way to retire",
                    request.method.name
                ),
            ));
        }
        self.source.retire(id, request).await
    }

    async fn restore(&self, id: &ImageId) -> Result<()> {
        let info = self.source.info();
        if info.capabilities.retire.is_none() {
            return Err(not_supported(info.backend));
        }
        self.source.restore(id).await
    }

    async fn delete_with(&self, id: &ImageId, options: &DeleteOptions) -> Result<DeleteOutcome> {
        self.source.delete_with(id, options).await
    }

    async fn caller(&self) -> Result<Option<String>> {
        self.source.caller().await
    }

    async fn family_latest(&self, family: &str) -> Result<Image> {
        if self.source.info().capabilities.family_lookup {
            self.source.family_latest(family).await
        } else {
            crate::family::newest_in_family(self, family).await
        }
    }

    fn instance_listing(&self, query: InstanceQuery) -> InstanceListing {
        let info = self.source.info();
        if info.capabilities.usage.is_none() {
            return InstanceListing::failed(
                Error::new(
                    ErrorKind::NotSupported,
                    format!("this {} catalog cannot list instances", info.backend),
                )
                .with_backend(info.backend),
            );
        }
        paginate(Arc::new(self.source.clone()), query, self.paging)
    }

    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        if !self.source.info().capabilities.audience {
            return Ok(None);
        }
        self.source.audience(image).await
    }
}

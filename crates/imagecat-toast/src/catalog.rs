//! [`ToastSource`]: the [`PageSource`] over the v1.0 API; [`ToastCatalog`] is the
//! core's [`Catalog`] over it, the `ImageCatalog` users hold.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use imagecat_core::{
    BackendKind, BuildSource, Capabilities, Catalog, CatalogInfo, Deleted, Error, ErrorKind,
    GetSupport, Image, ImageId, InstancePage, InstanceQuery, ListQuery, MarkerRule, Page,
    PageSource, PageToken, PagingOptions, PagingStyle, Result, ServerFilters, UsageScope,
};
use imagecat_http::reqwest::Method;
use imagecat_http::{HttpClient, HttpResponse, Idempotency, Url, canonical_uuid, endpoint};

use crate::auth::Auth;
use crate::config::ToastBuilder;
use crate::{instances, wire};

const BACKEND: BackendKind = BackendKind::Toast;

/// Images per request when the query sets no page size: the largest page
/// the server serves (fewer, larger pages list faster, docs/benchmarks.md).
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;
/// The largest page size sent (Glance's `api_limit_max`).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// An NHN Cloud (TOAST) Compute Image API v1.0 catalog. Cheap to clone
/// (clones share the HTTP client and the token cache).
///
/// - `list`: marker paging with an explicit `limit`; works whether the
///   server includes the marker image in the next page (as the docs say) or
///   not (as Glance does): the engine detects it ([`MarkerRule::Detect`]);
/// - `get`: emulated, the API has no show call: walks the listing and stops
///   at the image;
/// - `delete`: `DELETE …/images?id={uuid}`;
/// - instances (usage): one `GET {compute}/v1.0/appkeys/{appkey}/instances-detail`
///   (no paging), scope own tenant: the appkey's project only.
#[derive(Clone)]
pub struct ToastSource {
    inner: Arc<Inner>,
}

/// What a TOAST source holds, shared by its clones; the builder fills it in.
pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) base: Url,
    pub(crate) appkey: String,
    pub(crate) images_url: Url,
    pub(crate) instances_url: Url,
    pub(crate) auth: Auth,
    pub(crate) paging: PagingOptions,
}

impl fmt::Debug for ToastSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToastCatalog")
            .field("endpoint", &endpoint::display(&self.inner.base))
            .field("appkey", &self.inner.appkey)
            .field("instances", &endpoint::display(&self.inner.instances_url))
            .field("auth", &self.inner.auth)
            .field("paging", &self.inner.paging)
            .finish()
    }
}

/// The capabilities of every TOAST catalog.
fn capabilities() -> Capabilities {
    Capabilities::new(PagingStyle::Marker, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        .marker(MarkerRule::Detect)
        .reports_total(false)
        .get(GetSupport::Emulated)
        .delete(true)
        .soft_delete(false)
        .server_filters(ServerFilters::none())
        .usage(Some(UsageScope::OwnTenant))
        .ids(imagecat_core::IdRule::Uuid)
}

/// The catalog users hold: [`ToastSource`] behind the core's [`Catalog`].
pub type ToastCatalog = Catalog<ToastSource>;

impl BuildSource for ToastSource {
    type Builder = ToastBuilder;

    fn builder() -> ToastBuilder {
        ToastBuilder::new()
    }
}

impl ToastSource {
    /// The source over what the builder assembled.
    pub(crate) fn from_parts(inner: Inner) -> Self {
        ToastSource {
            inner: Arc::new(inner),
        }
    }

    /// The API base URL (scheme, host, port and base path).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The URL of the instance listing (`…/instances-detail`).
    pub fn instances_url(&self) -> &Url {
        &self.inner.instances_url
    }

    /// The appkey.
    pub fn appkey(&self) -> &str {
        &self.inner.appkey
    }

    /// Sends one request with the catalog's token (renewed and resent once
    /// when refused, see [`imagecat_http::TokenSource::send`]).
    async fn authed<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        url: &Url,
        handle: impl Fn(HttpResponse) -> Result<T>,
    ) -> Result<T> {
        self.inner
            .auth
            .send(
                &self.inner.http,
                what,
                idempotency,
                method,
                |_| Ok(url.clone()),
                |response, _| handle(response),
            )
            .await
    }

    /// One `GET …/images?limit=N[&marker=ID]`, decoded.
    async fn fetch_page(&self, limit: u32, marker: Option<&str>) -> Result<Vec<Image>> {
        let mut url = self.inner.images_url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("limit", &limit.to_string());
            if let Some(marker) = marker {
                pairs.append_pair("marker", marker);
            }
        }
        self.authed(
            "list images",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| wire::decode_list(&response),
        )
        .await
    }
}

#[async_trait]
impl PageSource for ToastSource {
    fn paging(&self) -> PagingOptions {
        self.inner.paging
    }

    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(BACKEND, endpoint::display(&self.inner.base), capabilities())
    }

    /// One page: `limit` is the query's page size, the marker the last id
    /// of the previous page. The API has no `next` link and its servers may
    /// cap `limit` below the one sent, so a short page is not proof of the
    /// end: the listing ends at an empty page, or a short one that holds
    /// only the marker (one more request than trusting short pages). Whether
    /// the server repeats the marker is the engine's business
    /// ([`MarkerRule::Detect`]): it drops the marker image and asks for one
    /// more.
    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let page_size = capabilities().page_size_for(query);
        let marker = match token {
            None => None,
            Some(PageToken::Marker(marker)) => Some(marker),
            Some(other) => {
                return Err(Error::invalid_input(
                    BACKEND,
                    format!("unsupported page token {other}: TOAST pages by marker"),
                ));
            }
        };
        let marker = marker.as_deref();
        let images = self
            .fetch_page(page_size, marker)
            .await
            .map_err(|e| stale_marker(e, marker))?;
        let only_marker = matches!(images.as_slice(), [one] if Some(one.id.as_str()) == marker);
        let next = if only_marker && page_size > 1 {
            None
        } else {
            images.last().map(|i| PageToken::Marker(i.id.to_string()))
        };
        Ok(Page::new(images, next))
    }

    /// The one page of `instances-detail` (the API has no paging, no image
    /// filter: the engine checks the image on the client). Scope: own
    /// tenant (the appkey's project).
    async fn instance_page(
        &self,
        _query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<InstancePage> {
        if let Some(other) = token {
            return Err(Error::invalid_input(
                BACKEND,
                format!("unsupported page token {other}: the instance list has no paging"),
            ));
        }
        let instances = self
            .authed(
                "list instances",
                Idempotency::Idempotent,
                Method::GET,
                &self.inner.instances_url,
                |response| instances::decode_instances(&response),
            )
            .await?;
        Ok(InstancePage::new(instances, None, UsageScope::OwnTenant))
    }

    /// A UUID, in canonical form (`get` is emulated by the core, which
    /// walks the listing and stops at the image).
    fn check_id(&self, id: &ImageId) -> Result<ImageId> {
        canonical_uuid(BACKEND, id).map(ImageId::new)
    }

    /// `DELETE …/images?id={uuid}`; a retried request that finds the image
    /// gone reports `AlreadyDeleted`.
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        let wanted = canonical_uuid(BACKEND, id)?;
        let mut url = self.inner.images_url.clone();
        url.query_pairs_mut().append_pair("id", &wanted);
        self.authed(
            "delete image",
            Idempotency::NotIdempotent,
            Method::DELETE,
            &url,
            delete_outcome,
        )
        .await
    }
}

/// What a delete answer means: success is `Deleted`; not found is
/// `AlreadyDeleted` when the answer is to a retried request (the first one
/// may have deleted the image), `NotFound` otherwise.
fn delete_outcome(response: HttpResponse) -> Result<Deleted> {
    match wire::decode_ack(&response) {
        Ok(()) => Ok(Deleted::Deleted),
        Err(e) => {
            let documented =
                response.status.is_success() || wire::status_document(&response).is_some();
            response.refused_delete(e, documented)
        }
    }
}

/// A list request whose marker the server refuses (`30400`: Glance's 400
/// "Invalid marker", relayed) means the marker image vanished during the
/// listing: the pagination engine resumes from an earlier image.
fn stale_marker(error: Error, marker: Option<&str>) -> Error {
    match marker {
        Some(marker) if error.kind() == ErrorKind::Api && error.code() == Some("30400") => {
            Error::marker_gone(BACKEND, marker, error.message())
                .with_code(error.code().map(str::to_owned))
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;
    use imagecat_http::reqwest::StatusCode;
    use imagecat_http::reqwest::header::HeaderMap;

    fn response(attempt: u32, body: &str) -> HttpResponse {
        HttpResponse {
            backend: BACKEND,
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec().into(),
            attempt,
        }
    }

    #[test]
    fn a_retried_delete_that_finds_the_image_gone_is_already_deleted() {
        let gone = r#"{"header":{"isSuccessful":false,"resultCode":30404,"resultMessage":"Image with identifier x not found"}}"#;
        let ok = r#"{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"}}"#;
        assert_eq!(delete_outcome(response(1, ok)).unwrap(), Deleted::Deleted);
        assert_eq!(delete_outcome(response(3, ok)).unwrap(), Deleted::Deleted);
        assert_eq!(
            delete_outcome(response(2, gone)).unwrap(),
            Deleted::AlreadyDeleted
        );
        let e = delete_outcome(response(1, gone)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.proves_absence(), "TOAST's own 30404 envelope");
        let protected = r#"{"header":{"isSuccessful":false,"resultCode":30403,"resultMessage":"Image is protected"}}"#;
        let e = delete_outcome(response(2, protected)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    }

    #[test]
    fn capabilities_say_marker_paging_and_emulated_get() {
        let caps = capabilities();
        assert_eq!(caps.paging, PagingStyle::Marker);
        assert!(!caps.reports_total);
        assert_eq!(caps.get, GetSupport::Emulated);
        assert!(caps.delete && !caps.soft_delete);
        assert_eq!(caps.page_size_for(&ListQuery::new()), 1000);
        assert_eq!(caps.page_size_for(&ListQuery::new().page_size(5000)), 1000);
    }
}

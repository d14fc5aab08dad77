//! [`GlanceSource`]: the [`PageSource`] over OpenStack Image v2; [`GlanceCatalog`] is the
//! core's [`Catalog`] over it, the `ImageCatalog` users hold.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use imagecat_core::raw::{BuildSource, Page, PageSource, PageToken};
use imagecat_core::retire::RetireRequest;
use imagecat_core::{
    Capabilities, Catalog, CatalogInfo, Deleted, Error, GetSupport, Image, ImageId, InstanceQuery,
    InstanceRef, ListQuery, PagingStyle, Result, ServerFilters, ServerSort, SortKey,
};
use imagecat_http::reqwest::Method;
use imagecat_http::{HttpClient, HttpResponse, Idempotency, Url, canonical_uuid, endpoint};

use crate::auth::{Auth, Token};
use crate::config::{BACKEND, DEFAULT_PAGE_SIZE, GlanceBuilder, MAX_PAGE_SIZE};
use crate::instances::Usage;
use crate::{error, query, wire};

/// An OpenStack Image v2 (Glance) catalog: NHN Cloud's current Image API
/// and any OpenStack cloud. Cheap to clone (clones share the HTTP client
/// and the token cache).
///
/// - `list`: `GET {base}/v2/images?limit=N[&marker=ID]` plus the filters
///   Glance applies itself (exact name, status, visibility, owner); paging
///   follows the `next` link, never the page length;
/// - `get`: `GET {base}/v2/images/{id}`;
/// - `delete`: `DELETE {base}/v2/images/{id}` (204).
#[derive(Clone)]
pub struct GlanceSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    /// The configured image base; `None` when it comes from the catalog.
    endpoint: Option<Url>,
    auth: Auth,
    /// Compute and block-storage settings (usage).
    usage: Usage,
}

impl fmt::Debug for GlanceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlanceCatalog")
            .field("endpoint", &self.shown_endpoint())
            .field("auth", &self.inner.auth)
            .finish()
    }
}

/// The capabilities of every Glance catalog.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities::new(PagingStyle::Marker, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        .ids(imagecat_core::IdRule::Uuid)
        .reports_total(false)
        .get(GetSupport::Native)
        .delete(true)
        .soft_delete(false)
        .server_filters(
            ServerFilters::none()
                .name(true)
                .status(true)
                .visibility(true)
                .owner(true)
                .deleted(true)
                .size(true)
                .created(true)
                .updated(true)
                .properties(true)
                .tags(true)
                // Only the never-null keys: with a nullable one (name, size)
                // Glance's marker paging loses the rows around a NULL (seen
                // on glance 33: 3 of 24 images sorted by size).
                .sort(ServerSort::keys(&[SortKey::Created, SortKey::Updated])),
        )
        .tags(true)
        .retire(Some(crate::retire::SUPPORT))
}

/// The page of a list answer from the images URL `images`: the next
/// token is the marker of its `next` link (or its last image's id). With
/// no images URL (a body decoded on its own), an absolute link is read
/// against itself and a relative one against `/v2/images`.
pub(crate) fn page_of(response: &HttpResponse, images: Option<&Url>) -> Result<Page> {
    let page = wire::decode_list(response)?;
    let next = match page.next {
        None => None,
        Some(link) => {
            let own;
            let images = match images {
                Some(images) => images,
                None => {
                    own = Url::parse(&link)
                        .or_else(|_| Url::parse("http://glance.invalid/v2/images"))
                        .map_err(|e| response.invalid(format!("the next link: {e}")))?;
                    &own
                }
            };
            let marker = marker_from_next(images, &link)?
                .or_else(|| page.images.last().map(|i| i.id.to_string()))
                .ok_or_else(|| {
                    response.invalid("an empty page with a next link without a marker")
                })?;
            Some(PageToken::Marker(marker))
        }
    };
    Ok(Page::new(page.images, next))
}

/// The marker a `next` link carries, after checking that the link stays on
/// the image endpoint: same scheme, host and port, path `/v2/images` (as
/// Glance writes it, relative to the endpoint) or `{base}/v2/images`.
/// `Ok(None)` when it carries no marker.
pub(crate) fn marker_from_next(images_url: &Url, next: &str) -> Result<Option<String>> {
    link_marker(
        images_url,
        next,
        &["/v2/images", images_url.path()],
        "the image endpoint",
    )
}

/// The marker a next-page link carries, after checking that it resolves
/// (against `base`) to the same scheme, host and port, to one of `paths`,
/// without credentials, with at most one non-empty marker. `endpoint`
/// names the endpoint in errors.
pub(crate) fn link_marker(
    base: &Url,
    next: &str,
    paths: &[&str],
    endpoint: &str,
) -> Result<Option<String>> {
    let bad = |why: String| Error::paging(BACKEND, format!("the next link {next:?} {why}"));
    let resolved = base
        .join(next)
        .map_err(|_| bad("is not a URL reference".into()))?;
    let same_origin = resolved.scheme() == base.scheme()
        && resolved.host_str() == base.host_str()
        && resolved.port_or_known_default() == base.port_or_known_default();
    if !same_origin {
        return Err(bad(format!("leaves {endpoint}'s host")));
    }
    let path = resolved.path().trim_end_matches('/');
    if !paths.iter().any(|p| p.trim_end_matches('/') == path) {
        return Err(bad(format!("does not point at {endpoint}")));
    }
    if !resolved.username().is_empty() || resolved.password().is_some() {
        return Err(bad("carries credentials".into()));
    }
    let markers: Vec<String> = resolved
        .query_pairs()
        .filter(|(k, _)| k == "marker")
        .map(|(_, v)| v.into_owned())
        .collect();
    match markers.as_slice() {
        [] => Ok(None),
        [one] if !one.is_empty() => Ok(Some(one.clone())),
        [_] => Err(bad("has an empty marker".into())),
        _ => Err(bad("has several markers".into())),
    }
}

/// Where a page starts.
enum Start {
    First,
    Marker(String),
    Link(String),
}

/// The catalog users hold: [`GlanceSource`] behind the core's [`Catalog`].
pub type GlanceCatalog = Catalog<GlanceSource>;

impl BuildSource for GlanceSource {
    type Builder = GlanceBuilder;

    fn builder() -> GlanceBuilder {
        GlanceBuilder::new()
    }
}

impl GlanceSource {
    pub(crate) fn from_parts(
        http: HttpClient,
        endpoint: Option<Url>,
        auth: Auth,
        usage: Usage,
    ) -> Self {
        GlanceSource {
            inner: Arc::new(Inner {
                http,
                endpoint,
                auth,
                usage,
            }),
        }
    }

    /// The compute and block-storage settings.
    pub(crate) fn usage(&self) -> &Usage {
        &self.inner.usage
    }

    /// The token source.
    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The image API base: the configured one, or the one the current
    /// token's service catalog named (`None` before the first token).
    pub fn endpoint(&self) -> Option<Url> {
        self.inner
            .endpoint
            .clone()
            .or_else(|| self.inner.auth.peek().and_then(|t| t.extra().image.clone()))
    }

    fn shown_endpoint(&self) -> String {
        match (
            self.endpoint(),
            self.inner.auth.grant().map(|g| g.tokens_url()),
        ) {
            (Some(url), _) => endpoint::display(&url),
            (None, Some(identity)) => format!(
                "{} (image endpoint from the service catalog)",
                endpoint::display(identity)
            ),
            (None, None) => "(no endpoint)".to_owned(),
        }
    }

    /// The HTTP client.
    pub(crate) fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The image API base for a token: the configured one, or the token's.
    pub(crate) fn base_for(&self, token: &Token) -> Result<Url> {
        self.inner
            .endpoint
            .clone()
            .or_else(|| token.extra().image.clone())
            .ok_or_else(|| Error::config(Some(BACKEND), "no image endpoint"))
    }

    /// Sends one request with the catalog's token (renewed and resent once
    /// when refused, see [`imagecat_http::TokenSource::send`]); the URL is
    /// made from the image base (configured, or the token's catalog).
    async fn authed<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        make_url: impl Fn(&Url) -> Result<Url>,
        handle: impl Fn(HttpResponse, &Url) -> Result<T>,
    ) -> Result<T> {
        self.authed_on(
            what,
            idempotency,
            method,
            |token| self.base_for(token),
            make_url,
            |response, base, _| handle(response, base),
        )
        .await
    }

    /// Sends one request to a service of the cloud (images, compute,
    /// block storage) with the catalog's token: `base` picks that
    /// service's base for the token, `handle` reads the answer.
    pub(crate) async fn authed_on<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        base: impl Fn(&Token) -> Result<Url>,
        make_url: impl Fn(&Url) -> Result<Url>,
        handle: impl Fn(HttpResponse, &Url, &Token) -> Result<T>,
    ) -> Result<T> {
        let inner = &self.inner;
        inner
            .auth
            .send(
                &inner.http,
                what,
                idempotency,
                method,
                |token| make_url(&base(token)?),
                |response, token| handle(response, &base(token)?, token),
            )
            .await
    }
}

fn images_url(base: &Url) -> Result<Url> {
    imagecat_http::endpoint::join_segments(BACKEND, base, &["v2", "images"])
}

pub(crate) fn image_url(base: &Url, id: &str) -> Result<Url> {
    imagecat_http::endpoint::join_segments(BACKEND, base, &["v2", "images", id])
}

impl Start {
    /// The marker to send, a link's checked against the endpoint.
    fn marker(&self, images: &Url) -> Result<Option<String>> {
        match self {
            Start::First => Ok(None),
            Start::Marker(m) => Ok(Some(m.clone())),
            Start::Link(link) => marker_from_next(images, link)?
                .map(Some)
                .ok_or_else(|| Error::paging(BACKEND, format!("the link {link:?} has no marker"))),
        }
    }
}

#[async_trait]
impl PageSource for GlanceSource {
    /// The project of the Keystone token (v3 `token.project.id`, v2.0
    /// `access.token.tenant.id`); `None` with a static token, which says
    /// nothing about whose it is.
    async fn caller(&self) -> Result<Option<String>> {
        let auth = &self.inner.auth;
        if auth.grant().is_none() {
            return Ok(None);
        }
        let token = auth.current(&self.inner.http).await?;
        Ok(token.extra().project.clone())
    }

    fn info(&self) -> CatalogInfo {
        let capabilities = capabilities().usage(self.expected_scope());
        CatalogInfo::new(BACKEND, self.shown_endpoint(), capabilities)
    }

    /// One page of Nova servers (see the `nova` module): `all_tenants`
    /// first, the project's own after a 403; volume-booted servers resolved
    /// through Cinder; `DELETED` ones dropped.
    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        let (instances, next, scope) = self
            .server_page(query.image.as_ref(), query.page_size, token)
            .await?;
        Ok(Page::new(instances, next).with_scope(scope))
    }

    /// One page: `limit` is the page size, `marker` the token's marker (a
    /// `Link` token is checked and its marker used), plus the server-side
    /// filters. The next token is the marker of the `next` link (the last
    /// image of the page when the link has none); no `next`, no next page.
    /// A marker the server no longer knows (400) is a stale marker
    /// ([`Error::stale_marker`]), which the engine resumes from.
    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let page_size = capabilities().page_size_for(query.page_size);
        let start = match token {
            None => Start::First,
            Some(PageToken::Marker(m)) => Start::Marker(m),
            Some(PageToken::Link(l)) => Start::Link(l),
            Some(other) => {
                return Err(Error::invalid_input(
                    BACKEND,
                    format!("unsupported page token {other}: Glance pages by marker"),
                ));
            }
        };
        let filters = query::server_filters(query);
        let golden = query::golden_filters(query);
        let make_url = |base: &Url| -> Result<Url> {
            let mut url = images_url(base)?;
            let marker = start.marker(&url)?;
            {
                let mut pairs = url.query_pairs_mut();
                pairs.append_pair("limit", &page_size.to_string());
                if let Some(marker) = &marker {
                    pairs.append_pair("marker", marker);
                }
                for (key, value) in &filters {
                    pairs.append_pair(key, value);
                }
                for (key, value) in &golden {
                    pairs.append_pair(key, value);
                }
            }
            Ok(url)
        };
        let handle = |response: HttpResponse, base: &Url| -> Result<Page> {
            let images = images_url(base)?;
            if !response.status.is_success() {
                let marker = start.marker(&images).ok().flatten();
                return Err(error::decode_list_error(&response, marker.as_deref()));
            }
            page_of(&response, Some(&images))
        };
        self.authed(
            "list images",
            Idempotency::Idempotent,
            Method::GET,
            make_url,
            handle,
        )
        .await
    }

    /// `GET {base}/v2/images/{id}`.
    async fn get(&self, id: &ImageId) -> Result<Image> {
        let wanted = canonical_uuid(BACKEND, id)?;
        self.authed(
            "get image",
            Idempotency::Idempotent,
            Method::GET,
            |base| image_url(base, &wanted),
            |response, _| {
                if !response.status.is_success() {
                    return Err(error::decode_error(&response));
                }
                let image = wire::decode_show(&response)?;
                response.check_id_echo(&wanted, image.id.as_str())?;
                Ok(image)
            },
        )
        .await
    }

    /// Stamps `imagecat_retired_at`, then deactivates (see `retire.rs`).
    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        crate::retire::retire(self, id, request).await
    }

    /// Reactivates, then removes the stamp (see `retire.rs`).
    async fn restore(&self, id: &ImageId) -> Result<()> {
        crate::retire::restore(self, id).await
    }

    /// `DELETE {base}/v2/images/{id}`; a retried request that finds the
    /// image gone reports `AlreadyDeleted`.
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        let wanted = canonical_uuid(BACKEND, id)?;
        self.authed(
            "delete image",
            Idempotency::NotIdempotent,
            Method::DELETE,
            |base| image_url(base, &wanted),
            |response, _| {
                if response.status.is_success() {
                    return Ok(Deleted::Deleted);
                }
                let documented = error::error_document(&response).is_some();
                response.refused_delete(error::decode_error(&response), documented)
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn capabilities_say_marker_paging_native_get_and_server_filters() {
        let caps = capabilities();
        assert_eq!(caps.paging, PagingStyle::Marker);
        assert!(!caps.reports_total);
        assert_eq!(caps.get, GetSupport::Native);
        assert!(caps.delete && !caps.soft_delete);
        assert_eq!(caps.page_size_for(ListQuery::new().page_size), 1000);
        assert_eq!(
            caps.page_size_for(ListQuery::new().page_size(5000).page_size),
            1000
        );
        let f = caps.server_filters;
        assert!(f.name && f.status && f.visibility && f.owner && f.deleted);
    }

    #[test]
    fn next_links_must_stay_on_the_endpoint() {
        let images = Url::parse("https://h:8443/image/v2/images").unwrap();
        let ok = |next: &str| marker_from_next(&images, next).unwrap();
        assert_eq!(
            ok("/v2/images?limit=2&marker=abc&name=x").as_deref(),
            Some("abc")
        );
        assert_eq!(ok("/image/v2/images?marker=abc").as_deref(), Some("abc"));
        assert_eq!(
            ok("https://h:8443/v2/images?marker=a%26b").as_deref(),
            Some("a&b")
        );
        assert_eq!(ok("/v2/images?limit=2"), None);
        for bad in [
            "https://evil.example/v2/images?marker=a",
            "//evil.example/v2/images?marker=a",
            "http://h:8443/v2/images?marker=a",
            "https://h:9999/v2/images?marker=a",
            "/v2/images/../../admin?marker=a",
            "/v2/schemas/images?marker=a",
            "/v2/images?marker=a&marker=b",
            "/v2/images?marker=",
            "https://u:p@h:8443/v2/images?marker=a",
        ] {
            let e = marker_from_next(&images, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{bad}");
        }
    }
}

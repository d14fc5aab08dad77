//! [`DcmgrSource`]: the [`PageSource`] over a DCMGR server; [`DcmgrCatalog`] is the
//! core's [`Catalog`] over it, the `ImageCatalog` users hold.

use std::fmt;
use std::sync::Arc;

use imagecat_core::{
    BackendKind, BuildSource, Capabilities, Catalog, CatalogInfo, Deleted, Error, GetSupport,
    Image, ImageId, ImageStatus, InstancePage, InstanceQuery, ListQuery, Page, PageSource,
    PageToken, PagingOptions, PagingStyle, Result, ServerFilters, Visibility, async_trait,
};
use imagecat_http::{HttpClient, HttpOptions, HttpResponse, Idempotency, Url, endpoint};
use serde_json::value::RawValue;

use crate::config::{
    ACCOUNT_HEADER, DEFAULT_PAGE_SIZE, DcmgrBuilder, MAX_PAGE_SIZE, validate_image_id,
};
use crate::error;
use crate::golden;
use crate::instances;
use crate::wire;

const BACKEND: BackendKind = BackendKind::Dcmgr;

/// A Wakame-vdc DCMGR image catalog (`/api/12.03/images`, or the legacy
/// `/api/images`). A cheap clone: clones share one HTTP client.
///
/// - listing: offset paging (`start`, `limit` on every request), pages read
///   ahead using the reported total, both layouts read without being told;
/// - `get`: `GET {base}/images/{id}`;
/// - `delete`: a soft delete (`DELETE {base}/images/{id}`), after a `GET`
///   that tells an already deleted image apart;
/// - instances (usage): `GET {base}/instances?state=alive&sort_by=id.asc`
///   by offset, scope all tenants without an account, own tenant with one
///   (the server then lists only that account's instances, and other
///   accounts may boot its public images).
#[derive(Clone)]
pub struct DcmgrSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    base: Url,
    account: Option<String>,
    paging: PagingOptions,
}

impl fmt::Debug for DcmgrSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcmgrCatalog")
            .field("endpoint", &endpoint::display(&self.inner.base))
            .field("account", &self.inner.account)
            .field("paging", &self.inner.paging)
            .finish_non_exhaustive()
    }
}

/// The catalog users hold: [`DcmgrSource`] behind the core's [`Catalog`].
pub type DcmgrCatalog = Catalog<DcmgrSource>;

impl BuildSource for DcmgrSource {
    type Builder = DcmgrBuilder;

    fn builder() -> DcmgrBuilder {
        DcmgrBuilder::new()
    }
}

impl DcmgrSource {
    pub(crate) fn new(
        http: HttpClient,
        base: Url,
        account: Option<String>,
        paging: PagingOptions,
    ) -> Self {
        DcmgrSource {
            inner: Arc::new(Inner {
                http,
                base,
                account,
                paging,
            }),
        }
    }

    /// The account sent as `X-VDC-Account-UUID`, if any.
    pub fn account(&self) -> Option<&str> {
        self.inner.account.as_deref()
    }

    /// The API base URL (`…/api/12.03` or `…/api`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The HTTP options in force.
    pub fn http_options(&self) -> &HttpOptions {
        self.inner.http.options()
    }

    fn capabilities() -> Capabilities {
        Capabilities::new(PagingStyle::Offset, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            .reports_total(true)
            .get(GetSupport::Native)
            .delete(true)
            .soft_delete(true)
            .server_filters(ServerFilters::none().deleted(true).owner(true))
            .ids(imagecat_core::IdRule::Prefixed { prefix: "wmi-" })
    }

    /// What the instance listing sees: every account without an account
    /// header, that account only with one.
    fn usage_scope(&self) -> imagecat_core::UsageScope {
        match self.inner.account {
            Some(_) => imagecat_core::UsageScope::OwnTenant,
            None => imagecat_core::UsageScope::AllTenants,
        }
    }

    fn request(
        &self,
        builder: imagecat_http::reqwest::RequestBuilder,
    ) -> imagecat_http::reqwest::RequestBuilder {
        let builder = builder.header("accept", "application/json");
        match &self.inner.account {
            Some(account) => builder.header(ACCOUNT_HEADER, account.as_str()),
            None => builder,
        }
    }

    /// The index URL for one page of a query.
    fn index_url(&self, query: &ListQuery, start: u64, limit: u32) -> Result<Url> {
        let mut url = endpoint::join_segments(BACKEND, &self.inner.base, &["images"])?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("start", &start.to_string());
            pairs.append_pair("limit", &limit.to_string());
            if let Some(state) = state_filter(query) {
                pairs.append_pair("state", state);
            }
            for (key, value) in golden::params(query) {
                pairs.append_pair(key, &value);
            }
            match &self.inner.account {
                // `account_id = me OR is_public = 1`: own and public images.
                // Asking for one's own images only, the OR is left out.
                Some(me) => {
                    if query.owner.as_deref() != Some(me.as_str()) {
                        pairs.append_pair("is_public", "true");
                    }
                }
                // No header: the administrator's view; `account_id` and
                // `is_public` filter (never both: the server ORs them).
                None => {
                    if let Some(owner) = &query.owner {
                        pairs.append_pair("account_id", owner);
                    } else {
                        match query.visibility {
                            Some(Visibility::Public) => {
                                pairs.append_pair("is_public", "true");
                            }
                            Some(Visibility::Private) => {
                                pairs.append_pair("is_public", "false");
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(url)
    }

    fn image_url(&self, id: &ImageId) -> Result<Url> {
        validate_image_id(id)?;
        endpoint::join_segments(BACKEND, &self.inner.base, &["images", id.as_str()])
    }
}

/// The server's `state` filter for a query: `alive` unless deleted images
/// are wanted, `available` or `deleted` when exactly that status is asked
/// for. Legacy servers ignore it; the engine's client-side filter decides.
fn state_filter(query: &ListQuery) -> Option<&'static str> {
    match query.statuses.as_slice() {
        [ImageStatus::Active] => Some("available"),
        [ImageStatus::Deleted] => Some("deleted"),
        _ if query.wants_deleted() => None,
        _ => Some("alive"),
    }
}

/// Builds the page from a decoded index answering `start`.
pub(crate) fn page_of(response: &HttpResponse, start: u64) -> Result<Page> {
    let (images, next, total) = index_of(response, start, "image", wire::decode_image)?;
    let page = Page::new(images, next);
    Ok(match total {
        Some(total) => page.with_total(total),
        None => page,
    })
}

/// Decodes an index answering `start` (images or instances, each decoded
/// by `decode`): the items, the next offset and the total.
pub(crate) fn index_of<T>(
    response: &HttpResponse,
    start: u64,
    noun: &str,
    decode: impl Fn(Box<RawValue>) -> std::result::Result<T, String>,
) -> Result<(Vec<T>, Option<PageToken>, Option<u64>)> {
    let index = wire::decode_index(&response.body).map_err(|e| response.invalid(e))?;
    if let Some(echoed) = index.start {
        if echoed != start {
            return Err(response.invalid(format!(
                "asked for the page at start={start}, the server answered start={echoed}"
            )));
        }
    }
    let len = index.results.len() as u64;
    let mut items = Vec::with_capacity(index.results.len());
    for (n, raw) in index.results.into_iter().enumerate() {
        let item = decode(raw).map_err(|e| {
            response.invalid(format!("{noun} {n} of the page at start={start}: {e}"))
        })?;
        items.push(item);
    }
    let end = start.saturating_add(len);
    // An empty page ends the listing. Reaching the total ends it too, unless
    // the page holds more than the total allows: then the total is wrong and
    // paging goes on until an empty page (the engine stops a server that
    // repeats itself).
    let next = match index.total {
        _ if len == 0 => None,
        Some(total) if end == total => None,
        _ => Some(PageToken::Offset(end)),
    };
    Ok((items, next, index.total))
}

/// What a DELETE answer means. A 404 on a retried attempt means the image
/// went away while we were retrying (our first attempt may have deleted it):
/// already deleted, not an error.
fn delete_outcome(response: &HttpResponse, id: &ImageId) -> Result<Deleted> {
    if !response.status.is_success() {
        let documented = wire::decode_error(&response.body).is_some();
        return response.refused_delete(error::from_response(response), documented);
    }
    let ids = wire::decode_destroyed(&response.body).map_err(|e| response.invalid(e))?;
    if !ids.iter().any(|d| d.eq_ignore_ascii_case(id.as_str())) {
        return Err(response.invalid(format!("asked to delete {id}, the server answered {ids:?}")));
    }
    Ok(Deleted::Deleted)
}

/// The offset of a page token (0 for the first page).
fn offset_of(token: Option<PageToken>) -> Result<u64> {
    match token {
        None => Ok(0),
        Some(PageToken::Offset(start)) => Ok(start),
        Some(other) => Err(Error::invalid_input(
            BACKEND,
            format!("DCMGR pages by offset; {other} is not an offset"),
        )),
    }
}

fn ensure_success(response: &HttpResponse) -> Result<()> {
    if response.status.is_success() {
        Ok(())
    } else {
        Err(error::from_response(response))
    }
}

#[async_trait]
impl PageSource for DcmgrSource {
    fn paging(&self) -> PagingOptions {
        self.inner.paging
    }

    /// The account sent as `X-VDC-Account-UUID`: the server scopes the
    /// listing to it, and its images are the caller's.
    async fn caller(&self) -> Result<Option<String>> {
        Ok(self.inner.account.clone())
    }

    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(
            BACKEND,
            endpoint::display(&self.inner.base),
            golden::capabilities(Self::capabilities(), &self.inner.base)
                .usage(Some(self.usage_scope())),
        )
    }

    /// One page of `GET {base}/instances?state=alive&sort_by=id.asc` at an
    /// offset (DCMGR has no image filter: the engine checks on the client).
    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<InstancePage> {
        let start = offset_of(token)?;
        let limit = query.page_size_for(&Self::capabilities());
        let url = instances::index_url(&self.inner.base, start, limit)?;
        let scope = self.usage_scope();
        self.inner
            .http
            .send(
                "list instances",
                Idempotency::Idempotent,
                |client| self.request(client.get(url.clone())),
                |response| {
                    ensure_success(&response)?;
                    instances::page_of(&response, start, scope)
                },
            )
            .await
    }

    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let start = offset_of(token)?;
        let limit = Self::capabilities().page_size_for(query);
        let url = self.index_url(query, start, limit)?;
        self.inner
            .http
            .send(
                "list images",
                Idempotency::Idempotent,
                |client| self.request(client.get(url.clone())),
                |response| {
                    ensure_success(&response)?;
                    page_of(&response, start)
                },
            )
            .await
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        let url = self.image_url(id)?;
        self.inner
            .http
            .send(
                "get image",
                Idempotency::Idempotent,
                |client| self.request(client.get(url.clone())),
                |response| {
                    ensure_success(&response)?;
                    let image =
                        wire::decode_show(&response.body).map_err(|e| response.invalid(e))?;
                    response.check_id_echo(id.as_str(), image.id.as_str())?;
                    Ok(image)
                },
            )
            .await
    }

    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        let url = self.image_url(id)?;
        // DELETE answers 200 even for a deleted image, so look first.
        let current = self.get(id).await?;
        if current.status == ImageStatus::Deleted {
            return Ok(Deleted::AlreadyDeleted);
        }
        self.inner
            .http
            .send(
                "delete image",
                Idempotency::NotIdempotent,
                |client| self.request(client.delete(url.clone())),
                |response| delete_outcome(&response, id),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;
    use imagecat_http::reqwest::StatusCode;
    use imagecat_http::reqwest::header::HeaderMap;

    fn response(status: u16, body: &str, attempt: u32) -> HttpResponse {
        HttpResponse {
            backend: BACKEND,
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.to_owned().into(),
            attempt,
        }
    }

    #[test]
    fn delete_answers() {
        let id = ImageId::new("wmi-4yalh576");
        let gone = r#"{"error":"Dcmgr::Endpoints::Errors::UnknownUUIDResource","message":"wmi-4yalh576","code":"100"}"#;
        assert!(matches!(
            delete_outcome(&response(200, r#"["wmi-4yalh576"]"#, 1), &id),
            Ok(Deleted::Deleted)
        ));
        assert!(matches!(
            delete_outcome(&response(404, gone, 2), &id),
            Ok(Deleted::AlreadyDeleted)
        ));
        let first = delete_outcome(&response(404, gone, 1), &id).err().unwrap();
        assert_eq!(first.kind(), ErrorKind::NotFound);
        assert!(first.proves_absence(), "DCMGR's own code 100 document");
        let other = delete_outcome(&response(200, r#"["wmi-other"]"#, 1), &id)
            .err()
            .unwrap();
        assert_eq!(other.kind(), ErrorKind::InvalidResponse);
        // A bare 404 (a proxy's page) on a retry proves nothing: an error,
        // never `AlreadyDeleted`.
        let html = delete_outcome(&response(404, "<h1>Not Found</h1>", 2), &id)
            .err()
            .unwrap();
        assert_eq!(html.kind(), ErrorKind::NotFound);
        assert!(!html.proves_absence());
    }

    #[test]
    fn page_ends() {
        let page = |body: &str, start| page_of(&response(200, body, 1), start);
        let doc = r#"{"id":"wmi-a"}"#;
        // Full pages until the total.
        let p = page(
            &format!(r#"[{{"total":3,"start":0,"limit":2,"results":[{doc},{{"id":"wmi-b"}}]}}]"#),
            0,
        )
        .unwrap();
        assert_eq!(p.next, Some(PageToken::Offset(2)));
        assert_eq!(p.total, Some(3));
        let p = page(
            &format!(r#"[{{"total":3,"start":2,"limit":2,"results":[{doc}]}}]"#),
            2,
        )
        .unwrap();
        assert_eq!(p.next, None);
        // An empty page ends, whatever the total says.
        let p = page(r#"[{"total":30,"start":10,"limit":250,"results":[]}]"#, 10).unwrap();
        assert_eq!(p.next, None);
        // More than the total allows: the total is wrong, keep going.
        let p = page(
            &format!(r#"{{"owner_total":1,"start":0,"result":[{doc},{{"id":"wmi-b"}}]}}"#),
            0,
        )
        .unwrap();
        assert_eq!(p.next, Some(PageToken::Offset(2)));
        // No total: keep going until an empty page.
        let p = page(&format!(r#"{{"result":[{doc}]}}"#), 5).unwrap();
        assert_eq!((p.next, p.total), (Some(PageToken::Offset(6)), None));
        // A page that answers another start is refused.
        let e = page(
            &format!(r#"[{{"total":9,"start":0,"results":[{doc}]}}]"#),
            4,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert!(e.to_string().contains("start=4"), "{e}");
    }

    #[test]
    fn state_filters() {
        assert_eq!(state_filter(&ListQuery::new()), Some("alive"));
        assert_eq!(state_filter(&ListQuery::new().include_deleted(true)), None);
        assert_eq!(
            state_filter(&ListQuery::new().status(ImageStatus::Active)),
            Some("available")
        );
        assert_eq!(
            state_filter(&ListQuery::new().status(ImageStatus::Deleted)),
            Some("deleted")
        );
        assert_eq!(
            state_filter(
                &ListQuery::new()
                    .status(ImageStatus::Deleted)
                    .status(ImageStatus::Active)
            ),
            None
        );
        assert_eq!(
            state_filter(&ListQuery::new().status(ImageStatus::Queued)),
            Some("alive")
        );
    }
}

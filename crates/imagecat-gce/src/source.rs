//! [`GceSource`]: the [`PageSource`] over the Compute v1 images API;
//! [`GceCatalog`] is the core's [`Catalog`] over it.
//!
//! - `list`: `GET {base}projects/{p}/global/images?maxResults=N[&pageToken=T]`,
//!   paged by the opaque `nextPageToken` (carried as [`PageToken::Link`]);
//! - `get`: `GET {base}projects/{p}/global/images/{name}`;
//! - `delete`: `DELETE {base}projects/{p}/global/images/{name}`, which answers
//!   a `compute#operation`; the operation is read again
//!   (`GET {base}projects/{p}/global/operations/{op}`, with the HTTP retry
//!   policy's backoff between reads, a bounded number of times) until it is
//!   `DONE`. A `DONE` operation with an `error` is mapped as the error
//!   document of the same status would be ([`crate::decode_error`]);
//! - `family_latest`: `GET {base}projects/{p}/global/images/family/{f}`
//!   (`getFromFamily`: the newest image of the family that is not
//!   deprecated), one request;
//! - a read-only catalog (a public image project such as `debian-cloud`)
//!   marks its images public, says no caller (so nothing in it is the
//!   caller's) and refuses a delete before any request.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use imagecat_core::raw::{BuildSource, Page, PageSource, PageToken};
use imagecat_core::retire::RetireRequest;
use imagecat_core::{
    Capabilities, Catalog, CatalogInfo, Deleted, Error, ErrorKind, GetSupport, IdRule, Image,
    ImageId, InstanceQuery, InstanceRef, ListQuery, PagingStyle, Result, ServerFilters, UsageScope,
    Visibility,
};
use imagecat_http::reqwest::Method;
use imagecat_http::{HttpClient, HttpResponse, Idempotency, TokenSource, Url, endpoint};
use serde::Deserialize;
use serde_json::json;

use crate::auth::GceGrant;
use crate::config::{BACKEND, DEFAULT_PAGE_SIZE, GceBuilder, GceTarget, MAX_PAGE_SIZE};
use crate::{error, wire};

/// A Compute Engine images catalog of one project. Cheap to clone (clones
/// share the HTTP client and the token cache).
#[derive(Clone)]
pub struct GceSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    target: GceTarget,
    auth: TokenSource<GceGrant>,
    operation_polls: u32,
    walks: crate::instances::Walks,
    read_only: bool,
}

impl fmt::Debug for GceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GceCatalog")
            .field("endpoint", &endpoint::display(&self.inner.target.endpoint))
            .field("project", &self.inner.target.project)
            .field("read_only", &self.inner.read_only)
            .field("auth", &self.inner.auth)
            .finish()
    }
}

/// The capabilities of every GCE catalog: the opaque `nextPageToken`
/// (marker-style paging whose token the engine carries as a link), at most
/// 500 per page, no total, a native `get`, hard delete (none in a
/// read-only catalog), name, status and property filters sent in the
/// `filter` expression ([`crate::query`]), `getFromFamily`, ids by
/// [`IdRule::GcePath`]; usage by the project's disks, instances, templates
/// and groups (the caller's own tenant), with an image's IAM policy read
/// for delete candidates (`audience`); retire by deprecation (see
/// `retire.rs`).
pub(crate) fn capabilities(read_only: bool) -> Capabilities {
    Capabilities::new(PagingStyle::Marker, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        .ids(IdRule::GcePath)
        .usage(Some(UsageScope::OwnTenant))
        .audience(true)
        .reports_total(false)
        .get(GetSupport::Native)
        .delete(!read_only)
        .soft_delete(false)
        .family_lookup(true)
        .retire(Some(crate::retire::SUPPORT))
        .server_filters(
            ServerFilters::none()
                .name(true)
                .status(true)
                .properties(true),
        )
}

/// The catalog users hold: [`GceSource`] behind the core's [`Catalog`].
pub type GceCatalog = Catalog<GceSource>;

impl BuildSource for GceSource {
    type Builder = GceBuilder;

    fn builder() -> GceBuilder {
        GceBuilder::new()
    }
}

/// GCE's resource name pattern, RFC 1035: `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`.
pub fn is_resource_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && (bytes[bytes.len() - 1].is_ascii_lowercase() || bytes[bytes.len() - 1].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// An Operation, as far as the wait reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    target_link: Option<String>,
    #[serde(default)]
    error: Option<OperationErrorWire>,
    #[serde(default)]
    http_error_status_code: Option<u16>,
    #[serde(default)]
    http_error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OperationErrorWire {
    #[serde(default)]
    errors: Vec<OperationErrorItem>,
}

#[derive(Debug, Deserialize)]
struct OperationErrorItem {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Where an operation stands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpState {
    /// `PENDING` or `RUNNING`: read it again (its name).
    Running(String),
    /// `DONE` without an error.
    Done,
}

/// Reads an Operation answer: `DONE` with an `error` is that error, mapped
/// as Google's error document of `httpErrorStatusCode` would be; `what`
/// names the operation (`delete`, `deprecate`) in its errors.
pub(crate) fn decode_operation(
    response: &HttpResponse,
    wanted: &ImageId,
    what: &str,
) -> Result<OpState> {
    if response.body.trim_ascii_start().first() != Some(&b'{') {
        return Err(response.invalid("the operation is not a JSON object"));
    }
    let op: OperationWire = response
        .json()
        .map_err(|e| response.invalid(format!("cannot decode the operation: {e}")))?;
    if let Some(target) = op.target_link.as_deref().filter(|t| !t.is_empty()) {
        if IdRule::GcePath.canonical(target).as_ref() != Some(wanted) {
            return Err(response.invalid(format!(
                "the operation's target {target:?} is not image {wanted}"
            )));
        }
    }
    match op.status.as_deref() {
        Some("DONE") => match op.error {
            Some(e) if !e.errors.is_empty() => Err(operation_error(
                what,
                op.http_error_status_code,
                op.http_error_message,
                e.errors,
            )),
            _ => Ok(OpState::Done),
        },
        Some("PENDING" | "RUNNING") => {
            let name = op
                .name
                .filter(|n| is_operation_name(n))
                .ok_or_else(|| response.invalid("a running operation without a usable name"))?;
            Ok(OpState::Running(name))
        }
        Some(other) => Err(response.invalid(format!("unknown operation status {other:?}"))),
        None => Err(response.invalid("the operation has no status")),
    }
}

/// An operation name as GCE makes them (`operation-1700000000000-…`):
/// letters, digits, `-` and `_`, at most 128.
fn is_operation_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The error of a `DONE` operation: the document Google would have sent
/// with `httpErrorStatusCode` (each `errors[].code` as a reason), mapped by
/// [`error::decode_error`]; without a status, an `Api` error.
fn operation_error(
    what: &str,
    status: Option<u16>,
    http_message: Option<String>,
    errors: Vec<OperationErrorItem>,
) -> Error {
    let message = errors
        .iter()
        .filter_map(|e| e.message.as_deref())
        .collect::<Vec<_>>()
        .join("; ");
    let message = match (message.is_empty(), http_message) {
        (false, _) => message,
        (true, Some(m)) => m,
        (true, None) => "the operation failed".to_owned(),
    };
    let message = format!("the {what} operation failed: {message}");
    let reasons: Vec<serde_json::Value> = errors
        .iter()
        .filter_map(|e| e.code.as_deref())
        .map(|code| json!({ "reason": code }))
        .collect();
    match status.filter(|s| (400..=599).contains(s)) {
        Some(status) => {
            let body =
                json!({ "error": { "code": status, "message": message, "errors": reasons } });
            let response = HttpResponse::from_body(
                BACKEND,
                status,
                serde_json::to_vec(&body).unwrap_or_default(),
            );
            error::decode_error(&response)
        }
        None => Error::new(ErrorKind::Api, message)
            .with_backend(BACKEND)
            .with_code(errors.iter().find_map(|e| e.code.clone())),
    }
}

impl GceSource {
    pub(crate) fn from_parts(
        http: HttpClient,
        target: GceTarget,
        auth: TokenSource<GceGrant>,
        operation_polls: u32,
        read_only: bool,
    ) -> Self {
        GceSource {
            inner: Arc::new(Inner {
                http,
                target,
                auth,
                operation_polls,
                walks: crate::instances::Walks::default(),
                read_only,
            }),
        }
    }

    /// Whether this catalog lists its project read-only (a public image
    /// project): no delete is sent, its images are not the caller's.
    pub fn read_only(&self) -> bool {
        self.inner.read_only
    }

    /// An image as this catalog shows it: in a read-only project, public
    /// and protected from deletion (so a clean-up plan keeps it as
    /// `protected` even when told the project is the caller's).
    fn shown(&self, mut image: Image) -> Image {
        if self.inner.read_only {
            image.visibility = Some(Visibility::Public);
            image.protected = Some(true);
        }
        image
    }

    /// The project listed.
    pub fn project(&self) -> &str {
        &self.inner.target.project
    }

    /// The Compute v1 base.
    pub fn endpoint(&self) -> &Url {
        &self.inner.target.endpoint
    }

    /// The usage listing's open walks.
    pub(crate) fn walks(&self) -> &crate::instances::Walks {
        &self.inner.walks
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url> {
        imagecat_http::endpoint::join_segments(BACKEND, &self.inner.target.endpoint, segments)
    }

    /// One request with the catalog's bearer token (renewed and resent once
    /// when refused, see [`TokenSource::send`]).
    pub(crate) async fn authed<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        url: &Url,
        handle: impl Fn(HttpResponse) -> Result<T>,
    ) -> Result<T> {
        let inner = &self.inner;
        inner
            .auth
            .send(
                &inner.http,
                what,
                idempotency,
                method,
                |_| Ok(url.clone()),
                |response, _| handle(response),
            )
            .await
    }

    /// [`authed`](Self::authed) with a JSON body (`deprecate`,
    /// `setLabels`), sent again as it is when the token is renewed.
    pub(crate) async fn authed_json<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        url: &Url,
        body: &serde_json::Value,
        handle: impl Fn(HttpResponse) -> Result<T>,
    ) -> Result<T> {
        let inner = &self.inner;
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        inner
            .auth
            .send_body(
                &inner.http,
                what,
                idempotency,
                Method::POST,
                Some(("application/json", &bytes)),
                |_| Ok(url.clone()),
                |response, _| handle(response),
            )
            .await
    }

    /// Reads the `what` operation `name` of `project` until it is `DONE`,
    /// at most the configured number of times, with the retry policy's
    /// backoff.
    async fn wait(
        &self,
        what: &str,
        project: &str,
        mut name: String,
        wanted: &ImageId,
    ) -> Result<()> {
        let polls = self.inner.operation_polls;
        let retry = self.inner.http.options().retry;
        for attempt in 1..=polls {
            tokio::time::sleep(retry.backoff_for(attempt)).await;
            let url = self.url(&["projects", project, "global", "operations", &name])?;
            let state = self
                .authed(
                    &format!("wait for the {what} operation"),
                    Idempotency::Idempotent,
                    Method::GET,
                    &url,
                    |response| {
                        if !response.status.is_success() {
                            // a missing operation says nothing about the image
                            let e = error::decode_error(&response);
                            return Err(match e.kind() {
                                ErrorKind::NotFound => Error::new(
                                    ErrorKind::Api,
                                    format!("the {what} operation {name} of image {wanted} cannot be read: {e}"),
                                )
                                .with_backend(BACKEND)
                                .with_status(response.status.as_u16()),
                                _ => e,
                            });
                        }
                        decode_operation(&response, wanted, what)
                    },
                )
                .await?;
            match state {
                OpState::Done => return Ok(()),
                OpState::Running(next) => name = next,
            }
        }
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "the {what} operation {name} of image {wanted} was not DONE after {polls} reads"
            ),
        )
        .with_backend(BACKEND))
    }

    /// The canonical id of an image this catalog may change, checked
    /// before any request: refused in a read-only (public image) project
    /// and for an image of another project; `verb` says what is not done
    /// (`deleted`, `retired`).
    pub(crate) fn writable(&self, id: &ImageId, verb: &str) -> Result<ImageId> {
        let wanted = self.check_id(id)?;
        if self.inner.read_only {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "project {} is a public image project, listed read-only: \
                     image {wanted} is not {verb}",
                    self.project()
                ),
            )
            .with_backend(BACKEND));
        }
        if project_and_name(&wanted).0 != self.project() {
            return Err(Error::invalid_input(
                BACKEND,
                format!(
                    "image {wanted} is not in project {}, the project of this catalog: \
                     it is not {verb}",
                    self.project()
                ),
            ));
        }
        Ok(wanted)
    }

    /// An operation's first answer carried to `DONE` (read again while it
    /// runs).
    pub(crate) async fn finish(
        &self,
        what: &str,
        project: &str,
        state: OpState,
        wanted: &ImageId,
    ) -> Result<()> {
        match state {
            OpState::Done => Ok(()),
            OpState::Running(op) => self.wait(what, project, op, wanted).await,
        }
    }
}

/// The project and name of a canonical `projects/{p}/global/images/{n}`.
pub(crate) fn project_and_name(id: &ImageId) -> (&str, &str) {
    let rest = id.as_str().strip_prefix("projects/").unwrap_or_default();
    let (project, rest) = rest.split_once('/').unwrap_or_default();
    (project, rest.rsplit('/').next().unwrap_or_default())
}

#[async_trait]
impl PageSource for GceSource {
    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(
            BACKEND,
            format!(
                "{} (project {})",
                endpoint::display(&self.inner.target.endpoint),
                self.inner.target.project
            ),
            capabilities(self.inner.read_only),
        )
    }

    /// The project the catalog acts on, whose images are the caller's;
    /// `None` for a read-only (public image) project.
    async fn caller(&self) -> Result<Option<String>> {
        Ok((!self.inner.read_only).then(|| self.inner.target.project.clone()))
    }

    /// One page: `maxResults` is the page size, `pageToken` the previous
    /// page's `nextPageToken`; no token (or an empty one), no next page.
    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let page_size = capabilities(self.inner.read_only).page_size_for(query.page_size);
        let page_token = match token {
            None => None,
            Some(PageToken::Link(t)) => Some(t),
            Some(other) => {
                return Err(Error::invalid_input(
                    BACKEND,
                    format!("unsupported page token {other}: GCE pages by nextPageToken"),
                ));
            }
        };
        let project = self.project();
        let mut url = self.url(&["projects", project, "global", "images"])?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("maxResults", &page_size.to_string());
            // re-sent with every page, as Google's clients do
            if let Some(filter) = crate::query::filter_expression(query) {
                pairs.append_pair("filter", &filter);
            }
            if let Some(t) = &page_token {
                pairs.append_pair("pageToken", t);
            }
        }
        self.authed(
            "list images",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(error::decode_error(&response));
                }
                wire::decode_list(&response, Some(project))
            },
        )
        .await
        .map(|mut page| {
            page.items = page.items.into_iter().map(|i| self.shown(i)).collect();
            page
        })
    }

    /// A bare image name (in this catalog's project), a
    /// `projects/P/global/images/N` path or a full link, as the canonical
    /// path; anything else (a family, a numeric id, a bad name) is
    /// `InvalidInput`.
    fn check_id(&self, id: &ImageId) -> Result<ImageId> {
        let text = id.as_str();
        let canonical = if is_resource_name(text) {
            IdRule::GcePath.canonical(&format!("projects/{}/global/images/{text}", self.project()))
        } else {
            IdRule::GcePath.canonical(text)
        };
        canonical.ok_or_else(|| {
            Error::invalid_input(
                BACKEND,
                format!(
                    "{text:?} is not a GCE image name ([a-z]([-a-z0-9]{{0,61}}[a-z0-9])?) \
                     or projects/PROJECT/global/images/NAME"
                ),
            )
        })
    }

    /// `GET …/projects/{p}/global/images/{name}`, the answer checked to be
    /// the image asked for.
    async fn get(&self, id: &ImageId) -> Result<Image> {
        let wanted = self.check_id(id)?;
        let (project, name) = project_and_name(&wanted);
        let url = self.url(&["projects", project, "global", "images", name])?;
        self.authed(
            "get image",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(error::decode_error(&response));
                }
                let image = wire::decode_show(&response, Some(project))?;
                response.check_id_echo(wanted.as_str(), image.id.as_str())?;
                Ok(image)
            },
        )
        .await
        .map(|i| self.shown(i))
    }

    /// `GET …/projects/{p}/global/images/family/{family}` (`getFromFamily`),
    /// the answer checked to be an image of this project and family. A
    /// family that is not a GCE name is `InvalidInput` before any request;
    /// a family without a usable image is `NotFound`.
    async fn family_latest(&self, family: &str) -> Result<Image> {
        if !is_resource_name(family) {
            return Err(Error::invalid_input(
                BACKEND,
                format!(
                    "{:?} is not a GCE image family ([a-z]([-a-z0-9]{{0,61}}[a-z0-9])?)",
                    imagecat_http::scrub(family)
                ),
            ));
        }
        let project = self.project();
        let url = self.url(&["projects", project, "global", "images", "family", family])?;
        self.authed(
            "get the newest image of a family",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(error::decode_error(&response));
                }
                let image = wire::decode_show(&response, Some(project))?;
                if image.owner.as_deref() != Some(project)
                    || image.properties.get("family") != Some(family)
                {
                    return Err(response.invalid(format!(
                        "asked for the newest image of family {family} in project {project}, \
                         the server answered image {} of family {:?}",
                        image.id,
                        image.properties.get("family").unwrap_or_default()
                    )));
                }
                Ok(image)
            },
        )
        .await
        .map(|i| self.shown(i))
    }

    /// One page of the usage listing: disks, instances, instance templates
    /// and managed instance groups, each an aggregated list (see the
    /// `instances` module).
    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        crate::instances::page(self, query, token).await
    }

    /// Who besides the project may use the image: its IAM policy.
    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        crate::instances::audience(self, image).await
    }

    /// Stamps the `imagecat-retired-at` label, then deprecates (see
    /// `retire.rs`).
    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        crate::retire::retire(self, id, request).await
    }

    /// Clears the deprecation, then removes the label (see `retire.rs`).
    async fn restore(&self, id: &ImageId) -> Result<()> {
        crate::retire::restore(self, id).await
    }

    /// `DELETE …/projects/{p}/global/images/{name}`, then the Operation
    /// waited for. A `notFound` document proves the image absent (a retried
    /// DELETE that finds it gone is `AlreadyDeleted`); a bare 404 proves
    /// nothing.
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        let wanted = self.writable(id, "deleted")?;
        let (project, name) = project_and_name(&wanted);
        let url = self.url(&["projects", project, "global", "images", name])?;
        let state = self
            .authed(
                "delete image",
                Idempotency::NotIdempotent,
                Method::DELETE,
                &url,
                |response| {
                    if !response.status.is_success() {
                        let documented = error::error_document(&response.body).is_some();
                        return response
                            .refused_delete(error::decode_error(&response), documented)
                            .map(Err);
                    }
                    decode_operation(&response, &wanted, "delete").map(Ok)
                },
            )
            .await?;
        match state {
            Err(already) => Ok(already),
            Ok(OpState::Done) => Ok(Deleted::Deleted),
            Ok(OpState::Running(op)) => self
                .wait("delete", project, op, &wanted)
                .await
                .map(|()| Deleted::Deleted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_data() {
        let caps = capabilities(false);
        assert!(caps.family_lookup && caps.server_filters.name);
        assert!(!capabilities(true).delete);
        assert_eq!(caps.paging, PagingStyle::Marker);
        assert!(!caps.reports_total);
        assert_eq!(caps.get, GetSupport::Native);
        assert!(caps.delete && !caps.soft_delete);
        assert_eq!(
            caps.page_size_for(ListQuery::new().page_size(5000).page_size),
            500
        );
    }

    #[test]
    fn resource_names_are_rfc1035() {
        for ok in ["a", "a1", "debian-12-bookworm-v20240110", &"a".repeat(63)] {
            assert!(is_resource_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "-a",
            &"a".repeat(64),
            "ä",
        ] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }

    fn op(body: &str) -> Result<OpState> {
        let wanted = ImageId::from("projects/p1/global/images/a");
        decode_operation(
            &HttpResponse::from_body(BACKEND, 200, body.as_bytes().to_vec()),
            &wanted,
            "delete",
        )
    }

    #[test]
    fn operations_decode_and_done_errors_map_like_error_documents() {
        assert_eq!(
            op(r#"{"name":"operation-1","status":"RUNNING","targetLink":"https://x/compute/v1/projects/p1/global/images/a"}"#).unwrap(),
            OpState::Running("operation-1".into())
        );
        assert_eq!(
            op(r#"{"name":"operation-1","status":"DONE"}"#).unwrap(),
            OpState::Done
        );
        let e = op(r#"{"status":"DONE","httpErrorStatusCode":403,"error":{"errors":[{"code":"forbidden","message":"no"}]}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let e = op(r#"{"status":"DONE","httpErrorStatusCode":400,"error":{"errors":[{"code":"resourceInUseByAnotherResource","message":"used"}]}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        let e =
            op(r#"{"status":"DONE","error":{"errors":[{"code":"X","message":"m"}]}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        for bad in [
            r#"{"status":"RUNNING"}"#,
            r#"{"name":"../x","status":"RUNNING"}"#,
            r#"{"name":"o","status":"WAITING"}"#,
            r#"{"name":"o","status":"DONE","targetLink":"projects/p1/global/images/b"}"#,
            r#"["o","DONE"]"#,
            "{}",
        ] {
            assert_eq!(
                op(bad).unwrap_err().kind(),
                ErrorKind::InvalidResponse,
                "{bad}"
            );
        }
    }
}

//! [`Ec2Source`]: the [`PageSource`] over EC2's Query API; [`Ec2Catalog`] is
//! the core's [`Catalog`] over it, the `ImageCatalog` users hold.
//!
//! Every call is a signed `POST /` of a Query-protocol form
//! ([`crate::protocol`]) through the shared [`HttpClient`] (retries with
//! backoff on throttling and 5xx, the body cap, the time budget, secret
//! scrubbing); each attempt is signed afresh ([`crate::sign`]), so a retry
//! never replays a stale `X-Amz-Date`.
//!
//! - listing: `DescribeImages Owner.N=… [Filter.N…] [IncludeDeprecated]
//!   [IncludeDisabled] MaxResults=… [NextToken=…]`, the opaque `nextToken`
//!   carried as [`PageToken::Link`] (an absent or empty one ends the
//!   listing); the query's filters that EC2 has go to the server
//!   ([`crate::query`]) and the engine re-checks every one;
//! - `get`: `DescribeImages ImageId.1=… IncludeDisabled=true
//!   IncludeDeprecated=true`, never with `MaxResults` (EC2 refuses the pair
//!   on DescribeInstances and may on DescribeImages) nor an owner;
//! - `delete`: `DeregisterImage`, then the AMI's snapshots
//!   ([`crate::delete`]);
//! - `retire` / `restore`: disable or deprecate, tagged
//!   `imagecat:retired-at` ([`crate::retire`]).

use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use imagecat_core::raw::{BuildSource, Page, PageSource, PageToken};
use imagecat_core::retire::RetireRequest;
use imagecat_core::usage::{InstanceRef, UsageScope};
use imagecat_core::{
    Capabilities, Catalog, CatalogInfo, DeleteOptions, DeleteOutcome, Deleted, Error, ErrorKind,
    GetSupport, IdRule, Image, ImageId, InstanceQuery, ListQuery, MarkerRule, PagingStyle, Result,
    ServerFilters, Visibility, async_trait,
};
use imagecat_http::reqwest::header::{CONTENT_TYPE, HOST};
use imagecat_http::{HttpClient, HttpOptions, HttpResponse, Idempotency, Url, endpoint};

use crate::config::{
    BACKEND, DEFAULT_PAGE_SIZE, Ec2Builder, MAX_PAGE_SIZE, MIN_PAGE_SIZE, validate_image_id,
};
use crate::credentials::{CredentialProvider, Credentials};
use crate::error;
use crate::protocol::{CONTENT_TYPE as FORM_CONTENT_TYPE, DescribeImages, Form};
use crate::sign::{self, Scope};
use crate::sts::{self, StsTarget};
use crate::wire::{self, xml};

/// EC2's identity rule for image ids: `ami-` and a lower-case body. The
/// core's `Prefixed` rule fits (hex digits are word characters), so no new
/// variant.
pub const ID_RULE: IdRule = IdRule::Prefixed { prefix: "ami-" };

/// The SigV4 signing name of EC2.
const SERVICE: &str = "ec2";

/// An AWS EC2 AMI catalog in one region. A cheap clone: clones share one
/// HTTP client and one credential provider.
#[derive(Clone)]
pub struct Ec2Source {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    endpoint: Url,
    region: String,
    owners: Vec<String>,
    options: SourceOptions,
    /// The provider, wrapped by the builder in a
    /// [`RefreshingProvider`](crate::credentials::RefreshingProvider)
    /// (the shared token machinery caches and renews before expiry).
    credentials: Arc<dyn CredentialProvider>,
    /// Where STS is, for `GetCallerIdentity`.
    sts: StsTarget,
    /// The account `GetCallerIdentity` answered, asked once per catalog.
    caller: OnceLock<String>,
}

/// What a catalog does beyond its endpoint and owners (the URL options
/// `include_deprecated`, `include_disabled`, `keep_snapshots`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SourceOptions {
    /// List deprecated AMIs too (`IncludeDeprecated=true`; the owner sees
    /// their own anyway).
    pub(crate) include_deprecated: bool,
    /// List disabled AMIs too (`IncludeDisabled=true`; EC2 hides them).
    pub(crate) include_disabled: bool,
    /// Never delete snapshots on delete.
    pub(crate) keep_snapshots: bool,
}

impl fmt::Debug for Ec2Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ec2Catalog")
            .field("endpoint", &endpoint::display(&self.inner.endpoint))
            .field("region", &self.inner.region)
            .field("owners", &self.inner.owners)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// The catalog users hold: [`Ec2Source`] behind the core's [`Catalog`].
pub type Ec2Catalog = Catalog<Ec2Source>;

impl BuildSource for Ec2Source {
    type Builder = Ec2Builder;

    fn builder() -> Ec2Builder {
        Ec2Builder::new()
    }
}

impl Ec2Source {
    pub(crate) fn from_parts(
        http: HttpClient,
        endpoint: Url,
        region: String,
        owners: Vec<String>,
        options: SourceOptions,
        credentials: Arc<dyn CredentialProvider>,
        sts: StsTarget,
    ) -> Self {
        Ec2Source {
            inner: Arc::new(Inner {
                http,
                endpoint,
                region,
                owners,
                options,
                credentials,
                sts,
                caller: OnceLock::new(),
            }),
        }
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The owners listed (`Owner.N`).
    pub fn owners(&self) -> &[String] {
        &self.inner.owners
    }

    /// Whether deletes keep the snapshots (the URL's `keep_snapshots`).
    pub fn keeps_snapshots(&self) -> bool {
        self.inner.options.keep_snapshots
    }

    /// Whether listings ask for deprecated and disabled AMIs too.
    pub fn includes(&self) -> (bool, bool) {
        (
            self.inner.options.include_deprecated,
            self.inner.options.include_disabled,
        )
    }

    /// The endpoint every request goes to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The HTTP options in force.
    pub fn http_options(&self) -> &HttpOptions {
        self.inner.http.options()
    }

    /// What the backend can do, as data.
    pub fn capabilities() -> Capabilities {
        // EC2's opaque `nextToken` is a next-page link to the engine:
        // marker paging, exclusive (a token never repeats an image), no
        // total. The filters EC2 has go to the server too (query.rs);
        // the engine applies every one on the client anyway.
        Capabilities::new(PagingStyle::Marker, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            .marker(MarkerRule::Exclusive)
            .reports_total(false)
            .get(GetSupport::Native)
            .delete(true)
            .soft_delete(false)
            .server_filters(
                ServerFilters::none()
                    .name(true)
                    .status(true)
                    .visibility(true)
                    .tags(true)
                    .properties(true),
            )
            .tags(true)
            .ids(ID_RULE)
            .usage(Some(UsageScope::OwnTenant))
            .retire(Some(crate::retire::SUPPORT))
            // DescribeImages' isPublic cannot tell a private AMI from one
            // shared with accounts: launchPermission can (audience.rs).
            .audience(true)
    }

    /// Credentials for one operation, from the provider (the builder's
    /// [`RefreshingProvider`](crate::credentials::RefreshingProvider)
    /// caches them and renews them before expiry, single flight).
    async fn credentials(&self) -> Result<Credentials> {
        self.inner.credentials.credentials().await
    }

    /// Where STS is for this catalog.
    pub fn sts(&self) -> &StsTarget {
        &self.inner.sts
    }

    /// Sends one signed Query-protocol request (each attempt signed
    /// afresh) and hands every answer, failures included, to `handle`
    /// with the access key id it was signed with (for scrubbing).
    pub(crate) async fn send_signed<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        form: &Form,
        handle: impl FnMut(&HttpResponse, &str) -> Result<T>,
    ) -> Result<T> {
        let call = Call {
            service: SERVICE,
            target: None,
            content_type: FORM_CONTENT_TYPE,
            body: form.encode(),
        };
        self.send_to(what, idempotency, &call, handle).await
    }

    /// Sends one signed `POST` of `call` to its service's endpoint
    /// ([`service_endpoint`](Self::service_endpoint)); every answer goes
    /// to `handle` with the access key id it was signed with.
    pub(crate) async fn send_to<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        call: &Call,
        mut handle: impl FnMut(&HttpResponse, &str) -> Result<T>,
    ) -> Result<T> {
        let credentials = self.credentials().await?;
        let url = self.service_endpoint(call.service)?;
        let host = host_header(&url)?;
        self.inner
            .http
            .send(
                what,
                idempotency,
                |client| signed(client, &url, &host, call, &credentials, &self.inner.region),
                |response| handle(&response, credentials.access_key_id()),
            )
            .await
    }

    /// The endpoint of an AWS service the backend calls (`ec2`,
    /// `autoscaling`, `ssm`, `sts`): AWS's own host for the region when the
    /// EC2 endpoint is AWS's (`ec2.REGION.amazonaws.com` becomes
    /// `SERVICE.REGION.amazonaws.com`), else the configured endpoint itself
    /// (an `ec2+http` emulator or moto serves every service on one port).
    pub(crate) fn service_endpoint(&self, service: &str) -> Result<Url> {
        let url = &self.inner.endpoint;
        let region = &self.inner.region;
        let aws = format!("{SERVICE}.{region}.{}", crate::config::dns_suffix(region));
        if service == SERVICE || url.host_str() != Some(aws.as_str()) {
            return Ok(url.clone());
        }
        let mut other = url.clone();
        other
            .set_host(Some(&format!(
                "{service}.{region}.{}",
                crate::config::dns_suffix(region)
            )))
            .map_err(|e| Error::config(Some(BACKEND), format!("no {service} endpoint: {e}")))?;
        Ok(other)
    }

    /// [`send_signed`](Self::send_signed) for calls whose failures are all
    /// errors: a failure is decoded as EC2's error document (scrubbed of
    /// the secret and the access key id), a success goes to `handle`.
    pub(crate) async fn call<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        form: &Form,
        mut handle: impl FnMut(&HttpResponse) -> Result<T>,
    ) -> Result<T> {
        self.send_signed(what, idempotency, form, |response, key_id| {
            if response.status.is_success() {
                handle(response)
            } else {
                Err(error::decode_error(response, Some(key_id)))
            }
        })
        .await
    }
}

/// The `Host` header as reqwest sends it: the host, and the port when it is
/// not the scheme's default.
fn host_header(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::config(Some(BACKEND), "the endpoint has no host"))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// One signed `POST` to an AWS service: a Query-protocol form (EC2, Auto
/// Scaling) or a JSON-protocol body with its `X-Amz-Target` (SSM).
#[derive(Debug)]
pub(crate) struct Call {
    /// The SigV4 signing name (`ec2`, `autoscaling`, `ssm`).
    pub(crate) service: &'static str,
    /// The JSON protocol's `X-Amz-Target` (`AmazonSSM.GetParameter`).
    pub(crate) target: Option<&'static str>,
    /// The body's content type.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: String,
}

/// One attempt's request: the call POSTed to the endpoint, signed now.
fn signed(
    client: &imagecat_http::reqwest::Client,
    url: &Url,
    host: &str,
    call: &Call,
    credentials: &Credentials,
    region: &str,
) -> imagecat_http::reqwest::RequestBuilder {
    let mut headers = vec![
        ("content-type".to_owned(), call.content_type.to_owned()),
        ("host".to_owned(), host.to_owned()),
    ];
    if let Some(target) = call.target {
        headers.push(("x-amz-target".to_owned(), target.to_owned()));
    }
    let request = sign::Request {
        method: "POST",
        path: url.path(),
        query: &[],
        headers: &headers,
        body: call.body.as_bytes(),
    };
    let scope = Scope {
        region,
        service: call.service,
    };
    let signature = sign::sign(&request, credentials, scope, Utc::now());
    let accept = if call.target.is_some() {
        "application/json"
    } else {
        "text/xml"
    };
    let mut builder = client
        .post(url.clone())
        .header(HOST, host)
        .header(CONTENT_TYPE, call.content_type)
        .header("accept", accept);
    if let Some(target) = call.target {
        builder = builder.header("x-amz-target", target);
    }
    for (name, value) in signature.headers() {
        builder = builder.header(name, value);
    }
    builder.body(call.body.clone())
}

/// The `MaxResults` for a query: its page size (or the default) within
/// EC2's 5–1000.
pub(crate) fn max_results(query: &ListQuery) -> u32 {
    Ec2Source::capabilities()
        .page_size_for(query.page_size)
        .max(MIN_PAGE_SIZE)
}

/// The `NextToken` of a page token (none for the first page).
fn next_token(token: Option<PageToken>) -> Result<Option<String>> {
    match token {
        None => Ok(None),
        Some(PageToken::Link(token)) => Ok(Some(token)),
        Some(other) => Err(Error::invalid_input(
            BACKEND,
            format!("EC2 pages by its own nextToken; {other} is not one"),
        )),
    }
}

/// A DescribeImages page decoded from a successful answer.
fn page_of(response: &HttpResponse) -> Result<Page> {
    wire::decode_describe_images(&response.body).map_err(|e| response.attach(e))
}

/// The one image a `DescribeImages ImageId.1=id` answered: an empty set
/// (asked with `IncludeDisabled` and `IncludeDeprecated`, so nothing is
/// hidden) is EC2's own word that it is gone (deregistered AMIs vanish from
/// the answer); another id or several images are refused.
fn shown(response: &HttpResponse, id: &ImageId) -> Result<Image> {
    let page = page_of(response)?;
    let mut items = page.items.into_iter();
    match (items.next(), items.next()) {
        (None, _) => Err(Error::not_found(BACKEND, id)),
        (Some(image), None) => {
            response.check_id_echo(id.as_str(), image.id.as_str())?;
            Ok(image)
        }
        (Some(_), Some(_)) => Err(response.invalid(format!(
            "asked for image {id}, the server answered several images"
        ))),
    }
}

/// What a DeregisterImage answer means: `<return>true</return>` deleted;
/// `InvalidAMIID.Unavailable` (EC2's word for an AMI already deregistered)
/// already deleted; `InvalidAMIID.NotFound` an error proving absence, or
/// already deleted when it answers a retried attempt; anything else an
/// error.
pub(crate) fn deregister_outcome(
    response: &HttpResponse,
    id: &ImageId,
    access_key_id: &str,
) -> Result<Deleted> {
    if !response.status.is_success() {
        let document = error::document(&response.body);
        let unavailable = document
            .as_ref()
            .is_some_and(|d| d.code == "InvalidAMIID.Unavailable");
        if unavailable {
            return Ok(Deleted::AlreadyDeleted);
        }
        let err = error::decode_error(response, Some(access_key_id));
        return response.refused_delete(err, document.is_some());
    }
    let invalid = |message: String| response.invalid(format!("DeregisterImage {id}: {message}"));
    let root = xml::parse(&response.body).map_err(|e| invalid(e.to_string()))?;
    if root.name != "DeregisterImageResponse" {
        return Err(invalid(format!(
            "expected <DeregisterImageResponse>, got <{}>",
            root.name
        )));
    }
    match root.text_of("return").map_err(|e| invalid(e.to_string()))? {
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(Deleted::Deleted),
        Some(text) => Err(Error::new(
            ErrorKind::Api,
            format!("DeregisterImage {id} answered <return>{text}</return>"),
        )
        .with_backend(BACKEND)
        .with_status(response.status.as_u16())),
        None => Err(invalid("no <return>".to_owned())),
    }
}

#[async_trait]
impl PageSource for Ec2Source {
    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(
            BACKEND,
            endpoint::display(&self.inner.endpoint),
            Self::capabilities(),
        )
    }

    fn check_id(&self, id: &ImageId) -> Result<ImageId> {
        validate_image_id(id)
    }

    /// The account the credentials act as: STS `GetCallerIdentity`
    /// (at the `ec2+http` endpoint, `sts_endpoint=`, or the region's STS),
    /// asked once per catalog.
    async fn caller(&self) -> Result<Option<String>> {
        if let Some(account) = self.inner.caller.get() {
            return Ok(Some(account.clone()));
        }
        let credentials = self.credentials().await?;
        let identity =
            sts::get_caller_identity(&self.inner.http, &self.inner.sts, &credentials).await?;
        Ok(Some(
            self.inner.caller.get_or_init(|| identity.account).clone(),
        ))
    }

    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let listing = crate::query::listing(query, &self.inner.options);
        let request = DescribeImages {
            owners: self.inner.owners.clone(),
            filters: listing.filters,
            include_deprecated: listing.include_deprecated.then_some(true),
            include_disabled: listing.include_disabled.then_some(true),
            max_results: Some(max_results(query)),
            next_token: next_token(token)?,
            ..DescribeImages::default()
        };
        self.call(
            "list images",
            Idempotency::Idempotent,
            &request.form(),
            page_of,
        )
        .await
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        let id = validate_image_id(id)?;
        // ImageId without an owner (an AMI shared with the caller is shown
        // too) and never with MaxResults; disabled and deprecated AMIs
        // asked for too, so an empty answer means gone, not hidden.
        let request = DescribeImages {
            image_ids: vec![id.as_str().to_owned()],
            include_deprecated: Some(true),
            include_disabled: Some(true),
            ..DescribeImages::default()
        };
        self.call(
            "get image",
            Idempotency::Idempotent,
            &request.form(),
            |response| shown(response, &id),
        )
        .await
    }

    /// The usage listing: instances, every launch-template version, Auto
    /// Scaling and the server's image references ([`crate::instances`]).
    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        crate::instances::instance_page(self, query, token).await
    }

    /// Tags `imagecat:retired-at`, then disables or deprecates (see
    /// `retire.rs`).
    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        crate::retire::retire(self, id, request).await
    }

    /// Enables or undeprecates, then removes the tag (see `retire.rs`).
    async fn restore(&self, id: &ImageId) -> Result<()> {
        crate::retire::restore(self, id).await
    }

    /// Who may launch the AMI besides its owner: its launch permissions
    /// ([`crate::audience`]), asked for delete candidates only.
    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        crate::audience::audience(self, image).await
    }

    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        Ok(self
            .delete_ami(id, &DeleteOptions::default())
            .await?
            .deleted)
    }

    async fn delete_with(&self, id: &ImageId, options: &DeleteOptions) -> Result<DeleteOutcome> {
        self.delete_ami(id, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, attempt: u32) -> HttpResponse {
        let mut response = HttpResponse::from_body(BACKEND, status, body.to_owned());
        response.attempt = attempt;
        response
    }

    const NOT_FOUND: &str = "<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code>\
        <Message>The image id '[ami-12345678]' does not exist</Message></Error></Errors>\
        <RequestID>r</RequestID></Response>";

    #[test]
    fn capabilities_are_data() {
        let caps = Ec2Source::capabilities();
        assert_eq!(caps.paging, PagingStyle::Marker);
        assert_eq!(caps.marker, MarkerRule::Exclusive);
        assert!(!caps.reports_total);
        assert_eq!(caps.get, GetSupport::Native);
        assert!(caps.delete && !caps.soft_delete);
        assert_eq!(caps.ids, ID_RULE);
        assert_eq!(caps.usage, Some(UsageScope::OwnTenant));
        let retire = caps.retire.expect("EC2 can retire");
        assert_eq!(retire.methods[0].name, "disable", "the default");
        assert_eq!(retire.methods[1].name, "deprecate");
        assert_eq!(retire.stamp.key, "tag:imagecat:retired-at");
        assert_eq!(retire.last_launched, Some("lastLaunchedTime"));
        assert!(caps.audience);
        assert_eq!(max_results(&ListQuery::new()), 1000);
        assert_eq!(max_results(&ListQuery::new().page_size(5000)), 1000);
        assert_eq!(max_results(&ListQuery::new().page_size(1)), 5);
        assert_eq!(max_results(&ListQuery::new().page_size(42)), 42);
    }

    #[test]
    fn deregister_answers() {
        let id = ImageId::new("ami-12345678");
        let ok = "<DeregisterImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                  <requestId>r</requestId><return>true</return></DeregisterImageResponse>";
        assert_eq!(
            deregister_outcome(&response(200, ok, 1), &id, "AKID").unwrap(),
            Deleted::Deleted
        );
        let e = deregister_outcome(&response(400, NOT_FOUND, 1), &id, "AKID").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.proves_absence(), "EC2's own InvalidAMIID.NotFound");
        assert_eq!(
            deregister_outcome(&response(400, NOT_FOUND, 2), &id, "AKID").unwrap(),
            Deleted::AlreadyDeleted,
            "a retried deregister that finds it gone"
        );
        let gone = NOT_FOUND.replace("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable");
        assert_eq!(
            deregister_outcome(&response(400, &gone, 1), &id, "AKID").unwrap(),
            Deleted::AlreadyDeleted
        );
        // A proxy's 404 proves nothing.
        let e =
            deregister_outcome(&response(404, "<h1>Not Found</h1>", 2), &id, "AKID").unwrap_err();
        assert!(!e.proves_absence());
        let e = deregister_outcome(
            &response(
                200,
                "<DeregisterImageResponse><return>false</return></DeregisterImageResponse>",
                1,
            ),
            &id,
            "AKID",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        let e = deregister_outcome(&response(200, "<html/>", 1), &id, "AKID").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }

    #[test]
    fn get_answers() {
        let id = ImageId::new("ami-12345678");
        let set = |items: &str| {
            format!(
                "<DescribeImagesResponse><imagesSet>{items}</imagesSet></DescribeImagesResponse>"
            )
        };
        let item = |id: &str| {
            format!("<item><imageId>{id}</imageId><imageState>available</imageState></item>")
        };
        let e = shown(&response(200, &set(""), 1), &id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            shown(&response(200, &set(&item("ami-12345678")), 1), &id)
                .unwrap()
                .id,
            id
        );
        let other = shown(&response(200, &set(&item("ami-87654321")), 1), &id).unwrap_err();
        assert_eq!(other.kind(), ErrorKind::InvalidResponse);
        let two = format!("{}{}", item("ami-12345678"), item("ami-12345678"));
        let e = shown(&response(200, &set(&two), 1), &id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }

    #[test]
    fn tokens_are_links() {
        assert_eq!(next_token(None).unwrap(), None);
        assert_eq!(
            next_token(Some(PageToken::Link("t".into()))).unwrap(),
            Some("t".into())
        );
        assert_eq!(
            next_token(Some(PageToken::Offset(3))).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}

//! OpenStack Image v2 (Glance) backend of imagecat: NHN Cloud's current
//! Image API (`https://{kr1|kr2|kr3|jp1}-api-image-infrastructure.nhncloudservice.com`)
//! and every OpenStack cloud.
//!
//! The API: `GET {base}/v2/images?limit={n}&marker={id}` (paged by the
//! `next` link), `GET {base}/v2/images/{id}` and
//! `DELETE {base}/v2/images/{id}` with the header `X-Auth-Token`. Tokens
//! are static or come from Keystone v2.0 (`tenantId` +
//! `passwordCredentials`, as NHN Cloud's identity service takes them) or v3
//! (password, application credential or token); the image endpoint may come
//! from the token's service catalog. Settings come from the builder, the
//! `OS_*` environment or `clouds.yaml`.
//!
//! The crate follows the adapter template (docs/architecture.md, "How to
//! add a backend"), laid out as the request flows:
//!
//! - `config`: [`BACKEND`], [`SCHEMES`], the page sizes and
//!   [`GlanceBuilder`] (endpoint, credentials, region, options, the `OS_*`
//!   environment, `from_url`);
//! - `clouds`: `clouds.yaml` and `secure.yaml`, as openstacksdk reads them
//!   ([`CloudsFiles`], [`GlanceBuilder::cloud`]);
//! - `auth`: the token source (static, Keystone v2.0 or v3, the service
//!   catalog's image endpoint) over `imagecat_http::TokenSource` (cached, renewed before
//!   expiry, single flight, re-obtained once when refused);
//! - `source`: [`GlanceSource`], the [`imagecat_core::raw::PageSource`]
//!   (marker paging by `next` links), and [`GlanceCatalog`], the core's
//!   `Catalog` over it;
//! - `query`: the filters, date, tag and property parameters and the sort
//!   Glance applies itself;
//! - `instances`: Nova servers (and Cinder volumes) behind usage;
//! - `wire`: image (`wire/image.rs`), page and token documents;
//! - `error`: webob and Keystone error documents to imagecat errors, a
//!   refused marker.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use imagecat_core::{ImageCatalog, ListQuery};
//! use imagecat_glance::GlanceBuilder;
//!
//! # async fn run() -> imagecat_core::Result<()> {
//! // OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_REGION_NAME, …
//! let catalog = GlanceBuilder::from_env().build()?;
//! let images: Vec<_> = catalog.list(ListQuery::new()).try_collect().await?;
//! # Ok(()) }
//! ```

mod auth;
mod clouds;
mod config;
mod error;
mod instances;
mod query;
mod retire;
mod source;
mod wire;

pub use clouds::CloudsFiles;
pub use config::{
    BACKEND, DEFAULT_DOMAIN, DEFAULT_PAGE_SIZE, DEFAULT_RENEW_MARGIN, ENV_ENDPOINT,
    ENV_OS_COMPUTE_URL, ENV_OS_IMAGE_URL, ENV_OS_VOLUME_URL, GlanceBuilder, MAX_PAGE_SIZE, SCHEMES,
};
pub use instances::DEFAULT_SERVER_PAGE;
pub use retire::RETIRED_AT;
pub use source::{GlanceCatalog, GlanceSource};

/// Decodes the body of a list answer (`{"images":[…],"next":…}`) into the
/// page exactly as the catalog makes it (the next token is the marker of
/// the `next` link, read against itself or `/v2/images`), errors included: for
/// fixtures, fuzzing and benchmarks. The same entry point in every adapter;
/// Glance's pages do not depend on the token asked for (an offset token is
/// refused, as by the catalog).
pub fn decode_page_body(
    body: &[u8],
    token: Option<imagecat_core::raw::PageToken>,
) -> imagecat_core::Result<imagecat_core::raw::Page> {
    use imagecat_core::raw::PageToken;
    if let Some(other @ PageToken::Offset(_)) = token {
        return Err(imagecat_core::Error::invalid_input(
            BACKEND,
            format!("unsupported page token {other}: Glance pages by marker"),
        ));
    }
    let response = imagecat_http::HttpResponse::from_body(BACKEND, 200, body.to_vec());
    source::page_of(&response, None)
}

/// NHN Cloud's public Image API v2 endpoints, by region (the `image`
/// entries of its Keystone service catalog).
pub const NHN_ENDPOINTS: [(&str, &str); 4] = [
    (
        "KR1",
        "https://kr1-api-image-infrastructure.nhncloudservice.com",
    ),
    (
        "KR2",
        "https://kr2-api-image-infrastructure.nhncloudservice.com",
    ),
    (
        "KR3",
        "https://kr3-api-image-infrastructure.nhncloudservice.com",
    ),
    (
        "JP1",
        "https://jp1-api-image-infrastructure.nhncloudservice.com",
    ),
];

/// NHN Cloud's Keystone v2.0 identity endpoint (one for every region).
pub const NHN_IDENTITY_URL: &str = "https://api-identity-infrastructure.nhncloudservice.com/v2.0";

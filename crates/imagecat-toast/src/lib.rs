//! NHN Cloud (TOAST) Compute Image API v1.0 backend of imagecat.
//!
//! The API: `GET {base}/v1.0/appkeys/{appkey}/images?limit={n}&marker={id}`
//! and `DELETE {base}/v1.0/appkeys/{appkey}/images?id={uuid}` with the
//! header `X-Auth-Token`; tokens from
//! `POST {base}/v1.0/appkeys/{appkey}/tokens`. Every answer is an envelope
//! `{"header":{"isSuccessful","resultCode","resultMessage"}, …}`, and
//! failures come back as HTTP 200 with `isSuccessful: false`.
//!
//! The crate follows the adapter template (docs/architecture.md, "How to
//! add a backend"), laid out as the request flows:
//!
//! - `config`: [`BACKEND`], [`SCHEMES`], the page sizes and
//!   [`ToastBuilder`] (endpoint, appkey, credentials, options, `from_url`);
//! - `auth`: the token source (static token, or username and API password
//!   exchanged for cached tokens renewed before they expire, single flight,
//!   re-obtained once when refused);
//! - `source`: [`ToastSource`], the [`imagecat_core::raw::PageSource`], and
//!   [`ToastCatalog`], the core's `Catalog` over it, the `ImageCatalog`
//!   (marker paging, `get` by walking the listing, `delete`);
//! - `instances`: the Compute Instance API v1.0 listing behind usage
//!   (`GET {compute}/v1.0/appkeys/{appkey}/instances-detail`);
//! - `wire`: the envelope and the image and token documents;
//! - `error`: the `resultCode` → error mapping, error documents, a refused
//!   marker;
//! - no `query`: the API takes no server-side filter;
//! - lenient decoding is shared with other adapters: `imagecat_core::raw::lenient`.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use imagecat_core::{ImageCatalog, ListQuery};
//! use imagecat_toast::ToastCatalog;
//!
//! # async fn run() -> imagecat_core::Result<()> {
//! let catalog = ToastCatalog::builder()
//!     .appkey("my-appkey")
//!     .token(std::env::var("TOKEN").unwrap_or_default().into())
//!     .build()?;
//! let images: Vec<_> = catalog.list(ListQuery::new()).try_collect().await?;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod error;
mod instances;
mod source;
mod wire;

pub use config::{
    BACKEND, DEFAULT_ENDPOINT, DEFAULT_PAGE_SIZE, DEFAULT_RENEW_MARGIN, ENV_APPKEY, ENV_ENDPOINT,
    ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME, MAX_PAGE_SIZE, SCHEMES, ToastBuilder,
};
pub use source::{ToastCatalog, ToastSource};

/// Decodes the body of a list answer (`{"header":…,"images":[…]}`) to a
/// request at `token` (`None`: the first page) into the page exactly as the
/// catalog makes it (default page size), errors included: for fixtures,
/// fuzzing and benchmarks. The same entry point in every adapter.
pub fn decode_page_body(
    body: &[u8],
    token: Option<imagecat_core::raw::PageToken>,
) -> imagecat_core::Result<imagecat_core::raw::Page> {
    let marker = source::marker_of(token)?;
    let response = imagecat_http::HttpResponse::from_body(BACKEND, 200, body.to_vec());
    let images = wire::decode_list(&response)?;
    Ok(source::page_of(
        images,
        marker.as_deref(),
        DEFAULT_PAGE_SIZE,
    ))
}

//! NHN Cloud (TOAST) Compute Image API v1.0 backend of imagecat.
//!
//! The API: `GET {base}/v1.0/appkeys/{appkey}/images?limit={n}&marker={id}`
//! and `DELETE {base}/v1.0/appkeys/{appkey}/images?id={uuid}` with the
//! header `X-Auth-Token`; tokens from
//! `POST {base}/v1.0/appkeys/{appkey}/tokens`. Every answer is an envelope
//! `{"header":{"isSuccessful","resultCode","resultMessage"}, …}`, and
//! failures come back as HTTP 200 with `isSuccessful: false`.
//!
//! The crate is laid out as the request flows:
//!
//! - `config`: [`ToastBuilder`] (endpoint, appkey, credentials, options);
//! - `auth`: the token source (static token, or username and API password
//!   exchanged for cached tokens renewed before they expire, single flight,
//!   re-obtained once when refused);
//! - `catalog`: [`ToastSource`], the [`imagecat_core::raw::PageSource`], and
//!   [`ToastCatalog`], the core's `Catalog` over it, the `ImageCatalog`
//!   (marker paging, `get` by walking the listing, `delete`);
//! - `instances`: the Compute Instance API v1.0 listing behind usage
//!   (`GET {compute}/v1.0/appkeys/{appkey}/instances-detail`);
//! - `wire`: the envelope, the `resultCode` → error mapping and the image
//!   and token documents;
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

/// Decodes the body of a list answer (`{"header":…,"images":[…]}`) into
/// images exactly as the catalog does for every page, errors included: for
/// fixtures, fuzzing and benchmarks.
pub fn decode_list_body(body: &[u8]) -> imagecat_core::Result<Vec<imagecat_core::Image>> {
    wire::decode_list(&imagecat_http::HttpResponse::from_body(
        imagecat_core::BackendKind::Toast,
        200,
        body.to_vec(),
    ))
}

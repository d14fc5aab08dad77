//! The Wakame-vdc DCMGR images backend of imagecat.
//!
//! DCMGR serves machine images (`wmi-…` ids) under `/api/12.03/images`;
//! servers from before 2014 answer under `/api/images` in an older layout.
//! [`DcmgrCatalog`] reads both without being told which:
//!
//! - index: a JSON array holding one `{"total","start","limit","results"}`
//!   object (12.03) or the bare `{"owner_total","start","limit","result"}`
//!   object (legacy), with `total`/`owner_total` and `results`/`result` in
//!   any combination;
//! - images: the 24-key 12.03 document, or the legacy one whose `source`
//!   and `features` are YAML strings.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use imagecat_core::{ImageCatalog, ListQuery};
//! use imagecat_dcmgr::DcmgrCatalog;
//!
//! # async fn demo() -> imagecat_core::Result<()> {
//! let catalog = DcmgrCatalog::builder()
//!     .endpoint("https://dcmgr.example.com:9001") // base /api/12.03
//!     .account("a-shpoolxx")
//!     .build()?;
//! let images: Vec<_> = catalog.list(ListQuery::new()).try_collect().await?;
//! # let _ = images;
//! # Ok(())
//! # }
//! ```
//!
//! Modules, as in every adapter (docs/architecture.md, "How to add a
//! backend"): `config` ([`BACKEND`], [`SCHEMES`], page sizes, the builder
//! and its `from_url`, environment, id checks), `source` (the
//! [`imagecat_core::raw::PageSource`] behind the `ImageCatalog`), `wire`
//! (both layouts, decoded leniently), `error` (DCMGR error documents and
//! codes to imagecat errors), `query` (the server-side filters and sort),
//! `instances` (the instance index behind usage).

mod config;
mod error;
mod instances;
mod query;
mod source;
mod wire;

pub use config::{
    ACCOUNT_HEADER, BACKEND, DEFAULT_BASE, DEFAULT_PAGE_SIZE, DcmgrBuilder, ENV_ACCOUNT,
    ENV_ENDPOINT, MAX_PAGE_SIZE, SCHEMES, validate_account, validate_image_id,
};
pub use source::{DcmgrCatalog, DcmgrSource};

/// Decodes the body of an index answer (either layout) to a request at
/// `token` (`None`: the first page, else its offset) into the page exactly
/// as the catalog makes it, errors included: for fixtures, fuzzing and
/// benchmarks. The same entry point in every adapter.
pub fn decode_page_body(
    body: &[u8],
    token: Option<imagecat_core::raw::PageToken>,
) -> imagecat_core::Result<imagecat_core::raw::Page> {
    let start = source::offset_of(token)?;
    let response = imagecat_http::HttpResponse::from_body(BACKEND, 200, body.to_vec());
    source::page_of(&response, start)
}

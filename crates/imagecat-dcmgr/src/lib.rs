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
//! Modules: `config` (builder, environment, id checks), `wire` (both
//! layouts, decoded leniently), `instances` (the instance index behind
//! usage), `catalog` (the [`imagecat_core::raw::PageSource`] behind the `ImageCatalog`
//! impl), `error` (DCMGR codes to imagecat errors).

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

/// Decodes the body of an index answer (either layout) for the page at
/// `start` exactly as the catalog does, errors included: for fixtures,
/// fuzzing and benchmarks.
pub fn decode_index_body(
    body: &[u8],
    start: u64,
) -> imagecat_core::Result<imagecat_core::raw::Page> {
    source::page_of(
        &imagecat_http::HttpResponse::from_body(
            imagecat_core::BackendKind::Dcmgr,
            200,
            body.to_vec(),
        ),
        start,
    )
}

//! The core of imagecat: the [`ImageCatalog`] trait, the unified image
//! model, the error type, the pagination engine, the [`ImageCatalogExt`]
//! conveniences and the [`InMemoryCatalog`].
//!
//! Core knows no HTTP; adapters (TOAST, DCMGR, Glance, the in-memory one)
//! implement a [`raw::PageSource`] (one page, get, delete, capabilities),
//! and [`Catalog`] makes each an [`ImageCatalog`], with listing, filtering,
//! de-duplication, loop protection, read-ahead and an emulated `get` from
//! the pagination engine ([`raw::paginate`]).
//!
//! The root holds what users call; [`raw`] holds what only adapter authors
//! need (the page-level contract, the engine's entry point, the decoder
//! helpers).

mod backend;
mod catalog;
pub mod diff;
pub mod duration;
mod error;
mod ext;
pub mod family;
pub mod golden;
mod identity;
mod memory;
mod model;
mod paging;
mod properties;
mod query;
pub mod raw;
pub mod report;
pub mod retention;
pub mod retire;
mod source;
pub mod usage;

pub use catalog::{
    Capabilities, CatalogInfo, DeleteDetail, DeleteOptions, DeleteOutcome, Deleted, DetailResult,
    DynImageCatalog, GetSupport, ImageCatalog, ImageStream, InstanceListing, InstanceQuery,
    InstanceStream, MarkerRule, PagingStyle, ServerFilters, ServerSort,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use ext::ImageCatalogExt;
pub use identity::IdRule;
pub use memory::{InMemoryCatalog, MEMORY_RETIRE, sample_image};
pub use model::{BackendKind, Image, ImageId, ImageStatus, NativeRecord, Visibility};
pub use paging::{MAX_TOKEN_BYTES, PagingOptions};
pub use properties::Properties;
pub use query::{ListQuery, NamePattern, Sort, SortKey, SortParseError};
pub use source::Catalog;
pub use usage::{
    BootSource, FoundVia, ImageUsage, InstanceRef, ScanLimits, UnknownReason, UsageScan, UsageScope,
};

/// Re-exported so adapters and users name the same versions (users
/// implement [`ImageCatalog`] for wrappers with `async_trait`; adapters find
/// `compact_str` in [`raw`]).
pub use async_trait::async_trait;
pub use chrono;
pub use futures;

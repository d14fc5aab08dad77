//! The core of imagecat: the [`ImageCatalog`] trait, the unified image
//! model, the error type, the pagination engine, the [`ImageCatalogExt`]
//! conveniences and the [`InMemoryCatalog`].
//!
//! Core knows no HTTP; adapters (TOAST, DCMGR, Glance, the in-memory one)
//! implement a [`PageSource`] (one page, get, delete, capabilities), and
//! [`Catalog`] makes each an [`ImageCatalog`], with listing, filtering,
//! de-duplication, loop protection, read-ahead and an emulated `get` from
//! the pagination engine ([`paginate`]).

mod catalog;
pub mod de;
pub mod diff;
pub mod duration;
mod error;
mod ext;
pub mod family;
mod identity;
mod memory;
mod model;
mod paging;
mod properties;
mod query;
pub mod retention;
mod source;
pub mod usage;

pub use catalog::{
    Capabilities, CatalogInfo, Deleted, DynImageCatalog, GetSupport, ImageCatalog, ImageStream,
    InstanceListing, InstancePage, InstanceQuery, InstanceStream, MarkerRule, Page, PageToken,
    PagingStyle, ServerFilters, ServerSort,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use ext::ImageCatalogExt;
pub use identity::IdRule;
pub use memory::{InMemoryCatalog, MemorySource, sample_image};
pub use model::{BackendKind, Image, ImageId, ImageStatus, NativeRecord, Visibility};
pub use paging::{MAX_TOKEN_BYTES, PagingOptions, paginate, paginate_instances};
pub use properties::Properties;
pub use query::{ListQuery, NamePattern, Sort, SortKey, SortParseError};
pub use source::{BuildSource, Catalog, PageSource};
pub use usage::{
    BootSource, FoundVia, ImageUsage, InstanceRef, ScanLimits, UnknownReason, UsageScan, UsageScope,
};

/// Re-exported so adapters and users name the same versions.
pub use async_trait::async_trait;
pub use chrono;
pub use compact_str;
pub use futures;

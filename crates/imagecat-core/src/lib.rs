//! The core of imagecat: the [`ImageCatalog`] trait, the unified image
//! model, the error type, the pagination engine, the [`ImageCatalogExt`]
//! conveniences and the [`InMemoryCatalog`].
//!
//! Core knows no HTTP; adapters (TOAST, DCMGR, …) implement
//! [`ImageCatalog::list_page`], `get` and `delete`, and get listing,
//! filtering, de-duplication, loop protection and read-ahead from
//! [`paginate`].

mod catalog;
mod error;
mod ext;
mod memory;
mod model;
mod paging;
mod query;
pub mod usage;

pub use catalog::{
    Capabilities, CatalogInfo, Deleted, DynImageCatalog, GetSupport, ImageCatalog, ImageStream,
    Page, PageToken, PagingStyle, ServerFilters,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use ext::ImageCatalogExt;
pub use memory::{InMemoryCatalog, sample_image};
pub use model::{BackendKind, Image, ImageId, ImageStatus, NativeRecord, Visibility};
pub use paging::{PagingOptions, paginate};
pub use query::{ListQuery, NamePattern};
pub use usage::{ImageUsage, InstanceRef, UsageScan, UsageScope};

/// Re-exported so adapters and users name the same versions.
pub use async_trait::async_trait;
pub use chrono;
pub use futures;

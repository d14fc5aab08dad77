//! What only adapter authors need, in the manner of OpenDAL's `raw`: the
//! [`PageSource`] an adapter implements (one page, get, delete,
//! capabilities, one page of instances), the generic [`Page`] and its
//! [`PageToken`], [`BuildSource`] (so `XCatalog::builder()` works),
//! [`paginate`] (the engine, which [`Catalog`](crate::Catalog) calls for
//! every source), [`MemorySource`] (the in-memory source, for tests that
//! fetch raw pages), the decoder helpers ([`de`] for hand-written serde
//! visitors, [`lenient`] for fields real servers send in several forms),
//! and the version of
//! `compact_str` the decoders fill [`Properties`](crate::Properties) with
//! (`async_trait` is at the root: users implement `ImageCatalog` too).
//!
//! Users call the root of the crate ([`ImageCatalog`](crate::ImageCatalog),
//! [`Catalog`](crate::Catalog), the model); nothing here is needed to list,
//! show or delete images. The checklist for a new backend is "How to add a
//! backend" in `docs/architecture.md`.

pub use crate::catalog::{Page, PageToken};
pub mod de;
pub mod lenient;
pub use crate::memory::MemorySource;
pub use crate::paging::{PagedQuery, paginate};
pub use crate::source::{BuildSource, PageSource};

pub use compact_str;

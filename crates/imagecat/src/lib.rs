#![doc = include_str!("../README.md")]

mod config;
mod fanout;
mod open;

pub use config::{CatalogEntry, Config, SecretSource, default_path};
pub use fanout::{CatalogError, NamedCatalog, TaggedImage, list_all};
pub use open::{Credentials, KNOWN_SCHEMES, OpenOptions, open, open_with};

pub use imagecat_core::*;
pub use imagecat_http::{HttpOptions, RetryPolicy, SecretString, scrub};

/// The NHN Cloud (TOAST) backend (feature `toast`).
#[cfg(feature = "toast")]
pub use imagecat_toast as toast;

/// The Wakame-vdc DCMGR backend (feature `dcmgr`).
#[cfg(feature = "dcmgr")]
pub use imagecat_dcmgr as dcmgr;

/// The OpenStack Image v2 (Glance) backend (feature `glance`).
#[cfg(feature = "glance")]
pub use imagecat_glance as glance;

/// The Google Compute Engine images backend (feature `gce`).
#[cfg(feature = "gce")]
pub use imagecat_gce as gce;

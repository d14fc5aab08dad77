//! The emulators of each backend's API, one folder per backend:
//!
//! - `mod.rs`: the public handle (`start`, accessors, test hooks) and its
//!   configuration types;
//! - `data.rs`: seeded data and the catalog model over it;
//! - `wire.rs`: the documents the server writes;
//! - `handlers.rs`: the axum routes and handlers.
//!
//! What they share lives here: [`seed`] (the mixer and id codecs) and the
//! [`Emulator`] trait over the surface every handle has.

#[cfg(feature = "dcmgr")]
pub mod dcmgr;
#[cfg(feature = "glance")]
pub mod glance;
pub(crate) mod seed;
#[cfg(feature = "toast")]
pub mod toast;

//! The emulators of each backend's API, one folder per backend:
//!
//! - `mod.rs`: the public handle (`start`, accessors, test hooks) and its
//!   configuration types;
//! - `data.rs`: seeded data and the catalog model over it;
//! - `wire.rs`: the documents the server writes;
//! - `handlers.rs`: the axum routes and handlers.
//!
//! What they share lives here: [`seed`] (the mixer and id codecs),
//! [`instances`] (the instances behind usage) and the
//! [`Emulator`] trait over the surface every handle has.

#[cfg(feature = "dcmgr")]
pub mod dcmgr;
#[cfg(feature = "glance")]
pub mod glance;
#[cfg(feature = "server")]
pub mod instances;
pub(crate) mod seed;
#[cfg(feature = "toast")]
pub mod toast;

use std::future::Future;

use crate::server::{EmulatorServer, RecordedRequest};

/// The surface every emulator handle shares, for code written once over
/// all of them (scenarios, the CLI's `emulate`, benches).
pub trait Emulator: Send + Sync {
    /// The backend's name as the adapter's errors start: `toast`, `dcmgr`, `glance`.
    const BACKEND: &'static str;

    /// The loopback server it runs on (request log, faults).
    fn server(&self) -> &EmulatorServer;

    /// The adapter endpoint (`http://127.0.0.1:PORT/…`).
    fn endpoint(&self) -> String;

    /// The catalog URL the facade opens, with the default scope (the
    /// appkey, the own account, the project).
    fn catalog_url(&self) -> String;

    /// Every request received so far, in order.
    fn requests(&self) -> Vec<RecordedRequest> {
        self.server().requests()
    }

    /// Stops the server and waits for it to finish.
    fn stop(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized;
}

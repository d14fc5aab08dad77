//! Emulators of the imagecat backends' APIs: loopback HTTP servers (axum)
//! that answer as the real TOAST, DCMGR and Glance (with Keystone and Nova)
//! do, and Google Compute Engine's images, with fault injection and catalog churn. A product, not test
//! support: `imagecat emulate`, `imagecat demo` and the bench serve them,
//! and every adapter's tests run against them (as a dev-dependency).
//!
//! One folder per backend (features of the same names):
//!
//! - `mod.rs`: the public handle (`start`, accessors, test hooks), its
//!   configuration types and its default credentials as constants;
//! - `data.rs`: seeded data and the catalog model over it;
//! - `wire.rs`: the documents the server writes;
//! - `handlers.rs`: the axum routes and handlers.
//!
//! What they share lives at the root: [`server`] (the loopback harness,
//! request log, [`faults`], [`delete_faults`]), [`churn`] (the catalog churn they can
//! emulate), `seed` (the mixer and id codecs), [`hostile`] (the hostile
//! mode every emulator can be started in), [`instances`] (the instances
//! behind usage) and the [`Emulator`] trait over the surface every handle
//! has.

#[cfg(any(feature = "toast", feature = "dcmgr"))]
pub mod churn;
#[cfg(feature = "dcmgr")]
pub mod dcmgr;
pub mod delete_faults;
pub mod faults;
#[cfg(feature = "gce")]
pub mod gce;
#[cfg(feature = "glance")]
pub mod glance;
pub mod hostile;
pub mod instances;
pub(crate) mod seed;
pub mod server;
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

#[cfg(any(
    feature = "toast",
    feature = "dcmgr",
    feature = "glance",
    feature = "gce"
))]
/// Implements [`Emulator`] (and the inherent `server()`) for a handle
/// with a `server` field and an inherent `endpoint()`; the last argument is its default catalog URL,
/// an expression over the handle named by the closure-like binder.
macro_rules! impl_emulator {
    ($handle:ty, $backend:literal, |$this:ident| $catalog_url:expr) => {
        impl $handle {
            /// The loopback server it runs on (address, request log, faults).
            pub fn server(&self) -> &$crate::server::EmulatorServer {
                &self.server
            }
        }

        impl $crate::Emulator for $handle {
            const BACKEND: &'static str = $backend;

            fn server(&self) -> &$crate::server::EmulatorServer {
                &self.server
            }

            fn endpoint(&self) -> String {
                <$handle>::endpoint(self)
            }

            fn catalog_url(&self) -> String {
                let $this = self;
                $catalog_url
            }

            async fn stop(self) {
                self.server.stop().await;
            }
        }
    };
}
#[cfg(any(
    feature = "toast",
    feature = "dcmgr",
    feature = "glance",
    feature = "gce"
))]
pub(crate) use impl_emulator;

#[cfg(any(feature = "toast", feature = "glance"))]
/// A request counter the handlers bump and tests read, also after the
/// handle is borrowed away (the conformance fixture's counter).
#[derive(Debug, Default, Clone)]
pub(crate) struct Counter(std::sync::Arc<std::sync::atomic::AtomicU64>);

#[cfg(any(feature = "toast", feature = "glance"))]
impl Counter {
    /// Counts one more.
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A reader of the count that owns what it reads.
    pub(crate) fn reader(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let count = self.clone();
        move || count.get()
    }
}

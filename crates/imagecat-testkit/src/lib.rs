//! Test kit of imagecat: the conformance suite every backend runs, and
//! emulators of each backend's API (axum on loopback) with fault injection.
//!
//! - [`conformance`]: cases over a [`conformance::Fixture`], and `run_all`;
//! - [`prune_cases`]: clean-up cases every backend runs over its fixture;
//! - [`memory_fixture`]: the suite's fixture over [`imagecat_core::InMemoryCatalog`];
//! - `server`, `faults` (feature `server`): the emulator harness;
//! - `emulators` (feature `server`): `seed` (shared mixer and id codecs),
//!   the `Emulator` trait, and `toast`, `dcmgr`, `glance` (features of the
//!   same names, re-exported at the root); `churn`, the catalog churn they
//!   can emulate;
//! - [`real_server`]: a real server from PyPI (Glance, Keystone) run by
//!   its `scripts/` for a test, killed when dropped;
//! - `scenarios` (feature `server`): reliability and hostile-server cases
//!   over a `Rig`, and `scenario_tests!`, one test per case.

pub mod conformance;
#[cfg(feature = "hostile")]
pub mod hostile;
pub mod listing;
mod memory_fixture;
pub mod prune_cases;
#[cfg(unix)]
pub mod real_server;
#[cfg(feature = "secrets")]
pub mod secrets;

#[cfg(any(feature = "toast", feature = "dcmgr"))]
pub mod churn;
#[cfg(feature = "server")]
pub mod delete_faults;
#[cfg(feature = "server")]
pub mod faults;
#[cfg(feature = "server")]
pub mod scenarios;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "server")]
pub mod emulators;
#[cfg(feature = "toast")]
pub use emulators::toast;

#[cfg(feature = "dcmgr")]
pub use emulators::dcmgr;

#[cfg(feature = "glance")]
pub use emulators::glance;

pub use memory_fixture::{memory_fixture, memory_usage_fixture};

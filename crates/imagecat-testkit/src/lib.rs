//! Test support of imagecat: a dev-dependency of the workspace's crates,
//! never published and never linked into the `imagecat` binary. The
//! emulators themselves are a product and live in `imagecat-emulators`.
//!
//! - [`conformance`]: the conformance suite, one runner for the listing,
//!   usage and clean-up cases over a [`conformance::Fixture`];
//! - [`memory_fixture`]: the suite's fixture over [`imagecat_core::InMemoryCatalog`];
//! - [`scenarios`]: reliability and hostile-server cases over a `Rig`, and
//!   `scenario_tests!`, one test per case;
//! - [`listing`]: a listing under a hang guard, fault plans, and
//!   [`listing::fast_http`], the one set of fast client options tests use;
//! - [`real_server`], [`real_glance`]: a real server from PyPI (Glance,
//!   Keystone) run by its `scripts/` for a test, killed when dropped;
//! - [`moto`]: moto, the AWS mock server, with SigV4 checking on and the
//!   real AWS clients (awscli, boto3) beside it;
//! - [`start`]: an emulator of each backend started with its defaults;
//! - `hostile` (feature `hostile`): proptest strategies for hostile input;
//! - `secrets` (feature `secrets`): a capture of all logging;
//! - `gce_fake` (feature `gce-fake`): a small Compute API for the GCE
//!   usage tests.

/// Ends a conformance case with `Err(message)` unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

pub mod conformance;
#[cfg(feature = "gce-fake")]
pub mod gce_fake;
#[cfg(unix)]
pub mod gcloud;
#[cfg(feature = "hostile")]
pub mod hostile;
pub mod listing;
mod memory_fixture;
#[cfg(unix)]
pub mod moto;
pub mod prune_cases;
#[cfg(unix)]
pub mod real_glance;
#[cfg(unix)]
pub mod real_server;
pub mod scenarios;
#[cfg(feature = "secrets")]
pub mod secrets;
pub mod start;

pub use memory_fixture::{memory_fixture, memory_usage_fixture};

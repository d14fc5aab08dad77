//! The integration tests of `imagecat-emulators`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-emulators --test integration MODULE::`).

mod churn;
mod dcmgr_fidelity;
mod dcmgr_routes;
mod gce_fidelity;
mod gce_routes;
mod glance_fidelity;
mod toast_fidelity;

//! The integration tests of `imagecat-emulators`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-emulators --test integration MODULE::`).

mod churn;
mod dcmgr_fidelity;
mod dcmgr_routes;
mod ec2_api;
mod ec2_clients;
mod ec2_faults;
mod ec2_fidelity;
mod ec2_support;
mod ec2_usage;
mod glance_fidelity;
mod toast_fidelity;

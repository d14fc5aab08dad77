//! The integration tests of `imagecat-dcmgr`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-dcmgr --test integration MODULE::`).

mod common;

mod conformance;
mod delete;
mod documents;
mod errors;
mod golden;
mod hostile;
mod ids;
mod paging;
mod prune;
mod reliability;
mod scenarios;
mod usage;

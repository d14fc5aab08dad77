//! The integration tests of `imagecat-toast`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-toast --test integration MODULE::`).

mod common;

mod auth;
mod conformance;
mod decoding;
mod delete;
mod errors;
mod hostile;
mod paging;
mod prune;
mod reliability;
mod scenarios;
mod secrets;
mod usage;

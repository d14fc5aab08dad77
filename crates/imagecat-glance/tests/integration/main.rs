//! The integration tests of `imagecat-glance`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-glance --test integration MODULE::`).

mod support;

mod clouds;
mod emulator;
mod golden;
mod prune;
mod real_glance;
mod real_glance_retire;
mod real_keystone;
mod retire;
mod scenarios;
mod secrets;
mod usage;
mod usage_refs;

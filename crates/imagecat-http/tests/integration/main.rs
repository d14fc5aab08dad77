//! The integration tests of `imagecat-http`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-http --test integration MODULE::`).

mod client;

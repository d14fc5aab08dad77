//! The integration tests of `imagecat-testkit`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-testkit --test integration MODULE::`).

mod conformance_memory;

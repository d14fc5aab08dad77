//! The integration tests of `imagecat`, one test binary: one module per
//! area (run one with `cargo test -p imagecat --test integration MODULE::`).

mod facade;

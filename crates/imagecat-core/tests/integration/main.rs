//! The integration tests of `imagecat-core`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-core --test integration MODULE::`).

mod hostile_paging;
mod usage;
mod usage_churn;

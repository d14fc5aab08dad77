//! Helpers shared by the Glance adapter's integration tests.

pub(crate) mod real_glance;

//! The GCE adapter's integration tests, one binary (the groundwork's
//! older files under `tests/` are their own binaries until they move here).

mod usage;

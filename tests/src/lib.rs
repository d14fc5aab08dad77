//! End-to-end tests of imagecat live in `tests/tests/`; this library is empty.

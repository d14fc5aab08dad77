//! The integration tests of imagecat-ec2, one binary (docs/architecture.md).

mod audience;
mod botocore_ec2;
mod catalog;
mod credentials;
mod emulator;
mod error_document;
mod moto;
mod protocol;
mod scenarios;
mod sigv4_suite;
mod usage_emulator;
mod usage_faults;
mod usage_moto;
mod wire;

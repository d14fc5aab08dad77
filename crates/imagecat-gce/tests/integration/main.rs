//! The integration tests of imagecat-gce, one binary (each module is one
//! area: the key file and its assertion, the token exchanges, the error
//! documents, hostile bodies, the catalog against a served Compute API,
//! the wire decoders, who uses an image).

mod adc;
mod auth;
mod emulator;
mod errors;
mod hostile;
mod retire;
mod source;
mod token_exchange;
mod usage;
mod usage_emulator;
mod wire;

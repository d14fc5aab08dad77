//! What every imagecat HTTP adapter shares, so no adapter has its own copy:
//!
//! - [`HttpClient`]: rustls only, HTTPS unless allowed otherwise, redirects
//!   only to the same host (a token never follows a redirect elsewhere),
//!   connect and per-attempt timeouts, a time budget per operation, a body
//!   cap enforced while the body streams in, and retries with exponential
//!   backoff and jitter that honour `Retry-After`;
//! - [`HttpResponse`]: the body, error snippets of at most 2 KiB, and the
//!   status-to-error mapping;
//! - [`SecretString`]: credentials that never appear in Debug output;
//!   each registers in the scrub set, and [`scrub`] / [`scrub_error`]
//!   remove every registered secret from text a server sent back;
//! - [`TokenSource`]: the one authentication layer, generic over a
//!   [`Grant`] (the adapter's token request and decoding): renewal before
//!   expiry, single flight, one re-authentication on refusal, and the
//!   authenticated send (its cache, `token_cache`, is private to this crate);
//! - [`endpoint`]: parsing and displaying endpoints;
//! - [`OpenOptions`], [`Credentials`] and [`CatalogUrl`]: what every
//!   adapter's `from_url` reads, so the facade opens URLs through a table.

mod auth;
mod client;
pub mod endpoint;
mod ids;
mod open;
mod response;
mod scrub;
mod secret;
mod settings;
mod token_cache;

pub use auth::{Grant, Issued, Token, TokenSource};
pub use client::{HttpClient, HttpOptions, Idempotency, RetryPolicy};
pub use ids::canonical_uuid;
pub use open::{CatalogUrl, Credentials, OpenOptions};
pub use response::{ErrorDocument, HttpResponse, SNIPPET_LIMIT, parse_retry_after, snippet};
pub use scrub::{MIN_SCRUB_LEN, REDACTED, scrub, scrub_error};
pub use secret::SecretString;
pub use settings::BuilderSettings;

pub use reqwest;
pub use url::Url;

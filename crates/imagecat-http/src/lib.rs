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
//! - [`TokenCache`]: a token renewed before it expires, single flight;
//! - [`endpoint`]: parsing and displaying endpoints;
//! - [`lenient`]: serde decoders for fields real servers send in several forms.

mod client;
pub mod endpoint;
mod ids;
pub mod lenient;
mod response;
mod secret;
mod token_cache;

pub use client::{HttpClient, HttpOptions, Idempotency, RetryPolicy};
pub use ids::canonical_uuid;
pub use response::{ErrorDocument, HttpResponse, SNIPPET_LIMIT, parse_retry_after, snippet};
pub use secret::SecretString;
pub use token_cache::{Renewable, TokenCache, send_reauthenticating};

pub use reqwest;
pub use url::Url;

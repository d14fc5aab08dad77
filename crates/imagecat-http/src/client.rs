//! [`HttpClient`]: one request with timeouts, a body cap and retries.

use std::time::Duration;

use bytes::BytesMut;
use imagecat_core::{BackendKind, Error, ErrorKind, Result};
use rand::Rng;
use tokio::time::Instant;

use crate::response::HttpResponse;

/// When a request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idempotency {
    /// A read: retried on any retryable error.
    Idempotent,
    /// A mutation (delete): retried only when the request provably never
    /// reached the server (the connection could not be made).
    NotIdempotent,
}

/// Exponential backoff with jitter, a maximum of attempts and a time budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries). Default 5.
    pub max_attempts: u32,
    /// The first backoff delay. Default 200 ms.
    pub initial_backoff: Duration,
    /// The largest backoff delay. Default 5 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; longer ones are clamped. Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempts in all.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the largest backoff delay.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the longest `Retry-After` honoured.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The delay before attempt `attempt + 1`: `initial * 2^(attempt-1)`,
    /// capped, with "equal jitter" (between half and all of it).
    pub fn backoff_for(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0.0..=1.0);
        half + half.mul_f64(jitter)
    }
}

/// Options of every HTTP adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Connect timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Timeout of one attempt, body included. Default 30 s.
    pub request_timeout: Duration,
    /// Time budget of one operation (all attempts and backoff). Default 120 s.
    pub total_timeout: Duration,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// The largest body read; a larger one is an error. Default 64 MiB.
    pub max_body_bytes: usize,
    /// Allows `http://` endpoints (emulators, tests). Default false.
    pub allow_http: bool,
    /// The User-Agent header.
    pub user_agent: String,
    /// A PEM file of CA certificates trusted besides the built-in roots
    /// (clouds.yaml `cacert`, `OS_CACERT`).
    pub ca_file: Option<std::path::PathBuf>,
    /// Accepts any TLS certificate (clouds.yaml `verify: false`): for test
    /// clouds only; whoever sets it should warn loudly.
    pub accept_invalid_certs: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            max_body_bytes: 64 * 1024 * 1024,
            allow_http: false,
            user_agent: concat!("imagecat/", env!("CARGO_PKG_VERSION")).to_owned(),
            ca_file: None,
            accept_invalid_certs: false,
        }
    }
}

impl HttpOptions {
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets the per-attempt timeout.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Sets the per-operation time budget.
    pub fn total_timeout(mut self, d: Duration) -> Self {
        self.total_timeout = d;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the body cap.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Allows plain-HTTP endpoints.
    pub fn allow_http(mut self, yes: bool) -> Self {
        self.allow_http = yes;
        self
    }

    /// Trusts the CA certificates of a PEM file too.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Accepts any TLS certificate (no verification).
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }
}

/// An HTTP client shared by one adapter: rustls only, redirects only to the
/// same host, timeouts, a body cap and the retry policy.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    options: HttpOptions,
    backend: BackendKind,
}

/// Why one attempt failed, and whether the request may have reached the server.
struct AttemptError {
    error: Error,
    maybe_sent: bool,
}

impl HttpClient {
    /// A client for `backend` with these options.
    pub fn new(backend: BackendKind, options: HttpOptions) -> Result<Self> {
        let same_host = reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(|u| {
                (
                    u.scheme().to_owned(),
                    u.host_str().map(str::to_owned),
                    u.port_or_known_default(),
                )
            });
            let here = (
                attempt.url().scheme().to_owned(),
                attempt.url().host_str().map(str::to_owned),
                attempt.url().port_or_known_default(),
            );
            if attempt.previous().len() > 5 || first.as_ref() != Some(&here) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &options.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                Error::config(
                    Some(backend),
                    format!("cannot read the CA file {}: {e}", path.display()),
                )
                .with_source(e)
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                let message = format!("the CA file {} is not PEM: {e}", path.display());
                Error::config(Some(backend), message).with_source(e.without_url())
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .use_rustls_tls()
            .danger_accept_invalid_certs(options.accept_invalid_certs)
            .https_only(!options.allow_http)
            .connect_timeout(options.connect_timeout)
            .redirect(same_host)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| {
                let message = format!("cannot build the HTTP client: {e}");
                Error::config(Some(backend), message).with_source(e.without_url())
            })?;
        Ok(HttpClient {
            client,
            options,
            backend,
        })
    }

    /// The options.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The backend this client serves.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// Sends a request built by `build`, reads its body under the cap, and
    /// hands it to `handle`, which turns it into a value or an error. Errors
    /// that [`Error::is_retryable`] (from the transport or from `handle`) are
    /// retried as `idempotency` allows, with backoff, within the budget.
    /// `what` names the operation in logs and errors.
    pub async fn send<T>(
        &self,
        what: &str,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        mut handle: impl FnMut(HttpResponse) -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let budget = self.options.total_timeout;
        let policy = self.options.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let remaining = budget.saturating_sub(started.elapsed());
            let per_attempt = self.options.request_timeout.min(remaining);
            let outcome =
                match tokio::time::timeout(per_attempt, self.attempt(build(&self.client), attempt))
                    .await
                {
                    Err(_) => Err(AttemptError {
                        error: Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "{what}: no complete answer within {:.1}s",
                                per_attempt.as_secs_f64()
                            ),
                        )
                        .with_backend(self.backend),
                        maybe_sent: true,
                    }),
                    Ok(Err(e)) => Err(e),
                    Ok(Ok(response)) => handle(response).map_err(|error| AttemptError {
                        error,
                        maybe_sent: true,
                    }),
                };
            let AttemptError { error, maybe_sent } = match outcome {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            // Before it is logged or returned: a server may echo a secret.
            let error = crate::scrub_error(error);
            let may_retry = match idempotency {
                Idempotency::Idempotent => error.is_retryable(),
                Idempotency::NotIdempotent => !maybe_sent,
            };
            let delay = error
                .retry_after()
                .map(|d| d.min(policy.max_retry_after))
                .unwrap_or_else(|| policy.backoff_for(attempt));
            let elapsed = started.elapsed();
            if !may_retry || attempt >= policy.max_attempts || elapsed + delay >= budget {
                let error = clamp_retry_after(error, policy.max_retry_after);
                return Err(if attempt > 1 || elapsed >= budget {
                    with_attempts(error, attempt, elapsed)
                } else {
                    error
                });
            }
            tracing::warn!(backend = %self.backend, what, attempt, error = %error, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
        attempt: u32,
    ) -> std::result::Result<HttpResponse, AttemptError> {
        let request = request.build().map_err(|e| {
            let e = e.without_url();
            AttemptError {
                error: Error::config(Some(self.backend), format!("cannot build the request: {e}"))
                    .with_source(e),
                maybe_sent: false,
            }
        })?;
        tracing::debug!(backend = %self.backend, method = %request.method(), url = %request.url(), attempt, "request");
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| AttemptError {
                maybe_sent: !e.is_connect(),
                error: self.transport(e),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let cap = self.options.max_body_bytes;
        let too_big = |len: u64| AttemptError {
            error: Error::invalid_response(
                self.backend,
                None,
                None,
                format!("HTTP {status} body of {len} bytes or more exceeds the cap of {cap} bytes"),
                "",
            ),
            maybe_sent: true,
        };
        if let Some(len) = response.content_length() {
            if len > cap as u64 {
                return Err(too_big(len));
            }
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| AttemptError {
            error: self.transport(e),
            maybe_sent: true,
        })? {
            if body.len() + chunk.len() > cap {
                return Err(too_big((body.len() + chunk.len()) as u64));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(backend = %self.backend, %status, bytes = body.len(), "response");
        Ok(HttpResponse {
            backend: self.backend,
            status,
            headers,
            body: body.freeze(),
            attempt,
        })
    }

    fn transport(&self, e: reqwest::Error) -> Error {
        let e = e.without_url();
        if e.is_timeout() {
            return Error::new(ErrorKind::Timeout, e.to_string())
                .with_backend(self.backend)
                .with_source(e);
        }
        let message = if e.is_connect() {
            format!("cannot connect: {e}")
        } else if e.is_body() || e.is_decode() {
            format!("reading the body failed: {e}")
        } else {
            e.to_string()
        };
        Error::transport(self.backend, message, e)
    }
}

/// A rate limit whose `Retry-After` is longer than `max` carries `max`, the
/// longest wait honoured, and says so: a server asking for days is reported
/// as "clamped to 30 s", not as its own number.
fn clamp_retry_after(error: Error, max: Duration) -> Error {
    match error.retry_after() {
        Some(asked) if asked > max && error.kind() == ErrorKind::RateLimited => {
            error.with_retry_after(max).map_message(|message| {
                format!(
                    "{message}; the server asked to wait {} s, clamped to {} s",
                    asked.as_secs_f64(),
                    max.as_secs_f64()
                )
            })
        }
        _ => error,
    }
}

/// Adds "after N attempts in T" to an error's message.
fn with_attempts(error: Error, attempts: u32, elapsed: Duration) -> Error {
    let tail = format!(
        " (gave up after {attempts} attempts in {:.1}s)",
        elapsed.as_secs_f64()
    );
    match error.kind() {
        ErrorKind::Timeout
        | ErrorKind::Transport
        | ErrorKind::InvalidResponse
        | ErrorKind::Api
        | ErrorKind::RateLimited => error.map_message(|message| message + &tail),
        _ => error,
    }
}

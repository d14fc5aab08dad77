//! The one authentication layer of the token-based adapters (TOAST's token
//! API, Keystone for Glance): a [`TokenSource`] generic over a [`Grant`].
//!
//! The adapter supplies only its wire format: how to fetch and decode a
//! token ([`Grant::fetch`]) and the header it goes in. Everything else is
//! here, once: a static token used until refused, renewal once
//! `expires − margin` has passed, single flight (one fetch however many
//! tasks ask), one re-authentication when the server refuses a token, and
//! the authenticated send.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use imagecat_core::{BackendKind, Error, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder};
use url::Url;

use crate::client::{HttpClient, Idempotency};
use crate::response::HttpResponse;
use crate::secret::SecretString;
use crate::token_cache::{Renewable, TokenCache, send_reauthenticating};

/// A token as a grant decoded it from the server's answer.
#[derive(Debug)]
pub struct Issued<E> {
    /// The token itself.
    pub id: SecretString,
    /// When the server says it expires, if it says.
    pub expires: Option<DateTime<Utc>>,
    /// What else the answer carried that the adapter needs (Glance: the
    /// image endpoint of the service catalog).
    pub extra: E,
}

/// How an adapter obtains a token: the request and the decoding of the
/// answer, nothing else.
pub trait Grant: fmt::Debug + Send + Sync {
    /// What a token carries besides itself; a static token has the default.
    type Extra: Default + Send + Sync + 'static;

    /// Requests and decodes one token (the client retries as it always does).
    fn fetch(&self, http: &HttpClient) -> impl Future<Output = Result<Issued<Self::Extra>>> + Send;
}

/// A token ready to be sent: its header value (marked sensitive), when to
/// replace it, and the grant's extra data.
pub struct Token<E> {
    header: Option<HeaderValue>,
    renew_at: Option<DateTime<Utc>>,
    extra: E,
}

impl<E> fmt::Debug for Token<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &"[redacted]")
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
    }
}

impl<E> Token<E> {
    /// The value of the token header; `None` for an anonymous source.
    pub fn header(&self) -> Option<&HeaderValue> {
        self.header.as_ref()
    }

    /// What the grant's answer carried besides the token.
    pub fn extra(&self) -> &E {
        &self.extra
    }
}

impl<E> Renewable for Token<E> {
    fn renew_at(&self) -> Option<DateTime<Utc>> {
        self.renew_at
    }
}

/// Where one catalog's tokens come from, and the cached one.
pub struct TokenSource<G: Grant> {
    backend: BackendKind,
    header_name: HeaderName,
    headers: HeaderMap,
    grant: Option<G>,
    has_static: bool,
    margin: Duration,
    cache: TokenCache<Token<G::Extra>>,
}

impl<G: Grant> fmt::Debug for TokenSource<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("static_token", &self.has_static.then_some("[redacted]"))
            .field("grant", &self.grant)
            .field("renew_margin", &self.margin)
            .finish()
    }
}

impl<G: Grant> TokenSource<G> {
    /// A source sending its token in `header_name`, with an optional static
    /// token (used until refused) and an optional grant (used to obtain and
    /// renew tokens). Without either it is a `Config` error saying
    /// `no_credentials`; a static token that cannot be sent in a header is
    /// a `Config` error too.
    pub fn new(
        backend: BackendKind,
        header_name: &'static str,
        static_token: Option<&SecretString>,
        grant: Option<G>,
        margin: Duration,
        no_credentials: &str,
    ) -> Result<Self> {
        let initial = match static_token {
            Some(secret) => Some(Token {
                header: Some(secret.header_value().ok_or_else(|| {
                    Error::config(
                        Some(backend),
                        "the token holds characters that cannot be sent in an HTTP header",
                    )
                })?),
                renew_at: None,
                extra: G::Extra::default(),
            }),
            None => None,
        };
        if initial.is_none() && grant.is_none() {
            return Err(Error::config(
                Some(backend),
                format!("no credentials: {no_credentials}"),
            ));
        }
        Ok(TokenSource {
            backend,
            header_name: HeaderName::from_static(header_name),
            headers: HeaderMap::new(),
            has_static: initial.is_some(),
            grant,
            margin,
            cache: TokenCache::new(initial),
        })
    }

    /// A source that sends no token at all (a server without
    /// authentication, as openstacksdk's `auth_type: none`).
    pub fn anonymous(backend: BackendKind, header_name: &'static str) -> Self {
        TokenSource {
            backend,
            header_name: HeaderName::from_static(header_name),
            headers: HeaderMap::new(),
            has_static: false,
            grant: None,
            margin: Duration::ZERO,
            cache: TokenCache::new(Some(Token {
                header: None,
                renew_at: None,
                extra: G::Extra::default(),
            })),
        }
    }

    /// Adds a header sent with every authenticated request (builder style).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The grant, if tokens can be obtained.
    pub fn grant(&self) -> Option<&G> {
        self.grant.as_ref()
    }

    /// Whether a refused or expiring token can be replaced.
    pub fn can_renew(&self) -> bool {
        self.grant.is_some()
    }

    /// The token held now, fresh or not.
    pub fn peek(&self) -> Option<Arc<Token<G::Extra>>> {
        self.cache.peek()
    }

    /// The token to send: the cached one while fresh, otherwise a new one
    /// (fetched once however many tasks ask at the same moment).
    pub async fn current(&self, http: &HttpClient) -> Result<Arc<Token<G::Extra>>> {
        self.cache
            .current(self.can_renew(), || self.fetch(http))
            .await
    }

    /// A replacement for a token the server refused, or `None` without a
    /// grant. Tasks that saw the same token refused share one fetch.
    pub async fn renew(
        &self,
        http: &HttpClient,
        refused: &Arc<Token<G::Extra>>,
    ) -> Result<Option<Arc<Token<G::Extra>>>> {
        if !self.can_renew() {
            return Ok(None);
        }
        self.cache
            .renew(refused, || self.fetch(http))
            .await
            .map(Some)
    }

    async fn fetch(&self, http: &HttpClient) -> Result<Token<G::Extra>> {
        let Some(grant) = &self.grant else {
            return Err(Error::config(
                Some(self.backend),
                "no credentials to obtain a token",
            ));
        };
        tracing::debug!(backend = %self.backend, grant = ?grant, "requesting a token");
        let Issued { id, expires, extra } = grant.fetch(http).await?;
        let header = id.header_value().ok_or_else(|| {
            let message = "the issued token holds characters that cannot be sent in an HTTP header";
            Error::invalid_response(self.backend, None, None, message, "")
        })?;
        Ok(Token {
            header: Some(header),
            renew_at: expires.map(|at| renew_at(at, self.margin)),
            extra,
        })
    }

    /// Sends one request to `url(token)` with the current token in its
    /// header; when the server refuses the token (`Unauthenticated`) and it
    /// can be renewed, renews it and sends once more. A second refusal is
    /// `Unauthenticated` and says so. `handle` reads the answer, with the
    /// token that was sent.
    pub async fn send<T>(
        &self,
        http: &HttpClient,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        url: impl Fn(&Token<G::Extra>) -> Result<Url>,
        handle: impl Fn(HttpResponse, &Token<G::Extra>) -> Result<T>,
    ) -> Result<T> {
        self.send_body(http, what, idempotency, method, None, url, handle)
            .await
    }

    /// [`send`](Self::send) with a request body: its content type and
    /// bytes (a JSON patch), sent again as they are when the token is
    /// renewed.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_body<T>(
        &self,
        http: &HttpClient,
        what: &str,
        idempotency: Idempotency,
        method: Method,
        body: Option<(&str, &[u8])>,
        url: impl Fn(&Token<G::Extra>) -> Result<Url>,
        handle: impl Fn(HttpResponse, &Token<G::Extra>) -> Result<T>,
    ) -> Result<T> {
        let token = self.current(http).await?;
        let (method, url, handle) = (&method, &url, &handle);
        send_reauthenticating(
            token,
            |token| async move {
                let target = url(&token)?;
                let build = |client: &reqwest::Client| -> RequestBuilder {
                    let mut request = client
                        .request(method.clone(), target.clone())
                        .headers(self.headers.clone());
                    if let Some((content_type, bytes)) = body {
                        request = request
                            .header(reqwest::header::CONTENT_TYPE, content_type)
                            .body(bytes.to_vec());
                    }
                    match token.header() {
                        Some(value) => request.header(self.header_name.clone(), value.clone()),
                        None => request,
                    }
                };
                http.send(what, idempotency, build, |response| {
                    handle(response, &token)
                })
                .await
            },
            |refused| async move { self.renew(http, &refused).await },
        )
        .await
    }
}

/// When to replace a token that expires at `expires`: `margin` before,
/// saturating at the earliest time (a margin longer than the token's life
/// means "replace at once").
fn renew_at(expires: DateTime<Utc>, margin: Duration) -> DateTime<Utc> {
    let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
    expires
        .checked_sub_signed(margin)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_the_margin_before_expiry_and_saturates() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            renew_at(at, Duration::from_secs(300)),
            DateTime::parse_from_rfc3339("2026-01-01T11:55:00Z").unwrap()
        );
        assert_eq!(renew_at(at, Duration::MAX), DateTime::<Utc>::MIN_UTC);
    }
}

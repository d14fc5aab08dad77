//! Tokens: a static token, or a TOAST ID and API password exchanged at
//! `POST {base}/v1.0/appkeys/{appkey}/tokens`.
//!
//! An issued token is cached and renewed proactively once `expires − margin`
//! has passed. Renewal is single flight: tasks that need a token while one
//! is being fetched wait for that one instead of fetching their own. When
//! the server refuses a token, [`TokenSource::renew`] obtains a new one
//! (once for all tasks that saw the same refusal); a static token without a
//! password cannot be renewed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use imagecat_core::{BackendKind, Error, Result};
use imagecat_http::reqwest::header::{CONTENT_TYPE, HeaderValue};
use imagecat_http::{HttpClient, Idempotency, Renewable, SecretString, TokenCache, Url};
use serde::Serialize;

use crate::wire;

const BACKEND: BackendKind = BackendKind::Toast;

/// A token ready to be sent.
pub(crate) struct Token {
    /// The `X-Auth-Token` value, marked sensitive.
    header: HeaderValue,
    /// When to stop using it and fetch a new one; `None` for "until refused".
    renew_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &"[redacted]")
            .field("renew_at", &self.renew_at)
            .finish()
    }
}

impl Token {
    /// The header value to send as `X-Auth-Token`.
    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    fn from_secret(secret: &SecretString, renew_at: Option<DateTime<Utc>>) -> Option<Self> {
        Some(Token {
            header: secret.header_value()?,
            renew_at,
        })
    }
}

impl Renewable for Token {
    fn renew_at(&self) -> Option<DateTime<Utc>> {
        self.renew_at
    }
}

/// A TOAST ID (e-mail) and API password.
#[derive(Clone)]
pub(crate) struct PasswordGrant {
    pub(crate) username: String,
    pub(crate) password: SecretString,
}

impl fmt::Debug for PasswordGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordGrant")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    auth: TokenAuth<'a>,
}

#[derive(Serialize)]
struct TokenAuth<'a> {
    username: &'a str,
    password: &'a str,
}

/// Where tokens come from, and the cached one.
pub(crate) struct TokenSource {
    grant: Option<PasswordGrant>,
    has_static: bool,
    tokens_url: Url,
    margin: Duration,
    cache: TokenCache<Token>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("static_token", &self.has_static.then_some("[redacted]"))
            .field("grant", &self.grant)
            .field("renew_margin", &self.margin)
            .finish()
    }
}

impl TokenSource {
    /// A source with an optional static token (used until refused) and an
    /// optional password grant (used to obtain and renew tokens). At least
    /// one must be given.
    pub(crate) fn new(
        static_token: Option<&SecretString>,
        grant: Option<PasswordGrant>,
        tokens_url: Url,
        margin: Duration,
    ) -> Result<Self> {
        let initial = match static_token {
            Some(secret) => Some(Token::from_secret(secret, None).ok_or_else(|| {
                Error::config(
                    Some(BACKEND),
                    "the token holds characters that cannot be sent in an HTTP header",
                )
            })?),
            None => None,
        };
        if initial.is_none() && grant.is_none() {
            return Err(Error::config(
                Some(BACKEND),
                "no credentials: set a token, or a username and API password",
            ));
        }
        Ok(TokenSource {
            has_static: initial.is_some(),
            grant,
            tokens_url,
            margin,
            cache: TokenCache::new(initial),
        })
    }

    /// Whether a refused token can be replaced.
    pub(crate) fn can_renew(&self) -> bool {
        self.grant.is_some()
    }

    /// The token to send: the cached one while fresh, otherwise a new one
    /// (fetched once however many tasks ask at the same moment).
    pub(crate) async fn current(&self, http: &HttpClient) -> Result<Arc<Token>> {
        self.cache
            .current(self.can_renew(), || self.fetch(http))
            .await
    }

    /// A replacement for a token the server refused, or `None` when there is
    /// no password to obtain one. Tasks that saw the same token refused share
    /// one fetch.
    pub(crate) async fn renew(
        &self,
        http: &HttpClient,
        refused: &Arc<Token>,
    ) -> Result<Option<Arc<Token>>> {
        if !self.can_renew() {
            return Ok(None);
        }
        self.cache
            .renew(refused, || self.fetch(http))
            .await
            .map(Some)
    }

    async fn fetch(&self, http: &HttpClient) -> Result<Token> {
        let Some(grant) = &self.grant else {
            return Err(Error::config(
                Some(BACKEND),
                "no password to obtain a token",
            ));
        };
        let body = serde_json::to_vec(&TokenRequest {
            auth: TokenAuth {
                username: &grant.username,
                password: grant.password.expose_secret(),
            },
        })
        .map_err(|e| {
            Error::config(
                Some(BACKEND),
                format!("cannot encode the token request: {e}"),
            )
        })?;
        tracing::debug!(backend = %BACKEND, user = %grant.username, "requesting a token");
        let issued = http
            .send(
                "obtain a token",
                Idempotency::Idempotent,
                |client| {
                    client
                        .post(self.tokens_url.clone())
                        .header(CONTENT_TYPE, "application/json;charset=UTF-8")
                        .body(body.clone())
                },
                |response| {
                    wire::decode_token(&response).map_err(|e| match e {
                        Error::Unauthenticated {
                            backend,
                            code,
                            message,
                        } => Error::Unauthenticated {
                            backend,
                            code,
                            message: format!("the token request was refused: {message}"),
                        },
                        other => other,
                    })
                },
            )
            .await?;
        let renew_at = issued.expires.map(|expires| {
            let margin = chrono::Duration::from_std(self.margin).unwrap_or(chrono::Duration::MAX);
            expires
                .checked_sub_signed(margin)
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        });
        let token =
            Token::from_secret(&SecretString::new(issued.id), renew_at).ok_or_else(|| {
                Error::InvalidResponse {
                    backend: BACKEND,
                    status: None,
                    content_type: None,
                    message:
                        "the issued token holds characters that cannot be sent in an HTTP header"
                            .to_owned(),
                    snippet: String::new(),
                }
            })?;
        Ok(token)
    }
}

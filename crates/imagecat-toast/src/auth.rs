//! The TOAST token grant: a TOAST ID and API password exchanged at
//! `POST {base}/v1.0/appkeys/{appkey}/tokens`.
//!
//! Only the wire format is here; caching, renewal before expiry, single
//! flight and re-authentication are [`imagecat_http::TokenSource`]'s.

use std::fmt;

use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::reqwest::header::CONTENT_TYPE;
use imagecat_http::{Grant, HttpClient, Idempotency, Issued, SecretString, TokenSource, Url};
use serde::Serialize;

use crate::config::BACKEND;
use crate::wire;

/// The header a TOAST token goes in.
pub(crate) const AUTH_HEADER: &str = "x-auth-token";

/// The token source of a TOAST catalog.
pub(crate) type Auth = TokenSource<PasswordGrant>;

/// A TOAST ID (e-mail) and API password, and where to exchange them.
#[derive(Clone)]
pub(crate) struct PasswordGrant {
    pub(crate) username: String,
    pub(crate) password: SecretString,
    pub(crate) tokens_url: Url,
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

impl PasswordGrant {
    /// The JSON body of the token request.
    fn request_body(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&TokenRequest {
            auth: TokenAuth {
                username: &self.username,
                password: self.password.expose_secret(),
            },
        })
        .map_err(|e| {
            Error::config(
                Some(BACKEND),
                format!("cannot encode the token request: {e}"),
            )
        })
    }
}

impl Grant for PasswordGrant {
    type Extra = ();

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<()>> {
        let body = self.request_body()?;
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
                    wire::decode_token(&response).map_err(|e| match e.kind() {
                        ErrorKind::Unauthenticated => {
                            e.map_message(|m| format!("the token request was refused: {m}"))
                        }
                        _ => e,
                    })
                },
            )
            .await?;
        Ok(Issued {
            id: SecretString::new(issued.id),
            expires: issued.expires,
            extra: (),
        })
    }
}

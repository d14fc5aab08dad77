//! OAuth2 for the Compute API, as Google's own tools do it. So far: the
//! service-account flow's pieces, each testable offline.
//!
//! 1. [`ServiceAccountKey::from_json`] reads the JSON key file
//!    (`type` `service_account`, `client_email`, `private_key` as PEM
//!    PKCS#8, `token_uri`, optional `private_key_id`).
//! 2. [`ServiceAccountKey::assertion`] builds the JWT-bearer assertion:
//!    header `{"alg":"RS256","typ":"JWT","kid":private_key_id}`, claims
//!    `iss` (the client email), `scope` (space-separated), `aud` (the
//!    `token_uri`), `iat` and `exp` (`iat` + 3600 s, Google's maximum),
//!    signed RSASSA-PKCS1-v1_5 with SHA-256 by `ring` (already in the tree
//!    through rustls); the key's PEM is read by `rustls-pki-types` (also
//!    already in the tree), base64url by `base64`.
//! 3. [`token_request_body`]: the form `POST token_uri` takes
//!    (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`).
//! 4. [`TokenAnswer::from_json`] reads the answer
//!    (`{"access_token","expires_in","token_type"}`) or the OAuth error
//!    (`{"error","error_description"}`); the metadata server
//!    ([`METADATA_TOKEN_URL`] with `Metadata-Flavor: Google`) answers the
//!    same document.
//!
//! Keys and tokens live in [`SecretString`] (Debug redacts them, the scrub
//! set knows them); no error quotes a key file or a token answer: parse
//! errors name the field or the JSON position, never the text.
//!
//! 5. The grants behind `imagecat_http::TokenSource` (header
//!    `authorization`, the token as `Bearer …`): [`ServiceAccountGrant`]
//!    (steps 2–4 against `token_uri`) and [`MetadataGrant`] (`GET` the
//!    metadata server's token with `Metadata-Flavor: Google`).
//!
//! 6. [`GceGrant`]: either of them, the grant of the catalog's
//!    `TokenSource` (the choice among the credentials is `GceBuilder`'s).
//!
//! 7. [`AuthorizedUser`] (an `authorized_user` file, what
//!    `gcloud auth application-default login` writes): its refresh token
//!    exchanged at `token_uri` (default [`GOOGLE_TOKEN_URL`]) with
//!    `grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…`
//!    ([`AuthorizedUserGrant`]); [`CredentialsFile`] reads either kind of
//!    file by its `type`.
//!
//! Where the credentials are found (the environment, the
//! application-default credentials file, the metadata server) is
//! `GceBuilder::from_env`'s, in `config.rs`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::{Grant, HttpClient, HttpResponse, Idempotency, Issued, SecretString};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};

use crate::config::BACKEND;

/// Google's OAuth2 token endpoint: where a refresh token is exchanged when
/// the file names no `token_uri`.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// Read and write access to Compute Engine.
pub const COMPUTE_SCOPE: &str = "https://www.googleapis.com/auth/compute";
/// Read-only access to Compute Engine (enough to list and inspect).
pub const COMPUTE_READONLY_SCOPE: &str = "https://www.googleapis.com/auth/compute.readonly";
/// The OAuth2 grant type of a JWT-bearer assertion (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The metadata server's token of the instance's default service account.
pub const METADATA_TOKEN_URL: &str =
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
/// The header (name, value) the metadata server requires.
pub const METADATA_FLAVOR: (&str, &str) = ("Metadata-Flavor", "Google");

/// How long an assertion is valid: Google accepts at most one hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

fn key_error(message: impl std::fmt::Display) -> Error {
    Error::config(
        Some(BACKEND),
        format!("the service-account key file cannot be used: {message}"),
    )
}

/// A service-account key file, its private key parsed and redacted.
pub struct ServiceAccountKey {
    /// `client_email`: the assertion's issuer.
    pub client_email: String,
    /// `token_uri`: where the assertion is exchanged, and its audience.
    pub token_uri: String,
    /// `private_key_id`, sent as the JWT's `kid` when present.
    pub private_key_id: Option<String>,
    /// `project_id`, when the file has one.
    pub project_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key_id", &self.private_key_id)
            .field("project_id", &self.project_id)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl ServiceAccountKey {
    /// Reads a key file's JSON. A `Config` error names what is wrong (not
    /// JSON, with its position; a missing or mistyped field; a key that is
    /// not an RSA PKCS#8 PEM) and never quotes the file.
    pub fn from_json(text: &[u8]) -> Result<ServiceAccountKey> {
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            key_error(format_args!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let object = value
            .as_object()
            .ok_or_else(|| key_error("not a JSON object"))?;
        let field = |name: &str| -> Result<Option<&str>> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(key_error(format_args!("{name:?} is not a string"))),
            }
        };
        let required = |name: &str| -> Result<&str> {
            field(name)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| key_error(format_args!("no {name:?}")))
        };
        match field("type")? {
            Some("service_account") => {}
            Some("authorized_user") => {
                return Err(key_error(
                    "an authorized_user file is not a service-account key (CredentialsFile reads both)",
                ));
            }
            Some(_) => return Err(key_error("\"type\" is not \"service_account\"")),
            None => return Err(key_error("no \"type\"")),
        }
        // Registered in the scrub set before anything can fail on it.
        let pem = SecretString::new(required("private_key")?);
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.expose_secret().as_bytes())
            .map_err(|_| key_error("\"private_key\" is not a PEM PKCS#8 private key"))?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|e| {
            key_error(format_args!(
                "\"private_key\" is not an RSA key ring can sign with ({e})"
            ))
        })?;
        let token_uri = required("token_uri")?.to_owned();
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
            return Err(key_error("\"token_uri\" is not an http(s) URL"));
        }
        Ok(ServiceAccountKey {
            client_email: required("client_email")?.to_owned(),
            token_uri,
            private_key_id: field("private_key_id")?.map(str::to_owned),
            project_id: field("project_id")?.map(str::to_owned),
            key,
        })
    }

    /// The signed JWT-bearer assertion for `scopes`, issued at `now`
    /// (seconds since the epoch).
    pub fn assertion(&self, scopes: &[&str], now: i64) -> Result<SecretString> {
        let mut header = Map::new();
        header.insert("alg".into(), "RS256".into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = &self.private_key_id {
            header.insert("kid".into(), kid.clone().into());
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": scopes.join(" "),
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::new(ErrorKind::Config, "signing the assertion failed").with_backend(BACKEND)
            })?;
        Ok(SecretString::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }

    /// The DER `RSAPublicKey` of the key (to verify an assertion).
    pub fn public_key_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }
}

/// The form body of the token request for `assertion`
/// (`application/x-www-form-urlencoded`).
pub fn token_request_body(assertion: &SecretString) -> SecretString {
    // The assertion is base64url and dots, nothing to escape.
    SecretString::new(format!(
        "grant_type={}&assertion={}",
        url::form_urlencoded::byte_serialize(JWT_BEARER_GRANT.as_bytes()).collect::<String>(),
        assertion.expose_secret()
    ))
}

/// An access token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The token.
    pub token: SecretString,
    /// `expires_in`, when the answer said.
    pub expires_in: Option<Duration>,
}

impl AccessToken {
    /// `Bearer {token}`, the `Authorization` header's value (what
    /// `imagecat_http::TokenSource` sends as the token).
    pub fn header_secret(&self) -> SecretString {
        SecretString::new(format!("Bearer {}", self.token.expose_secret()))
    }
}

/// What a token endpoint (or the metadata server) answered.
#[derive(Debug, Clone)]
pub enum TokenAnswer {
    /// A token.
    Token(AccessToken),
    /// An OAuth2 error (`invalid_grant`, …) with its description.
    Refused {
        /// `error`.
        error: String,
        /// `error_description`, scrubbed.
        description: Option<String>,
    },
}

impl TokenAnswer {
    /// Reads a token answer. An answer that is neither a token nor an
    /// OAuth2 error is `InvalidResponse` without its body (it may hold a
    /// token).
    pub fn from_json(body: &[u8]) -> Result<TokenAnswer> {
        let invalid = |what: &str| {
            Error::invalid_response(
                BACKEND,
                None,
                None,
                format!("the token answer {what} (its body is not shown: it may hold a token)"),
                "",
            )
        };
        let value: Value = serde_json::from_slice(body).map_err(|_| invalid("is not JSON"))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid("is not an object"))?;
        if let Some(Value::String(token)) = object.get("access_token") {
            let token = SecretString::new(token.as_str());
            if token.is_empty() {
                return Err(invalid("has an empty access_token"));
            }
            if let Some(kind) = object.get("token_type").and_then(Value::as_str) {
                if !kind.eq_ignore_ascii_case("bearer") {
                    return Err(invalid("has a token_type that is not Bearer"));
                }
            }
            let expires_in = match object.get("expires_in") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| {
                    invalid("has an expires_in that is not a whole number of seconds")
                })?),
                Some(Value::String(s)) => Some(s.trim().parse::<u64>().map_err(|_| {
                    invalid("has an expires_in that is not a whole number of seconds")
                })?),
                Some(_) => return Err(invalid("has an expires_in that is not a number")),
            };
            return Ok(TokenAnswer::Token(AccessToken {
                token,
                expires_in: expires_in.map(Duration::from_secs),
            }));
        }
        if let Some(Value::String(error)) = object.get("error") {
            let description = object
                .get("error_description")
                .and_then(Value::as_str)
                .map(|d| crate::error::redact_bearer(&imagecat_http::scrub(d)));
            return Ok(TokenAnswer::Refused {
                error: imagecat_http::scrub(error).into_owned(),
                description,
            });
        }
        Err(invalid("has neither access_token nor error"))
    }

    /// The token, or an `Unauthenticated` error naming the refusal.
    pub fn into_token(self) -> Result<AccessToken> {
        match self {
            TokenAnswer::Token(token) => Ok(token),
            TokenAnswer::Refused { error, description } => Err(refusal(error, description)),
        }
    }
}

/// The `Unauthenticated` error of an OAuth2 refusal.
fn refusal(error: String, description: Option<String>) -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        match description {
            Some(d) => format!("the token request was refused: {error}: {d}"),
            None => format!("the token request was refused: {error}"),
        },
    )
    .with_backend(BACKEND)
    .with_code(error)
}

/// The header a [`imagecat_http::TokenSource`] of these grants sends.
pub const TOKEN_HEADER: &str = "authorization";

/// The token a successful answer carries, as the token source keeps it;
/// an OAuth2 refusal is `Unauthenticated`, and an answer that is not JSON
/// is `InvalidResponse` without its body.
fn issued(response: &HttpResponse) -> Result<Issued<()>> {
    let answer = TokenAnswer::from_json(&response.body);
    if !response.status.is_success() {
        return Err(match answer {
            Ok(TokenAnswer::Refused { error, description }) => {
                refusal(error, description).with_status(response.status.as_u16())
            }
            _ => crate::error::decode_error(response),
        });
    }
    let token = response.hide_secret_answer("the token answer", answer?.into_token())?;
    let expires = token.expires_in.and_then(|d| {
        chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| chrono::Utc::now().checked_add_signed(d))
    });
    Ok(Issued {
        id: token.header_secret(),
        expires,
        extra: (),
    })
}

/// Tokens from a service-account key: a signed assertion exchanged at the
/// key's `token_uri`.
#[derive(Debug)]
pub struct ServiceAccountGrant {
    key: ServiceAccountKey,
    scopes: Vec<String>,
}

impl ServiceAccountGrant {
    /// A grant for `key`, asking for `scopes`.
    pub fn new(key: ServiceAccountKey, scopes: &[&str]) -> Self {
        ServiceAccountGrant {
            key,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Grant for ServiceAccountGrant {
    type Extra = ();

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<()>> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let assertion = self
            .key
            .assertion(&scopes, chrono::Utc::now().timestamp())?;
        let body = token_request_body(&assertion);
        let url = url::Url::parse(&self.key.token_uri).map_err(key_error)?;
        http.send(
            "exchange the service-account assertion for a token",
            Idempotency::Idempotent,
            |client| {
                client
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "application/json")
                    .body(body.expose_secret().to_owned())
            },
            |response| issued(&response),
        )
        .await
    }
}

/// Tokens of the instance's default service account, from the metadata
/// server (on a GCE instance).
#[derive(Debug, Clone)]
pub struct MetadataGrant {
    url: url::Url,
    last_resort: bool,
}

impl MetadataGrant {
    /// The metadata server's token URL ([`METADATA_TOKEN_URL`]), or another
    /// (tests, `GCE_METADATA_HOST`).
    pub fn new(url: url::Url) -> Self {
        MetadataGrant {
            url,
            last_resort: false,
        }
    }

    /// Marks the grant as chosen because no other credentials were found
    /// (builder style): a metadata server that cannot be reached is then a
    /// `Config` error saying so and naming where credentials are looked
    /// for, not a bare transport error.
    pub fn as_last_resort(mut self, yes: bool) -> Self {
        self.last_resort = yes;
        self
    }
}

impl Default for MetadataGrant {
    fn default() -> Self {
        MetadataGrant::new(url::Url::parse(METADATA_TOKEN_URL).expect("a valid URL"))
    }
}

impl Grant for MetadataGrant {
    type Extra = ();

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<()>> {
        let answer = http
            .send(
                "obtain a token from the metadata server",
                Idempotency::Idempotent,
                |client| {
                    client
                        .get(self.url.clone())
                        .header(METADATA_FLAVOR.0, METADATA_FLAVOR.1)
                },
                |response| issued(&response),
            )
            .await;
        match answer {
            Err(e)
                if self.last_resort
                    && matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) =>
            {
                Err(Error::config(
                    Some(BACKEND),
                    format!(
                        "no credentials found (GOOGLE_OAUTH_ACCESS_TOKEN, \
                         GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default \
                         credentials file) and the metadata server at {} cannot be \
                         reached (not on GCE?): {e}",
                        imagecat_http::endpoint::display(&self.url)
                    ),
                ))
            }
            other => other,
        }
    }
}

/// An `authorized_user` credentials file (what `gcloud auth
/// application-default login` writes): a user's OAuth client and refresh
/// token. The secret and the refresh token are redacted in Debug.
pub struct AuthorizedUser {
    /// `client_id`.
    pub client_id: String,
    /// `token_uri` (Google's [`GOOGLE_TOKEN_URL`] when the file has none).
    pub token_uri: String,
    /// `quota_project_id`, sent as `x-goog-user-project` when present.
    pub quota_project_id: Option<String>,
    client_secret: SecretString,
    refresh_token: SecretString,
}

impl std::fmt::Debug for AuthorizedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizedUser")
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .field("quota_project_id", &self.quota_project_id)
            .field("client_secret", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

fn user_error(message: impl std::fmt::Display) -> Error {
    Error::config(
        Some(BACKEND),
        format!("the authorized_user credentials file cannot be used: {message}"),
    )
}

impl AuthorizedUser {
    /// Reads an `authorized_user` file's JSON object. A `Config` error
    /// names the missing or mistyped field, never the file's text.
    fn from_object(object: &Map<String, Value>) -> Result<AuthorizedUser> {
        let field = |name: &str| -> Result<Option<&str>> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.is_empty())),
                Some(_) => Err(user_error(format_args!("{name:?} is not a string"))),
            }
        };
        let required = |name: &str| -> Result<&str> {
            field(name)?.ok_or_else(|| user_error(format_args!("no {name:?}")))
        };
        // Registered in the scrub set before anything can fail on them.
        let client_secret = SecretString::new(required("client_secret")?);
        let refresh_token = SecretString::new(required("refresh_token")?);
        let token_uri = field("token_uri")?.unwrap_or(GOOGLE_TOKEN_URL).to_owned();
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
            return Err(user_error("\"token_uri\" is not an http(s) URL"));
        }
        Ok(AuthorizedUser {
            client_id: required("client_id")?.to_owned(),
            token_uri,
            quota_project_id: field("quota_project_id")?.map(str::to_owned),
            client_secret,
            refresh_token,
        })
    }

    /// The form body of the refresh request
    /// (`application/x-www-form-urlencoded`).
    pub fn refresh_request_body(&self) -> SecretString {
        SecretString::new(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair("client_id", &self.client_id)
                .append_pair("client_secret", self.client_secret.expose_secret())
                .append_pair("refresh_token", self.refresh_token.expose_secret())
                .finish(),
        )
    }
}

/// A credentials file as Google's tools read it, by its `type`:
/// `service_account` or `authorized_user`. Any other type
/// (`external_account`, `impersonated_service_account`, …) is a `Config`
/// error naming it.
#[derive(Debug)]
pub enum CredentialsFile {
    /// A service-account key (boxed: the parsed RSA key is large).
    ServiceAccount(Box<ServiceAccountKey>),
    /// A user's refresh token.
    AuthorizedUser(AuthorizedUser),
}

impl CredentialsFile {
    /// Reads a credentials file's JSON; errors never quote the file.
    pub fn from_json(text: &[u8]) -> Result<CredentialsFile> {
        let bad = |message: String| {
            Error::config(
                Some(BACKEND),
                format!("the credentials file cannot be used: {message}"),
            )
        };
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            bad(format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("not a JSON object".to_owned()))?;
        match object.get("type").and_then(Value::as_str) {
            Some("service_account") => ServiceAccountKey::from_json(text)
                .map(|k| CredentialsFile::ServiceAccount(Box::new(k))),
            Some("authorized_user") => {
                AuthorizedUser::from_object(object).map(CredentialsFile::AuthorizedUser)
            }
            Some(other) => Err(bad(format!(
                "its type {:?} is not supported (service_account and authorized_user are)",
                imagecat_http::scrub(other)
            ))),
            None => Err(bad("no \"type\"".to_owned())),
        }
    }
}

/// Tokens from a user's refresh token, exchanged at its `token_uri`.
#[derive(Debug)]
pub struct AuthorizedUserGrant {
    user: AuthorizedUser,
}

impl AuthorizedUserGrant {
    /// A grant for `user` (the scopes are the refresh token's own).
    pub fn new(user: AuthorizedUser) -> Self {
        AuthorizedUserGrant { user }
    }
}

impl Grant for AuthorizedUserGrant {
    type Extra = ();

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<()>> {
        let body = self.user.refresh_request_body();
        let url = url::Url::parse(&self.user.token_uri).map_err(user_error)?;
        http.send(
            "exchange the refresh token for a token",
            Idempotency::Idempotent,
            |client| {
                client
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "application/json")
                    .body(body.expose_secret().to_owned())
            },
            |response| issued(&response),
        )
        .await
    }
}

/// The grant of a GCE catalog: a service-account key, a user's refresh
/// token or the metadata server (one `TokenSource` type whichever the
/// builder chose).
#[derive(Debug)]
pub enum GceGrant {
    /// A service-account key file's signed assertion (boxed: the parsed
    /// RSA key is large).
    ServiceAccount(Box<ServiceAccountGrant>),
    /// An authorized-user file's refresh token.
    AuthorizedUser(AuthorizedUserGrant),
    /// The metadata server of the instance the process runs on.
    Metadata(MetadataGrant),
}

impl Grant for GceGrant {
    type Extra = ();

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<()>> {
        match self {
            GceGrant::ServiceAccount(grant) => grant.fetch(http).await,
            GceGrant::AuthorizedUser(grant) => grant.fetch(http).await,
            GceGrant::Metadata(grant) => grant.fetch(http).await,
        }
    }
}

//! Tokens: a static token, or Keystone password authentication (v2.0 as
//! NHN Cloud's identity service takes it, or v3), with the image endpoint
//! taken from the token's service catalog when none is configured.
//!
//! Only the wire format is here (the request bodies, the decoding, the
//! endpoint choice); caching, renewal before expiry, single flight and
//! re-authentication are [`imagecat_http::TokenSource`]'s.

use std::fmt;

use imagecat_core::{BackendKind, Error, ErrorKind, Result};
use imagecat_http::reqwest::header::{ACCEPT, CONTENT_TYPE};
use imagecat_http::{
    Grant, HttpClient, HttpResponse, Idempotency, Issued, SecretString, TokenSource, Url,
};
use serde_json::json;

use crate::wire::{self, CatalogEndpoint, IssuedToken};

const BACKEND: BackendKind = BackendKind::Glance;

/// The header a Keystone token goes in.
pub(crate) const AUTH_HEADER: &str = "x-auth-token";

/// The token source of a Glance catalog; a token's extra is the
/// endpoints its service catalog names.
pub(crate) type Auth = TokenSource<KeystoneGrant>;

/// A token ready to be sent.
pub(crate) type Token = imagecat_http::Token<Endpoints>;

/// The endpoints a token's service catalog names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// The image endpoint (only when none is configured).
    pub(crate) image: Option<Url>,
    /// The compute (Nova) endpoint of the region, if the catalog has one.
    pub(crate) compute: Option<Url>,
    /// The project the token is scoped to (Keystone's answer), if it says.
    pub(crate) project: Option<String>,
    /// The block-storage (Cinder) endpoint of the region, if any.
    pub(crate) volume: Option<Url>,
}

/// The Keystone v2.0 tenant a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V2Scope {
    /// `tenantId` (what NHN Cloud documents).
    TenantId(String),
    /// `tenantName`.
    TenantName(String),
}

/// A Keystone v3 domain, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Domain {
    /// `{"name": …}`.
    Name(String),
    /// `{"id": …}`.
    Id(String),
}

impl Domain {
    fn body(&self) -> serde_json::Value {
        match self {
            Domain::Name(name) => json!({ "name": name }),
            Domain::Id(id) => json!({ "id": id }),
        }
    }
}

/// The Keystone v3 user an application credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum User {
    /// A user by name, in a domain.
    Name {
        /// The user name.
        name: String,
        /// The user's domain.
        domain: Domain,
    },
    /// A user by id.
    Id(String),
}

/// A Keystone v3 application credential, by id, or by name with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppCredential {
    /// `{"id": …}`.
    Id(String),
    /// `{"name": …, "user": …}`.
    Name {
        /// The application credential's name.
        name: String,
        /// Its owner.
        user: User,
    },
}

/// The Keystone v3 project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V3Scope {
    /// A project by name, in a domain.
    Name {
        /// The project name.
        project: String,
        /// The project's domain.
        domain: Domain,
    },
    /// A project by id.
    Id(String),
}

/// Keystone authentication: a password, an application credential, or a
/// token exchanged for a new one.
#[derive(Clone)]
pub(crate) enum Identity {
    /// `POST {auth_url}/tokens` (v2.0).
    V2 {
        tokens_url: Url,
        scope: V2Scope,
        username: String,
        password: SecretString,
    },
    /// `POST {auth_url}/auth/tokens` (v3).
    V3 {
        tokens_url: Url,
        username: String,
        user_domain: Domain,
        scope: V3Scope,
        password: SecretString,
    },
    /// `POST {auth_url}/auth/tokens` with an application credential (v3;
    /// the credential fixes the project, so no scope is sent).
    V3AppCredential {
        tokens_url: Url,
        credential: AppCredential,
        secret: SecretString,
    },
    /// `POST {auth_url}/auth/tokens` with the `token` method (v3).
    V3Token {
        tokens_url: Url,
        token: SecretString,
        scope: V3Scope,
    },
    /// `POST {auth_url}/tokens` with `{"token": {"id": …}}` (v2.0).
    V2Token {
        tokens_url: Url,
        token: SecretString,
        scope: V2Scope,
    },
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::V2 {
                tokens_url,
                scope,
                username,
                ..
            } => f
                .debug_struct("KeystoneV2")
                .field("tokens_url", &tokens_url.as_str())
                .field("scope", scope)
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Identity::V3 {
                tokens_url,
                username,
                user_domain,
                scope,
                ..
            } => f
                .debug_struct("KeystoneV3")
                .field("tokens_url", &tokens_url.as_str())
                .field("username", username)
                .field("user_domain", user_domain)
                .field("scope", scope)
                .field("password", &"[redacted]")
                .finish(),
            Identity::V3AppCredential {
                tokens_url,
                credential,
                ..
            } => f
                .debug_struct("KeystoneV3ApplicationCredential")
                .field("tokens_url", &tokens_url.as_str())
                .field("credential", credential)
                .field("secret", &"[redacted]")
                .finish(),
            Identity::V3Token {
                tokens_url, scope, ..
            } => f
                .debug_struct("KeystoneV3Token")
                .field("tokens_url", &tokens_url.as_str())
                .field("token", &"[redacted]")
                .field("scope", scope)
                .finish(),
            Identity::V2Token {
                tokens_url, scope, ..
            } => f
                .debug_struct("KeystoneV2Token")
                .field("tokens_url", &tokens_url.as_str())
                .field("token", &"[redacted]")
                .field("scope", scope)
                .finish(),
        }
    }
}

impl Identity {
    fn tokens_url(&self) -> &Url {
        match self {
            Identity::V2 { tokens_url, .. }
            | Identity::V3 { tokens_url, .. }
            | Identity::V3AppCredential { tokens_url, .. }
            | Identity::V3Token { tokens_url, .. }
            | Identity::V2Token { tokens_url, .. } => tokens_url,
        }
    }

    /// Whether the answer is a v2.0 token document (else v3).
    fn is_v2(&self) -> bool {
        matches!(self, Identity::V2 { .. } | Identity::V2Token { .. })
    }

    fn request_body(&self) -> serde_json::Value {
        match self {
            Identity::V2 {
                scope,
                username,
                password,
                ..
            } => {
                let credentials = json!({
                    "username": username,
                    "password": password.expose_secret(),
                });
                v2_body(scope, "passwordCredentials", credentials)
            }
            Identity::V2Token { scope, token, .. } => {
                v2_body(scope, "token", json!({ "id": token.expose_secret() }))
            }
            Identity::V3AppCredential {
                credential, secret, ..
            } => app_credential_body(credential, secret),
            Identity::V3Token { token, scope, .. } => json!({"auth": {
                "identity": {
                    "methods": ["token"],
                    "token": {"id": token.expose_secret()},
                },
                "scope": {"project": v3_project(scope)},
            }}),
            Identity::V3 {
                username,
                user_domain,
                scope,
                password,
                ..
            } => {
                json!({"auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {
                            "name": username,
                            "domain": user_domain.body(),
                            "password": password.expose_secret(),
                        }},
                    },
                    "scope": {"project": v3_project(scope)},
                }})
            }
        }
    }
}

/// A v2.0 token request: the tenant and one kind of credentials.
fn v2_body(scope: &V2Scope, kind: &str, credentials: serde_json::Value) -> serde_json::Value {
    let (key, tenant) = match scope {
        V2Scope::TenantId(id) => ("tenantId", id),
        V2Scope::TenantName(name) => ("tenantName", name),
    };
    json!({"auth": {key: tenant, kind: credentials}})
}

/// The v3 `scope.project` of a request.
fn v3_project(scope: &V3Scope) -> serde_json::Value {
    match scope {
        V3Scope::Name { project, domain } => json!({"name": project, "domain": domain.body()}),
        V3Scope::Id(id) => json!({ "id": id }),
    }
}

/// A v3 application-credential request: no scope (the credential is bound
/// to its project).
fn app_credential_body(credential: &AppCredential, secret: &SecretString) -> serde_json::Value {
    let mut body = match credential {
        AppCredential::Id(id) => json!({ "id": id }),
        AppCredential::Name { name, user } => {
            let user = match user {
                User::Id(id) => json!({ "id": id }),
                User::Name { name, domain } => json!({"name": name, "domain": domain.body()}),
            };
            json!({"name": name, "user": user})
        }
    };
    body["secret"] = json!(secret.expose_secret());
    json!({"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": body,
    }}})
}

/// Keystone password authentication, the region whose image endpoint to
/// take, and whether that endpoint is needed (none is configured).
#[derive(Debug, Clone)]
pub(crate) struct KeystoneGrant {
    pub(crate) identity: Identity,
    pub(crate) region: Option<String>,
    pub(crate) need_endpoint: bool,
}

impl KeystoneGrant {
    /// The Keystone URL tokens come from.
    pub(crate) fn tokens_url(&self) -> &Url {
        self.identity.tokens_url()
    }
}

impl Grant for KeystoneGrant {
    type Extra = Endpoints;

    async fn fetch(&self, http: &HttpClient) -> Result<Issued<Endpoints>> {
        let identity = &self.identity;
        let body = serde_json::to_vec(&identity.request_body()).map_err(|e| {
            Error::config(
                Some(BACKEND),
                format!("cannot encode the token request: {e}"),
            )
        })?;
        let issued = http
            .send(
                "obtain a Keystone token",
                Idempotency::Idempotent,
                |client| {
                    client
                        .post(identity.tokens_url().clone())
                        .header(CONTENT_TYPE, "application/json")
                        .header(ACCEPT, "application/json")
                        .body(body.clone())
                },
                |response| {
                    if !response.status.is_success() {
                        return Err(token_error(&response));
                    }
                    if identity.is_v2() {
                        wire::decode_v2_token(&response)
                    } else {
                        wire::decode_v3_token(&response)
                    }
                },
            )
            .await?;
        let IssuedToken {
            id,
            expires,
            image_endpoints,
            compute_endpoints,
            volume_endpoints,
            project,
        } = issued;
        let image = if self.need_endpoint {
            let text = pick_endpoint(&image_endpoints, self.region.as_deref())?;
            Some(crate::config::image_base(&text)?)
        } else {
            None
        };
        let region = self.region.as_deref();
        let service = |eps: &[CatalogEndpoint]| {
            pick_endpoint(eps, region)
                .ok()
                .and_then(|text| crate::nova::service_base(&text).ok())
        };
        Ok(Issued {
            id: SecretString::new(id),
            expires,
            extra: Endpoints {
                image,
                compute: service(&compute_endpoints),
                volume: service(&volume_endpoints),
                project,
            },
        })
    }
}

/// The error of a refused token request: Keystone's own message, prefixed.
fn token_error(response: &HttpResponse) -> Error {
    let e = crate::catalog::error_for(response, None);
    if e.kind() == ErrorKind::Unauthenticated {
        e.map_message(|m| format!("Keystone refused the credentials: {m}"))
    } else {
        e
    }
}

/// The image endpoint for `region` among a catalog's public image endpoints:
/// the one of that region; without a region, the only one. `Config` errors
/// name what the catalog offers.
pub(crate) fn pick_endpoint(endpoints: &[CatalogEndpoint], region: Option<&str>) -> Result<String> {
    let regions = || {
        let mut names: Vec<&str> = endpoints
            .iter()
            .map(|e| e.region.as_deref().unwrap_or("(no region)"))
            .collect();
        names.dedup();
        names.join(", ")
    };
    if endpoints.is_empty() {
        return Err(Error::config(
            Some(BACKEND),
            "the token's service catalog has no public endpoint of type \"image\"; set the image endpoint (OS_IMAGE_URL)",
        ));
    }
    match region {
        Some(region) => endpoints
            .iter()
            .find(|e| {
                e.region
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(region))
            })
            .map(|e| e.url.clone())
            .ok_or_else(|| {
                Error::config(
                    Some(BACKEND),
                    format!(
                        "the service catalog has no image endpoint in region {region:?} (it has: {})",
                        regions()
                    ),
                )
            }),
        None => {
            let mut urls: Vec<&str> = endpoints.iter().map(|e| e.url.as_str()).collect();
            urls.sort_unstable();
            urls.dedup();
            match urls.as_slice() {
                [one] => Ok((*one).to_owned()),
                _ => Err(Error::config(
                    Some(BACKEND),
                    format!(
                        "the service catalog has image endpoints in several regions ({}); choose one (OS_REGION_NAME)",
                        regions()
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(region: &str, url: &str) -> CatalogEndpoint {
        CatalogEndpoint {
            region: Some(region.into()),
            url: url.into(),
        }
    }

    #[test]
    fn endpoints_are_picked_by_region() {
        let eps = [
            ep(
                "KR1",
                "https://kr1-api-image-infrastructure.nhncloudservice.com",
            ),
            ep(
                "KR2",
                "https://kr2-api-image-infrastructure.nhncloudservice.com",
            ),
        ];
        assert_eq!(
            pick_endpoint(&eps, Some("kr2")).unwrap(),
            "https://kr2-api-image-infrastructure.nhncloudservice.com"
        );
        let e = pick_endpoint(&eps, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("KR1, KR2"), "{e}");
        let e = pick_endpoint(&eps, Some("JP1")).unwrap_err();
        assert!(e.to_string().contains("JP1"), "{e}");
        assert_eq!(
            pick_endpoint(&eps[..1], None).unwrap(),
            "https://kr1-api-image-infrastructure.nhncloudservice.com"
        );
        assert_eq!(
            pick_endpoint(&[], None).unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn request_bodies_follow_each_keystone_version() {
        let v2 = Identity::V2 {
            tokens_url: Url::parse("https://id/v2.0/tokens").unwrap(),
            scope: V2Scope::TenantId("t-1".into()),
            username: "me@example.com".into(),
            password: SecretString::new("s3cret-pw"),
        };
        assert_eq!(
            v2.request_body(),
            json!({"auth":{"tenantId":"t-1","passwordCredentials":{"username":"me@example.com","password":"s3cret-pw"}}})
        );
        let v3 = Identity::V3 {
            tokens_url: Url::parse("https://id/v3/auth/tokens").unwrap(),
            username: "me".into(),
            user_domain: Domain::Name("Default".into()),
            scope: V3Scope::Name {
                project: "p".into(),
                domain: Domain::Id("default".into()),
            },
            password: SecretString::new("s3cret-pw"),
        };
        let body = v3.request_body();
        assert_eq!(body["auth"]["identity"]["methods"], json!(["password"]));
        assert_eq!(
            body["auth"]["identity"]["password"]["user"],
            json!({"name":"me","domain":{"name":"Default"},"password":"s3cret-pw"})
        );
        assert_eq!(
            body["auth"]["scope"],
            json!({"project":{"name":"p","domain":{"id":"default"}}})
        );
        assert!(!format!("{v2:?} {v3:?}").contains("s3cret"));
    }

    #[test]
    fn application_credential_and_token_bodies() {
        let url = Url::parse("https://id/v3/auth/tokens").unwrap();
        let by_id = Identity::V3AppCredential {
            tokens_url: url.clone(),
            credential: AppCredential::Id("ac-1".into()),
            secret: SecretString::new("s3cret-ac"),
        };
        assert_eq!(
            by_id.request_body(),
            json!({"auth":{"identity":{"methods":["application_credential"],
                "application_credential":{"id":"ac-1","secret":"s3cret-ac"}}}})
        );
        let by_name = Identity::V3AppCredential {
            tokens_url: url.clone(),
            credential: AppCredential::Name {
                name: "ci".into(),
                user: User::Name {
                    name: "me".into(),
                    domain: Domain::Name("Default".into()),
                },
            },
            secret: SecretString::new("s3cret-ac"),
        };
        assert_eq!(
            by_name.request_body()["auth"]["identity"]["application_credential"],
            json!({"name":"ci","user":{"name":"me","domain":{"name":"Default"}},"secret":"s3cret-ac"})
        );
        assert!(by_name.request_body()["auth"].get("scope").is_none());
        let v3_token = Identity::V3Token {
            tokens_url: url,
            token: SecretString::new("s3cret-tok"),
            scope: V3Scope::Id("p-1".into()),
        };
        assert_eq!(
            v3_token.request_body(),
            json!({"auth":{"identity":{"methods":["token"],"token":{"id":"s3cret-tok"}},
                "scope":{"project":{"id":"p-1"}}}})
        );
        let v2_token = Identity::V2Token {
            tokens_url: Url::parse("https://id/v2.0/tokens").unwrap(),
            token: SecretString::new("s3cret-tok"),
            scope: V2Scope::TenantName("t".into()),
        };
        assert_eq!(
            v2_token.request_body(),
            json!({"auth":{"tenantName":"t","token":{"id":"s3cret-tok"}}})
        );
        assert!(v2_token.is_v2() && !v3_token.is_v2());
        let shown = format!("{by_id:?} {by_name:?} {v3_token:?} {v2_token:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

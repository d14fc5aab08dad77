//! The Keystone identity a [`GlanceBuilder`]'s settings ask for: password,
//! application credential or token, v2.0 or v3 (the request bodies are in
//! `crate::auth`).

use imagecat_core::{Error, Result};
use imagecat_http::Url;
use imagecat_http::endpoint::join_segments;

use super::{BACKEND, DEFAULT_DOMAIN, GlanceBuilder, Version, identity_base, version_of};
use crate::auth::{AppCredential, Domain, Identity, User, V2Scope, V3Scope};

/// The kind of credentials (`auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Password(Option<Version>),
    Token(Option<Version>),
    AppCredential,
    None,
}

impl GlanceBuilder {
    /// What `auth_type` (or, without one, the credentials given) asks for.
    pub(super) fn auth_kind(&self) -> Result<Kind> {
        let Some(kind) = self.auth_type.as_deref().map(str::trim) else {
            let app = self.app_credential_secret.is_some() && self.password.is_none();
            return Ok(if app {
                Kind::AppCredential
            } else {
                Kind::Password(None)
            });
        };
        Ok(match kind.to_ascii_lowercase().as_str() {
            "password" => Kind::Password(None),
            "v2password" => Kind::Password(Some(Version::V2)),
            "v3password" => Kind::Password(Some(Version::V3)),
            "token" => Kind::Token(None),
            "v2token" => Kind::Token(Some(Version::V2)),
            "v3token" => Kind::Token(Some(Version::V3)),
            "v3applicationcredential" => Kind::AppCredential,
            "none" => Kind::None,
            _ => {
                return Err(Error::config(
                    Some(BACKEND),
                    format!(
                        "auth_type {kind:?} is not supported; supported: password, v2password, v3password, token, v2token, v3token, v3applicationcredential, none"
                    ),
                ));
            }
        })
    }

    fn user_domain(&self) -> Domain {
        match (&self.user_domain_id, &self.user_domain) {
            (Some(id), _) => Domain::Id(id.clone()),
            (None, Some(name)) => Domain::Name(name.clone()),
            (None, None) => Domain::Name(DEFAULT_DOMAIN.to_owned()),
        }
    }

    fn v3_scope(&self) -> Result<V3Scope> {
        match (&self.project_id, &self.project_name) {
            (Some(id), _) => Ok(V3Scope::Id(id.clone())),
            (None, Some(name)) => Ok(V3Scope::Name {
                project: name.clone(),
                domain: match (&self.project_domain_id, &self.project_domain) {
                    (Some(id), _) => Domain::Id(id.clone()),
                    (None, Some(name)) => Domain::Name(name.clone()),
                    (None, None) => Domain::Name(DEFAULT_DOMAIN.to_owned()),
                },
            }),
            (None, None) => Err(Error::config(
                Some(BACKEND),
                "Keystone v3 needs a project (OS_PROJECT_NAME or OS_PROJECT_ID)",
            )),
        }
    }

    fn v2_scope(&self) -> Result<V2Scope> {
        match (&self.project_id, &self.project_name) {
            (Some(id), _) => Ok(V2Scope::TenantId(id.clone())),
            (None, Some(name)) => Ok(V2Scope::TenantName(name.clone())),
            (None, None) => Err(Error::config(
                Some(BACKEND),
                "Keystone v2.0 needs a tenant (OS_TENANT_ID or OS_TENANT_NAME)",
            )),
        }
    }

    pub(super) fn identity(&self) -> Result<Option<Identity>> {
        let kind = self.auth_kind()?;
        if kind == Kind::None {
            return Ok(None);
        }
        let Some(auth_url) = self.auth_url.as_deref() else {
            let has_password = self.username.is_some() && self.password.is_some();
            if (has_password || self.app_credential_secret.is_some()) && self.endpoint.is_none() {
                return Err(Error::config(
                    Some(BACKEND),
                    "Keystone credentials but no Keystone auth URL (OS_AUTH_URL)",
                ));
            }
            return Ok(None);
        };
        let forced = match kind {
            Kind::Password(v) | Kind::Token(v) => v,
            Kind::AppCredential => Some(Version::V3),
            Kind::None => None,
        };
        let version = forced
            .or(self.version)
            .or_else(|| version_of(auth_url))
            .unwrap_or(Version::V3);
        let base = identity_base(auth_url, version)?;
        let v2_url = || join_segments(BACKEND, &base, &["tokens"]);
        let v3_url = || join_segments(BACKEND, &base, &["auth", "tokens"]);
        match kind {
            Kind::AppCredential => return self.app_credential_identity(v3_url()?).map(Some),
            Kind::Token(_) => {
                let Some(token) = self.token.clone().filter(|t| !t.is_empty()) else {
                    return Err(Error::config(
                        Some(BACKEND),
                        "auth_type token needs a token (OS_TOKEN or auth.token)",
                    ));
                };
                return Ok(Some(match version {
                    Version::V2 => Identity::V2Token {
                        tokens_url: v2_url()?,
                        token,
                        scope: self.v2_scope()?,
                    },
                    Version::V3 => Identity::V3Token {
                        tokens_url: v3_url()?,
                        token,
                        scope: self.v3_scope()?,
                    },
                }));
            }
            Kind::Password(_) | Kind::None => {}
        }
        let username = self.username.clone().filter(|u| !u.is_empty());
        let password = self.password.clone().filter(|p| !p.is_empty());
        let (Some(username), Some(password)) = (username, password) else {
            if self.token.is_some() {
                // OS_AUTH_URL beside a token: the token alone is used.
                return Ok(None);
            }
            return Err(Error::config(
                Some(BACKEND),
                "Keystone authentication needs a username and a password (OS_USERNAME, OS_PASSWORD), or an application credential (OS_APPLICATION_CREDENTIAL_ID, OS_APPLICATION_CREDENTIAL_SECRET)",
            ));
        };
        let identity = match version {
            Version::V2 => Identity::V2 {
                tokens_url: v2_url()?,
                scope: self.v2_scope()?,
                username,
                password,
            },
            Version::V3 => Identity::V3 {
                tokens_url: v3_url()?,
                username,
                user_domain: self.user_domain(),
                scope: self.v3_scope()?,
                password,
            },
        };
        Ok(Some(identity))
    }

    /// A v3 application credential: by id, or by name with its user.
    fn app_credential_identity(&self, tokens_url: Url) -> Result<Identity> {
        let Some(secret) = self.app_credential_secret.clone().filter(|s| !s.is_empty()) else {
            return Err(Error::config(
                Some(BACKEND),
                "an application credential needs its secret (OS_APPLICATION_CREDENTIAL_SECRET)",
            ));
        };
        let credential = match (&self.app_credential_id, &self.app_credential_name) {
            (Some(id), _) => AppCredential::Id(id.clone()),
            (None, Some(name)) => AppCredential::Name {
                name: name.clone(),
                user: match (&self.user_id, &self.username) {
                    (Some(id), _) => User::Id(id.clone()),
                    (None, Some(user)) => User::Name {
                        name: user.clone(),
                        domain: self.user_domain(),
                    },
                    (None, None) => {
                        return Err(Error::config(
                            Some(BACKEND),
                            "an application credential by name needs its user (OS_USERNAME or OS_USER_ID)",
                        ));
                    }
                },
            },
            (None, None) => {
                return Err(Error::config(
                    Some(BACKEND),
                    "an application credential needs its id (OS_APPLICATION_CREDENTIAL_ID) or its name and user",
                ));
            }
        };
        Ok(Identity::V3AppCredential {
            tokens_url,
            credential,
            secret,
        })
    }
}

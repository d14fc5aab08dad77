//! Step 4 of the chain: IAM Identity Center (SSO) profiles, through the
//! token the AWS CLI cached at `aws sso login`.
//!
//! A profile with `sso_session = NAME` reads `sso_start_url` and
//! `sso_region` from the config file's `[sso-session NAME]` section, and
//! its token from `~/.aws/sso/cache/SHA1(NAME).json`; a legacy profile has
//! `sso_start_url` and `sso_region` itself and its token is at
//! `SHA1(START_URL).json`. Both need `sso_account_id` and `sso_role_name`.
//! The token (`accessToken`, `expiresAt`) goes to the portal's
//! `GET /federation/credentials?role_name=…&account_id=…` in
//! `x-amz-sso_bearer_token`, which answers the role's credentials
//! (`roleCredentials`, expiry in epoch milliseconds).
//!
//! Left out: refreshing an expired token through SSO OIDC `CreateToken`
//! (the CLI does it, with the cached `refreshToken`): an expired or
//! missing token is `Unauthenticated` saying to run `aws sso login`.

use chrono::{DateTime, Utc};
use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::{Idempotency, SecretString, Url, endpoint};
use serde::Deserialize;

use super::chain::CredentialChain;
use super::profile::{Profile, ProfileFiles};
use super::{Credentials, Source};
use crate::config::BACKEND;
use crate::error;

/// The environment variable naming the portal's endpoint (the SDKs').
pub(super) const ENV_ENDPOINT_URL_SSO: &str = "AWS_ENDPOINT_URL_SSO";

/// The largest cache file read.
const MAX_CACHE_BYTES: u64 = 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedToken {
    access_token: Option<SecretString>,
    expires_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PortalAnswer {
    role_credentials: Option<RoleCredentials>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentials {
    access_key_id: Option<String>,
    secret_access_key: Option<SecretString>,
    session_token: Option<SecretString>,
    expiration: Option<i64>,
}

fn fail(kind: ErrorKind, profile: &Profile, message: String) -> Error {
    Error::new(kind, message)
        .with_backend(BACKEND)
        .with_context("profile", profile.name().to_owned())
        .with_context("source", Source::Sso.as_str())
}

/// The profile's SSO credentials; `None` when it is not an SSO profile.
pub(super) async fn resolve(
    chain: &CredentialChain,
    files: &ProfileFiles,
    profile: &Profile,
) -> Result<Option<Credentials>> {
    let name = profile.name();
    let (start_url, region, cache_key) = match profile.get("sso_session") {
        Some((session, _)) => {
            let Some(section) = files.sso_session(session) else {
                return Err(fail(
                    ErrorKind::Config,
                    profile,
                    format!(
                        "the AWS profile '{name}' names sso_session '{session}', which has no \
                         [sso-session {session}] section in {}",
                        files.config_path_display()
                    ),
                ));
            };
            let key = |k: &str| section.get(k).filter(|v| !v.is_empty()).cloned();
            (key("sso_start_url"), key("sso_region"), session.to_owned())
        }
        None => match profile.get("sso_start_url") {
            Some((url, _)) => (
                Some(url.to_owned()),
                profile.get("sso_region").map(|(v, _)| v.to_owned()),
                url.to_owned(),
            ),
            None => return Ok(None),
        },
    };
    let need = |value: Option<String>, key: &str| {
        value.ok_or_else(|| {
            fail(
                ErrorKind::Config,
                profile,
                format!("the SSO profile '{name}' has no {key}"),
            )
        })
    };
    let _start_url = need(start_url, "sso_start_url")?;
    let region = need(region, "sso_region")?;
    crate::config::validate_region(&region)?;
    let account = need(
        profile.get("sso_account_id").map(|(v, _)| v.to_owned()),
        "sso_account_id",
    )?;
    let role = need(
        profile.get("sso_role_name").map(|(v, _)| v.to_owned()),
        "sso_role_name",
    )?;
    let token = cached_token(chain, profile, &cache_key)?;

    let base = match chain.endpoints.sso_portal.clone().map(Ok).or_else(|| {
        chain
            .env
            .get(ENV_ENDPOINT_URL_SSO)
            .map(|t| endpoint::parse_endpoint(BACKEND, t, ""))
    }) {
        Some(url) => url?,
        None => Url::parse(&format!(
            "https://portal.sso.{region}.{}",
            crate::config::dns_suffix(&region)
        ))
        .map_err(|e| fail(ErrorKind::Config, profile, format!("bad sso_region: {e}")))?,
    };
    let mut url = endpoint::join_segments(BACKEND, &base, &["federation", "credentials"])?;
    url.query_pairs_mut()
        .append_pair("role_name", &role)
        .append_pair("account_id", &account);
    let header = token.header_value().ok_or_else(|| {
        fail(
            ErrorKind::Config,
            profile,
            "the cached SSO token cannot be sent in an HTTP header".into(),
        )
    })?;
    let credentials = chain
        .http()?
        .send(
            "get SSO role credentials",
            Idempotency::Idempotent,
            |client| {
                client
                    .get(url.clone())
                    .header("x-amz-sso_bearer_token", header.clone())
                    .header("accept", "application/json")
            },
            |response| {
                if !response.status.is_success() {
                    let e = error::decode_error(&response, None);
                    return Err(match response.status.as_u16() {
                        401 | 403 => Error::new(
                            ErrorKind::Unauthenticated,
                            format!(
                                "the SSO portal refused the cached token of the AWS profile \
                                 '{name}' (HTTP {}); run aws sso login --profile {name}",
                                response.status.as_u16()
                            ),
                        )
                        .with_backend(BACKEND)
                        .with_status(response.status.as_u16()),
                        _ => e,
                    });
                }
                let decoded = (|| {
                    let answer: PortalAnswer = response.json()?;
                    let c = answer
                        .role_credentials
                        .ok_or_else(|| response.invalid("no roleCredentials"))?;
                    let secret = c
                        .secret_access_key
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| response.invalid("no secretAccessKey"))?;
                    let id = c
                        .access_key_id
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| response.invalid("no accessKeyId"))?;
                    let expiry = match c.expiration {
                        Some(ms) => Some(
                            DateTime::<Utc>::from_timestamp_millis(ms)
                                .ok_or_else(|| response.invalid("expiration out of range"))?,
                        ),
                        None => None,
                    };
                    Ok(Credentials::new(id, secret, c.session_token, expiry)
                        .with_source(Source::Sso))
                })();
                response.hide_secret_answer("the SSO portal's answer", decoded)
            },
        )
        .await
        .map_err(|e| {
            e.with_context("profile", name.to_owned())
                .with_context("source", Source::Sso.as_str())
        })?;
    Ok(Some(credentials))
}

/// The hex SHA-1 of `text`: the cache file's name.
pub fn cache_file_name(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

/// The token `aws sso login` cached for `key`, unexpired.
fn cached_token(chain: &CredentialChain, profile: &Profile, key: &str) -> Result<SecretString> {
    use std::io::Read;
    let name = profile.name();
    let login = format!("run aws sso login --profile {name}");
    let Some(home) = chain.env.home() else {
        return Err(fail(
            ErrorKind::Unauthenticated,
            profile,
            format!("no home directory to find the SSO token cache in; {login}"),
        ));
    };
    let path = home
        .join(".aws")
        .join("sso")
        .join("cache")
        .join(cache_file_name(key));
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    match std::fs::File::open(&path) {
        Ok(file) => {
            file.take(MAX_CACHE_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|e| {
                    fail(
                        ErrorKind::Config,
                        profile,
                        format!("cannot read the SSO token cache {shown}: {e}"),
                    )
                })?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                ErrorKind::Unauthenticated,
                profile,
                format!("no cached SSO token ({shown} does not exist); {login}"),
            ));
        }
        Err(e) => {
            return Err(fail(
                ErrorKind::Config,
                profile,
                format!("cannot read the SSO token cache {shown}: {e}"),
            ));
        }
    }
    // serde's messages may quote a value: only where it broke is said.
    let cached: CachedToken = serde_json::from_slice(&bytes).map_err(|e| {
        fail(
            ErrorKind::Config,
            profile,
            format!(
                "the SSO token cache {shown} is not JSON the AWS CLI writes (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let token = cached
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            fail(
                ErrorKind::Unauthenticated,
                profile,
                format!("the SSO token cache {shown} has no accessToken; {login}"),
            )
        })?;
    let expires = cached.expires_at.as_deref().and_then(parse_expires_at);
    match expires {
        Some(at) if at > Utc::now() => Ok(token),
        Some(at) => Err(fail(
            ErrorKind::Unauthenticated,
            profile,
            format!(
                "the cached SSO token expired at {} (refreshing it is not supported); {login}",
                at.to_rfc3339()
            ),
        )),
        None => Err(fail(
            ErrorKind::Config,
            profile,
            format!("the SSO token cache {shown} has no readable expiresAt"),
        )),
    }
}

/// `expiresAt` as the CLI writes it: RFC 3339 (`2026-12-07T16:00:00Z`),
/// or the older `2026-12-07T16:00:00UTC`.
fn parse_expires_at(text: &str) -> Option<DateTime<Utc>> {
    crate::sts::parse_time(text).or_else(|| {
        let bare = text.trim().strip_suffix("UTC")?;
        chrono::NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S")
            .ok()
            .map(|t| t.and_utc())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_the_sha1_of_the_key() {
        // botocore's own test vector (tests/unit/test_utils.py, SSOTokenLoader).
        assert_eq!(
            cache_file_name("https://d-abc123.awsapps.com/start"),
            "40a89917e3175433e361b710a9d43528d7f1890a.json"
        );
        assert!(parse_expires_at("2026-12-07T16:00:00Z").is_some());
        assert!(parse_expires_at("2026-12-07T16:00:00UTC").is_some());
        assert!(parse_expires_at("soon").is_none());
    }
}

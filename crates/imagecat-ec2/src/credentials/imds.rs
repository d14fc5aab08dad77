//! Step 9 of the chain: the EC2 instance metadata service, IMDSv2 only.
//!
//! `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds:
//! 21600`, then with `X-aws-ec2-metadata-token:` that token
//! `GET /latest/meta-data/iam/security-credentials/` (the role's name) and
//! `GET …/security-credentials/ROLE` (its credentials). Each request has
//! one attempt, one second to connect and two to answer (botocore: one
//! second, one attempt): off EC2 nothing answers and the chain ends
//! promptly. `AWS_EC2_METADATA_DISABLED=true` makes
//! no request at all. The endpoint: `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
//! else the profile's `ec2_metadata_service_endpoint`, else the chain's
//! ([`ChainEndpoints::imds`](super::ChainEndpoints)), else
//! `http://169.254.169.254`. No IMDSv1 fallback: a server that refuses the
//! token `PUT` gives no credentials.

use imagecat_core::{ErrorKind, Result};
use imagecat_http::{HttpClient, Idempotency, SecretString, Url, endpoint};

use super::chain::CredentialChain;
use super::profile::Profile;
use super::{Credentials, Source, remote};
use crate::config::BACKEND;
use crate::error;

/// IMDS's address.
pub(super) const IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// The token's lifetime asked for (botocore's: six hours).
pub(super) const TOKEN_TTL_SECONDS: &str = "21600";

const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const CREDENTIALS_PATH: &str = "latest/meta-data/iam/security-credentials/";

/// What IMDS gave.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The role's credentials.
    Credentials(Credentials),
    /// `AWS_EC2_METADATA_DISABLED=true`: nothing asked.
    Disabled,
    /// No answer (not on EC2), or a refused token.
    Unavailable,
    /// IMDS answered but the instance has no role.
    NoRole,
}

/// Asks IMDS.
pub(super) async fn resolve(chain: &CredentialChain, profile: Option<&Profile>) -> Result<Outcome> {
    if chain
        .env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return Ok(Outcome::Disabled);
    }
    let base = match chain
        .env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .or_else(|| {
            profile
                .and_then(|p| p.get("ec2_metadata_service_endpoint"))
                .map(|(v, _)| v)
        }) {
        Some(text) => endpoint::parse_endpoint(BACKEND, text, "/")
            .map_err(|e| e.with_context("source", Source::InstanceMetadata.as_str()))?,
        None => match &chain.endpoints.imds {
            Some(url) => url.clone(),
            None => Url::parse(IMDS_ENDPOINT).expect("a valid constant URL"),
        },
    };
    let url = |path: &str| -> Result<Url> {
        let text = format!("{}/{path}", base.as_str().trim_end_matches('/'));
        Url::parse(&text)
            .map_err(|e| imagecat_core::Error::config(Some(BACKEND), format!("bad IMDS URL: {e}")))
    };
    let http = chain.imds_http()?;

    let token_url = url("latest/api/token")?;
    let token = http
        .send(
            "get an IMDS token",
            Idempotency::Idempotent,
            |client| {
                client
                    .put(token_url.clone())
                    .header(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS)
            },
            |response| {
                if !response.status.is_success() {
                    return Ok(None);
                }
                let text = String::from_utf8_lossy(&response.body).trim().to_owned();
                Ok((!text.is_empty()).then(|| SecretString::new(text)))
            },
        )
        .await;
    let token = match token {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(Outcome::Unavailable),
        // Not on EC2 (nothing listens), or too slow: as botocore, no
        // credentials from here.
        Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
            tracing::debug!(error = %e, "IMDS did not answer");
            return Ok(Outcome::Unavailable);
        }
        Err(e) => return Err(e.with_context("source", Source::InstanceMetadata.as_str())),
    };
    let Some(header) = token.header_value() else {
        return Ok(Outcome::Unavailable);
    };

    let roles_url = url(CREDENTIALS_PATH)?;
    let role = get(http, &roles_url, &header, "get the IMDS role", |response| {
        if response.status.as_u16() == 404 {
            return Ok(None);
        }
        if !response.status.is_success() {
            return Err(error::decode_error(response, None));
        }
        let text = String::from_utf8_lossy(&response.body);
        Ok(text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned))
    })
    .await?;
    let Some(role) = role else {
        return Ok(Outcome::NoRole);
    };
    let role_url = endpoint::join_segments(BACKEND, &roles_url, &[role.as_str()])?;
    let credentials = get(
        http,
        &role_url,
        &header,
        "get the IMDS credentials",
        |response| {
            if response.status.is_success() {
                remote::decode(response, Source::InstanceMetadata)
            } else {
                Err(error::decode_error(response, None))
            }
        },
    )
    .await?;
    Ok(Outcome::Credentials(credentials))
}

/// One `GET` with the IMDS token.
async fn get<T>(
    http: &HttpClient,
    url: &Url,
    token: &imagecat_http::reqwest::header::HeaderValue,
    what: &str,
    handle: impl Fn(&imagecat_http::HttpResponse) -> Result<T>,
) -> Result<T> {
    http.send(
        what,
        Idempotency::Idempotent,
        |client| client.get(url.clone()).header(TOKEN_HEADER, token.clone()),
        |response| handle(&response),
    )
    .await
    .map_err(|e| e.with_context("source", Source::InstanceMetadata.as_str()))
}

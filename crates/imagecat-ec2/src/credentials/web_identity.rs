//! Step 3 of the chain: web identity (EKS IRSA, GitHub Actions OIDC):
//! a token file and a role, exchanged at STS by
//! `AssumeRoleWithWebIdentity`, unsigned (the token is the proof).
//!
//! From the environment (`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`,
//! else the profile's `role_arn`; `AWS_ROLE_SESSION_NAME`, else the
//! profile's `role_session_name`), or from the profile alone
//! (`web_identity_token_file` with `role_arn`). The file is read at every
//! fetch: the platform rotates it.

use imagecat_core::{Error, Result};
use imagecat_http::SecretString;

use super::chain::CredentialChain;
use super::profile::Profile;
use super::role::default_session_name;
use super::{Credentials, Source};
use crate::config::BACKEND;
use crate::sts;

/// The largest token file read (STS takes at most 20,000 characters).
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// From the environment's variables, when `AWS_WEB_IDENTITY_TOKEN_FILE`
/// is set.
pub(super) async fn from_env(
    chain: &CredentialChain,
    profile: Option<&Profile>,
) -> Result<Option<Credentials>> {
    let Some(file) = chain.env.get("AWS_WEB_IDENTITY_TOKEN_FILE") else {
        return Ok(None);
    };
    let profile_value = |key: &str| profile.and_then(|p| p.get(key)).map(|(v, _)| v);
    let Some(role_arn) = chain
        .env
        .get("AWS_ROLE_ARN")
        .or_else(|| profile_value("role_arn"))
    else {
        return Err(Error::config(
            Some(BACKEND),
            "AWS_WEB_IDENTITY_TOKEN_FILE is set but no role: set AWS_ROLE_ARN",
        )
        .with_context("source", Source::WebIdentity.as_str()));
    };
    let session = chain
        .env
        .get("AWS_ROLE_SESSION_NAME")
        .or_else(|| profile_value("role_session_name"));
    exchange(chain, profile, file, role_arn, session)
        .await
        .map(Some)
}

/// From the profile's `web_identity_token_file`.
pub(super) async fn from_profile(
    chain: &CredentialChain,
    profile: &Profile,
) -> Result<Option<Credentials>> {
    let Some((file, _)) = profile.get("web_identity_token_file") else {
        return Ok(None);
    };
    let Some((role_arn, _)) = profile.get("role_arn") else {
        return Err(Error::config(
            Some(BACKEND),
            format!(
                "the AWS profile '{}' has web_identity_token_file but no role_arn",
                profile.name()
            ),
        )
        .with_context("profile", profile.name().to_owned())
        .with_context("source", Source::WebIdentity.as_str()));
    };
    let session = profile.get("role_session_name").map(|(v, _)| v);
    exchange(chain, Some(profile), file, role_arn, session)
        .await
        .map(Some)
}

async fn exchange(
    chain: &CredentialChain,
    profile: Option<&Profile>,
    file: &str,
    role_arn: &str,
    session: Option<&str>,
) -> Result<Credentials> {
    let token = read_token(file)?;
    let session = session.map_or_else(default_session_name, str::to_owned);
    let target = chain.sts_target(profile)?;
    sts::assume_role_with_web_identity(chain.http()?, &target, role_arn, &session, &token)
        .await
        .map_err(|e| e.with_context("source", Source::WebIdentity.as_str()))
}

/// The token in `path`, trimmed; a `Config` error naming the file (never
/// its content) when it cannot be read or is empty.
fn read_token(path: &str) -> Result<SecretString> {
    use std::io::Read;
    let fail = |what: String| {
        Error::config(
            Some(BACKEND),
            format!("the web identity token file {path} {what}"),
        )
        .with_context("file", path.to_owned())
        .with_context("source", Source::WebIdentity.as_str())
    };
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(fail(format!("is over {MAX_TOKEN_BYTES} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8".to_owned()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(fail("is empty".to_owned()));
    }
    Ok(SecretString::new(token))
}

//! Step 1 of the chain: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (or the older `AWS_SECURITY_TOKEN`).

use imagecat_core::{Error, Result};
use imagecat_http::SecretString;

use super::{Credentials, Env, Source};
use crate::config::BACKEND;

/// The environment's credentials: `None` when `AWS_ACCESS_KEY_ID` is not
/// set, an error when it is set without its secret (the CLI's
/// `PartialCredentialsError`).
pub(super) fn from_env(env: &Env) -> Result<Option<Credentials>> {
    let Some(access_key_id) = env.get("AWS_ACCESS_KEY_ID") else {
        return Ok(None);
    };
    let Some(secret) = env.get("AWS_SECRET_ACCESS_KEY") else {
        return Err(Error::config(
            Some(BACKEND),
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        )
        .with_context("source", Source::Environment.as_str()));
    };
    let token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"))
        .map(SecretString::new);
    Ok(Some(
        Credentials::new(access_key_id, SecretString::new(secret), token, None)
            .with_source(Source::Environment),
    ))
}

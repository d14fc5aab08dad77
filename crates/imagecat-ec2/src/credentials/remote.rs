//! The JSON credentials document the container endpoint and IMDS answer:
//! `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (IMDS adds
//! `"Code": "Success"`), decoded so that the secrets become
//! [`SecretString`]s first and a malformed answer never shows its body.

use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::{HttpResponse, SecretString};
use serde::Deserialize;

use super::{Credentials, Source};
use crate::config::BACKEND;
use crate::sts::parse_time;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    code: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<SecretString>,
    token: Option<SecretString>,
    expiration: Option<String>,
}

/// Decodes a successful answer of `source`.
pub(super) fn decode(response: &HttpResponse, source: Source) -> Result<Credentials> {
    let what = source.as_str();
    let decoded = (|| {
        let document: Document = response.json()?;
        if let Some(code) = document.code.as_deref().filter(|c| *c != "Success") {
            let code: String = code.chars().take(64).collect();
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                format!("{what} answered Code {}", imagecat_http::scrub(&code)),
            )
            .with_backend(BACKEND));
        }
        let secret = document
            .secret_access_key
            .filter(|s| !s.is_empty())
            .ok_or_else(|| response.invalid("no SecretAccessKey"))?;
        let access_key_id = document
            .access_key_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| response.invalid("no AccessKeyId"))?;
        let expiry = match document.expiration.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                parse_time(text)
                    .ok_or_else(|| response.invalid("Expiration is not an ISO 8601 time"))?,
            ),
        };
        Ok(Credentials::new(access_key_id, secret, document.token, expiry).with_source(source))
    })();
    response
        .hide_secret_answer(what, decoded)
        .map_err(|e| e.with_context("source", what))
}

//! Step 8 of the chain: ECS and EKS (Pod Identity) container credentials.
//!
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on
//! `http://169.254.170.2` (the ECS agent); `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! is a whole URL, allowed over HTTPS to any host but over plain HTTP only
//! to a loopback address (`127.0.0.0/8`, `::1`, `localhost`) or the
//! container hosts (`169.254.170.2`, EKS's `169.254.170.23` and
//! `fd00:ec2::23`), as botocore allows. The request carries
//! `Authorization:` the content of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
//! (read at every fetch: EKS rotates it), else
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use imagecat_core::{Error, Result};
use imagecat_http::reqwest::header::AUTHORIZATION;
use imagecat_http::{Idempotency, SecretString, Url};

use super::chain::CredentialChain;
use super::{Credentials, Source, remote};
use crate::config::BACKEND;
use crate::error;

/// The ECS agent's address.
pub(super) const ECS_HOST: &str = "http://169.254.170.2";

fn config_error(message: String) -> Error {
    Error::config(Some(BACKEND), message).with_context("source", Source::Container.as_str())
}

/// The container's credentials; `None` when neither variable is set.
pub(super) async fn resolve(chain: &CredentialChain) -> Result<Option<Credentials>> {
    let env = &chain.env;
    let url = if let Some(relative) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        if !relative.starts_with('/') {
            return Err(config_error(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with /".into(),
            ));
        }
        let base = match &chain.endpoints.container {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => ECS_HOST.to_owned(),
        };
        Url::parse(&format!("{base}{relative}")).map_err(|e| {
            config_error(format!(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not make a URL: {e}"
            ))
        })?
    } else if let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let url = Url::parse(full).map_err(|e| {
            config_error(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL: {e}"
            ))
        })?;
        check_full_uri(&url)?;
        url
    } else {
        return Ok(None);
    };
    let token = authorization_token(chain)?;
    let header = match &token {
        Some(token) => Some(token.header_value().ok_or_else(|| {
            config_error(
                "the container authorization token holds characters that cannot be sent in \
                 an HTTP header"
                    .into(),
            )
        })?),
        None => None,
    };
    let http = chain.http()?;
    http.send(
        "get container credentials",
        Idempotency::Idempotent,
        |client| {
            let request = client.get(url.clone()).header("accept", "application/json");
            match &header {
                Some(value) => request.header(AUTHORIZATION, value.clone()),
                None => request,
            }
        },
        |response| {
            if response.status.is_success() {
                remote::decode(&response, Source::Container)
            } else {
                Err(error::decode_error(&response, None)
                    .with_context("source", Source::Container.as_str()))
            }
        },
    )
    .await
    .map(Some)
}

/// The authorization token: the file's content wins over the variable.
fn authorization_token(chain: &CredentialChain) -> Result<Option<SecretString>> {
    let env = &chain.env;
    if let Some(path) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let text = std::fs::read_to_string(path).map_err(|e| {
            config_error(format!(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path} cannot be read: {e}"
            ))
            .with_context("file", path.to_owned())
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(config_error(format!(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path} is empty"
            )));
        }
        return Ok(Some(SecretString::new(token)));
    }
    Ok(env
        .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        .map(SecretString::new))
}

/// A full URI is allowed over HTTPS, or over HTTP to a loopback or a
/// container host.
fn check_full_uri(url: &Url) -> Result<()> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI must not carry credentials".into(),
        ));
    }
    match url.scheme() {
        "https" => return Ok(()),
        "http" => {}
        other => {
            return Err(config_error(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI has the scheme {other:?}; expected https \
                 or http"
            )));
        }
    }
    let allowed = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => allowed_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allowed_ip(IpAddr::V6(ip)),
        None => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(config_error(format!(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI over plain http must name a loopback address \
             or a container host (169.254.170.2, 169.254.170.23, fd00:ec2::23), not {}",
            url.host_str().unwrap_or("")
        )))
    }
}

fn allowed_ip(ip: IpAddr) -> bool {
    const ECS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
    const EKS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
    const EKS6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23);
    ip.is_loopback() || ip == IpAddr::V4(ECS) || ip == IpAddr::V4(EKS) || ip == IpAddr::V6(EKS6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uris_over_http_are_loopback_or_container_hosts_only() {
        for ok in [
            "https://creds.example.com/x",
            "http://127.0.0.1:8080/creds",
            "http://127.1.2.3/creds",
            "http://[::1]/creds",
            "http://localhost/creds",
            "http://169.254.170.2/v2/credentials",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(check_full_uri(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://creds.example.com/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest",
            "ftp://127.0.0.1/x",
            "https://user:pass@creds.example.com/x",
        ] {
            assert!(check_full_uri(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}

//! AWS STS over the Query protocol: `AssumeRole` (signed with the source
//! credentials), `AssumeRoleWithWebIdentity` (unsigned: the web identity
//! token is the proof) and `GetCallerIdentity` (the account a catalog acts
//! as, [`PageSource::caller`](imagecat_core::raw::PageSource::caller)).
//!
//! Where STS is ([`StsTarget`]): an explicit endpoint (the URL option
//! `sts_endpoint=`, or the `ec2+http://HOST:PORT` endpoint itself, since
//! moto and the emulator serve every service on one port), else
//! `AWS_ENDPOINT_URL_STS`, else the regional endpoint
//! `https://sts.REGION.amazonaws.com` (`.com.cn` in China), as the AWS CLI
//! v2 and the SDKs use it. The generic `AWS_ENDPOINT_URL` is not read: the
//! EC2 side does not read it, and STS must answer for the place EC2 lists
//! (the caller is the owner a prune plan is bound to). Requests are signed for the region with
//! the signing name `sts`.
//!
//! Answers: the credentials of an `AssumeRole*Result` are secrets the
//! process has not seen yet, so a malformed answer is reported without its
//! body ([`HttpResponse::hide_secret_answer`]), and the secrets are made
//! [`SecretString`]s (registered for scrubbing) before anything else reads
//! them. Failures are STS's `<ErrorResponse>` documents, decoded by
//! [`crate::error`] and scrubbed of the signing key id.

use chrono::{DateTime, Utc};
use imagecat_core::{Error, Result};
use imagecat_http::reqwest::header::{CONTENT_TYPE, HOST};
use imagecat_http::{HttpClient, HttpResponse, Idempotency, SecretString, Url, endpoint};

use crate::config::{BACKEND, dns_suffix};
use crate::credentials::{Credentials, Env, Source};
use crate::error;
use crate::protocol::{CONTENT_TYPE as FORM_CONTENT_TYPE, Form};
use crate::sign::{self, Scope};
use crate::wire::xml::{self, Element};

/// STS's API version.
pub const STS_VERSION: &str = "2011-06-15";

/// STS's SigV4 signing name.
const SERVICE: &str = "sts";

/// The environment variable naming STS's endpoint (the AWS SDKs' and
/// CLI's service-specific endpoint override).
pub const ENV_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";

/// Where STS requests go and the region they are signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsTarget {
    url: Url,
    region: String,
}

impl StsTarget {
    /// STS at `url`, signed for `region`.
    pub fn new(url: Url, region: impl Into<String>) -> Self {
        StsTarget {
            url,
            region: region.into(),
        }
    }

    /// The regional public endpoint of `region`
    /// (`https://sts.REGION.amazonaws.com`).
    pub fn regional(region: &str) -> Result<Self> {
        crate::config::validate_region(region)?;
        let url = Url::parse(&format!("https://sts.{region}.{}", dns_suffix(region)))
            .map_err(|e| Error::config(Some(BACKEND), format!("bad region {region:?}: {e}")))?;
        Ok(StsTarget::new(url, region))
    }

    /// The endpoint for `region` when none is configured explicitly:
    /// `AWS_ENDPOINT_URL_STS`, else the regional one. A malformed variable
    /// is a `Config` error naming it.
    pub fn from_env(env: &Env, region: &str) -> Result<Self> {
        if let Some(text) = env.get(ENV_ENDPOINT_URL_STS) {
            let url = endpoint::parse_endpoint(BACKEND, text, "")
                .map_err(|e| e.with_context("variable", ENV_ENDPOINT_URL_STS))?;
            crate::config::validate_region(region)?;
            return Ok(StsTarget::new(url, region));
        }
        StsTarget::regional(region)
    }

    /// The endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }
}

/// Who a set of credentials is, as `GetCallerIdentity` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN (`arn:aws:iam::ACCOUNT:user/NAME`,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub arn: String,
    /// The unique id of the caller.
    pub user_id: String,
}

/// The parameters of `AssumeRole` the shared config file can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name` (the chain makes one up when the profile has none).
    pub role_session_name: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds` (STS's default, one hour, when `None`).
    pub duration_seconds: Option<u32>,
}

/// `AssumeRole`, signed with `source`: the role's temporary credentials.
pub async fn assume_role(
    http: &HttpClient,
    target: &StsTarget,
    source: &Credentials,
    request: &AssumeRole,
) -> Result<Credentials> {
    let mut form = Form::new("AssumeRole", STS_VERSION);
    form.param("RoleArn", request.role_arn.as_str());
    form.param("RoleSessionName", request.role_session_name.as_str());
    if let Some(id) = &request.external_id {
        form.param("ExternalId", id.as_str());
    }
    if let Some(seconds) = request.duration_seconds {
        form.param("DurationSeconds", seconds.to_string());
    }
    post(
        http,
        target,
        Some(source),
        "assume role",
        &form,
        |response| role_credentials(response, "AssumeRoleResponse", Source::AssumeRole),
    )
    .await
}

/// `AssumeRoleWithWebIdentity`, unsigned (the token is the proof): the
/// role's temporary credentials.
pub async fn assume_role_with_web_identity(
    http: &HttpClient,
    target: &StsTarget,
    role_arn: &str,
    role_session_name: &str,
    token: &SecretString,
) -> Result<Credentials> {
    let mut form = Form::new("AssumeRoleWithWebIdentity", STS_VERSION);
    form.param("RoleArn", role_arn);
    form.param("RoleSessionName", role_session_name);
    form.param("WebIdentityToken", token.expose_secret());
    post(
        http,
        target,
        None,
        "assume role with web identity",
        &form,
        |response| {
            role_credentials(
                response,
                "AssumeRoleWithWebIdentityResponse",
                Source::WebIdentity,
            )
        },
    )
    .await
}

/// `GetCallerIdentity`, signed with `credentials`.
pub async fn get_caller_identity(
    http: &HttpClient,
    target: &StsTarget,
    credentials: &Credentials,
) -> Result<CallerIdentity> {
    let form = Form::new("GetCallerIdentity", STS_VERSION);
    post(
        http,
        target,
        Some(credentials),
        "get caller identity",
        &form,
        caller_identity,
    )
    .await
}

/// POSTs one STS form, signed when `credentials` are given (each attempt
/// signed afresh); failures are decoded as STS's error document.
async fn post<T>(
    http: &HttpClient,
    target: &StsTarget,
    credentials: Option<&Credentials>,
    what: &str,
    form: &Form,
    mut handle: impl FnMut(&HttpResponse) -> Result<T>,
) -> Result<T> {
    let body = form.encode();
    let url = &target.url;
    let host = url
        .host_str()
        .ok_or_else(|| Error::config(Some(BACKEND), "the STS endpoint has no host"))?;
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let key_id = credentials.map(Credentials::access_key_id);
    http.send(
        what,
        // Every STS call here only reads or mints: repeating one is safe.
        Idempotency::Idempotent,
        |client| {
            let mut builder = client
                .post(url.clone())
                .header(HOST, host.as_str())
                .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
                .header("accept", "text/xml");
            if let Some(credentials) = credentials {
                let headers = [
                    ("content-type".to_owned(), FORM_CONTENT_TYPE.to_owned()),
                    ("host".to_owned(), host.clone()),
                ];
                let request = sign::Request {
                    method: "POST",
                    path: url.path(),
                    query: &[],
                    headers: &headers,
                    body: body.as_bytes(),
                };
                let scope = Scope {
                    region: &target.region,
                    service: SERVICE,
                };
                let signature = sign::sign(&request, credentials, scope, Utc::now());
                for (name, value) in signature.headers() {
                    builder = builder.header(name, value);
                }
            }
            builder.body(body.clone())
        },
        |response| {
            if response.status.is_success() {
                handle(&response)
            } else {
                Err(error::decode_error(&response, key_id).with_context("service", "sts"))
            }
        },
    )
    .await
}

/// The root of a successful answer, checked by name.
fn root_named(response: &HttpResponse, name: &str) -> Result<Element> {
    let root = xml::parse(&response.body).map_err(|e| response.invalid(e.to_string()))?;
    if root.name != name {
        return Err(response.invalid(format!("expected <{name}>, got <{}>", root.name)));
    }
    Ok(root)
}

/// The `<Credentials>` of an `AssumeRole*Response`.
fn role_credentials(response: &HttpResponse, root: &str, source: Source) -> Result<Credentials> {
    let what = root.trim_end_matches("Response");
    // Register the secrets before any error can quote them.
    let decoded = (|| {
        let root = root_named(response, root)?;
        let credentials = root
            .find("Credentials")
            .ok_or_else(|| response.invalid("no <Credentials>"))?;
        let text = |name: &str| -> Result<String> {
            credentials
                .text_of(name)
                .map_err(|e| response.invalid(e.to_string()))?
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| response.invalid(format!("no <{name}> in <Credentials>")))
        };
        let secret = SecretString::new(text("SecretAccessKey")?);
        let token = SecretString::new(text("SessionToken")?);
        let access_key_id = text("AccessKeyId")?;
        let expiry = parse_time(&text("Expiration")?)
            .ok_or_else(|| response.invalid("<Expiration> is not an ISO 8601 time"))?;
        Ok(Credentials::new(access_key_id, secret, Some(token), Some(expiry)).with_source(source))
    })();
    response.hide_secret_answer(what, decoded)
}

/// A `GetCallerIdentityResponse`.
fn caller_identity(response: &HttpResponse) -> Result<CallerIdentity> {
    let root = root_named(response, "GetCallerIdentityResponse")?;
    let result = root
        .find("GetCallerIdentityResult")
        .ok_or_else(|| response.invalid("no <GetCallerIdentityResult>"))?;
    let text = |name: &str| -> Result<String> {
        Ok(result
            .text_of(name)
            .map_err(|e| response.invalid(e.to_string()))?
            .unwrap_or_default()
            .to_owned())
    };
    let account = text("Account")?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(response.invalid("<Account> is not a 12-digit account id"));
    }
    Ok(CallerIdentity {
        account,
        arn: text("Arn")?,
        user_id: text("UserId")?,
    })
}

/// An ISO 8601 time as STS, ECS and IMDS write them
/// (`2026-12-07T15:00:00Z`, with or without fractions or an offset).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::from_body(BACKEND, status, body.to_owned())
    }

    #[test]
    fn role_credentials_are_decoded_and_a_bad_answer_hides_its_body() {
        let ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
            <AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>\
            <SecretAccessKey>unit-s3cr3t-key</SecretAccessKey><SessionToken>unit-s3cr3t-token</SessionToken>\
            <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>\
            </AssumeRoleResponse>";
        let c =
            role_credentials(&response(200, ok), "AssumeRoleResponse", Source::AssumeRole).unwrap();
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(
            c.session_token().unwrap().expose_secret(),
            "unit-s3cr3t-token"
        );
        assert_eq!(c.source(), Source::AssumeRole);
        let bad = ok.replace("2099-01-01T00:00:00Z", "tomorrow");
        let e = role_credentials(
            &response(200, &bad),
            "AssumeRoleResponse",
            Source::AssumeRole,
        )
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let e = role_credentials(
            &response(200, "<x/>"),
            "AssumeRoleResponse",
            Source::AssumeRole,
        )
        .unwrap_err();
        assert_eq!(e.kind(), imagecat_core::ErrorKind::InvalidResponse);
    }

    #[test]
    fn caller_identity_needs_an_account() {
        let ok = "<GetCallerIdentityResponse><GetCallerIdentityResult>\
            <Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AIDA</UserId>\
            <Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";
        let id = caller_identity(&response(200, ok)).unwrap();
        assert_eq!(id.account, "123456789012");
        assert_eq!(id.arn, "arn:aws:iam::123456789012:user/u");
        let bad = ok.replace("123456789012</Account>", "12</Account>");
        assert!(caller_identity(&response(200, &bad)).is_err());
    }

    #[test]
    fn targets() {
        let t = StsTarget::regional("eu-west-1").unwrap();
        assert_eq!(t.url().as_str(), "https://sts.eu-west-1.amazonaws.com/");
        let t = StsTarget::regional("cn-north-1").unwrap();
        assert_eq!(t.url().as_str(), "https://sts.cn-north-1.amazonaws.com.cn/");
        let env = Env::from_pairs([(ENV_ENDPOINT_URL_STS, "http://127.0.0.1:2")]);
        let t = StsTarget::from_env(&env, "us-east-1").unwrap();
        assert_eq!(t.url().port(), Some(2));
        // the generic variable is not STS's (EC2 does not read it either)
        let env = Env::from_pairs([("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
        let t = StsTarget::from_env(&env, "us-east-1").unwrap();
        assert_eq!(t.url().as_str(), "https://sts.us-east-1.amazonaws.com/");
        assert!(StsTarget::regional("Bad Region").is_err());
    }
}

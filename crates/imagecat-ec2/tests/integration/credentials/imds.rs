//! IMDSv2 from a test-served metadata service that checks the token flow:
//! a `PUT` for the token with its TTL header, then the role and its
//! credentials with the token.

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use chrono::{Duration, SecondsFormat, Utc};
use imagecat_core::ErrorKind;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Source};

use super::served::{Served, json};
use crate::credentials::{Home, error_of_async};

const IMDS_TOKEN: &str = "AQAEAs3cr3t-imds-token==";

async fn imds() -> Served {
    Served::start(|seen| {
        let token_ok = seen.header("x-aws-ec2-metadata-token") == Some(IMDS_TOKEN);
        match (&seen.method, seen.path.as_str()) {
            (&Method::PUT, "/latest/api/token") => {
                match seen.header("x-aws-ec2-metadata-token-ttl-seconds") {
                    Some("21600") => IMDS_TOKEN.into_response(),
                    _ => StatusCode::BAD_REQUEST.into_response(),
                }
            }
            // IMDSv1 (no token) is refused, as on an instance that
            // requires v2.
            (&Method::GET, _) if !token_ok => StatusCode::UNAUTHORIZED.into_response(),
            (&Method::GET, "/latest/meta-data/iam/security-credentials/") => {
                "instance-role\n".into_response()
            }
            (&Method::GET, "/latest/meta-data/iam/security-credentials/instance-role") => json(
                StatusCode::OK,
                format!(
                    "{{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-07T10:00:00Z\",\
                     \"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\
                     \"SecretAccessKey\":\"s3cr3t-imds\",\"Token\":\"s3cr3t-imds-session\",\
                     \"Expiration\":\"{}\"}}",
                    (Utc::now() + Duration::hours(6)).to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            ),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    })
    .await
}

/// The environment with IMDS on (the helpers' default turns it off).
fn env_on<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("AWS_EC2_METADATA_DISABLED", "false")];
    env.extend_from_slice(extra);
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_put_then_the_role_and_its_credentials_are_read_with_it() {
    let home = Home::new();
    let served = imds().await;
    let url = served.url();
    let chain =
        CredentialChain::new(home.env(&env_on(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)])));
    let credentials = chain.resolve().await.unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAIMDS");
    assert_eq!(credentials.source(), Source::InstanceMetadata);
    assert!(credentials.expiry().is_some());
    let seen: Vec<_> = served
        .seen()
        .iter()
        .map(|s| (s.method.to_string(), s.path.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("PUT".to_owned(), "/latest/api/token".to_owned()),
            (
                "GET".to_owned(),
                "/latest/meta-data/iam/security-credentials/".to_owned()
            ),
            (
                "GET".to_owned(),
                "/latest/meta-data/iam/security-credentials/instance-role".to_owned()
            ),
        ]
    );
    // The chain's own endpoint setting serves too.
    let chain = CredentialChain::new(home.env(&env_on(&[])))
        .with_endpoints(ChainEndpoints::new().imds(served.url().parse().unwrap()));
    assert_eq!(chain.resolve().await.unwrap().access_key_id(), "ASIAIMDS");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_means_no_request_and_silence_means_no_credentials() {
    let home = Home::new();
    let served = imds().await;
    let url = served.url();
    for disabled in ["true", "TRUE"] {
        let error = error_of_async(CredentialChain::new(home.env(&[
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url),
            ("AWS_EC2_METADATA_DISABLED", disabled),
        ])))
        .await;
        assert_eq!(error.kind(), ErrorKind::Unauthenticated);
        assert!(error.to_string().contains("disabled"), "{error}");
    }
    assert!(served.seen().is_empty(), "disabled: no request");
    // Nothing listening: the chain ends without credentials, promptly.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let error = error_of_async(CredentialChain::new(home.env(&env_on(&[(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        &format!("http://{closed}"),
    )]))))
    .await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(error.to_string().contains("did not answer"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_without_a_role_and_a_failing_answer() {
    let home = Home::new();
    let hits = Arc::new(Mutex::new(0));
    let count = Arc::clone(&hits);
    let served = Served::start(move |seen| {
        *count.lock().unwrap() += 1;
        match seen.method {
            Method::PUT => IMDS_TOKEN.into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    })
    .await;
    let url = served.url();
    let error = error_of_async(CredentialChain::new(
        home.env(&env_on(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)])),
    ))
    .await;
    assert!(error.to_string().contains("no IAM role"), "{error}");
    assert_eq!(*hits.lock().unwrap(), 2);
    // A credentials document that says it failed.
    let failing = Served::start(|seen| match (seen.method.clone(), seen.path.as_str()) {
        (Method::PUT, _) => IMDS_TOKEN.into_response(),
        (_, "/latest/meta-data/iam/security-credentials/") => "r".into_response(),
        _ => json(
            StatusCode::OK,
            "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}".into(),
        ),
    })
    .await;
    let url = failing.url();
    let error = error_of_async(CredentialChain::new(
        home.env(&env_on(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)])),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(
        error.to_string().contains("AssumeRoleUnauthorizedAccess"),
        "{error}"
    );
}

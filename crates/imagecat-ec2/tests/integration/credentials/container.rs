//! ECS/EKS container credentials from a test-served endpoint that checks
//! the `Authorization` header.

use axum::http::StatusCode;
use chrono::{Duration, SecondsFormat, Utc};
use imagecat_core::ErrorKind;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Source};

use super::served::{Served, json};
use crate::credentials::{Home, error_of_async};

const TOKEN: &str = "s3cr3t-container-auth";

async fn endpoint() -> Served {
    Served::start(|seen| {
        if seen.header("authorization") != Some(TOKEN) {
            return json(
                StatusCode::UNAUTHORIZED,
                format!(
                    "{{\"code\":\"Unauthorized\",\"message\":\"bad token {}\"}}",
                    seen.header("authorization").unwrap_or_default()
                ),
            );
        }
        json(
            StatusCode::OK,
            format!(
                "{{\"RoleArn\":\"arn:aws:iam::123456789012:role/task\",\
                 \"AccessKeyId\":\"ASIACONTAINER\",\"SecretAccessKey\":\"s3cr3t-c\",\
                 \"Token\":\"s3cr3t-c-token\",\"Expiration\":\"{}\"}}",
                (Utc::now() + Duration::hours(6)).to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relative_uri_on_the_ecs_host_with_the_token_variable() {
    let home = Home::new();
    let served = endpoint().await;
    let chain = CredentialChain::new(home.env(&[
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN),
    ]))
    .with_endpoints(ChainEndpoints::new().container(served.url().parse().unwrap()));
    let credentials = chain.resolve().await.unwrap();
    assert_eq!(credentials.access_key_id(), "ASIACONTAINER");
    assert_eq!(credentials.source(), Source::Container);
    assert_eq!(
        credentials.session_token().unwrap().expose_secret(),
        "s3cr3t-c-token"
    );
    assert!(credentials.expiry().is_some());
    let seen = served.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/v2/credentials/abc");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_full_uri_on_loopback_with_the_token_file_winning() {
    let home = Home::new();
    let served = endpoint().await;
    let file = home.path().join("eks-token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let full = format!("{}/v1/credentials", served.url());
    let file = file.display().to_string();
    let chain = CredentialChain::new(home.env(&[
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "s3cr3t-the-wrong-one"),
    ]));
    assert_eq!(
        chain.resolve().await.unwrap().access_key_id(),
        "ASIACONTAINER"
    );
    assert_eq!(served.seen()[0].path, "/v1/credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_and_forbidden_hosts_are_typed_errors_without_the_token() {
    let home = Home::new();
    let served = endpoint().await;
    // The endpoint refuses a wrong token and quotes it.
    let full = format!("{}/v1/credentials", served.url());
    let error = error_of_async(CredentialChain::new(home.env(&[
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "s3cr3t-wrong-token"),
    ])))
    .await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated, "{error}");
    // Plain http to a host that is neither loopback nor a container host:
    // refused before any request.
    let error = error_of_async(CredentialChain::new(home.env(&[(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://metadata.example.com/creds",
    )])))
    .await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("loopback"), "{error}");
    let error = error_of_async(CredentialChain::new(
        home.env(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash")]),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert_eq!(served.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_answers_are_invalid_responses_that_show_no_secret() {
    let home = Home::new();
    for body in [
        "<html>not json</html>",
        "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"s3cr3t-half",
        "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"s3cr3t-x\",\"Expiration\":\"never\"}",
        "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":[\"s3cr3t-in-a-list\"]}",
        "{\"AccessKeyId\":\"ASIAX\"}",
        "[]",
    ] {
        let served = Served::start(move |_| json(StatusCode::OK, body.to_owned())).await;
        let full = format!("{}/creds", served.url());
        // A 200 that cannot be read is retried (a truncated body), quickly here.
        let chain =
            CredentialChain::new(home.env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full)]))
                .with_http_options(imagecat_testkit::listing::test_http(2));
        let error = error_of_async(chain).await;
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{body}: {error}");
        assert_eq!(
            served.seen().len(),
            2,
            "{body}: retried once, as any answer"
        );
    }
}

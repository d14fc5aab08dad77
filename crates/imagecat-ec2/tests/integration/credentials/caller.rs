//! The catalog's caller: STS `GetCallerIdentity` at the `ec2+http`
//! endpoint (or `sts_endpoint=`), signed for STS, asked once per catalog;
//! secrets an STS error echoes are scrubbed.

use std::sync::Arc;

use axum::http::StatusCode;
use imagecat_core::{ErrorKind, ImageCatalog};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_http::{OpenOptions, SecretString, Url};

use super::served::{Served, caller_answer, check_sigv4, sts_error};

const KEY: &str = "AKIDCALLER";
const SECRET: &str = "s3cr3t-caller-secret";
const TOKEN: &str = "s3cr3t-caller-session";

fn catalog(url: &str) -> Ec2Catalog {
    let provider = StaticProvider::new(Credentials::new(
        KEY,
        SecretString::new(SECRET),
        Some(SecretString::new(TOKEN)),
        None,
    ));
    Ec2Builder::from_url(&Url::parse(url).unwrap(), &OpenOptions::new())
        .unwrap()
        .env(Env::default())
        .credentials_provider(Arc::new(provider))
        .build()
        .unwrap()
}

async fn sts() -> Served {
    Served::start(|seen| {
        match (
            seen.param("Action").as_deref(),
            check_sigv4(seen, KEY, SECRET, Some(TOKEN), "eu-west-1", "sts"),
        ) {
            (Some("GetCallerIdentity"), Ok(())) => {
                caller_answer("210987654321", "arn:aws:iam::210987654321:user/ci")
            }
            (_, Err(why)) => sts_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", &why),
            _ => sts_error(StatusCode::BAD_REQUEST, "InvalidAction", "no"),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_one_endpoint_serves_sts_and_the_account_is_asked_once() {
    let served = sts().await;
    let catalog = catalog(&format!(
        "ec2+http://{}?region=eu-west-1",
        served.url().trim_start_matches("http://")
    ));
    assert_eq!(
        catalog.caller().await.unwrap().as_deref(),
        Some("210987654321")
    );
    assert_eq!(
        catalog.caller().await.unwrap().as_deref(),
        Some("210987654321")
    );
    let seen = served.seen();
    assert_eq!(seen.len(), 1, "cached once per catalog");
    assert_eq!(seen[0].param("Version").as_deref(), Some("2011-06-15"));
    check_sigv4(&seen[0], KEY, SECRET, Some(TOKEN), "eu-west-1", "sts").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sts_endpoint_names_another_server() {
    let ec2 = Served::start(|_| sts_error(StatusCode::BAD_REQUEST, "InvalidAction", "ec2")).await;
    let sts = sts().await;
    let catalog = catalog(&format!(
        "ec2+http://{}?region=eu-west-1&sts_endpoint={}",
        ec2.url().trim_start_matches("http://"),
        sts.url()
    ));
    assert_eq!(
        catalog.caller().await.unwrap().as_deref(),
        Some("210987654321")
    );
    assert!(ec2.seen().is_empty());
    assert_eq!(sts.seen().len(), 1);
    // ec2://REGION goes to the regional STS.
    let catalog = catalog_for_region();
    assert_eq!(
        catalog.source().sts().url().as_str(),
        "https://sts.eu-central-1.amazonaws.com/"
    );
}

fn catalog_for_region() -> Ec2Catalog {
    catalog("ec2://eu-central-1")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sts_error_that_echoes_the_secrets_shows_none() {
    let served = Served::start(|seen| {
        sts_error(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            &format!(
                "The security token included in the request is invalid: key {KEY} \
                 secret {SECRET} token {} auth {}",
                seen.header("x-amz-security-token").unwrap_or_default(),
                seen.header("authorization").unwrap_or_default()
            ),
        )
    })
    .await;
    let catalog = catalog(&format!(
        "ec2+http://{}?region=eu-west-1",
        served.url().trim_start_matches("http://")
    ));
    let error = catalog.caller().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

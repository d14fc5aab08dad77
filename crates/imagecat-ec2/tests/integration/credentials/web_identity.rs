//! Web identity: the token file and the role, exchanged at a test-served
//! STS by `AssumeRoleWithWebIdentity`, which must carry the token and no
//! signature.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use imagecat_core::ErrorKind;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Source};
use imagecat_ec2::sts::StsTarget;

use super::served::{Served, role_answer, sts_error};
use crate::credentials::{Home, error_of_async};

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-web-identity-token.sig";
const ROLE: &str = "arn:aws:iam::123456789012:role/ci";

async fn sts() -> Served {
    Served::start(|seen| match seen.param("Action").as_deref() {
        Some("AssumeRoleWithWebIdentity") => role_answer(
            "AssumeRoleWithWebIdentity",
            "ASIAWEBIDENTITY",
            "s3cr3t-web-secret",
            "s3cr3t-web-session",
            Utc::now() + Duration::hours(1),
        ),
        _ => sts_error(StatusCode::BAD_REQUEST, "InvalidAction", "no"),
    })
    .await
}

fn chain(home: &Home, served: &Served, env: &[(&str, &str)]) -> CredentialChain {
    CredentialChain::new(home.env(env)).with_endpoints(
        ChainEndpoints::new().sts(StsTarget::new(served.url().parse().unwrap(), "eu-west-1")),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_file_is_exchanged_unsigned_with_the_role_and_session() {
    let home = Home::new();
    let file = home.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let served = sts().await;
    let file = file.display().to_string();
    let credentials = chain(
        &home,
        &served,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &file),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_ROLE_SESSION_NAME", "gha-run-7"),
        ],
    )
    .resolve()
    .await
    .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAWEBIDENTITY");
    assert_eq!(credentials.source(), Source::WebIdentity);
    assert_eq!(
        credentials.session_token().unwrap().expose_secret(),
        "s3cr3t-web-session"
    );
    assert!(credentials.expiry().unwrap() > Utc::now() + Duration::minutes(59));
    let seen = served.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.param("Version").as_deref(), Some("2011-06-15"));
    assert_eq!(request.param("RoleArn").as_deref(), Some(ROLE));
    assert_eq!(
        request.param("RoleSessionName").as_deref(),
        Some("gha-run-7")
    );
    assert_eq!(
        request.param("WebIdentityToken").as_deref(),
        Some(TOKEN),
        "the file's token, trimmed"
    );
    assert!(request.header("authorization").is_none(), "not signed");
    assert!(request.header("x-amz-security-token").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_names_its_token_file_and_an_explicit_profile_ignores_the_variables() {
    let home = Home::new();
    let file = home.path().join("profile-token");
    std::fs::write(&file, TOKEN).unwrap();
    home.config(&format!(
        "[profile ci]\nweb_identity_token_file = {}\nrole_arn = {ROLE}\nrole_session_name = from-profile\n",
        file.display()
    ));
    let served = sts().await;
    let credentials = chain(
        &home,
        &served,
        &[
            // an explicit profile skips these (botocore's disable_env_vars)
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/other"),
        ],
    )
    .with_profile("ci")
    .resolve()
    .await
    .unwrap();
    assert_eq!(credentials.source(), Source::WebIdentity);
    let seen = served.seen();
    assert_eq!(seen[0].param("RoleArn").as_deref(), Some(ROLE));
    assert_eq!(
        seen[0].param("RoleSessionName").as_deref(),
        Some("from-profile")
    );
    // Without a session name one is made up.
    home.config(&format!(
        "[default]\nweb_identity_token_file = {}\nrole_arn = {ROLE}\n",
        file.display()
    ));
    chain(&home, &served, &[]).resolve().await.unwrap();
    let name = served.seen()[1].param("RoleSessionName").unwrap();
    assert!(name.starts_with("imagecat-session-"), "{name}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_typed_and_never_show_the_token() {
    let home = Home::new();
    let served = sts().await;
    // a missing file: a Config error naming the file, no request
    let error = error_of_async(chain(
        &home,
        &served,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/imagecat/token"),
            ("AWS_ROLE_ARN", ROLE),
        ],
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains("/nonexistent/imagecat/token"),
        "{error}"
    );
    // no role
    let file = home.path().join("token");
    std::fs::write(&file, TOKEN).unwrap();
    let file = file.display().to_string();
    let error = error_of_async(chain(
        &home,
        &served,
        &[("AWS_WEB_IDENTITY_TOKEN_FILE", &file)],
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("AWS_ROLE_ARN"), "{error}");
    assert!(served.seen().is_empty());
    // STS refuses the token and quotes it back
    let refusing = Served::start(|seen| {
        sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidIdentityToken",
            &format!(
                "Token {} is not valid",
                seen.param("WebIdentityToken").unwrap_or_default()
            ),
        )
    })
    .await;
    let error = error_of_async(chain(
        &home,
        &refusing,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &file),
            ("AWS_ROLE_ARN", ROLE),
        ],
    ))
    .await;
    assert_eq!(error.code(), Some("InvalidIdentityToken"), "{error}");
    assert!(error.to_string().contains("[redacted]"), "{error}");
}

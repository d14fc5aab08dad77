//! `role_arn` profiles against a test-served STS: the request's
//! parameters, its signature by the source credentials (recomputed by the
//! server), chained roles, a self-sourced profile, `credential_source`.
//! The same against moto's own STS is in `moto_sts`.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use imagecat_core::ErrorKind;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Source};
use imagecat_ec2::sts::StsTarget;

use super::served::{Served, check_sigv4, role_answer, sts_error};
use crate::credentials::{Home, error_of_async};

/// The keys the served STS knows: the source profile's, and what each
/// role it hands out signs with (`ASIA<ROLE>`, `s3cr3t-<role>`).
const SOURCE_KEY: (&str, &str) = ("AKIDSOURCE", "s3cr3t-source");

/// An STS that checks every AssumeRole's signature against the known
/// keys and answers credentials named after the role.
async fn sts() -> Served {
    Served::start(|seen| {
        if seen.param("Action").as_deref() != Some("AssumeRole") {
            return sts_error(StatusCode::BAD_REQUEST, "InvalidAction", "no");
        }
        let key = seen
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_owned();
        let checked = if key == SOURCE_KEY.0 {
            check_sigv4(seen, SOURCE_KEY.0, SOURCE_KEY.1, None, "eu-west-1", "sts")
        } else if let Some(role) = key.strip_prefix("ASIA") {
            let role = role.to_ascii_lowercase();
            check_sigv4(
                seen,
                &key,
                &format!("s3cr3t-{role}"),
                Some(&format!("s3cr3t-token-{role}")),
                "eu-west-1",
                "sts",
            )
        } else {
            Err(format!("unknown key {key}"))
        };
        if let Err(why) = checked {
            return sts_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", &why);
        }
        let arn = seen.param("RoleArn").unwrap_or_default();
        let role = arn.rsplit('/').next().unwrap_or_default().to_owned();
        role_answer(
            "AssumeRole",
            &format!("ASIA{}", role.to_ascii_uppercase()),
            &format!("s3cr3t-{role}"),
            &format!("s3cr3t-token-{role}"),
            Utc::now() + Duration::minutes(15),
        )
    })
    .await
}

fn chain(home: &Home, served: &Served, env: &[(&str, &str)]) -> CredentialChain {
    CredentialChain::new(home.env(env)).with_endpoints(
        ChainEndpoints::new().sts(StsTarget::new(served.url().parse().unwrap(), "eu-west-1")),
    )
}

const CONFIG: &str = "[profile src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = s3cr3t-source\n\
    [profile ops]\nrole_arn = arn:aws:iam::111111111111:role/ops\nsource_profile = src\n\
    role_session_name = nightly\nexternal_id = ext-42\nduration_seconds = 1800\n\
    [profile deploy]\nrole_arn = arn:aws:iam::222222222222:role/deploy\nsource_profile = ops\n\
    [profile selfish]\nrole_arn = arn:aws:iam::333333333333:role/selfish\nsource_profile = selfish\n\
    aws_access_key_id = AKIDSOURCE\naws_secret_access_key = s3cr3t-source\n\
    [profile fromenv]\nrole_arn = arn:aws:iam::444444444444:role/fromenv\ncredential_source = Environment\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_assumed_with_the_source_profiles_signature_and_parameters() {
    let home = Home::new();
    home.config(CONFIG);
    let served = sts().await;
    let credentials = chain(&home, &served, &[("AWS_PROFILE", "ops")])
        .resolve()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAOPS");
    assert_eq!(credentials.source(), Source::AssumeRole);
    assert!(credentials.expiry().is_some());
    let seen = served.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.param("Version").as_deref(), Some("2011-06-15"));
    assert_eq!(
        request.param("RoleArn").as_deref(),
        Some("arn:aws:iam::111111111111:role/ops")
    );
    assert_eq!(request.param("RoleSessionName").as_deref(), Some("nightly"));
    assert_eq!(request.param("ExternalId").as_deref(), Some("ext-42"));
    assert_eq!(request.param("DurationSeconds").as_deref(), Some("1800"));
    check_sigv4(
        request,
        SOURCE_KEY.0,
        SOURCE_KEY.1,
        None,
        "eu-west-1",
        "sts",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn chained_roles_sign_each_step_with_the_previous_roles_credentials() {
    let home = Home::new();
    home.config(CONFIG);
    let served = sts().await;
    let credentials = chain(&home, &served, &[])
        .with_profile("deploy")
        .resolve()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIADEPLOY");
    let seen = served.seen();
    let arns: Vec<_> = seen.iter().map(|s| s.param("RoleArn").unwrap()).collect();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::111111111111:role/ops",
            "arn:aws:iam::222222222222:role/deploy"
        ]
    );
    check_sigv4(
        &seen[0],
        SOURCE_KEY.0,
        SOURCE_KEY.1,
        None,
        "eu-west-1",
        "sts",
    )
    .unwrap();
    check_sigv4(
        &seen[1],
        "ASIAOPS",
        "s3cr3t-ops",
        Some("s3cr3t-token-ops"),
        "eu-west-1",
        "sts",
    )
    .unwrap();
    // No session name in the profile: one is made up.
    let name = seen[1].param("RoleSessionName").unwrap();
    assert!(name.starts_with("imagecat-session-"), "{name}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_may_source_itself_with_its_own_keys_and_credential_source_reads_the_environment()
{
    let home = Home::new();
    home.config(CONFIG);
    let served = sts().await;
    let credentials = chain(&home, &served, &[])
        .with_profile("selfish")
        .resolve()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIASELFISH");
    // credential_source = Environment: the environment's keys sign, even
    // under an explicit profile (as botocore).
    let credentials = chain(
        &home,
        &served,
        &[
            ("AWS_ACCESS_KEY_ID", SOURCE_KEY.0),
            ("AWS_SECRET_ACCESS_KEY", SOURCE_KEY.1),
        ],
    )
    .with_profile("fromenv")
    .resolve()
    .await
    .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAFROMENV");
    let error = error_of_async(chain(&home, &served, &[]).with_profile("fromenv")).await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(error.to_string().contains("AWS_ACCESS_KEY_ID"), "{error}");
    assert_eq!(served.seen().len(), 2, "the failed one sent nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sts_refusal_is_typed_and_scrubbed_of_the_source_key() {
    let home = Home::new();
    home.config(CONFIG);
    let echoed = Arc::new(Mutex::new(0));
    let count = Arc::clone(&echoed);
    let served = Served::start(move |seen| {
        *count.lock().unwrap() += 1;
        // A hostile server quoting the signing key id and a body.
        sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User AKIDSOURCE is not authorized to perform sts:AssumeRole ({})",
                String::from_utf8_lossy(&seen.body)
            ),
        )
    })
    .await;
    let error = error_of_async(chain(&home, &served, &[]).with_profile("ops")).await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert_eq!(error.code(), Some("AccessDenied"));
    assert!(!error.to_string().contains("AKIDSOURCE"), "{error}");
    assert!(*echoed.lock().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
#[cfg(unix)]
async fn a_source_profile_may_get_its_keys_from_credential_process() {
    let home = Home::new();
    let script = home.script(
        "source.sh",
        r#"printf '{"Version": 1, "AccessKeyId": "AKIDSOURCE", "SecretAccessKey": "s3cr3t-source"}'"#,
    );
    home.config(&format!(
        "[profile proc]\ncredential_process = {}\n\
         [profile viaproc]\nrole_arn = arn:aws:iam::555555555555:role/viaproc\nsource_profile = proc\n",
        script.display()
    ));
    let served = sts().await;
    let credentials = chain(&home, &served, &[])
        .with_profile("viaproc")
        .resolve()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAVIAPROC");
    check_sigv4(
        &served.seen()[0],
        SOURCE_KEY.0,
        SOURCE_KEY.1,
        None,
        "eu-west-1",
        "sts",
    )
    .unwrap();
}

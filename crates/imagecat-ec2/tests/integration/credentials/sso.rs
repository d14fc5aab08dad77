//! SSO profiles: the AWS CLI's cached token (`~/.aws/sso/cache/SHA1.json`)
//! sent to a test-served portal's `GetRoleCredentials`.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use imagecat_core::ErrorKind;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Source, sso_cache_file_name};

use super::served::{Served, json};
use crate::credentials::{Home, error_of_async};

const ACCESS_TOKEN: &str = "s3cr3t-sso-access-token";

async fn portal() -> Served {
    Served::start(|seen| {
        if seen.header("x-amz-sso_bearer_token") != Some(ACCESS_TOKEN) {
            return json(
                StatusCode::UNAUTHORIZED,
                "{\"message\":\"Session token not found or invalid\"}".into(),
            );
        }
        if seen.path != "/federation/credentials"
            || seen.query_param("role_name").as_deref() != Some("ReadOnly")
            || seen.query_param("account_id").as_deref() != Some("123456789012")
        {
            return json(
                StatusCode::NOT_FOUND,
                "{\"message\":\"no such role\"}".into(),
            );
        }
        json(
            StatusCode::OK,
            format!(
                "{{\"roleCredentials\":{{\"accessKeyId\":\"ASIASSO\",\
                 \"secretAccessKey\":\"s3cr3t-sso\",\"sessionToken\":\"s3cr3t-sso-session\",\
                 \"expiration\":{}}}}}",
                (Utc::now() + Duration::hours(1)).timestamp_millis()
            ),
        )
    })
    .await
}

impl Home {
    /// Writes the token cache file the AWS CLI would for `key`.
    fn sso_cache(&self, key: &str, expires_at: &str) {
        let dir = self.path().join(".aws/sso/cache");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(sso_cache_file_name(key)),
            format!(
                "{{\"startUrl\":\"https://d-abc123.awsapps.com/start\",\"region\":\"eu-west-1\",\
                 \"accessToken\":\"{ACCESS_TOKEN}\",\"expiresAt\":\"{expires_at}\"}}"
            ),
        )
        .unwrap();
    }
}

const CONFIG: &str = "[profile modern]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\n\
    [sso-session corp]\nsso_start_url = https://d-abc123.awsapps.com/start\nsso_region = eu-west-1\n\
    [profile legacy]\nsso_start_url = https://d-abc123.awsapps.com/start\nsso_region = eu-west-1\n\
    sso_account_id = 123456789012\nsso_role_name = ReadOnly\n\
    [profile halfway]\nsso_session = corp\nsso_account_id = 123456789012\n\
    [profile lost]\nsso_session = nowhere\nsso_account_id = 1\nsso_role_name = r\n";

fn chain(home: &Home, served: &Served, profile: &str) -> CredentialChain {
    CredentialChain::new(home.env(&[]))
        .with_profile(profile)
        .with_endpoints(ChainEndpoints::new().sso_portal(served.url().parse().unwrap()))
}

fn later() -> String {
    (Utc::now() + Duration::hours(8))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_session_and_legacy_profiles_send_the_cached_token() {
    let home = Home::new();
    home.config(CONFIG);
    home.sso_cache("corp", &later());
    home.sso_cache("https://d-abc123.awsapps.com/start", &later());
    let served = portal().await;
    for profile in ["modern", "legacy"] {
        let credentials = chain(&home, &served, profile).resolve().await.unwrap();
        assert_eq!(credentials.access_key_id(), "ASIASSO", "{profile}");
        assert_eq!(credentials.source(), Source::Sso);
        assert!(credentials.expiry().unwrap() > Utc::now() + Duration::minutes(59));
    }
    let seen = served.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.method == "GET"));
    // The portal through AWS_ENDPOINT_URL_SSO, as the SDKs read it.
    let url = served.url();
    let by_env =
        CredentialChain::new(home.env(&[("AWS_ENDPOINT_URL_SSO", &url)])).with_profile("modern");
    assert_eq!(by_env.resolve().await.unwrap().access_key_id(), "ASIASSO");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_or_missing_token_says_to_log_in_and_sends_nothing() {
    let home = Home::new();
    home.config(CONFIG);
    let served = portal().await;
    let error = error_of_async(chain(&home, &served, "modern")).await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(error.to_string().contains("aws sso login"), "{error}");
    home.sso_cache("corp", "2020-01-01T00:00:00UTC");
    let error = error_of_async(chain(&home, &served, "modern")).await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(error.to_string().contains("expired"), "{error}");
    // Incomplete profiles are configuration errors.
    let error = error_of_async(chain(&home, &served, "halfway")).await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("sso_role_name"), "{error}");
    let error = error_of_async(chain(&home, &served, "lost")).await;
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains("[sso-session nowhere]"),
        "{error}"
    );
    assert!(served.seen().is_empty());
    // A token the portal refuses.
    let refusing = Served::start(|_| {
        json(
            StatusCode::UNAUTHORIZED,
            format!("{{\"message\":\"bad {ACCESS_TOKEN}\"}}"),
        )
    })
    .await;
    home.sso_cache("corp", &later());
    let error = error_of_async(chain(&home, &refusing, "modern")).await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(error.to_string().contains("aws sso login"), "{error}");
}

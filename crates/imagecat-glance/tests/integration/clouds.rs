//! clouds.yaml (with secure.yaml) and application credentials against the
//! Glance emulator and its Keystone: each cloud below lists the emulator's
//! images through the credentials the file names, and a wrong secret is
//! refused without being echoed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use imagecat_core::{ErrorKind, ImageCatalogExt, ListQuery};
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, KeystoneAppCredential, KeystoneUser,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::{CloudsFiles, GlanceBuilder};
use imagecat_http::HttpOptions;
use imagecat_testkit::listing::test_http;

const PASSWORD: &str = "clouds-secret-password";
const AC_SECRET: &str = "clouds-secret-appcred";

fn user() -> KeystoneUser {
    KeystoneUser {
        password: PASSWORD.into(),
        app_credential: Some(KeystoneAppCredential {
            id: "3c6b2a1e9d8f4c7ab5e2f1d0c9b8a7e6".into(),
            name: "ci-reader".into(),
            secret: AC_SECRET.into(),
        }),
        ..KeystoneUser::default()
    }
}

async fn emulator(config: GlanceEmulatorConfig) -> GlanceEmulator {
    GlanceEmulator::start(config.images(7), ServeOptions::default())
        .await
        .expect("the emulator starts")
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagecat-clouds-it-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A clouds.yaml naming the emulator's Keystone, and a secure.yaml holding
/// every secret.
fn files(dir: &Path, emu: &GlanceEmulator, secret: &str) -> CloudsFiles {
    let u = user();
    let ac = u.app_credential.clone().unwrap();
    let v3 = emu.identity_v3_url();
    let v2 = emu.identity_v2_url();
    let endpoint = emu.endpoint();
    let clouds = format!(
        r#"
clouds:
  password-v3:
    auth:
      auth_url: {v3}
      username: {user}
      project_name: {project}
      user_domain_name: {domain}
      project_domain_name: {domain}
    region_name: RegionOne
    identity_api_version: 3
  password-v2:
    auth_type: v2password
    auth:
      auth_url: {v2}
      username: {user}
      tenant_id: {project_id}
    region_name: RegionOne
  appcred-id:
    auth_type: v3applicationcredential
    auth:
      auth_url: {v3}
      application_credential_id: {ac_id}
    region_name: RegionOne
  appcred-name:
    auth_type: v3applicationcredential
    auth:
      auth_url: {v3}
      application_credential_name: {ac_name}
      username: {user}
      user_domain_name: {domain}
    region_name: RegionOne
  no-keystone:
    auth_type: none
    auth:
      endpoint: {endpoint}
"#,
        user = u.username,
        project = u.project_name,
        project_id = u.project_id,
        domain = u.user_domain,
        ac_id = ac.id,
        ac_name = ac.name,
    );
    let secure = format!(
        "clouds:\n  password-v3:\n    auth:\n      password: {PASSWORD}\n  password-v2:\n    auth:\n      password: {PASSWORD}\n  appcred-id:\n    auth:\n      application_credential_secret: {secret}\n  appcred-name:\n    auth:\n      application_credential_secret: {secret}\n"
    );
    std::fs::write(dir.join("clouds.yaml"), clouds).unwrap();
    std::fs::write(dir.join("secure.yaml"), secure).unwrap();
    CloudsFiles::new([dir.join("clouds.yaml")], [dir.join("secure.yaml")])
}

fn no_retry() -> HttpOptions {
    test_http(1).request_timeout(Duration::from_secs(10))
}

fn builder(files: &CloudsFiles, cloud: &str) -> GlanceBuilder {
    GlanceBuilder::new()
        .clouds_files(files.clone())
        .cloud(cloud)
        .http_options(no_retry())
}

#[tokio::test]
async fn every_auth_type_of_clouds_yaml_lists_the_images() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(user())).await;
    let dir = dir();
    let files = files(&dir, &emu, AC_SECRET);
    let want = emu.listed_ids();
    assert_eq!(want.len(), 7);
    for (n, cloud) in ["password-v3", "password-v2", "appcred-id", "appcred-name"]
        .into_iter()
        .enumerate()
    {
        let catalog = builder(&files, cloud).build().expect(cloud);
        let images = catalog.collect(ListQuery::new()).await.expect(cloud);
        let mut got: Vec<String> = images.iter().map(|i| i.id.to_string()).collect();
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got, want, "{cloud}");
        // One token per cloud, from Keystone: the credentials were used.
        assert_eq!(emu.issued_tokens(), n as u64 + 1, "{cloud}");
    }
    let shown = format!("{:?}", builder(&files, "appcred-id").build().unwrap());
    assert!(
        !shown.contains(AC_SECRET) && !shown.contains(PASSWORD),
        "{shown}"
    );
}

#[tokio::test]
async fn auth_type_none_talks_to_a_glance_without_keystone() {
    // The emulator checks no token when it has neither a token nor a user.
    let emu = emulator(GlanceEmulatorConfig::default().token(None)).await;
    let dir = dir();
    let files = files(&dir, &emu, AC_SECRET);
    let catalog = builder(&files, "no-keystone").build().unwrap();
    let images = catalog.collect(ListQuery::new()).await.unwrap();
    assert_eq!(images.len(), 7);
    assert_eq!(emu.issued_tokens(), 0);
}

#[tokio::test]
async fn a_wrong_application_credential_secret_is_refused_unechoed() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(user())).await;
    let dir = dir();
    let wrong = "clouds-wrong-secret-value";
    let files = files(&dir, &emu, wrong);
    for cloud in ["appcred-id", "appcred-name"] {
        let catalog = builder(&files, cloud).build().unwrap();
        let e = catalog.collect(ListQuery::new()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{cloud}: {e}");
        let text = format!("{e} {e:?}");
        assert!(text.contains("Keystone refused"), "{text}");
        assert!(!text.contains(wrong), "{text}");
    }
    assert_eq!(emu.issued_tokens(), 0);
}

#[tokio::test]
async fn application_credentials_from_the_builder() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(user())).await;
    let u = user();
    let ac = u.app_credential.clone().unwrap();
    let by_id = GlanceBuilder::new()
        .application_credential(
            emu.identity_v3_url(),
            ac.id,
            imagecat_http::SecretString::new(AC_SECRET),
        )
        .region("RegionOne")
        .http_options(no_retry())
        .build()
        .unwrap();
    assert_eq!(by_id.collect(ListQuery::new()).await.unwrap().len(), 7);
    let by_name = GlanceBuilder::new()
        .application_credential_by_name(
            emu.identity_v3_url(),
            ac.name,
            u.username,
            u.user_domain,
            imagecat_http::SecretString::new(AC_SECRET),
        )
        .region("RegionOne")
        .http_options(no_retry())
        .build()
        .unwrap();
    assert_eq!(by_name.collect(ListQuery::new()).await.unwrap().len(), 7);
    assert_eq!(emu.issued_tokens(), 2);
}

//! clouds.yaml against a REAL Keystone (keystone 30 from PyPI, SQLite,
//! fernet tokens, gunicorn on 127.0.0.1): password, application
//! credentials (by id and by name) and a token exchange (`v3token`), with the image endpoint taken from the
//! real Keystone's service catalog. The image service behind that catalog
//! is the Glance emulator, told to check no token (the real Glance of
//! `real_glance.rs` runs without Keystone).
//!
//! One server for the whole file: one test starts it (installing Keystone
//! first if needed, `scripts/real-keystone/install.sh`), runs every case
//! and stops it at the end, also on panic (a Drop guard kills its process
//! group). `IMAGECAT_SKIP_REAL_KEYSTONE=1` skips it (visibly);
//! `IMAGECAT_REAL_KEYSTONE_DIR` sets the install directory (default
//! `target/real-keystone`).

use std::time::Duration;

use imagecat_core::{ErrorKind, ImageCatalogExt, ListQuery};
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::{CloudsFiles, GlanceBuilder};
use imagecat_http::HttpOptions;
use imagecat_http::reqwest;
use imagecat_testkit::listing::test_http;
use imagecat_testkit::real_server::{RealServer, RunningServer};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "real-keystone-admin-secret";

fn real_keystone() -> RealServer {
    RealServer::new("Keystone", "real-keystone")
}

/// A running real Keystone at `url` (its `/v3`); stopped when dropped.
struct RealKeystone {
    url: String,
    _server: RunningServer,
}

impl RealKeystone {
    async fn start() -> Self {
        let server = real_keystone()
            .start(&[ADMIN_PASSWORD], "/v3", &["gunicorn.log", "keystone.log"])
            .await;
        RealKeystone {
            url: format!("{}/v3", server.base_url()),
            _server: server,
        }
    }
}

/// Keystone's admin API, as the admin: a token and the admin's user id.
struct Admin {
    client: reqwest::Client,
    url: String,
    token: String,
    user_id: String,
}

impl Admin {
    async fn login(url: &str) -> Self {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{url}/auth/tokens"))
            .header("Content-Type", "application/json")
            .body(
                json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let token = response.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let user_id = body["token"]["user"]["id"].as_str().unwrap().to_owned();
        Admin {
            client,
            url: url.to_owned(),
            token,
            user_id,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/{path}", self.url))
            .header("X-Auth-Token", &self.token)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "POST {path}");
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }
}

fn no_retry() -> HttpOptions {
    test_http(1).request_timeout(Duration::from_secs(30))
}

async fn images(files: &CloudsFiles, cloud: &str) -> imagecat_core::Result<Vec<String>> {
    let catalog = GlanceBuilder::new()
        .clouds_files(files.clone())
        .cloud(cloud)
        .http_options(no_retry())
        .build()?;
    let mut ids: Vec<String> = catalog
        .collect(ListQuery::new())
        .await?
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    ids.sort();
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouds_yaml_password_and_application_credentials_against_a_real_keystone() {
    if real_keystone().skipped() {
        return;
    }
    let glance = GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(11).token(None),
        ServeOptions::default(),
    )
    .await
    .expect("the emulator starts");
    let mut want = glance.listed_ids();
    want.sort();
    let keystone = RealKeystone::start().await;
    let admin = Admin::login(&keystone.url).await;
    // The image service and its public endpoint, in the real catalog.
    let service = admin
        .post(
            "services",
            json!({"service": {"type": "image", "name": "glance"}}),
        )
        .await;
    let service_id = service["service"]["id"].as_str().unwrap();
    admin
        .post(
            "endpoints",
            json!({"endpoint": {"service_id": service_id, "interface": "public",
                "region_id": "RegionOne", "url": glance.endpoint()}}),
        )
        .await;
    let credential = admin
        .post(
            &format!("users/{}/application_credentials", admin.user_id),
            json!({"application_credential": {"name": "imagecat-ci"}}),
        )
        .await;
    let ac_id = credential["application_credential"]["id"].as_str().unwrap();
    let ac_secret = credential["application_credential"]["secret"]
        .as_str()
        .unwrap();

    let dir = std::env::temp_dir().join(format!(
        "imagecat-real-keystone-clouds-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = &keystone.url;
    let token = &admin.token;
    std::fs::write(
        dir.join("clouds.yaml"),
        format!(
            "clouds:
  ks-password:
    auth: {{auth_url: '{url}', username: admin, project_name: admin, user_domain_name: Default, project_domain_id: default}}
    region_name: RegionOne
  ks-appcred:
    auth_type: v3applicationcredential
    auth: {{auth_url: '{url}', application_credential_id: '{ac_id}'}}
  ks-appcred-name:
    auth_type: v3applicationcredential
    auth: {{auth_url: '{url}', application_credential_name: imagecat-ci, username: admin, user_domain_name: Default}}
  ks-token:
    auth_type: v3token
    auth: {{auth_url: '{url}', token: '{token}', project_name: admin, project_domain_name: Default}}
  ks-wrong:
    auth_type: v3applicationcredential
    auth: {{auth_url: '{url}', application_credential_id: '{ac_id}', application_credential_secret: not-the-secret}}
"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("secure.yaml"),
        format!(
            "clouds:
  ks-password: {{auth: {{password: '{ADMIN_PASSWORD}'}}}}
  ks-appcred: {{auth: {{application_credential_secret: '{ac_secret}'}}}}
  ks-appcred-name: {{auth: {{application_credential_secret: '{ac_secret}'}}}}
"
        ),
    )
    .unwrap();
    let files = CloudsFiles::new([dir.join("clouds.yaml")], [dir.join("secure.yaml")]);
    for cloud in ["ks-password", "ks-appcred", "ks-appcred-name", "ks-token"] {
        let got = images(&files, cloud)
            .await
            .unwrap_or_else(|e| panic!("{cloud}: {e}"));
        assert_eq!(got, want, "{cloud}");
    }
    let e = images(&files, "ks-wrong").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!format!("{e} {e:?}").contains(ac_secret), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    drop(keystone);
}

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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imagecat_core::{ErrorKind, ImageCatalogExt, ListQuery};
use imagecat_glance::{CloudsFiles, GlanceBuilder};
use imagecat_http::reqwest;
use imagecat_http::{HttpOptions, RetryPolicy};
use imagecat_testkit::glance::{GlanceEmulator, GlanceEmulatorConfig};
use imagecat_testkit::server::ServeOptions;
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "real-keystone-admin-secret";
const STARTUP_LIMIT: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A running real Keystone; its process group is killed when dropped.
struct RealKeystone {
    child: Child,
    url: String,
    state: PathBuf,
    log: PathBuf,
}

impl RealKeystone {
    async fn start() -> Self {
        let dir = std::env::var_os("IMAGECAT_REAL_KEYSTONE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/real-keystone"));
        let script = repo_root().join("scripts/real-keystone/install.sh");
        let install_dir = dir.clone();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(&script)
                .arg(&install_dir)
                .stdin(Stdio::null())
                .output()
        })
        .await
        .unwrap()
        .expect("bash runs install.sh");
        assert!(
            output.status.success(),
            "the real Keystone could not be installed (Python >= 3.11 with venv and PyPI are needed; \
             IMAGECAT_SKIP_REAL_KEYSTONE=1 skips this test):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let tmp = std::env::temp_dir();
        let tag = format!("{}-{port}", std::process::id());
        let state = tmp.join(format!("imagecat-real-keystone-{tag}"));
        let log = tmp.join(format!("imagecat-real-keystone-{tag}.log"));
        let log_file = std::fs::File::create(&log).expect("a log file in the temp dir");
        let err_file = log_file.try_clone().expect("a log file handle");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("bash")
                .arg(repo_root().join("scripts/real-keystone/serve.sh"))
                .arg(&dir)
                .arg(port.to_string())
                .arg(ADMIN_PASSWORD)
                .arg(&state)
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(err_file)
                .process_group(0)
                .spawn()
                .expect("bash starts serve.sh")
        };
        let mut keystone = RealKeystone {
            child,
            url: format!("http://127.0.0.1:{port}/v3"),
            state,
            log,
        };
        keystone.wait_until_ready().await;
        keystone
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the real Keystone exited with {status} before answering.\nserve.sh:\n{}\ngunicorn:\n{}\nkeystone:\n{}",
                    tail(&self.log, 40),
                    tail(&self.state.join("gunicorn.log"), 40),
                    tail(&self.state.join("keystone.log"), 40)
                );
            }
            let answered = client
                .get(&self.url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if answered {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_LIMIT,
                "the real Keystone did not answer GET /v3 within {}s.\ngunicorn:\n{}",
                STARTUP_LIMIT.as_secs(),
                tail(&self.state.join("gunicorn.log"), 40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for RealKeystone {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |s: &str| {
            let _ = Command::new("kill")
                .args([s, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        signal("-KILL");
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_file(&self.log);
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
    HttpOptions::default()
        .retry(RetryPolicy::none())
        .request_timeout(Duration::from_secs(30))
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
    if std::env::var("IMAGECAT_SKIP_REAL_KEYSTONE").is_ok_and(|v| v == "1") {
        println!("SKIPPED: IMAGECAT_SKIP_REAL_KEYSTONE=1, the real-Keystone test does not run");
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

//! The Google Cloud CLI this machine carries, run against an emulator for
//! fidelity checks: `/usr/bin/gcloud` (or `IMAGECAT_GCLOUD`, or `gcloud` on
//! `PATH`), with the compute endpoint overridden, an access token, a
//! throwaway config dir, and every other host behind a proxy trap that
//! counts the connections made to it (a test asserts none). gcloud is not
//! in the package registries: when it is missing, [`Gcloud::new`] panics
//! saying so (a test never skips in silence).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The gcloud to run: `IMAGECAT_GCLOUD`, else `gcloud` on `PATH`, else
/// /usr/bin/gcloud; panics with what to do when there is none.
pub fn gcloud_path() -> PathBuf {
    if let Some(path) = std::env::var_os("IMAGECAT_GCLOUD") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("gcloud"))
            .find(|p| p.is_file())
    });
    let path = on_path.unwrap_or_else(|| PathBuf::from("/usr/bin/gcloud"));
    assert!(
        path.is_file(),
        "gcloud is missing: this test runs the Google Cloud CLI that the machine image carries \
         (/usr/bin/gcloud); it cannot be installed from the package registries. Install \
         google-cloud-cli, or set IMAGECAT_GCLOUD to its path."
    );
    path
}

/// A loopback port that counts the connections made to it: the proxy
/// every other host is sent to (a test asserts it saw none).
pub fn proxy_trap() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("an address");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("http://{addr}"), count)
}

/// gcloud pointed at one Compute endpoint and project.
#[derive(Debug)]
pub struct Gcloud {
    bin: PathBuf,
    config: tempfile::TempDir,
    endpoint: String,
    project: String,
    token: String,
    proxy: String,
    trapped: Arc<AtomicUsize>,
}

impl Gcloud {
    /// gcloud for the Compute v1 base `endpoint` (the emulator's), acting
    /// on `project` with the access token `token`.
    pub fn new(endpoint: &str, project: &str, token: &str) -> Self {
        let (proxy, trapped) = proxy_trap();
        Gcloud {
            bin: gcloud_path(),
            config: tempfile::tempdir().expect("a config dir"),
            endpoint: endpoint.to_owned(),
            project: project.to_owned(),
            token: token.to_owned(),
            proxy,
            trapped,
        }
    }

    /// Runs gcloud with these arguments (off the async runtime).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.config.path())
            .env("CLOUDSDK_CONFIG", self.config.path())
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", &self.endpoint)
            .env("CLOUDSDK_AUTH_ACCESS_TOKEN", &self.token)
            .env("CLOUDSDK_CORE_PROJECT", &self.project)
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .env("CLOUDSDK_CORE_CHECK_GCE_METADATA", "false")
            .env("HTTPS_PROXY", &self.proxy)
            .env("HTTP_PROXY", &self.proxy)
            .env("https_proxy", &self.proxy)
            .env("http_proxy", &self.proxy)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        tokio::task::spawn_blocking(move || command.output().expect("gcloud runs"))
            .await
            .expect("joins")
    }

    /// Runs gcloud and returns its stdout, failing on a non-zero exit.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "gcloud {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many connections went to a host other than the endpoint's.
    pub fn trapped(&self) -> usize {
        self.trapped.load(Ordering::SeqCst)
    }
}

//! A real Glance API server for tests (glance from PyPI, served by
//! gunicorn on 127.0.0.1, SQLite and a filesystem store, no Keystone):
//! installed by `scripts/real-glance/install.sh`, served by `serve.sh`,
//! stopped (its process group killed) when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imagecat_http::reqwest;

const STARTUP_LIMIT: Duration = Duration::from_secs(120);

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn skip() -> bool {
    let skip = std::env::var("IMAGECAT_SKIP_REAL_GLANCE").is_ok_and(|v| v == "1");
    if skip {
        println!("SKIPPED: IMAGECAT_SKIP_REAL_GLANCE=1, the real-Glance tests do not run");
    }
    skip
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs install.sh (quick when installed; a file lock serialises parallel
/// installs). Panics with the reason when Glance cannot be installed.
pub(crate) fn install(dir: &Path) {
    let script = repo_root().join("scripts/real-glance/install.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (is bash installed?)", script.display()));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last: Vec<&str> = stderr.lines().rev().take(40).collect();
        panic!(
            "the real Glance server could not be installed: {} exited with {}.\n\
             It needs Python >= 3.11 with venv (or root and apt-get to install them) and PyPI.\n\
             Its output:\n{stdout}\n{}\n\
             (IMAGECAT_SKIP_REAL_GLANCE=1 skips these tests on a machine that cannot install it.)",
            script.display(),
            output.status,
            last.into_iter().rev().collect::<Vec<_>>().join("\n"),
        );
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running real Glance; its process group is killed when dropped.
pub(crate) struct RealGlance {
    child: Child,
    pub(crate) url: String,
    state: PathBuf,
    log: PathBuf,
}

impl RealGlance {
    /// Installs (if needed) and starts a real Glance on an ephemeral port.
    pub(crate) async fn start() -> Self {
        let dir = std::env::var_os("IMAGECAT_REAL_GLANCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/real-glance"));
        let install_dir = dir.clone();
        tokio::task::spawn_blocking(move || install(&install_dir))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let port = free_port();
        let tmp = std::env::temp_dir();
        let state = tmp.join(format!(
            "imagecat-real-glance-{}-{port}",
            std::process::id()
        ));
        let log = tmp.join(format!(
            "imagecat-real-glance-{}-{port}.log",
            std::process::id()
        ));
        let log_file = std::fs::File::create(&log).expect("a log file in the temp dir");
        let err_file = log_file.try_clone().expect("a log file handle");
        let script = repo_root().join("scripts/real-glance/serve.sh");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("bash")
                .arg(&script)
                .arg(&dir)
                .arg(port.to_string())
                .arg(&state)
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(err_file)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()))
        };
        let mut glance = RealGlance {
            child,
            url: format!("http://127.0.0.1:{port}"),
            state,
            log,
        };
        glance.wait_until_ready().await;
        glance
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the real Glance server exited with {status} before answering.\n\
                     serve.sh output:\n{}\ngunicorn log:\n{}\nglance-api log:\n{}",
                    tail(&self.log, 40),
                    tail(&self.state.join("gunicorn.log"), 40),
                    tail(&self.state.join("glance-api.log"), 40)
                );
            }
            let answered = client
                .get(format!("{}/versions", self.url))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() < 500);
            if answered {
                return;
            }
            if started.elapsed() > STARTUP_LIMIT {
                panic!(
                    "the real Glance server did not answer GET /versions within {}s.\n\
                     gunicorn log:\n{}\nglance-api log:\n{}",
                    STARTUP_LIMIT.as_secs(),
                    tail(&self.state.join("gunicorn.log"), 40),
                    tail(&self.state.join("glance-api.log"), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for RealGlance {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let quiet = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        quiet("-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        quiet("-KILL");
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_file(&self.log);
    }
}

//! Real servers from PyPI for tests (a real Glance, a real Keystone): the
//! scripts under `scripts/<slug>/` install them (`install.sh DIR`) and serve
//! them (`serve.sh DIR PORT [ARGS…] STATE`); [`RealServer`] runs those
//! scripts and [`RunningServer`] is the child process guard: a free loopback
//! port, a wait until the server answers, its process group killed when
//! dropped, and its logs shown when a test fails with it alive.
//!
//! `IMAGECAT_SKIP_<SLUG>=1` skips a server's tests (visibly) and
//! `IMAGECAT_<SLUG>_DIR` sets its install directory (default
//! `target/<slug>` at the repository root), `<SLUG>` being the slug in
//! upper case with `_` for `-` (`REAL_GLANCE`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imagecat_http::reqwest;

/// How long a server may take from `serve.sh` to its first answer.
const STARTUP_LIMIT: Duration = Duration::from_secs(180);
/// How many lines of each log a failure shows.
const LOG_LINES: usize = 40;

/// The repository root (where `scripts/` and `target/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The last `lines` lines of a file (empty when it cannot be read).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A free loopback port (the OS picks it; the server binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One kind of real server: its name, its scripts and its install directory.
#[derive(Debug, Clone)]
pub struct RealServer {
    name: &'static str,
    scripts: PathBuf,
    dir: PathBuf,
    slug: String,
    env: String,
}

impl RealServer {
    /// The server whose scripts are in `scripts/<slug>/` (`"real-glance"`),
    /// named `name` (`"Glance"`) in messages.
    pub fn new(name: &'static str, slug: &str) -> Self {
        let env = slug.to_uppercase().replace('-', "_");
        let dir = std::env::var_os(format!("IMAGECAT_{env}_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target").join(slug));
        RealServer {
            name,
            scripts: repo_root().join("scripts").join(slug),
            dir,
            slug: slug.to_owned(),
            env,
        }
    }

    /// Its install directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True, and says so, when `IMAGECAT_SKIP_<SLUG>=1` skips its tests.
    pub fn skipped(&self) -> bool {
        let var = format!("IMAGECAT_SKIP_{}", self.env);
        let skip = std::env::var(&var).is_ok_and(|v| v == "1");
        if skip {
            println!("SKIPPED: {var}=1, the real-{} tests do not run", self.name);
        }
        skip
    }

    /// Runs `script DIR` from its scripts (quick when installed; the
    /// scripts' file locks serialise parallel installs). Panics with the
    /// script's output when it fails.
    pub fn install(&self, script: &str) {
        let script = self.scripts.join(script);
        let output = Command::new("bash")
            .arg(&script)
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {}: {e} (is bash installed?)", script.display())
            });
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(LOG_LINES).collect();
            panic!(
                "the real {} could not be installed: {} exited with {}.\n\
                 It needs Python >= 3.11 with venv (or root and apt-get to install them) and PyPI.\n\
                 Its output:\n{}\n{}\n\
                 (IMAGECAT_SKIP_{}=1 skips these tests on a machine that cannot install it.)",
                self.name,
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                last.into_iter().rev().collect::<Vec<_>>().join("\n"),
                self.env,
            );
        }
    }

    /// Installs it if needed (`install.sh`), starts `serve.sh DIR PORT
    /// [args…] STATE` on a free port, and waits until `GET {ready_path}`
    /// answers below 500. `logs` names the files in STATE a failure shows.
    pub async fn start(&self, args: &[&str], ready_path: &str, logs: &[&str]) -> RunningServer {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.install("install.sh"))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let port = free_port();
        let tag = format!("imagecat-{}-{}-{port}", self.slug, std::process::id());
        let state = std::env::temp_dir().join(&tag);
        let log = std::env::temp_dir().join(format!("{tag}.log"));
        let log_file = std::fs::File::create(&log).expect("a log file in the temp dir");
        let err_file = log_file.try_clone().expect("a log file handle");
        let script = self.scripts.join("serve.sh");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("bash")
                .arg(&script)
                .arg(&self.dir)
                .arg(port.to_string())
                .args(args)
                .arg(&state)
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(err_file)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()))
        };
        let mut logs: Vec<PathBuf> = logs.iter().map(|l| state.join(l)).collect();
        logs.insert(0, log);
        let mut server = RunningServer {
            name: self.name,
            child,
            base: format!("http://127.0.0.1:{port}"),
            state,
            logs,
        };
        server.wait_until_ready(ready_path).await;
        server
    }
}

/// A running real server; its process group is killed when dropped.
#[derive(Debug)]
pub struct RunningServer {
    name: &'static str,
    child: Child,
    base: String,
    state: PathBuf,
    /// serve.sh's output first, then the server's own logs.
    logs: Vec<PathBuf>,
}

impl RunningServer {
    /// Its base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The last lines of each of its logs, headed by their file names.
    pub fn logs(&self) -> String {
        self.logs
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                format!("{name}:\n{}\n", tail(path, LOG_LINES))
            })
            .collect()
    }

    async fn wait_until_ready(&mut self, path: &str) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the real {} exited with {status} before answering.\n{}",
                    self.name,
                    self.logs()
                );
            }
            let answered = client
                .get(format!("{}{path}", self.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() < 500);
            if answered {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_LIMIT,
                "the real {} did not answer GET {path} within {}s.\n{}",
                self.name,
                STARTUP_LIMIT.as_secs(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "the real {} at {}, as the test failed:\n{}",
                self.name,
                self.base,
                self.logs()
            );
        }
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
        if let Some(log) = self.logs.first() {
            let _ = std::fs::remove_file(log);
        }
    }
}

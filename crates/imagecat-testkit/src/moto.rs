//! moto, the AWS mock server from PyPI, as the real server of the EC2
//! tests: `scripts/moto/install.sh` installs it (and awscli and boto3, the
//! real clients, into a virtualenv of their own), `serve.sh` serves every
//! AWS service on one loopback port with SigV4 checking on, and
//! `bootstrap.py` makes the one IAM key every later request must be signed
//! with. `IMAGECAT_SKIP_MOTO=1` skips the moto tests (visibly).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::real_server::{RealServer, RunningServer};

/// moto's scripts and install directory (`target/moto`).
pub fn moto() -> RealServer {
    RealServer::new("moto", "moto")
}

/// True (and says so) when `IMAGECAT_SKIP_MOTO=1`.
pub fn skip() -> bool {
    moto().skipped()
}

/// The clients virtualenv's `bin/` (awscli's `aws`, boto3's `python`).
pub fn clients_bin() -> PathBuf {
    moto().dir().join("clients/bin")
}

/// A running moto with signature checking on, and the IAM key the tests
/// sign with; stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The access key id requests must be signed with.
    pub access_key_id: String,
    /// Its secret (a test secret, for moto only).
    pub secret_access_key: String,
    /// The account moto answers for (`123456789012` unless configured).
    pub account: String,
    _server: RunningServer,
}

impl Moto {
    /// Installs (if needed) and starts moto on an ephemeral port, then
    /// makes its IAM key (`bootstrap.py`, run with boto3).
    pub async fn start() -> Self {
        let server = moto().start(&[], "/moto-api/", &["moto.log"]).await;
        let url = server.base_url().to_owned();
        let script = crate::real_server::repo_root().join("scripts/moto/bootstrap.py");
        let python = clients_bin().join("python");
        let endpoint = url.clone();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&python)
                .arg(&script)
                .arg(&endpoint)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        assert!(
            output.status.success(),
            "moto's bootstrap.py failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            server.logs()
        );
        let key: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("bootstrap.py printed no JSON ({e}): {output:?}"));
        let field = |name: &str| {
            key[name]
                .as_str()
                .unwrap_or_else(|| panic!("bootstrap.py printed no {name}: {key}"))
                .to_owned()
        };
        Moto {
            access_key_id: field("access_key_id"),
            secret_access_key: field("secret_access_key"),
            account: field("account"),
            url,
            _server: server,
        }
    }

    /// Runs `scripts/moto/SCRIPT ENDPOINT KEY SECRET ARGS…` with the
    /// clients' python (boto3), signed with this moto's key, and returns
    /// the JSON it prints (what it made); panics with its stderr when it
    /// fails. Blocking: seed before the code under test runs.
    pub fn seed(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let path = crate::real_server::repo_root()
            .join("scripts/moto")
            .join(script);
        let output = Command::new(clients_bin().join("python"))
            .arg(&path)
            .args([&self.url, &self.access_key_id, &self.secret_access_key])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "{script} {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {output:?}"))
    }
}

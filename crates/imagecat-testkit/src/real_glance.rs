//! A real Glance API server for tests (glance from PyPI, served by
//! gunicorn on 127.0.0.1, SQLite and a filesystem store, no Keystone):
//! [`crate::real_server`] runs `scripts/real-glance/install.sh`
//! and `serve.sh` and kills its process group when dropped.

use crate::real_server::{RealServer, RunningServer};

/// The real Glance's scripts and install directory.
pub fn real_glance() -> RealServer {
    RealServer::new("Glance", "real-glance")
}

/// True (and says so) when `IMAGECAT_SKIP_REAL_GLANCE=1`.
pub fn skip() -> bool {
    real_glance().skipped()
}

/// A running real Glance at `url`; stopped when dropped.
#[derive(Debug)]
pub struct RealGlance {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _server: RunningServer,
}

impl RealGlance {
    /// Installs (if needed) and starts a real Glance on an ephemeral port.
    pub async fn start() -> Self {
        let server = real_glance()
            .start(&[], "/versions", &["gunicorn.log", "glance-api.log"])
            .await;
        RealGlance {
            url: server.base_url().to_owned(),
            _server: server,
        }
    }
}

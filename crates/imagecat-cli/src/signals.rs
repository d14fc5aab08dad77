//! SIGINT and SIGTERM during a run that deletes (`apply`, `prune --apply`,
//! `delete ID…`): the handler only cancels the core's [`Cancel`] token and
//! remembers which signal came; the run stops sending DELETEs, records what
//! is in flight, prints its summary and exits 130 (SIGINT) or 143 (SIGTERM).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use imagecat::retention::Cancel;

use crate::exit::ExitCode;

/// The installed handler of one run; dropping it stops listening.
#[derive(Debug)]
pub(crate) struct Signals {
    cancel: Cancel,
    caught: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

const SIGINT: u8 = 1;
const SIGTERM: u8 = 2;

impl Signals {
    /// Listens for SIGINT and SIGTERM from now on (a listener that cannot
    /// be installed is logged; the run then goes on without it).
    pub(crate) fn install() -> Self {
        let cancel = Cancel::new();
        let caught = Arc::new(AtomicU8::new(0));
        let (token, seen) = (cancel.clone(), caught.clone());
        let task = tokio::spawn(async move {
            let which = wait().await;
            seen.store(which, Ordering::SeqCst);
            let name = if which == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!(
                "imagecat: {name}: no further delete is sent; waiting for the ones in flight"
            );
            token.cancel();
        });
        Signals {
            cancel,
            caught,
            task,
        }
    }

    /// The token the run stops on.
    pub(crate) fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The exit code of the signal that came, if one did.
    pub(crate) fn exit_code(&self) -> Option<ExitCode> {
        match self.caught.load(Ordering::SeqCst) {
            SIGINT => Some(ExitCode::Interrupted),
            SIGTERM => Some(ExitCode::Terminated),
            _ => None,
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(unix)]
async fn wait() -> u8 {
    use tokio::signal::unix::{SignalKind, signal};
    let (int, term) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    match (int, term) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => SIGINT,
            _ = term.recv() => SIGTERM,
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "cannot listen for SIGINT/SIGTERM");
            std::future::pending().await
        }
    }
}

#[cfg(not(unix))]
async fn wait() -> u8 {
    match tokio::signal::ctrl_c().await {
        Ok(()) => SIGINT,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending().await
        }
    }
}

//! What every emulator does to a DELETE when a test (or `imagecat emulate
//! --delete-fault`) says so: performed then the answer lost (a dropped
//! connection, or no answer ever), a proxy's bare HTML 404 (not performed),
//! or held until the test releases it. Scripted at run time through
//! [`EmulatorServer::delete_faults`](crate::server::EmulatorServer::delete_faults).

use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::{Notify, watch};

/// One way a DELETE goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteFault {
    /// Performed, then the connection breaks before the answer's body.
    PerformThenDrop,
    /// Performed, and never answered (the connection stays open).
    PerformThenHang,
    /// Not performed: a proxy's `404` with an HTML page for a body.
    Bare404,
    /// Held until [`DeleteFaults::release`], then performed and answered.
    Hold,
}

impl DeleteFault {
    /// Every fault.
    pub const ALL: [DeleteFault; 4] = [
        DeleteFault::PerformThenDrop,
        DeleteFault::PerformThenHang,
        DeleteFault::Bare404,
        DeleteFault::Hold,
    ];

    /// The name used on the command line (`drop`, `hang`, `bare404`, `hold`).
    pub fn name(self) -> &'static str {
        match self {
            DeleteFault::PerformThenDrop => "drop",
            DeleteFault::PerformThenHang => "hang",
            DeleteFault::Bare404 => "bare404",
            DeleteFault::Hold => "hold",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Self> {
        DeleteFault::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The DELETE faults of one emulator: which one applies to every DELETE
/// from now on, and the DELETEs held so far.
#[derive(Debug)]
pub struct DeleteFaults {
    fault: Mutex<Option<DeleteFault>>,
    held: Mutex<usize>,
    arrived: Notify,
    released: watch::Sender<bool>,
}

impl Default for DeleteFaults {
    fn default() -> Self {
        DeleteFaults {
            fault: Mutex::new(None),
            held: Mutex::new(0),
            arrived: Notify::new(),
            released: watch::Sender::new(false),
        }
    }
}

impl DeleteFaults {
    /// Applies `fault` to every DELETE from now on (`None`: none).
    pub fn set(&self, fault: Option<DeleteFault>) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    /// How many DELETEs were held so far.
    pub fn held(&self) -> usize {
        *self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once at least `n` DELETEs were held.
    pub async fn wait_held(&self, n: usize) {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.held() >= n {
                return;
            }
            arrived.await;
        }
    }

    /// Lets every held DELETE (and every later one) go on.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Serves a delete (`is_delete`: a `DELETE`, or what the emulator's
    /// classifier says is one) as the fault says, any other request as it is.
    pub(crate) async fn serve(&self, request: Request, next: Next, is_delete: bool) -> Response {
        let fault = *self.fault.lock().unwrap_or_else(|e| e.into_inner());
        let (Some(fault), true) = (fault, is_delete) else {
            return next.run(request).await;
        };
        tracing::debug!(fault = fault.name(), uri = %request.uri(), "DELETE fault");
        match fault {
            DeleteFault::PerformThenDrop => {
                let _performed = next.run(request).await;
                let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected connection break after the delete",
                ))];
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .header("content-length", "64")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap_or_default()
            }
            DeleteFault::PerformThenHang => {
                let _performed = next.run(request).await;
                std::future::pending().await
            }
            DeleteFault::Bare404 => Response::builder()
                .status(404)
                .header("content-type", "text/html")
                .body(Body::from(
                    "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><hr>nginx</body></html>",
                ))
                .unwrap_or_default(),
            DeleteFault::Hold => {
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                self.arrived.notify_waiters();
                let mut released = self.released.subscribe();
                let _ = released.wait_for(|r| *r).await;
                next.run(request).await
            }
        }
    }
}

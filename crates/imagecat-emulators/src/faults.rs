//! Fault injection shared by every emulator.
//!
//! Whether a request gets a fault is a pure function of the seed, the
//! request line (method, path, query) and how many times that same request
//! line was seen before, so a failure replays with the same seed whatever
//! the interleaving of concurrent requests, and a retried request draws anew.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// HTTP 500 with an HTML body.
    Status500,
    /// HTTP 502 with an HTML body.
    Status502,
    /// HTTP 503 with an empty body.
    Status503,
    /// HTTP 429 with `Retry-After`.
    RateLimited,
    /// The connection breaks before any byte of the body.
    Reset,
    /// Half of the real body, then the connection breaks.
    Truncated,
    /// The real response, after a delay longer than a client's timeout.
    Slow,
    /// HTTP 200 with a JSON body of the wrong shape.
    WrongShape,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Status500,
        FaultKind::Status502,
        FaultKind::Status503,
        FaultKind::RateLimited,
        FaultKind::Reset,
        FaultKind::Truncated,
        FaultKind::Slow,
        FaultKind::WrongShape,
    ];

    /// Every kind but [`FaultKind::Slow`]: with a generous timeout, no
    /// request can then time out by accident.
    pub fn all_but_slow() -> Vec<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(|k| *k != FaultKind::Slow)
            .collect()
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status500 => "500",
            FaultKind::Status502 => "502",
            FaultKind::Status503 => "503",
            FaultKind::RateLimited => "429",
            FaultKind::Reset => "reset",
            FaultKind::Truncated => "truncate",
            FaultKind::Slow => "slow",
            FaultKind::WrongShape => "shape",
        }
    }

    /// Parses a command-line name (`500`, `502`, `503`, `429`, `reset`,
    /// `truncate`, `slow`, `shape`).
    pub fn parse(name: &str) -> Option<Self> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Which faults to inject, how often, and with which seed.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// The probability in `0.0..=1.0` that one request gets a fault.
    pub rate: f64,
    /// The kinds drawn from, uniformly (empty: none).
    pub kinds: Vec<FaultKind>,
    /// The seed.
    pub seed: u64,
    /// How long a `Slow` response waits. Default 10 s.
    pub slow_delay: Duration,
    /// The `Retry-After` seconds of a 429. Default 1.
    pub retry_after_secs: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            rate: 0.0,
            kinds: Vec::new(),
            seed: 0,
            slow_delay: Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Faults of these kinds at this rate, with this seed.
    pub fn new(rate: f64, kinds: &[FaultKind], seed: u64) -> Self {
        FaultPlan {
            rate: rate.clamp(0.0, 1.0),
            kinds: kinds.to_vec(),
            seed,
            ..Self::default()
        }
    }

    /// Sets how long a `Slow` response waits.
    pub fn slow_delay(mut self, delay: Duration) -> Self {
        self.slow_delay = delay;
        self
    }

    /// Sets the `Retry-After` seconds of a 429.
    pub fn retry_after_secs(mut self, secs: u64) -> Self {
        self.retry_after_secs = secs;
        self
    }
}

/// The plan plus what it has seen.
#[derive(Debug)]
pub(crate) struct FaultState {
    plan: FaultPlan,
    seen: Mutex<HashMap<String, u64>>,
    /// The faults injected so far, in order.
    injected: Mutex<Vec<FaultKind>>,
}

impl FaultState {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        FaultState {
            plan,
            seen: Mutex::new(HashMap::new()),
            injected: Mutex::new(Vec::new()),
        }
    }

    /// The faults injected so far, in order.
    pub(crate) fn injected(&self) -> Vec<FaultKind> {
        self.injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The fault for this request, if one is drawn.
    pub(crate) fn pick(&self, request: &Request) -> Option<ActiveFault> {
        if self.plan.rate <= 0.0 || self.plan.kinds.is_empty() {
            return None;
        }
        let line = format!("{} {}", request.method(), request.uri());
        let nth = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(line.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let mut h = DefaultHasher::new();
        (self.plan.seed, &line, nth).hash(&mut h);
        let draw = h.finish();
        let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= self.plan.rate {
            return None;
        }
        let kind = self.plan.kinds[(draw % self.plan.kinds.len() as u64) as usize];
        tracing::debug!(fault = kind.name(), %line, "injecting fault");
        self.injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(kind);
        Some(ActiveFault {
            kind,
            slow_delay: self.plan.slow_delay,
            retry_after_secs: self.plan.retry_after_secs,
        })
    }
}

/// A fault drawn for one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActiveFault {
    kind: FaultKind,
    slow_delay: Duration,
    retry_after_secs: u64,
}

impl ActiveFault {
    pub(crate) async fn respond(self, next: Next, request: Request) -> Response {
        let plain = |status: u16, ctype: &str, body: &'static str| {
            Response::builder()
                .status(status)
                .header("content-type", ctype)
                .body(Body::from(body))
                .unwrap_or_default()
        };
        match self.kind {
            FaultKind::Status500 => plain(500, "text/html", "<h1>Internal Server Error</h1>"),
            FaultKind::Status502 => plain(
                502,
                "text/html",
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            FaultKind::Status503 => plain(503, "text/plain", ""),
            FaultKind::RateLimited => Response::builder()
                .status(429)
                .header("retry-after", self.retry_after_secs.to_string())
                .header("content-type", "text/plain")
                .body(Body::from("Too Many Requests"))
                .unwrap_or_default(),
            FaultKind::WrongShape => plain(
                200,
                "application/json",
                r#"{"unexpected":{"shape":[1,2,3]}}"#,
            ),
            FaultKind::Slow => {
                tokio::time::sleep(self.slow_delay).await;
                next.run(request).await
            }
            FaultKind::Reset => broken(Bytes::new(), 1024),
            FaultKind::Truncated => {
                let response = next.run(request).await;
                let (parts, body) = response.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let full = bytes.len().max(2);
                let mut cut = broken(bytes.slice(..bytes.len() / 2), full);
                *cut.status_mut() = parts.status;
                cut
            }
        }
    }
}

/// A response announcing `announced` bytes that sends `sent` and then breaks.
fn broken(sent: Bytes, announced: usize) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(sent),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection break",
        )),
    ];
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("content-length", announced.to_string())
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap_or_default()
}

/// Faults of an emulator's instance listing (the usage scan's input),
/// shared by every emulator: set them in
/// [`ServeOptions::instance_faults`](crate::server::ServeOptions::instance_faults),
/// with `imagecat emulate --empty-instance-pages/--shift-instances`, or on
/// a running emulator (`instance_faults`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceFaults {
    /// The faults hit only pages that reach past this row (`start + limit
    /// > past_row`): with the page size here, every page but the first.
    pub past_row: u64,
    /// The next this many such pages come back empty (with the listing's
    /// real total, where the backend reports one).
    pub empty_pages: u32,
    /// Before each of the next this many such pages the listing shifts:
    /// the first live instance (in id order, so before the cursor) is
    /// terminated and an instance of the same image and account is
    /// launched with an id that sorts last; the total stays.
    pub shifts: u32,
}

//! Running an emulator: an axum router served on loopback, with a log of
//! every request it received (so tests can assert what reached the wire),
//! optional added latency and fault injection, stopped when dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::delete_faults::DeleteFaults;
use crate::faults::{FaultKind, FaultPlan, FaultState};
use crate::hostile::{self, Hostile};

/// One request as the emulator received it, before any decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The image a delete sent by another method than `DELETE` names, as
    /// the emulator read it from the body (EC2: DeregisterImage's
    /// `ImageId`); `None` for any other request.
    pub deleted_image: Option<String>,
}

impl RecordedRequest {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The image id a `DELETE` names, in any backend's URL shape: TOAST's
    /// `…/images?id=ID`, DCMGR's `…/images/ID.json` or `…/images/ID`, Glance's
    /// `…/v2/images/ID`; for another method, the image of a delete sent
    /// that way ([`deleted_image`](Self::deleted_image), EC2's
    /// DeregisterImage); `None` for any other request.
    pub fn deleted_image_id(&self) -> Option<String> {
        if self.method != "DELETE" {
            return self.deleted_image.clone();
        }
        let in_query = url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.into_owned());
        in_query.or_else(|| {
            let last = self.path.rsplit('/').next()?;
            Some(last.trim_end_matches(".json").to_owned())
        })
    }

    /// The query's `key=value` pairs in order, still percent-encoded
    /// (a pair without `=` has an empty value).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }
}

/// How an emulator is served.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The address to bind; `None` for 127.0.0.1 on an ephemeral port.
    pub listen: Option<SocketAddr>,
    /// Latency added to every response.
    pub latency: Duration,
    /// Faults to inject.
    pub faults: FaultPlan,
    /// The hostile mode: texts full of terminal controls, errors that quote
    /// the request back ([`Hostile`]).
    pub hostile: Option<Hostile>,
    /// Faults of the instance listing ([`InstanceFaults`](crate::faults::InstanceFaults)).
    pub instance_faults: crate::faults::InstanceFaults,
}

impl ServeOptions {
    /// The default options with these faults.
    pub fn with_faults(faults: FaultPlan) -> Self {
        ServeOptions {
            faults,
            ..ServeOptions::default()
        }
    }
}

/// A delete sent by another method than `DELETE`, as a [`DeleteClassifier`]
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtherDelete {
    /// The image it deletes; `None` for a delete of something else (EC2's
    /// DeleteSnapshot).
    pub(crate) image_id: Option<String>,
}

/// Tells a delete of an API that deletes by another method than `DELETE`
/// (EC2's `POST` with `Action=DeregisterImage`) from its method, URI and
/// body, so the DELETE faults apply to it and the request log names it.
pub(crate) type DeleteClassifier =
    fn(&axum::http::Method, &axum::http::Uri, &[u8]) -> Option<OtherDelete>;

/// The largest body a [`DeleteClassifier`] is shown: axum's default body
/// limit, which a handler's extractor would refuse past anyway.
const CLASSIFIED_BODY_LIMIT: usize = 2 << 20;

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    latency: Duration,
    faults: Arc<FaultState>,
    delete_faults: Arc<DeleteFaults>,
    classify: Option<DeleteClassifier>,
}

/// A running emulator; stops when dropped.
#[derive(Debug)]
pub struct EmulatorServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    faults: Arc<FaultState>,
    delete_faults: Arc<DeleteFaults>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl EmulatorServer {
    /// Serves `router` on 127.0.0.1 with an ephemeral port.
    pub async fn start(router: Router) -> std::io::Result<Self> {
        Self::start_with(router, ServeOptions::default()).await
    }

    /// Serves `router` as `options` say.
    pub async fn start_with(router: Router, options: ServeOptions) -> std::io::Result<Self> {
        Self::start_classified(router, options, None).await
    }

    /// As [`start_with`](Self::start_with), with the DELETE faults applied
    /// to the requests `classify` says are deletes (besides `DELETE`s).
    pub(crate) async fn start_classified(
        router: Router,
        options: ServeOptions,
        classify: Option<DeleteClassifier>,
    ) -> std::io::Result<Self> {
        let listen = options
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(FaultState::new(options.faults));
        let delete_faults = Arc::new(DeleteFaults::default());
        let shared = Shared {
            log: Arc::clone(&log),
            latency: options.latency,
            faults: Arc::clone(&faults),
            delete_faults: Arc::clone(&delete_faults),
            classify,
        };
        let router = match options.hostile {
            Some(h) if h.echo_requests => router.layer(middleware::from_fn(hostile::echo_requests)),
            _ => router,
        };
        let app = router.layer(middleware::from_fn_with_state(shared, record_and_disturb));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = served.await {
                tracing::warn!(error = %e, "emulator stopped with an error");
            }
        });
        Ok(EmulatorServer {
            addr,
            log,
            faults,
            delete_faults,
            shutdown: Some(tx),
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The image ids of every `DELETE` received so far
    /// ([`RecordedRequest::deleted_image_id`]).
    pub fn deleted_image_ids(&self) -> std::collections::HashSet<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .filter_map(RecordedRequest::deleted_image_id)
            .collect()
    }

    /// How many requests received so far pass `which`.
    pub fn count_requests(&self, which: impl Fn(&RecordedRequest) -> bool) -> usize {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().filter(|r| which(r)).count()
    }

    /// A counter of received requests that outlives borrows (for fixtures).
    pub fn request_counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let log = Arc::clone(&self.log);
        move || log.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }

    /// The faults injected so far, in the order they were drawn.
    pub fn injected_faults(&self) -> Vec<FaultKind> {
        self.faults.injected()
    }

    /// The DELETE faults of this emulator (performed then the answer lost,
    /// a bare 404, held until released), scriptable while it runs.
    pub fn delete_faults(&self) -> &DeleteFaults {
        &self.delete_faults
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Stops serving and waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

async fn record_and_disturb(
    State(shared): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let (request, other_delete) = classify(shared.classify, request).await;
    let is_delete = request.method() == axum::http::Method::DELETE || other_delete.is_some();
    let recorded = RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        deleted_image: other_delete.and_then(|d| d.image_id),
    };
    shared
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(recorded);
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    match shared.faults.pick(&request) {
        Some(fault) => fault.respond(next, request).await,
        None => shared.delete_faults.serve(request, next, is_delete).await,
    }
}

/// What `classify` says of a request by another method than `DELETE` (the
/// body is read for it and put back).
async fn classify(
    classify: Option<DeleteClassifier>,
    request: Request,
) -> (Request, Option<OtherDelete>) {
    let Some(classify) = classify.filter(|_| request.method() != axum::http::Method::DELETE) else {
        return (request, None);
    };
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, CLASSIFIED_BODY_LIMIT).await {
        Ok(bytes) => {
            let other = classify(&parts.method, &parts.uri, &bytes);
            (Request::from_parts(parts, Body::from(bytes)), other)
        }
        // Too large to be a delete; the handler sees an empty body.
        Err(_) => (Request::from_parts(parts, Body::empty()), None),
    }
}

/// A response with a JSON body and status.
pub fn json_response(status: u16, body: &serde_json::Value) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

/// A response with already-serialised JSON bytes and status.
pub fn json_bytes_response(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// A canned answer an emulator serves before its next real one (tests use
/// them for bodies no real handler would write).
#[cfg(any(feature = "toast", feature = "glance"))]
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

#[cfg(any(feature = "toast", feature = "glance"))]
impl Canned {
    /// The answer as a response.
    pub(crate) fn into_response(self) -> Response {
        Response::builder()
            .status(self.status)
            .header("content-type", self.content_type)
            .body(Body::from(self.body))
            .unwrap_or_default()
    }
}

/// An emulator's base path: empty, or `/…` without a trailing `/`.
#[cfg(any(feature = "toast", feature = "glance"))]
pub(crate) fn normalize_base(path: &str) -> String {
    let base = path.trim_end_matches('/');
    if base.is_empty() || base.starts_with('/') {
        base.to_owned()
    } else {
        format!("/{base}")
    }
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`).
#[cfg(any(feature = "toast", feature = "glance"))]
pub(crate) fn encode_query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

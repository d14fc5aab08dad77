//! One bare answer, one error, on every backend: the same 401, 403, 404,
//! 429 and 500 without an error document (a proxy's or gateway's page) give
//! the same error kind through the facade and the same exit code from the
//! CLI on TOAST, DCMGR and Glance.

use crate::support::imagecat;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use futures::future::join_all;
use imagecat::{Credentials, ErrorKind, ImageId, OpenOptions, SecretString};
use imagecat_emulators::server::EmulatorServer;
use imagecat_testkit::listing::test_http;

const TOKEN: &str = "e2e-token";
const UUID: &str = "7b3e1c2a-0f4d-4e5a-9b6c-8d7e6f5a4b3c";

/// One backend under test: its name, its catalog URL for a server, the id
/// to show, and the environment that carries the token.
#[derive(Debug, Clone)]
struct Backend {
    name: &'static str,
    url: String,
    id: &'static str,
    envs: Vec<(&'static str, &'static str)>,
}

/// The three backends, pointed at `base`.
fn backends(base: &str) -> [Backend; 3] {
    let host = base.trim_start_matches("http://");
    [
        Backend {
            name: "toast",
            url: format!("toast+http://{host}?appkey=e2e"),
            id: UUID,
            envs: vec![("IMAGECAT_TOAST_TOKEN", TOKEN)],
        },
        Backend {
            name: "dcmgr",
            url: format!("dcmgr+http://{host}?account=a-shpoolxx"),
            id: "wmi-centos1d64",
            envs: vec![],
        },
        Backend {
            name: "glance",
            url: format!("glance+http://{host}"),
            id: UUID,
            envs: vec![("OS_TOKEN", TOKEN)],
        },
    ]
}

/// What one case gave.
#[derive(Debug)]
struct Outcome {
    status: u16,
    backend: &'static str,
    kind: ErrorKind,
    shown: String,
    code: i32,
    stderr: String,
}

/// A server that answers every request with `status`, a proxy's HTML page
/// and, for 429, `Retry-After: 0`.
async fn bare(status: u16) -> EmulatorServer {
    let router = Router::new().fallback(any(move || async move {
        let status = StatusCode::from_u16(status).unwrap();
        let page = format!("<html><body><h1>{status}</h1>proxy</body></html>");
        (
            status,
            [("content-type", "text/html"), ("retry-after", "0")],
            page,
        )
            .into_response()
    }));
    EmulatorServer::start(router)
        .await
        .expect("the server starts")
}

/// `(status, kind, exit code)`: the one mapping every backend shares.
const TABLE: [(u16, ErrorKind, i32); 5] = [
    (401, ErrorKind::Unauthenticated, 4),
    (403, ErrorKind::PermissionDenied, 4),
    (404, ErrorKind::NotFound, 3),
    (429, ErrorKind::RateLimited, 1),
    (500, ErrorKind::InvalidResponse, 1),
];

/// One case: the kind from the facade's `get` and the CLI's exit code for
/// `show`, on one backend.
async fn case(status: u16, backend: usize) -> Outcome {
    let server = bare(status).await;
    let Backend {
        name,
        url,
        id,
        envs,
    } = backends(&server.base_url())[backend].clone();
    let options = OpenOptions::new()
        .credentials(Credentials::token(SecretString::new(TOKEN)))
        .http(test_http(2).allow_http(true));
    let catalog = imagecat::open_with(&url, &options).expect("the catalog opens");
    let e = catalog.get(&ImageId::new(id)).await.unwrap_err();
    let run = imagecat(&["-c", &url, "show", id], &envs).await;
    assert!(
        server.request_count() > 0,
        "{name} {status}: nothing was sent"
    );
    Outcome {
        status,
        backend: name,
        kind: e.kind(),
        shown: e.to_string(),
        code: run.code,
        stderr: run.stderr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_statuses_give_the_same_kind_and_exit_code_on_every_backend() {
    let cases = TABLE
        .iter()
        .flat_map(|&(status, _, _)| (0..3).map(move |backend| case(status, backend)));
    let results = join_all(cases).await;
    assert_eq!(results.len(), TABLE.len() * 3);
    for o in results {
        let (name, status) = (o.backend, o.status);
        let (_, want_kind, want_code) = TABLE.iter().find(|(s, _, _)| *s == status).unwrap();
        assert_eq!(o.kind, *want_kind, "{name} {status}: {}", o.shown);
        assert_eq!(o.code, *want_code, "{name} {status}: {}", o.stderr);
        assert!(o.shown.starts_with(&format!("{name}: ")), "{}", o.shown);
        assert!(o.shown.contains(&format!("HTTP {status}")), "{}", o.shown);
        assert!(o.stderr.contains(name), "{name} {status}: {}", o.stderr);
    }
}

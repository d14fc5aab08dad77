//! HttpClient against small loopback servers: retries, Retry-After, body
//! cap, timeouts, delete safety and redirects. Outcomes are asserted (what
//! the server saw, what came back), never durations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use imagecat_core::{BackendKind, ErrorKind};
use imagecat_http::{HttpClient, HttpOptions, Idempotency, RetryPolicy};

type Script = Arc<dyn Fn(usize) -> Response + Send + Sync>;

#[derive(Clone)]
struct Served {
    hits: Arc<AtomicUsize>,
    script: Script,
}

/// Serves `script(n)` for the n-th request (0-based); returns the base URL
/// and the hit counter.
async fn serve(
    script: impl Fn(usize) -> Response + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let state = Served {
        hits: Arc::clone(&hits),
        script: Arc::new(script),
    };
    async fn handle(State(s): State<Served>) -> Response {
        let n = s.hits.fetch_add(1, Ordering::SeqCst);
        (s.script)(n)
    }
    let app = Router::new().fallback(any(handle)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

fn fast_retries(attempts: u32) -> HttpOptions {
    HttpOptions::default().allow_http(true).retry(
        RetryPolicy::default()
            .max_attempts(attempts)
            .backoff(Duration::from_millis(1), Duration::from_millis(5))
            .max_retry_after(Duration::from_millis(20)),
    )
}

fn client(options: HttpOptions) -> HttpClient {
    HttpClient::new(BackendKind::Memory, options).unwrap()
}

async fn get_text(
    client: &HttpClient,
    url: &str,
    idem: Idempotency,
) -> imagecat_core::Result<(u16, String, u32)> {
    client
        .send(
            "test",
            idem,
            |c| c.get(url),
            |r| {
                if r.status.is_server_error() {
                    return Err(r.status_error(None, r.snippet()));
                }
                Ok((
                    r.status.as_u16(),
                    String::from_utf8_lossy(&r.body).into_owned(),
                    r.attempt,
                ))
            },
        )
        .await
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (url, hits) = serve(|n| {
        if n < 2 {
            (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
        } else {
            (StatusCode::OK, "fine").into_response()
        }
    })
    .await;
    let (status, body, attempt) = get_text(&client(fast_retries(5)), &url, Idempotency::Idempotent)
        .await
        .unwrap();
    assert_eq!((status, body.as_str(), attempt), (200, "fine", 3));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retry_after_is_honoured_and_clamped() {
    let (url, hits) = serve(|n| {
        if n == 0 {
            Response::builder()
                .status(429)
                .header("retry-after", "3600")
                .body(Body::from("slow down"))
                .unwrap()
        } else {
            (StatusCode::OK, "ok").into_response()
        }
    })
    .await;
    let c = client(fast_retries(3));
    let got = c
        .send(
            "test",
            Idempotency::Idempotent,
            |c| c.get(&url),
            |r| {
                if r.status.as_u16() == 429 {
                    let e = r.status_error(None, "rate".into());
                    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
                    return Err(e);
                }
                Ok(r.attempt)
            },
        )
        .await
        .unwrap();
    // The hour was clamped to the policy's maximum, so the retry happened.
    assert_eq!(got, 2);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// A rate limit that outlasts the retries reports the clamped wait, not
/// the server's number (a hostile `Retry-After` is no message to relay).
#[tokio::test]
async fn a_final_rate_limit_says_its_wait_was_clamped() {
    let (url, hits) = serve(|_| {
        Response::builder()
            .status(429)
            .header("retry-after", "999999")
            .body(Body::from("slow down"))
            .unwrap()
    })
    .await;
    let c = client(fast_retries(2));
    let e = c
        .send(
            "test",
            Idempotency::Idempotent,
            |c| c.get(&url),
            |r| Err::<(), _>(r.undocumented_error()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_millis(20)));
    let shown = e.to_string();
    assert!(
        shown.contains("asked to wait 999999 s, clamped to 0.02 s"),
        "{shown}"
    );
    assert!(!shown.contains("retry after 999999"), "{shown}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_over_the_cap_is_an_error_and_not_retried() {
    let (url, hits) = serve(|_| (StatusCode::OK, vec![b'x'; 300_000]).into_response()).await;
    let c = client(fast_retries(4).max_body_bytes(100_000));
    let e = get_text(&c, &url, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert!(
        e.to_string().contains("exceeds the cap of 100000 bytes"),
        "{e}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_streamed_body_over_the_cap_is_cut_off() {
    let (url, _) = serve(|_| {
        let chunks = (0..50).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 10_000]));
        Response::new(Body::from_stream(futures::stream::iter(chunks)))
    })
    .await;
    let c = client(fast_retries(1).max_body_bytes(100_000));
    let e = get_text(&c, &url, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("exceeds the cap"), "{e}");
}

#[tokio::test]
async fn a_hopeless_slow_server_ends_with_attempts_and_time() {
    let (url, hits) = serve(|_| {
        Response::new(Body::from_stream(futures::stream::once(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, std::io::Error>("late")
        })))
    })
    .await;
    let c = client(fast_retries(3).request_timeout(Duration::from_millis(100)));
    let e = get_text(&c, &url, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let text = e.to_string();
    assert!(text.contains("gave up after 3 attempts in"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_delete_that_reached_the_server_is_not_retried() {
    let (url, hits) =
        serve(|_| (StatusCode::BAD_GATEWAY, "<h1>bad gateway</h1>").into_response()).await;
    let c = client(fast_retries(5));
    let e = c
        .send(
            "delete",
            Idempotency::NotIdempotent,
            |c| c.delete(&url),
            |r| Err::<(), _>(r.status_error(None, r.snippet())),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_delete_that_never_connected_is_retried() {
    // Bind and drop, so nothing listens on the port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    let c = client(fast_retries(3));
    let e = c
        .send(
            "delete",
            Idempotency::NotIdempotent,
            |c| c.delete(&url),
            |_| Ok(()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.to_string().contains("gave up after 3 attempts"), "{e}");
    // The connection error is kept as the source, without the URL.
    let source = std::error::Error::source(&e).expect("the reqwest error is kept");
    let reqwest = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest error");
    assert!(reqwest.is_connect(), "{reqwest:?}");
    assert!(reqwest.url().is_none(), "{reqwest:?}");
    assert!(!format!("{e:?}").contains(&url), "{e:?}");
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    let (other, other_hits) = serve(|_| (StatusCode::OK, "stolen").into_response()).await;
    let elsewhere = other.replace("127.0.0.1", "localhost");
    let (url, _) = serve(move |_| {
        Response::builder()
            .status(302)
            .header("location", format!("{elsewhere}/steal"))
            .body(Body::empty())
            .unwrap()
    })
    .await;
    let c = client(fast_retries(1));
    let (status, _, _) = get_text(&c, &url, Idempotency::Idempotent).await.unwrap();
    assert_eq!(status, 302);
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn https_is_required_unless_allowed() {
    let (url, hits) = serve(|_| (StatusCode::OK, "plain").into_response()).await;
    let c = HttpClient::new(
        BackendKind::Memory,
        HttpOptions::default().retry(RetryPolicy::none()),
    )
    .unwrap();
    let e = get_text(&c, &url, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 0, "{e}");
}

//! Helpers for reliability tests of any backend: a whole listing under a
//! hang guard, client options that fail fast, and a fault plan of every kind.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use imagecat_core::{Error, ImageCatalog, ImageId, ListQuery};
use imagecat_http::{HttpOptions, RetryPolicy};

use imagecat_emulators::faults::{FaultKind, FaultPlan};
use imagecat_emulators::server::EmulatorServer;

/// A whole listing under a guard (a hang fails the test): the ids yielded,
/// and the error that ended it, if any; asserts the stream ends after an error.
pub async fn listing(catalog: &dyn ImageCatalog, query: ListQuery) -> (Vec<String>, Option<Error>) {
    let run = async {
        let mut stream = catalog.list(query);
        let mut ids = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(image) => ids.push(image.id.to_string()),
                Err(e) => {
                    assert!(
                        stream.next().await.is_none(),
                        "the stream ends after an error"
                    );
                    return (ids, Some(e));
                }
            }
        }
        (ids, None)
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the listing never hangs")
}

/// The ids a listing streams, in order, or the error that ended it.
pub async fn listed_ids(
    catalog: &dyn ImageCatalog,
    query: ListQuery,
) -> Result<Vec<ImageId>, Error> {
    catalog.list(query).map_ok(|i| i.id).try_collect().await
}

/// The client options every test starts from, written once: `attempts`
/// attempts in all (1: no retry) with 1–5 ms of backoff and `Retry-After`
/// clamped to 5 ms, the default timeouts (chain `request_timeout` for
/// others).
pub fn test_http(attempts: u32) -> HttpOptions {
    HttpOptions::default().retry(
        RetryPolicy::default()
            .max_attempts(attempts)
            .backoff(Duration::from_millis(1), Duration::from_millis(5))
            .max_retry_after(Duration::from_millis(5)),
    )
}

/// [`test_http`] with 300 ms per attempt and 30 s per operation, for
/// tests of slow and faulty servers.
pub fn fast_http(attempts: u32) -> HttpOptions {
    test_http(attempts)
        .request_timeout(Duration::from_millis(300))
        .total_timeout(Duration::from_secs(30))
}

/// Faults of every kind at `rate`, slow ones 3 s (ten times [`fast_http`]'s timeout).
pub fn every_fault(rate: f64, seed: u64) -> FaultPlan {
    FaultPlan::new(rate, &FaultKind::ALL, seed)
        .slow_delay(Duration::from_secs(3))
        .retry_after_secs(1)
}

/// Asserts that a faulty emulator served exactly `clean_pages` plus one
/// request per injected fault (every fault cost one retry, nothing else
/// did), and that every fault kind was injected at least once.
pub fn assert_each_fault_cost_one_request(faulty: &EmulatorServer, clean_pages: usize, what: &str) {
    let injected = faulty.injected_faults();
    assert_eq!(
        faulty.request_count(),
        clean_pages + injected.len(),
        "{what}: every fault cost one more request, and nothing else did"
    );
    let kinds: std::collections::HashSet<FaultKind> = injected.iter().copied().collect();
    assert_eq!(
        kinds.len(),
        FaultKind::ALL.len(),
        "{what}: every kind: {kinds:?}"
    );
}

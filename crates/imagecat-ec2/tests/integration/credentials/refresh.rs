//! Refresh before expiry: the catalog's `RefreshingProvider` (the shared
//! token machinery) asks the provider again only when the credentials
//! are within the margin of their expiry, once however many ask.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, Utc};
use imagecat_core::Result;
use imagecat_ec2::credentials::{
    CredentialProvider, Credentials, RENEW_MARGIN, RefreshingProvider,
};
use imagecat_http::{HttpClient, HttpOptions, SecretString};

/// A provider counting its fetches; its credentials live `lifetime`.
#[derive(Debug)]
struct Counting {
    fetches: AtomicU32,
    lifetime: Option<Duration>,
}

#[async_trait::async_trait]
impl CredentialProvider for Counting {
    async fn credentials(&self) -> Result<Credentials> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        // Let other tasks run in between, so concurrent askers overlap.
        tokio::task::yield_now().await;
        Ok(Credentials::new(
            format!("AKIDFETCH{n}"),
            SecretString::new("s3cr3t-refresh"),
            None,
            self.lifetime.map(|l| Utc::now() + l),
        ))
    }
}

fn wrapped(lifetime: Option<Duration>) -> (Arc<Counting>, RefreshingProvider) {
    let counting = Arc::new(Counting {
        fetches: AtomicU32::new(0),
        lifetime,
    });
    let http = HttpClient::new(imagecat_ec2::BACKEND, HttpOptions::default()).unwrap();
    let provider = RefreshingProvider::new(Arc::clone(&counting) as _, http).unwrap();
    (counting, provider)
}

#[tokio::test]
async fn fresh_credentials_are_reused_expiring_ones_fetched_again() {
    // The margin is five minutes (botocore's advisory refresh is earlier,
    // STS's shortest session is fifteen).
    assert_eq!(RENEW_MARGIN, std::time::Duration::from_secs(300));
    // An hour left: fetched once for three uses.
    let (counting, provider) = wrapped(Some(Duration::hours(1)));
    for _ in 0..3 {
        assert_eq!(
            provider.credentials().await.unwrap().access_key_id(),
            "AKIDFETCH1"
        );
    }
    assert_eq!(counting.fetches.load(Ordering::SeqCst), 1);
    // Six minutes left, outside the margin: still reused.
    let (counting, provider) = wrapped(Some(Duration::minutes(6)));
    for _ in 0..3 {
        provider.credentials().await.unwrap();
    }
    assert_eq!(counting.fetches.load(Ordering::SeqCst), 1);
    // Four minutes left, inside the margin: every use fetches again, and
    // gets the new ones.
    let (counting, provider) = wrapped(Some(Duration::minutes(4)));
    for n in 1..=3 {
        assert_eq!(
            provider.credentials().await.unwrap().access_key_id(),
            format!("AKIDFETCH{n}")
        );
    }
    assert_eq!(counting.fetches.load(Ordering::SeqCst), 3);
    // No expiry (static keys): fetched once.
    let (counting, provider) = wrapped(None);
    for _ in 0..3 {
        provider.credentials().await.unwrap();
    }
    assert_eq!(counting.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_askers_share_one_fetch() {
    let (counting, provider) = wrapped(Some(Duration::hours(1)));
    let provider = Arc::new(provider);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let provider = Arc::clone(&provider);
            tokio::spawn(async move { provider.credentials().await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().access_key_id(), "AKIDFETCH1");
    }
    assert_eq!(counting.fetches.load(Ordering::SeqCst), 1);
    let shown = format!("{provider:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

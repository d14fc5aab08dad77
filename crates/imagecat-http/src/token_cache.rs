//! A cache of one token, renewed proactively and single flight.
//!
//! Shared by every adapter that exchanges credentials for tokens (TOAST's
//! token API, Keystone for Glance): it knows nothing of either, only that a
//! token has a time after which it should be replaced, and that fetching one
//! is an async operation that at most one task runs at a time.

use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use imagecat_core::Result;

/// A token that knows when it should be replaced.
pub(crate) trait Renewable {
    /// When to stop using it; `None` for "until the server refuses it".
    fn renew_at(&self) -> Option<DateTime<Utc>>;

    /// Whether it can still be used at `now`.
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.renew_at().is_none_or(|at| now < at)
    }
}

/// The cached token, and the lock held while one is fetched.
pub(crate) struct TokenCache<T> {
    cached: Mutex<Option<Arc<T>>>,
    fetching: tokio::sync::Mutex<()>,
}

impl<T> std::fmt::Debug for TokenCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self
            .cached
            .lock()
            .map(|c| c.is_some())
            .unwrap_or_else(|e| e.into_inner().is_some());
        f.debug_struct("TokenCache")
            .field("token", &held.then_some("[redacted]"))
            .finish()
    }
}

impl<T: Renewable> TokenCache<T> {
    /// A cache holding `initial` (a static token), or nothing.
    pub(crate) fn new(initial: Option<T>) -> Self {
        TokenCache {
            cached: Mutex::new(initial.map(Arc::new)),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The token held now, fresh or not.
    pub(crate) fn peek(&self) -> Option<Arc<T>> {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn store(&self, token: Arc<T>) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    /// The token to send: the cached one while fresh (or when it cannot be
    /// renewed), otherwise one fetched by `fetch`, once however many tasks
    /// ask at the same moment.
    pub(crate) async fn current<F, Fut>(&self, can_fetch: bool, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let seen = self.peek();
        if let Some(token) = &seen {
            if token.fresh(Utc::now()) || !can_fetch {
                return Ok(Arc::clone(token));
            }
        }
        let _flight = self.fetching.lock().await;
        if let Some(token) = self.peek() {
            let replaced = seen.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &token));
            // Another task fetched while this one waited: use its token even
            // if it is already within the margin (no second fetch).
            if replaced || token.fresh(Utc::now()) || !can_fetch {
                return Ok(token);
            }
        }
        let token = Arc::new(fetch().await?);
        self.store(Arc::clone(&token));
        Ok(token)
    }

    /// A replacement for `refused`: fetched by `fetch`, unless another task
    /// already replaced the same refused token (then that one is returned).
    pub(crate) async fn renew<F, Fut>(&self, refused: &Arc<T>, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let _flight = self.fetching.lock().await;
        if let Some(token) = self.peek() {
            if !Arc::ptr_eq(&token, refused) {
                return Ok(token);
            }
        }
        let token = Arc::new(fetch().await?);
        self.store(Arc::clone(&token));
        Ok(token)
    }
}

/// Sends a request with `token`; when the server refuses it
/// (`Unauthenticated`), asks `renew` once for a replacement (`None`: it
/// cannot be renewed) and sends again. A second refusal stays
/// `Unauthenticated` and says so. This is the re-authentication rule of
/// every token-based adapter.
pub(crate) async fn send_reauthenticating<K, T, S, SF, R, RF>(
    token: Arc<K>,
    send: S,
    renew: R,
) -> Result<T>
where
    S: Fn(Arc<K>) -> SF,
    SF: Future<Output = Result<T>>,
    R: FnOnce(Arc<K>) -> RF,
    RF: Future<Output = Result<Option<Arc<K>>>>,
{
    let refused = match send(Arc::clone(&token)).await {
        Err(e) if e.kind() == imagecat_core::ErrorKind::Unauthenticated => e,
        other => return other,
    };
    tracing::debug!(error = %refused, "token refused; obtaining a new one");
    let Some(renewed) = renew(token).await? else {
        return Err(refused);
    };
    match send(renewed).await {
        Err(e) if e.kind() == imagecat_core::ErrorKind::Unauthenticated => {
            Err(e.map_message(|m| format!("{m} (refused again after re-authentication)")))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct T(Option<DateTime<Utc>>, u32);

    impl Renewable for T {
        fn renew_at(&self) -> Option<DateTime<Utc>> {
            self.0
        }
    }

    fn refused() -> imagecat_core::Error {
        imagecat_core::Error::new(
            imagecat_core::ErrorKind::Unauthenticated,
            "Permission denied",
        )
        .with_backend(imagecat_core::BackendKind::Toast)
        .with_code("-3".to_owned())
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_and_a_second_refusal_says_so() {
        let sent = AtomicU32::new(0);
        // Refused with token 0, accepted with token 1.
        let ok = send_reauthenticating(
            Arc::new(T(None, 0)),
            |t: Arc<T>| {
                sent.fetch_add(1, Ordering::SeqCst);
                async move { if t.1 == 0 { Err(refused()) } else { Ok(t.1) } }
            },
            |_| async { Ok(Some(Arc::new(T(None, 1)))) },
        )
        .await
        .unwrap();
        assert_eq!((ok, sent.load(Ordering::SeqCst)), (1, 2));
        // Refused twice: one renewal, then an error that says so.
        let e = send_reauthenticating(
            Arc::new(T(None, 0)),
            |_: Arc<T>| async { Err::<u32, _>(refused()) },
            |_| async { Ok(Some(Arc::new(T(None, 1)))) },
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("refused again after re-authentication"),
            "{e}"
        );
        // Nothing to renew with: the first refusal as it was.
        let e = send_reauthenticating(
            Arc::new(T(None, 0)),
            |_: Arc<T>| async { Err::<u32, _>(refused()) },
            |_| async { Ok(None) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), refused().to_string());
    }

    #[tokio::test]
    async fn fresh_tokens_are_reused_stale_ones_refetched_once() {
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(T(Some(Utc::now() + chrono::Duration::hours(1)), n))
        };
        let cache = TokenCache::new(None);
        let a = cache.current(true, fetch).await.unwrap();
        let b = cache.current(true, fetch).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // A stale token (renew time passed) is replaced.
        let stale = TokenCache::new(Some(T(Some(Utc::now() - chrono::Duration::seconds(1)), 0)));
        let c = stale.current(true, fetch).await.unwrap();
        assert_eq!(c.1, 2);
        // Without a way to fetch, the stale token is still used.
        let stale = TokenCache::new(Some(T(Some(Utc::now() - chrono::Duration::seconds(1)), 0)));
        assert_eq!(stale.current(false, fetch).await.unwrap().1, 0);
        // Two renewals of the same refused token fetch once.
        let r1 = cache.renew(&a, fetch).await.unwrap();
        let r2 = cache.renew(&a, fetch).await.unwrap();
        assert!(Arc::ptr_eq(&r1, &r2));
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}

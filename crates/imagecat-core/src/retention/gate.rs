//! The shared rate-limit gate of concurrent deletes (`apply`, the CLI's
//! `delete ID…`): a 429 seen by one worker pauses every worker until the
//! server's `Retry-After` (or the backoff) has passed.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::execute::ApplyOptions;
use crate::error::{ErrorKind, Result};

/// The gate every worker of one run goes through: rate-limited answers
/// are retried (up to `attempts`), and the pause holds back all workers.
#[derive(Debug)]
pub struct RateGate {
    until: Mutex<Option<Instant>>,
    attempts: u32,
    backoff: Duration,
}

impl RateGate {
    /// A gate with the options' attempts and backoff.
    pub fn new(options: &ApplyOptions) -> Self {
        RateGate {
            until: Mutex::new(None),
            attempts: options.attempts,
            backoff: options.backoff,
        }
    }

    async fn wait(&self) {
        loop {
            let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => return,
            }
        }
    }

    fn pause(&self, pause: Duration) {
        let at = Instant::now() + pause;
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_none_or(|u| u < at) {
            *until = Some(at);
        }
    }

    /// Runs one request through the gate: waits out any pause, retries a
    /// rate-limited answer after pausing every worker.
    pub async fn call<T, F, Fut>(&self, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            self.wait().await;
            match request().await {
                Err(e) if e.kind() == ErrorKind::RateLimited && attempt + 1 < self.attempts => {
                    let pause = e
                        .retry_after()
                        .unwrap_or(self.backoff * 2u32.saturating_pow(attempt));
                    tracing::info!(?pause, "rate limited: every delete worker waits");
                    self.pause(pause);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::Error;
    use crate::model::BackendKind;

    fn limited() -> Error {
        Error::new(ErrorKind::RateLimited, "slow down")
            .with_backend(BackendKind::Memory)
            .with_retry_after(Duration::from_secs(3))
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_to_one_worker_holds_back_the_other_until_retry_after() {
        let gate = RateGate::new(&ApplyOptions::default());
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        // Worker A is rate-limited on its first request; worker B starts
        // its request just after and must wait out A's three seconds.
        let a = gate.call(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(limited()),
                _ => Ok(Instant::now()),
            }
        });
        let b = async {
            tokio::task::yield_now().await;
            gate.call(|| async { Ok::<_, Error>(Instant::now()) }).await
        };
        let (a, b) = tokio::join!(a, b);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "A's request was retried");
        assert!(a.unwrap() >= start + Duration::from_secs(3));
        assert!(
            b.unwrap() >= start + Duration::from_secs(3),
            "B went out during A's pause"
        );
    }
}

//! Catalog churn shared by the emulators: images created and deleted while
//! a listing runs, deterministically from a seed.
//!
//! After answering each list request, an emulator with a [`Churn`] creates
//! `inserts` images (the newest of the catalog, so listed first, as a real
//! server orders them) and deletes `deletes` images drawn at random among
//! the existing ones. The draws depend only on the seed and on how many
//! list requests were answered before, so a sequential client sees the
//! same changes on every run. What changed is kept in a [`ChurnLog`], so
//! tests can tell which images existed for the whole listing.

use std::collections::HashSet;

use crate::seed::{GOLDEN, finalize};

/// Images created and deleted after every list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Churn {
    /// The seed of the draws (which images are deleted, the new ids).
    pub seed: u64,
    /// Images created after each list request. Default: the per-request count.
    pub inserts: usize,
    /// Existing images deleted after each list request. Default: the
    /// per-request count.
    pub deletes: usize,
}

impl Churn {
    /// `per_request` images created and as many deleted after each list
    /// request, drawn from `seed`.
    pub fn new(per_request: usize, seed: u64) -> Self {
        Churn {
            seed,
            inserts: per_request,
            deletes: per_request,
        }
    }

    /// Sets the images created after each list request.
    pub fn inserts(mut self, n: usize) -> Self {
        self.inserts = n;
        self
    }

    /// Sets the images deleted after each list request.
    pub fn deletes(mut self, n: usize) -> Self {
        self.deletes = n;
        self
    }
}

/// What one churn step changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChurnStep {
    /// The ids created, newest last.
    pub inserted: Vec<String>,
    /// The ids deleted.
    pub deleted: Vec<String>,
}

/// What churn changed so far: one step per list request, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChurnLog {
    /// The steps, in order (step `n` followed the `n`-th list request).
    pub steps: Vec<ChurnStep>,
}

impl ChurnLog {
    /// Every id created, in order.
    pub fn inserted(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.inserted.iter().cloned())
            .collect()
    }

    /// Every id deleted, in order.
    pub fn deleted(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.deleted.iter().cloned())
            .collect()
    }

    /// The ids of `before` (a listing taken before the churn) that churn did
    /// not delete: the images that existed for the whole run.
    pub fn survivors(&self, before: &[String]) -> Vec<String> {
        let deleted: HashSet<&str> = self
            .steps
            .iter()
            .flat_map(|s| s.deleted.iter().map(String::as_str))
            .collect();
        before
            .iter()
            .filter(|id| !deleted.contains(id.as_str()))
            .cloned()
            .collect()
    }
}

/// The draws of one churn step: a splitmix64 stream keyed by the seed and
/// the step number.
#[derive(Debug)]
pub(crate) struct Draws {
    state: u64,
}

impl Draws {
    pub(crate) fn new(seed: u64, step: u64) -> Self {
        Draws {
            state: finalize(seed ^ finalize(step.wrapping_add(0x6368_7572_6e00))),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        finalize(self.state)
    }

    /// A draw in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_seed_and_step_only() {
        let take = |seed, step| {
            let mut d = Draws::new(seed, step);
            (0..8).map(|_| d.below(100)).collect::<Vec<_>>()
        };
        assert_eq!(take(1, 2), take(1, 2));
        assert_ne!(take(1, 2), take(1, 3));
        assert_ne!(take(1, 2), take(2, 2));
        assert!(take(7, 7).iter().all(|&v| v < 100));
    }

    #[test]
    fn survivors_are_the_ids_never_deleted() {
        let log = ChurnLog {
            steps: vec![
                ChurnStep {
                    inserted: vec!["n".into()],
                    deleted: vec!["b".into()],
                },
                ChurnStep {
                    inserted: Vec::new(),
                    deleted: vec!["n".into()],
                },
            ],
        };
        let before: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(log.survivors(&before), ["a", "c"]);
        assert_eq!(log.inserted(), ["n"]);
        assert_eq!(log.deleted(), ["b", "n"]);
    }
}

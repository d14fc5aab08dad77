//! [`IdSet`]: the ids a listing has yielded, for de-duplication.

use std::collections::HashSet;

/// The ids a listing has yielded, as 64-bit keyed hashes: a sorted vector
/// (8 bytes an id) plus a bounded hash set of recent ones, merged into the
/// vector in batches. Memory grows by 8 bytes per image, without a hash
/// table's slack or its doubling on resize.
pub(super) struct IdSet {
    sorted: Vec<u64>,
    recent: HashSet<u64>,
    merge_at: usize,
}

impl IdSet {
    /// Recent ids kept in the hash set before a merge.
    pub(super) const MERGE_AT: usize = 1 << 15;

    /// An empty set that merges its recent ids every `merge_at` inserts.
    pub(super) fn new(merge_at: usize) -> Self {
        IdSet {
            sorted: Vec::new(),
            recent: HashSet::new(),
            merge_at: merge_at.max(1),
        }
    }

    /// Adds a hash; false when it was there already.
    pub(super) fn insert(&mut self, hash: u64) -> bool {
        if self.sorted.binary_search(&hash).is_ok() || !self.recent.insert(hash) {
            return false;
        }
        if self.recent.len() >= self.merge_at {
            self.merge();
        }
        true
    }

    /// Moves the recent hashes into the sorted vector, merging from the back
    /// in place (no second copy of the vector).
    fn merge(&mut self) {
        let mut batch: Vec<u64> = self.recent.drain().collect();
        batch.sort_unstable();
        let old = self.sorted.len();
        self.sorted.reserve_exact(batch.len());
        self.sorted.resize(old + batch.len(), 0);
        let (mut i, mut j) = (old, batch.len());
        for k in (0..old + batch.len()).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && self.sorted[i - 1] > batch[j - 1] {
                self.sorted[k] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[k] = batch[j - 1];
                j -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_set_remembers_every_id_across_merges() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut set = IdSet::new(8);
        let mut reference = HashSet::new();
        for _ in 0..5_000 {
            // Small values, so that most later draws are repeats.
            let hash = rng.random_range(0..3_000u64);
            assert_eq!(set.insert(hash), reference.insert(hash), "{hash}");
        }
        assert!(set.sorted.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(set.sorted.len() + set.recent.len(), reference.len());
    }
}

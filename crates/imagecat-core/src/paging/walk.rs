//! [`WalkCheck`]: whether one walk of an instance listing can prove it saw
//! every instance that existed during the whole walk.
//!
//! Written once for every backend's instance listing; adapters only report
//! what their pages say (the items, the next token, a total). The checks:
//!
//! - **Overlapping offset reads.** Every offset page after the first is
//!   read from `overlap` rows before its offset (the pager strips them
//!   again before the engine sees the page). An offset listing is a
//!   contiguous slice of a stably ordered list, so when the page holds any
//!   instance of the page before it, the two pages cover one contiguous
//!   stretch of that order, whatever was launched or terminated in between
//!   and in whichever order they were fetched: no instance that lived
//!   through both reads can fall between them. Only the overlap rows count
//!   as the anchor (a row the server repeats out of place elsewhere in the
//!   page proves nothing). A page whose overlap rows hold none (a
//!   shift by at least `overlap` rows, an empty page short of the total) is
//!   a contradiction.
//! - **Each page against itself.** A page's rows are distinct and lie
//!   within the total it reports (a snapshot cannot hold a row past its own
//!   end); a page that repeats an instance or overruns its total is a lie
//!   about where its rows are.
//! - **The end.** An offset walk whose last page ends short of that page's
//!   own total ended early (an empty or short page while the total says
//!   more remain).
//! - **Count reconciliation.** When every page reported the same total,
//!   the walk must have seen at least that many distinct instances.
//!
//! Marker and next-link listings are keyset listings: the page after a
//! marker holds what comes after it in the server's order, so a launch or
//! a termination moves nothing across the cursor (a vanished marker is the
//! engine's stale-marker rule). Only the count is reconciled there.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::catalog::PageToken;

/// One offset page as read.
#[derive(Debug)]
struct OffsetRead {
    /// Where the server was asked to start (the offset minus the overlap).
    from: u64,
    /// Every id the server returned, overlap included.
    ids: Vec<String>,
    /// How many leading rows were overlap.
    overlap: u64,
    /// The next token the server returned.
    next: Option<PageToken>,
    /// The total the page reported.
    total: Option<u64>,
}

/// What a walk recorded.
#[derive(Debug, Default)]
struct Walk {
    /// Offset pages by the offset the engine asked for.
    offset_pages: BTreeMap<u64, OffsetRead>,
    /// Every total any page reported, in arrival order (`None`: no total).
    totals: Vec<Option<u64>>,
    /// Every distinct instance id any page returned.
    distinct: HashSet<String>,
}

/// The record of one walk, filled by the instance pager and judged when
/// the walk ends ([`verdict`](Self::verdict)).
#[derive(Debug, Default)]
pub(crate) struct WalkCheck {
    walk: Mutex<Walk>,
}

impl WalkCheck {
    fn lock(&self) -> std::sync::MutexGuard<'_, Walk> {
        self.walk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a page the engine asked for at `token`, read `overlap` rows
    /// before an offset token.
    pub(super) fn record(
        &self,
        token: Option<&PageToken>,
        overlap: u64,
        ids: Vec<String>,
        next: Option<&PageToken>,
        total: Option<u64>,
    ) {
        let mut walk = self.lock();
        walk.totals.push(total);
        walk.distinct.extend(ids.iter().cloned());
        let at = match token {
            None => 0,
            Some(PageToken::Offset(at)) => *at,
            Some(_) => return,
        };
        if token.is_none() && !matches!(next, Some(PageToken::Offset(_)) | None) {
            return;
        }
        walk.offset_pages.insert(
            at,
            OffsetRead {
                from: at - overlap,
                ids,
                overlap,
                next: next.cloned(),
                total,
            },
        );
    }

    /// After the walk ended without an error: `None` when it proved it saw
    /// every instance that lived through it, else what contradicts that.
    pub(crate) fn verdict(&self) -> Option<String> {
        let walk = self.lock();
        if let Some(problem) = offset_chain(&walk.offset_pages) {
            return Some(problem);
        }
        let totals: Option<Vec<u64>> = walk.totals.iter().copied().collect();
        if let Some(&first) = totals.as_ref().and_then(|t| t.first()) {
            let same = totals.iter().flatten().all(|&t| t == first);
            let seen = walk.distinct.len() as u64;
            if same && seen < first {
                return Some(format!(
                    "every page reported a total of {first} instances but the walk saw {seen} distinct ones"
                ));
            }
        }
        None
    }
}

/// Follows the offset pages from offset 0 in the order the engine did and
/// checks each page's overlap with the one before it and the end.
fn offset_chain(pages: &BTreeMap<u64, OffsetRead>) -> Option<String> {
    let mut at = 0u64;
    let mut before: Option<&OffsetRead> = None;
    while let Some(page) = pages.get(&at) {
        // A page is one snapshot: its rows are distinct and lie within its
        // own total. A page that repeats a row, or holds rows past the
        // total it reports, is not a slice of the order it claims to be.
        let distinct: HashSet<&String> = page.ids.iter().collect();
        if distinct.len() < page.ids.len() {
            return Some(format!(
                "the page read from offset {} repeats an instance",
                page.from
            ));
        }
        if let Some(total) = page
            .total
            .filter(|&t| page.from + page.ids.len() as u64 > t)
        {
            return Some(format!(
                "the page read from offset {} holds rows past its own total of {total}",
                page.from
            ));
        }
        if let Some(prev) = before.filter(|_| page.overlap > 0) {
            // Only the overlap rows anchor: a row elsewhere in the page that
            // the page before also held (a server repeating an instance out
            // of place) proves nothing about the stretch between the reads.
            let anchored = page
                .ids
                .iter()
                .take(page.overlap as usize)
                .any(|id| prev.ids.contains(id));
            if !anchored {
                return Some(format!(
                    "the listing shifted before offset {at}: the overlapping read from offset {} holds none of the {} instance(s) of the page before it",
                    page.from,
                    prev.ids.len()
                ));
            }
        }
        let rows = page.ids.len() as u64;
        let next = match &page.next {
            Some(PageToken::Offset(next)) => *next,
            // The engine reads on past a shrunk total up to an empty page.
            _ => at + rows,
        };
        if next <= at || !pages.contains_key(&next) {
            let end = page.from + rows;
            if let Some(total) = page.total.filter(|&t| end < t) {
                return Some(format!(
                    "the listing ended at offset {end} while its total says {total}"
                ));
            }
            return None;
        }
        before = Some(page);
        at = next;
    }
    None
}

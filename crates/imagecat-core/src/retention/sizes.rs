//! The bytes of a plan: what its deletes free and what the images kept
//! because nobody can tell whether they are used hold, per catalog and in
//! total. The one place this arithmetic is done (the CLI prints it, a
//! library user reads it). An image of unknown size is counted as unknown,
//! never as zero bytes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::plan::{Action, Outcome, Plan, PlanEntry, Reason};

/// How many images, and how large they are: the sum of the known sizes,
/// and how many have no known size (not in `bytes`, never counted as 0).
/// The one tally of sizes (the plan's summary and the report use it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tally {
    /// How many images.
    pub images: u64,
    /// The bytes of those whose size is known.
    pub bytes: u64,
    /// How many have no known size (not counted in `bytes`).
    pub size_unknown: u64,
}

impl Tally {
    /// Counts one image of this size (`None`: unknown).
    pub fn count(&mut self, size: Option<u64>) {
        self.images += 1;
        match size {
            Some(bytes) => self.bytes = self.bytes.saturating_add(bytes),
            None => self.size_unknown += 1,
        }
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, other: &Tally) {
        self.images += other.images;
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.size_unknown += other.size_unknown;
    }

    /// `12.4 GiB (13314398618 B)` (`0 B` for nothing; `unknown size` when
    /// no size is known).
    fn amount(&self) -> String {
        if self.images > 0 && self.size_unknown == self.images {
            return "unknown size".to_owned();
        }
        if self.bytes < 1024 {
            return human_bytes(self.bytes);
        }
        format!("{} ({} B)", human_bytes(self.bytes), self.bytes)
    }

    fn unknown_note(&self) -> String {
        if self.size_unknown > 0 && self.size_unknown < self.images {
            format!(", {} of unknown size", self.size_unknown)
        } else {
            String::new()
        }
    }
}

/// The bytes of one catalog's plan (or of all catalogs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SizeTally {
    /// The deletes: before an apply the planned deletes (what they would
    /// free), after an apply the images actually deleted (what was freed).
    pub freed: Tally,
    /// The images kept only because their usage is unknown (the plan's
    /// reasons, or the re-check's, are exactly `usage-unknown`: deleted
    /// were it known that nothing uses them).
    pub kept_unknown_usage: Tally,
}

/// The bytes of a plan, per catalog (by name) and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlanSizes {
    /// Whether these are the sizes of an applied plan: then `freed` counts
    /// the images deleted, else the planned deletes.
    pub applied: bool,
    /// Per catalog.
    pub catalogs: BTreeMap<String, SizeTally>,
    /// Every catalog together.
    pub total: SizeTally,
}

impl PlanSizes {
    /// The sizes of a plan not applied: what its deletes would free.
    pub fn planned(entries: &[PlanEntry]) -> PlanSizes {
        Self::of(entries, false)
    }

    /// The sizes of an applied plan: what was deleted (a delete that
    /// failed, was skipped, found the image already gone or may have
    /// happened frees nothing here).
    pub fn applied(entries: &[PlanEntry]) -> PlanSizes {
        Self::of(entries, true)
    }

    fn of(entries: &[PlanEntry], applied: bool) -> PlanSizes {
        let mut sizes = PlanSizes {
            applied,
            ..PlanSizes::default()
        };
        for entry in entries {
            let tally = sizes.catalogs.entry(entry.catalog.clone()).or_default();
            let freed = if applied {
                entry.result == Some(Outcome::Deleted)
            } else {
                entry.action == Action::Delete
            };
            if freed {
                tally.freed.count(entry.size_bytes);
                sizes.total.freed.count(entry.size_bytes);
            } else if only_unknown_usage(&entry.reasons) || only_unknown_usage(&entry.skip_reasons)
            {
                tally.kept_unknown_usage.count(entry.size_bytes);
                sizes.total.kept_unknown_usage.count(entry.size_bytes);
            }
        }
        sizes
    }

    /// One line per catalog when there are several, then the total:
    /// `lab: 12.4 GiB (13314398618 B) would be freed by 10 deletes, 3 of
    /// unknown size; 2.0 GiB (2147483648 B) kept in 4 images of unknown
    /// usage` (after an apply: `freed`).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.catalogs.len() > 1 {
            for (name, tally) in &self.catalogs {
                lines.push(format!("{name}: {}", self.line(tally)));
            }
            lines.push(format!("total: {}", self.line(&self.total)));
        } else {
            let name = self.catalogs.keys().next().map_or("total", String::as_str);
            lines.push(format!("{name}: {}", self.line(&self.total)));
        }
        lines
    }

    fn line(&self, t: &SizeTally) -> String {
        let verb = if self.applied {
            "freed"
        } else {
            "would be freed"
        };
        let f = &t.freed;
        let k = &t.kept_unknown_usage;
        format!(
            "{} {verb} by {} {}{}; {} kept in {} {} of unknown usage{}",
            f.amount(),
            f.images,
            plural(f.images, "delete", "deletes"),
            f.unknown_note(),
            k.amount(),
            k.images,
            plural(k.images, "image", "images"),
            k.unknown_note(),
        )
    }
}

impl fmt::Display for PlanSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl Plan {
    /// The bytes its deletes would free and its images kept for unknown
    /// usage hold ([`PlanSizes::planned`]; after an apply,
    /// [`ApplySummary::sizes`](super::ApplySummary::sizes)).
    pub fn sizes(&self) -> PlanSizes {
        PlanSizes::planned(&self.entries)
    }
}

/// Kept only because its usage is unknown: deleted if it were known unused
/// (an image also protected, not owned… is kept for those reasons anyway).
pub(crate) fn only_unknown_usage(reasons: &[Reason]) -> bool {
    reasons == [Reason::UsageUnknown]
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1.5 GiB`-style sizes (binary units, one decimal; bytes exact).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn unknown_sizes_are_said_never_zero() {
        let mut b = Tally::default();
        b.count(Some(1 << 30));
        b.count(None);
        assert_eq!((b.images, b.bytes, b.size_unknown), (2, 1 << 30, 1));
        assert_eq!(b.amount(), "1.0 GiB (1073741824 B)");
        assert_eq!(b.unknown_note(), ", 1 of unknown size");
        let mut none = Tally::default();
        none.count(None);
        assert_eq!(none.amount(), "unknown size");
    }
}

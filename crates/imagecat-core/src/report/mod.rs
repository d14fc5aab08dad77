//! The figures of a report over a set of catalogs, computed once here and
//! read by every renderer (the CLI's HTML page and its JSON), so the two
//! cannot disagree: per catalog the images by status and by owner, their
//! total size, in use / not in use / unknown (from one
//! [`usage_scan`](crate::ImageCatalogExt::usage_scan)), an age histogram,
//! what a retention policy would free (its dry-run [`retention::plan`],
//! never applied), and the golden matrix of the catalogs
//! ([`golden_matrix`]) from the same listings.
//!
//! Every figure is a [`Tally`]: a count of images, the bytes of those whose
//! size is known, and how many have no known size; an unknown size is
//! said, never counted as zero. An image of unknown usage is never counted
//! as unused.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::InstanceQuery;
use crate::ext::ImageCatalogExt;
use crate::family::GroupBy;
use crate::golden::{BuildKey, CatalogFamilies, GoldenMatrix, golden_matrix};
use crate::model::{BackendKind, Image, ImageId, ImageStatus};
use crate::query::ListQuery;
use crate::retention::{self, Action, PlanEntry, PlanTarget, RetentionPolicy};
use crate::usage::{ImageUsage, UsageScan};

pub use crate::retention::Tally;

/// A tally under a key (a status word, an owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Keyed {
    /// The key; `None` for images that have none (no owner).
    pub key: Option<String>,
    /// The images under it.
    #[serde(flatten)]
    pub tally: Tally,
}

/// The buckets of the age histogram, by created time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgeBucket {
    /// Created less than 7 days ago (or in the future).
    #[serde(rename = "under_7d")]
    Under7d,
    /// 7 to 30 days.
    #[serde(rename = "under_30d")]
    Under30d,
    /// 30 to 90 days.
    #[serde(rename = "under_90d")]
    Under90d,
    /// 90 days to a year (365 days).
    #[serde(rename = "under_1y")]
    Under1y,
    /// A year or more.
    Older,
    /// No created time.
    Undated,
}

impl AgeBucket {
    /// Every bucket, youngest first.
    pub const ALL: [AgeBucket; 6] = [
        AgeBucket::Under7d,
        AgeBucket::Under30d,
        AgeBucket::Under90d,
        AgeBucket::Under1y,
        AgeBucket::Older,
        AgeBucket::Undated,
    ];

    /// The word used in JSON (`under_7d`).
    pub fn as_str(self) -> &'static str {
        match self {
            AgeBucket::Under7d => "under_7d",
            AgeBucket::Under30d => "under_30d",
            AgeBucket::Under90d => "under_90d",
            AgeBucket::Under1y => "under_1y",
            AgeBucket::Older => "older",
            AgeBucket::Undated => "undated",
        }
    }

    /// The label for people (`< 7 days`).
    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::Under7d => "< 7 days",
            AgeBucket::Under30d => "< 30 days",
            AgeBucket::Under90d => "< 90 days",
            AgeBucket::Under1y => "< 1 year",
            AgeBucket::Older => "1 year or more",
            AgeBucket::Undated => "undated",
        }
    }

    /// The bucket of an image created at `created` (as seen at `now`).
    pub fn of(created: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AgeBucket {
        let Some(created) = created else {
            return AgeBucket::Undated;
        };
        let age = now - created;
        if age < Duration::days(7) {
            AgeBucket::Under7d
        } else if age < Duration::days(30) {
            AgeBucket::Under30d
        } else if age < Duration::days(90) {
            AgeBucket::Under90d
        } else if age < Duration::days(365) {
            AgeBucket::Under1y
        } else {
            AgeBucket::Older
        }
    }
}

/// One bar of the age histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgeTally {
    /// The bucket.
    pub bucket: AgeBucket,
    /// The images in it.
    #[serde(flatten)]
    pub tally: Tally,
}

/// In use, not in use, unknown: from one usage scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageFigures {
    /// Images some instance uses.
    pub in_use: Tally,
    /// Images no instance uses, by a complete enough listing.
    pub not_in_use: Tally,
    /// Images nobody can tell about (never counted as unused).
    pub unknown: Tally,
}

impl UsageFigures {
    /// Adds another catalog's figures.
    pub fn add(&mut self, other: &UsageFigures) {
        self.in_use.add(&other.in_use);
        self.not_in_use.add(&other.not_in_use);
        self.unknown.add(&other.unknown);
    }
}

/// What a retention policy would do, from its dry-run plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetentionFigures {
    /// The planned deletes: `bytes` is what they would free.
    pub deletes: Tally,
    /// The images the policy considered and keeps.
    pub kept: Tally,
    /// Of those kept, the ones kept because their usage is unknown.
    pub kept_usage_unknown: Tally,
    /// The largest planned deletes (at most [`LARGEST_DELETES`], largest
    /// first, unknown sizes last), so a reader sees what the bytes are.
    pub largest_deletes: Vec<ImageBrief>,
}

/// How many of the largest planned deletes a report names.
pub const LARGEST_DELETES: usize = 10;

/// An image as a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageBrief {
    /// The id.
    pub id: ImageId,
    /// The name.
    pub name: Option<String>,
    /// The size in bytes, when known.
    pub size_bytes: Option<u64>,
}

impl RetentionFigures {
    /// The figures of a plan's entries, from the sizes the plan carries
    /// (counted as the plan's own summary counts them,
    /// [`PlanSizes`](crate::retention::PlanSizes)).
    pub fn of(entries: &[PlanEntry]) -> RetentionFigures {
        let mut figures = RetentionFigures::default();
        for entry in entries {
            let size = entry.size_bytes;
            match entry.action {
                Action::Delete => {
                    figures.deletes.count(size);
                    figures.largest_deletes.push(ImageBrief {
                        id: entry.id.clone(),
                        name: entry.name.clone(),
                        size_bytes: size,
                    });
                }
                Action::Keep | Action::Retire => {
                    figures.kept.count(size);
                    if retention::only_unknown_usage(&entry.reasons) {
                        figures.kept_usage_unknown.count(size);
                    }
                }
            }
        }
        // Largest first; unknown sizes last (None < Some, reversed).
        figures
            .largest_deletes
            .sort_by(|a, b| b.size_bytes.cmp(&a.size_bytes).then(a.id.cmp(&b.id)));
        figures.largest_deletes.truncate(LARGEST_DELETES);
        figures
    }

    /// Adds another catalog's figures.
    pub fn add(&mut self, other: &RetentionFigures) {
        self.deletes.add(&other.deletes);
        self.kept.add(&other.kept);
        self.kept_usage_unknown.add(&other.kept_usage_unknown);
    }

    /// The sums of a set of catalogs' figures (no image is named).
    fn sums<'a>(all: impl Iterator<Item = &'a RetentionFigures>) -> Option<RetentionFigures> {
        let mut sum: Option<RetentionFigures> = None;
        for r in all {
            sum.get_or_insert_with(RetentionFigures::default).add(r);
        }
        sum
    }
}

/// The figures of one catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CatalogFigures {
    /// The catalog's name (`--catalog` spec or config name).
    pub catalog: String,
    /// Its backend.
    pub backend: BackendKind,
    /// Why its figures are missing or partial (the listing failed, or the
    /// plan could not be made); `None` when all is there.
    pub error: Option<String>,
    /// Every listed image.
    pub total: Tally,
    /// By unified status word, in order of the word.
    pub by_status: Vec<Keyed>,
    /// By owner, in order of the owner (`key: null`: no owner).
    pub by_owner: Vec<Keyed>,
    /// In use, not in use, unknown.
    pub usage: UsageFigures,
    /// The age histogram, every bucket, youngest first.
    pub age: Vec<AgeTally>,
    /// What the retention policy would free; `None` when no policy was
    /// given (or its plan failed: `error` says why).
    pub retention: Option<RetentionFigures>,
}

impl CatalogFigures {
    /// The figures of a listing, with the usage answers of `scan`, ages at
    /// `now`, and no retention figures.
    pub fn new(
        catalog: impl Into<String>,
        backend: BackendKind,
        images: &[Image],
        scan: &UsageScan,
        now: DateTime<Utc>,
    ) -> CatalogFigures {
        let mut total = Tally::default();
        let mut status: BTreeMap<Option<String>, Tally> = BTreeMap::new();
        let mut owner: BTreeMap<Option<String>, Tally> = BTreeMap::new();
        let mut age: BTreeMap<AgeBucket, Tally> = AgeBucket::ALL
            .iter()
            .map(|b| (*b, Tally::default()))
            .collect();
        let mut usage = UsageFigures::default();
        for image in images {
            let size = image.size_bytes;
            total.count(size);
            let word = Some(image.status.as_str().to_owned());
            status.entry(word).or_default().count(size);
            owner.entry(image.owner.clone()).or_default().count(size);
            age.entry(AgeBucket::of(image.created_at, now))
                .or_default()
                .count(size);
            match scan.usage_of(image) {
                ImageUsage::InUse { .. } => usage.in_use.count(size),
                ImageUsage::NotInUse => usage.not_in_use.count(size),
                _ => usage.unknown.count(size),
            }
        }
        let keyed = |m: BTreeMap<Option<String>, Tally>| {
            m.into_iter()
                .map(|(key, tally)| Keyed { key, tally })
                .collect()
        };
        CatalogFigures {
            catalog: catalog.into(),
            backend,
            error: None,
            total,
            by_status: keyed(status),
            by_owner: keyed(owner),
            usage,
            age: age
                .into_iter()
                .map(|(bucket, tally)| AgeTally { bucket, tally })
                .collect(),
            retention: None,
        }
    }

    /// A catalog whose listing failed: no figures, the error said.
    pub fn failed(
        catalog: impl Into<String>,
        backend: BackendKind,
        error: impl Into<String>,
    ) -> CatalogFigures {
        let mut figures = CatalogFigures::new(
            catalog,
            backend,
            &[],
            &UsageScan::new(crate::UsageScope::AllTenants),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        figures.error = Some(error.into());
        figures
    }
}

/// The sums over every catalog whose listing succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Totals {
    /// Every listed image.
    pub total: Tally,
    /// In use, not in use, unknown.
    pub usage: UsageFigures,
    /// What the policy would free, over the catalogs it was planned on;
    /// `None` without a policy.
    pub retention: Option<RetentionFigures>,
}

/// A report: when, under which policy, each catalog's figures and their
/// sums. The JSON of `imagecat report -o json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// When the figures were gathered (ages are counted from here).
    pub generated_at: DateTime<Utc>,
    /// The retention policy planned (dry run), if any.
    pub policy: Option<RetentionPolicy>,
    /// Each catalog, in the order given.
    pub catalogs: Vec<CatalogFigures>,
    /// The sums.
    pub totals: Totals,
    /// The golden matrix of the catalogs whose listing succeeded (their
    /// active images), when one was asked for.
    pub golden: Option<GoldenMatrix>,
}

impl Report {
    /// A report of these catalogs' figures, with their sums.
    pub fn new(
        generated_at: DateTime<Utc>,
        policy: Option<RetentionPolicy>,
        catalogs: Vec<CatalogFigures>,
    ) -> Report {
        let mut totals = Totals::default();
        for c in &catalogs {
            totals.total.add(&c.total);
            totals.usage.add(&c.usage);
        }
        totals.retention =
            RetentionFigures::sums(catalogs.iter().filter_map(|c| c.retention.as_ref()));
        if policy.is_some() && totals.retention.is_none() {
            totals.retention = Some(RetentionFigures::default());
        }
        Report {
            generated_at,
            policy,
            catalogs,
            totals,
            golden: None,
        }
    }

    /// Whether some catalog's figures are missing or partial.
    pub fn has_errors(&self) -> bool {
        self.catalogs.iter().any(|c| c.error.is_some())
    }
}

/// The golden matrix a report carries: its families and what identifies
/// a build.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MatrixRule {
    /// The families.
    pub group: GroupBy,
    /// What identifies a build.
    pub by: BuildKey,
}

impl MatrixRule {
    /// A matrix of these families, builds told by `by`.
    pub fn new(group: GroupBy, by: BuildKey) -> Self {
        MatrixRule { group, by }
    }
}

/// Gathers the figures of every target at `now`: one listing and one
/// fresh usage scan per catalog, with a policy its dry-run plan
/// ([`retention::plan`], nothing is deleted), and with a rule the golden
/// matrix of the listings' active images (as `imagecat golden` shows it by
/// default). A catalog that fails is reported with its error (and left
/// out of the matrix); the others are still counted.
pub async fn gather(
    targets: &[PlanTarget],
    policy: Option<&RetentionPolicy>,
    matrix: Option<&MatrixRule>,
    now: DateTime<Utc>,
) -> Report {
    let mut catalogs = Vec::with_capacity(targets.len());
    let mut families = Vec::new();
    for target in targets {
        let backend = target.catalog.info().backend;
        let images = match target.catalog.collect(ListQuery::new()).await {
            Ok(images) => images,
            Err(e) => {
                catalogs.push(CatalogFigures::failed(
                    target.name.clone(),
                    backend,
                    e.to_string(),
                ));
                continue;
            }
        };
        if let Some(rule) = matrix {
            let active = images.iter().filter(|i| i.status == ImageStatus::Active);
            families.push(CatalogFamilies::from_images(
                target.name.clone(),
                &rule.group,
                active.cloned(),
            ));
        }
        let scan = target.catalog.usage_scan(InstanceQuery::new()).await;
        let mut figures = CatalogFigures::new(target.name.clone(), backend, &images, &scan, now);
        if let Some(policy) = policy {
            match retention::plan(policy, std::slice::from_ref(target), now).await {
                Ok(plan) => {
                    figures.retention = Some(RetentionFigures::of(&plan.entries));
                }
                Err(e) => figures.error = Some(format!("retention plan: {e}")),
            }
        }
        catalogs.push(figures);
    }
    let mut report = Report::new(now, policy.cloned(), catalogs);
    report.golden = matrix.map(|rule| golden_matrix(&families, &rule.group, &rule.by));
    report
}

#[cfg(test)]
mod tests;

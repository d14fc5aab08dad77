use crate::retention::Reason;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::catalog::DynImageCatalog;
use crate::model::{ImageStatus, Visibility};
use crate::usage::InstanceRef;
use crate::{ImageCatalog, InMemoryCatalog};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap()
}

fn image(id: &str, days_old: Option<i64>, size: Option<u64>) -> Image {
    let mut i = Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
        .with_name(format!("web-{id}"))
        .with_owner("me")
        .with_visibility(Visibility::Private);
    if let Some(d) = days_old {
        i = i.with_created_at(now() - Duration::days(d));
    }
    if let Some(s) = size {
        i = i.with_size_bytes(s);
    }
    i
}

#[test]
fn age_buckets_have_their_edges_at_7_30_90_and_365_days() {
    let at = |days: i64| AgeBucket::of(Some(now() - Duration::days(days)), now());
    assert_eq!(at(-1), AgeBucket::Under7d, "a future time is young");
    assert_eq!(at(6), AgeBucket::Under7d);
    assert_eq!(at(7), AgeBucket::Under30d);
    assert_eq!(at(29), AgeBucket::Under30d);
    assert_eq!(at(30), AgeBucket::Under90d);
    assert_eq!(at(90), AgeBucket::Under1y);
    assert_eq!(at(364), AgeBucket::Under1y);
    assert_eq!(at(365), AgeBucket::Older);
    assert_eq!(AgeBucket::of(None, now()), AgeBucket::Undated);
    for b in AgeBucket::ALL {
        assert_eq!(
            serde_json::to_value(b).unwrap(),
            b.as_str(),
            "JSON word of {b:?}"
        );
    }
}

#[test]
fn unknown_sizes_are_counted_apart_never_as_zero() {
    let images = [
        image("a", Some(1), Some(100)),
        image("b", Some(1), None),
        image("c", None, Some(5)),
    ];
    let scan = UsageScan::unavailable(crate::UnknownReason::NotSupported {
        message: "no compute".into(),
    });
    let f = CatalogFigures::new("lab", BackendKind::Memory, &images, &scan, now());
    assert_eq!(
        f.total,
        Tally {
            images: 3,
            bytes: 105,
            size_unknown: 1
        }
    );
    // Usage unknown everywhere: nothing is counted as unused.
    assert_eq!(f.usage.unknown.images, 3);
    assert_eq!(f.usage.not_in_use, Tally::default());
    let age: Vec<(AgeBucket, u64)> = f.age.iter().map(|a| (a.bucket, a.tally.images)).collect();
    assert_eq!(
        age,
        vec![
            (AgeBucket::Under7d, 2),
            (AgeBucket::Under30d, 0),
            (AgeBucket::Under90d, 0),
            (AgeBucket::Under1y, 0),
            (AgeBucket::Older, 0),
            (AgeBucket::Undated, 1),
        ]
    );
}

/// Over a catalog with instances: usage from the scan, owners and
/// statuses counted, and the policy's deletes free exactly the sum of
/// their sizes, nothing deleted.
#[tokio::test]
async fn gather_counts_usage_owners_and_what_the_policy_frees() {
    let mut foreign = image("f", Some(400), Some(7));
    foreign.owner = Some("them".into());
    let mut failed = image("x", Some(200), None);
    failed.status = ImageStatus::Failed;
    let catalog = InMemoryCatalog::from_images(vec![
        image("new", Some(1), Some(10)),
        image("used", Some(100), Some(20)),
        image("old1", Some(100), Some(300)),
        image("old2", Some(400), Some(4000)),
        failed,
        foreign,
    ])
    .with_instances(vec![InstanceRef::booting(
        "i-1",
        "running",
        ImageId::new("used"),
    )]);
    let catalog: DynImageCatalog = Arc::new(catalog);
    let targets = [PlanTarget::new("lab", catalog.clone())];
    let policy = RetentionPolicy::default().older_than("30d").owner("me");
    let report = gather(&targets, Some(&policy), None, now()).await;
    let f = &report.catalogs[0];
    assert_eq!(f.error, None);
    assert_eq!(f.total.images, 6);
    assert_eq!(
        f.usage.in_use,
        Tally {
            images: 1,
            bytes: 20,
            size_unknown: 0
        }
    );
    assert_eq!(f.usage.not_in_use.images, 5);
    let owners: Vec<(Option<&str>, u64)> = f
        .by_owner
        .iter()
        .map(|k| (k.key.as_deref(), k.tally.images))
        .collect();
    assert_eq!(owners, vec![(Some("me"), 5), (Some("them"), 1)]);
    let statuses: Vec<(Option<&str>, u64)> = f
        .by_status
        .iter()
        .map(|k| (k.key.as_deref(), k.tally.images))
        .collect();
    assert_eq!(statuses, vec![(Some("active"), 5), (Some("failed"), 1)]);
    // The policy considers the owner's active and deactivated images: old1
    // and old2 are deleted; "used" is in use, "new" young.
    let r = f.retention.as_ref().unwrap();
    assert_eq!(
        r.deletes,
        Tally {
            images: 2,
            bytes: 4300,
            size_unknown: 0
        }
    );
    assert_eq!(r.kept.images, 2);
    assert_eq!(
        report.totals.retention.as_ref().unwrap().deletes.bytes,
        4300
    );
    // A dry run: everything is still there.
    assert_eq!(catalog.collect(ListQuery::new()).await.unwrap().len(), 6);
    assert!(catalog.get(&ImageId::new("old2")).await.is_ok());
}

/// Kept because usage is unknown is said, with the bytes those hold.
#[test]
fn kept_for_unknown_usage_is_tallied() {
    let entry = |id: &str, size: Option<u64>, action, reasons: Vec<Reason>| -> PlanEntry {
        serde_json::from_value(serde_json::json!({
            "catalog": "lab", "backend": "memory", "id": id, "name": null,
            "family": null, "created_at": null, "updated_at": null,
            "status": "active", "action": action, "reasons": reasons,
            "size_bytes": size,
        }))
        .unwrap()
    };
    let entries = [
        entry("a", Some(8), "keep", vec![Reason::UsageUnknown]),
        // Kept for another reason too: it would be kept anyway, so it is
        // not counted as kept for unknown usage (the plan summary's rule).
        entry(
            "c",
            Some(5),
            "keep",
            vec![Reason::UsageUnknown, Reason::NotOwned],
        ),
        entry("b", None, "delete", vec![Reason::Selected]),
        entry("gone", None, "delete", vec![Reason::Selected]),
    ];
    let r = RetentionFigures::of(&entries);
    assert_eq!(
        r.kept_usage_unknown,
        Tally {
            images: 1,
            bytes: 8,
            size_unknown: 0
        }
    );
    assert_eq!(
        r.deletes,
        Tally {
            images: 2,
            bytes: 0,
            size_unknown: 2
        }
    );
}

/// The report's matrix is the golden module's over the same listings'
/// active images; a catalog whose listing fails is left out of it.
#[tokio::test]
async fn gather_builds_the_golden_matrix_of_the_active_images() {
    let a: DynImageCatalog = Arc::new(InMemoryCatalog::from_images(vec![
        image("a1", Some(3), Some(1)).with_name("web-20260601"),
        image("a2", Some(1), Some(1)).with_name("web-20260620"),
    ]));
    let mut failed = image("b2", Some(1), Some(1)).with_name("web-20260620");
    failed.status = ImageStatus::Failed;
    let b: DynImageCatalog = Arc::new(InMemoryCatalog::from_images(vec![
        image("b1", Some(3), Some(1)).with_name("web-20260601"),
        failed,
    ]));
    let targets = [PlanTarget::new("a", a), PlanTarget::new("b", b)];
    let rule = MatrixRule::new(
        GroupBy::regex(r"^(.+)-\d{8}$").unwrap(),
        "name".parse().unwrap(),
    );
    let report = gather(&targets, None, Some(&rule), now()).await;
    let matrix = report.golden.expect("a matrix");
    assert_eq!(matrix.families.len(), 1);
    let states: Vec<&str> = matrix.families[0]
        .cells
        .iter()
        .map(|c| c.state.as_str())
        .collect();
    // B's newer build failed: its active newest is the older one.
    assert_eq!(states, ["current", "stale"]);
    assert!(report.policy.is_none() && report.totals.retention.is_none());
}

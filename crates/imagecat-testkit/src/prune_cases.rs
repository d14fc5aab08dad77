//! Prune cases every backend runs over its conformance [`Fixture`]: a plan
//! deletes nothing by itself, honours the never-delete rules, and an apply
//! deletes exactly the planned ids; a second plan plans nothing.
//!
//! Run them on a fresh fixture, after (or instead of) the rest of the
//! suite: they delete images. [`PRUNE`] lists them for the suite's runner.

use std::collections::{HashMap, HashSet};

use imagecat_core::retention::{
    self, Action, ApplyOptions, Outcome, PlanTarget, Reason, RetentionPolicy,
};
use imagecat_core::{DynImageCatalog, ImageCatalog, ImageCatalogExt, ImageId, ListQuery};

use crate::conformance::{Case, CaseResult, Fixture, cases};

async fn listed(catalog: &dyn ImageCatalog) -> Result<HashSet<ImageId>, String> {
    let images = catalog
        .collect(ListQuery::new())
        .await
        .map_err(|e| format!("listing failed: {e}"))?;
    Ok(images.into_iter().map(|i| i.id).collect())
}

/// One family of every image (`regex:^()`), keep the newest one, the
/// caller being the owner of the first deletable image: the plan keeps one
/// image, refuses every protected, foreign or in-use image with its
/// reason, deletes nothing until applied; the apply deletes exactly the
/// planned ids and nothing else; planning again deletes nothing.
pub async fn prune_apply_deletes_exactly_the_plan(fx: &Fixture) -> CaseResult {
    let first = fx
        .catalog
        .get(&fx.deletable[0])
        .await
        .map_err(|e| format!("get of a deletable image failed: {e}"))?;
    let catalog: DynImageCatalog = fx.catalog.clone();
    let mut target = PlanTarget::new("under-test", catalog.clone());
    if let Some(owner) = &first.owner {
        target = target.caller(owner.clone());
    }
    let policy = RetentionPolicy::default()
        .group_by("regex:^()".parse().map_err(|e| format!("{e}"))?)
        .keep(1)
        .older_than("0s")
        .allow_unknown_usage(true);
    let now = imagecat_core::chrono::Utc::now();
    let before = listed(fx.catalog.as_ref()).await?;
    let plan = retention::plan(&policy, std::slice::from_ref(&target), now)
        .await
        .map_err(|e| format!("planning failed: {e}"))?;
    ensure!(
        listed(fx.catalog.as_ref()).await? == before,
        "planning changed the catalog"
    );
    let newest = plan
        .entries
        .iter()
        .filter(|e| e.reasons.contains(&Reason::Newest))
        .count();
    ensure!(newest == 1, "{newest} images kept as newest, want 1");
    let images = fx
        .catalog
        .collect(ListQuery::new())
        .await
        .map_err(|e| format!("listing failed: {e}"))?;
    let by_id: HashMap<&ImageId, &imagecat_core::Image> =
        images.iter().map(|i| (&i.id, i)).collect();
    for entry in plan.deletes() {
        let Some(image) = by_id.get(&entry.id) else {
            return Err(format!("planned delete {} is not listed", entry.id));
        };
        ensure!(
            image.protected != Some(true),
            "protected {} planned for delete",
            entry.id
        );
        ensure!(
            retention::owned_by_caller(image, first.owner.as_deref()),
            "{} of owner {:?} planned for delete by {:?}",
            entry.id,
            image.owner,
            first.owner
        );
    }
    for entry in plan.entries.iter().filter(|e| e.action == Action::Keep) {
        let image = by_id[&entry.id];
        if image.protected == Some(true) && !entry.reasons.contains(&Reason::Newest) {
            ensure!(
                entry.reasons.contains(&Reason::Protected),
                "{} is protected but its reasons are {:?}",
                entry.id,
                entry.reasons
            );
        }
    }
    let planned: HashSet<ImageId> = plan.deletes().map(|e| e.id.clone()).collect();
    ensure!(
        !planned.is_empty(),
        "the caller owns deletable images but nothing was planned"
    );
    let catalogs = HashMap::from([("under-test".to_owned(), catalog)]);
    let (done, summary) =
        retention::apply(plan, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    ensure!(summary.ok(), "apply failed: {:?}", done.entries);
    let deleted: HashSet<ImageId> = done
        .entries
        .iter()
        .filter(|e| matches!(e.result, Some(Outcome::Deleted | Outcome::AlreadyDeleted)))
        .map(|e| e.id.clone())
        .collect();
    ensure!(
        deleted == planned,
        "deleted {deleted:?}, planned {planned:?}"
    );
    let after = listed(fx.catalog.as_ref()).await?;
    let gone: HashSet<ImageId> = before.difference(&after).cloned().collect();
    ensure!(gone == planned, "gone {gone:?}, planned {planned:?}");
    let again = retention::plan(&policy, &[target], now)
        .await
        .map_err(|e| format!("second planning failed: {e}"))?;
    let left: Vec<_> = again.deletes().map(|e| e.id.clone()).collect();
    ensure!(left.is_empty(), "a second run plans {left:?}");
    Ok(())
}

/// The clean-up cases.
pub const PRUNE: &[Case<Fixture>] = cases![Fixture;
    prune_apply_deletes_exactly_the_plan [Delete],
];

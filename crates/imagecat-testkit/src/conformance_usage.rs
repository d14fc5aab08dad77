//! The usage cases of the conformance suite: a catalog plus the seeded
//! instances it should see ([`UsageFixture`]), and [`run_usage`], which
//! runs every case and reports like [`run_all`](super::run_all); [`USAGE`]
//! lists the cases for the suite's one runner.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use futures::TryStreamExt;
use imagecat_core::{
    Image, ImageCatalog, ImageCatalogExt, ImageId, ImageUsage, InstanceQuery, ListQuery,
    UnknownReason, UsageScope, Visibility,
};

use super::{Case, CaseResult, Holds, Need, Report, Subject, cases, run_cases};

/// A catalog whose instances are known, for the usage cases.
pub struct UsageFixture {
    /// The catalog under test.
    pub catalog: Arc<dyn ImageCatalog>,
    /// Every instance id the listing must yield (the seeded ones in a
    /// non-final state, within the scope), in any order.
    pub instances: Vec<String>,
    /// For each image in use, the ids of the instances that use it.
    pub users: HashMap<ImageId, Vec<String>>,
    /// The scope the catalog must report.
    pub scope: UsageScope,
    /// Makes the backend's next instance request fail.
    pub fail_next_page: Arc<dyn Fn() + Send + Sync>,
    /// How many instance requests the backend has received so far.
    pub instance_requests: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl fmt::Debug for UsageFixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsageFixture")
            .field("catalog", &self.catalog.info().backend)
            .field("instances", &self.instances.len())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

async fn images_of(fx: &UsageFixture) -> Result<Vec<Image>, String> {
    fx.catalog
        .collect(ListQuery::new())
        .await
        .map_err(|e| format!("listing images failed: {e}"))
}

/// The ids of the instances an in-use answer names, in order; `None`
/// for any other answer.
pub fn users_of(usage: &ImageUsage) -> Option<Vec<String>> {
    match usage {
        ImageUsage::InUse { instances } => {
            Some(instances.iter().map(|u| u.instance_id.clone()).collect())
        }
        _ => None,
    }
}

/// [`users_of`] for a test that knows the image is in use: panics, naming
/// the answer, when it is not.
pub fn in_use_ids(usage: &ImageUsage) -> Vec<String> {
    users_of(usage).unwrap_or_else(|| panic!("expected in use, got {usage:?}"))
}

/// Whether the answer is unknown because the backend has no usage
/// (`UnknownReason::NotSupported`).
pub fn is_unknown_for_lack_of_support(usage: &ImageUsage) -> bool {
    matches!(
        usage,
        ImageUsage::Unknown {
            reason: UnknownReason::NotSupported { .. }
        }
    )
}

fn user_ids(usage: &ImageUsage) -> Option<BTreeSet<String>> {
    users_of(usage).map(|ids| ids.into_iter().collect())
}

/// What the answer for an image must be, from the seed.
fn expected(fx: &UsageFixture, image: &Image) -> ImageUsage {
    if fx.users.contains_key(&image.id) {
        // Compared by user ids only.
        return ImageUsage::InUse { instances: vec![] };
    }
    if fx.scope == UsageScope::AllTenants || image.visibility == Some(Visibility::Private) {
        ImageUsage::NotInUse
    } else {
        ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope { scope: fx.scope },
        }
    }
}

/// The capabilities report the scope, and a scan reports it too.
pub async fn usage_capability_says_the_scope(fx: &UsageFixture) -> CaseResult {
    let caps = fx.catalog.info().capabilities;
    ensure!(
        caps.usage == Some(fx.scope),
        "capabilities say {:?}, expected {:?}",
        caps.usage,
        fx.scope
    );
    let scan = fx.catalog.usage_scan(InstanceQuery::new()).await;
    ensure!(scan.is_complete(), "the scan did not complete");
    ensure!(
        scan.scope() == fx.scope,
        "the scan says {}, expected {}",
        scan.scope(),
        fx.scope
    );
    Ok(())
}

/// The instance listing yields exactly the seeded live instances, once
/// each, for the default page size and pages of 1 and 3.
pub async fn instances_are_exactly_the_seeded_live_ones(fx: &UsageFixture) -> CaseResult {
    let want: BTreeSet<String> = fx.instances.iter().cloned().collect();
    for size in [None, Some(1), Some(3)] {
        let mut query = InstanceQuery::new();
        query.page_size = size;
        let got: Vec<String> = fx
            .catalog
            .instances(query)
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .map_err(|e| format!("page size {size:?}: listing instances failed: {e}"))?;
        let set: BTreeSet<String> = got.iter().cloned().collect();
        ensure!(
            set.len() == got.len(),
            "page size {size:?}: an instance was listed twice"
        );
        ensure!(
            set == want,
            "page size {size:?}: listed {set:?}, expected {want:?}"
        );
    }
    Ok(())
}

/// Every listed image is in use by exactly its seeded users, not in use, or
/// unknown where the scope cannot see other tenants — never unused by guess.
pub async fn usage_is_exactly_the_seeded_users(fx: &UsageFixture) -> CaseResult {
    let images = images_of(fx).await?;
    let answers = fx.catalog.usage_of(&images).await;
    ensure!(
        answers.len() == images.len(),
        "{} answers for {} images",
        answers.len(),
        images.len()
    );
    let mut in_use = 0;
    for (image, got) in images.iter().zip(&answers) {
        match (expected(fx, image), got) {
            (ImageUsage::InUse { .. }, _) => {
                let want: BTreeSet<String> = fx.users[&image.id].iter().cloned().collect();
                ensure!(
                    user_ids(got).as_ref() == Some(&want),
                    "{}: got {got:?}, expected users {want:?}",
                    image.id
                );
                in_use += 1;
            }
            (want, got) => ensure!(&want == got, "{}: got {got:?}, expected {want:?}", image.id),
        }
    }
    let listed_users = images
        .iter()
        .filter(|i| fx.users.contains_key(&i.id))
        .count();
    ensure!(
        in_use == listed_users,
        "{in_use} images in use, {listed_users} seeded"
    );
    ensure!(
        in_use > 0,
        "no listed image is in use: the fixture proves nothing"
    );
    Ok(())
}

/// A scan filtered to one image answers for it, and unknown for the others.
pub async fn a_filtered_scan_answers_its_image_only(fx: &UsageFixture) -> CaseResult {
    let images = images_of(fx).await?;
    let Some((used, users)) = images.iter().find_map(|i| fx.users.get_key_value(&i.id)) else {
        return Err("no listed image is in use".into());
    };
    let scan = fx
        .catalog
        .usage_scan(InstanceQuery::new().image(used.clone()))
        .await;
    let Some(image) = images.iter().find(|i| &i.id == used) else {
        return Err(format!("{used} is in use but not listed"));
    };
    let want: BTreeSet<String> = users.iter().cloned().collect();
    ensure!(
        user_ids(&scan.usage_of(image)) == Some(want),
        "{used}: {:?}",
        scan.usage_of(image)
    );
    if let Some(other) = images.iter().find(|i| &i.id != used) {
        ensure!(
            matches!(
                scan.usage_of(other),
                ImageUsage::Unknown {
                    reason: UnknownReason::NotScanned { .. }
                }
            ),
            "{}: {:?}",
            other.id,
            scan.usage_of(other)
        );
    }
    Ok(())
}

/// A failing instance page makes every image without a known user unknown.
pub async fn a_failing_instance_page_is_unknown_never_unused(fx: &UsageFixture) -> CaseResult {
    let images = images_of(fx).await?;
    (fx.fail_next_page)();
    let answers = fx.catalog.usage_of(&images).await;
    for (image, got) in images.iter().zip(&answers) {
        ensure!(
            !got.is_known_unused(),
            "{}: unused although the listing failed",
            image.id
        );
        if let ImageUsage::Unknown { reason } = got {
            ensure!(
                matches!(reason, UnknownReason::ListingFailed { .. }),
                "{}: {reason:?}",
                image.id
            );
        }
    }
    Ok(())
}

/// Every answer is a fresh listing: nothing is cached between two calls.
pub async fn every_answer_is_a_fresh_listing(fx: &UsageFixture) -> CaseResult {
    let images = images_of(fx).await?;
    for _ in 0..2 {
        let before = (fx.instance_requests)();
        let _ = fx.catalog.usage_of(&images[..1]).await;
        ensure!(
            (fx.instance_requests)() > before,
            "usage_of sent no instance request"
        );
    }
    Ok(())
}

impl Subject for UsageFixture {
    fn meets(&self, need: Need) -> bool {
        match need {
            Need::ImageInUse => {
                self.catalog.info().capabilities.usage.is_some() && !self.users.is_empty()
            }
            Need::Delete | Need::TwoDeletes | Need::UnknownStatus | Need::LyingServer => false,
        }
    }
}

impl Holds<UsageFixture> for UsageFixture {
    fn fixture(&self) -> &UsageFixture {
        self
    }
}

impl<G> Holds<UsageFixture> for (G, UsageFixture) {
    fn fixture(&self) -> &UsageFixture {
        &self.1
    }
}

/// The usage cases.
pub const USAGE: &[Case<UsageFixture>] = cases![UsageFixture;
    usage_capability_says_the_scope [],
    instances_are_exactly_the_seeded_live_ones [],
    usage_is_exactly_the_seeded_users [],
    a_filtered_scan_answers_its_image_only [ImageInUse],
    a_failing_instance_page_is_unknown_never_unused [],
    every_answer_is_a_fresh_listing [],
];

/// Runs every [`USAGE`] case over one fixture, prints the report and returns it.
pub async fn run_usage(fx: &UsageFixture) -> Report {
    run_cases(USAGE, fx).await
}

//! The conformance suite every backend runs: plain `pub async fn` cases
//! over a [`Fixture`] (listing, get, delete; [`usage`] over a
//! [`usage::UsageFixture`]; [`crate::prune_cases`]), each listed once in a
//! table ([`LISTING`], [`usage::USAGE`], [`crate::prune_cases::PRUNE`])
//! with the [`Need`]s it has. One runner serves every table:
//!
//! - [`conformance_tests!`](crate::conformance_tests): one `#[tokio::test]`
//!   per case, each over a fresh fixture (the way to run the suite);
//! - [`run_cases`] ([`run_all`], [`usage::run_usage`]): every case of a
//!   table in order over one fixture, for a fixture too costly to build per
//!   case (a real server) or a test that checks the whole run afterwards.
//!
//! A case whose need the fixture or the backend's `Capabilities` do not
//! meet is skipped before it runs, and the skip is typed ([`Need`]) and
//! printed. A case returns `Err(description)` instead of panicking, so one
//! run reports every failure.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use imagecat_core::{
    Deleted, ErrorKind, Image, ImageCatalog, ImageCatalogExt, ImageId, ImageStatus, ListQuery,
    Sort, SortKey,
};

#[path = "conformance_usage.rs"]
pub mod usage;

/// What a case found: `Ok(())`, or what went wrong.
pub type CaseResult = Result<(), String>;

/// What a case needs of the backend (its `Capabilities`) or of its
/// fixture; a case whose need is not met is skipped, visibly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// The backend deletes (`Capabilities::delete`) and the fixture names
    /// a deletable image.
    Delete,
    /// As [`Need::Delete`], with a second deletable image.
    TwoDeletes,
    /// The fixture seeds an image with a status word no mapping knows.
    UnknownStatus,
    /// The fixture has a server that ignores the paging token.
    LyingServer,
    /// The backend reports usage (`Capabilities::usage`) and the fixture
    /// seeds an image in use.
    ImageInUse,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::Delete => "the backend cannot delete, or the fixture has no deletable image",
            Need::TwoDeletes => "the fixture has no second deletable image",
            Need::UnknownStatus => "the fixture seeds no unknown status",
            Need::LyingServer => "the fixture has no lying server",
            Need::ImageInUse => "the backend has no usage, or the fixture seeds no image in use",
        })
    }
}

/// A fixture the cases run over: which [`Need`]s it meets.
pub trait Subject: fmt::Debug + Sync {
    /// Whether this fixture and its backend meet `need`.
    fn meets(&self, need: Need) -> bool;
}

impl Subject for Fixture {
    fn meets(&self, need: Need) -> bool {
        let deletes = self.catalog.info().capabilities.delete;
        match need {
            Need::Delete => deletes && !self.deletable.is_empty(),
            Need::TwoDeletes => deletes && self.deletable.len() >= 2,
            Need::UnknownStatus => self.unknown_status.is_some(),
            Need::LyingServer => self.lying.is_some(),
            Need::ImageInUse => false,
        }
    }
}

/// What holds a fixture for [`conformance_tests!`](crate::conformance_tests):
/// the fixture itself, or a pair of what keeps its servers alive and it.
pub trait Holds<F> {
    /// The fixture held.
    fn fixture(&self) -> &F;
}

impl Holds<Fixture> for Fixture {
    fn fixture(&self) -> &Fixture {
        self
    }
}

impl<G> Holds<Fixture> for (G, Fixture) {
    fn fixture(&self) -> &Fixture {
        &self.1
    }
}

/// The future a case returns.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = CaseResult> + 'a>>;

/// One case of the suite: its name, what it needs, and how to run it.
pub struct Case<F: 'static> {
    /// The case's name (its function's).
    pub name: &'static str,
    /// What the fixture and the backend must offer, or the case is skipped.
    pub needs: &'static [Need],
    /// Runs the case over a fixture.
    pub run: for<'a> fn(&'a F) -> CaseFuture<'a>,
}

impl<F> fmt::Debug for Case<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

/// A table of cases over the fixture type given: `name [Need, …]`, in
/// the order [`run_cases`] runs them.
macro_rules! cases {
    ($fx:ty; $($name:ident [$($need:ident),*]),* $(,)?) => {
        &[$($crate::conformance::Case::<$fx> {
            name: stringify!($name),
            needs: &[$($crate::conformance::Need::$need),*],
            run: {
                fn run(fx: &$fx) -> $crate::conformance::CaseFuture<'_> {
                    Box::pin($name(fx))
                }
                run
            },
        }),*]
    };
}
pub(crate) use cases;

/// The listing, get and delete cases (deletes last).
pub const LISTING: &[Case<Fixture>] = cases![Fixture;
    list_is_complete_for_every_page_size [],
    limit_is_respected_and_stops_fetching [],
    filters_match_the_full_list [],
    golden_filters_match_the_full_list [],
    sort_orders_the_listing [],
    get_equals_the_listed_image [],
    missing_id_is_not_found [],
    invalid_id_is_refused_before_sending [],
    unknown_status_is_kept [UnknownStatus],
    repeated_pages_end_in_an_error [LyingServer],
    dropping_the_stream_stops_requests [],
    debug_holds_no_secret [],
    delete_then_get [Delete],
    delete_twice [TwoDeletes],
];

/// What one case did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its checks held.
    Passed,
    /// It did not run: the fixture or the backend lacks this.
    Skipped(Need),
    /// What went wrong.
    Failed(String),
}

/// Runs one case, unless a need of it is not met.
pub async fn run_case<F: Subject>(case: &Case<F>, fx: &F) -> Verdict {
    if let Some(need) = case.needs.iter().find(|n| !fx.meets(**n)) {
        return Verdict::Skipped(*need);
    }
    match (case.run)(fx).await {
        Ok(()) => Verdict::Passed,
        Err(why) => Verdict::Failed(why),
    }
}

/// Runs every case of `cases` over one fixture, in order; prints the
/// report (skipped cases included) and returns it.
pub async fn run_cases<F: Subject>(cases: &[Case<F>], fx: &F) -> Report {
    let mut report = Report::default();
    for case in cases {
        match run_case(case, fx).await {
            Verdict::Passed => report.passed.push(case.name),
            Verdict::Skipped(need) => report.skipped.push((case.name, need)),
            Verdict::Failed(why) => report.failed.push((case.name, why)),
        }
    }
    println!("{report}");
    report
}

/// Runs the case named `name` of `cases` over `fx`, as one test: panics
/// with what went wrong if it fails, or if it is skipped for a need not in
/// `may_skip`; prints why if it is skipped. For
/// [`conformance_tests!`](crate::conformance_tests).
pub async fn run_named<F: Subject>(cases: &[Case<F>], name: &str, fx: &F, may_skip: &[Need]) {
    let case = cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case {name}"));
    match run_case(case, fx).await {
        Verdict::Passed => {}
        Verdict::Skipped(need) if may_skip.contains(&need) => {
            println!("skipped {name}: {need}");
        }
        Verdict::Skipped(need) => {
            panic!("{name} was skipped ({need}), and this fixture may not skip {need:?}")
        }
        Verdict::Failed(why) => panic!("{name} ({fx:?}): {why}"),
    }
}

/// Whether `names` are exactly the names of `cases`, in order: the
/// compile-time check that [`conformance_tests!`](crate::conformance_tests)
/// has a test for every case of a table.
pub const fn names_every_case<F>(cases: &[Case<F>], names: &[&str]) -> bool {
    if cases.len() != names.len() {
        return false;
    }
    let mut i = 0;
    while i < cases.len() {
        let (a, b) = (cases[i].name.as_bytes(), names[i].as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut j = 0;
        while j < a.len() {
            if a[j] != b[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// One `#[tokio::test]` per case of a table, each over a fresh fixture:
/// `imagecat_testkit::conformance_tests!(listing, fixture().await);`
/// inside a test module of its own, where the expression gives a
/// [`Fixture`] (or a pair of what keeps its servers alive and the
/// fixture); `usage` takes a [`usage::UsageFixture`], `prune` a
/// [`Fixture`]. A skip fails the test unless its [`Need`] is listed after
/// `may_skip:` (`conformance_tests!(listing, fx, may_skip: [LyingServer])`),
/// and then prints why; a table case without a test here does not compile.
#[macro_export]
macro_rules! conformance_tests {
    (listing, $fixture:expr $(, may_skip: [$($need:ident),* $(,)?])?) => {
        $crate::conformance_tests!(@cases [$($($need),*)?] $crate::conformance::LISTING, $fixture;
            list_is_complete_for_every_page_size,
            limit_is_respected_and_stops_fetching,
            filters_match_the_full_list,
            golden_filters_match_the_full_list,
            sort_orders_the_listing,
            get_equals_the_listed_image,
            missing_id_is_not_found,
            invalid_id_is_refused_before_sending,
            unknown_status_is_kept,
            repeated_pages_end_in_an_error,
            dropping_the_stream_stops_requests,
            debug_holds_no_secret,
            delete_then_get,
            delete_twice,
        );
    };
    (usage, $fixture:expr $(, may_skip: [$($need:ident),* $(,)?])?) => {
        $crate::conformance_tests!(@cases [$($($need),*)?] $crate::conformance::usage::USAGE, $fixture;
            usage_capability_says_the_scope,
            instances_are_exactly_the_seeded_live_ones,
            usage_is_exactly_the_seeded_users,
            a_filtered_scan_answers_its_image_only,
            a_failing_instance_page_is_unknown_never_unused,
            every_answer_is_a_fresh_listing,
        );
    };
    (prune, $fixture:expr $(, may_skip: [$($need:ident),* $(,)?])?) => {
        $crate::conformance_tests!(@cases [$($($need),*)?] $crate::prune_cases::PRUNE, $fixture;
            prune_apply_deletes_exactly_the_plan,
        );
    };
    (@cases [$($need:ident),*] $table:expr, $fixture:expr; $($case:ident),* $(,)?) => {
        /// The needs a case of this fixture may be skipped for.
        const MAY_SKIP: &[$crate::conformance::Need] = &[$($crate::conformance::Need::$need),*];
        const _: () = assert!(
            $crate::conformance::names_every_case($table, &[$(stringify!($case)),*]),
            "conformance_tests! names every case of the table, in order"
        );
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let held = $fixture;
                let fx = $crate::conformance::Holds::fixture(&held);
                $crate::conformance::run_named($table, stringify!($case), fx, MAY_SKIP).await;
            }
        )*
    };
}

/// What `get` of a deleted image does on this backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterDelete {
    /// The image is still shown, with status `deleted` (soft delete).
    ShownAsDeleted,
    /// The image is gone: `NotFound`.
    NotFound,
}

/// What a second delete of the same image returns on this backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondDelete {
    /// `Ok(Deleted::AlreadyDeleted)`.
    AlreadyDeleted,
    /// `Err` of kind `NotFound`.
    NotFound,
}

/// A catalog under test, seeded with known images, and what the suite needs
/// to know about it. Build a fresh one for every [`run_all`]: the delete
/// cases change it.
pub struct Fixture {
    /// The catalog under test.
    pub catalog: Arc<dyn ImageCatalog>,
    /// How many image requests (list, get, delete) the backend has received so far.
    pub requests: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// The ids a default listing (`ListQuery::new()`) must yield, in order.
    /// At least 20, so that page sizes 1, 2 and 7 take several pages.
    pub expected: Vec<ImageId>,
    /// Two or more ids that may be deleted.
    pub deletable: Vec<ImageId>,
    /// A well-formed id of no image.
    pub missing: ImageId,
    /// Ids the backend must refuse before sending anything.
    pub invalid: Vec<ImageId>,
    /// A seeded image with a status word no mapping knows, and that word.
    pub unknown_status: Option<(ImageId, String)>,
    /// What `get` of a deleted image does.
    pub after_delete: AfterDelete,
    /// What a second delete returns.
    pub second_delete: SecondDelete,
    /// A catalog over the same data whose server ignores the paging token
    /// (so it repeats pages), if the backend's emulator can do that.
    pub lying: Option<Arc<dyn ImageCatalog>>,
    /// Strings that must never appear in `Debug` or `info()` (tokens, passwords).
    pub secrets: Vec<String>,
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("catalog", &self.catalog.info().backend)
            .field("expected", &self.expected.len())
            .finish_non_exhaustive()
    }
}

impl Fixture {
    fn requests(&self) -> u64 {
        (self.requests)()
    }
}

async fn ids_of(catalog: &dyn ImageCatalog, query: ListQuery) -> Result<Vec<ImageId>, String> {
    catalog
        .list(query)
        .map_ok(|i| i.id)
        .try_collect()
        .await
        .map_err(|e| format!("listing failed: {e}"))
}

async fn all_images(catalog: &dyn ImageCatalog) -> Result<Vec<Image>, String> {
    catalog
        .collect(ListQuery::new().include_deleted(true))
        .await
        .map_err(|e| format!("listing failed: {e}"))
}

fn without_native(mut image: Image) -> Image {
    image.native = None;
    image
}

/// The list is complete, in order, and each id appears once, for page sizes
/// 1, 2, 7 and the backend's default.
pub async fn list_is_complete_for_every_page_size(fx: &Fixture) -> CaseResult {
    for size in [None, Some(1), Some(2), Some(7)] {
        let mut q = ListQuery::new();
        q.page_size = size;
        let got = ids_of(fx.catalog.as_ref(), q).await?;
        let unique: HashSet<_> = got.iter().collect();
        ensure!(
            unique.len() == got.len(),
            "page size {size:?}: an id appeared twice"
        );
        ensure!(
            got == fx.expected,
            "page size {size:?}: got {} ids, expected {} (first difference at {:?})",
            got.len(),
            fx.expected.len(),
            got.iter().zip(&fx.expected).position(|(a, b)| a != b)
        );
    }
    Ok(())
}

/// `limit` caps the images yielded and stops fetching once reached.
pub async fn limit_is_respected_and_stops_fetching(fx: &Fixture) -> CaseResult {
    let before = fx.requests();
    let got = ids_of(fx.catalog.as_ref(), ListQuery::new().page_size(2).limit(3)).await?;
    let sent = fx.requests() - before;
    ensure!(got.len() == 3, "limit 3 yielded {} images", got.len());
    ensure!(
        got[..] == fx.expected[..3],
        "limit 3 yielded other images than the first three"
    );
    ensure!(
        sent <= 2,
        "limit 3 at page size 2 needs 2 requests, {sent} were sent"
    );
    Ok(())
}

/// Every filter gives the same answer as filtering the full list.
pub async fn filters_match_the_full_list(fx: &Fixture) -> CaseResult {
    let all = all_images(fx.catalog.as_ref()).await?;
    ensure!(!all.is_empty(), "the catalog is empty");
    let some = &all[all.len() / 2];
    let mut queries = vec![
        ListQuery::new(),
        ListQuery::new().include_deleted(true),
        ListQuery::new().status(ImageStatus::Active),
        ListQuery::new().status(ImageStatus::Deleted),
        ListQuery::new()
            .status(ImageStatus::Queued)
            .status(ImageStatus::Saving),
    ];
    if let Some(v) = some.visibility {
        queries.push(ListQuery::new().visibility(v));
    }
    if let Some(owner) = &some.owner {
        queries.push(ListQuery::new().owner(owner.clone()));
    }
    if let Some(size) = all.iter().find_map(|i| i.size_bytes) {
        queries.push(ListQuery::new().size_range(Some(size), None));
        queries.push(ListQuery::new().size_range(None, Some(size)));
    }
    if let Some(name) = &some.name {
        queries.push(ListQuery::new().name_exact(name.clone()));
        if let Some(prefix) = name.get(..name.len().min(3)) {
            queries.push(
                ListQuery::new()
                    .name(&format!("{prefix}*"))
                    .include_deleted(true),
            );
        }
    }
    each_answers_the_filtered_full_list(fx, &all, queries).await
}

/// Each query lists exactly the images of `all` it matches, in order.
async fn each_answers_the_filtered_full_list(
    fx: &Fixture,
    all: &[Image],
    queries: Vec<ListQuery>,
) -> CaseResult {
    for q in queries {
        let want: Vec<ImageId> = all
            .iter()
            .filter(|i| q.matches(i))
            .map(|i| i.id.clone())
            .collect();
        let got = ids_of(fx.catalog.as_ref(), q.clone()).await?;
        ensure!(
            got == want,
            "query {q:?}: got {} images, the filtered full list has {}",
            got.len(),
            want.len()
        );
    }
    Ok(())
}

/// The date, property and tag filters give the same answer as filtering
/// the full list; a tag filter where images have no tags is `NotSupported`.
pub async fn golden_filters_match_the_full_list(fx: &Fixture) -> CaseResult {
    let all = all_images(fx.catalog.as_ref()).await?;
    let mut queries = Vec::new();
    let mut created: Vec<_> = all.iter().filter_map(|i| i.created_at).collect();
    created.sort();
    if let Some(mid) = created.get(created.len() / 2).copied() {
        queries.push(ListQuery::new().created_before(mid));
        queries.push(ListQuery::new().created_after(mid));
        if let Some(low) = created.get(created.len() / 4).copied() {
            queries.push(ListQuery::new().created_after(low).created_before(mid));
        }
    }
    let mut updated: Vec<_> = all.iter().filter_map(|i| i.updated_at).collect();
    updated.sort();
    if let Some(mid) = updated.get(updated.len() / 2).copied() {
        queries.push(ListQuery::new().updated_before(mid));
        queries.push(ListQuery::new().updated_after(mid));
    }
    if let Some((k, v)) = all.iter().find_map(|i| i.properties.iter().next()) {
        queries.push(ListQuery::new().property(k, v));
        queries.push(ListQuery::new().property(k, format!("{v}-no-such-value")));
    }
    let tags = fx.catalog.info().capabilities.tags;
    if tags {
        if let Some(tag) = all.iter().find_map(|i| i.tags.first()) {
            queries.push(ListQuery::new().tag(tag.clone()));
        }
        queries.push(ListQuery::new().tag("no-such-tag"));
    } else {
        let e = ids_of(fx.catalog.as_ref(), ListQuery::new().tag("golden")).await;
        ensure!(
            e.as_ref().is_err_and(|e| e.contains("no tags")),
            "a tag filter where images have no tags gave {e:?}, not NotSupported"
        );
    }
    ensure!(!queries.is_empty(), "no image has a date or a property");
    each_answers_the_filtered_full_list(fx, &all, queries).await
}

/// For each sort key and direction, `collect_sorted` yields the default
/// listing's images in that order; where the server sorts, `list` already
/// streams in order (with small pages, so the order holds across pages).
pub async fn sort_orders_the_listing(fx: &Fixture) -> CaseResult {
    let all = all_images(fx.catalog.as_ref()).await?;
    let mut want: Vec<ImageId> = all
        .iter()
        .filter(|i| ListQuery::new().matches(i))
        .map(|i| i.id.clone())
        .collect();
    want.sort();
    let caps = fx.catalog.info().capabilities;
    for key in [
        SortKey::Created,
        SortKey::Updated,
        SortKey::Name,
        SortKey::Size,
    ] {
        for sort in [Sort::asc(key), Sort::desc(key)] {
            let q = ListQuery::new().sort(sort);
            let sorted = fx
                .catalog
                .collect_sorted(q.clone())
                .await
                .map_err(|e| format!("{sort}: {e}"))?;
            ensure!(
                sort.is_sorted(&sorted),
                "{sort}: collect_sorted is out of order"
            );
            let mut got: Vec<ImageId> = sorted.iter().map(|i| i.id.clone()).collect();
            got.sort();
            ensure!(got == want, "{sort}: collect_sorted lost or added images");
            if caps.streams_sorted(&q) {
                let streamed = fx
                    .catalog
                    .collect(q.page_size(3))
                    .await
                    .map_err(|e| format!("{sort}: {e}"))?;
                // Where a server puts images without the key (NULL) depends
                // on its database: the order is checked among the others.
                let keyed: Vec<Image> = streamed
                    .iter()
                    .filter(|i| sort.has_value(i))
                    .cloned()
                    .collect();
                ensure!(
                    sort.is_sorted(&keyed),
                    "{sort}: the server-sorted stream is out of order"
                );
                ensure!(
                    streamed.len() == want.len(),
                    "{sort}: the server-sorted stream has {} images, not {}",
                    streamed.len(),
                    want.len()
                );
            }
        }
    }
    Ok(())
}

/// `get` returns the listed image, field by field.
pub async fn get_equals_the_listed_image(fx: &Fixture) -> CaseResult {
    let all = all_images(fx.catalog.as_ref()).await?;
    ensure!(!all.is_empty(), "the catalog is empty");
    for listed in [&all[0], &all[all.len() / 2], &all[all.len() - 1]] {
        let got = fx
            .catalog
            .get(&listed.id)
            .await
            .map_err(|e| format!("get {} failed: {e}", listed.id))?;
        ensure!(
            without_native(got.clone()) == without_native(listed.clone()),
            "get {} differs from the listing:\n got    {got:?}\n listed {listed:?}",
            listed.id
        );
    }
    Ok(())
}

/// A well-formed id of no image is `NotFound`, read from the backend's own
/// document: it [proves absence](imagecat_core::Error::proves_absence).
pub async fn missing_id_is_not_found(fx: &Fixture) -> CaseResult {
    match fx.catalog.get(&fx.missing).await {
        Err(e) if e.proves_absence() => Ok(()),
        other => Err(format!("get of a missing id gave {other:?}")),
    }
}

/// An invalid id is `InvalidInput` for `get` and `delete`, and sends nothing.
pub async fn invalid_id_is_refused_before_sending(fx: &Fixture) -> CaseResult {
    ensure!(!fx.invalid.is_empty(), "the fixture names no invalid id");
    let before = fx.requests();
    for id in &fx.invalid {
        match fx.catalog.get(id).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {}
            other => return Err(format!("get {id:?} gave {other:?}")),
        }
        match fx.catalog.delete(id).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {}
            other => return Err(format!("delete {id:?} gave {other:?}")),
        }
    }
    let sent = fx.requests() - before;
    ensure!(sent == 0, "{sent} requests were sent for invalid ids");
    Ok(())
}

/// An unknown status is tolerated, and its word kept in `native_status`.
pub async fn unknown_status_is_kept(fx: &Fixture) -> CaseResult {
    let Some((id, word)) = &fx.unknown_status else {
        return Err("the fixture seeds no unknown status".into());
    };
    let all = all_images(fx.catalog.as_ref()).await?;
    let image = all
        .iter()
        .find(|i| &i.id == id)
        .ok_or_else(|| format!("{id} is not listed"))?;
    ensure!(
        image.status == ImageStatus::Unknown(word.clone()),
        "status of {id} is {:?}",
        image.status
    );
    ensure!(
        &image.native_status == word,
        "native_status is {:?}",
        image.native_status
    );
    Ok(())
}

/// A server that ignores the paging token ends the listing with an error,
/// not a hang or an endless stream.
pub async fn repeated_pages_end_in_an_error(fx: &Fixture) -> CaseResult {
    let Some(lying) = &fx.lying else {
        return Err("the fixture has no lying server".into());
    };
    let listing = async {
        let mut stream = lying.list(ListQuery::new().page_size(2));
        let mut yielded = 0usize;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => yielded += 1,
                Err(e) => return Ok((yielded, e)),
            }
        }
        Err(format!(
            "the listing ended without an error after {yielded} images"
        ))
    };
    // A guard so a hang fails the case instead of the whole run.
    let (yielded, error) = tokio::time::timeout(Duration::from_secs(60), listing)
        .await
        .map_err(|_| "the listing hung".to_owned())??;
    ensure!(
        error.kind() == ErrorKind::InvalidResponse,
        "the listing ended with {error} instead of an invalid-response error"
    );
    ensure!(
        yielded <= 2,
        "{yielded} images were yielded from repeated pages"
    );
    Ok(())
}

/// Dropping a stream stops its requests.
pub async fn dropping_the_stream_stops_requests(fx: &Fixture) -> CaseResult {
    let before = fx.requests();
    let mut stream = fx.catalog.list(ListQuery::new().page_size(1));
    ensure!(
        fx.requests() == before,
        "a request was sent before the first poll"
    );
    let first = stream.next().await;
    ensure!(matches!(first, Some(Ok(_))), "the first item was {first:?}");
    drop(stream);
    // Two full round trips after the drop, so any fetch still running would show.
    for _ in 0..2 {
        let _ = fx.catalog.get(&fx.missing).await;
    }
    let sent = fx.requests() - before;
    let full_listing = fx.expected.len() as u64;
    // At most the first page, the pages in flight when dropped (read-ahead 8)
    // and the probes: far below a full listing at page size 1.
    ensure!(
        sent < full_listing,
        "{sent} requests were sent after taking one image; a full listing takes {full_listing}"
    );
    Ok(())
}

/// `Debug` of the catalog and its info hold no secret.
pub async fn debug_holds_no_secret(fx: &Fixture) -> CaseResult {
    let shown = format!("{:?} {:?} {:#?}", fx.catalog, fx.catalog.info(), fx.catalog);
    for secret in &fx.secrets {
        ensure!(
            !shown.contains(secret.as_str()),
            "a secret appears in Debug or info()"
        );
    }
    Ok(())
}

/// Delete, then get behaves as the backend documents, and the default
/// listing no longer shows the image.
pub async fn delete_then_get(fx: &Fixture) -> CaseResult {
    let id = fx.deletable.first().ok_or("no deletable image")?;
    let done = fx
        .catalog
        .delete(id)
        .await
        .map_err(|e| format!("delete {id}: {e}"))?;
    ensure!(done == Deleted::Deleted, "delete {id} gave {done:?}");
    match (fx.after_delete, fx.catalog.get(id).await) {
        (AfterDelete::ShownAsDeleted, Ok(image)) if image.status == ImageStatus::Deleted => {}
        (AfterDelete::NotFound, Err(e)) if e.proves_absence() => {}
        (want, got) => return Err(format!("get after delete gave {got:?}, expected {want:?}")),
    }
    let listed = ids_of(fx.catalog.as_ref(), ListQuery::new()).await?;
    ensure!(!listed.contains(id), "{id} is still in the default listing");
    Ok(())
}

/// Deleting twice gives what the backend documents.
pub async fn delete_twice(fx: &Fixture) -> CaseResult {
    let id = fx.deletable.get(1).ok_or("no second deletable image")?;
    let first = fx
        .catalog
        .delete(id)
        .await
        .map_err(|e| format!("delete {id}: {e}"))?;
    ensure!(first == Deleted::Deleted, "first delete gave {first:?}");
    match (fx.second_delete, fx.catalog.delete(id).await) {
        (SecondDelete::AlreadyDeleted, Ok(Deleted::AlreadyDeleted)) => Ok(()),
        (SecondDelete::NotFound, Err(e)) if e.proves_absence() => Ok(()),
        (want, got) => Err(format!("second delete gave {got:?}, expected {want:?}")),
    }
}

/// What [`run_cases`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases skipped, with the need they lacked.
    pub skipped: Vec<(&'static str, Need)>,
    /// Cases that failed, with what went wrong.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    /// Panics with every failure if any case failed.
    pub fn assert_passed(&self) {
        assert!(self.failed.is_empty(), "conformance failures:\n{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance: {} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )?;
        for (name, why) in &self.skipped {
            writeln!(f, "  SKIPPED {name}: {why}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "  FAILED  {name}: {why}")?;
        }
        Ok(())
    }
}

/// Runs every [`LISTING`] case over one fixture (read-only cases first,
/// deletes last), prints the report and returns it.
pub async fn run_all(fx: &Fixture) -> Report {
    run_cases(LISTING, fx).await
}

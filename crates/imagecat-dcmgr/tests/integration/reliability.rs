//! Reliability against the emulator in both layouts: what offset paging
//! guarantees under catalog churn. Faults, their replay, slow and hopeless
//! servers are testkit scenarios (`tests/scenarios.rs`).

use std::collections::HashSet;

use imagecat_core::{Error, ErrorKind, ListQuery, PagingOptions};
use imagecat_dcmgr::DcmgrCatalog;
use imagecat_emulators::churn::Churn;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig, Layout};
use imagecat_emulators::faults::FaultPlan;
use imagecat_emulators::server::ServeOptions;
use imagecat_http::HttpOptions;
use imagecat_testkit::listing::{fast_http, listing};

fn config(layout: Layout, images: usize) -> DcmgrEmulatorConfig {
    match layout {
        Layout::V1203 => DcmgrEmulatorConfig::v1203(),
        Layout::Legacy => DcmgrEmulatorConfig::legacy(),
    }
    .images(images)
}

/// The account sent: the legacy server requires one (and then lists that
/// account's images only); 12.03 is listed as the administrator.
fn account(layout: Layout) -> Option<&'static str> {
    (layout == Layout::Legacy).then_some("a-shpoolxx")
}

async fn start_with(config: DcmgrEmulatorConfig, faults: FaultPlan) -> DcmgrEmulator {
    DcmgrEmulator::start(config, ServeOptions::with_faults(faults))
        .await
        .expect("the emulator starts")
}

fn catalog(emu: &DcmgrEmulator, http: HttpOptions, read_ahead: usize) -> DcmgrCatalog {
    let mut builder = DcmgrCatalog::builder()
        .endpoint(emu.endpoint())
        .http_options(http)
        .paging_options(PagingOptions::default().read_ahead(read_ahead));
    if let Some(account) = account(emu.config().layout) {
        builder = builder.account(account);
    }
    builder.build().unwrap()
}

/// The `start` of every index request, in the order received.
fn starts(emu: &DcmgrEmulator) -> Vec<u64> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| {
            r.query
                .as_deref()?
                .split('&')
                .find_map(|p| p.strip_prefix("start="))?
                .parse()
                .ok()
        })
        .collect()
}

const LAYOUTS: [Layout; 2] = [Layout::V1203, Layout::Legacy];

/// A listing under churn: what it yielded, the ids listed before it, and
/// what churn changed.
struct ChurnRun {
    got: Vec<String>,
    error: Option<Error>,
    before: Vec<String>,
    log: imagecat_emulators::churn::ChurnLog,
    starts: Vec<u64>,
}

async fn churn_run(
    layout: Layout,
    images: usize,
    churn: Churn,
    include_deleted: bool,
    read_ahead: usize,
    page: u32,
) -> ChurnRun {
    let emu = start_with(config(layout, images).churn(Some(churn)), FaultPlan::none()).await;
    let before = emu.listing(account(layout), include_deleted);
    let (got, error) = listing(
        &catalog(&emu, fast_http(3), read_ahead),
        ListQuery::new()
            .page_size(page)
            .include_deleted(include_deleted),
    )
    .await;
    ChurnRun {
        got,
        error,
        before,
        log: emu.churn_log(),
        starts: starts(&emu),
    }
}

impl ChurnRun {
    fn assert_no_duplicate(&self, what: &str) -> HashSet<&String> {
        let unique: HashSet<&String> = self.got.iter().collect();
        assert_eq!(unique.len(), self.got.len(), "{what}: no id twice");
        unique
    }

    /// The images of `before` that churn never deleted and the listing did
    /// not return.
    fn missed(&self) -> Vec<String> {
        let got: HashSet<&String> = self.got.iter().collect();
        self.log
            .survivors(&self.before)
            .into_iter()
            .filter(|id| !got.contains(id))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_deleted_images_included_offset_paging_returns_every_image_under_churn() {
    for layout in LAYOUTS {
        for seed in [1, 2] {
            let what = format!("{layout:?} {seed}");
            let run = churn_run(layout, 200, Churn::new(2, seed), true, 8, 5).await;
            assert!(
                run.error.is_none(),
                "{what}: the listing ends well: {:?}",
                run.error
            );
            assert!(
                run.log.steps.len() >= 10,
                "{what}: {} steps",
                run.log.steps.len()
            );
            let got = run.assert_no_duplicate(&what);
            // Deletes are soft: every image listed before is still there,
            // and every one is returned.
            let missed: Vec<_> = run.before.iter().filter(|id| !got.contains(id)).collect();
            assert!(missed.is_empty(), "{what}: missed {missed:?}");
            let inserted: HashSet<String> = run.log.inserted().into_iter().collect();
            let before: HashSet<&String> = run.before.iter().collect();
            assert!(
                run.got
                    .iter()
                    .all(|id| before.contains(id) || inserted.contains(id)),
                "{what}: nothing else"
            );
            // The total grew under the read-ahead: a page read ahead was asked
            // for again, after the page before it.
            let asked: HashSet<u64> = run.starts.iter().copied().collect();
            assert!(asked.len() < run.starts.len(), "{what}: {:?}", run.starts);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_server_lists_deleted_images_so_its_default_listing_misses_nothing() {
    for seed in [1, 2] {
        let run = churn_run(Layout::Legacy, 400, Churn::new(2, seed), false, 8, 5).await;
        assert!(run.error.is_none(), "{seed}: {:?}", run.error);
        run.assert_no_duplicate("legacy");
        assert_eq!(run.missed(), Vec::<String>::new(), "{seed}");
    }
}

/// What a sequential offset pager yields from a catalog that starts as
/// `alive` and changes by `log` after each request: page `n` is served after
/// the first `n` churn steps, at the offset where page `n - 1` ended; an
/// image already yielded is dropped; the listing ends when a page reaches
/// the total (or is empty).
fn sequential_model(
    mut alive: Vec<String>,
    log: &imagecat_emulators::churn::ChurnLog,
    page: usize,
) -> Vec<String> {
    let mut yielded = Vec::new();
    let mut seen = HashSet::new();
    let mut start = 0;
    for step in 0.. {
        let end = (start + page).min(alive.len());
        let rows = alive.get(start..end).unwrap_or(&[]).to_vec();
        for id in &rows {
            if seen.insert(id.clone()) {
                yielded.push(id.clone());
            }
        }
        if rows.is_empty() || end == alive.len() {
            break;
        }
        start = end;
        let changes = &log.steps[step];
        for id in &changes.inserted {
            alive.insert(0, id.clone());
        }
        alive.retain(|id| !changes.deleted.contains(id));
    }
    yielded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_listing_misses_exactly_the_images_that_slid_behind_a_page_boundary() {
    // 12.03 lists with `state=alive`: a deleted image leaves the listing and
    // the images after it move one place up. Read one page at a time, the
    // listing is exactly what the offsets give: an image is missed when
    // deletions before it, between two pages, move it from the next page
    // into one already read; at most one image per deletion.
    let mut missed_any = false;
    for (seed, churn) in [
        (1, Churn::new(2, 1).inserts(0)),
        (2, Churn::new(1, 2)),
        (3, Churn::new(2, 3)),
    ] {
        let run = churn_run(Layout::V1203, 200, churn, false, 1, 5).await;
        assert!(run.error.is_none(), "{seed}: {:?}", run.error);
        run.assert_no_duplicate("sequential");
        assert_eq!(
            run.got,
            sequential_model(run.before.clone(), &run.log, 5),
            "{seed}"
        );
        let missed = run.missed();
        let deleted = run.log.deleted().len();
        assert!(
            missed.len() <= deleted,
            "{seed}: {} missed, {deleted} deleted",
            missed.len()
        );
        missed_any |= !missed.is_empty();
    }
    assert!(missed_any, "deletions made the default listing miss images");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_ahead_under_deletions_misses_no_more_than_one_image_per_deletion() {
    // Deletions only: every one changes the total, so the first page read
    // ahead after it is asked for again and paging goes on one page at a
    // time; the bound of the sequential pager holds.
    for seed in [1, 2, 3] {
        let run = churn_run(
            Layout::V1203,
            200,
            Churn::new(2, seed).inserts(0),
            false,
            8,
            5,
        )
        .await;
        assert!(run.error.is_none(), "{seed}: {:?}", run.error);
        run.assert_no_duplicate("read ahead");
        let missed = run.missed();
        assert!(
            missed.len() <= run.log.deleted().len(),
            "{seed}: {missed:?}"
        );
    }
    // As many creations as deletions: the total does not move, so a change
    // cannot be seen; with fewer new images between two pages than a page
    // holds, no duplicate, and the listing ends.
    for seed in [4, 5] {
        let run = churn_run(Layout::V1203, 300, Churn::new(1, seed), false, 8, 20).await;
        assert!(run.error.is_none(), "{seed}: {:?}", run.error);
        run.assert_no_duplicate("read ahead");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_growing_by_a_page_per_request_ends_at_the_page_ceiling() {
    // Each page finds the one before it again, pushed down by a page of new
    // images: offsets cannot catch up with the total, and the page ceiling
    // ends the listing instead of reading forever.
    for read_ahead in [1, 8] {
        let emu = start_with(
            config(Layout::V1203, 100).churn(Some(Churn::new(5, 1).deletes(0))),
            FaultPlan::none(),
        )
        .await;
        let catalog = DcmgrCatalog::builder()
            .endpoint(emu.endpoint())
            .http_options(fast_http(3))
            .paging_options(
                PagingOptions::default()
                    .read_ahead(read_ahead)
                    .max_pages(30),
            )
            .build()
            .unwrap();
        let (got, error) = listing(&catalog, ListQuery::new().page_size(5)).await;
        let e = error.expect("the listing fails");
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        assert!(e.to_string().contains("page ceiling of 30 pages"), "{e}");
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "no id twice");
    }
}

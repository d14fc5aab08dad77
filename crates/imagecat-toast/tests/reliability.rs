//! Reliability against the emulator: faults of every kind on many pages,
//! their replay by seed, slow and hopeless servers, a token expiring in the
//! middle of a listing, and catalog churn while a listing runs.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Auth, MODES, builder};
use futures::StreamExt;
use imagecat_core::{ImageCatalog, ListQuery};
use imagecat_http::HttpOptions;
use imagecat_testkit::churn::Churn;
use imagecat_testkit::faults::{FaultKind, FaultPlan};
use imagecat_testkit::listing::{
    assert_each_fault_cost_one_request, every_fault, fast_http, listing,
};
use imagecat_testkit::server::ServeOptions;
use imagecat_testkit::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig};
use imagecat_toast::ToastCatalog;

fn config(marker: MarkerMode, images: usize) -> ToastEmulatorConfig {
    ToastEmulatorConfig {
        marker,
        images,
        ..ToastEmulatorConfig::default()
    }
}

async fn start_with(config: ToastEmulatorConfig, faults: FaultPlan) -> ToastEmulator {
    ToastEmulator::start(
        config,
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .await
    .expect("the emulator starts")
}

fn catalog(emu: &ToastEmulator, auth: Auth, http: HttpOptions) -> ToastCatalog {
    builder(emu, auth).http_options(http).build().unwrap()
}

/// The `(method, path, query)` of every request received.
fn request_lines(emu: &ToastEmulator) -> Vec<(String, String, Option<String>)> {
    emu.server()
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query))
        .collect()
}

/// The `marker` of every list request, in order (`None` for the first page).
fn markers(emu: &ToastEmulator) -> Vec<Option<String>> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| {
            r.query
                .as_deref()
                .unwrap_or("")
                .split('&')
                .find_map(|p| p.strip_prefix("marker="))
                .map(str::to_owned)
        })
        .collect()
}

const PAGE: u32 = 3;
/// 52 pages of 3 (the last one empty).
const IMAGES: usize = 153;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_faults_of_every_kind_change_nothing_in_both_marker_modes() {
    // Seeds under which every kind is drawn at least once in each mode.
    for (mode, seed) in [(MarkerMode::Exclusive, 5), (MarkerMode::Inclusive, 4)] {
        let clean = start_with(config(mode, IMAGES), FaultPlan::none()).await;
        let faulty = start_with(config(mode, IMAGES), every_fault(0.2, seed)).await;
        let query = ListQuery::new().page_size(PAGE);
        let (want, error) =
            listing(&catalog(&clean, Auth::Token, fast_http(10)), query.clone()).await;
        assert!(error.is_none(), "{error:?}");
        assert!(want.len() > 100);
        let pages = clean.server().request_count();
        assert!(pages >= 50, "{pages} pages");

        let (got, error) = listing(&catalog(&faulty, Auth::Token, fast_http(10)), query).await;
        assert!(error.is_none(), "{mode:?}: {error:?}");
        assert_eq!(got, want, "{mode:?}: exactly the ids of a fault-free run");
        assert_each_fault_cost_one_request(faulty.server(), pages, &format!("{mode:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_replays_the_same_faults_and_another_seed_does_not() {
    // Without `slow` and with a generous timeout, no request can time out
    // by accident, so the request log depends on the seed alone.
    let kinds: Vec<FaultKind> = FaultKind::ALL
        .into_iter()
        .filter(|k| *k != FaultKind::Slow)
        .collect();
    let http = fast_http(10).request_timeout(Duration::from_secs(10));
    let mut logs = Vec::new();
    let mut faults = Vec::new();
    for seed in [7, 7, 8] {
        let plan = FaultPlan::new(0.2, &kinds, seed).retry_after_secs(1);
        let emu = start_with(config(MarkerMode::Exclusive, 60), plan).await;
        let (ids, error) = listing(
            &catalog(&emu, Auth::Password, http.clone()),
            ListQuery::new().page_size(PAGE).include_deleted(true),
        )
        .await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(ids, emu.listed_ids());
        logs.push(request_lines(&emu));
        faults.push(emu.server().injected_faults());
    }
    assert!(!faults[0].is_empty());
    assert_eq!(logs[0], logs[1], "the same seed, the same request log");
    assert_eq!(faults[0], faults[1], "the same seed, the same faults");
    assert_ne!(logs[0], logs[2], "another seed, other faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_slower_than_the_timeout_is_retried_and_never_hangs_the_listing() {
    let emu = start_with(
        config(MarkerMode::Exclusive, 30),
        FaultPlan::new(0.3, &[FaultKind::Slow], 5).slow_delay(Duration::from_secs(3)),
    )
    .await;
    let (ids, error) = listing(
        &catalog(&emu, Auth::Token, fast_http(10)),
        ListQuery::new().page_size(PAGE).include_deleted(true),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(ids, emu.listed_ids());
    let slow = emu.server().injected_faults().len();
    assert!(slow >= 1, "some pages were slow");
    // 11 pages (the last one empty), plus one retry per slow answer.
    assert_eq!(emu.server().request_count(), 11 + slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hopeless_server_ends_the_listing_with_attempts_and_time() {
    for (kinds, what) in [
        (FaultKind::ALL.to_vec(), "every kind"),
        (vec![FaultKind::Slow], "slow"),
    ] {
        let emu = start_with(
            config(MarkerMode::Exclusive, 30),
            FaultPlan::new(1.0, &kinds, 3).slow_delay(Duration::from_secs(3)),
        )
        .await;
        let (ids, error) = listing(
            &catalog(&emu, Auth::Token, fast_http(3)),
            ListQuery::new().page_size(PAGE),
        )
        .await;
        assert!(ids.is_empty(), "{what}");
        let e = error.expect("the listing fails");
        let text = e.to_string();
        assert!(text.starts_with("toast: "), "{text}");
        let spent = text
            .split_once("(gave up after 3 attempts in ")
            .and_then(|(_, rest)| rest.split_once("s)"))
            .and_then(|(secs, _)| secs.parse::<f64>().ok());
        assert!(spent.is_some(), "{what}: attempts and time in {text}");
        assert!(
            e.is_retryable(),
            "{what}: the last failure was a retryable one: {e}"
        );
        assert_eq!(emu.server().request_count(), 3, "{what}");
    }
}

#[tokio::test]
async fn a_token_expiring_mid_listing_is_renewed_and_the_listing_goes_on_from_its_marker() {
    for mode in MODES {
        let emu = start_with(config(mode, 60), FaultPlan::none()).await;
        let catalog = catalog(&emu, Auth::Password, fast_http(3));
        let want = emu.listed_ids();
        let mut stream = catalog.list(ListQuery::new().page_size(PAGE).include_deleted(true));
        let mut got = Vec::new();
        while let Some(image) = stream.next().await {
            got.push(image.unwrap().id.to_string());
            if got.len() == 30 {
                emu.expire_tokens();
            }
        }
        assert_eq!(got, want, "{mode:?}: complete, in order, each image once");
        assert_eq!(
            emu.token_request_count(),
            2,
            "{mode:?}: one re-authentication"
        );
        let issued = emu.issued_tokens();
        assert_eq!(issued.len(), 2);

        // The list requests: the first page, then every page from its
        // marker; the page asked for when the token had expired is asked for
        // twice, from the same marker (refused with the old token, sent again
        // with the new one); the first page is never asked for again.
        let markers = markers(&emu);
        let requests: Vec<_> = emu
            .server()
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET")
            .collect();
        assert_eq!(markers[0], None);
        assert!(
            markers[1..].iter().all(Option::is_some),
            "{mode:?}: {markers:?}"
        );
        let repeats: Vec<usize> = (1..markers.len())
            .filter(|&i| markers[i] == markers[i - 1])
            .collect();
        assert_eq!(
            repeats.len(),
            1,
            "{mode:?}: one page asked twice: {markers:?}"
        );
        let again = repeats[0];
        let distinct: HashSet<_> = markers.iter().collect();
        assert_eq!(
            distinct.len(),
            markers.len() - 1,
            "{mode:?}: no other repeat"
        );
        // Its marker is an image read after the tokens expired (30 in).
        let marker = markers[again].clone().unwrap();
        let at = want.iter().position(|id| *id == marker).unwrap();
        assert!(
            at >= 29 && again > 5,
            "{mode:?}: mid-listing ({at}, request {again})"
        );
        let token = |i: usize| requests[i].header("x-auth-token").map(str::to_owned);
        assert_eq!(
            token(again - 1),
            token(0),
            "{mode:?}: refused with the first token"
        );
        assert!(token(again).is_some_and(|t| issued.contains(&t)));
        assert_ne!(
            token(again - 1),
            token(again),
            "{mode:?}: sent again with the new one"
        );
        let posts: Vec<usize> = emu
            .server()
            .requests()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.method == "POST")
            .map(|(i, _)| i)
            .collect();
        // One token before the first page, one between the refused request
        // and its repeat.
        assert_eq!(posts, [0, again + 1], "{mode:?}");
    }
}

#[tokio::test]
async fn under_churn_marker_paging_returns_every_image_that_existed_for_the_whole_listing() {
    let mut stale = 0;
    for mode in MODES {
        for seed in [1, 2, 3, 4] {
            let emu = start_with(
                ToastEmulatorConfig {
                    churn: Some(Churn::new(2, seed)),
                    ..config(mode, 200)
                },
                FaultPlan::none(),
            )
            .await;
            let before = emu.listed_ids();
            let (got, error) = listing(
                &catalog(&emu, Auth::Token, fast_http(3)),
                ListQuery::new().page_size(4).include_deleted(true),
            )
            .await;
            assert!(
                error.is_none(),
                "{mode:?} {seed}: the listing ends well: {error:?}"
            );
            let log = emu.churn_log();
            assert!(
                log.steps.len() >= 20,
                "{mode:?} {seed}: {} steps",
                log.steps.len()
            );
            let unique: HashSet<&String> = got.iter().collect();
            assert_eq!(unique.len(), got.len(), "{mode:?} {seed}: no id twice");
            let survivors = log.survivors(&before);
            let missed: Vec<_> = survivors.iter().filter(|id| !unique.contains(id)).collect();
            assert!(missed.is_empty(), "{mode:?} {seed}: missed {missed:?}");
            // The rest are images deleted during the listing, read before
            // they went; images created during it are newer than the
            // marker, so never listed; nothing else appears.
            let deleted_ids = log.deleted();
            let deleted: HashSet<&String> = deleted_ids.iter().collect();
            let known: HashSet<&String> = before.iter().collect();
            for id in &got {
                assert!(
                    known.contains(id),
                    "{mode:?} {seed}: {id} was not there before"
                );
                assert!(
                    survivors.contains(id) || deleted.contains(id),
                    "{mode:?} {seed}: {id}"
                );
            }
            // Relative order of the survivors is the server's.
            let order: Vec<&String> = got.iter().filter(|id| !deleted.contains(id)).collect();
            assert_eq!(
                order,
                survivors.iter().collect::<Vec<_>>(),
                "{mode:?} {seed}"
            );
            stale += emu.stale_marker_count();
        }
    }
    assert!(
        stale > 0,
        "some marker images vanished during a listing (and were resumed from)"
    );
}

//! Reliability against the emulator: a token expiring in the middle of a
//! listing, and catalog churn while a listing runs. Faults, their replay,
//! slow and hopeless servers are testkit scenarios (`tests/scenarios.rs`).

use std::collections::HashSet;

use crate::common::{Auth, MODES, builder};
use futures::StreamExt;
use imagecat_core::{ImageCatalog, ListQuery};
use imagecat_emulators::churn::Churn;
use imagecat_emulators::faults::FaultPlan;
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig};
use imagecat_http::HttpOptions;
use imagecat_testkit::listing::{fast_http, listing};
use imagecat_toast::ToastCatalog;

fn config(marker: MarkerMode, images: usize) -> ToastEmulatorConfig {
    ToastEmulatorConfig {
        marker,
        images,
        ..ToastEmulatorConfig::default()
    }
}

async fn start_with(config: ToastEmulatorConfig, faults: FaultPlan) -> ToastEmulator {
    ToastEmulator::start(config, ServeOptions::with_faults(faults))
        .await
        .expect("the emulator starts")
}

fn catalog(emu: &ToastEmulator, auth: Auth, http: HttpOptions) -> ToastCatalog {
    builder(emu, auth).http_options(http).build().unwrap()
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

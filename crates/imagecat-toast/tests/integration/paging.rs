//! Marker paging in both marker modes: the requests sent, every image once,
//! the end of the listing, a lying server, catalog churn, and catalogs far
//! larger than a test could store.

use imagecat_core::raw::PageSource as _;
use std::collections::HashSet;

use crate::common::{Auth, MODES, all_ids, catalog, expected_ids, start};
use futures::{StreamExt, TryStreamExt};
use imagecat_core::raw::PageToken;
use imagecat_core::{ErrorKind, ImageCatalog, ImageId, ListQuery};
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig, ToastImage};

fn config(marker: MarkerMode, images: usize) -> ToastEmulatorConfig {
    ToastEmulatorConfig {
        marker,
        images,
        ..ToastEmulatorConfig::default()
    }
}

/// The `(limit, marker)` of every list request, in order.
fn list_requests(emu: &ToastEmulator) -> Vec<(String, Option<String>)> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| {
            let query = r.query.clone().unwrap_or_default();
            let mut limit = String::new();
            let mut marker = None;
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some(("limit", v)) => limit = v.to_owned(),
                    Some(("marker", v)) => marker = Some(v.to_owned()),
                    _ => panic!("unexpected query {query}"),
                }
            }
            (limit, marker)
        })
        .collect()
}

#[tokio::test]
async fn exclusive_server_every_request_has_a_limit_and_the_last_id_as_marker() {
    let emu = start(config(MarkerMode::Exclusive, 50)).await;
    let catalog = catalog(&emu, Auth::Token);
    let ids = all_ids(&catalog, 7).await;
    assert_eq!(ids, emu.listed_ids());
    let requests = list_requests(&emu);
    // 7 full pages, one of 1 image, and the empty page that ends it (a
    // short page is no proof of the end: the server may cap `limit`).
    assert_eq!(requests.len(), 9);
    assert_eq!(requests[0], ("7".to_owned(), None));
    for (n, (limit, marker)) in requests.iter().enumerate().skip(1) {
        assert_eq!(limit, "7");
        assert_eq!(
            marker.as_deref(),
            Some(ids[(n * 7).min(50) - 1].as_str()),
            "request {n}"
        );
    }
}

#[tokio::test]
async fn a_full_last_page_costs_one_empty_page() {
    let emu = start(config(MarkerMode::Exclusive, 50)).await;
    let catalog = catalog(&emu, Auth::Token);
    assert_eq!(all_ids(&catalog, 10).await.len(), 50);
    let requests = list_requests(&emu);
    assert_eq!(requests.len(), 6);
    assert_eq!(
        requests[5].1.as_deref(),
        Some(emu.listed_ids()[49].as_str())
    );
}

#[tokio::test]
async fn inclusive_server_the_marker_image_is_dropped_and_one_more_asked_for() {
    let emu = start(config(MarkerMode::Inclusive, 50)).await;
    let catalog = catalog(&emu, Auth::Token);
    let ids = all_ids(&catalog, 7).await;
    assert_eq!(ids, emu.listed_ids());
    let requests = list_requests(&emu);
    assert_eq!(requests[0], ("7".to_owned(), None));
    // The second page revealed an inclusive server (its first image was the
    // marker); from then on 8 are asked for, 7 of them new.
    assert_eq!(requests[1], ("7".to_owned(), Some(ids[6].clone())));
    assert_eq!(requests[2], ("8".to_owned(), Some(ids[12].clone())));
    assert_eq!(requests[3], ("8".to_owned(), Some(ids[19].clone())));
    assert!(requests.len() <= 9, "{requests:?}");
}

#[tokio::test]
async fn inclusive_server_at_page_size_one() {
    let emu = start(config(MarkerMode::Inclusive, 30)).await;
    let catalog = catalog(&emu, Auth::Token);
    let ids = all_ids(&catalog, 1).await;
    assert_eq!(ids, emu.listed_ids());
    let requests = list_requests(&emu);
    // The first marker page held only the marker: asked again with 2.
    assert_eq!(requests[1], ("1".to_owned(), Some(ids[0].clone())));
    assert_eq!(requests[2], ("2".to_owned(), Some(ids[0].clone())));
    assert_eq!(requests[3], ("2".to_owned(), Some(ids[1].clone())));
    assert_eq!(requests.len(), 32, "{requests:?}");
}

#[tokio::test]
async fn every_page_size_gives_every_image_once_in_both_modes() {
    for mode in MODES {
        let emu = start(config(mode, 61)).await;
        let want = emu.listed_ids();
        for size in [1, 2, 3, 5, 10, 60, 61, 62, 100, 1000, 5000] {
            // A fresh catalog each time, so the inclusive server is learnt anew.
            let catalog = catalog(&emu, Auth::Token);
            assert_eq!(
                all_ids(&catalog, size).await,
                want,
                "{mode:?} page size {size}"
            );
        }
    }
}

#[tokio::test]
async fn page_size_defaults_to_the_largest_page_1000() {
    let emu = start(config(MarkerMode::Exclusive, 1500)).await;
    let catalog = catalog(&emu, Auth::Token);
    let page = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1000);
    catalog
        .source()
        .page(&ListQuery::new().page_size(50_000), None)
        .await
        .unwrap();
    let requests = list_requests(&emu);
    assert_eq!(requests[0].0, "1000");
    assert_eq!(requests[1].0, "1000");
}

#[tokio::test]
async fn a_server_that_caps_the_limit_lower_still_lists_every_image() {
    for mode in MODES {
        let emu = start(ToastEmulatorConfig {
            max_limit: 7,
            ..config(mode, 50)
        })
        .await;
        let catalog = catalog(&emu, Auth::Token);
        let ids: Vec<String> = catalog
            .list(ListQuery::new().include_deleted(true))
            .map_ok(|i| i.id.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, emu.listed_ids(), "{mode:?}");
        let requests = list_requests(&emu);
        assert!(
            requests.iter().all(|(limit, _)| limit == "1000"),
            "{requests:?}"
        );
        assert!(requests.len() >= 8, "{mode:?}: {requests:?}");
    }
}

#[tokio::test]
async fn the_default_listing_hides_deleted_statuses_and_get_walks_the_list() {
    for mode in MODES {
        let emu = start(config(mode, 50)).await;
        let catalog = catalog(&emu, Auth::Password);
        let ids: Vec<ImageId> = catalog
            .list(ListQuery::new())
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, expected_ids(&emu));
        assert!(ids.len() < 50);
        // get stops as soon as the image is found: one page for the first images.
        emu.server().clear_requests();
        let pending = ImageId::new(emu.seeded_id(17));
        let image = catalog.get(&pending).await.unwrap();
        assert_eq!(image.native_status, "pending_delete");
        assert_eq!(list_requests(&emu).len(), 1);
        emu.server().clear_requests();
        let e = catalog
            .get(&ImageId::new(emu.missing_id()))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        // The whole listing: one page of 50 and the empty page that ends it.
        assert_eq!(list_requests(&emu).len(), 2);
    }
}

#[tokio::test]
async fn get_stops_at_the_page_holding_the_image() {
    let emu = start(config(MarkerMode::Exclusive, 1000)).await;
    let catalog = catalog(&emu, Auth::Token);
    let image = catalog
        .get(&ImageId::new(emu.seeded_id(250)))
        .await
        .unwrap();
    assert_eq!(image.id.as_str(), emu.seeded_id(250));
    // Pages of 1000: the image is on the first.
    assert_eq!(list_requests(&emu).len(), 1);
}

#[tokio::test]
async fn a_lying_server_ends_the_listing_with_an_error() {
    for mode in MODES {
        let emu = start(ToastEmulatorConfig {
            ignore_marker: true,
            ..config(mode, 50)
        })
        .await;
        let catalog = catalog(&emu, Auth::Token);
        let mut stream = catalog.list(ListQuery::new().page_size(5));
        let mut yielded = 0;
        let error = loop {
            match stream.next().await {
                Some(Ok(_)) => yielded += 1,
                Some(Err(e)) => break e,
                None => panic!("{mode:?}: the listing ended without an error"),
            }
        };
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{error}");
        assert!(yielded <= 5, "{yielded}");
        assert!(stream.next().await.is_none());
        assert_eq!(list_requests(&emu).len(), 2);
    }
}

#[tokio::test]
async fn an_unknown_marker_is_an_error_not_a_restart() {
    for mode in MODES {
        let emu = start(config(mode, 50)).await;
        let catalog = catalog(&emu, Auth::Token);
        let e = catalog
            .source()
            .page(&ListQuery::new(), Some(PageToken::Marker(emu.missing_id())))
            .await
            .unwrap_err();
        // Reported as a stale marker (the engine resumes), never a restart.
        assert_eq!(e.stale_marker(), Some(emu.missing_id().as_str()), "{e}");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("[30400]"), "{e}");
        assert!(e.to_string().contains("Invalid marker"), "{e}");
    }
}

#[tokio::test]
async fn churn_between_listings() {
    for mode in MODES {
        let emu = start(config(mode, 40)).await;
        let catalog = catalog(&emu, Auth::Token);
        let before = emu.listed_ids();
        // An image newer than all, one between seeded images 10 and 11, one
        // with the same creation time as seeded image 20, and a removal.
        let newest = ToastImage::new("aaaaaaaa-0000-4000-8000-000000000001", "새 이미지");
        let mut middle = ToastImage::new("bbbbbbbb-0000-4000-8000-000000000002", "中間");
        middle.created_at = emu.seeded_image(10).created_at - chrono::Duration::seconds(1);
        let mut twin = ToastImage::new("ffffffff-0000-4000-8000-000000000003", "twin");
        twin.created_at = emu.seeded_image(20).created_at;
        emu.insert_image(newest.clone());
        emu.insert_image(middle.clone());
        emu.insert_image(twin.clone());
        assert!(emu.remove_image(&before[5]));
        assert!(!emu.remove_image(&before[5]));
        let after = all_ids(&catalog, 3).await;
        assert_eq!(after, emu.listed_ids());
        assert_eq!(after.len(), 42);
        assert_eq!(after[0], newest.id);
        let at = |id: &str| after.iter().position(|x| x == id).unwrap();
        assert_eq!(at(&middle.id), at(&before[10]) + 1);
        // Same time: the greater id first (Glance's id tie-breaker, desc).
        assert_eq!(at(&twin.id) + 1, at(&before[20]));
        assert!(!after.contains(&before[5]));
        // Inserted images can be deleted (or refused) like seeded ones.
        catalog
            .delete(&ImageId::new(middle.id.clone()))
            .await
            .unwrap();
        let mut public = ToastImage::new("cccccccc-0000-4000-8000-000000000004", "public");
        public.is_public = true;
        emu.insert_image(public.clone());
        let e = catalog.delete(&ImageId::new(public.id)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(all_ids(&catalog, 1000).await.len(), 42);
    }
}

#[tokio::test]
async fn a_deleted_marker_image_is_resumed_from_the_image_before_it() {
    for mode in MODES {
        let emu = start(config(mode, 30)).await;
        let catalog = catalog(&emu, Auth::Token);
        let query = ListQuery::new().page_size(5).include_deleted(true);
        let page = catalog.source().page(&query, None).await.unwrap();
        let Some(PageToken::Marker(marker)) = page.next.clone() else {
            panic!("a full first page has a next marker")
        };
        let mut stream = catalog.list(query);
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(stream.next().await.unwrap().unwrap().id.to_string());
        }
        assert_eq!(got.last(), Some(&marker));
        // The marker image and the one before it vanish between two pages.
        assert!(emu.remove_image(&marker));
        assert!(emu.remove_image(&got[3]));
        while let Some(image) = stream.next().await {
            got.push(image.unwrap().id.to_string());
        }
        let mut want = got[..5].to_vec();
        want.extend(emu.listed_ids().into_iter().skip(3));
        assert_eq!(got, want, "{mode:?}");
        assert_eq!(got.len(), 30);
    }
}

#[tokio::test]
async fn a_hundred_thousand_images_through_the_adapter() {
    let emu = start(config(MarkerMode::Exclusive, 100_000)).await;
    let catalog = catalog(&emu, Auth::Password);
    let ids = all_ids(&catalog, 1000).await;
    assert_eq!(ids.len(), 100_000);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 100_000);
    assert_eq!(ids[0], emu.seeded_id(0));
    assert_eq!(ids[99_999], emu.seeded_id(99_999));
    assert_eq!(list_requests(&emu).len(), 101);
    assert_eq!(emu.token_request_count(), 1);
}

#[tokio::test]
async fn a_page_deep_in_ten_million_images_is_served_at_once() {
    for mode in MODES {
        let emu = start(config(mode, 10_000_000)).await;
        let catalog = catalog(&emu, Auth::Token);
        let marker = emu.seeded_id(9_999_990);
        let page = catalog
            .source()
            .page(
                &ListQuery::new().page_size(20),
                Some(PageToken::Marker(marker)),
            )
            .await
            .unwrap();
        let ids: Vec<String> = page.items.iter().map(|i| i.id.to_string()).collect();
        // A raw page is the server's: an inclusive one repeats the marker
        // (the engine drops it, see the listing tests).
        let from = match mode {
            MarkerMode::Inclusive => 9_999_990,
            _ => 9_999_991,
        };
        let want: Vec<String> = (from..10_000_000).map(|i| emu.seeded_id(i)).collect();
        assert_eq!(ids, want, "{mode:?}");
        // Short, but not proof of the end (the server may cap `limit`).
        assert_eq!(page.next, Some(PageToken::Marker(emu.seeded_id(9_999_999))));
        assert_eq!(emu.len(), 10_000_000);
    }
}

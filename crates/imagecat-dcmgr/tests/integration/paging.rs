//! Listing: the parameters sent, the account header, read-ahead order, and
//! servers whose totals and pages disagree.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use futures::{StreamExt, TryStreamExt};
use imagecat_core::{
    ErrorKind, Image, ImageCatalog, ImageStatus, ListQuery, PagingOptions, PagingStyle, Visibility,
};
use imagecat_dcmgr::{DcmgrCatalog, MAX_PAGE_SIZE};
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::RecordedRequest;

/// Query parameters expected to be present with a value, or absent.
type Expect = &'static [(&'static str, Option<&'static str>)];

fn params(r: &RecordedRequest) -> HashMap<String, String> {
    r.query_pairs().into_iter().collect()
}

async fn ids(
    catalog: &DcmgrCatalog,
    query: ListQuery,
) -> Result<Vec<String>, imagecat_core::Error> {
    catalog
        .list(query)
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
}

/// Lists with a guard, so a loop fails the test instead of hanging it.
async fn guarded(
    catalog: &DcmgrCatalog,
    query: ListQuery,
) -> (Vec<String>, Option<imagecat_core::Error>) {
    let run = async {
        let mut stream = catalog.list(query);
        let mut got = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(image) => got.push(image.id.to_string()),
                Err(e) => return (got, Some(e)),
            }
        }
        (got, None)
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the listing ended")
}

/// Every image (deleted ones too), `page_size` a page, with this read-ahead.
/// A 12.03 emulator of 95 images whose pages say there are `total`.
async fn wrong_total(total: u64) -> DcmgrEmulator {
    crate::common::emulator(
        DcmgrEmulatorConfig::v1203()
            .images(95)
            .wrong_total(Some(total)),
    )
    .await
}

async fn all_with_read_ahead(
    emu: &DcmgrEmulator,
    read_ahead: usize,
    page_size: u32,
) -> (Vec<String>, Option<imagecat_core::Error>) {
    let catalog = DcmgrCatalog::builder()
        .endpoint(emu.endpoint())
        .paging_options(PagingOptions::default().read_ahead(read_ahead))
        .build()
        .unwrap();
    guarded(
        &catalog,
        ListQuery::new().page_size(page_size).include_deleted(true),
    )
    .await
}

#[tokio::test]
async fn every_request_has_start_limit_state_and_the_account() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let got = ids(&catalog, ListQuery::new().page_size(7)).await.unwrap();
    assert_eq!(got, emu.default_listing(Some("a-shpoolxx")));
    let requests = emu.server().requests();
    assert!(requests.len() >= 5);
    let mut starts = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/12.03/images");
        assert_eq!(r.header("x-vdc-account-uuid"), Some("a-shpoolxx"));
        let p = params(r);
        assert_eq!(p["limit"], "7", "{r:?}");
        assert_eq!(p["state"], "alive");
        assert_eq!(p["is_public"], "true");
        assert!(!p.contains_key("account_id"));
        starts.push(p["start"].parse::<u64>().unwrap());
    }
    starts.sort_unstable();
    let want: Vec<u64> = (0..starts.len() as u64).map(|n| n * 7).collect();
    assert_eq!(starts, want, "each page fetched once");
    // Own and public images of others are listed, deleted ones are not.
    let listed: Vec<_> = got.iter().map(|id| emu.image(id).unwrap()).collect();
    assert!(
        listed
            .iter()
            .any(|i| i.account_id != "a-shpoolxx" && i.is_public)
    );
    assert!(
        listed
            .iter()
            .all(|i| i.account_id == "a-shpoolxx" || i.is_public)
    );
    assert!(listed.iter().all(|i| i.state != "deleted"));
}

#[tokio::test]
async fn the_default_page_size_is_250_and_the_largest_1000() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203().images(10)).await;
    let catalog = crate::common::catalog(&emu, None);
    let caps = catalog.info().capabilities;
    assert_eq!(caps.paging, PagingStyle::Offset);
    assert!(caps.reports_total && caps.soft_delete && caps.delete);
    assert_eq!(
        (caps.default_page_size, caps.max_page_size),
        (250, MAX_PAGE_SIZE)
    );
    ids(&catalog, ListQuery::new()).await.unwrap();
    ids(&catalog, ListQuery::new().page_size(1_000_000))
        .await
        .unwrap();
    ids(&catalog, ListQuery::new().page_size(0)).await.unwrap();
    let limits: Vec<_> = emu
        .server()
        .requests()
        .iter()
        .map(|r| params(r)["limit"].clone())
        .collect();
    assert_eq!(limits[..3], ["250", "1000", "1"]);
    assert!(
        limits[3..].iter().all(|l| l == "1"),
        "page size 0 is clamped to 1"
    );
    // Without an account: no header, no is_public (the admin view).
    for r in emu.server().requests() {
        assert_eq!(r.header("x-vdc-account-uuid"), None);
        assert!(!params(&r).contains_key("is_public"));
    }
}

#[tokio::test]
async fn queries_become_server_filters_where_they_are_exact() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let me = Some("a-shpoolxx");
    let cases: [(Option<&str>, ListQuery, Expect); 7] = [
        (
            me,
            ListQuery::new().include_deleted(true),
            &[("state", None), ("is_public", Some("true"))],
        ),
        (
            me,
            ListQuery::new().status(ImageStatus::Active),
            &[("state", Some("available"))],
        ),
        (
            me,
            ListQuery::new().status(ImageStatus::Deleted),
            &[("state", Some("deleted"))],
        ),
        (
            me,
            ListQuery::new().owner("a-shpoolxx"),
            &[("is_public", None), ("account_id", None)],
        ),
        (
            None,
            ListQuery::new().owner("a-tenant0b"),
            &[("account_id", Some("a-tenant0b")), ("is_public", None)],
        ),
        (
            None,
            ListQuery::new().visibility(Visibility::Public),
            &[("is_public", Some("true"))],
        ),
        (
            None,
            ListQuery::new().visibility(Visibility::Private),
            &[("is_public", Some("false"))],
        ),
    ];
    for (account, query, want) in cases {
        emu.server().clear_requests();
        let catalog = crate::common::catalog(&emu, account);
        let all: Vec<Image> = catalog
            .list(ListQuery::new().include_deleted(true))
            .try_collect()
            .await
            .unwrap();
        let expected: Vec<_> = all
            .iter()
            .filter(|i| query.matches(i))
            .map(|i| i.id.to_string())
            .collect();
        emu.server().clear_requests();
        let got = ids(&catalog, query.clone()).await.unwrap();
        assert_eq!(got, expected, "{query:?}");
        let p = params(&emu.server().requests()[0]);
        for (key, value) in want {
            assert_eq!(p.get(*key).map(String::as_str), *value, "{query:?}: {key}");
        }
    }
}

#[tokio::test]
async fn read_ahead_keeps_the_servers_order_over_5000_images() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203().images(6_000).seed(3)).await;
    let catalog = DcmgrCatalog::builder()
        .endpoint(emu.endpoint())
        .http_options(crate::common::fast_http())
        .paging_options(PagingOptions::default().read_ahead(8))
        .build()
        .unwrap();
    let got = ids(&catalog, ListQuery::new().page_size(50)).await.unwrap();
    let want = emu.default_listing(None);
    assert!(want.len() > 5_000);
    assert_eq!(got, want);
    let pages = want.len().div_ceil(50);
    let sent = emu.server().request_count();
    // Read-ahead may fetch up to 8 pages past the end, never a loop.
    assert!(
        sent >= pages && sent <= pages + 8,
        "{sent} requests for {pages} pages"
    );
    // Legacy too (no server-side state filter: the client filter drops deleted images).
    let legacy = crate::common::emulator(
        DcmgrEmulatorConfig::legacy()
            .require_account(false)
            .images(5_500),
    )
    .await;
    let got = ids(
        &crate::common::catalog(&legacy, None),
        ListQuery::new().page_size(100),
    )
    .await
    .unwrap();
    assert_eq!(got, legacy.default_listing(None));
}

#[tokio::test]
async fn a_total_larger_than_the_catalog_finishes_with_what_the_pages_gave() {
    for read_ahead in [1, 8] {
        let emu = wrong_total(100_000).await;
        let (got, error) = all_with_read_ahead(&emu, read_ahead, 10).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(got, emu.listing(None, true));
        // The pages, plus at most two rounds of read-ahead past the end (the
        // short last page cancels the first round and re-plans from there).
        let sent = emu.server().request_count();
        assert!(sent <= 10 + 2 * read_ahead + 1, "{sent}");
    }
}

#[tokio::test]
async fn a_total_smaller_than_the_catalog_does_not_skip_images() {
    for read_ahead in [1, 8] {
        let emu = wrong_total(25).await;
        let (got, error) = all_with_read_ahead(&emu, read_ahead, 10).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            got,
            emu.listing(None, true),
            "the page at 20 holds more than 25 allows: keep going"
        );
    }
}

#[tokio::test]
async fn a_consistent_total_is_trusted() {
    // A total that lands exactly on a page end cannot be told from the
    // truth without an extra request per listing: the listing stops there
    // (documented in docs/backends/dcmgr.md).
    let emu = wrong_total(20).await;
    let catalog = crate::common::catalog(&emu, None);
    let (got, error) = guarded(
        &catalog,
        ListQuery::new().page_size(10).include_deleted(true),
    )
    .await;
    assert!(error.is_none());
    assert_eq!(got, emu.listing(None, true)[..20]);
}

#[tokio::test]
async fn a_server_ignoring_start_ends_in_an_error_not_a_loop() {
    for (images, total) in [
        (95, None),
        (95, Some(1_000_000)),
        (95, Some(3)),
        (5_000, None),
    ] {
        let emu = crate::common::emulator(
            DcmgrEmulatorConfig::v1203()
                .images(images)
                .ignore_start(true)
                .wrong_total(total),
        )
        .await;
        let catalog = crate::common::catalog(&emu, None);
        let (got, error) = guarded(
            &catalog,
            ListQuery::new().page_size(10).include_deleted(true),
        )
        .await;
        let error = error.expect("an error");
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{error}");
        assert_eq!(got, emu.listing(None, true)[..10], "the first page only");
        assert!(
            emu.server().request_count() <= 10,
            "{}",
            emu.server().request_count()
        );
    }
}

#[tokio::test]
async fn short_pages_before_the_total_keep_paging() {
    // A server (or proxy) returning at most 7 images per page whatever the limit.
    let emu =
        crate::common::emulator(DcmgrEmulatorConfig::v1203().images(120).max_limit(Some(7))).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let got = ids(&catalog, ListQuery::new().page_size(50)).await.unwrap();
    assert_eq!(got, emu.default_listing(Some("a-shpoolxx")));
}

#[tokio::test]
async fn pages_without_a_total_end_on_an_empty_page() {
    let ids_all: Vec<String> = (0..23).map(|n| format!("wmi-img{n:03}")).collect();
    let served = ids_all.clone();
    let server = crate::common::canned(Router::new().route(
        "/api/images",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let served = served.clone();
            async move {
                let start: usize = q["start"].parse().unwrap();
                let limit: usize = q["limit"].parse().unwrap();
                let page: Vec<_> = served
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|id| serde_json::json!({"id": id, "state": "available"}))
                    .collect();
                let body = serde_json::json!({"start": start, "result": page});
                ([(CONTENT_TYPE, "application/json")], body.to_string())
            }
        }),
    ))
    .await;
    let catalog = crate::common::catalog_at(&format!("{}/api", server.base_url()), None);
    let got = ids(&catalog, ListQuery::new().page_size(5)).await.unwrap();
    assert_eq!(got, ids_all);
    assert_eq!(server.request_count(), 6, "5 pages and the empty one");
}

#[tokio::test]
async fn the_legacy_layout_in_both_shapes() {
    for wrapped in [false, true] {
        let mut config = DcmgrEmulatorConfig::legacy();
        config.legacy_wrapped = wrapped;
        let emu = DcmgrEmulator::start(config, Default::default())
            .await
            .unwrap();
        let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
        let got = ids(&catalog, ListQuery::new().page_size(4)).await.unwrap();
        let want = emu.default_listing(Some("a-shpoolxx"));
        assert_eq!(got, want);
        // 11.12 lists the account's own images only.
        assert!(
            got.iter()
                .all(|id| emu.image(id).unwrap().account_id == "a-shpoolxx")
        );
        for r in emu.server().requests() {
            assert_eq!(r.path, "/api/images");
            assert_eq!(r.header("x-vdc-account-uuid"), Some("a-shpoolxx"));
        }
    }
}

#[tokio::test]
async fn churn_while_listing_neither_loops_nor_fails() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203().images(300)).await;
    let catalog = DcmgrCatalog::builder()
        .endpoint(emu.endpoint())
        .paging_options(PagingOptions::default().read_ahead(1))
        .build()
        .unwrap();
    let mut stream = catalog.list(ListQuery::new().page_size(20));
    let mut got = Vec::new();
    let mut n = 0;
    while let Some(item) = stream.next().await {
        let image = item.unwrap();
        got.push(image.id.to_string());
        n += 1;
        if n % 20 == 5 {
            // A newer image pushes every offset down by one: pages overlap,
            // and the engine drops the repeated id.
            let mut fresh = imagecat_emulators::dcmgr::EmulatedImage::new(
                format!("wmi-new{n:05}"),
                "a-shpoolxx",
            );
            fresh.display_name = format!("new-{n}");
            emu.insert(fresh);
        }
    }
    let unique: std::collections::HashSet<_> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no id twice");
    let original = emu.listing(None, false);
    let missed = original
        .iter()
        .filter(|id| !id.starts_with("wmi-new") && !unique.contains(id))
        .count();
    assert_eq!(
        missed, 0,
        "inserts at the top never make us skip older images"
    );
}

#[tokio::test]
async fn a_total_that_shrinks_after_the_first_page_loses_no_image() {
    // The first page says 1000, every later page 500, and the server still
    // serves all 1000: the listing returns every image the pages show.
    for read_ahead in [1, 8] {
        let emu = crate::common::emulator(
            DcmgrEmulatorConfig::v1203()
                .images(1000)
                .shrinking_total(Some(500)),
        )
        .await;
        let (got, error) = all_with_read_ahead(&emu, read_ahead, 100).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(got.len(), 1000, "read_ahead {read_ahead}");
        assert_eq!(got, emu.listing(None, true));
    }
}

#[tokio::test]
async fn a_total_that_really_shrank_ends_at_an_empty_page() {
    // The first page says 1000, later pages 500, and the server really
    // holds 500 (images deleted during the listing): one more request
    // finds the empty page, and the listing ends with all 500.
    let emu = crate::common::emulator(
        DcmgrEmulatorConfig::v1203()
            .images(500)
            .wrong_total(Some(1000))
            .shrinking_total(Some(500)),
    )
    .await;
    let (got, error) = all_with_read_ahead(&emu, 1, 100).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(got, emu.listing(None, true));
    assert_eq!(
        emu.server().request_count(),
        6,
        "five pages and the empty one"
    );
}

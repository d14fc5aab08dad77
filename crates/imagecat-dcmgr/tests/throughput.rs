//! Listing throughput against a plain `serde_json::Value` loop over the
//! same pages (run by hand: `cargo test --release -p imagecat-dcmgr --test
//! throughput -- --ignored --nocapture`; `IMAGECAT_THROUGHPUT_IMAGES` sets the
//! catalog size, default 100,000). Prints timings, asserts only that both
//! saw the same images.

mod common;

use std::time::Instant;

use futures::TryStreamExt;
use imagecat_core::{ImageCatalog, ListQuery, PagingOptions};
use imagecat_dcmgr::DcmgrCatalog;
use imagecat_testkit::dcmgr::DcmgrEmulatorConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a throughput measurement, run by hand in release mode"]
async fn listing_throughput_against_a_value_loop() {
    let n = std::env::var("IMAGECAT_THROUGHPUT_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let emu = common::emulator(DcmgrEmulatorConfig::v1203().images(n)).await;
    let page = 1000u64;
    // Warm the emulator's scope cache.
    let _ = common::catalog(&emu, None)
        .list_page(&ListQuery::new().include_deleted(true).page_size(1), None)
        .await
        .unwrap();
    for round in 0..3 {
        let client = imagecat_http::reqwest::Client::new();
        let t = Instant::now();
        let mut seen = 0usize;
        let mut start = 0u64;
        loop {
            let url = format!("{}/images?start={start}&limit={page}", emu.endpoint());
            let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let results = v[0]["results"].as_array().unwrap();
            if results.is_empty() {
                break;
            }
            seen += results.len();
            start += results.len() as u64;
        }
        let plain = t.elapsed();

        let catalog = DcmgrCatalog::builder()
            .endpoint(emu.endpoint())
            .paging_options(PagingOptions::default().read_ahead(1))
            .build()
            .unwrap();
        let t = Instant::now();
        let listed = catalog
            .list(
                ListQuery::new()
                    .include_deleted(true)
                    .page_size(page as u32),
            )
            .try_fold(0usize, |n, _image| async move { Ok(n + 1) })
            .await
            .unwrap();
        let adapter = t.elapsed();
        assert_eq!(listed, seen);
        println!(
            "round {round}: {seen} images: Value loop {plain:?}, adapter (no read-ahead) {adapter:?}: {:.0}%",
            100.0 * plain.as_secs_f64() / adapter.as_secs_f64()
        );
    }
}

//! Catalog churn in the emulators: one step after each list request, newest
//! images first, deletions of existing images (soft on DCMGR), a log of what
//! changed, and the same changes for the same seed.

#![cfg(all(feature = "toast", feature = "dcmgr"))]

use imagecat_emulators::churn::{Churn, ChurnLog};
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 GET on loopback; the status code.
async fn get(addr: std::net::SocketAddr, path_and_query: &str, headers: &[(&str, &str)]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn toast(churn: Churn) -> ToastEmulator {
    ToastEmulator::start(
        ToastEmulatorConfig {
            images: 40,
            churn: Some(churn),
            ..ToastEmulatorConfig::default()
        },
        ServeOptions::default(),
    )
    .await
    .unwrap()
}

async fn toast_lists(emu: &ToastEmulator, n: usize) {
    for _ in 0..n {
        let status = get(
            emu.server().addr(),
            &format!(
                "/compute/v1.0/appkeys/{}/images?limit=5",
                imagecat_emulators::toast::APPKEY
            ),
            &[("X-Auth-Token", imagecat_emulators::toast::TOKEN)],
        )
        .await;
        assert_eq!(status, 200);
    }
}

fn assert_steps(log: &ChurnLog, steps: usize, inserts: usize, deletes: usize) {
    assert_eq!(log.steps.len(), steps);
    for step in &log.steps {
        assert_eq!(step.inserted.len(), inserts);
        assert_eq!(step.deleted.len(), deletes);
    }
}

#[tokio::test]
async fn toast_churn_follows_each_list_request_newest_first() {
    let emu = toast(Churn::new(2, 9)).await;
    let before = emu.listed_ids();
    assert_eq!(emu.churn_log(), ChurnLog::default());
    toast_lists(&emu, 3).await;
    let log = emu.churn_log();
    assert_steps(&log, 3, 2, 2);
    let now = emu.listed_ids();
    // The newest first: the last image created leads the listing.
    let mut inserted = log.inserted();
    inserted.reverse();
    let live_new: Vec<&String> = inserted
        .iter()
        .filter(|id| !log.deleted().contains(id))
        .collect();
    assert_eq!(now[..live_new.len()].iter().collect::<Vec<_>>(), live_new);
    for id in log.deleted() {
        assert!(!now.contains(&id), "{id} is gone");
    }
    // Every image deleted existed when it was deleted.
    let existed: Vec<String> = before
        .iter()
        .chain(log.inserted().iter())
        .cloned()
        .collect();
    assert!(log.deleted().iter().all(|id| existed.contains(id)));
    assert_eq!(now.len(), before.len());
    assert_eq!(
        log.survivors(&before).len(),
        before.len()
            - log
                .deleted()
                .iter()
                .filter(|id| before.contains(id))
                .count()
    );
    // Requests other than list pages bring no churn.
    let status = get(
        emu.server().addr(),
        "/compute/v1.0/appkeys/emulator-appkey/nothing",
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(emu.churn_log().steps.len(), 3);
}

#[tokio::test]
async fn toast_churn_replays_with_its_seed() {
    let mut logs = Vec::new();
    for seed in [4, 4, 5] {
        let emu = toast(Churn::new(3, seed).inserts(1)).await;
        toast_lists(&emu, 5).await;
        assert_steps(&emu.churn_log(), 5, 1, 3);
        logs.push((emu.churn_log(), emu.listed_ids()));
    }
    assert_eq!(logs[0], logs[1]);
    assert_ne!(logs[0].0, logs[2].0);
}

async fn dcmgr(churn: Churn) -> DcmgrEmulator {
    DcmgrEmulator::start(
        DcmgrEmulatorConfig::v1203().images(40).churn(Some(churn)),
        ServeOptions::default(),
    )
    .await
    .unwrap()
}

async fn dcmgr_lists(emu: &DcmgrEmulator, n: usize) {
    for _ in 0..n {
        let status = get(
            emu.server().addr(),
            "/api/12.03/images?start=0&limit=5",
            &[],
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn dcmgr_churn_creates_the_newest_images_and_soft_deletes() {
    let emu = dcmgr(Churn::new(2, 3)).await;
    let before = emu.listing(None, true);
    dcmgr_lists(&emu, 4).await;
    let log = emu.churn_log();
    assert_steps(&log, 4, 2, 2);
    let now = emu.listing(None, true);
    let mut inserted = log.inserted();
    inserted.reverse();
    assert_eq!(
        now[..8],
        inserted[..],
        "the newest first, deleted ones included"
    );
    for id in log.deleted() {
        // Soft: the row stays, deleted.
        let image = emu.image(&id).expect("a deleted image keeps its row");
        assert_eq!(image.state, "deleted");
        assert!(image.deleted_at.is_some());
        assert!(!emu.default_listing(None).contains(&id));
    }
    assert_eq!(now.len(), before.len() + 8);
    for id in &inserted {
        assert!(id.starts_with("wmi-c"), "{id}");
        assert_eq!(emu.image(id).unwrap().account_id, "a-shpoolxx");
    }
    // Show requests bring no churn.
    let status = get(emu.server().addr(), "/api/12.03/images/wmi-centos1d64", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(emu.churn_log().steps.len(), 4);
}

#[tokio::test]
async fn dcmgr_churn_replays_with_its_seed() {
    let mut logs = Vec::new();
    for seed in [6, 6, 7] {
        let emu = dcmgr(Churn::new(2, seed)).await;
        dcmgr_lists(&emu, 5).await;
        logs.push((emu.churn_log(), emu.listing(None, true)));
    }
    assert_eq!(logs[0], logs[1]);
    assert_ne!(logs[0].0, logs[2].0);
}

//! Reliability end to end: the facade tuned through `OpenOptions` against
//! emulators with faults and churn at once, and `imagecat emulate` with its
//! fault and churn options serving the CLI.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{command, imagecat};
use imagecat::{
    Credentials, HttpOptions, ImageCatalogExt, ListQuery, OpenOptions, PagingOptions, RetryPolicy,
    SecretString,
};
use imagecat_emulators::churn::Churn;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::faults::{FaultKind, FaultPlan};
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

/// What a user tunes for a flaky, busy server (and what keeps tests fast).
fn tuned() -> OpenOptions {
    OpenOptions::new()
        .http(
            HttpOptions::default()
                .request_timeout(Duration::from_millis(300))
                .total_timeout(Duration::from_secs(20))
                .retry(
                    RetryPolicy::default()
                        .max_attempts(10)
                        .backoff(Duration::from_millis(1), Duration::from_millis(4))
                        .max_retry_after(Duration::from_millis(4)),
                ),
        )
        .paging(PagingOptions::default().read_ahead(4))
}

fn faults(seed: u64) -> ServeOptions {
    ServeOptions {
        faults: FaultPlan::new(0.2, &FaultKind::ALL, seed).slow_delay(Duration::from_secs(3)),
        ..ServeOptions::default()
    }
}

fn no_duplicate(ids: &[String]) -> HashSet<&String> {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no id twice");
    unique
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_churn_at_once_through_the_facade() {
    // TOAST: marker paging; every image that existed for the whole listing.
    let t = ToastEmulator::start(
        ToastEmulatorConfig {
            images: 120,
            churn: Some(Churn::new(1, 5)),
            ..ToastEmulatorConfig::default()
        },
        faults(2),
    )
    .await
    .unwrap();
    let before = t.listed_ids();
    let token = Credentials::token(SecretString::new(t.config().token.clone()));
    let catalog = imagecat::open_with(&t.catalog_url(), &tuned().credentials(token)).unwrap();
    let ids: Vec<String> = catalog
        .collect(ListQuery::new().page_size(4).include_deleted(true))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    let got = no_duplicate(&ids);
    let log = t.churn_log();
    assert!(!t.server().injected_faults().is_empty());
    assert!(log.steps.len() >= 20);
    for id in log.survivors(&before) {
        assert!(
            got.contains(&id),
            "toast: {id} existed throughout and was missed"
        );
    }

    // DCMGR: offset paging with deleted images included (soft deletes keep
    // their rows); every image listed before is returned.
    let d = DcmgrEmulator::start(
        DcmgrEmulatorConfig::v1203()
            .images(150)
            .churn(Some(Churn::new(1, 6))),
        faults(3),
    )
    .await
    .unwrap();
    let before = d.listing(None, true);
    let catalog = imagecat::open_with(&d.catalog_url(None), &tuned()).unwrap();
    let ids: Vec<String> = catalog
        .collect(ListQuery::new().page_size(5).include_deleted(true))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    let got = no_duplicate(&ids);
    assert!(!d.server().injected_faults().is_empty());
    for id in &before {
        assert!(got.contains(id), "dcmgr: {id} was missed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_serves_faults_and_churn_to_the_cli() {
    // Kinds the CLI's default retry policy gets through quickly (no 40 s
    // slow answers, no 1 s Retry-After).
    let mut child = command(&[
        "emulate",
        "toast",
        "--images",
        "60",
        "--churn-per-request",
        "1",
        "--churn-seed",
        "2",
        "--fault-rate",
        "0.2",
        "--faults",
        "500,502,503,reset,truncate,shape",
        "--fault-seed",
        "4",
    ])
    .stderr(Stdio::null())
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next_line().await.unwrap().expect("the catalog URL");
    let config = ToastEmulatorConfig::default();
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "list",
            "--page-size",
            "5",
            "--include-deleted",
        ],
        &[("IMAGECAT_TOAST_TOKEN", &config.token)],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids: Vec<String> = run.column("id");
    no_duplicate(&ids);
    // 60 images, at most one deleted per page request (about 13 of them):
    // most are there, none twice, and the listing ended.
    assert!((40..=60).contains(&ids.len()), "{}", ids.len());
    child.kill().await.unwrap();

    let refused = imagecat(&["emulate", "glance", "--churn-per-request", "1"], &[]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--churn-per-request"),
        "{}",
        refused.stderr
    );
}

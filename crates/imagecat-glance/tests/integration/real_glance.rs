//! The Glance adapter against a REAL Glance API server (glance from PyPI,
//! served by gunicorn on 127.0.0.1, SQLite and a filesystem store, no
//! Keystone): the conformance suite and the adapter's own tests.
//!
//! Each test installs Glance if needed (`scripts/real-glance/install.sh`,
//! about 30 s the first time, serialised by a file lock, instant after),
//! starts its own server on an ephemeral port (`serve.sh`), waits until
//! `/versions` answers, creates its images through the API, and stops the
//! server at the end, also on panic (a Drop guard kills its process group).
//!
//! `IMAGECAT_SKIP_REAL_GLANCE=1` skips these tests (visibly);
//! `IMAGECAT_REAL_GLANCE_DIR` sets the install directory (default
//! `target/real-glance`).

use imagecat_core::raw::PageSource as _;
use imagecat_testkit::real_glance::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use imagecat_core::raw::PageToken;
use imagecat_core::usage::{ImageUsage, UnknownReason};
use imagecat_core::{
    Deleted, ErrorKind, Image, ImageCatalog, ImageCatalogExt, ImageId, ImageStatus, ListQuery,
    Sort, SortKey, Visibility,
};
use imagecat_glance::GlanceCatalog;
use imagecat_http::reqwest;
use imagecat_http::{HttpOptions, RetryPolicy, SecretString};
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete, run_all};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET_TOKEN: &str = "real-glance-unused-secret-token";

/// A loopback TCP proxy in front of the real server that counts the image
/// requests passing through (counted before the server sees them, so a
/// count taken after a response is exact). The adapter's requests have no
/// body: each request is a head ending in an empty line.
struct CountingProxy {
    url: String,
    count: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let count = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&count);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let counter = Arc::clone(&counter);
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let upward = async move {
                        let mut head = Vec::new();
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            head.extend_from_slice(&buf[..n]);
                            while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                                let line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
                                if line.windows(10).any(|w| w == b"/v2/images") {
                                    counter.fetch_add(1, Ordering::SeqCst);
                                }
                                head.drain(..end + 4);
                            }
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = server_write.shutdown().await;
                    };
                    let downward = async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                        let _ = client_write.shutdown().await;
                    };
                    tokio::join!(upward, downward);
                });
            }
        });
        CountingProxy {
            url: format!("http://{addr}"),
            count,
            task,
        }
    }
}

/// One image this test creates through the API.
#[derive(Debug, Clone)]
struct Seed {
    id: String,
    name: String,
    visibility: &'static str,
    owner: &'static str,
    protected: bool,
    data: Option<Vec<u8>>,
}

fn seeds(prefix: &str, n: u64) -> Vec<Seed> {
    (0..n)
        .map(|i| Seed {
            id: format!("{prefix}-0000-4000-8000-{i:012x}"),
            name: format!("real-{i:02}"),
            visibility: if i % 3 == 0 { "public" } else { "private" },
            owner: ["proj-a", "proj-b"][(i % 2) as usize],
            protected: i % 7 == 3,
            data: (i % 2 == 0).then(|| {
                format!("image data of real-{i:02}\n")
                    .repeat(i as usize + 1)
                    .into_bytes()
            }),
        })
        .collect()
}

/// Creates the images in order (so the default listing, newest first, is
/// the reverse order), uploading data for those that have some.
async fn create(base: &str, seeds: &[Seed]) {
    let client = reqwest::Client::new();
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let first_second = second();
    for (i, s) in seeds.iter().enumerate() {
        if i + 1 == seeds.len() {
            // Glance shows whole seconds: the golden-query test needs the
            // last image in a later second than the first (a fixture
            // precondition, not a race), so wait for the clock to get there.
            while second() <= first_second {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        let body = json!({
            "id": s.id,
            "name": s.name,
            // Glance checks uploaded data against the disk format: raw data.
            "disk_format": if s.data.is_some() || i % 3 == 1 { "raw" } else { "qcow2" },
            "container_format": "bare",
            "visibility": s.visibility,
            "owner": s.owner,
            "protected": s.protected,
            "min_disk": (i % 4) * 5,
            "min_ram": (i % 3) * 256,
            "os_architecture": if i % 4 == 0 { "aarch64" } else { "x86_64" },
            "description": format!("Real image {i}"),
            "custom_key": format!("value-{i}"),
            "os_type": "linux",
            "tags": if i % 5 == 0 { vec!["golden"] } else { vec![] },
        });
        let response = client
            .post(format!("{base}/v2/images"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("POST /v2/images");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 201, "creating {}: {text}", s.name);
        if let Some(data) = &s.data {
            let response = client
                .put(format!("{base}/v2/images/{}/file", s.id))
                .header("content-type", "application/octet-stream")
                .body(data.clone())
                .send()
                .await
                .expect("PUT /v2/images/{id}/file");
            assert_eq!(response.status().as_u16(), 204, "uploading {}", s.name);
        }
    }
}

async fn raw_delete(base: &str, id: &str) {
    let response = reqwest::Client::new()
        .delete(format!("{base}/v2/images/{id}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status().as_u16(), 204, "deleting {id}");
}

fn catalog(endpoint: &str) -> GlanceCatalog {
    GlanceCatalog::builder()
        .endpoint(endpoint)
        .token(SecretString::new(SECRET_TOKEN))
        .http_options(HttpOptions::default().retry(
            RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(50)),
        ))
        .build()
        .expect("the catalog builds")
}

/// A real Glance with 24 images seeded under `prefix`, behind a proxy
/// that counts requests; `None` when the real-Glance tests are skipped.
async fn seeded(prefix: &str) -> Option<(RealGlance, Vec<Seed>, CountingProxy)> {
    if skip() {
        return None;
    }
    let glance = RealGlance::start().await;
    let seeds = seeds(prefix, 24);
    create(&glance.url, &seeds).await;
    let proxy = CountingProxy::start(&glance.url).await;
    Some((glance, seeds, proxy))
}

fn newest_first(seeds: &[Seed]) -> Vec<ImageId> {
    seeds
        .iter()
        .rev()
        .map(|s| ImageId::new(s.id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_against_a_real_glance() {
    let Some((_glance, seeds, proxy)) = seeded("c0f0c0f0").await else {
        return;
    };
    let count = Arc::clone(&proxy.count);
    // Deletable: unprotected, from the oldest.
    let deletable: Vec<ImageId> = seeds
        .iter()
        .filter(|s| !s.protected)
        .take(2)
        .map(|s| ImageId::new(s.id.clone()))
        .collect();
    let fixture = Fixture {
        catalog: Arc::new(catalog(&proxy.url)),
        requests: Arc::new(move || count.load(Ordering::SeqCst)),
        expected: newest_first(&seeds),
        deletable,
        missing: ImageId::new("c0f0c0f0-0000-4000-8000-ffffffffffff"),
        invalid: [
            "",
            "../etc",
            "a?b=c",
            "not-a-uuid",
            "c0f0c0f0-0000-4000-8000-000000000001/file",
        ]
        .into_iter()
        .map(ImageId::new)
        .collect(),
        // Glance's schema allows only its own status words.
        unknown_status: None,
        after_delete: AfterDelete::NotFound,
        second_delete: SecondDelete::NotFound,
        // A real server cannot be made to ignore the marker (the emulator run covers it).
        lying: None,
        secrets: vec![SECRET_TOKEN.to_owned()],
    };
    let report = run_all(&fixture).await;
    report.assert_passed();
    let skipped: Vec<_> = report.skipped.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        skipped,
        ["unknown_status_is_kept", "repeated_pages_end_in_an_error"]
    );
}

fn filtered(all: &[Image], q: &ListQuery) -> Vec<ImageId> {
    all.iter()
        .filter(|i| q.matches(i))
        .map(|i| i.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_against_a_real_glance() {
    let Some((glance, seeds, proxy)) = seeded("a0a0a0a0").await else {
        return;
    };
    let catalog = catalog(&proxy.url);
    let expected = newest_first(&seeds);

    // Paging by next links at several page sizes; a full last page is
    // followed by one empty page (24 images at page size 4 or 8).
    for (size, requests) in [(4u32, 7u64), (5, 5), (8, 4), (1000, 1)] {
        let before = proxy.count.load(Ordering::SeqCst);
        let got: Vec<ImageId> = catalog
            .list(ListQuery::new().page_size(size))
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got, expected, "page size {size}");
        assert_eq!(
            proxy.count.load(Ordering::SeqCst) - before,
            requests,
            "requests at page size {size}"
        );
    }
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(5), None)
        .await
        .unwrap();
    assert_eq!(page.next, Some(PageToken::Marker(expected[4].to_string())));

    // The model, field by field, against what was created.
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    for image in &all {
        let i = seeds
            .iter()
            .position(|s| s.id == image.id.as_str())
            .unwrap();
        let seed = &seeds[i];
        assert_eq!(image.name.as_deref(), Some(seed.name.as_str()));
        assert_eq!(image.owner.as_deref(), Some(seed.owner));
        assert_eq!(image.visibility, Visibility::parse(seed.visibility));
        assert_eq!(image.protected, Some(seed.protected));
        assert_eq!(image.min_disk_gb, Some((i as u64 % 4) * 5));
        assert_eq!(image.min_ram_mb, Some((i as u64 % 3) * 256));
        assert_eq!(
            image.description.as_deref(),
            Some(format!("Real image {i}").as_str())
        );
        assert_eq!(image.properties["custom_key"], format!("value-{i}"));
        assert_eq!(
            image.arch.as_deref(),
            Some(if i % 4 == 0 { "aarch64" } else { "x86_64" })
        );
        assert!(image.created_at.is_some() && image.updated_at.is_some());
        assert!(!image.properties.contains_key("self"));
        match &seed.data {
            Some(data) => {
                assert_eq!(image.status, ImageStatus::Active, "{}", seed.name);
                assert_eq!(image.size_bytes, Some(data.len() as u64));
                assert_eq!(image.checksum.as_ref().map(String::len), Some(32), "md5");
            }
            None => {
                assert_eq!(image.status, ImageStatus::Queued, "{}", seed.name);
                assert_eq!(image.size_bytes, None);
                assert_eq!(image.checksum, None);
            }
        }
        let native = image.native.as_ref().unwrap().to_value();
        assert_eq!(native["id"], Value::String(seed.id.clone()));
    }
    let got = catalog.get(&all[3].id).await.unwrap();
    assert_eq!(got, all[3]);

    // Filters sent to the server give what filtering the full list gives.
    for q in [
        ListQuery::new().status(ImageStatus::Active),
        ListQuery::new().status(ImageStatus::Queued),
        ListQuery::new().visibility(Visibility::Public),
        ListQuery::new().visibility(Visibility::Private),
        ListQuery::new().owner("proj-b"),
        ListQuery::new().name_exact("real-07"),
        ListQuery::new()
            .owner("proj-a")
            .visibility(Visibility::Public)
            .status(ImageStatus::Active),
        ListQuery::new().name("real-1*"),
    ] {
        let got: Vec<ImageId> = catalog
            .list(q.clone().page_size(3))
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got, filtered(&all, &q), "{q:?}");
    }

    // Errors with Glance's own messages.
    let protected = seeds.iter().find(|s| s.protected).unwrap();
    let e = catalog
        .delete(&ImageId::new(protected.id.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        format!(
            "glance: permission denied [403 Forbidden]: Image {} is protected and cannot be deleted.",
            protected.id
        )
    );
    let missing = ImageId::new("a0a0a0a0-0000-4000-8000-ffffffffffff");
    let e = catalog.get(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!("glance: not found [404 Not Found]: No image found with ID {missing}")
    );
    let e = catalog.delete(&missing).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with(&format!("Failed to find image {missing} to delete")),
        "{e}"
    );
    let e = catalog
        .source()
        .page(
            &ListQuery::new(),
            Some(PageToken::Marker(missing.to_string())),
        )
        .await
        .unwrap_err();
    assert!(
        e.stale_marker() == Some(missing.to_string().as_str())
            && e.message().starts_with("No image found with ID"),
        "{e}"
    );
    let before = proxy.count.load(Ordering::SeqCst);
    for hostile in [
        "../v2/images",
        "a0a0a0a0-0000-4000-8000-000000000001?x",
        "x",
    ] {
        let e = catalog.get(&ImageId::new(hostile)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(proxy.count.load(Ordering::SeqCst), before);

    // A marker deleted during the listing: resumed, nothing lost or repeated.
    let mut stream = catalog.list(ListQuery::new().page_size(5));
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(stream.try_next().await.unwrap().unwrap().id);
    }
    let vanished = got[4].clone();
    assert!(
        !seeds
            .iter()
            .any(|s| s.id == vanished.as_str() && s.protected)
    );
    raw_delete(&glance.url, vanished.as_str()).await;
    while let Some(image) = stream.try_next().await.unwrap() {
        got.push(image.id);
    }
    assert_eq!(
        got, expected,
        "the deleted marker was listed before it vanished"
    );

    // Delete, then the image is gone; a second delete is NotFound.
    let victim = seeds
        .iter()
        .rev()
        .find(|s| !s.protected && s.id != vanished.as_str())
        .unwrap();
    let victim = ImageId::new(victim.id.clone());
    assert_eq!(catalog.delete(&victim).await.unwrap(), Deleted::Deleted);
    assert_eq!(
        catalog.get(&victim).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        catalog.delete(&victim).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let listed = catalog.collect(ListQuery::new()).await.unwrap();
    assert_eq!(listed.len(), expected.len() - 2);

    // Usage: a Glance alone has no Nova. Without a compute endpoint the
    // catalog says it cannot tell; pointed at Glance as if it were Nova,
    // the listing fails; either way every answer is unknown, never unused.
    assert_eq!(catalog.info().capabilities.usage, None);
    let usage = catalog.usage_of(&listed).await;
    assert!(
        usage.iter().all(|u| matches!(
            u,
            ImageUsage::Unknown {
                reason: UnknownReason::NotSupported { .. }
            }
        )),
        "{usage:?}"
    );
    let pretend = GlanceCatalog::builder()
        .endpoint(&glance.url)
        .compute_endpoint(format!("{}/v2.1", glance.url))
        .token(SecretString::new(SECRET_TOKEN))
        .build()
        .unwrap();
    let usage = pretend.usage_of(&listed).await;
    assert!(
        usage.iter().all(|u| matches!(
            u,
            ImageUsage::Unknown {
                reason: UnknownReason::ListingFailed { .. }
            }
        )),
        "{usage:?}"
    );
}

/// Golden-image queries on the real server: date, tag and property filters
/// are applied by Glance itself (a page one larger than the answer takes
/// exactly one request, which an unfiltered server could not give) and
/// equal the hand-filtered listing; a sorted listing streams in order
/// across pages; `latest` costs one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_queries_against_a_real_glance() {
    let Some((_glance, _, proxy)) = seeded("901de900").await else {
        return;
    };
    let catalog = catalog(&proxy.url);
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    assert_eq!(all.len(), 24);
    assert_eq!(all.iter().filter(|i| i.tags == ["golden"]).count(), 5);
    // Bounds on seconds some images were shown at (Glance shows whole
    // seconds): the last one, and the one before it.
    let mut created: Vec<_> = all.iter().filter_map(|i| i.created_at).collect();
    created.sort();
    created.dedup();
    assert!(created.len() >= 2, "24 images created within one second");
    let (last, before_last) = (created[created.len() - 1], created[created.len() - 2]);
    let mut updated: Vec<_> = all.iter().filter_map(|i| i.updated_at).collect();
    updated.sort();
    updated.dedup();
    let updated_before_last = updated[updated.len().saturating_sub(2)];
    // `lt:T` is exact: one request for a page one larger than the answer.
    // Glance keeps microseconds, so `gt:T` also returns images shown at T,
    // which the engine drops: a lower bound may cost more requests, but
    // never more than an unfiltered listing (24 images at that page size).
    for (q, exact) in [
        (ListQuery::new().tag("golden"), true),
        (ListQuery::new().property("custom_key", "value-5"), true),
        (ListQuery::new().created_before(last), true),
        (ListQuery::new().created_after(before_last), false),
        (ListQuery::new().updated_after(updated_before_last), false),
        (
            ListQuery::new().tag("golden").property("os_type", "linux"),
            true,
        ),
    ] {
        let want = filtered(&all, &q);
        assert!(!want.is_empty() && want.len() < all.len(), "{q:?}");
        let size = u32::try_from(want.len()).unwrap() + 1;
        let before = proxy.count.load(Ordering::SeqCst);
        let got: Vec<ImageId> = catalog
            .list(q.clone().page_size(size))
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got, want, "{q:?}");
        let spent = proxy.count.load(Ordering::SeqCst) - before;
        let unfiltered = 24 / u64::from(size) + 1;
        if exact {
            assert_eq!(spent, 1, "{q:?} filtered by the server");
        } else {
            // When every image was created within the last two seconds the
            // superset is the whole catalog: never more than unfiltered.
            assert!(
                spent <= unfiltered,
                "{q:?}: {spent} requests, unfiltered {unfiltered}"
            );
        }
    }
    for sort in [
        Sort::asc(SortKey::Created),
        Sort::desc(SortKey::Created),
        Sort::asc(SortKey::Updated),
        Sort::desc(SortKey::Updated),
    ] {
        let streamed = catalog
            .collect(ListQuery::new().sort(sort).page_size(5))
            .await
            .unwrap();
        assert!(sort.is_sorted(&streamed), "{sort}");
        assert_eq!(streamed.len(), all.len(), "{sort}");
    }
    let by_name = catalog
        .collect(
            ListQuery::new()
                .sort(Sort::desc(SortKey::Name))
                .page_size(5),
        )
        .await
        .unwrap();
    assert_eq!(by_name[0].name.as_deref(), Some("real-23"));
    let before = proxy.count.load(Ordering::SeqCst);
    let newest = catalog.latest(ListQuery::new()).await.unwrap();
    assert_eq!(newest.id, all[0].id);
    assert_eq!(
        proxy.count.load(Ordering::SeqCst) - before,
        1,
        "latest costs one request"
    );
}

//! The conformance suite and the prune case against moto 5.2.6 (the AWS
//! mock from PyPI, `imagecat_testkit::moto`), with its SigV4 checking on.
//! ONE moto serves the module: one test runs the suite, then the prune
//! case, each in a region of its own (moto keeps regions apart), and stops
//! moto at its end. The requests are counted by a loopback proxy in
//! front of moto (each request read by its head and `Content-Length`
//! body, counted before moto sees it). The snapshots a delete removes are
//! read back from moto with boto3 (`scripts/moto/ec2_fixture.py`).
//!
//! Skipped cases are the ones moto cannot serve (reference §5a): a server
//! that ignores the paging token (moto ignores `MaxResults` and pages
//! nothing), an unknown state (moto cannot store one).
//! `IMAGECAT_SKIP_MOTO=1` skips this module (visibly).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use imagecat_core::{DynImageCatalog, ImageCatalogExt, ImageId, ListQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Env};
use imagecat_http::SecretString;
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete, run_all};
use imagecat_testkit::listing::test_http;
use imagecat_testkit::moto::{Moto, clients_bin, skip};
use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/moto/ec2_fixture.py"
);

/// A loopback proxy in front of moto that counts the requests passing
/// through.
struct CountingProxy {
    url: String,
    count: Arc<AtomicU64>,
}

/// Reads one request (head and `Content-Length` body) from `from`; `None`
/// at the end of the connection.
async fn read_request<R: AsyncReadExt + Unpin>(
    from: &mut R,
    buffered: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffered[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            if buffered.len() >= total {
                return Some(buffered.drain(..total).collect());
            }
        }
        let mut chunk = [0u8; 8192];
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffered.extend_from_slice(&chunk[..n]),
        }
    }
}

impl CountingProxy {
    async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("the proxy's address");
        let count = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&count);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let count = Arc::clone(&counted);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    });
                    let mut buffered = Vec::new();
                    while let Some(request) = read_request(&mut from_client, &mut buffered).await {
                        count.fetch_add(1, Ordering::SeqCst);
                        if to_server.write_all(&request).await.is_err() {
                            break;
                        }
                    }
                    let _ = to_server.shutdown().await;
                    let _ = back.await;
                });
            }
        });
        CountingProxy {
            url: format!("http://{addr}"),
            count,
        }
    }
}

/// The one moto of this module, its key, and the proxy in front of it.
struct Shared {
    moto: Moto,
    proxy: CountingProxy,
}

impl Shared {
    fn catalog(&self, region: &str) -> DynImageCatalog {
        let provider = StaticProvider::new(Credentials::new(
            self.moto.access_key_id.clone(),
            SecretString::new(self.moto.secret_access_key.clone()),
            None,
            None,
        ));
        let url = format!(
            "ec2+http://{}?region={region}",
            self.proxy.url.trim_start_matches("http://")
        );
        Arc::new(
            Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
                .unwrap()
                .env(Env::default())
                .credentials_provider(Arc::new(provider))
                .http_options(test_http(3))
                .build()
                .unwrap(),
        )
    }

    /// `ec2_fixture.py ENDPOINT REGION ARGS…` (straight to moto), its
    /// stdout as JSON.
    async fn python(&self, region: &str, args: &[&str]) -> Value {
        let out = tokio::process::Command::new(clients_bin().join("python"))
            .arg(FIXTURE)
            .arg(&self.moto.url)
            .arg(region)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &self.moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.moto.secret_access_key)
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .output()
            .await
            .expect("the clients' python runs");
        assert!(
            out.status.success(),
            "ec2_fixture.py {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("ec2_fixture.py prints JSON")
    }

    /// Seeds `n` AMIs (`NAME-0`…), one a second, tagged `env=lab` and
    /// every third `tier=gold`; their ids in seed order.
    async fn seed(&self, region: &str, name: &str, n: usize) -> (Vec<ImageId>, Value) {
        let specs: Vec<String> = (0..n)
            .map(|i| {
                let gold = if i % 3 == 0 { ",tier=gold" } else { "" };
                format!("{name}-{i:02},env=lab{gold}")
            })
            .collect();
        let mut args = vec!["seed"];
        args.extend(specs.iter().map(String::as_str));
        let seeded = self.python(region, &args).await;
        let ids = (0..n)
            .map(|i| {
                ImageId::new(
                    seeded[format!("{name}-{i:02}")]["id"]
                        .as_str()
                        .expect("seeded"),
                )
            })
            .collect();
        (ids, seeded)
    }

    fn fixture(&self, region: &str, expected: Vec<ImageId>) -> Fixture {
        let count = Arc::clone(&self.proxy.count);
        Fixture {
            catalog: self.catalog(region),
            requests: Arc::new(move || count.load(Ordering::SeqCst)),
            deletable: expected[..2].to_vec(),
            expected,
            missing: ImageId::new("ami-0fffffffffffffff0"),
            invalid: ["", "ami-", "../etc", "snap-12345678", "ami-1234/678"]
                .into_iter()
                .map(ImageId::new)
                .collect(),
            unknown_status: None,
            after_delete: AfterDelete::NotFound,
            // moto: a second DeregisterImage is InvalidAMIID.Unavailable.
            second_delete: SecondDelete::AlreadyDeleted,
            lying: None,
            secrets: vec![self.moto.secret_access_key.clone()],
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_and_prune_against_moto() {
    if skip() {
        return;
    }
    let moto = Moto::start().await;
    let proxy = CountingProxy::start(&moto.url).await;
    let shared = Shared { moto, proxy };
    conformance(&shared).await;
    prune(&shared).await;
}

async fn conformance(shared: &Shared) {
    let region = "ap-southeast-2";
    let (ids, _) = shared.seed(region, "conf", 21).await;
    let report = run_all(&shared.fixture(region, ids)).await;
    report.assert_passed();
    let skipped: Vec<_> = report.skipped.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        skipped,
        ["unknown_status_is_kept", "repeated_pages_end_in_an_error"]
    );
}

/// The prune case; then the pruned AMIs' snapshots are gone from moto and
/// the kept one's stays.
async fn prune(shared: &Shared) {
    let region = "ca-central-1";
    let (ids, seeded) = shared.seed(region, "prune", 6).await;
    let fixture = shared.fixture(region, ids);
    let listed = |c: DynImageCatalog| async move {
        c.collect(ListQuery::new())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id.to_string())
            .collect::<BTreeSet<String>>()
    };
    let before = listed(fixture.catalog.clone()).await;
    prune_apply_deletes_exactly_the_plan(&fixture)
        .await
        .unwrap();
    let after = listed(fixture.catalog.clone()).await;
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(gone.len(), 5, "all but the newest: {gone:?}");
    // Their snapshots are gone from moto; the kept one's stays.
    let state = shared.python(region, &["state"]).await;
    let snapshots: BTreeSet<String> = state["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    for (_, image) in seeded.as_object().unwrap() {
        let id = image["id"].as_str().unwrap();
        for snap in image["snapshots"].as_array().unwrap() {
            let snap = snap.as_str().unwrap();
            assert_eq!(
                snapshots.contains(snap),
                after.contains(id),
                "{id}'s snapshot {snap}"
            );
        }
    }
}

//! Retire, then delete, against a REAL Glance (glance 33 from PyPI, see
//! `real_glance.rs`): the adapter's PATCH and deactivate, list retired,
//! restore, and the second phase, each request recorded by a proxy in
//! front of the server; Glance's own policy defaults for who may
//! deactivate, read from the installed Glance.
//!
//! The real harness has no Nova: usage is unknown, so both phases run with
//! `allow_unknown_usage` (the emulator's tests hold the in-use rules), and
//! its anonymous context is an admin (the policy's non-admin side is the
//! emulator's, checked against the defaults read here).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use imagecat_core::chrono::{Duration, SecondsFormat, Utc};
use imagecat_core::retention::{self, Action, ApplyOptions, PlanTarget, Reason, RetentionPolicy};
use imagecat_core::retire::{RetireRequest, Retirement, retirement};
use imagecat_core::{DynImageCatalog, ErrorKind, ImageCatalog, ImageId, ImageStatus};
use imagecat_glance::{GlanceCatalog, RETIRED_AT};
use imagecat_http::{SecretString, reqwest};
use imagecat_testkit::real_glance::{RealGlance, real_glance, skip};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A loopback proxy that records the request line (`METHOD path`) of
/// every request passing through, skipping bodies by `Content-Length`.
struct Recorder {
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The request lines found in `pending` (drained), with `skip` body
/// bytes still to pass over.
fn parse(pending: &mut Vec<u8>, skip: &mut usize, lines: &Mutex<Vec<String>>) {
    loop {
        if *skip > 0 {
            let k = (*skip).min(pending.len());
            pending.drain(..k);
            *skip -= k;
            if *skip > 0 {
                return;
            }
        }
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            return;
        };
        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
        pending.drain(..end + 4);
        let mut parts = head.lines().next().unwrap_or("").split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        lines
            .lock()
            .unwrap()
            .push(format!("{method} {}", path.split('?').next().unwrap_or("")));
        *skip = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
    }
}

impl Recorder {
    async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&lines);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let log = Arc::clone(&log);
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let upward = async move {
                        let (mut pending, mut skip) = (Vec::new(), 0usize);
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            pending.extend_from_slice(&buf[..n]);
                            parse(&mut pending, &mut skip, &log);
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
        Recorder {
            url: format!("http://{addr}"),
            lines,
            task,
        }
    }

    /// The non-GET request lines since `from`, a request sent again
    /// right after itself counted once (the client resends an idempotent
    /// request whose pooled connection the server had closed).
    fn writes_since(&self, from: usize) -> Vec<String> {
        let mut lines: Vec<String> = self.lines.lock().unwrap()[from..]
            .iter()
            .filter(|l| !l.starts_with("GET "))
            .cloned()
            .collect();
        lines.dedup();
        lines
    }

    fn len(&self) -> usize {
        self.lines.lock().unwrap().len()
    }
}

fn uuid(n: u32) -> String {
    format!("7e71e000-0000-4000-8000-{n:012x}")
}

/// Creates `web-N` (with data, so active; without, queued), owned by
/// `proj-a`, in order.
async fn create(base: &str, n: u32, data: bool) {
    let client = reqwest::Client::new();
    let body = json!({
        "id": uuid(n), "name": format!("web-{n}"), "disk_format": "raw",
        "container_format": "bare", "visibility": "private", "owner": "proj-a",
    });
    let answer = client
        .post(format!("{base}/v2/images"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status().as_u16(),
        201,
        "{}",
        answer.text().await.unwrap_or_default()
    );
    if data {
        let answer = client
            .put(format!("{base}/v2/images/{}/file", uuid(n)))
            .header("content-type", "application/octet-stream")
            .body(format!("web-{n} data\n").into_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 204);
    }
}

async fn raw_image(base: &str, id: &str) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .get(format!("{base}/v2/images/{id}"))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn run(
    catalog: &DynImageCatalog,
    policy: &RetentionPolicy,
) -> (retention::Plan, retention::ApplySummary) {
    let target = PlanTarget::new("real", catalog.clone()).caller("proj-a");
    let plan = retention::plan(policy, &[target], Utc::now())
        .await
        .unwrap();
    let catalogs = HashMap::from([("real".to_owned(), catalog.clone())]);
    let (done, summary) =
        retention::apply(plan, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    (done, summary)
}

fn family() -> RetentionPolicy {
    RetentionPolicy::default()
        .name("web-*")
        .group_by("regex:^(web)-".parse().unwrap())
        .allow_unknown_usage(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_restore_and_delete_retired_after_against_a_real_glance() {
    if skip() {
        return;
    }
    let glance = RealGlance::start().await;
    for n in 1..=3 {
        create(&glance.url, n, true).await;
    }
    let proxy = Recorder::start(&glance.url).await;
    let catalog: DynImageCatalog = Arc::new(
        GlanceCatalog::builder()
            .endpoint(proxy.url.clone())
            .token(SecretString::new("real-glance-unused-token"))
            .build()
            .unwrap(),
    );
    // The newest (web-3, created last) is kept; web-1 and web-2 retired.
    let (done, summary) = run(&catalog, &family().keep(1).retire(None)).await;
    assert_eq!(
        (summary.retired, summary.failed),
        (2, 0),
        "{:?}",
        done.entries
    );
    let sent = proxy.writes_since(0);
    // Each image's stamp goes before its deactivate.
    for n in [1, 2] {
        let at = |line: String| sent.iter().position(|l| *l == line);
        let patch = at(format!("PATCH /v2/images/{}", uuid(n)));
        let deactivate = at(format!("POST /v2/images/{}/actions/deactivate", uuid(n)));
        assert!(patch.is_some() && patch < deactivate, "{sent:?}");
    }
    let mut sent = sent;
    sent.sort();
    sent.dedup();
    let mut expected = Vec::new();
    for n in [1, 2] {
        expected.push(format!("PATCH /v2/images/{}", uuid(n)));
        expected.push(format!("POST /v2/images/{}/actions/deactivate", uuid(n)));
    }
    expected.sort();
    assert_eq!(sent, expected);
    for n in [1, 2] {
        let (status, doc) = raw_image(&glance.url, &uuid(n)).await;
        assert_eq!(status, 200);
        assert_eq!(doc["status"], "deactivated");
        assert!(doc[RETIRED_AT].is_string(), "{doc}");
    }
    // List retired, as the catalog reads them.
    let caps = catalog.info().capabilities;
    let listed: Vec<imagecat_core::Image> = futures::TryStreamExt::try_collect(
        catalog.list(imagecat_core::ListQuery::new().name("web-*")),
    )
    .await
    .unwrap();
    let mut retired: Vec<String> = listed
        .iter()
        .filter(|i| {
            matches!(
                retirement(&caps, i),
                Retirement::Retired {
                    in_effect: true,
                    ..
                }
            )
        })
        .map(|i| i.id.to_string())
        .collect();
    retired.sort();
    assert_eq!(retired, [uuid(1), uuid(2)]);

    // Restore web-1.
    let from = proxy.len();
    catalog.restore(&ImageId::new(uuid(1))).await.unwrap();
    assert_eq!(
        proxy.writes_since(from),
        [
            format!("POST /v2/images/{}/actions/reactivate", uuid(1)),
            format!("PATCH /v2/images/{}", uuid(1)),
        ]
    );
    let (_, doc) = raw_image(&glance.url, &uuid(1)).await;
    assert_eq!(doc["status"], "active");
    assert!(doc.get(RETIRED_AT).is_none(), "{doc}");

    // Twenty days pass for web-2 (the real Glance takes a PATCH on a
    // deactivated image).
    let old = (Utc::now() - Duration::days(20)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let answer = reqwest::Client::new()
        .patch(format!("{}/v2/images/{}", glance.url, uuid(2)))
        .header(
            "content-type",
            "application/openstack-images-v2.1-json-patch",
        )
        .body(
            json!([{"op": "replace", "path": format!("/{RETIRED_AT}"), "value": old}]).to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status().as_u16(),
        200,
        "{}",
        answer.text().await.unwrap_or_default()
    );

    // Phase two: web-2 only.
    let from = proxy.len();
    let (done, summary) = run(&catalog, &family().delete_retired_after("14d")).await;
    let reasons = |n: u32| {
        done.entries
            .iter()
            .find(|e| e.id.as_str() == uuid(n))
            .map(|e| (e.action, e.reasons.clone()))
            .unwrap()
    };
    assert_eq!(reasons(1), (Action::Keep, vec![Reason::NotRetired]));
    assert_eq!(reasons(3), (Action::Keep, vec![Reason::NotRetired]));
    assert_eq!(reasons(2), (Action::Delete, vec![Reason::Selected]));
    assert_eq!((summary.deleted, summary.failed), (1, 0));
    assert_eq!(
        proxy.writes_since(from),
        [format!("DELETE /v2/images/{}", uuid(2))]
    );
    assert_eq!(raw_image(&glance.url, &uuid(2)).await.0, 404);

    // A queued image (no data) cannot be deactivated: Glance's 403.
    create(&glance.url, 4, false).await;
    let support = caps.retire.unwrap();
    let request = RetireRequest::new(&support.methods[0], Utc::now());
    let e = catalog
        .retire(&ImageId::new(uuid(4)), &request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.to_string()
            .contains("Not allowed to deactivate image in status 'queued'"),
        "{e}"
    );
    let web3 = catalog.get(&ImageId::new(uuid(3))).await.unwrap();
    assert_eq!(web3.status, ImageStatus::Active);
}

/// Who may deactivate, as the installed Glance's own policy defaults say
/// (what the emulator and docs/cleanup.md state).
#[test]
fn the_real_glance_lets_an_admin_or_a_project_member_deactivate() {
    if skip() {
        return;
    }
    let server = real_glance();
    server.install("install.sh");
    let generator = server.dir().join("venv/bin/oslopolicy-sample-generator");
    let out = std::process::Command::new(&generator)
        .args(["--namespace", "glance"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", generator.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for action in ["deactivate", "reactivate"] {
        let line = format!(
            "#\"{action}\": \"rule:context_is_admin or (role:member and project_id:%(project_id)s)\""
        );
        assert!(text.contains(&line), "{action}: not {line}");
    }
}

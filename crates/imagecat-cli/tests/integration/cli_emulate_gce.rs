//! `imagecat emulate gce`: the catalog URL first on stdout, the bearer
//! token and gcloud's settings on stderr, and a Compute v1 API behind them
//! with the seeded images, families and usage resources the docs describe
//! (docs/cli.md). gcloud and google-cloud-compute against the same
//! emulator: `imagecat-emulators`' `gce_fidelity` tests.

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::command;

/// A GET over plain HTTP/1.1 with a bearer token: status and JSON body.
async fn get(addr: &str, path: &str, token: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_gce_prints_its_url_and_token_and_serves_compute_v1() {
    let mut child = command(&["emulate", "gce", "--images", "8", "--instances", "3"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = stdout
        .next_line()
        .await
        .expect("reads")
        .expect("the catalog URL");
    assert!(
        url.starts_with("gce+http://127.0.0.1:") && url.ends_with("?project=emu-project"),
        "{url}"
    );
    let addr = url["gce+http://".len()..url.len() - "?project=emu-project".len()].to_owned();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut gcloud = String::new();
    while let Some(line) = stderr.next_line().await.expect("reads") {
        if line.starts_with("gcloud:") {
            gcloud = line;
            break;
        }
    }
    assert!(
        gcloud.contains(&format!(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://{addr}/compute/v1/"
        )),
        "{gcloud}"
    );
    let token = gcloud
        .split_whitespace()
        .find_map(|w| w.strip_prefix("CLOUDSDK_AUTH_ACCESS_TOKEN="))
        .expect("the token")
        .to_owned();

    let (status, list) = get(
        &addr,
        "/compute/v1/projects/emu-project/global/images",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(8));
    // family-1 holds image-000001 and image-000005, both READY and active.
    let (status, head) = get(
        &addr,
        "/compute/v1/projects/emu-project/global/images/family/family-1",
        &token,
    )
    .await;
    assert_eq!((status, head["name"].as_str()), (200, Some("image-000005")));
    // family-3 holds image-000003 (DEPRECATED) and image-000007 (OBSOLETE).
    let (status, _) = get(
        &addr,
        "/compute/v1/projects/emu-project/global/images/family/family-3",
        &token,
    )
    .await;
    assert_eq!(status, 404);
    let (_, disks) = get(
        &addr,
        "/compute/v1/projects/emu-project/aggregated/disks",
        &token,
    )
    .await;
    let count: usize = disks["items"]
        .as_object()
        .expect("a scope map")
        .values()
        .map(|scope| scope["disks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(count, 6, "twice as many disks as instances");
    let (_, templates) = get(
        &addr,
        "/compute/v1/projects/emu-project/aggregated/instanceTemplates",
        &token,
    )
    .await;
    assert_eq!(
        templates["items"]["global"]["instanceTemplates"][0]["properties"]["disks"][0]["initializeParams"]
            ["sourceImage"],
        "projects/emu-project/global/images/family/family-0"
    );
    let (status, _) = get(
        &addr,
        "/compute/v1/projects/emu-project/global/images",
        "wrong",
    )
    .await;
    assert_eq!(status, 401);
    child.kill().await.expect("stops");
}

//! Issue 25: Google's own clients must not tell the GCE emulator from
//! Compute Engine for the calls it emulates (`docs/fidelity/gce.md`).
//!
//! - `gcloud_lists_describes_deprecates_and_deletes_against_the_emulator`:
//!   the gcloud CLI this machine carries (`/usr/bin/gcloud`, or
//!   `IMAGECAT_GCLOUD`), with the compute endpoint overridden, an access
//!   token, a throwaway config dir, and every other host behind a proxy
//!   trap that must see no connection. gcloud is not in the package
//!   registries: when it is missing the test FAILS saying so.
//! - `google_cloud_compute_pages_gets_deprecates_and_deletes`: the
//!   google-cloud-compute Python client (pinned, installed into
//!   target/gce-clients by scripts/gce-clients/install.sh, which the test
//!   runs) runs scripts/gce-clients/fidelity.py.
#![cfg(all(feature = "gce", unix))]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use imagecat_emulators::Emulator;
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, GceImage, TOKEN};
use imagecat_emulators::server::ServeOptions;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The emulator the clients meet: golden-v1 (family golden, team=infra),
/// golden-v2 (family golden), base-1, and old-1 (DEPRECATED).
async fn emulator() -> GceEmulator {
    let emu = GceEmulator::start(
        GceEmulatorConfig::default().images(0),
        ServeOptions::default(),
    )
    .await
    .expect("starts");
    let p = emu.project().to_owned();
    emu.add_image(
        &p,
        GceImage::at_hour("old-1", 0)
            .family("golden")
            .deprecated("DEPRECATED", None),
    );
    emu.add_image(
        &p,
        GceImage::at_hour("golden-v1", 1)
            .family("golden")
            .label("team", "infra"),
    );
    emu.add_image(&p, GceImage::at_hour("golden-v2", 2).family("golden"));
    emu.add_image(&p, GceImage::at_hour("base-1", 3).family("base"));
    emu
}

/// A loopback port that counts the connections made to it: the proxy
/// every other host is sent to.
fn proxy_trap() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("an address");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("http://{addr}"), count)
}

/// The gcloud to run: `IMAGECAT_GCLOUD`, else `gcloud` on PATH, else
/// /usr/bin/gcloud; a clear failure when there is none.
fn gcloud_path() -> PathBuf {
    if let Some(path) = std::env::var_os("IMAGECAT_GCLOUD") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("gcloud"))
            .find(|p| p.is_file())
    });
    let path = on_path.unwrap_or_else(|| PathBuf::from("/usr/bin/gcloud"));
    assert!(
        path.is_file(),
        "gcloud is missing: this test runs the Google Cloud CLI that the machine image carries \
         (/usr/bin/gcloud); it cannot be installed from the package registries. Install \
         google-cloud-cli, or set IMAGECAT_GCLOUD to its path."
    );
    path
}

struct Gcloud {
    bin: PathBuf,
    config: tempfile::TempDir,
    endpoint: String,
    proxy: String,
}

impl Gcloud {
    /// Runs gcloud with these arguments (off the async runtime).
    async fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.config.path())
            .env("CLOUDSDK_CONFIG", self.config.path())
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", &self.endpoint)
            .env("CLOUDSDK_AUTH_ACCESS_TOKEN", TOKEN)
            .env("CLOUDSDK_CORE_PROJECT", "emu-project")
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .env("CLOUDSDK_CORE_CHECK_GCE_METADATA", "false")
            .env("HTTPS_PROXY", &self.proxy)
            .env("HTTP_PROXY", &self.proxy)
            .env("https_proxy", &self.proxy)
            .env("http_proxy", &self.proxy)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        tokio::task::spawn_blocking(move || command.output().expect("gcloud runs"))
            .await
            .expect("joins")
    }

    /// Runs gcloud and returns its stdout, failing on a non-zero exit.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "gcloud {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_lists_describes_deprecates_and_deletes_against_the_emulator() {
    let bin = gcloud_path();
    let emu = emulator().await;
    let (proxy, trapped) = proxy_trap();
    let gcloud = Gcloud {
        bin,
        config: tempfile::tempdir().expect("a config dir"),
        endpoint: emu.endpoint(),
        proxy,
    };
    let list = [
        "compute",
        "images",
        "list",
        "--no-standard-images",
        "--format=value(name)",
    ];

    // list: gcloud hides the deprecated image unless asked.
    assert_eq!(
        lines(&gcloud.ok(&list).await),
        ["base-1", "golden-v1", "golden-v2"]
    );
    let mut all = list.to_vec();
    all.push("--show-deprecated");
    assert_eq!(
        lines(&gcloud.ok(&all).await),
        ["base-1", "golden-v1", "golden-v2", "old-1"]
    );
    // Without --no-standard-images: one batch over the public image
    // projects and the own one.
    emu.server().clear_requests();
    let standard = gcloud
        .ok(&["compute", "images", "list", "--format=value(name)"])
        .await;
    assert_eq!(
        lines(&standard),
        ["debian-v20260301", "base-1", "golden-v1", "golden-v2"],
        "the public projects' parts first, deprecated images hidden"
    );
    let batches = emu
        .server()
        .count_requests(|r| r.method == "POST" && r.path == "/batch/compute/v1");
    assert_eq!(batches, 1, "{:?}", emu.requests());

    // --filter: gcloud sends its regex form, which the emulator applies.
    emu.server().clear_requests();
    let mut filtered = list.to_vec();
    filtered.push("--filter=name=golden-v1");
    assert_eq!(lines(&gcloud.ok(&filtered).await), ["golden-v1"]);
    let sent: Vec<String> = emu
        .requests()
        .iter()
        .flat_map(|r| r.query_pairs())
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| {
            url::form_urlencoded::parse(format!("f={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        sent,
        [r#"name eq ".*\bgolden\-v1\b.*""#],
        "the server-side filter"
    );
    let mut regex = list.to_vec();
    regex.push("--filter=name ~ ^golden-v[0-9]+$");
    assert_eq!(lines(&gcloud.ok(&regex).await), ["golden-v1", "golden-v2"]);

    // describe: the image document as gcloud prints it.
    let described: serde_json::Value = serde_json::from_str(
        &gcloud
            .ok(&[
                "compute",
                "images",
                "describe",
                "golden-v1",
                "--format=json",
            ])
            .await,
    )
    .expect("JSON");
    let expected = emu.image_json("emu-project", "golden-v1").expect("exists");
    assert_eq!(described, expected, "gcloud prints the document as served");

    // describe-from-family: the newest non-deprecated image.
    let family = [
        "compute",
        "images",
        "describe-from-family",
        "golden",
        "--format=value(name)",
    ];
    assert_eq!(lines(&gcloud.ok(&family).await), ["golden-v2"]);

    // deprecate, with the replacement gcloud builds from its endpoint override.
    let out = gcloud
        .run(&[
            "compute",
            "images",
            "deprecate",
            "golden-v2",
            "--state=DEPRECATED",
            "--replacement=golden-v1",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Updated [https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v2]"));
    let image = emu.image_json("emu-project", "golden-v2").expect("exists");
    assert_eq!(image["deprecated"]["state"], "DEPRECATED");
    assert_eq!(
        image["deprecated"]["replacement"],
        "https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v1"
    );
    assert_eq!(lines(&gcloud.ok(&family).await), ["golden-v1"]);

    // delete: an Operation RUNNING for one read, which gcloud waits on.
    emu.set_operation_polls(1);
    emu.server().clear_requests();
    let out = gcloud
        .run(&["compute", "images", "delete", "golden-v2", "--quiet"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Deleted [https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v2]."));
    assert!(
        !emu.image_names("emu-project")
            .contains(&"golden-v2".to_owned())
    );
    let waits = emu.server().count_requests(|r| {
        r.method == "POST" && r.path.contains("/global/operations/") && r.path.ends_with("/wait")
    });
    assert_eq!(
        waits,
        1,
        "gcloud waited on the operation: {:?}",
        emu.requests()
    );
    assert_eq!(
        emu.server().deleted_image_ids(),
        ["golden-v2".to_owned()].into()
    );

    // A failed delete: the operation's error is gcloud's error.
    emu.set_operation_polls(0);
    emu.fail_next_delete(
        400,
        "resourceInUseByAnotherResource",
        "The image is in use by 'projects/emu-project/zones/z/disks/d'",
    );
    let out = gcloud
        .run(&["compute", "images", "delete", "base-1", "--quiet"])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("The image is in use by"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        emu.image_names("emu-project")
            .contains(&"base-1".to_owned())
    );

    // Errors: GCE's 404 text, and a refused token.
    let out = gcloud.run(&["compute", "images", "describe", "nope"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("The resource 'projects/emu-project/global/images/nope' was not found")
    );

    // The token reached the emulator; no other host was called.
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        trapped.load(Ordering::SeqCst),
        0,
        "gcloud called a host other than the emulator"
    );
}

/// The virtualenv's python, installing it first (scripts/gce-clients/install.sh).
fn python_client() -> PathBuf {
    let root = repo_root();
    let dir = root.join("target/gce-clients");
    let status = Command::new("bash")
        .arg(root.join("scripts/gce-clients/install.sh"))
        .arg(&dir)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/gce-clients/install.sh failed (see its output)"
    );
    dir.join("venv/bin/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_cloud_compute_pages_gets_deprecates_and_deletes() {
    let python = tokio::task::spawn_blocking(python_client)
        .await
        .expect("joins");
    let emu = emulator().await;
    let addr = emu.server().addr().to_string();
    let script = repo_root().join("scripts/gce-clients/fidelity.py");
    let (proxy, trapped) = proxy_trap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([addr.as_str(), "emu-project", TOKEN])
            .env("HTTPS_PROXY", &proxy)
            .env("HTTP_PROXY", &proxy)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("python runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = emu.image_json("emu-project", "golden-v1").expect("exists")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let expected = [
        "list base-1,golden-v1,golden-v2,old-1".to_owned(),
        "pages 2".to_owned(),
        "filter golden-v1".to_owned(),
        format!("get golden-v1 {id} golden 10 {{'team': 'infra'}}"),
        "family golden-v2".to_owned(),
        "deprecate True DEPRECATED".to_owned(),
        "family-after golden-v1".to_owned(),
        "setlabels 412 conditionNotMet".to_owned(),
        "delete delete DONE".to_owned(),
        "get-deleted 404 notFound".to_owned(),
    ];
    assert_eq!(lines(&stdout), expected);
    // The client's requests: paged by token, the bearer token on each.
    let pages = emu.server().count_requests(|r| {
        r.path.ends_with("/global/images")
            && r.query.as_deref().is_some_and(|q| q.contains("pageToken="))
    });
    assert_eq!(pages, 2, "two follow-up pages (list, then .pages)");
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        trapped.load(Ordering::SeqCst),
        0,
        "the client called another host"
    );
}

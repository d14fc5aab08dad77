//! Issue 25: Google's own clients must not tell the GCE emulator from
//! Compute Engine for the calls it emulates (`docs/fidelity/gce.md`).
//!
//! - `gcloud_lists_describes_deprecates_and_deletes_against_the_emulator`:
//!   the gcloud CLI this machine carries (`/usr/bin/gcloud`, or
//!   `IMAGECAT_GCLOUD`), with the compute endpoint overridden, an access
//!   token, a throwaway config dir, and every other host behind a proxy
//!   trap that must see no connection. gcloud is not in the package
//!   registries: when it is missing the test FAILS saying so (the runner
//!   is `imagecat_testkit::gcloud`, shared with the CLI's retire test).
//! - `google_cloud_compute_pages_gets_deprecates_and_deletes`: the
//!   google-cloud-compute Python client (pinned, installed into
//!   target/gce-clients by scripts/gce-clients/install.sh, which the test
//!   runs) runs scripts/gce-clients/fidelity.py.
//! - `google_auth_gets_tokens_from_the_token_endpoint_and_metadata_server`:
//!   google-auth (the same install) exchanges a service-account JWT at the
//!   emulator's `/token` and gets a token from its metadata server
//!   (`GCE_METADATA_HOST`), then lists images with each
//!   (scripts/gce-clients/auth.py).
//! - `every_document_fits_the_discovery_document_s_schemas`: every kind of
//!   document the emulator writes, checked by scripts/gce-clients/schema_check.py
//!   against the Compute v1 discovery document (rev 20261106, from the
//!   google-api-python-client wheel): every key a property of its schema,
//!   64-bit integers as strings, enums within their values.
#![cfg(all(feature = "gce", unix))]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use imagecat_emulators::Emulator;
use imagecat_emulators::gce::{
    GceDisk, GceEmulator, GceEmulatorConfig, GceImage, GceTemplate, TOKEN,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_testkit::gcloud::{Gcloud, gcloud_path, proxy_trap};

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

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_lists_describes_deprecates_and_deletes_against_the_emulator() {
    gcloud_path();
    let emu = emulator().await;
    let gcloud = Gcloud::new(&emu.endpoint(), "emu-project", TOKEN);
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

    // add-labels: get, then setLabels with the fingerprint gcloud re-encodes
    // URL-safe, then the image again.
    let before = emu.image_json("emu-project", "golden-v1").expect("exists");
    let out = gcloud
        .run(&[
            "compute",
            "images",
            "add-labels",
            "golden-v1",
            "--labels=owner=me",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = emu.image_json("emu-project", "golden-v1").expect("exists");
    assert_eq!(
        after["labels"],
        serde_json::json!({"owner": "me", "team": "infra"})
    );
    assert_ne!(after["labelFingerprint"], before["labelFingerprint"]);

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

    // What uses images, through gcloud's aggregated lists.
    emu.add_disk(
        "emu-project",
        GceDisk::from_image("d-1", "us-central1-a", "emu-project", "golden-v1"),
    );
    emu.add_template(
        "emu-project",
        GceTemplate {
            name: "t-1".into(),
            region: None,
            source_image: "projects/emu-project/global/images/family/golden".into(),
        },
    );
    let disks = gcloud
        .ok(&[
            "compute",
            "disks",
            "list",
            "--format=value(name,zone.basename(),sourceImage.basename())",
        ])
        .await;
    assert_eq!(lines(&disks), ["d-1\tus-central1-a\tgolden-v1"]);
    let templates = gcloud
        .ok(&[
            "compute",
            "instance-templates",
            "list",
            "--format=value(name,properties.disks[0].initializeParams.sourceImage)",
        ])
        .await;
    assert_eq!(
        lines(&templates),
        ["t-1\tprojects/emu-project/global/images/family/golden"]
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
        gcloud.trapped(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_auth_gets_tokens_from_the_token_endpoint_and_metadata_server() {
    let python = tokio::task::spawn_blocking(python_client)
        .await
        .expect("joins");
    let emu = emulator().await;
    let addr = emu.server().addr().to_string();
    let script = repo_root().join("scripts/gce-clients/auth.py");
    let (proxy, trapped) = proxy_trap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([addr.as_str(), "emu-project"])
            .env("GCE_METADATA_HOST", &addr)
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
    let names = "base-1,golden-v1,golden-v2,old-1";
    assert_eq!(
        lines(&stdout),
        [
            format!("service-account True {names}"),
            format!("self-signed {names}"),
            format!("metadata True {names}")
        ]
    );
    let token_posts = emu
        .server()
        .count_requests(|r| r.method == "POST" && r.path == "/token");
    assert_eq!(
        token_posts, 1,
        "one JWT-bearer exchange; the self-signed JWT needs none"
    );
    let jwt_bearers = emu.server().count_requests(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer ey") && a.matches('.').count() == 2)
    });
    assert!(jwt_bearers >= 1, "the client sent its own JWT");
    let flavored = emu.server().count_requests(|r| {
        r.path.starts_with("/computeMetadata/") && r.header("metadata-flavor") == Some("Google")
    });
    assert!(flavored >= 1, "{:?}", emu.requests());
    assert_eq!(
        trapped.load(Ordering::SeqCst),
        0,
        "google-auth called another host"
    );
}

/// GETs (or sends) one call with the emulator's token; the JSON body.
async fn fetch(emu: &GceEmulator, method: &str, path: &str) -> serde_json::Value {
    let method = imagecat_http::reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let response = imagecat_http::reqwest::Client::new()
        .request(method, format!("{}{path}", emu.endpoint()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answers");
    serde_json::from_str(&response.text().await.expect("a body")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_document_fits_the_discovery_document_s_schemas() {
    let python = tokio::task::spawn_blocking(python_client)
        .await
        .expect("joins");
    let emu = GceEmulator::start(
        GceEmulatorConfig {
            more_projects: vec!["other".into()],
            ..GceEmulatorConfig::default().images(12).usage(6, 3, 4, 2)
        },
        ServeOptions::default(),
    )
    .await
    .expect("starts");
    let mut regional = GceDisk::from_image("regional", "x", "emu-project", "image-000001");
    regional.scope = imagecat_emulators::gce::GceScope::Region("us-central1".into());
    emu.add_disk("emu-project", regional);
    let p = "projects/emu-project";
    let mut docs: Vec<(&str, serde_json::Value)> = vec![
        (
            "Image",
            fetch(&emu, "GET", &format!("{p}/global/images/image-000003")).await,
        ),
        (
            "Image",
            fetch(&emu, "GET", &format!("{p}/global/images/family/family-1")).await,
        ),
        (
            "ImageList",
            fetch(&emu, "GET", &format!("{p}/global/images?maxResults=5")).await,
        ),
        (
            "ImageList",
            fetch(
                &emu,
                "GET",
                &format!("{p}/global/images?filter=name%20%3D%20none"),
            )
            .await,
        ),
        (
            "ImageFamilyView",
            fetch(
                &emu,
                "GET",
                &format!("{p}/zones/us-central1-a/imageFamilyViews/family-1"),
            )
            .await,
        ),
        (
            "Policy",
            fetch(
                &emu,
                "GET",
                &format!("{p}/global/images/image-000004/getIamPolicy"),
            )
            .await,
        ),
        (
            "Policy",
            fetch(
                &emu,
                "GET",
                &format!("{p}/global/images/image-000005/getIamPolicy"),
            )
            .await,
        ),
        (
            "Operation",
            fetch(
                &emu,
                "POST",
                &format!("{p}/global/images/image-000002/deprecate"),
            )
            .await,
        ),
        (
            "Disk",
            fetch(
                &emu,
                "GET",
                &format!("{p}/zones/us-central1-a/disks/disk-000000"),
            )
            .await,
        ),
        (
            "DiskList",
            fetch(&emu, "GET", &format!("{p}/regions/us-central1/disks")).await,
        ),
        (
            "InstanceList",
            fetch(&emu, "GET", &format!("{p}/zones/us-central1-a/instances")).await,
        ),
        (
            "InstanceTemplateList",
            fetch(&emu, "GET", &format!("{p}/global/instanceTemplates")).await,
        ),
        (
            "InstanceTemplateList",
            fetch(
                &emu,
                "GET",
                &format!("{p}/regions/us-central1/instanceTemplates"),
            )
            .await,
        ),
        (
            "InstanceGroupManagerList",
            fetch(
                &emu,
                "GET",
                &format!("{p}/regions/us-central1/instanceGroupManagers"),
            )
            .await,
        ),
        ("ZoneList", fetch(&emu, "GET", &format!("{p}/zones")).await),
        (
            "RegionList",
            fetch(&emu, "GET", &format!("{p}/regions")).await,
        ),
        (
            "DiskAggregatedList",
            fetch(&emu, "GET", &format!("{p}/aggregated/disks?maxResults=2")).await,
        ),
        (
            "InstanceAggregatedList",
            fetch(&emu, "GET", &format!("{p}/aggregated/instances")).await,
        ),
        (
            "InstanceTemplateAggregatedList",
            fetch(&emu, "GET", &format!("{p}/aggregated/instanceTemplates")).await,
        ),
        (
            "InstanceGroupManagerAggregatedList",
            fetch(
                &emu,
                "GET",
                &format!("{p}/aggregated/instanceGroupManagers"),
            )
            .await,
        ),
    ];
    // The documents hold what they should before they are checked.
    for (schema, doc) in &docs {
        assert!(doc.get("error").is_none(), "{schema}: {doc}");
    }
    emu.set_unreachable(&["zones/us-central1-b"]);
    docs.push((
        "DiskAggregatedList",
        fetch(&emu, "GET", &format!("{p}/aggregated/disks")).await,
    ));
    emu.fail_next_delete(400, "resourceInUseByAnotherResource", "in use");
    docs.push((
        "Operation",
        fetch(&emu, "DELETE", &format!("{p}/global/images/image-000006")).await,
    ));
    emu.set_operation_polls(1);
    docs.push((
        "Operation",
        fetch(&emu, "DELETE", &format!("{p}/global/images/image-000008")).await,
    ));
    docs.push((
        "Image",
        fetch(&emu, "GET", &format!("{p}/global/images/image-000008")).await,
    ));
    assert_eq!(docs[0].1["deprecated"]["state"], "DEPRECATED");
    assert_eq!(
        docs[docs.len() - 3].1["error"]["errors"][0]["code"],
        "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"
    );
    assert_eq!(
        docs.last().map(|(_, d)| d["status"].clone()),
        Some(serde_json::json!("DELETING"))
    );

    let input = serde_json::to_vec(&docs).expect("serialises");
    let script = repo_root().join("scripts/gce-clients/schema_check.py");
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(python)
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&input)
            .expect("writes");
        child.wait_with_output().expect("finishes")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&stdout), [format!("ok {}", docs.len())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_api_python_client_pages_gets_deprecates_and_deletes() {
    let python = tokio::task::spawn_blocking(python_client)
        .await
        .expect("joins");
    let emu = emulator().await;
    emu.set_operation_polls(1);
    let addr = emu.server().addr().to_string();
    let script = repo_root().join("scripts/gce-clients/discovery.py");
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
    assert_eq!(
        lines(&stdout),
        [
            "list base-1,golden-v1,golden-v2,old-1 2",
            "filter golden-v1,golden-v2",
            "get golden",
            "family golden-v2",
            "deprecate deprecate RUNNING",
            "family-after golden-v1",
            "delete DONE",
            "get-deleted 404 notFound",
        ]
    );
    // The discovery client sends alt=json and waits with globalOperations.wait.
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.query.as_deref().is_some_and(|q| q.contains("alt=json")))
    );
    let waits = emu
        .server()
        .count_requests(|r| r.method == "POST" && r.path.ends_with("/wait"));
    assert_eq!(waits, 1);
    assert_eq!(
        trapped.load(Ordering::SeqCst),
        0,
        "the client called another host"
    );
}

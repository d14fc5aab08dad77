//! The CLI end to end against `imagecat emulate gce` (the emulator runs
//! in this process, the CLI is the binary): list with filters sent as the
//! server's filter expression, show by name and by path, `latest
//! --image-family` in one getFromFamily request per family, prune plan
//! and apply with the DELETEs on the request log, diff between two
//! projects, and a public image project that is listed but never deleted.

use std::collections::HashSet;

use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, GceImage, PROJECT, TOKEN};
use imagecat_emulators::server::ServeOptions;

use crate::support::{entries, imagecat, keep_newest_args};

/// The token through Google's own variable; no gcloud configuration.
const ENV: &[(&str, &str)] = &[
    ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
    ("CLOUDSDK_CONFIG", "/nonexistent/imagecat-e2e-gcloud"),
];

async fn emulator(config: GceEmulatorConfig) -> GceEmulator {
    GceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

fn path(project: &str, name: &str) -> String {
    format!("projects/{project}/global/images/{name}")
}

#[tokio::test]
async fn list_with_filters_and_show() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let url = emu.catalog_url_for(PROJECT);
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "list",
            "--property",
            "family=family-1",
            "--property",
            "label.env=dev",
            "--status",
            "active",
        ],
        ENV,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = run.column("id");
    // by hand, from the emulator's own documents
    let want: Vec<String> = emu
        .image_names(PROJECT)
        .into_iter()
        .filter(|n| {
            let i = emu.image_json(PROJECT, n).unwrap();
            i["family"] == "family-1"
                && i["labels"]["env"] == "dev"
                && i["status"] == "READY"
                && matches!(
                    i["deprecated"]["state"].as_str(),
                    None | Some("ACTIVE" | "DEPRECATED")
                )
        })
        .map(|n| path(PROJECT, &n))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let requests = emu.server().requests();
    let query = requests[0].query.clone().unwrap_or_default();
    let filter = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned())
        .expect("a filter was sent");
    assert_eq!(
        filter,
        r#"(status = "READY") (family = "family-1") (labels.env = "dev")"#
    );

    for id in ["image-000005", &path(PROJECT, "image-000005")] {
        let show = imagecat(&["-c", &url, "-o", "json", "show", id], ENV).await;
        assert_eq!(show.code, 0, "{}", show.stderr);
        let image = show.json();
        assert_eq!(image["id"], path(PROJECT, "image-000005"));
        assert_eq!(image["properties"]["family"], "family-1");
    }
    let missing = imagecat(&["-c", &url, "show", "no-such-image"], ENV).await;
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("no-such-image"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn latest_per_image_family_is_one_request_per_family() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let url = emu.catalog_url_for(PROJECT);
    let families = ["family-0", "family-1", "family-3"];
    let mut args = vec!["-c", url.as_str(), "-o", "json", "latest"];
    for f in families {
        args.extend(["--image-family", f]);
    }
    let run = imagecat(&args, ENV).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let requests = emu.server().requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        families
            .iter()
            .map(|f| format!("/compute/v1/projects/{PROJECT}/global/images/family/{f}"))
            .collect::<Vec<_>>()
    );
    for (row, family) in rows.iter().zip(families) {
        assert_eq!(row["properties"]["family"], family);
        // the newest READY image of the family that is not deprecated
        let want = emu
            .image_names(PROJECT)
            .into_iter()
            .filter_map(|n| emu.image_json(PROJECT, &n))
            .filter(|i| {
                i["family"] == family
                    && i["status"] == "READY"
                    && matches!(i["deprecated"]["state"].as_str(), None | Some("ACTIVE"))
            })
            .max_by_key(|i| i["creationTimestamp"].as_str().unwrap().to_owned())
            .unwrap();
        assert_eq!(row["name"], want["name"]);
    }
    // a family no catalog has: the others still printed, the miss named
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--image-family",
            "family-2",
            "--image-family",
            "nothing-here",
        ],
        ENV,
    )
    .await;
    assert_ne!(run.code, 0);
    assert_eq!(run.json().as_array().unwrap().len(), 1);
    assert!(run.stderr.contains("nothing-here"), "{}", run.stderr);
}

#[tokio::test]
async fn prune_plans_then_applies_exactly_the_deletes_on_the_request_log() {
    let emu = emulator(GceEmulatorConfig::default().images(12)).await;
    let url = emu.catalog_url_for(PROJECT);
    let plan = imagecat(
        &keep_newest_args(&url, PROJECT, "2", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ENV,
    )
    .await;
    let planned: HashSet<String> = entries(&plan)
        .iter()
        .filter(|e| e["action"] == "delete")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!planned.is_empty(), "{}", plan.stdout);
    assert!(
        emu.server().requests().iter().all(|r| r.method == "GET"),
        "the plan sent a write"
    );
    emu.server().clear_requests();
    let apply = imagecat(
        &keep_newest_args(&url, PROJECT, "2", &["--apply", "--yes"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ENV,
    )
    .await;
    let applied = entries(&apply);
    let deleted: HashSet<String> = applied
        .iter()
        .filter(|e| e["result"] == "deleted")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deleted, planned, "{}", apply.stdout);
    let deletes: HashSet<String> = emu
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.trim_start_matches("/compute/v1/").to_owned())
        .collect();
    assert_eq!(deletes, planned, "the DELETEs sent are the plan's");
    for id in &planned {
        let name = id.rsplit('/').next().unwrap();
        assert!(emu.image_json(PROJECT, name).is_none(), "{id} still exists");
    }
}

#[tokio::test]
async fn diff_between_two_projects() {
    let config = GceEmulatorConfig::default().images(6);
    // "other-project" starts empty: the images added below are all it has
    // (`more_projects` would seed it as a near copy of the own project).
    let emu = emulator(config).await;
    let names = emu.image_names(PROJECT);
    // the other project has the first four (the fourth rebuilt: another
    // size) and one of its own
    for (i, name) in names.iter().take(4).enumerate() {
        let size: u64 = emu.image_json(PROJECT, name).unwrap()["archiveSizeBytes"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut copy = GceImage::at_hour(name.clone(), i as i64);
        copy.archive_size_bytes = if i == 3 { size + 1 } else { size };
        emu.add_image("other-project", copy);
    }
    emu.add_image("other-project", GceImage::at_hour("only-in-other", 9));
    let (a, b) = (
        emu.catalog_url_for(PROJECT),
        emu.catalog_url_for("other-project"),
    );
    let run = imagecat(&["-c", &a, "-c", &b, "-o", "json", "diff"], ENV).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    let mut got: Vec<(String, String)> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = names[4..]
        .iter()
        .map(|n| ("missing".to_owned(), n.clone()))
        .chain([
            ("extra".to_owned(), "only-in-other".to_owned()),
            ("changed".to_owned(), names[3].clone()),
        ])
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_public_image_project_is_listed_and_never_deleted() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let url = emu.catalog_url_for("debian-cloud");
    let run = imagecat(&["-c", &url, "-o", "json", "list"], ENV).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids = run.column("id");
    assert!(!ids.is_empty());
    assert!(
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["visibility"] == "public")
    );
    emu.server().clear_requests();
    let delete = imagecat(&["-c", &url, "delete", &ids[0], "--yes"], ENV).await;
    assert_ne!(delete.code, 0, "{}", delete.stdout);
    assert!(
        emu.server().requests().iter().all(|r| r.method != "DELETE"),
        "a DELETE reached the server"
    );
    let prune = imagecat(
        &keep_newest_args(&url, "debian-cloud", "0", &["--apply", "--yes"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ENV,
    )
    .await;
    assert!(
        emu.server().requests().iter().all(|r| r.method != "DELETE"),
        "prune sent a DELETE: {}",
        prune.stdout
    );
    // the plan keeps every image as protected, even told they are the caller's
    let planned = entries(&prune);
    assert_eq!(planned.len(), ids.len());
    assert!(
        planned
            .iter()
            .all(|e| e["action"] == "keep" && crate::support::has_reason(e, "protected")),
        "{}",
        prune.stdout
    );
}

#[tokio::test]
async fn golden_over_image_families_is_one_request_per_family_and_project() {
    let config = GceEmulatorConfig::default().images(8);
    // "other-project" starts empty: the images added below are all it has
    // (`more_projects` would seed it as a near copy of the own project).
    let emu = emulator(config).await;
    let url = emu.catalog_url_for(PROJECT);
    let heads = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--image-family",
            "family-0",
            "--image-family",
            "family-1",
        ],
        ENV,
    )
    .await;
    assert_eq!(heads.code, 0, "{}", heads.stderr);
    let heads = heads.column("name");
    // the other project: family-0's head under the same name (current),
    // family-1's an older build (stale), family-2 alone (extra in A only)
    emu.add_image(
        "other-project",
        GceImage::at_hour(heads[0].clone(), 1).family("family-0"),
    );
    emu.add_image(
        "other-project",
        GceImage::at_hour("family-1-older", -50).family("family-1"),
    );
    emu.server().clear_requests();
    let other = emu.catalog_url_for("other-project");
    let run = imagecat(
        &[
            "-c",
            &url,
            "-c",
            &other,
            "-o",
            "json",
            "golden",
            "--image-family",
            "family-0",
            "--image-family",
            "family-1",
        ],
        ENV,
    )
    .await;
    assert_eq!(
        run.code, 10,
        "drift exits 10: {} {}",
        run.stdout, run.stderr
    );
    let families = run.json();
    let states: Vec<(String, Vec<String>)> = families
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["family"].as_str().unwrap().to_owned(),
                f["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["state"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (
                "family-0".to_owned(),
                vec!["current".to_owned(), "current".to_owned()]
            ),
            (
                "family-1".to_owned(),
                vec!["current".to_owned(), "stale".to_owned()]
            ),
        ]
    );
    let requests = emu.server().requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.path.contains("/global/images/family/"))
    );
}

#[tokio::test]
async fn an_access_token_from_the_config_file() {
    use std::io::Write as _;
    let emu = emulator(GceEmulatorConfig::default().images(3)).await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"
[catalogs.gce-lab]
url = "{}"
token = {{ env = "E2E_GCE_TOKEN" }}
"#,
        emu.catalog_url_for(PROJECT)
    )
    .unwrap();
    let config = file.path().to_str().unwrap().to_owned();
    // no GOOGLE_* variable: the entry's token is the only credential
    let envs = [
        ("IMAGECAT_CONFIG", config.as_str()),
        ("E2E_GCE_TOKEN", TOKEN),
        ("CLOUDSDK_CONFIG", "/nonexistent/imagecat-e2e-gcloud"),
    ];
    let run = imagecat(&["-c", "gce-lab", "-o", "json", "list"], &envs).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.column("id").len(), 3);
    let auth = emu.server().requests()[0]
        .header("authorization")
        .map(str::to_owned);
    assert_eq!(auth, Some(format!("Bearer {TOKEN}")));
    // a wrong token is refused, and never printed
    let wrong = [
        ("IMAGECAT_CONFIG", config.as_str()),
        ("E2E_GCE_TOKEN", "ya29.wrong-config-token"),
        ("CLOUDSDK_CONFIG", "/nonexistent/imagecat-e2e-gcloud"),
    ];
    let run = imagecat(&["-c", "gce-lab", "list"], &wrong).await;
    assert_ne!(run.code, 0);
    // refused by the server, not replaced through a metadata server
    assert!(!run.stderr.contains("metadata"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-config-token"), "{}", run.stderr);
}

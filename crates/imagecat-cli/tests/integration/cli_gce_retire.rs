//! Retire, then delete, on GCE end to end through the CLI against the GCE
//! emulator: `prune --retire --apply` (a `setLabels` and a `deprecate`
//! `OBSOLETE` with the family's newest as replacement per image), `list
//! --retired`, `restore` (`deprecate` `ACTIVE`, the label removed),
//! `prune --delete-retired-after` (an image a disk was made from, or a
//! template names, after its retire is kept), `latest --retire-older`; every write asserted on the
//! emulator's request log and the images' state. Then gcloud (the one this
//! machine carries) describes and lists what imagecat retired.

use std::collections::HashSet;

use imagecat::chrono::{Duration, Utc};
use imagecat_emulators::gce::{
    GceDisk, GceEmulator, GceEmulatorConfig, GceImage, GceTemplate, TOKEN,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_testkit::gcloud::Gcloud;
use serde_json::Value;

use crate::support::{entries, ids_where, imagecat};

const PROJECT: &str = "emu-project";
const LABEL: &str = "imagecat-retired-at";

fn id(n: u32) -> String {
    format!("projects/{PROJECT}/global/images/web-{n}")
}

/// The emulator holding only the family `web`: `web-1` (oldest) …
/// `web-4` (newest), no disks, instances or templates.
async fn web_family() -> GceEmulator {
    let config = GceEmulatorConfig {
        images: 0,
        families: 0,
        ..GceEmulatorConfig::default()
    };
    let emu = GceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    for n in 1..=4u32 {
        emu.add_image(
            PROJECT,
            GceImage::at_hour(format!("web-{n}"), i64::from(n)).family("web"),
        );
    }
    emu
}

fn env() -> [(&'static str, &'static str); 1] {
    [("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)]
}

/// The writes received since `from`, as `METHOD name/verb` (the last two
/// path segments).
fn writes_since(emu: &GceEmulator, from: usize) -> Vec<String> {
    emu.server().requests()[from..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let tail: Vec<&str> = r.path.rsplit('/').take(2).collect();
            format!("{} {}/{}", r.method, tail[1], tail[0])
        })
        .collect()
}

fn image(emu: &GceEmulator, n: u32) -> Value {
    emu.image_json(PROJECT, &format!("web-{n}")).unwrap()
}

fn prune<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-c",
        url,
        "-o",
        "json",
        "prune",
        "--owner",
        PROJECT,
        "--group-by",
        "property:family",
    ];
    args.extend(extra);
    args
}

/// The images 1..=3 retired to `OBSOLETE` pointing to web-4, stamped
/// within the last minute.
fn assert_retired_to_the_newest(emu: &GceEmulator) {
    for n in 1..=3 {
        let doc = image(emu, n);
        assert_eq!(doc["deprecated"]["state"], "OBSOLETE", "web-{n}: {doc}");
        let replacement = doc["deprecated"]["replacement"].as_str().unwrap();
        assert!(
            replacement.starts_with("https://")
                && replacement.ends_with(&format!("/projects/{PROJECT}/global/images/web-4")),
            "{replacement}"
        );
        let stamp: i64 = doc["labels"][LABEL].as_str().unwrap().parse().unwrap();
        let age = Utc::now().timestamp() - stamp;
        assert!((0..600).contains(&age), "web-{n} stamped {age}s ago");
    }
    let newest = image(emu, 4);
    assert!(newest.get("deprecated").is_none(), "{newest}");
    assert!(newest.get("labels").is_none_or(|l| l.get(LABEL).is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_retire_list_restore_and_delete_retired_after() {
    let emu = web_family().await;
    let url = emu.catalog_url_for(PROJECT);

    // The dry run: three retires, nothing sent.
    let dry = imagecat(&prune(&url, &["--keep", "1", "--retire"]), &env()).await;
    let planned = entries(&dry);
    let expected: HashSet<String> = [1, 2, 3].map(id).into();
    assert_eq!(
        ids_where(&planned, "action", "retire"),
        expected,
        "{planned:?}"
    );
    assert!(dry.stderr.contains("retire = obsolete"), "{}", dry.stderr);
    for e in planned.iter().filter(|e| e["action"] == "retire") {
        assert_eq!(e["replacement"], id(4), "{e}");
    }
    assert!(writes_since(&emu, 0).is_empty(), "the dry run wrote");

    // Applied: per image a setLabels, then a deprecate.
    let applied = imagecat(
        &prune(&url, &["--keep", "1", "--retire", "--apply", "--yes"]),
        &env(),
    )
    .await;
    let done = entries(&applied);
    assert_eq!(ids_where(&done, "result", "retired"), expected, "{done:?}");
    let sent = writes_since(&emu, 0);
    for n in 1..=3 {
        let of: Vec<&String> = sent
            .iter()
            .filter(|w| w.contains(&format!("web-{n}/")))
            .collect();
        assert_eq!(
            of,
            [
                &format!("POST web-{n}/setLabels"),
                &format!("POST web-{n}/deprecate")
            ],
            "{sent:?}"
        );
    }
    assert_eq!(sent.len(), 6, "{sent:?}");
    assert_retired_to_the_newest(&emu);

    // list --retired reads the state back from the images.
    let listed = imagecat(&["-c", &url, "-o", "json", "list", "--retired"], &env()).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let ids: HashSet<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected);

    // restore web-3: deprecate ACTIVE, then the label removed.
    let from = emu.server().request_count();
    let restored = imagecat(&["-c", &url, "restore", &id(3)], &env()).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert!(restored.stdout.contains("restored"), "{}", restored.stdout);
    assert_eq!(
        writes_since(&emu, from),
        ["POST web-3/deprecate", "POST web-3/setLabels"]
    );
    let back = image(&emu, 3);
    assert!(back.get("deprecated").is_none(), "{back}");
    assert!(back.get("labels").is_none_or(|l| l.get(LABEL).is_none()));
    let again = imagecat(&["-c", &url, "restore", &id(4)], &env()).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is not retired"), "{}", again.stdout);

    // Twenty days pass for web-1, web-2 and web-0 (retired by an older
    // run); a disk is made from web-2, a template names web-0.
    let old = (Utc::now() - Duration::days(20)).timestamp().to_string();
    let link = emu.endpoint() + &id(4);
    for n in [0, 1, 2] {
        emu.add_image(
            PROJECT,
            GceImage::at_hour(format!("web-{n}"), i64::from(n))
                .family("web")
                .label(LABEL, old.clone())
                .deprecated("OBSOLETE", Some(&link)),
        );
    }
    emu.add_disk(
        PROJECT,
        GceDisk::from_image("data-1", "us-central1-a", PROJECT, "web-2"),
    );
    emu.add_template(
        PROJECT,
        GceTemplate {
            name: "batch".into(),
            region: None,
            source_image: id(0),
        },
    );

    // Phase two: web-1 only.
    let from = emu.server().request_count();
    let run = imagecat(
        &prune(&url, &["--delete-retired-after", "14d", "--apply", "--yes"]),
        &env(),
    )
    .await;
    let done = entries(&run);
    let reasons = |n: u32| {
        done.iter()
            .find(|e| e["id"] == id(n).as_str())
            .map(|e| e["reasons"].clone())
            .unwrap()
    };
    assert_eq!(reasons(3), serde_json::json!(["not-retired"]));
    assert_eq!(reasons(4), serde_json::json!(["not-retired"]));
    assert_eq!(reasons(2), serde_json::json!(["in-use"]));
    assert_eq!(reasons(0), serde_json::json!(["in-use"]));
    assert_eq!(ids_where(&done, "result", "deleted"), [id(1)].into());
    assert_eq!(writes_since(&emu, from), ["DELETE images/web-1"]);
    assert_eq!(
        emu.image_names(PROJECT),
        ["web-0", "web-2", "web-3", "web-4"].map(String::from)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_latest_retire_older_points_every_older_image_to_the_newest() {
    let emu = web_family().await;
    let url = emu.catalog_url_for(PROJECT);
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--owner",
            PROJECT,
            "--group-by",
            "property:family",
            "--retire-older",
            "--apply",
            "--yes",
        ],
        &env(),
    )
    .await;
    let done = entries(&run);
    let expected: HashSet<String> = [1, 2, 3].map(id).into();
    assert_eq!(ids_where(&done, "result", "retired"), expected, "{done:?}");
    let sent = writes_since(&emu, 0);
    assert!(sent.iter().all(|w| !w.contains("web-4/")), "{sent:?}");
    assert!(sent.iter().all(|w| !w.starts_with("DELETE")), "{sent:?}");
    assert_retired_to_the_newest(&emu);
}

/// gcloud, as Google's users would look: after imagecat retires, `images
/// describe` shows the OBSOLETE state and the replacement, and `images
/// list` hides the retired images unless `--show-deprecated`; after a
/// `restore` gcloud lists the image again.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_sees_what_imagecat_retired_and_restored() {
    let emu = web_family().await;
    let url = emu.catalog_url_for(PROJECT);
    let gcloud = Gcloud::new(&emu.endpoint(), PROJECT, TOKEN);
    let list = [
        "compute",
        "images",
        "list",
        "--no-standard-images",
        "--format=value(name)",
    ];
    let lines = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        lines(gcloud.ok(&list).await),
        ["web-1", "web-2", "web-3", "web-4"]
    );

    let applied = imagecat(
        &prune(&url, &["--keep", "1", "--retire", "--apply", "--yes"]),
        &env(),
    )
    .await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let described = gcloud
        .ok(&["compute", "images", "describe", "web-2", "--format=json"])
        .await;
    let doc: Value = serde_json::from_str(&described).unwrap();
    assert_eq!(doc["deprecated"]["state"], "OBSOLETE", "{doc}");
    assert!(
        doc["deprecated"]["replacement"]
            .as_str()
            .unwrap()
            .ends_with(&format!("projects/{PROJECT}/global/images/web-4")),
        "{doc}"
    );
    assert!(doc["labels"][LABEL].is_string(), "{doc}");
    assert_eq!(lines(gcloud.ok(&list).await), ["web-4"]);
    let mut all = list.to_vec();
    all.push("--show-deprecated");
    assert_eq!(
        lines(gcloud.ok(&all).await),
        ["web-1", "web-2", "web-3", "web-4"]
    );

    let restored = imagecat(&["-c", &url, "restore", &id(2)], &env()).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert_eq!(lines(gcloud.ok(&list).await), ["web-2", "web-4"]);
    let described = gcloud
        .ok(&["compute", "images", "describe", "web-2", "--format=json"])
        .await;
    let doc: Value = serde_json::from_str(&described).unwrap();
    assert!(doc.get("deprecated").is_none(), "{doc}");
    assert!(
        doc.get("labels").is_none_or(|l| l.get(LABEL).is_none()),
        "{doc}"
    );
    assert_eq!(gcloud.trapped(), 0, "gcloud reached another host");
}

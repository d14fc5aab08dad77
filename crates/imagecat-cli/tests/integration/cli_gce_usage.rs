//! GCE usage end to end through the CLI against the GCE emulator: an
//! image whose disk still exists is kept by `prune --apply` and refused by
//! `delete`; an instance template naming a family protects the family's
//! current image (and not the older ones); a shared image is kept as of
//! unknown usage; `imagecat usage` names the disk and the template; the
//! DELETEs sent are asserted on the emulator's request log.

use std::collections::HashSet;

use crate::support::{entries, entry, has_reason, ids_where, imagecat};
use imagecat_emulators::gce::{
    GceDisk, GceEmulator, GceEmulatorConfig, GceImage, GceTemplate, TOKEN,
};
use imagecat_emulators::server::ServeOptions;
use serde_json::Value;

const PROJECT: &str = "emu-project";

fn id(name: &str) -> String {
    format!("projects/{PROJECT}/global/images/{name}")
}

/// The emulator with six images: one a detached disk was made from, a
/// family whose current image a template names (and an older member), an
/// image shared with another principal, and two nobody uses.
async fn emulator() -> GceEmulator {
    let config = GceEmulatorConfig {
        images: 0,
        families: 0,
        ..GceEmulatorConfig::default()
    };
    let emu = GceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    for image in [
        GceImage::at_hour("disk-source", 1),
        GceImage::at_hour("golden-v1", 2).family("golden"),
        GceImage::at_hour("golden-v2", 3).family("golden"),
        GceImage::at_hour("shared-1", 4).shared("roles/compute.imageUser", "user:dev@example.com"),
        GceImage::at_hour("unused-1", 5),
        GceImage::at_hour("unused-2", 6),
    ] {
        emu.add_image(PROJECT, image);
    }
    emu.add_disk(
        PROJECT,
        GceDisk::from_image("data-1", "us-central1-a", PROJECT, "disk-source"),
    );
    emu.add_template(
        PROJECT,
        GceTemplate {
            name: "web".into(),
            region: None,
            source_image: format!("projects/{PROJECT}/global/images/family/golden"),
        },
    );
    emu
}

fn env() -> [(&'static str, &'static str); 1] {
    [("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)]
}

fn deleted_names(emu: &GceEmulator) -> HashSet<String> {
    emu.server().deleted_image_ids()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_prune_apply_keeps_images_in_use_and_deletes_only_the_unused() {
    let emu = emulator().await;
    let url = emu.catalog_url_for(PROJECT);
    let args = [
        "-c",
        &url,
        "-o",
        "json",
        "prune",
        "--family",
        "^()",
        "--keep",
        "0",
        "--older-than",
        "0s",
        "--owner",
        PROJECT,
        "--apply",
        "--yes",
    ];
    let run = entries(&imagecat(&args, &env()).await);
    for (kept, why) in [
        ("disk-source", "in-use"),
        ("golden-v2", "in-use"),
        ("shared-1", "usage-unknown"),
    ] {
        let e: &Value = entry(&run, &id(kept));
        assert_eq!(e["action"], "keep", "{e}");
        assert!(has_reason(e, why), "{kept}: {e}");
    }
    let deleted = ids_where(&run, "result", "deleted");
    let want: HashSet<String> = ["golden-v1", "unused-1", "unused-2"]
        .iter()
        .map(|n| id(n))
        .collect();
    assert_eq!(deleted, want, "{run:?}");
    // what the log says was sent is what the plan says happened
    let sent = deleted_names(&emu);
    let want_names: HashSet<String> = ["golden-v1", "unused-1", "unused-2"]
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    assert_eq!(sent, want_names);
    let left: HashSet<String> = emu.image_names(PROJECT).into_iter().collect();
    for kept in ["disk-source", "golden-v2", "shared-1"] {
        assert!(left.contains(kept), "{kept} was deleted");
    }
    // the candidates' IAM policies were read, the images in use were not
    let policies: Vec<String> = emu
        .server()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/getIamPolicy"))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        policies
            .iter()
            .all(|p| !p.contains("disk-source") && !p.contains("golden-v2")),
        "{policies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_delete_refuses_an_image_whose_disk_exists_and_a_familys_current_image() {
    let emu = emulator().await;
    let url = emu.catalog_url_for(PROJECT);
    for (name, names) in [("disk-source", "data-1"), ("golden-v2", "web")] {
        let target = id(name);
        let run = imagecat(&["-c", &url, "delete", "--yes", &target], &env()).await;
        assert_eq!(run.code, 4, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("refusing to delete"), "{}", run.stderr);
        assert!(run.stderr.contains(names), "{name}: {}", run.stderr);
    }
    assert!(deleted_names(&emu).is_empty());
    // the older member of the family is nobody's, and goes
    let run = imagecat(&["-c", &url, "delete", "--yes", &id("golden-v1")], &env()).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(deleted_names(&emu), HashSet::from(["golden-v1".to_owned()]));
    // with v1 gone the family's current image is still v2: still refused
    let run = imagecat(&["-c", &url, "delete", "--yes", &id("golden-v2")], &env()).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_usage_names_the_disk_and_the_template() {
    let emu = emulator().await;
    let url = emu.catalog_url_for(PROJECT);
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "usage",
            &id("disk-source"),
            &id("golden-v2"),
            &id("unused-1"),
        ],
        &env(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let answers = run.json();
    let answers = answers.as_array().unwrap();
    let of = |name: &str| {
        answers
            .iter()
            .find(|a| a["image"] == id(name))
            .unwrap_or_else(|| panic!("no answer for {name}: {answers:?}"))
            .clone()
    };
    let disk = of("disk-source");
    assert_eq!(disk["usage"], "in_use", "{disk}");
    let user = &disk["instances"][0];
    assert_eq!(
        user["instance_id"],
        "projects/emu-project/zones/us-central1-a/disks/data-1"
    );
    assert_eq!(user["via"], "disk");
    let template = of("golden-v2");
    assert_eq!(
        template["instances"][0]["instance_id"],
        "projects/emu-project/global/instanceTemplates/web"
    );
    assert_eq!(template["instances"][0]["via"], "instance_template");
    assert_eq!(of("unused-1")["usage"], "not_in_use");
    // and for people
    let table = imagecat(&["-c", &url, "usage", &id("disk-source")], &env()).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("disk data-1"), "{}", table.stdout);
}

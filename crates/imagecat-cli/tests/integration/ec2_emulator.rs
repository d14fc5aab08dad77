//! The EC2 backend end to end through the CLI against the EC2 emulator
//! (in process, signatures checked with its key pair), where the DELETE
//! side is asserted on the emulator's call log: `delete` sends one
//! DescribeImages, one DeregisterImage with DeleteAssociatedSnapshots and
//! nothing else, prints each snapshot as the server reported it; with
//! `--keep-snapshots` the flag is not sent and the snapshot stays; `prune
//! --apply` sends one DeregisterImage per planned image and none for a
//! kept one; a protected AMI is refused before any DeregisterImage.

use std::collections::BTreeSet;

use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, Ec2Emulator, Ec2EmulatorConfig, Ec2Image, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;

use crate::support::{Run, entries, imagecat, keep_newest_args};

const REGION: &str = "us-east-1";

const ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

async fn emulator() -> Ec2Emulator {
    let config = Ec2EmulatorConfig {
        images: 20,
        ..Ec2EmulatorConfig::default()
    }
    .signed();
    Ec2Emulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

async fn cli(args: &[&str]) -> Run {
    imagecat(args, &ENV).await
}

/// The caller's available, unprotected AMIs with their snapshots.
fn deletable(emu: &Ec2Emulator) -> Vec<Ec2Image> {
    let account = emu.config().account.clone();
    emu.images(REGION)
        .into_iter()
        .filter(|i| i.owner_id == account && i.state == "available" && !i.protected())
        .filter(|i| i.block_devices.iter().any(|b| b.snapshot_id.is_some()))
        .collect()
}

/// Whether another registered AMI names one of the image's snapshots (the
/// seed shares some, as AMIs registered from one snapshot do).
fn shares_a_snapshot(emu: &Ec2Emulator, image: &Ec2Image) -> bool {
    let own = snapshots(image);
    emu.images(REGION)
        .iter()
        .filter(|i| i.image_id != image.image_id)
        .any(|i| snapshots(i).iter().any(|s| own.contains(s)))
}

fn snapshots(image: &Ec2Image) -> Vec<String> {
    image
        .block_devices
        .iter()
        .filter_map(|b| b.snapshot_id.clone())
        .collect()
}

fn live_snapshots(emu: &Ec2Emulator) -> BTreeSet<String> {
    emu.snapshots(REGION)
        .into_iter()
        .map(|s| s.snapshot_id)
        .collect()
}

fn actions(emu: &Ec2Emulator) -> Vec<String> {
    emu.calls().into_iter().map(|c| c.action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_names_each_snapshot_and_sends_only_its_own_requests() {
    let emu = emulator().await;
    let url = emu.region_url(REGION);
    let images = deletable(&emu);
    let alone: Vec<&Ec2Image> = images
        .iter()
        .filter(|i| !shares_a_snapshot(&emu, i))
        .collect();
    let shared = images
        .iter()
        .find(|i| shares_a_snapshot(&emu, i))
        .expect("the seed shares a snapshot");
    let (one, two) = (alone[0], alone[1]);

    emu.clear_calls();
    let run = cli(&[
        "-c",
        &url,
        "delete",
        "--yes",
        "--force-in-use",
        &one.image_id,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let deletes: Vec<String> = actions(&emu)
        .into_iter()
        .filter(|a| a.starts_with("Deregister") || a.starts_with("Delete"))
        .collect();
    assert_eq!(deletes, ["DeregisterImage"], "{:?}", actions(&emu));
    let call = &emu.calls_of("DeregisterImage")[0];
    assert_eq!(call.param("ImageId"), Some(one.image_id.as_str()));
    assert_eq!(call.param("DeleteAssociatedSnapshots"), Some("true"));
    let live = live_snapshots(&emu);
    for snap in snapshots(one) {
        assert!(
            run.stdout.contains(&format!("snapshot {snap} deleted")),
            "{}",
            run.stdout
        );
        assert!(!live.contains(&snap), "{snap} is still there");
    }

    // --keep-snapshots: no flag, no DeleteSnapshot, the snapshot stays.
    emu.clear_calls();
    let run = cli(&[
        "-c",
        &url,
        "delete",
        "--yes",
        "--force-in-use",
        "--keep-snapshots",
        &two.image_id,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let call = &emu.calls_of("DeregisterImage")[0];
    assert_eq!(call.param("DeleteAssociatedSnapshots"), None);
    assert!(emu.calls_of("DeleteSnapshot").is_empty());
    let live = live_snapshots(&emu);
    for snap in snapshots(two) {
        assert!(
            run.stdout.contains(&format!("snapshot {snap} kept")),
            "{}",
            run.stdout
        );
        assert!(live.contains(&snap), "{snap} went");
    }

    // A snapshot another AMI still names: the server skips it, it is
    // kept and said so.
    let run = cli(&[
        "-c",
        &url,
        "delete",
        "--yes",
        "--force-in-use",
        &shared.image_id,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let live = live_snapshots(&emu);
    let still_named: BTreeSet<String> = emu.images(REGION).iter().flat_map(snapshots).collect();
    for snap in snapshots(shared) {
        if still_named.contains(&snap) {
            assert!(
                run.stdout.contains(&format!("snapshot {snap} kept")),
                "{}",
                run.stdout
            );
            assert!(live.contains(&snap), "{snap} went while in use");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_ami_is_refused_before_any_deregister() {
    let emu = emulator().await;
    let url = emu.region_url(REGION);
    let id = deletable(&emu)[0].image_id.clone();
    assert!(emu.update_image(REGION, &id, |i| {
        i.deregistration_protection = Some("enabled".into());
    }));
    emu.clear_calls();
    let run = cli(&["-c", &url, "delete", "--yes", "--force-in-use", &id]).await;
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("protected"), "{}", run.stderr);
    assert!(emu.calls_of("DeregisterImage").is_empty());
    assert!(emu.image(REGION, &id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_apply_deregisters_exactly_the_planned_amis() {
    let emu = emulator().await;
    let url = emu.region_url(REGION);
    let account = emu.config().account.clone();
    // One family of every AMI, keep the 3 newest, usage unknown allowed
    // (no EC2 usage scan in this build): the plan's deletes are exactly
    // what the apply deregisters.
    let args = keep_newest_args(&url, &account, "3", &["--apply", "--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    emu.clear_calls();
    let done = entries(&cli(&args).await);
    let planned: BTreeSet<String> = done
        .iter()
        .filter(|e| e["action"] == "delete")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let deleted: BTreeSet<String> = done
        .iter()
        .filter(|e| e["result"] == "deleted")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!planned.is_empty());
    assert_eq!(deleted, planned);
    let deregistered: Vec<String> = emu
        .calls_of("DeregisterImage")
        .iter()
        .filter_map(|c| c.param("ImageId").map(str::to_owned))
        .collect();
    assert_eq!(
        deregistered.len(),
        planned.len(),
        "one each: {deregistered:?}"
    );
    assert_eq!(deregistered.into_iter().collect::<BTreeSet<_>>(), planned);
    // Each deleted AMI names its snapshots (an instance-store AMI has
    // none): `kept` while another AMI named it then (the seed shares
    // some), `deleted` by the last of them. What is printed is what
    // happened: a snapshot some delete says it deleted is gone; one every
    // delete says it kept is still there.
    let live = live_snapshots(&emu);
    let mut said: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in done.iter().filter(|e| e["result"] == "deleted") {
        for d in e["details"].as_array().into_iter().flatten() {
            assert_eq!(d["kind"], "snapshot", "{e}");
            said.entry(d["id"].as_str().unwrap().to_owned())
                .or_default()
                .push(d["result"].as_str().unwrap().to_owned());
        }
    }
    let named = said.len();
    for (snap, results) in &said {
        if results.iter().any(|r| r == "deleted") {
            assert!(!live.contains(snap), "{snap}: {results:?}");
            assert_eq!(results.iter().filter(|r| *r == "deleted").count(), 1);
        } else {
            assert!(results.iter().all(|r| r == "kept"), "{snap}: {results:?}");
            assert!(live.contains(snap), "{snap}: {results:?}");
        }
    }
    assert!(named > 0, "no snapshot named: {done:?}");
}

/// `ec2+http://…?region=all` named in the config file: one catalog per
/// region DescribeRegions lists, each named by its URL; the seeded region's
/// AMIs are listed under its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_region_from_a_named_config_entry() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let all = emu.region_url("all");
    std::fs::write(&config, format!("[catalogs.aws]\nurl = \"{all}\"\n")).unwrap();
    let mut env = ENV.to_vec();
    env.push(("IMAGECAT_CONFIG", config.to_str().unwrap()));
    let run = imagecat(&["-c", "aws", "-o", "json", "list"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: BTreeSet<(String, String)> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["catalog"].as_str().unwrap().to_owned(),
                i["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let catalogs: BTreeSet<&str> = listed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(catalogs, BTreeSet::from([emu.region_url(REGION).as_str()]));
    let own: BTreeSet<String> = emu
        .images(REGION)
        .into_iter()
        .filter(|i| i.owner_id == emu.config().account && i.state != "disabled")
        .map(|i| i.image_id)
        .collect();
    assert_eq!(
        listed
            .into_iter()
            .map(|(_, id)| id)
            .collect::<BTreeSet<_>>(),
        own
    );
    // Every listed region was asked: one DescribeImages per region.
    let regions: BTreeSet<String> = emu
        .calls_of("DescribeImages")
        .into_iter()
        .map(|c| c.region)
        .collect();
    assert_eq!(
        regions.len(),
        emu.config().regions_listed.len(),
        "{regions:?}"
    );
}

/// The shared DELETE faults on DeregisterImage: a proxy's bare 404 is a
/// failure (never "already deleted"), the image stays and no snapshot is
/// touched; a deregister performed whose answer is lost is "may have
/// happened", looked up, and never sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_bare_deregister_answer_is_never_a_guess() {
    use imagecat_emulators::delete_faults::DeleteFault;
    let emu = emulator().await;
    let url = emu.region_url(REGION);
    let images = deletable(&emu);
    let (one, two) = (&images[0].image_id, &images[1].image_id);

    // The server's request log sees every DeregisterImage, faulted or not
    // (the call log only those the API answered).
    let deregisters = |id: &str| {
        emu.server()
            .count_requests(|r| r.deleted_image.as_deref() == Some(id))
    };
    emu.server().delete_faults().set(Some(DeleteFault::Bare404));
    emu.clear_calls();
    let run = cli(&["-c", &url, "delete", "--yes", "--force-in-use", one]).await;
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("deleted"), "{}", run.stdout);
    assert!(!run.stderr.contains("already deleted"), "{}", run.stderr);
    assert!(
        emu.image(REGION, one).is_some(),
        "a bare 404 performs nothing"
    );
    assert_eq!(deregisters(one), 1);
    assert!(emu.calls_of("DeleteSnapshot").is_empty());

    emu.server()
        .delete_faults()
        .set(Some(DeleteFault::PerformThenDrop));
    emu.clear_calls();
    let run = cli(&["-c", &url, "delete", "--yes", "--force-in-use", two]).await;
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("may have happened"), "{}", run.stderr);
    assert_eq!(deregisters(two), 1, "a lost deregister is never sent again");
    assert!(
        emu.deregistered(REGION).contains(two),
        "performed before the answer was lost"
    );
    assert!(emu.calls_of("DeleteSnapshot").is_empty());
}

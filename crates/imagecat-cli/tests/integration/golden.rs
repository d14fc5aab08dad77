//! The built `imagecat` binary's golden-image commands against the
//! emulators: filters equal to filtering the full listing by hand, a
//! server-sorted `--sort`, `latest --group-by`, and `diff` with its exit
//! codes.

use std::collections::BTreeMap;

use crate::support::{dcmgr, glance, imagecat, toast};
use imagecat_emulators::glance::GlanceImage;

/// The Glance emulator's default static token.
const ENV: &[(&str, &str)] = &[("OS_TOKEN", crate::support::GLANCE_TOKEN)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_match_the_full_listing_filtered_by_hand() {
    let emu = glance(60).await;
    let url = emu.catalog_url();
    let all = imagecat(&["-c", &url, "-o", "json", "list"], ENV).await;
    assert_eq!(all.code, 0, "{}", all.stderr);
    let all = all.json();
    let images = all.as_array().unwrap();
    let mid = images[images.len() / 2]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_hand = |keep: &dyn Fn(&serde_json::Value) -> bool| -> Vec<String> {
        images
            .iter()
            .filter(|i| keep(i))
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (
            vec!["--created-before", &mid],
            by_hand(&|i| i["created_at"].as_str().unwrap() < mid.as_str()),
        ),
        (
            vec!["--created-after", &mid, "--property", "os_distro=rocky"],
            by_hand(&|i| {
                i["created_at"].as_str().unwrap() > mid.as_str()
                    && i["properties"]["os_distro"] == "rocky"
            }),
        ),
        // Every seeded image is years old.
        (vec!["--older-than", "30d"], by_hand(&|_| true)),
        (vec!["--newer-than", "30d"], Vec::new()),
    ];
    for (flags, want) in cases {
        let mut args = vec!["-c", url.as_str(), "-o", "json", "list"];
        args.extend(&flags);
        let run = imagecat(&args, ENV).await;
        assert_eq!(run.code, 0, "{flags:?}: {}", run.stderr);
        assert_eq!(run.column("id"), want, "{flags:?}");
    }
    let bad = imagecat(&["-c", &url, "list", "--older-than", "yesterday"], ENV).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_is_sent_to_glance_and_streams_in_order() {
    let emu = glance(30).await;
    let url = emu.catalog_url();
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "list",
            "--sort",
            "updated:asc",
            "--page-size",
            "4",
        ],
        ENV,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let times: Vec<String> = run.column("updated_at");
    let mut want = times.clone();
    want.sort();
    assert_eq!(times, want);
    assert_eq!(times.len(), 30);
    assert!(emu.server().requests().iter().any(|r| {
        r.query
            .as_deref()
            .unwrap_or_default()
            .contains("sort_key=updated_at&sort_dir=asc")
    }));
    // Size: sorted here, never sent (Glance's paging loses rows around NULL).
    emu.server().clear_requests();
    let run = imagecat(
        &["-c", &url, "-o", "json", "list", "--sort", "size:desc"],
        ENV,
    )
    .await;
    let sizes: Vec<Option<u64>> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["size_bytes"].as_u64())
        .collect();
    let mut want = sizes.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(sizes, want);
    assert_eq!(sizes.len(), 30);
    assert!(
        emu.server().requests().iter().all(|r| !r
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("sort_key"))
    );
    let bad = imagecat(&["-c", &url, "list", "--sort", "colour"], ENV).await;
    assert_eq!(bad.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_per_family_matches_a_hand_computation() {
    let emu = glance(45).await;
    let url = emu.catalog_url();
    let all = imagecat(&["-c", &url, "-o", "json", "list"], ENV)
        .await
        .json();
    let mut want: BTreeMap<String, (String, String)> = BTreeMap::new();
    for i in all.as_array().unwrap() {
        let family = i["properties"]["os_distro"].as_str().unwrap().to_owned();
        let entry = (
            i["created_at"].as_str().unwrap().to_owned(),
            i["id"].as_str().unwrap().to_owned(),
        );
        let best = want.entry(family).or_insert_with(|| entry.clone());
        if entry.0 > best.0 {
            *best = entry;
        }
    }
    let want: Vec<String> = want.into_values().map(|(_, id)| id).collect();
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--group-by",
            "property:os_distro",
        ],
        ENV,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.column("id"), want);
    // Without grouping: one answer, in one request.
    emu.server().clear_requests();
    let one = imagecat(&["-c", &url, "-o", "json", "latest"], ENV).await;
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.json()["id"], all[0]["id"]);
    let image_requests = emu
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/v2/images"))
        .count();
    assert_eq!(image_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_reports_missing_extra_and_changed_and_exits_10() {
    let (a, b) = (glance(15).await, glance(15).await);
    let gone = b.seeded_image(3);
    let changed = b.seeded_image(8);
    assert!(b.delete(&gone.id));
    assert!(b.update(&changed.id, |i| i.checksum = Some("f".repeat(32))));
    b.insert(GlanceImage::new(
        "7a9e0000-0000-4000-8000-0000000000aa",
        "only-in-b",
    ));
    let (ua, ub) = (a.catalog_url(), b.catalog_url());
    let run = imagecat(&["-c", &ua, "-c", &ub, "-o", "json", "diff"], ENV).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    let diffs = run.json();
    let got: Vec<(String, String)> = diffs
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
    let want = [
        ("missing", gone.name.clone().unwrap()),
        ("changed", changed.name.clone().unwrap()),
        ("extra", "only-in-b".to_owned()),
    ]
    .map(|(k, n)| (k.to_owned(), n));
    assert_eq!(got, want);
    assert_eq!(diffs[1]["a"][0]["id"], changed.id.as_str());
    assert_eq!(diffs[1]["b"][0]["checksum"], "f".repeat(32));
    let table = imagecat(
        &["-c", &ua, "-c", &ub, "diff", "--by", "name+checksum"],
        ENV,
    )
    .await;
    assert_eq!(table.code, 10);
    assert!(
        table.stdout.contains("changed") && table.stdout.contains("only-in-b"),
        "{}",
        table.stdout
    );
    let same = imagecat(&["-c", &ua, "-c", &ua, "diff"], ENV).await;
    assert_eq!(same.code, 0, "{}", same.stderr);
    let one = imagecat(&["-c", &ua, "diff"], ENV).await;
    assert_eq!(one.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_on_a_backend_without_tags_are_not_supported() {
    let t = toast(5).await;
    let d = dcmgr(5).await;
    let token = t.config().token.clone();
    for url in [t.catalog_url(), d.catalog_url(None)] {
        let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
        let run = imagecat(&["-c", &url, "list", "--tag", "golden"], &env).await;
        assert_eq!(run.code, 2, "{url}: {}", run.stderr);
        assert!(run.stderr.contains("no tags"), "{}", run.stderr);
    }
}

//! Retire, then delete, on EC2 end to end through the CLI against the EC2
//! emulator (signatures checked): `prune --retire --apply` tags and
//! disables, `list --retired` finds the disabled AMIs a plain listing
//! hides, `restore` enables and untags, `prune --delete-retired-after`
//! deregisters only the AMI nobody uses nor launched since its retire; the
//! `deprecate` method and its restore; `latest --retire-older`; every
//! write asserted on the emulator's call log.

use std::collections::HashSet;

use imagecat::chrono::{Duration, SecondsFormat, Timelike, Utc};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, Ec2Image, Ec2Instance, LaunchTemplate,
    LaunchTemplateVersion, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;

use crate::support::{entries, entry, has_reason, ids_where, imagecat};

const TAG: &str = "imagecat:retired-at";

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

fn ami(n: u32) -> String {
    format!("ami-{n:017x}")
}

/// An emulator holding only `web-1` (newest) … `web-N`, the account's own.
async fn web_family(n: u32) -> Ec2Emulator {
    let config = Ec2EmulatorConfig {
        images: 0,
        instances: 0,
        public_amazon: 0,
        usage: false,
        ..Ec2EmulatorConfig::default()
    }
    .signed();
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    for i in 1..=n {
        let mut image = Ec2Image::new(
            ami(i),
            ACCOUNT,
            format!("web-{i}"),
            format!("snap-{i:017x}"),
        );
        image.creation_date = Utc::now() - Duration::days(i64::from(i) * 10);
        emu.insert_image(REGION, image);
    }
    emu
}

/// The writes (not `Describe*`) since call `from`, as `Action id`.
fn writes_since(emu: &Ec2Emulator, from: usize) -> Vec<String> {
    emu.calls()[from..]
        .iter()
        .filter(|c| !c.action.starts_with("Describe") && !c.action.starts_with("GetCaller"))
        .map(|c| {
            let id = c
                .param("ImageId")
                .or_else(|| c.param("ResourceId.1"))
                .unwrap_or("");
            format!("{} {id}", c.action)
        })
        .collect()
}

fn prune<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-c", url, "-o", "json", "prune", "--owner", ACCOUNT, "--name", "web-*", "--family",
        "^(web)-", "--keep", "1",
    ];
    args.extend(extra);
    args
}

fn listed_ids(run: &crate::support::Run) -> HashSet<String> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_disable_list_restore_and_delete_retired_after() {
    let emu = web_family(6).await;
    let url = emu.catalog_url();

    // The dry run plans five retires and sends no write.
    let dry = entries(&imagecat(&prune(&url, &["--retire"]), &ENV).await);
    let retired: HashSet<String> = (2..=6).map(ami).collect();
    assert_eq!(ids_where(&dry, "action", "retire"), retired, "{dry:?}");
    assert!(writes_since(&emu, 0).is_empty(), "the dry run wrote");

    // Phase one: web-2 … web-6 tagged, then disabled; nothing deregistered.
    let run = imagecat(&prune(&url, &["--retire", "--apply", "--yes"]), &ENV).await;
    let done = entries(&run);
    assert_eq!(ids_where(&done, "result", "retired"), retired, "{done:?}");
    assert!(run.stderr.contains("retire = disable"), "{}", run.stderr);
    let sent = writes_since(&emu, 0);
    for id in &retired {
        let of: Vec<&String> = sent.iter().filter(|w| w.ends_with(id.as_str())).collect();
        assert_eq!(
            of,
            [&format!("CreateTags {id}"), &format!("DisableImage {id}")],
            "{sent:?}"
        );
        let image = emu.image(REGION, id).unwrap();
        assert_eq!(image.state, "disabled");
        assert!(
            image.tag(TAG).is_some_and(|t| t.ends_with('Z')),
            "{image:?}"
        );
    }
    assert_eq!(sent.len(), 10, "{sent:?}");
    let tags = emu.calls_of("CreateTags");
    assert!(tags.iter().all(|c| c.param("Tag.1.Key") == Some(TAG)));

    // A plain listing hides disabled AMIs (as EC2 does); --retired asks
    // for them with IncludeDisabled=true.
    let plain = imagecat(&["-c", &url, "-o", "json", "list"], &ENV).await;
    assert_eq!(listed_ids(&plain), [ami(1)].into());
    let from = emu.calls().len();
    let listed = imagecat(&["-c", &url, "-o", "json", "list", "--retired"], &ENV).await;
    assert_eq!(listed_ids(&listed), retired);
    let describe = emu.calls()[from..]
        .iter()
        .find(|c| c.action == "DescribeImages")
        .cloned()
        .unwrap();
    assert_eq!(describe.param("IncludeDisabled"), Some("true"));

    // restore web-6: enabled, then untagged; web-1 was never retired.
    let from = emu.calls().len();
    let restored = imagecat(&["-c", &url, "restore", &ami(6)], &ENV).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert!(restored.stdout.contains("restored"), "{}", restored.stdout);
    assert_eq!(
        writes_since(&emu, from),
        [
            format!("EnableImage {}", ami(6)),
            format!("DeleteTags {}", ami(6))
        ]
    );
    let back = emu.image(REGION, &ami(6)).unwrap();
    assert_eq!((back.state.as_str(), back.tag(TAG)), ("available", None));
    let again = imagecat(&["-c", &url, "restore", &ami(1)], &ENV).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is not retired"), "{}", again.stdout);

    // Twenty days pass for web-2 … web-5. Then an instance boots web-2, a
    // launch template names web-3, web-4 was launched five days ago (its
    // instance gone since); web-5 stays unused.
    let old = (Utc::now() - Duration::days(20)).to_rfc3339_opts(SecondsFormat::Secs, true);
    for i in 2..=5 {
        assert!(emu.update_image(REGION, &ami(i), |image| {
            for tag in image.tags.iter_mut().filter(|t| t.0 == TAG) {
                tag.1.clone_from(&old);
            }
        }));
    }
    emu.insert_instance(
        REGION,
        Ec2Instance {
            instance_id: "i-0000000000000aaaa".to_owned(),
            reservation_id: "r-0000000000000aaaa".to_owned(),
            owner_id: ACCOUNT.to_owned(),
            image_id: ami(2),
            state: "running".to_owned(),
            instance_type: "t3.micro".to_owned(),
            launch_time: Utc::now(),
            tags: Vec::new(),
        },
    );
    emu.insert_launch_template(
        REGION,
        LaunchTemplate {
            id: "lt-0000000000000bbbb".to_owned(),
            name: "uses-web-3".to_owned(),
            owner_id: ACCOUNT.to_owned(),
            default_version: 1,
            create_time: Utc::now(),
            versions: vec![LaunchTemplateVersion {
                number: 1,
                description: None,
                image_id: Some(ami(3)),
                instance_type: Some("t3.micro".to_owned()),
                create_time: Utc::now(),
            }],
            tags: Vec::new(),
        },
    );
    assert!(emu.update_image(REGION, &ami(4), |image| {
        image.last_launched_time = Some(Utc::now() - Duration::days(5));
    }));

    // Phase two: web-5 only.
    let from = emu.calls().len();
    let run = imagecat(
        &prune(&url, &["--delete-retired-after", "14d", "--apply", "--yes"]),
        &ENV,
    )
    .await;
    let done = entries(&run);
    assert!(has_reason(entry(&done, &ami(2)), "in-use"), "{done:?}");
    assert!(has_reason(entry(&done, &ami(3)), "in-use"), "{done:?}");
    assert!(
        has_reason(entry(&done, &ami(4)), "launched-since-retired"),
        "{done:?}"
    );
    assert!(has_reason(entry(&done, &ami(6)), "not-retired"), "{done:?}");
    assert_eq!(ids_where(&done, "result", "deleted"), [ami(5)].into());
    let sent: Vec<String> = writes_since(&emu, from)
        .into_iter()
        .filter(|w| !w.starts_with("DeleteSnapshot"))
        .collect();
    assert_eq!(sent, [format!("DeregisterImage {}", ami(5))]);
    assert_eq!(emu.deregistered(REGION), [ami(5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_deprecate_retires_at_the_next_minute_and_restore_undoes_it() {
    let emu = web_family(2).await;
    let url = emu.catalog_url();
    let before = Utc::now();
    let run = imagecat(
        &prune(
            &url,
            &[
                "--retire",
                "--retire-method",
                "deprecate",
                "--apply",
                "--yes",
            ],
        ),
        &ENV,
    )
    .await;
    let done = entries(&run);
    assert_eq!(ids_where(&done, "result", "retired"), [ami(2)].into());
    assert_eq!(
        writes_since(&emu, 0),
        [
            format!("CreateTags {}", ami(2)),
            format!("EnableImageDeprecation {}", ami(2))
        ]
    );
    let call = emu.calls_of("EnableImageDeprecation").remove(0);
    let at: imagecat::chrono::DateTime<Utc> = call.param("DeprecateAt").unwrap().parse().unwrap();
    assert_eq!(at.second(), 0, "on the minute: {at}");
    // Stamped between `before` and `after`; at least 10 s after the stamp
    // (whole seconds), at most 70 s.
    let after = Utc::now();
    assert!(at >= before + Duration::seconds(9), "{at} {before}");
    assert!(at <= after + Duration::seconds(70), "{at} {after}");
    let image = emu.image(REGION, &ami(2)).unwrap();
    assert_eq!(
        image.state, "available",
        "deprecate does not block launches"
    );
    assert_eq!(image.deprecation_time, Some(at));

    // Still listed to its owner, and retired.
    let listed = imagecat(&["-c", &url, "-o", "json", "list", "--retired"], &ENV).await;
    assert_eq!(listed_ids(&listed), [ami(2)].into());

    let from = emu.calls().len();
    let restored = imagecat(&["-c", &url, "restore", &ami(2)], &ENV).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert_eq!(
        writes_since(&emu, from),
        [
            format!("DisableImageDeprecation {}", ami(2)),
            format!("DeleteTags {}", ami(2))
        ]
    );
    let image = emu.image(REGION, &ami(2)).unwrap();
    assert_eq!((image.deprecation_time, image.tag(TAG)), (None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_latest_retire_older_disables_all_but_the_newest() {
    let emu = web_family(3).await;
    let url = emu.catalog_url();
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--name",
            "web-*",
            "--owner",
            ACCOUNT,
            "--family",
            "^(web)-",
            "--retire-older",
            "--apply",
            "--yes",
        ],
        &ENV,
    )
    .await;
    let done = entries(&run);
    let expected: HashSet<String> = [ami(2), ami(3)].into();
    assert_eq!(ids_where(&done, "result", "retired"), expected, "{done:?}");
    let mut sent = writes_since(&emu, 0);
    sent.sort();
    assert_eq!(
        sent,
        [
            format!("CreateTags {}", ami(2)),
            format!("CreateTags {}", ami(3)),
            format!("DisableImage {}", ami(2)),
            format!("DisableImage {}", ami(3)),
        ]
    );
    assert_eq!(emu.image(REGION, &ami(1)).unwrap().state, "available");
}

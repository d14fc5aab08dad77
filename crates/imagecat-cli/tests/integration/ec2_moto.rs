//! The EC2 backend end to end through the CLI against moto (the AWS mock
//! from PyPI, `imagecat_testkit::moto`), with its SigV4 checking on: every
//! request the CLI sends is signed with the IAM key moto made and checked
//! by moto's own code.
//!
//! ONE moto serves this module (and one more the retire test,
//! `ec2_retire_against_moto`): one test walks every step, each step in a
//! region of its own (moto keeps each region's state apart, as EC2 does),
//! so no step sees another's images. moto is seeded and read back with
//! boto3 (`scripts/moto/ec2_fixture.py`, the clients virtualenv), so what a delete did is
//! asserted on moto's state, not on what the CLI says it did.
//!
//! Not here (moto lacks it; reference §5a): paging (moto ignores
//! MaxResults), DeleteAssociatedSnapshots (ignored: the one-by-one path is
//! what runs), deregistration protection, deprecation, disabled images;
//! those are the loopback server's tests in imagecat-ec2.
//! `IMAGECAT_SKIP_MOTO=1` skips this module (visibly).

use std::collections::BTreeSet;
use std::path::Path;

use imagecat_testkit::moto::{Moto, clients_bin, skip};
use serde_json::Value;

use crate::support::{Run, entries, entry, imagecat, keep_newest_args};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/moto/ec2_fixture.py"
);

/// The moto of the test, the key to sign with, and the CLI's environment.
struct Rig {
    moto: Moto,
}

impl Rig {
    fn url(&self, region: &str) -> String {
        format!(
            "ec2+http://{}?region={region}",
            self.moto.url.trim_start_matches("http://")
        )
    }

    /// The CLI's environment: the key, and no shared file of the machine.
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.moto.access_key_id.as_str()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.moto.secret_access_key.as_str(),
            ),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    }

    async fn cli(&self, args: &[&str]) -> Run {
        imagecat(args, &self.env()).await
    }

    /// `ec2_fixture.py ENDPOINT REGION ARGS…`, its stdout as JSON.
    async fn python(&self, region: &str, args: &[&str]) -> Value {
        let mut cmd = tokio::process::Command::new(clients_bin().join("python"));
        cmd.arg(SEED).arg(&self.moto.url).arg(region).args(args);
        cmd.env("AWS_ACCESS_KEY_ID", &self.moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.moto.secret_access_key)
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            );
        let out = cmd.output().await.expect("the clients' python runs");
        assert!(
            out.status.success(),
            "ec2_fixture.py {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("ec2_fixture.py prints JSON")
    }

    /// Registers the images (`NAME[,K=V…]`), in order, one a second.
    async fn seed(&self, region: &str, specs: &[&str]) -> Seeded {
        let mut args = vec!["seed"];
        args.extend(specs);
        Seeded(self.python(region, &args).await)
    }

    /// The AMI ids and snapshot ids the account owns in the region.
    async fn state(&self, region: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let state = self.python(region, &["state"]).await;
        let images = state["images"]
            .as_object()
            .expect("images")
            .keys()
            .cloned()
            .collect();
        let snapshots = state["snapshots"]
            .as_array()
            .expect("snapshots")
            .iter()
            .map(|s| s.as_str().expect("a snapshot id").to_owned())
            .collect();
        (images, snapshots)
    }
}

/// What `seed` made.
struct Seeded(Value);

impl Seeded {
    fn id(&self, name: &str) -> String {
        self.0[name]["id"].as_str().expect("seeded").to_owned()
    }

    fn snapshot(&self, name: &str) -> String {
        let snapshots = self.0[name]["snapshots"].as_array().expect("snapshots");
        assert_eq!(snapshots.len(), 1, "moto gives each AMI one snapshot");
        snapshots[0].as_str().expect("a snapshot id").to_owned()
    }
}

fn ids(run: &Run) -> BTreeSet<String> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.column("id").into_iter().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_end_to_end_against_moto() {
    if skip() {
        return;
    }
    let rig = Rig {
        moto: Moto::start().await,
    };
    list_show_and_delete(&rig).await;
    prune_plan_and_apply(&rig).await;
    two_regions_and_every_region(&rig).await;
}

/// `list` with the filters EC2 has, `show`, and `delete` with and without
/// the snapshots, asserted on moto's state.
async fn list_show_and_delete(rig: &Rig) {
    let region = "us-east-1";
    let url = rig.url(region);
    let s = rig
        .seed(
            region,
            &["web-1,env=prod,team=web", "web-2,env=prod", "db-1,env=dev"],
        )
        .await;
    let list = |extra: &'static [&'static str]| {
        let mut args = vec!["-c", url.as_str(), "-o", "json", "list"];
        args.extend(extra);
        rig.cli_owned(args)
    };
    assert_eq!(
        ids(&list(&["--name", "web-*"]).await),
        set(&[&s.id("web-1"), &s.id("web-2")])
    );
    assert_eq!(
        ids(&list(&["--property", "tag:env=dev"]).await),
        set(&[&s.id("db-1")])
    );
    assert_eq!(ids(&list(&["--tag", "team"]).await), set(&[&s.id("web-1")]));
    assert_eq!(ids(&list(&["--name", "db-1"]).await), set(&[&s.id("db-1")]));
    assert!(ids(&list(&["--visibility", "public"]).await).is_empty());

    let shown = rig
        .cli(&["-c", &url, "-o", "json", "show", &s.id("web-1")])
        .await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let image = shown.json();
    assert_eq!(image["name"], "web-1");
    assert_eq!(image["owner"], rig.moto.account.as_str());
    assert_eq!(image["visibility"], "private");
    assert_eq!(image["properties"]["tag:team"], "web");

    // The usage scan (instances, templates, Auto Scaling) finds no user
    // and its launch permissions prove it private, so no --force-in-use:
    // deleted with its snapshot, each named. (A shared AMI is refused:
    // cli_ec2_usage::moto_shared_amis_are_kept_and_refused_the_private_one_goes.)
    let deleted = rig
        .cli(&["-c", &url, "delete", "--yes", &s.id("web-1")])
        .await;
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(
        deleted
            .stdout
            .contains(&format!("snapshot {} deleted", s.snapshot("web-1"))),
        "{}",
        deleted.stdout
    );
    let (images, snapshots) = rig.state(region).await;
    assert!(!images.contains(&s.id("web-1")), "{images:?}");
    assert!(!snapshots.contains(&s.snapshot("web-1")), "{snapshots:?}");
    assert!(snapshots.contains(&s.snapshot("web-2")), "{snapshots:?}");

    // --keep-snapshots: deregistered, the snapshot stays and is named.
    let kept = rig
        .cli(&[
            "-c",
            &url,
            "delete",
            "--yes",
            "--keep-snapshots",
            &s.id("db-1"),
        ])
        .await;
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert!(
        kept.stdout
            .contains(&format!("snapshot {} kept", s.snapshot("db-1"))),
        "{}",
        kept.stdout
    );
    let (images, snapshots) = rig.state(region).await;
    assert!(!images.contains(&s.id("db-1")), "{images:?}");
    assert!(snapshots.contains(&s.snapshot("db-1")), "{snapshots:?}");

    // Deleted already: said so, nothing else touched.
    let again = rig
        .cli(&["-c", &url, "delete", "--yes", &s.id("web-1")])
        .await;
    assert_ne!(
        again.code, 0,
        "a missing image is not found: {}",
        again.stdout
    );
    assert_eq!(rig.state(region).await.1, snapshots);
}

/// `prune` keeping the newest of a family: the plan deletes nothing and is
/// saved; `apply` deletes the planned AMIs and their snapshots (moto's
/// state), and the output and the audit log name every snapshot.
async fn prune_plan_and_apply(rig: &Rig) {
    let region = "eu-central-1";
    let url = rig.url(region);
    let s = rig
        .seed(region, &["app-1", "app-2", "app-3", "other-1"])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.ndjson");
    let plan_path = plan_file.to_str().unwrap();
    let args = keep_newest_args(
        &url,
        &rig.moto.account,
        "1",
        &["--name", "app-*", "--plan-out", plan_path],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = rig.state(region).await;
    let planned = entries(&rig.cli(&args).await);
    assert_eq!(entry(&planned, &s.id("app-3"))["action"], "keep");
    assert_eq!(entry(&planned, &s.id("app-2"))["action"], "delete");
    assert_eq!(entry(&planned, &s.id("app-1"))["action"], "delete");
    assert_eq!(planned.len(), 3, "other-1 is not a candidate");
    assert_eq!(rig.state(region).await, before, "a plan deletes nothing");

    let applied = rig
        .cli(&[
            "-c",
            &url,
            "-o",
            "json",
            "apply",
            plan_path,
            "--yes",
            "--audit-log",
            audit.to_str().unwrap(),
        ])
        .await;
    let done = entries(&applied);
    for name in ["app-1", "app-2"] {
        let e = entry(&done, &s.id(name));
        assert_eq!(e["result"], "deleted", "{e}");
        assert_eq!(e["details"][0]["id"], s.snapshot(name).as_str(), "{e}");
        assert_eq!(e["details"][0]["result"], "deleted", "{e}");
    }
    let (images, snapshots) = rig.state(region).await;
    assert_eq!(images, set(&[&s.id("app-3"), &s.id("other-1")]));
    assert_eq!(
        snapshots,
        set(&[&s.snapshot("app-3"), &s.snapshot("other-1")])
    );
    audit_names_the_snapshots(&audit, &[(s.id("app-1"), s.snapshot("app-1"))]);
}

/// The audit log's outcome record of each image names its snapshot.
fn audit_names_the_snapshots(audit: &Path, pairs: &[(String, String)]) {
    let text = std::fs::read_to_string(audit).expect("the audit log");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    for (image, snapshot) in pairs {
        let outcome = records
            .iter()
            .find(|r| r["id"] == image.as_str() && r["record"] == "outcome")
            .unwrap_or_else(|| panic!("no outcome record of {image}:\n{text}"));
        assert_eq!(outcome["result"], "deleted", "{outcome}");
        assert_eq!(outcome["details"][0]["kind"], "snapshot", "{outcome}");
        assert_eq!(outcome["details"][0]["id"], snapshot.as_str(), "{outcome}");
        assert_eq!(outcome["details"][0]["result"], "deleted", "{outcome}");
    }
}

/// `latest` and `diff` across two regions, and `?region=all`: one catalog
/// per region moto names in the partition, each listed.
async fn two_regions_and_every_region(rig: &Rig) {
    let (a, b) = ("eu-west-1", "us-west-2");
    let sa = rig.seed(a, &["base-1", "base-2"]).await;
    let sb = rig.seed(b, &["base-1", "base-3"]).await;
    let (ua, ub) = (rig.url(a), rig.url(b));

    let latest = rig
        .cli(&[
            "-c", &ua, "-c", &ub, "-o", "json", "latest", "--name", "base-*",
        ])
        .await;
    assert_eq!(latest.code, 0, "{}", latest.stderr);
    let newest = latest.json();
    let newest = if newest.is_array() {
        newest[0].clone()
    } else {
        newest
    };
    assert_eq!(newest["id"], sb.id("base-3").as_str(), "{newest}");

    let diff = rig.cli(&["-c", &ua, "-c", &ub, "-o", "json", "diff"]).await;
    let rows = diff.json();
    let rows = rows.as_array().expect("diff rows");
    let kind = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .map(|r| r["kind"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(kind("base-2").as_deref(), Some("missing"), "{rows:?}");
    assert_eq!(kind("base-3").as_deref(), Some("extra"), "{rows:?}");
    let a_side = &rows.iter().find(|r| r["name"] == "base-2").unwrap()["a"];
    assert_eq!(a_side[0]["id"], sa.id("base-2").as_str(), "{a_side}");

    // Every region: one catalog per region, named by its URL.
    let all = format!(
        "ec2+http://{}?region=all",
        rig.moto.url.trim_start_matches("http://")
    );
    let listed = rig.cli(&["-c", &all, "-o", "json", "list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let images = listed.json();
    let catalog_of = |id: &str| {
        images
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["catalog"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(catalog_of(&sa.id("base-1")), Some(ua.clone()));
    assert_eq!(catalog_of(&sb.id("base-3")), Some(ub.clone()));
    assert!(
        !listed.stderr.contains("cn-north-1") && !listed.stderr.contains("us-gov"),
        "another partition's regions are not this key's: {}",
        listed.stderr
    );
}

impl Rig {
    /// [`Rig::cli`] with an owned argument list (for closures).
    async fn cli_owned(&self, args: Vec<&str>) -> Run {
        self.cli(&args).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_retire_against_moto() {
    if skip() {
        return;
    }
    let rig = Rig {
        moto: Moto::start().await,
    };
    retire_restore_and_delete_retired(&rig).await;
}

/// Retire on moto (DisableImage, EnableImage, CreateTags, DeleteTags are
/// there): `prune --retire --apply`, `list --retired`, `restore`, then
/// `--delete-retired-after`, asserted on moto's state read with boto3.
/// moto keeps disabled AMIs in a plain DescribeImages (AWS hides them
/// unless `IncludeDisabled`) and has no `lastLaunchedTime`.
async fn retire_restore_and_delete_retired(rig: &Rig) {
    const TAG: &str = "imagecat:retired-at";
    let region = "ap-northeast-2";
    let url = rig.url(region);
    let s = rig.seed(region, &["web-1", "web-2", "web-3"]).await;
    let account = rig.moto.account.as_str();
    let prune = |extra: &[&'static str]| {
        let mut args = vec![
            "-c",
            url.as_str(),
            "-o",
            "json",
            "prune",
            "--owner",
            account,
            "--name",
            "web-*",
            "--family",
            "^(web)-",
            "--keep",
            "1",
        ];
        args.extend(extra);
        args
    };
    let state = |v: &Value, name: &str| {
        let image = &v[s.id(name)];
        (
            image["state"].as_str().unwrap_or("").to_owned(),
            image["tags"][TAG].as_str().map(str::to_owned),
        )
    };

    // Phase one: web-1 and web-2 (older than web-3) tagged and disabled.
    let run = rig.cli(&prune(&["--retire", "--apply", "--yes"])).await;
    let done = entries(&run);
    for name in ["web-1", "web-2"] {
        assert_eq!(entry(&done, &s.id(name))["result"], "retired", "{done:?}");
    }
    assert_eq!(entry(&done, &s.id("web-3"))["action"], "keep");
    let moto_state = rig.python(region, &["describe"]).await;
    for name in ["web-1", "web-2"] {
        let (st, tag) = state(&moto_state, name);
        assert_eq!(st, "disabled", "{moto_state}");
        assert!(tag.is_some_and(|t| t.ends_with('Z')), "{moto_state}");
    }
    assert_eq!(state(&moto_state, "web-3"), ("available".to_owned(), None));

    // list --retired: the two; moto lists them in a plain listing too.
    let retired = rig
        .cli(&["-c", &url, "-o", "json", "list", "--retired"])
        .await;
    assert_eq!(ids(&retired), set(&[&s.id("web-1"), &s.id("web-2")]));
    let plain = rig.cli(&["-c", &url, "-o", "json", "list"]).await;
    assert_eq!(ids(&plain).len(), 3, "moto does not hide disabled AMIs");

    // restore web-2: enabled and untagged.
    let restored = rig.cli(&["-c", &url, "restore", &s.id("web-2")]).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let moto_state = rig.python(region, &["describe"]).await;
    assert_eq!(state(&moto_state, "web-2"), ("available".to_owned(), None));

    // Phase two after twenty days: web-1 deregistered, web-2 kept.
    let old = (imagecat::chrono::Utc::now() - imagecat::chrono::Duration::days(20))
        .to_rfc3339_opts(imagecat::chrono::SecondsFormat::Secs, true);
    rig.python(region, &["tag", &s.id("web-1"), TAG, &old])
        .await;
    let run = rig
        .cli(&prune(&[
            "--delete-retired-after",
            "14d",
            "--apply",
            "--yes",
        ]))
        .await;
    let done = entries(&run);
    assert_eq!(
        entry(&done, &s.id("web-1"))["result"],
        "deleted",
        "{done:?}"
    );
    assert_eq!(entry(&done, &s.id("web-2"))["action"], "keep");
    let left: BTreeSet<String> = rig.state(region).await.0;
    assert_eq!(left, set(&[&s.id("web-2"), &s.id("web-3")]));
}

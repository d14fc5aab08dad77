//! EC2 usage end to end through the CLI against moto (signature checking
//! on): an AMI used only by a launch template, and one used only by an
//! Auto Scaling launch configuration, are named by `imagecat usage`, kept
//! by `prune --apply` and refused by `delete`, while the unused AMIs of the
//! same run are deregistered; and against the EC2 emulator, `prune --apply`
//! sends `DeregisterImage` for no AMI any user names. An unused AMI shared
//! through launch permissions (an account, an organization, an OU) is kept
//! by `prune --apply` as usage-unknown and refused by `delete`, on both; an
//! unshared one is deleted.

use std::collections::HashSet;

use crate::support::{entries, entry, has_reason, ids_where, imagecat, prune_args};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_testkit::moto::{self, Moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amis_used_only_by_a_template_or_a_launch_configuration_are_kept_and_refused() {
    if moto::skip() {
        return;
    }
    let moto = Moto::start().await;
    let region = "ap-south-1";
    let ids = moto.seed("seed_usage.py", &["cli", region]);
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    let (lt_only, lc_only) = (id("lt_only"), id("lc_only"));
    let url = format!(
        "ec2+http://{}?region={region}",
        moto.url.trim_start_matches("http://")
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    // usage names the template version and the launch configuration.
    let run = imagecat(
        &["-c", &url, "-o", "json", "usage", &lt_only, &lc_only],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let users = |k: usize| -> Vec<(String, String)> {
        doc[k]["instances"]
            .as_array()
            .unwrap_or_else(|| panic!("no users in {doc}"))
            .iter()
            .map(|u| {
                (
                    u["instance_id"].as_str().unwrap().to_owned(),
                    u["via"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let template = users(0);
    assert_eq!(template.len(), 1, "{doc}");
    assert!(
        template[0].0.starts_with("lt-") && template[0].0.ends_with(" version 1"),
        "{doc}"
    );
    assert_eq!(template[0].1, "launch_template");
    assert_eq!(
        users(1),
        [(
            "launch configuration keeps-it-too".to_owned(),
            "launch_configuration".to_owned()
        )]
    );
    let table = imagecat(&["-c", &url, "usage", &lt_only], &env).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains(&template[0].0), "{}", table.stdout);
    assert!(table.stdout.contains("keeps-it"), "{}", table.stdout);

    // delete refuses both (exit 4) and deregisters nothing.
    for victim in [&lt_only, &lc_only] {
        let refused = imagecat(&["-c", &url, "delete", victim, "--yes"], &env).await;
        assert_eq!(refused.code, 4, "{victim}: {}", refused.stderr);
        assert!(refused.stderr.contains("in use"), "{}", refused.stderr);
    }

    // prune --apply keeps both as in use and deletes the unused ones.
    let run = entries(&imagecat(&prune_args(&url, Some(&moto.account), true), &env).await);
    for victim in [&lt_only, &lc_only] {
        let kept = entry(&run, victim);
        assert_eq!(kept["action"], "keep", "{kept}");
        assert!(has_reason(kept, "in-use"), "{kept}");
    }
    let deleted = ids_where(&run, "result", "deleted");
    let unused: HashSet<String> = [id("unused_a"), id("unused_b")].into();
    assert_eq!(deleted, unused, "{run:?}");

    // moto's own state: the two in use remain, the unused are gone.
    let listed = imagecat(&["-c", &url, "-o", "json", "list"], &env).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let left: HashSet<String> = listed.column("id").into_iter().collect();
    assert_eq!(left, [lt_only, lc_only].into());
}

/// The AMIs the emulator's state says are used: instances but terminated
/// ones, every template version (`resolve:ssm:` through its parameter),
/// launch configurations, mixed-instances overrides, and the parameters
/// themselves (DescribeImageReferences reports them).
fn emulator_users(emu: &Ec2Emulator) -> HashSet<String> {
    let parameters: std::collections::HashMap<String, String> = emu
        .parameters(REGION)
        .into_iter()
        .map(|p| (p.name, p.values.last().unwrap().0.clone()))
        .collect();
    let mut used: HashSet<String> = parameters.values().cloned().collect();
    used.extend(
        emu.instances(REGION)
            .into_iter()
            .filter(|i| i.state != "terminated")
            .map(|i| i.image_id),
    );
    for template in emu.launch_templates(REGION) {
        for image in template.versions.into_iter().filter_map(|v| v.image_id) {
            used.insert(match image.strip_prefix("resolve:ssm:") {
                Some(name) => parameters[name].clone(),
                None => image,
            });
        }
    }
    used.extend(
        emu.launch_configurations(REGION)
            .into_iter()
            .map(|l| l.image_id),
    );
    for group in emu.auto_scaling_groups(REGION) {
        let overrides = group.mixed.map(|m| m.1).unwrap_or_default();
        used.extend(overrides.into_iter().filter_map(|o| o.image_id));
    }
    used
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_prune_apply_deregisters_no_ami_any_user_names() {
    let config = Ec2EmulatorConfig::default().signed();
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    let url = emu.catalog_url();
    let env = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let used = emulator_users(&emu);
    let lc_image = emu.launch_configurations(REGION)[0].image_id.clone();
    let run = imagecat(&["-c", &url, "-o", "json", "usage", &lc_image], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()[0]["instances"][0]["instance_id"],
        "launch configuration legacy-db"
    );

    let run = entries(&imagecat(&prune_args(&url, Some(ACCOUNT), true), &env).await);
    let deleted = ids_where(&run, "result", "deleted");
    assert!(!deleted.is_empty(), "nothing deleted: {run:?}");
    let sent: HashSet<String> = emu
        .calls_of("DeregisterImage")
        .iter()
        .filter_map(|c| c.param("ImageId").map(str::to_owned))
        .collect();
    assert_eq!(
        sent, deleted,
        "the DeregisterImage calls are the deleted entries"
    );
    for id in &used {
        assert!(!sent.contains(id), "{id} has a user and was deregistered");
        // (disabled AMIs are not listed, so not planned)
        if let Some(kept) = run.iter().find(|e| e["id"] == id.as_str()) {
            assert!(has_reason(kept, "in-use"), "{kept}");
        }
    }
}

/// The available, unprotected, undeprecated private AMIs nothing uses:
/// what a `prune --apply` of every family deletes.
fn plain_unused(emu: &Ec2Emulator) -> Vec<String> {
    let unused: HashSet<String> = emu.unused_ids(REGION).into_iter().collect();
    emu.images(REGION)
        .into_iter()
        .filter(|i| {
            unused.contains(&i.image_id)
                && i.state == "available"
                && !i.public
                && i.deprecation_time.is_none()
                && i.deregistration_protection
                    .as_deref()
                    .is_none_or(|p| p == "disabled")
        })
        .map(|i| i.image_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_a_privately_shared_unused_ami_is_kept_and_refused_an_unshared_one_goes() {
    let config = Ec2EmulatorConfig::default().signed();
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    let url = emu.catalog_url();
    let env = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let unused = plain_unused(&emu);
    assert!(unused.len() >= 3, "too few unused AMIs: {unused:?}");
    // one shared with an account, one with an organizational unit: both
    // still list as isPublic=false, exactly like the private ones
    let (to_account, to_ou) = (unused[0].clone(), unused[1].clone());
    let grants = [
        (&to_account, "userId", "210987654321"),
        (
            &to_ou,
            "organizationalUnitArn",
            "arn:aws:organizations::210987654321:ou/o-abc/ou-abc-def",
        ),
    ];
    for (id, kind, value) in grants {
        assert!(emu.update_image(REGION, id, |i| {
            i.launch_permissions
                .push((kind.to_owned(), value.to_owned()));
        }));
    }

    // delete refuses a shared AMI: its users in other accounts are unseen
    let refused = imagecat(&["-c", &url, "delete", &to_account, "--yes"], &env).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refusing to delete"),
        "{}",
        refused.stderr
    );
    assert!(emu.calls_of("DeregisterImage").is_empty());

    // prune --apply keeps both shared AMIs as usage-unknown, deletes the rest
    emu.clear_calls();
    let run = entries(&imagecat(&prune_args(&url, Some(ACCOUNT), true), &env).await);
    for shared in [&to_account, &to_ou] {
        let kept = entry(&run, shared);
        assert_eq!(kept["action"], "keep", "{kept}");
        assert!(has_reason(kept, "usage-unknown"), "{kept}");
    }
    let deleted = ids_where(&run, "result", "deleted");
    for plain in &unused[2..] {
        assert!(deleted.contains(plain), "{plain} not deleted: {run:?}");
    }
    let sent: HashSet<String> = emu
        .calls_of("DeregisterImage")
        .iter()
        .filter_map(|c| c.param("ImageId").map(str::to_owned))
        .collect();
    assert_eq!(sent, deleted);
    assert!(!sent.contains(&to_account) && !sent.contains(&to_ou));
    // launch permissions were read for the delete candidates only: never
    // for an AMI a user was found for
    let used = emulator_users(&emu);
    let asked: Vec<String> = emu
        .calls_of("DescribeImageAttribute")
        .iter()
        .filter(|c| c.param("Attribute") == Some("launchPermission"))
        .filter_map(|c| c.param("ImageId").map(str::to_owned))
        .collect();
    assert!(
        asked.contains(&to_account) && asked.contains(&to_ou),
        "{asked:?}"
    );
    assert!(asked.iter().all(|id| !used.contains(id)), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_shared_amis_are_kept_and_refused_the_private_one_goes() {
    if moto::skip() {
        return;
    }
    let moto = Moto::start().await;
    let region = "eu-west-3";
    let ids = moto.seed("seed_usage.py", &["shared", region]);
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    let url = format!(
        "ec2+http://{}?region={region}",
        moto.url.trim_start_matches("http://")
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let shared = ["to_account", "to_org", "to_ou"].map(id);
    let refused = imagecat(&["-c", &url, "delete", &shared[0], "--yes"], &env).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refusing to delete"),
        "{}",
        refused.stderr
    );

    let run = entries(&imagecat(&prune_args(&url, Some(&moto.account), true), &env).await);
    for victim in &shared {
        let kept = entry(&run, victim);
        assert_eq!(kept["action"], "keep", "{kept}");
        assert!(has_reason(kept, "usage-unknown"), "{kept}");
    }
    let deleted = ids_where(&run, "result", "deleted");
    assert_eq!(deleted, [id("private")].into(), "{run:?}");
    let listed = imagecat(&["-c", &url, "-o", "json", "list"], &env).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let left: HashSet<String> = listed.column("id").into_iter().collect();
    let mut want: HashSet<String> = shared.into_iter().collect();
    want.insert(id("public"));
    assert_eq!(left, want);
}

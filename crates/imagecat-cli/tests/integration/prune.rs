//! `imagecat prune` and `imagecat apply` end to end against the DCMGR
//! emulator: the dry run sends no DELETE, the saved plan is the printed
//! plan, `apply` deletes exactly the planned ids (the emulator's request
//! log), the audit log has an outcome line per entry and an intent line
//! before each DELETE, and a second run plans
//! nothing.

use std::collections::HashSet;

use serde_json::Value;

use crate::support::{command, dcmgr, entries, ids_where, keep_newest_args, run, strings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_plan_save_apply_and_a_second_run() {
    let emu = dcmgr(60).await;
    let account = emu.own_account().to_owned();
    let url = emu.catalog_url(Some(&account));
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.ndjson");
    let policy_keeping = |keep: &str, extra: &[&str]| -> Vec<String> {
        keep_newest_args(&url, &account, keep, extra)
    };
    let policy = |extra: &[&str]| policy_keeping("2", extra);
    let dry = entries(
        &run(&mut command(&policy(&[
            "--plan-out",
            plan_file.to_str().unwrap(),
        ])))
        .await,
    );
    let planned = ids_where(&dry, "action", "delete");
    assert!(planned.len() >= 2, "{dry:?}");
    assert_eq!(
        ids_where(&dry, "action", "keep").len(),
        dry.len() - planned.len()
    );
    assert!(
        emu.server().deleted_image_ids().is_empty(),
        "the dry run deleted"
    );
    for e in &dry {
        for key in [
            "catalog",
            "id",
            "name",
            "family",
            "created_at",
            "action",
            "reasons",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }
    // The saved plan is the printed plan.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["entries"].as_array().unwrap(), &dry);

    let apply_args = vec![
        "-c".to_owned(),
        url.clone(),
        "-o".into(),
        "json".into(),
        "apply".into(),
        plan_file.to_str().unwrap().into(),
        "--yes".into(),
        "--audit-log".into(),
        audit.to_str().unwrap().into(),
    ];
    let applied = entries(&run(&mut command(&apply_args)).await);
    assert_eq!(ids_where(&applied, "result", "deleted"), planned);
    assert_eq!(
        emu.server().deleted_image_ids(),
        planned,
        "DELETEs sent are not the plan's"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<&Value> = lines.iter().filter(|l| l["record"] == "outcome").collect();
    assert_eq!(outcomes.len(), dry.len(), "one outcome record per entry");
    // Written ahead: one intent per DELETE, before its outcome.
    let intents: HashSet<String> = lines
        .iter()
        .filter(|l| l["record"] == "intent")
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(intents, planned);
    assert_eq!(lines.len(), dry.len() + planned.len());
    for id in &planned {
        let at = |record: &str| {
            lines
                .iter()
                .position(|l| l["record"] == record && l["id"] == id.as_str())
                .unwrap()
        };
        assert!(at("intent") < at("outcome"), "{id}");
    }
    let audited: HashSet<String> = outcomes
        .iter()
        .filter(|l| l["result"] == "deleted")
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(audited, planned);

    let again = entries(&run(&mut command(&policy(&[]))).await);
    assert!(
        ids_where(&again, "action", "delete").is_empty(),
        "{again:?}"
    );
    // Without --yes and no terminal, --apply refuses (exit 2) and sends nothing.
    let refused = run(&mut command(&policy_keeping("1", &["--apply"]))).await;
    assert_eq!(refused.code, 2);
    let stderr = &refused.stderr;
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(emu.server().deleted_image_ids(), planned);
}

fn reasons_of(entries: &[Value], id: &str, key: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["id"] == id)
        .flat_map(|e| e[key].as_array().cloned().unwrap_or_default())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

/// The caller is the catalog's account without `--owner` (said on stderr);
/// a contradicting `--owner` is exit 2; a plan is refused on the same
/// catalog name with another account; a hand-edited plan deletes only what
/// the policy, evaluated again at apply time, still selects, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_rechecks_the_policy_the_edits_and_the_identity() {
    let emu = dcmgr(60).await;
    let account = emu.own_account().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let write_config = |account: &str| {
        let url = emu.catalog_url(Some(account));
        std::fs::write(&config, format!("[catalogs.lab]\nurl = \"{url}\"\n")).unwrap();
    };
    write_config(&account);
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.ndjson");
    let prune = |extra: &[&str]| {
        let mut args = strings(&[
            "-c",
            "lab",
            "-o",
            "json",
            "prune",
            "--family",
            "^()",
            "--keep",
            "2",
            "--older-than",
            "0s",
            "--allow-unknown-usage",
        ]);
        args.extend(strings(extra));
        args
    };

    // An --owner that contradicts the account: exit 2, nothing planned.
    let other = emu.config().accounts[1].clone();
    let out = run(command(&prune(&["--owner", &other])).env("IMAGECAT_CONFIG", &config)).await;
    assert_eq!(out.code, 2);
    let stderr = &out.stderr;
    assert!(
        stderr.contains("contradicts") && stderr.contains(&other),
        "{stderr}"
    );

    // Without --owner the account is the caller: its images are planned.
    let out = run(
        command(&prune(&["--plan-out", plan_file.to_str().unwrap()]))
            .env("IMAGECAT_CONFIG", &config),
    )
    .await;
    let stderr = &out.stderr;
    let dry = entries(&out);
    assert!(
        stderr.contains(&format!("you are \"{account}\"")),
        "{stderr}"
    );
    let planned: Vec<String> = dry
        .iter()
        .filter(|e| e["action"] == "delete")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(planned.len() >= 3, "{dry:?}");
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["catalogs"]["lab"]["account"], account.as_str());
    assert_eq!(saved["version"], 2);

    // The same catalog name on another account: refused, nothing sent.
    write_config(&other);
    let apply = strings(&[
        "-c",
        "lab",
        "-o",
        "json",
        "apply",
        plan_file.to_str().unwrap(),
        "--yes",
        "--audit-log",
        audit.to_str().unwrap(),
    ]);
    let out = run(command(&apply).env("IMAGECAT_CONFIG", &config)).await;
    assert_eq!(out.code, 2);
    let stderr = &out.stderr;
    assert!(
        stderr.contains(&account) && stderr.contains(&other),
        "{stderr}"
    );
    assert!(emu.server().deleted_image_ids().is_empty());
    write_config(&account);

    // After the plan, someone deletes every image ranked above the first
    // planned delete but the newest: keep 2 now keeps that delete.
    let entries = saved["entries"].as_array().unwrap().clone();
    let first = entries
        .iter()
        .position(|e| e["action"] == "delete")
        .unwrap();
    for e in &entries[1..first] {
        assert!(emu.remove(e["id"].as_str().unwrap()));
    }
    // Hand edits: the newest turned to delete (its reasons still say
    // newest), the second planned delete repeated, a foreign image turned
    // to a consistent-looking delete.
    let newest = entries[0]["id"].as_str().unwrap().to_owned();
    let repeated = planned[1].clone();
    let foreign = entries[first..]
        .iter()
        .find(|e| {
            e["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "not-owned")
        })
        .expect("a foreign public image")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = saved["entries"].as_array_mut().unwrap();
    for e in edited.iter_mut() {
        if e["id"] == newest.as_str() {
            e["action"] = "delete".into();
        }
        if e["id"] == foreign.as_str() {
            e["action"] = "delete".into();
            e["reasons"] = serde_json::json!(["selected"]);
        }
    }
    let copy = edited
        .iter()
        .find(|e| e["id"] == repeated.as_str())
        .unwrap()
        .clone();
    edited.push(copy);
    std::fs::write(&plan_file, serde_json::to_string(&saved).unwrap()).unwrap();

    let applied =
        crate::support::entries(&run(command(&apply).env("IMAGECAT_CONFIG", &config)).await);
    // planned[1] is deleted once, by its first entry; its repeat is skipped.
    let expected: HashSet<String> = planned[1..].iter().cloned().collect();
    assert_eq!(ids_where(&applied, "result", "deleted"), expected);
    assert_eq!(
        emu.server().deleted_image_ids(),
        expected,
        "DELETEs sent are not what both the plan and the policy now select"
    );
    assert_eq!(
        reasons_of(&applied, &planned[0], "skip_reasons"),
        ["newest"]
    );
    assert_eq!(
        reasons_of(&applied, &newest, "skip_reasons"),
        ["contradicts-reasons"]
    );
    assert_eq!(
        reasons_of(&applied, &repeated, "skip_reasons"),
        ["duplicate"]
    );
    assert_eq!(
        reasons_of(&applied, &foreign, "skip_reasons"),
        ["not-owned"]
    );
    let audit = std::fs::read_to_string(&audit).unwrap();
    for (id, reason) in [
        (&planned[0], "newest"),
        (&newest, "contradicts-reasons"),
        (&repeated, "duplicate"),
        (&foreign, "not-owned"),
    ] {
        assert!(
            audit.lines().any(|l| {
                let r: Value = serde_json::from_str(l).unwrap();
                r["id"] == id.as_str() && r["result"] == "skipped" && r["reason"] == reason
            }),
            "{id} {reason} not in the audit log:\n{audit}"
        );
    }
}

/// Policies are validated end to end: an age reaching before the earliest
/// representable date and a negative age are exit 2 with the reason, and
/// nothing is sent; a plain name the family regex does not match (the
/// fixture's `centos1d64`) is a family of its own, never the oldest member
/// of the `centos1d64-N` family it would otherwise join, so `--apply`
/// deletes only members of the captured family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_validated_and_an_unmatched_name_is_its_own_family() {
    let emu = dcmgr(30).await;
    let account = emu.own_account().to_owned();
    let url = emu.catalog_url(Some(&account));
    for (age, says) in [("20000000w", "reaches before"), ("-5d", "-5d")] {
        let out = run(&mut command(&[
            "-c".to_owned(),
            url.clone(),
            "prune".into(),
            format!("--older-than={age}"),
            "--apply".into(),
            "--yes".into(),
        ]))
        .await;
        assert_eq!(out.code, 2, "{age}");
        let stderr = &out.stderr;
        assert!(stderr.contains(says), "{age}: {stderr}");
    }
    assert!(emu.server().deleted_image_ids().is_empty());

    let plain = "wmi-centos1d64";
    assert_eq!(
        emu.image(plain)
            .expect("the fixture's plain image")
            .display_name,
        "centos1d64"
    );
    let prune = |extra: &[&str]| {
        let mut args = strings(&[
            "-c",
            &url,
            "-o",
            "json",
            "prune",
            "--family",
            r"^(centos1d64)-\d+$",
            "--keep",
            "1",
            "--older-than",
            "0s",
            "--allow-unknown-usage",
        ]);
        args.extend(strings(extra));
        args
    };
    let dry = entries(&run(&mut command(&prune(&[]))).await);
    let plain_entry = dry.iter().find(|e| e["id"] == plain).expect("planned");
    assert_eq!(plain_entry["action"], "keep", "{plain_entry}");
    assert_eq!(plain_entry["reasons"], serde_json::json!(["newest"]));
    let planned = ids_where(&dry, "action", "delete");
    assert!(!planned.is_empty(), "{dry:?}");
    let applied = entries(&run(&mut command(&prune(&["--apply", "--yes"]))).await);
    assert_eq!(ids_where(&applied, "result", "deleted"), planned);
    let sent = emu.server().deleted_image_ids();
    assert_eq!(sent, planned);
    assert!(!sent.contains(plain));
    for id in &sent {
        let e = applied.iter().find(|e| e["id"] == id.as_str()).unwrap();
        assert!(
            e["name"].as_str().unwrap().starts_with("centos1d64-"),
            "{e}"
        );
    }
}

//! `imagecat prune` and `imagecat apply` end to end against the DCMGR
//! emulator: the dry run sends no DELETE, the saved plan is the printed
//! plan, `apply` deletes exactly the planned ids (the emulator's request
//! log), the audit log has one line per entry, and a second run plans
//! nothing.

use std::collections::HashSet;
use std::process::Output;

use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use serde_json::Value;

use crate::support::command;

async fn imagecat(args: Vec<String>) -> Output {
    command(&args).output().await.expect("imagecat runs")
}

fn json(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON array")
}

fn ids_where(entries: &[Value], key: &str, value: &str) -> HashSet<String> {
    entries
        .iter()
        .filter(|e| e[key] == value)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_plan_save_apply_and_a_second_run() {
    let emu = DcmgrEmulator::start(DcmgrEmulatorConfig::v1203(), ServeOptions::default())
        .await
        .unwrap();
    let account = emu.own_account().to_owned();
    let url = emu.catalog_url(Some(&account));
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.ndjson");
    let policy_keeping = |keep: &str, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "-c",
            &url,
            "-o",
            "json",
            "prune",
            "--owner",
            &account,
            "--family",
            "^()",
            "--keep",
            keep,
            "--older-than",
            "0s",
            // Account-scoped public images are of unknown usage; this test is
            // about plan/apply, the usage rules are in tests/tests/cli_prune_usage.rs.
            "--allow-unknown-usage",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let policy = |extra: &[&str]| policy_keeping("2", extra);
    let dry = json(&imagecat(policy(&["--plan-out", plan_file.to_str().unwrap()])).await);
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
    let applied = json(&imagecat(apply_args).await);
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
    assert_eq!(lines.len(), dry.len(), "one audit record per entry");
    let audited: HashSet<String> = lines
        .iter()
        .filter(|l| l["result"] == "deleted")
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(audited, planned);

    let again = json(&imagecat(policy(&[])).await);
    assert!(
        ids_where(&again, "action", "delete").is_empty(),
        "{again:?}"
    );
    // Without --yes and no terminal, --apply refuses (exit 2) and sends nothing.
    let refused = imagecat(policy_keeping("1", &["--apply"])).await;
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(emu.server().deleted_image_ids(), planned);
}

//! `imagecat usage`, and deletes that refuse an image in use or of unknown
//! usage, end to end against the TOAST and DCMGR emulators.

use crate::support::{dcmgr, imagecat, toast};
use imagecat_emulators::instances::EmulatedInstance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_delete_refuses_an_image_in_use_with_nothing_sent_and_force_deletes() {
    let emu = toast(30).await;
    let token = emu.config().token.clone();
    let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
    let url = emu.catalog_url();
    let victim = emu.deletable_ids(1).remove(0);
    for k in 0..7 {
        emu.insert_instance(EmulatedInstance::new(
            format!("00000000-0000-4000-8000-00000000000{k}"),
            if k == 0 { "DELETING" } else { "STOP" },
            Some(&victim),
            "any",
        ));
    }
    for args in [
        vec!["-c", &url, "delete", &victim, "--yes"],
        vec!["-c", &url, "delete", &victim, "--dry-run"],
    ] {
        let run = imagecat(&args, &env).await;
        assert_eq!(run.code, 4, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("in use by 7 instance(s)"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("and 2 more"),
            "up to 5 named: {}",
            run.stderr
        );
        assert!(run.stderr.contains("DELETING"), "{}", run.stderr);
    }
    assert!(
        emu.server().requests().iter().all(|r| r.method != "DELETE"),
        "a DELETE was sent"
    );
    let usage = imagecat(&["-c", &url, "usage", &victim], &env).await;
    assert_eq!(usage.code, 0, "{}", usage.stderr);
    assert_eq!(usage.stdout.lines().count(), 1 + 7, "{}", usage.stdout);
    assert!(
        usage.stdout.lines().next().unwrap().starts_with("IMAGE"),
        "{}",
        usage.stdout
    );
    let json = imagecat(&["-c", &url, "-o", "json", "usage", &victim], &env).await;
    let doc = json.json();
    assert_eq!(doc[0]["usage"], "in_use", "{doc}");
    assert_eq!(doc[0]["instances"].as_array().unwrap().len(), 7);

    let forced = imagecat(
        &["-c", &url, "delete", &victim, "--yes", "--force-in-use"],
        &env,
    )
    .await;
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(!emu.listed_ids().contains(&victim));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_usage_refuses_the_delete_saying_why() {
    let emu = toast(30).await;
    let token = emu.config().token.clone();
    let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
    let url = emu.catalog_url();
    let victim = emu.deletable_ids(1).remove(0);
    emu.push_instances_response(
        200,
        r#"{"header":{"isSuccessful":false,"resultCode":-1,"resultMessage":"FAIL"}}"#,
    );
    let run = imagecat(&["-c", &url, "delete", &victim, "--yes"], &env).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("usage unknown: the instance listing failed"),
        "{}",
        run.stderr
    );
    assert!(emu.server().requests().iter().all(|r| r.method != "DELETE"));
    // The check is fresh each time: the next run sees the real listing.
    let dry = imagecat(&["-c", &url, "delete", &victim, "--dry-run"], &env).await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("(not in use)"), "{}", dry.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_id_is_refused_before_any_request_usage_included() {
    let emu = dcmgr(20).await;
    let url = emu.catalog_url(None);
    let before = emu.server().request_count();
    for args in [
        vec!["-c", url.as_str(), "delete", "wmi-../../instances", "--yes"],
        vec!["-c", url.as_str(), "usage", "wmi-../../instances"],
    ] {
        let run = imagecat(&args, &[]).await;
        assert_eq!(run.code, 5, "{args:?}: {}", run.stderr);
    }
    assert_eq!(emu.server().request_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_usage_lists_exactly_the_live_users_and_terminated_ones_do_not_block() {
    let emu = dcmgr(20).await;
    let url = emu.catalog_url(None);
    let victim = emu.deletable_ids(None, 1).remove(0);
    emu.insert_instance(EmulatedInstance::new(
        "i-zzzzzzz1",
        "terminated",
        Some(&victim),
        "a-shpoolxx",
    ));
    emu.insert_instance(EmulatedInstance::new(
        "i-zzzzzzz2",
        "halting",
        Some(&victim),
        "a-tenant0b",
    ));
    let json = imagecat(&["-c", &url, "-o", "json", "usage", &victim], &[]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc = json.json();
    let users: Vec<_> = doc[0]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["instance_id"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = emu
        .instances()
        .into_iter()
        .filter(|i| i.status != "terminated" && i.image_id.as_deref() == Some(victim.as_str()))
        .map(|i| i.id)
        .collect();
    want.sort();
    let mut got = users.clone();
    got.sort();
    assert_eq!(got, want);
    assert!(users.contains(&"i-zzzzzzz2".to_owned()) && !users.contains(&"i-zzzzzzz1".to_owned()));
    let refused = imagecat(&["-c", &url, "delete", &victim, "--yes"], &[]).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(emu.server().requests().iter().all(|r| r.method != "DELETE"));
    // Once the halting instance is terminated, only terminated users are left.
    for i in emu.instances() {
        if i.image_id.as_deref() == Some(victim.as_str()) {
            emu.set_instance_state(&i.id, "terminated");
        }
    }
    let done = imagecat(&["-c", &url, "delete", &victim, "--yes"], &[]).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(emu.image(&victim).unwrap().state, "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_in_use_and_unused_leave_unknown_images_out_with_a_note() {
    let emu = dcmgr(20).await;
    let account = emu.own_account().to_owned();
    // Account-scoped: public images nobody of the account uses are unknown.
    let url = emu.catalog_url(Some(&account));
    let all = imagecat(&["-c", &url, "-o", "json", "list"], &[]).await;
    let in_use = imagecat(&["-c", &url, "-o", "json", "list", "--in-use"], &[]).await;
    let unused = imagecat(&["-c", &url, "-o", "json", "list", "--unused"], &[]).await;
    assert_eq!(in_use.code, 0, "{}", in_use.stderr);
    assert_eq!(unused.code, 0, "{}", unused.stderr);
    let (all, used, free) = (all.column("id"), in_use.column("id"), unused.column("id"));
    let live: Vec<String> = emu
        .instances()
        .into_iter()
        .filter(|i| i.status != "terminated" && i.account_id == account)
        .filter_map(|i| i.image_id)
        .collect();
    for id in &all {
        assert_eq!(used.contains(id), live.contains(id), "{id}");
        assert!(!(used.contains(id) && free.contains(id)), "{id} under both");
    }
    let unknown = all.len() - used.len() - free.len();
    assert!(
        unknown > 0,
        "the seed has public images the account does not use"
    );
    for run in [&in_use, &unused] {
        assert!(
            run.stderr
                .contains(&format!("{unknown} image(s) of unknown usage")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("sees only the caller's own tenant"),
            "{}",
            run.stderr
        );
    }
}

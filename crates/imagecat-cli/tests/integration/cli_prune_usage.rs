//! `imagecat prune --apply` end to end against the TOAST and DCMGR
//! emulators with instances, without `--allow-unknown-usage`: an image in
//! use is kept (`in-use`) and no DELETE is sent for it, an image of
//! unknown usage is kept (`usage-unknown`), the other planned deletes go.

use crate::support::{
    dcmgr, entries, entry, has_reason, ids_where, imagecat, prune_args, toast_in_use,
};
use imagecat_emulators::instances::EmulatedInstance;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_prune_keeps_an_image_in_use_or_of_unknown_usage_and_deletes_the_rest() {
    let (emu, used) = toast_in_use(12).await;
    let token = emu.config().token.clone();
    let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
    let url = emu.catalog_url();
    let run = entries(&imagecat(&prune_args(&url, None, true), &env).await);
    let kept = entry(&run, &used);
    assert_eq!(kept["action"], "keep", "{kept}");
    assert!(has_reason(kept, "in-use"), "{kept}");
    let deleted = ids_where(&run, "result", "deleted");
    assert!(!deleted.is_empty(), "nothing deleted: {run:?}");
    let sent = emu.server().deleted_image_ids();
    assert_eq!(sent, deleted, "DELETEs sent are not the deleted entries");
    assert!(!sent.contains(&used), "the image in use was deleted");
    assert!(emu.listed_ids().contains(&used));

    // A failing instances page: every image's usage is unknown, all kept.
    emu.push_instances_response(
        200,
        r#"{"header":{"isSuccessful":false,"resultCode":-1,"resultMessage":"FAIL"}}"#,
    );
    let before = emu.server().requests().len();
    let run = entries(&imagecat(&prune_args(&url, None, true), &env).await);
    let candidates: Vec<&Value> = run
        .iter()
        .filter(|e| e["action"] == "keep" && has_reason(e, "usage-unknown"))
        .collect();
    assert!(!candidates.is_empty(), "no usage-unknown keep: {run:?}");
    assert!(ids_where(&run, "action", "delete").is_empty(), "{run:?}");
    assert!(
        emu.server().requests()[before..]
            .iter()
            .all(|r| r.method != "DELETE"),
        "a DELETE was sent while usage was unknown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_prune_keeps_in_use_and_account_scoped_public_images() {
    let emu = dcmgr(20).await;
    let account = emu.own_account().to_owned();
    let url = emu.catalog_url(Some(&account));
    let used = emu.deletable_ids(Some(&account), 1).remove(0);
    emu.insert_instance(EmulatedInstance::new(
        "i-zzzzzzz3",
        "running",
        Some(&used),
        &account,
    ));
    let run = entries(&imagecat(&prune_args(&url, Some(&account), true), &[]).await);
    let kept = entry(&run, &used);
    assert_eq!(kept["action"], "keep", "{kept}");
    assert!(has_reason(kept, "in-use"), "{kept}");
    // Account-scoped, public images the account does not use are unknown.
    let unknown: Vec<&Value> = run
        .iter()
        .filter(|e| has_reason(e, "usage-unknown"))
        .collect();
    assert!(!unknown.is_empty(), "no usage-unknown image: {run:?}");
    assert!(unknown.iter().all(|e| e["action"] == "keep"), "{unknown:?}");
    let deleted = ids_where(&run, "result", "deleted");
    assert!(!deleted.is_empty(), "nothing deleted: {run:?}");
    let sent = emu.server().deleted_image_ids();
    assert_eq!(sent, deleted, "DELETEs sent are not the deleted entries");
    assert!(!sent.contains(&used), "the image in use was deleted");
    for e in &unknown {
        assert!(!sent.contains(e["id"].as_str().unwrap()), "{e}");
    }
    assert_ne!(emu.image(&used).unwrap().state, "deleted");
}

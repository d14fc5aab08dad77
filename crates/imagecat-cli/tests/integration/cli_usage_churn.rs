//! `imagecat prune --apply` end to end against a DCMGR emulator whose
//! instance listing misbehaves while it is read: a listing that shifts
//! between pages (the instance at a page boundary slips onto a page
//! already read) and pages that come back empty short of their total. The
//! emulator's request log says which DELETEs were sent: never one for an
//! image in use, and none for an image whose usage no walk could prove.

use crate::support::{dcmgr, entries, entry, has_reason, imagecat, prune_args};
use imagecat_emulators::dcmgr::DcmgrEmulator;
use imagecat_emulators::faults::InstanceFaults;
use imagecat_emulators::instances::EmulatedInstance;
use serde_json::Value;

/// The DCMGR instance page size (the adapter's default).
const PAGE: usize = 250;

/// The emulator with its seeded instances terminated and, in id order,
/// `PAGE + 1` instances of `filler` then one of `victim`: after one shift
/// the victim is the first instance of the second page, and a second
/// shift before that page is read moves it onto the first.
async fn boundary() -> (DcmgrEmulator, String, String, String) {
    let emu = dcmgr(20).await;
    let account = emu.own_account().to_owned();
    for i in emu.instances() {
        emu.set_instance_state(&i.id, "terminated");
    }
    let ids = emu.deletable_ids(Some(&account), 2);
    let (filler, victim) = (ids[0].clone(), ids[1].clone());
    for k in 0..=PAGE {
        let id = format!("i-0a{k:06}");
        emu.insert_instance(EmulatedInstance::new(
            id,
            "running",
            Some(&filler),
            &account,
        ));
    }
    emu.insert_instance(EmulatedInstance::new(
        "i-0b000000",
        "running",
        Some(&victim),
        &account,
    ));
    (emu, account, filler, victim)
}

/// The entries of `prune --apply --yes --owner ACCOUNT` on `emu`.
async fn run_prune(emu: &DcmgrEmulator, account: &str) -> Vec<Value> {
    let url = emu.catalog_url(Some(account));
    entries(&imagecat(&prune_args(&url, Some(account), true), &[]).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_never_deletes_an_image_whose_user_a_shift_moved_across_a_page_boundary() {
    let (emu, account, filler, victim) = boundary().await;
    emu.instance_faults(InstanceFaults {
        shifts: 10_000,
        ..InstanceFaults::default()
    });
    let entries = run_prune(&emu, &account).await;
    for id in [&filler, &victim] {
        let kept = entry(&entries, id);
        assert_eq!(kept["action"], "keep", "{kept}");
        assert!(has_reason(kept, "in-use"), "{kept}");
    }
    let sent = emu.server().deleted_image_ids();
    assert!(!sent.contains(&victim), "the image in use was deleted");
    assert!(!sent.contains(&filler));
    // The scan did not give up: the plan is the one an honest server gets
    // (a shift of one instance is proven harmless by the overlapping reads).
    let (honest, _, _, _) = boundary().await;
    let expected = run_prune(&honest, &account).await;
    let plan = |entries: &[Value]| -> Vec<(Value, Value, Value)> {
        entries
            .iter()
            .map(|e| (e["id"].clone(), e["action"].clone(), e["reasons"].clone()))
            .collect()
    };
    assert_eq!(plan(&entries), plan(&expected));
    assert_eq!(sent, honest.server().deleted_image_ids());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_nothing_when_instance_pages_come_back_empty_short_of_the_total() {
    let (emu, account, filler, victim) = boundary().await;
    emu.instance_faults(InstanceFaults {
        past_row: PAGE as u64,
        empty_pages: 10_000,
        ..InstanceFaults::default()
    });
    let entries = run_prune(&emu, &account).await;
    let victim_entry = entry(&entries, &victim);
    assert_eq!(victim_entry["action"], "keep", "{victim_entry}");
    assert!(has_reason(victim_entry, "usage-unknown"), "{victim_entry}");
    assert!(has_reason(entry(&entries, &filler), "in-use"));
    assert!(
        emu.server().deleted_image_ids().is_empty(),
        "no usage is known, so no DELETE: {:?}",
        emu.server().deleted_image_ids()
    );
}

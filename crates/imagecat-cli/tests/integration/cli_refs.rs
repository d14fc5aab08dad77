//! `imagecat prune --apply` and `delete` end to end against the emulators'
//! reference fault modes: an image in use whose instance names it in
//! another spelling (upper case, whitespace, a Nova link) is never
//! deleted; a server booted from a volume whose image cannot be read
//! (bootable without image metadata, or a forbidden volume read) keeps
//! every candidate. The emulator's request log says which DELETEs were
//! sent.

use crate::support::{
    GLANCE_TOKEN, entries, glance, has_reason, ids_where, imagecat, prune_args, toast_in_use,
};
use imagecat_emulators::glance::{CinderVolume, NovaServer, PROJECT_ID, ServerBoot, VolumeFault};
use imagecat_emulators::instances::RefSpelling;
use serde_json::Value;

/// Whether image `id` is kept, `reason` among the reasons.
fn kept_for(entries: &[Value], id: &str, reason: &str) -> bool {
    entries
        .iter()
        .any(|e| e["id"] == id && e["action"] == "keep" && has_reason(e, reason))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_an_image_named_in_another_spelling_is_never_deleted() {
    for spelling in [RefSpelling::Upper, RefSpelling::Padded] {
        let (emu, used) = toast_in_use(12).await;
        let token = emu.config().token.clone();
        let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
        let url = emu.catalog_url();
        emu.set_ref_spelling(spelling);
        // delete refuses it (exit 4), sending no DELETE
        let refused = imagecat(&["-c", &url, "delete", &used, "--yes"], &env).await;
        assert_eq!(refused.code, 4, "{spelling:?}: {}", refused.stderr);
        assert!(emu.server().deleted_image_ids().is_empty(), "{spelling:?}");
        // prune --apply keeps it and deletes the rest
        let run = entries(&imagecat(&prune_args(&url, None, true), &env).await);
        assert!(kept_for(&run, &used, "in-use"), "{spelling:?}: {run:?}");
        let deleted = ids_where(&run, "result", "deleted");
        assert!(!deleted.is_empty(), "{spelling:?}: nothing deleted");
        let sent = emu.server().deleted_image_ids();
        assert_eq!(sent, deleted, "{spelling:?}");
        assert!(
            !sent.contains(&used),
            "{spelling:?}: the image in use was deleted"
        );
    }
}

/// A Glance emulator whose Nova lists every project (an admin token), no
/// seeded servers, and the images the owner's prune would delete.
async fn glance_with_plan() -> (
    imagecat_emulators::glance::GlanceEmulator,
    String,
    Vec<String>,
) {
    let emu = glance(30).await;
    emu.clear_servers();
    emu.set_admin(true);
    let url = emu.usage_catalog_url();
    let env = [("OS_TOKEN", GLANCE_TOKEN)];
    let plan = entries(&imagecat(&prune_args(&url, Some(PROJECT_ID), false), &env).await);
    // In plan order: the tests pick the first planned images.
    let planned: Vec<String> = plan
        .iter()
        .filter(|e| e["action"] == "delete")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(planned.len() >= 3, "{plan:?}");
    assert!(emu.server().deleted_image_ids().is_empty());
    (emu, url, planned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_an_image_named_by_a_nova_link_is_never_deleted() {
    for spelling in [
        RefSpelling::Link,
        RefSpelling::LinkObject,
        RefSpelling::Upper,
    ] {
        let (emu, url, planned) = glance_with_plan().await;
        let env = [("OS_TOKEN", GLANCE_TOKEN)];
        let used = planned[0].clone();
        emu.insert_server(NovaServer::new(
            "5e7e0000-0000-4000-8000-0000000000aa",
            used.clone(),
        ));
        emu.set_ref_spelling(spelling);
        let refused = imagecat(&["-c", &url, "delete", &used, "--yes"], &env).await;
        assert_eq!(refused.code, 4, "{spelling:?}: {}", refused.stderr);
        assert!(emu.server().deleted_image_ids().is_empty(), "{spelling:?}");
        let run = entries(&imagecat(&prune_args(&url, Some(PROJECT_ID), true), &env).await);
        assert!(kept_for(&run, &used, "in-use"), "{spelling:?}: {run:?}");
        let deleted = ids_where(&run, "result", "deleted");
        let sent = emu.server().deleted_image_ids();
        assert_eq!(sent, deleted, "{spelling:?}");
        assert_eq!(sent.len(), planned.len() - 1, "{spelling:?}: {run:?}");
        assert!(
            !sent.contains(&used),
            "{spelling:?}: the image in use was deleted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_a_boot_volume_whose_image_cannot_be_read_keeps_every_candidate() {
    for fault in [VolumeFault::HiddenMetadata, VolumeFault::Forbidden] {
        let (emu, url, planned) = glance_with_plan().await;
        let env = [("OS_TOKEN", GLANCE_TOKEN)];
        let server = NovaServer::new("5e7e0000-0000-4000-8000-0000000000bb", "").boot(
            ServerBoot::Volume("0b0e0000-0000-4000-8000-0000000000bb".into()),
        );
        let mut volume =
            CinderVolume::new("0b0e0000-0000-4000-8000-0000000000bb", Some(&planned[0]));
        volume.server_id = Some(server.id.clone());
        emu.insert_volume(volume);
        emu.insert_server(server);
        emu.set_volume_fault(fault);
        let refused = imagecat(&["-c", &url, "delete", &planned[1], "--yes"], &env).await;
        assert_eq!(refused.code, 4, "{fault:?}: {}", refused.stderr);
        let run = entries(&imagecat(&prune_args(&url, Some(PROJECT_ID), true), &env).await);
        for id in &planned {
            assert!(
                kept_for(&run, id, "usage-unknown"),
                "{fault:?} {id}: {run:?}"
            );
        }
        assert!(
            emu.server().deleted_image_ids().is_empty(),
            "{fault:?}: a DELETE was sent while a boot volume was unreadable"
        );
    }
}

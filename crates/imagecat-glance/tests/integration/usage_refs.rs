//! Image references by Glance's identity rule, and boot volumes whose
//! image cannot be determined, against the emulator's Nova and Cinder
//! fault modes: a server naming its image in another spelling (upper
//! case, whitespace, a link string, `{links}` without `id`) is still a
//! user of that image; a bootable volume without image metadata, or a
//! volume read that is forbidden, makes every image not seen in use
//! unknown; only a volume that was read and is not bootable boots no image.

use std::collections::BTreeSet;

use imagecat_core::usage::{ImageUsage, UnknownReason};
use imagecat_core::{Image, ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery};
use imagecat_emulators::glance::{
    CinderVolume, GlanceEmulator, GlanceEmulatorConfig, KeystoneUser, NovaServer, RefSpelling,
    ServerBoot, VolumeFault, seeded_id,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::GlanceCatalog;
use imagecat_testkit::listing::test_http;

async fn emulator() -> GlanceEmulator {
    let config = GlanceEmulatorConfig::default().keystone(KeystoneUser::default());
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    emu.clear_servers();
    emu.set_admin(true);
    emu
}

fn catalog(emu: &GlanceEmulator) -> GlanceCatalog {
    crate::support::keystone_v3(emu, KeystoneUser::default())
        .http_options(test_http(2))
        .build()
        .expect("the catalog builds")
}

async fn image(catalog: &GlanceCatalog, i: u64) -> Image {
    catalog.get(&ImageId::new(seeded_id(i))).await.expect("get")
}

fn server_id(n: u64) -> String {
    format!("5e7e0000-0000-4000-8000-{n:012x}")
}

fn volume_id(n: u64) -> String {
    format!("0b0e0000-0000-4000-8000-{n:012x}")
}

/// Private images: 1 4 6 8 20.
const A: u64 = 1;
const B: u64 = 4;
const F: u64 = 6;
const UNUSED: u64 = 20;

/// Server 1 boots A, server 2 B, server 6 a volume made from F, server 7
/// a blank (not bootable) volume.
fn seed(emu: &GlanceEmulator) {
    emu.insert_server(NovaServer::new(server_id(1), seeded_id(A)));
    emu.insert_server(NovaServer::new(server_id(2), seeded_id(B)).status("SHUTOFF"));
    for (n, from) in [(6, Some(F)), (7, None)] {
        let s = NovaServer::new(server_id(n), "").boot(ServerBoot::Volume(volume_id(n)));
        let mut v = CinderVolume::new(volume_id(n), from.map(seeded_id).as_deref());
        v.server_id = Some(s.id.clone());
        emu.insert_volume(v);
        emu.insert_server(s);
    }
}

#[tokio::test]
async fn every_spelling_of_an_image_reference_finds_its_users() {
    for spelling in [
        RefSpelling::Upper,
        RefSpelling::Padded,
        RefSpelling::Link,
        RefSpelling::LinkObject,
    ] {
        let emu = emulator().await;
        seed(&emu);
        emu.set_ref_spelling(spelling);
        let catalog = catalog(&emu);
        let scan = catalog.usage_scan(InstanceQuery::new().page_size(2)).await;
        assert!(scan.is_complete(), "{spelling:?}: {scan:?}");
        let used: BTreeSet<String> = scan.used_images().map(ToString::to_string).collect();
        let want: BTreeSet<String> = [A, B, F].into_iter().map(seeded_id).collect();
        assert_eq!(used, want, "{spelling:?}");
        assert_eq!(
            scan.usage_of(&image(&catalog, UNUSED).await),
            ImageUsage::NotInUse,
            "{spelling:?}"
        );
        // The one-image check (delete's refusal, apply's re-check) too.
        let usage = catalog.usage_of(&[image(&catalog, A).await]).await;
        assert_eq!(usage[0].as_str(), "in_use", "{spelling:?}");
    }
}

#[tokio::test]
async fn a_link_to_something_else_is_unresolved_never_no_image() {
    let emu = emulator().await;
    seed(&emu);
    let compute = emu.compute_endpoint();
    let page = serde_json::json!({"servers": [
        {"id": server_id(1), "status": "ACTIVE", "image": format!("{compute}/flavors/1")},
        {"id": server_id(2), "status": "ACTIVE", "image": {"links": [
            {"rel": "bookmark", "href": format!("{compute}/images/{}", seeded_id(A))},
            {"rel": "self", "href": format!("{compute}/images/{}", seeded_id(B))}]}},
    ]});
    emu.push_compute_response(200, "application/json", page.to_string());
    let catalog = catalog(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    match scan.usage_of(&image(&catalog, UNUSED).await) {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { instances, count },
        } => {
            assert_eq!(count, 2);
            assert_eq!(instances, [server_id(1), server_id(2)]);
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

/// The unresolved instances of the answer for UNUSED.
async fn unresolved_for_unused(emu: &GlanceEmulator) -> Vec<String> {
    let catalog = catalog(emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    match scan.usage_of(&image(&catalog, UNUSED).await) {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { instances, count },
        } => {
            assert_eq!(instances.len(), count);
            instances
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bootable_volume_without_image_metadata_makes_every_image_unknown() {
    let emu = emulator().await;
    seed(&emu);
    emu.set_volume_fault(VolumeFault::HiddenMetadata);
    // The bootable volume hides its image; the blank one was read and is
    // not bootable, so it boots no image.
    assert_eq!(unresolved_for_unused(&emu).await, [server_id(6)]);
    let catalog = catalog(&emu);
    let usage = catalog.usage_of(&[image(&catalog, F).await]).await;
    assert_eq!(usage[0].as_str(), "unknown");
}

#[tokio::test]
async fn a_forbidden_volume_read_makes_every_image_unknown() {
    let emu = emulator().await;
    seed(&emu);
    emu.set_volume_fault(VolumeFault::Forbidden);
    assert_eq!(
        unresolved_for_unused(&emu).await,
        [server_id(7), server_id(6)]
    );
}

#[tokio::test]
async fn a_volume_that_does_not_say_it_is_bootable_is_unresolved() {
    let emu = emulator().await;
    seed(&emu);
    let volume = serde_json::json!({"volume": {"id": volume_id(7), "attachments": []}});
    let catalog = catalog(&emu);
    // The canned answers go to the next compute and volume requests: the
    // servers page, then the read of its one volume.
    let page = serde_json::json!({"servers": [
        {"id": server_id(7), "status": "ACTIVE", "image": "",
         "os-extended-volumes:volumes_attached": [{"id": volume_id(7)}]}]});
    emu.push_compute_response(200, "application/json", page.to_string());
    emu.push_compute_response(200, "application/json", volume.to_string());
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    match scan.usage_of(&image(&catalog, UNUSED).await) {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { instances, .. },
        } => assert_eq!(instances, [server_id(7)]),
        other => panic!("expected unknown, got {other:?}"),
    }
}

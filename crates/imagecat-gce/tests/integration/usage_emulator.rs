//! The usage listing against `imagecat emulate gce`'s emulator at scale:
//! 2,000 disks in 20 zones cost one aggregated listing (4 pages of 500),
//! not one request per zone; an unreachable zone there is unknown too.

use imagecat_core::{ImageCatalogExt, ImageUsage, InstanceQuery, UnknownReason};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, TOKEN};
use imagecat_emulators::server::ServeOptions;
use imagecat_gce::{GceBuilder, GceCatalog};
use imagecat_http::SecretString;

async fn emulator() -> GceEmulator {
    let config = GceEmulatorConfig {
        images: 40,
        zones: (0..20).map(|z| format!("zone-{z:02}-a")).collect(),
        ..GceEmulatorConfig::default()
    }
    .usage(2_000, 100, 20, 10);
    GceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap()
}

fn catalog(emu: &GceEmulator) -> GceCatalog {
    GceBuilder::new()
        .project(emu.project())
        .endpoint(emu.endpoint())
        .access_token(SecretString::new(TOKEN))
        .build()
        .unwrap()
}

fn count(emu: &GceEmulator, suffix: &str) -> usize {
    emu.server().count_requests(|r| r.path.ends_with(suffix))
}

#[tokio::test]
async fn two_thousand_disks_in_twenty_zones_cost_one_aggregated_listing() {
    let emu = emulator().await;
    let catalog = catalog(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    // disk i is made from image 7i mod 40: every image has users
    assert_eq!(scan.used_images().count(), 40);
    assert!(scan.instance_count() >= 2_000 + 100 + 10 + 10);
    // four full pages, and the empty one the emulator answers after a
    // full last page (as a server may)
    let disk_pages = count(&emu, "/aggregated/disks");
    assert!((4..=5).contains(&disk_pages), "{disk_pages}");
    for kind in ["instances", "instanceTemplates", "instanceGroupManagers"] {
        let pages = count(&emu, &format!("/aggregated/{kind}"));
        assert!((1..=2).contains(&pages), "{kind}: {pages}");
    }
    // no per-zone list, and each family asked once
    let per_zone = emu
        .server()
        .count_requests(|r| r.path.contains("/zones/") || r.path.contains("/regions/"));
    assert_eq!(per_zone, 0);
    assert!(count(&emu, "/family/family-0") <= 1);
    assert!(
        emu.server().request_count() <= 5 + 3 * 2 + 4,
        "{}",
        emu.server().request_count()
    );
}

#[tokio::test]
async fn an_unreachable_zone_of_the_emulator_is_unknown() {
    let emu = emulator().await;
    let catalog = catalog(&emu);
    emu.set_unreachable(&["zones/zone-07-a"]);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(!scan.is_complete());
    emu.clear_usage(emu.project());
    let images = catalog
        .collect(imagecat_core::ListQuery::new())
        .await
        .unwrap();
    let usage = catalog.candidate_usage(&scan, &images[0]).await;
    // seen in use in a reachable zone, or unknown: never unused
    match usage {
        ImageUsage::InUse { .. } => {}
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => assert!(message.contains("zones/zone-07-a"), "{message}"),
        other => panic!("expected in use or unknown, got {other:?}"),
    }
    // with nothing left to see and the zone still unreachable: unknown
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    let usage = catalog.candidate_usage(&scan, &images[0]).await;
    assert_eq!(usage.as_str(), "unknown", "{usage:?}");
}

//! Retire and restore through the library against the GCE emulator: the
//! label write survives another writer (one 412, read again, sent again,
//! the other writer's label kept), gives up on the second 412 with the
//! server's error and sends no deprecate; the replacement goes out as a
//! full image URL; a read-only (public) project refuses before any
//! request; restore of an image whose deprecation was cleared by hand
//! only removes the label.

use imagecat_core::retire::{RetireRequest, retirement};
use imagecat_core::{ErrorKind, ImageCatalog, ImageId};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, GceImage, PROJECT};
use imagecat_gce::RETIRED_AT_LABEL;
use imagecat_testkit::listing::test_http;

use crate::emulator::{builder, catalog, emulator};

fn id(name: &str) -> ImageId {
    ImageId::new(format!("projects/{PROJECT}/global/images/{name}"))
}

async fn two_images() -> GceEmulator {
    let emu = emulator(GceEmulatorConfig::default().images(0)).await;
    emu.add_image(
        PROJECT,
        GceImage::at_hour("old", 1).family("web").label("team", "a"),
    );
    emu.add_image(PROJECT, GceImage::at_hour("new", 2).family("web"));
    emu
}

/// The writes since `from`, as `METHOD name/verb`.
fn writes(emu: &GceEmulator, from: usize) -> Vec<String> {
    emu.server().requests()[from..]
        .iter()
        .map(|r| {
            let tail: Vec<&str> = r.path.rsplit('/').take(2).collect();
            format!("{} {}/{}", r.method, tail[1], tail[0])
        })
        .collect()
}

fn request(catalog: &imagecat_gce::GceCatalog, method: Option<&str>) -> RetireRequest {
    let support = catalog.info().capabilities.retire.expect("gce retires");
    let method = support
        .method(imagecat_gce::BACKEND, method)
        .expect("a method");
    RetireRequest::new(method, "2026-12-07T15:33:00Z".parse().unwrap()).replacement(Some(id("new")))
}

#[tokio::test]
async fn a_concurrent_relabel_is_read_again_and_kept_once_then_refused() {
    let emu = two_images().await;
    let catalog = catalog(&emu);
    emu.relabel_before_next_set_labels("owner", "ci");
    catalog
        .retire(&id("old"), &request(&catalog, None))
        .await
        .unwrap();
    assert_eq!(
        writes(&emu, 0),
        [
            "GET images/old",
            "POST old/setLabels",
            "GET images/old",
            "POST old/setLabels",
            "POST old/deprecate",
        ]
    );
    let doc = emu.image_json(PROJECT, "old").unwrap();
    assert_eq!(doc["labels"]["owner"], "ci", "{doc}");
    assert_eq!(doc["labels"]["team"], "a", "{doc}");
    assert_eq!(doc["labels"][RETIRED_AT_LABEL], "1796657580", "{doc}");
    assert_eq!(doc["deprecated"]["state"], "OBSOLETE");
    assert_eq!(doc["deprecated"]["obsolete"], "2026-12-07T15:33:00Z");
    let replacement = doc["deprecated"]["replacement"].as_str().unwrap();
    assert!(
        replacement.ends_with(&format!("/projects/{PROJECT}/global/images/new")),
        "{replacement}"
    );
    // the state reads back from the image
    let image = catalog.get(&id("old")).await.unwrap();
    let state = retirement(&catalog.info().capabilities, &image);
    assert_eq!(state.at(), Some("2026-12-07T15:33:00Z".parse().unwrap()));

    // Two other writers in a row: the second 412 is the error, no deprecate.
    emu.relabel_before_next_set_labels("owner", "x");
    emu.relabel_before_next_set_labels("owner", "y");
    let from = emu.server().request_count();
    let e = catalog
        .retire(&id("new"), &request(&catalog, Some("deprecated")))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(412), "{e}");
    assert!(e.to_string().contains("fingerprint"), "{e}");
    assert!(
        !writes(&emu, from).iter().any(|w| w.ends_with("/deprecate")),
        "{:?}",
        writes(&emu, from)
    );
    assert!(
        emu.image_json(PROJECT, "new")
            .unwrap()
            .get("deprecated")
            .is_none()
    );
}

#[tokio::test]
async fn restore_sends_only_what_the_image_still_carries() {
    let emu = two_images().await;
    let catalog = catalog(&emu);
    catalog
        .retire(&id("old"), &request(&catalog, Some("deprecated")))
        .await
        .unwrap();
    assert_eq!(
        emu.image_json(PROJECT, "old").unwrap()["deprecated"]["state"],
        "DEPRECATED"
    );
    // someone clears the deprecation by hand (gcloud … deprecate --state=ACTIVE)
    let labels = emu.image_json(PROJECT, "old").unwrap()["labels"].clone();
    let mut image = GceImage::at_hour("old", 1).family("web");
    for (k, v) in labels.as_object().unwrap() {
        image = image.label(k.clone(), v.as_str().unwrap());
    }
    emu.add_image(PROJECT, image);
    let from = emu.server().request_count();
    catalog.restore(&id("old")).await.unwrap();
    assert_eq!(writes(&emu, from), ["GET images/old", "POST old/setLabels"]);
    let doc = emu.image_json(PROJECT, "old").unwrap();
    assert_eq!(doc["labels"]["team"], "a", "{doc}");
    assert!(doc["labels"].get(RETIRED_AT_LABEL).is_none(), "{doc}");
}

#[tokio::test]
async fn a_public_project_and_another_project_refuse_before_any_request() {
    let emu = two_images().await;
    let public = builder(&emu, "debian-cloud", test_http(2)).build().unwrap();
    let own = catalog(&emu);
    let from = emu.server().request_count();
    let debian = ImageId::new("projects/debian-cloud/global/images/debian-v20260301");
    let e = public
        .retire(&debian, &request(&own, None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let e = public.restore(&debian).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let e = own.retire(&debian, &request(&own, None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(emu.server().request_count(), from);
}

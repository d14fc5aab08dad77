//! Delete: a soft delete, reported honestly as Deleted or AlreadyDeleted.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use imagecat_core::{Deleted, ErrorKind, ImageCatalog, ImageId, ImageStatus, ListQuery};
use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;

fn methods(emu: &imagecat_emulators::dcmgr::DcmgrEmulator) -> Vec<String> {
    emu.server()
        .requests()
        .into_iter()
        .map(|r| r.method)
        .collect()
}

#[tokio::test]
async fn delete_then_delete_again() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let id = ImageId::new(emu.deletable_ids(Some("a-shpoolxx"), 1).remove(0));
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::Deleted);
    assert_eq!(methods(&emu), ["GET", "DELETE"]);
    let stored = emu.image(id.as_str()).unwrap();
    assert_eq!(stored.state, "deleted");
    assert!(stored.deleted_at.is_some());

    let shown = catalog.get(&id).await.unwrap();
    assert_eq!(shown.status, ImageStatus::Deleted);
    assert!(shown.properties.contains_key("deleted_at"));

    emu.server().clear_requests();
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::AlreadyDeleted);
    assert_eq!(
        methods(&emu),
        ["GET"],
        "no DELETE for an image already deleted"
    );

    // Gone from the default listing, still there when deleted images are asked for.
    let listed: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(catalog.list(ListQuery::new()))
            .await
            .unwrap();
    assert!(listed.iter().all(|i| i.id != id));
    let with_deleted: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
        catalog.list(ListQuery::new().include_deleted(true)),
    )
    .await
    .unwrap();
    assert!(with_deleted.iter().any(|i| i.id == id));
}

#[tokio::test]
async fn a_seeded_deleted_image_is_already_deleted() {
    for config in [DcmgrEmulatorConfig::v1203(), DcmgrEmulatorConfig::legacy()] {
        let emu = crate::common::emulator(config).await;
        let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
        let id = emu
            .ids_in_state("deleted")
            .into_iter()
            .find(|id| emu.image(id).unwrap().account_id == "a-shpoolxx")
            .unwrap();
        let before = emu.image(&id).unwrap();
        assert_eq!(
            catalog.delete(&ImageId::new(id.clone())).await.unwrap(),
            Deleted::AlreadyDeleted
        );
        assert_eq!(methods(&emu), ["GET"]);
        assert_eq!(emu.image(&id).unwrap(), before, "untouched");
    }
}

#[tokio::test]
async fn missing_and_foreign_images() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let e = catalog
        .delete(&ImageId::new(emu.missing_id()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Another account's public image: listed, but 404 to show and destroy.
    let foreign = emu
        .default_listing(Some("a-shpoolxx"))
        .into_iter()
        .find(|id| emu.image(id).unwrap().account_id != "a-shpoolxx")
        .unwrap();
    let e = catalog
        .delete(&ImageId::new(foreign.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(methods(&emu), ["GET", "GET"], "no DELETE was sent");
    assert_eq!(emu.image(&foreign).unwrap().state, "available");

    // Legacy: a public image of another account shows, but only its owner may destroy it.
    let legacy = crate::common::emulator(DcmgrEmulatorConfig::legacy()).await;
    let public_foreign = legacy.listing(None, false).into_iter().find(|id| {
        let i = legacy.image(id).unwrap();
        i.account_id != "a-shpoolxx" && i.is_public
    });
    let public_foreign = public_foreign.expect("a public image of another account");
    let e = crate::common::catalog(&legacy, Some("a-shpoolxx"))
        .delete(&ImageId::new(public_foreign))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(methods(&legacy), ["GET", "DELETE"]);
}

#[tokio::test]
async fn a_destroy_answer_naming_another_image_is_invalid() {
    let server = crate::common::canned(
        Router::new().route(
            "/api/12.03/images/{id}",
            get(|| async {
                (
                    [(CONTENT_TYPE, "application/json")],
                    r#"{"id":"wmi-4yalh576","state":"available"}"#,
                )
            })
            .delete(|| async { ([(CONTENT_TYPE, "application/json")], r#"["wmi-other"]"#) }),
        ),
    )
    .await;
    let catalog = crate::common::catalog_at(&server.base_url(), None);
    let e = catalog
        .delete(&ImageId::new("wmi-4yalh576"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert_eq!(
        server.request_count(),
        2,
        "a DELETE is never retried after it was sent"
    );
}

#[tokio::test]
async fn catalog_churn_hooks() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203().images(30)).await;
    let catalog = crate::common::catalog(&emu, None);
    let id = emu.default_listing(None)[3].clone();
    assert!(emu.soft_delete(&id));
    assert_eq!(
        catalog.get(&ImageId::new(id.clone())).await.unwrap().status,
        ImageStatus::Deleted
    );
    assert!(emu.remove(&id));
    assert_eq!(
        catalog
            .get(&ImageId::new(id.clone()))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(!emu.remove(&id));
    let fresh = imagecat_emulators::dcmgr::EmulatedImage::new("wmi-fresh01", "a-shpoolxx");
    emu.insert(fresh);
    assert_eq!(
        emu.default_listing(None)[0],
        "wmi-fresh01",
        "the newest is listed first"
    );
    assert!(emu.set_state("wmi-fresh01", "creating"));
    assert_eq!(
        catalog
            .get(&ImageId::new("wmi-fresh01"))
            .await
            .unwrap()
            .status,
        ImageStatus::Saving
    );
}

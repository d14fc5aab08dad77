//! Delete against the emulator: success, protected, public, missing, twice.

use crate::common::{Auth, all_ids, catalog, start_default};
use imagecat_core::{Deleted, ErrorKind, ImageCatalog, ImageId};

#[tokio::test]
async fn delete_success_removes_the_image_and_a_second_delete_is_not_found() {
    let emu = start_default().await;
    let catalog = catalog(&emu, Auth::Password);
    let id = ImageId::new(emu.deletable_ids(1).remove(0));
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::Deleted);
    assert!(!all_ids(&catalog, 100).await.contains(&id.to_string()));
    assert_eq!(emu.len(), 49);
    let e = catalog.delete(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("[30404]"), "{e}");
    let e = catalog.get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn protected_and_public_images_cannot_be_deleted() {
    let emu = start_default().await;
    let catalog = catalog(&emu, Auth::Token);
    for id in [emu.public_id().unwrap(), emu.protected_id().unwrap()] {
        let e = catalog.delete(&ImageId::new(id.clone())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("[30403]"), "{e}");
        assert!(all_ids(&catalog, 100).await.contains(&id));
    }
    assert_eq!(emu.len(), 50);
}

#[tokio::test]
async fn a_missing_image_is_not_found() {
    let emu = start_default().await;
    let catalog = catalog(&emu, Auth::Token);
    let e = catalog
        .delete(&ImageId::new(emu.missing_id()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(emu.image_request_count(), 1);
}

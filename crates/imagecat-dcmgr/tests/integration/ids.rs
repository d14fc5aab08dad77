//! Hostile ids are refused before any request; good ids stay one path segment.

use imagecat_core::{ErrorKind, ImageCatalog, ImageId};
use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;

#[tokio::test]
async fn hostile_ids_never_reach_the_server() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let too_long = format!("wmi-{}", "a".repeat(256));
    let mut hostile: Vec<String> = crate::common::HOSTILE_IDS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    hostile.extend([
        too_long,
        "wmi-a b".into(),
        "wmi-a\r\nX: y".into(),
        "wmi-ä".into(),
        "i-4yalh576".into(),
    ]);
    for id in &hostile {
        let id = ImageId::new(id.clone());
        let e = catalog.get(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "get {id:?}: {e}");
        let e = catalog.delete(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "delete {id:?}: {e}");
    }
    assert!(
        emu.server().requests().is_empty(),
        "{:?}",
        emu.server().requests()
    );
}

#[tokio::test]
async fn admin_chosen_and_generated_ids_are_one_segment() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    let longest = format!("wmi-{}", "Z_9".repeat(85));
    for id in ["wmi-centos1d64", "wmi-lbnode1d64", longest.as_str()] {
        let result = catalog.get(&ImageId::new(id)).await;
        if id == longest {
            assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
        } else {
            assert_eq!(result.unwrap().id.as_str(), id);
        }
    }
    let paths: Vec<_> = emu
        .server()
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/api/12.03/images/wmi-centos1d64".to_owned(),
            "/api/12.03/images/wmi-lbnode1d64".to_owned(),
            format!("/api/12.03/images/{longest}"),
        ]
    );
}

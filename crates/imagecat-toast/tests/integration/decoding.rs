//! Decoding of the documents of the reference (§8) and of the forms the real
//! server may use instead (quoted scalars, nulls, timestamps with or without
//! zone and fraction, non-string properties, unknown fields).

use crate::common::setup;
use chrono::{DateTime, Utc};
use imagecat_core::raw::PageSource as _;
use imagecat_core::raw::PageToken;
use imagecat_core::{BackendKind, ImageCatalog, ImageStatus, ListQuery, Visibility};

/// `GET …/images?limit=2` of the reference, verbatim.
const LIST_PAGE: &str = r#"{
  "header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
  "images": [
    {
      "createdAt": "2019-01-22T08:41:09.166563",
      "diskFormat": "qcow2",
      "id": "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10",
      "isPublic": false,
      "minDisk": 20,
      "minRam": 0,
      "name": "web-server-snapshot",
      "properties": {"image_type": "snapshot", "os_type": "linux", "os_distro": "CentOS", "os_version": "6.10"},
      "protected": false,
      "size": 2147483648,
      "status": "active",
      "updatedAt": "2019-01-22T08:43:51.482910"
    },
    {
      "createdAt": "2018-10-23T02:17:43.000000",
      "diskFormat": "qcow2",
      "id": "1c868787-6207-4ff2-a1e7-ae1331d6829b",
      "isPublic": true,
      "minDisk": 20,
      "minRam": 0,
      "name": "CentOS 6.10 (2018.10.23)",
      "properties": {"description": "CentOS 6.10 (2018.10.23)", "hypervisor_type": "qemu", "login_username": "centos",
                     "os_architecture": "amd64", "os_distro": "CentOS", "os_type": "linux", "os_version": "6.10"},
      "protected": true,
      "size": 1778843648,
      "status": "active",
      "updatedAt": "2018-12-11T01:01:35.000000"
    }
  ]
}"#;

/// The empty list of the reference.
const EMPTY_LIST: &str = r#"{"header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"}, "images": []}"#;

/// The delete success of the reference.
const DELETE_OK: &str =
    r#"{"header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"}}"#;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn the_reference_list_page() {
    let (emu, catalog) = setup().await;
    emu.push_response(200, LIST_PAGE);
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(2), None)
        .await
        .unwrap();
    assert_eq!(
        page.next,
        Some(PageToken::Marker(
            "1c868787-6207-4ff2-a1e7-ae1331d6829b".into()
        ))
    );
    let [snapshot, centos] = &page.items[..] else {
        panic!("{:?}", page.items)
    };

    assert_eq!(snapshot.id.as_str(), "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10");
    assert_eq!(snapshot.name.as_deref(), Some("web-server-snapshot"));
    assert_eq!(snapshot.status, ImageStatus::Active);
    assert_eq!(snapshot.native_status, "active");
    assert_eq!(snapshot.visibility, Some(Visibility::Private));
    assert_eq!(snapshot.owner, None);
    assert_eq!(
        snapshot.created_at,
        Some(utc("2019-01-22T08:41:09.166563Z"))
    );
    assert_eq!(
        snapshot.updated_at,
        Some(utc("2019-01-22T08:43:51.482910Z"))
    );
    assert_eq!(snapshot.size_bytes, Some(2_147_483_648));
    assert_eq!(snapshot.min_disk_gb, Some(20));
    assert_eq!(snapshot.min_ram_mb, Some(0));
    assert_eq!(snapshot.disk_format.as_deref(), Some("qcow2"));
    assert_eq!(snapshot.protected, Some(false));
    assert_eq!(snapshot.arch, None);
    assert_eq!(snapshot.description, None);
    assert_eq!(snapshot.checksum, None);
    assert_eq!(snapshot.properties.len(), 4);
    assert_eq!(snapshot.properties["image_type"], "snapshot");
    assert_eq!(snapshot.backend, BackendKind::Toast);
    let native = snapshot.native.as_ref().unwrap().to_value();
    assert_eq!(native["updatedAt"], "2019-01-22T08:43:51.482910");

    assert_eq!(centos.visibility, Some(Visibility::Public));
    assert_eq!(centos.protected, Some(true));
    assert_eq!(centos.arch.as_deref(), Some("amd64"));
    assert_eq!(
        centos.description.as_deref(),
        Some("CentOS 6.10 (2018.10.23)")
    );
    assert_eq!(centos.properties.len(), 7);
    assert_eq!(centos.properties["os_architecture"], "amd64");
    assert_eq!(centos.created_at, Some(utc("2018-10-23T02:17:43Z")));

    // The page is short of a page size of 3, but a server may cap `limit`
    // below the one sent: not the end, the listing asks once more.
    emu.push_response(200, LIST_PAGE);
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(3), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next, Some(PageToken::Marker(centos.id.to_string())));
}

#[tokio::test]
async fn the_reference_next_page_of_an_inclusive_server_is_passed_on_whole() {
    let (emu, catalog) = setup().await;
    // As an inclusive server would answer `?limit=2&marker=6f2c…`.
    emu.push_response(200, LIST_PAGE);
    let page = catalog
        .source()
        .page(
            &ListQuery::new().page_size(2),
            Some(PageToken::Marker(
                "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10".into(),
            )),
        )
        .await
        .unwrap();
    // The raw page is the server's; dropping the repeated marker is the
    // engine's (MarkerRule::Detect), so the adapter keeps it.
    let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10",
            "1c868787-6207-4ff2-a1e7-ae1331d6829b"
        ]
    );
    // A full page of 2, so there is a next one.
    assert_eq!(
        page.next,
        Some(PageToken::Marker(
            "1c868787-6207-4ff2-a1e7-ae1331d6829b".into()
        ))
    );
}

#[tokio::test]
async fn the_reference_empty_list_and_delete_success() {
    let (emu, catalog) = setup().await;
    emu.push_response(200, EMPTY_LIST);
    let page = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
    emu.push_response(200, DELETE_OK);
    let done = catalog
        .delete(&"6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10".into())
        .await
        .unwrap();
    assert_eq!(done, imagecat_core::Deleted::Deleted);
}

#[tokio::test]
async fn the_reference_error_documents() {
    let (emu, catalog) = setup().await;
    for (body, kind, shown) in [
        (
            r#"{"header": {"isSuccessful": false, "resultCode": -3, "resultMessage": "Permission denied : Invalid token"}}"#,
            imagecat_core::ErrorKind::Unauthenticated,
            "toast: unauthenticated [-3]: Permission denied : Invalid token",
        ),
        (
            r#"{"header": {"isSuccessful": false, "resultCode": 30404, "resultMessage": "Image with identifier 0b9f5d1e-3f43-4c55-a8d2-3d6c0e0c9a77 not found"}}"#,
            imagecat_core::ErrorKind::NotFound,
            "toast: not found [30404]: Image with identifier 0b9f5d1e-3f43-4c55-a8d2-3d6c0e0c9a77 not found",
        ),
        (
            r#"{"header": {"isSuccessful": false, "resultCode": 30403, "resultMessage": "Image is protected"}}"#,
            imagecat_core::ErrorKind::PermissionDenied,
            "toast: permission denied [30403]: Image is protected",
        ),
        (
            r#"{"header": {"isSuccessful": false, "resultCode": -4, "resultMessage": "Invalid parameters : id"}}"#,
            imagecat_core::ErrorKind::InvalidInput,
            "toast: invalid input [-4]: Invalid parameters : id",
        ),
    ] {
        emu.push_response(200, body);
        let e = catalog
            .delete(&"0b9f5d1e-3f43-4c55-a8d2-3d6c0e0c9a77".into())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{body}");
        assert_eq!(e.to_string(), shown);
    }
}

#[tokio::test]
async fn lenient_forms_of_the_same_image() {
    let (emu, catalog) = setup().await;
    // The docs' template quotes every placeholder; Glance v1 gives null for
    // what a queued image lacks; zones and fractions vary; properties may
    // hold non-strings; unknown fields appear.
    let body = r#"{"header":{"isSuccessful":"true","resultCode":"0","resultMessage":"SUCCESS"},
      "images":[
        {"createdAt":"2019-01-22T08:41:09Z","diskFormat":"qcow2","id":"6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10",
         "isPublic":"false","minDisk":"20","minRam":"512","name":"웹서버-백업","properties":{"os_type":"linux","nhn_flag":true,
         "count":3,"nested":{"a":[1,"b"]},"nothing":null,"description":"日本語の説明"},
         "protected":"true","size":"2147483648","status":"saving","updatedAt":"2019-01-22T17:43:51+09:00",
         "owner":"c289b99209ca4e189095cdecebbd092d","checksum":"f803c5c15bcf9a75935980a900a04584"},
        {"createdAt":"2019-01-22 08:41:09","diskFormat":null,"id":"1c868787-6207-4ff2-a1e7-ae1331d6829b",
         "isPublic":0,"minDisk":0,"minRam":0,"name":null,"properties":null,
         "protected":false,"size":null,"status":"queued","updatedAt":null},
        {"id":"0b9f5d1e-3f43-4c55-a8d2-3d6c0e0c9a77","status":"frozen"},
        {"id":"0b9f5d1e-3f43-4c55-a8d2-3d6c0e0c9a78","status":"pending_delete","minDisk":20.0,"size":0,
         "createdAt":"2019-01-22T08:41:09.1+00:00","updatedAt":""}
      ]}"#;
    emu.push_response(200, body);
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(10), None)
        .await
        .unwrap();
    let [quoted, queued, frozen, pending] = &page.items[..] else {
        panic!("{:?}", page.items)
    };
    assert_eq!(quoted.visibility, Some(Visibility::Private));
    assert_eq!(quoted.protected, Some(true));
    assert_eq!(quoted.min_disk_gb, Some(20));
    assert_eq!(quoted.min_ram_mb, Some(512));
    assert_eq!(quoted.size_bytes, Some(2_147_483_648));
    assert_eq!(quoted.status, ImageStatus::Saving);
    assert_eq!(quoted.name.as_deref(), Some("웹서버-백업"));
    assert_eq!(quoted.created_at, Some(utc("2019-01-22T08:41:09Z")));
    assert_eq!(quoted.updated_at, Some(utc("2019-01-22T08:43:51Z")));
    assert_eq!(quoted.properties["nhn_flag"], "true");
    assert_eq!(quoted.properties["count"], "3");
    assert_eq!(quoted.properties["nested"], r#"{"a":[1,"b"]}"#);
    assert_eq!(quoted.properties["nothing"], "null");
    assert_eq!(quoted.description.as_deref(), Some("日本語の説明"));
    // Unknown fields are not unified, but kept in the native record.
    assert_eq!(quoted.owner, None);
    assert_eq!(quoted.checksum, None);
    let native = quoted.native.as_ref().unwrap().to_value();
    assert_eq!(native["owner"], "c289b99209ca4e189095cdecebbd092d");
    assert_eq!(native["checksum"], "f803c5c15bcf9a75935980a900a04584");

    assert_eq!(queued.name, None);
    assert_eq!(queued.disk_format, None);
    assert_eq!(queued.size_bytes, None);
    assert_eq!(queued.updated_at, None);
    assert_eq!(queued.visibility, Some(Visibility::Private));
    assert!(queued.properties.is_empty());
    assert_eq!(queued.status, ImageStatus::Queued);
    assert_eq!(queued.created_at, Some(utc("2019-01-22T08:41:09Z")));

    assert_eq!(frozen.status, ImageStatus::Unknown("frozen".into()));
    assert_eq!(frozen.native_status, "frozen");
    assert_eq!(frozen.visibility, None);
    assert_eq!(frozen.protected, None);
    assert_eq!(frozen.created_at, None);

    assert_eq!(pending.status, ImageStatus::Deleted);
    assert_eq!(pending.native_status, "pending_delete");
    assert_eq!(pending.min_disk_gb, Some(20));
    assert_eq!(pending.size_bytes, Some(0));
    assert_eq!(pending.created_at, Some(utc("2019-01-22T08:41:09.1Z")));
    assert_eq!(pending.updated_at, None);
}

#[tokio::test]
async fn the_emulator_data_decodes_with_names_in_three_scripts() {
    let (emu, catalog) = setup().await;
    let images =
        imagecat_core::ImageCatalogExt::collect(&catalog, ListQuery::new().include_deleted(true))
            .await
            .unwrap();
    assert_eq!(images.len(), 50);
    let names: Vec<&str> = images.iter().filter_map(|i| i.name.as_deref()).collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("서버") || n.contains("데이터")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("サーバー") || n.contains("テスト")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.is_ascii()), "{names:?}");
    // A reserved id as Glance v1 serves it: no name, size 0, updated when created.
    let blank = &images[3];
    assert_eq!(
        (blank.name.as_ref(), blank.size_bytes, blank.updated_at),
        (None, Some(0), blank.created_at)
    );
    assert_eq!(images[0].visibility, Some(Visibility::Public));
    assert_eq!(images[0].protected, Some(true));
    assert!(images[0].description.is_some() && images[0].arch.is_some());
    for w in images.windows(2) {
        assert!(
            w[0].created_at > w[1].created_at,
            "Glance order: created_at desc"
        );
    }
    let statuses: std::collections::HashSet<_> =
        images.iter().map(|i| i.native_status.as_str()).collect();
    for s in [
        "active",
        "queued",
        "saving",
        "killed",
        "deactivated",
        "pending_delete",
    ] {
        assert!(statuses.contains(s), "{s} missing from {statuses:?}");
    }
    // Each seeded image decodes as the emulator says it serves it.
    for (index, image) in images.iter().enumerate().take(20) {
        let served = emu.seeded_image(index);
        assert_eq!(image.id.as_str(), served.id);
        assert_eq!(image.name, served.name);
        assert_eq!(image.native_status, served.status);
        assert_eq!(image.size_bytes, served.size);
        assert_eq!(image.min_disk_gb, Some(served.min_disk));
        assert_eq!(image.created_at, Some(served.created_at));
        assert_eq!(image.updated_at, served.updated_at);
        assert_eq!(image.properties, served.properties);
    }
}

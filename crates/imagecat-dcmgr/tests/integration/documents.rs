//! The documents of the reference (§12) and legacy documents with YAML
//! strings, served as-is and decoded field by field.

use imagecat_core::raw::PageSource as _;
use std::collections::BTreeMap;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use imagecat_core::raw::PageToken;
use imagecat_core::{
    BackendKind, Deleted, ErrorKind, Image, ImageCatalog, ImageId, ImageStatus, ListQuery,
    Visibility,
};

/// §12 A: `GET /api/12.03/images?limit=2` with an account and `is_public=true`.
const DOC_A: &str = r#"[
  {
    "total": 3,
    "start": 0,
    "limit": 2,
    "results": [
      {
        "id": "wmi-7k2mq9xz",
        "account_id": "a-shpoolxx",
        "uuid": "wmi-7k2mq9xz",
        "created_at": "2015-06-02T08:14:51Z",
        "updated_at": "2015-06-02T08:16:03Z",
        "boot_dev_type": 2,
        "arch": "x86_64",
        "description": "",
        "is_public": false,
        "state": "available",
        "features": {"virtio": true},
        "file_format": "raw",
        "root_device": "label:root",
        "is_cacheable": false,
        "instance_model_name": "",
        "parent_image_id": "wmi-centos1d64",
        "service_type": "std",
        "display_name": "web-base",
        "backup_object_id": "bo-p3w8c1de",
        "deleted_at": null,
        "volumes": [],
        "vifs": [],
        "os_type": "linux",
        "labels": []
      },
      {
        "id": "wmi-centos1d64",
        "account_id": "a-shpoolxx",
        "uuid": "wmi-centos1d64",
        "created_at": "2015-04-07T12:36:11Z",
        "updated_at": "2015-04-07T12:36:11Z",
        "boot_dev_type": 2,
        "arch": "x86_64",
        "description": "centos-6.6.x86_64.openvz.md.raw.tar.gz local",
        "is_public": true,
        "state": "available",
        "features": {"virtio": true},
        "file_format": "raw",
        "root_device": "label:root",
        "is_cacheable": true,
        "instance_model_name": "",
        "parent_image_id": null,
        "service_type": "std",
        "display_name": "centos1d64",
        "backup_object_id": "bo-centos1d64",
        "deleted_at": null,
        "volumes": [],
        "vifs": [],
        "os_type": "linux",
        "labels": []
      }
    ]
  }
]"#;

/// §12 B: past the end.
const DOC_B: &str = r#"[{"total": 3, "start": 10, "limit": 250, "results": []}]"#;

/// §12 C: `GET /api/12.03/images/wmi-4yalh576` while a backup runs.
const DOC_C: &str = r#"{
  "id": "wmi-4yalh576",
  "account_id": "a-shpoolxx",
  "uuid": "wmi-4yalh576",
  "created_at": "2015-04-08T07:06:20Z",
  "updated_at": "2015-04-08T07:06:20Z",
  "boot_dev_type": 2,
  "arch": "x86_64",
  "description": "centos-6.6.x86_64.openvz.md.raw.tar.gz local",
  "is_public": false,
  "state": "creating",
  "features": {"virtio": true},
  "file_format": "raw",
  "root_device": "label:root",
  "is_cacheable": false,
  "instance_model_name": "",
  "parent_image_id": "wmi-centos1d64",
  "service_type": "std",
  "display_name": "centos1d64",
  "backup_object_id": "bo-3bm4h97t",
  "deleted_at": null,
  "volumes": [{"backup_object_id": "bo-9qz0v2rk"}],
  "vifs": [],
  "os_type": "linux",
  "labels": [
    {
      "resource_uuid": "wmi-4yalh576",
      "name": "owner.note",
      "value_type": 1,
      "value": "nightly",
      "created_at": "2015-04-08T07:06:21Z",
      "updated_at": "2015-04-08T07:06:21Z"
    }
  ]
}"#;

/// §12 D: the destroy answer.
const DOC_D: &str = r#"["wmi-4yalh576"]"#;

/// The wiki's legacy index: a bare object, `owner_total`, `result`, YAML strings.
const LEGACY_INDEX: &str = r#"{
  "owner_total": 2,
  "start": 0,
  "limit": null,
  "result": [
    {
      "id": "wmi-lucid5d",
      "account_id": "a-shpoolxx",
      "uuid": "wmi-lucid5d",
      "created_at": "2011-12-01 10:20:30 UTC",
      "updated_at": "2011-12-02T01:02:03",
      "boot_dev_type": 2,
      "source": "---\n:uri: http://example.com/images/ubuntu-10.04_with-metadata_kvm_i386.raw.gz\n:type: http\n",
      "arch": "x86",
      "description": null,
      "md5sum": "a5a1eb1e3b5bd5a4a7d3e0b3e1d2c9f0",
      "is_public": 1,
      "state": "init",
      "features": "---\n:virtio: true\n"
    },
    {
      "id": "wmi-lucid6",
      "account_id": "a-shpoolxx",
      "uuid": "wmi-lucid6",
      "created_at": "2011-12-03 04:05:06 +0900",
      "updated_at": "2011-12-03 04:05:06 +0900",
      "boot_dev_type": "1",
      "source": "--- \n:uri: http://example.com/images/lucid6.raw.gz\n",
      "arch": "x86_64",
      "description": "lucid 6",
      "md5sum": "",
      "is_public": "false",
      "state": "pending",
      "features": "--- {}\n"
    }
  ]
}"#;

/// How many fields the image's native record has.
fn native_fields(image: &Image) -> usize {
    let native = image.native.as_ref().expect("the native record is kept");
    native.to_value().as_object().map_or(0, |o| o.len())
}

/// `Some` UTC time at this date and time.
fn at(year: i32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<DateTime<Utc>> {
    Some(
        Utc.with_ymd_and_hms(year, month, day, hour, min, sec)
            .unwrap(),
    )
}

fn json(body: &'static str) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], body)
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn index_a_decodes_exactly() {
    let server = crate::common::canned(
        Router::new().route("/api/12.03/images", get(|| async { json(DOC_A) })),
    )
    .await;
    let catalog = crate::common::catalog_at(&server.base_url(), Some("a-shpoolxx"));
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(2), None)
        .await
        .unwrap();
    assert_eq!(page.total, Some(3));
    assert_eq!(page.next, Some(PageToken::Offset(2)));
    assert_eq!(page.items.len(), 2);

    let web = &page.items[0];
    assert_eq!(web.id, ImageId::new("wmi-7k2mq9xz"));
    assert_eq!(web.backend, BackendKind::Dcmgr);
    assert_eq!(web.name.as_deref(), Some("web-base"));
    assert_eq!(web.status, ImageStatus::Active);
    assert_eq!(web.native_status, "available");
    assert_eq!(web.visibility, Some(Visibility::Private));
    assert_eq!(web.owner.as_deref(), Some("a-shpoolxx"));
    assert_eq!(web.disk_format.as_deref(), Some("raw"));
    assert_eq!(web.arch.as_deref(), Some("x86_64"));
    assert_eq!(web.checksum, None);
    assert_eq!(web.description, None, "an empty description is None");
    assert_eq!(web.created_at, at(2015, 6, 2, 8, 14, 51));
    assert_eq!(web.updated_at, at(2015, 6, 2, 8, 16, 3));
    assert_eq!(
        (
            web.size_bytes,
            web.min_disk_gb,
            web.min_ram_mb,
            web.protected
        ),
        (None, None, None, None)
    );
    assert_eq!(
        web.properties,
        props(&[
            ("backup_object_id", "bo-p3w8c1de"),
            ("boot_dev_type", "2"),
            ("features", r#"{"virtio":true}"#),
            ("instance_model_name", ""),
            ("is_cacheable", "false"),
            ("labels", "[]"),
            ("os_type", "linux"),
            ("parent_image_id", "wmi-centos1d64"),
            ("root_device", "label:root"),
            ("service_type", "std"),
            ("vifs", "[]"),
            ("volumes", "[]"),
        ])
    );
    let native = web.native.as_ref().unwrap().to_value();
    assert_eq!(native.as_object().unwrap().len(), 24);
    assert_eq!(native["uuid"], "wmi-7k2mq9xz");

    let centos = &page.items[1];
    assert_eq!(centos.id, ImageId::new("wmi-centos1d64"));
    assert_eq!(centos.visibility, Some(Visibility::Public));
    assert_eq!(
        centos.description.as_deref(),
        Some("centos-6.6.x86_64.openvz.md.raw.tar.gz local")
    );
    assert_eq!(centos.properties["is_cacheable"], "true");
    assert!(
        !centos.properties.contains_key("parent_image_id"),
        "null is absent"
    );
    assert!(!centos.properties.contains_key("deleted_at"));
}

#[tokio::test]
async fn index_b_past_the_end_ends_the_listing() {
    let server = crate::common::canned(
        Router::new().route("/api/12.03/images", get(|| async { json(DOC_B) })),
    )
    .await;
    let catalog = crate::common::catalog_at(&server.base_url(), None);
    let page = catalog
        .source()
        .page(&ListQuery::new(), Some(PageToken::Offset(10)))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
    assert_eq!(page.total, Some(3));
}

async fn c_and_d_server() -> imagecat_emulators::server::EmulatorServer {
    crate::common::canned(Router::new().route(
        "/api/12.03/images/{id}",
        get(|| async { json(DOC_C) }).delete(|| async { json(DOC_D) }),
    ))
    .await
}

#[tokio::test]
async fn show_c_decodes_exactly() {
    let server = c_and_d_server().await;
    let catalog = crate::common::catalog_at(&server.base_url(), Some("a-shpoolxx"));
    let image = catalog.get(&ImageId::new("wmi-4yalh576")).await.unwrap();
    assert_eq!(image.name.as_deref(), Some("centos1d64"));
    assert_eq!(image.status, ImageStatus::Saving);
    assert_eq!(image.native_status, "creating");
    assert_eq!(image.visibility, Some(Visibility::Private));
    assert_eq!(image.created_at, at(2015, 4, 8, 7, 6, 20));
    assert_eq!(
        image.properties,
        props(&[
            ("backup_object_id", "bo-3bm4h97t"),
            ("boot_dev_type", "2"),
            ("features", r#"{"virtio":true}"#),
            ("instance_model_name", ""),
            ("is_cacheable", "false"),
            (
                "labels",
                r#"[{"resource_uuid":"wmi-4yalh576","name":"owner.note","value_type":1,"value":"nightly","created_at":"2015-04-08T07:06:21Z","updated_at":"2015-04-08T07:06:21Z"}]"#
            ),
            ("os_type", "linux"),
            ("parent_image_id", "wmi-centos1d64"),
            ("root_device", "label:root"),
            ("service_type", "std"),
            ("vifs", "[]"),
            ("volumes", r#"[{"backup_object_id":"bo-9qz0v2rk"}]"#),
        ])
    );
    assert_eq!(image.native.as_ref().unwrap().as_str(), DOC_C);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/api/12.03/images/wmi-4yalh576");
    assert_eq!(requests[0].header("x-vdc-account-uuid"), Some("a-shpoolxx"));
}

#[tokio::test]
async fn destroy_d_after_a_show() {
    let server = c_and_d_server().await;
    let catalog = crate::common::catalog_at(&server.base_url(), Some("a-shpoolxx"));
    let done = catalog.delete(&ImageId::new("wmi-4yalh576")).await.unwrap();
    assert_eq!(done, Deleted::Deleted);
    let methods: Vec<_> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "DELETE"]);
}

#[tokio::test]
async fn a_show_answering_another_image_is_invalid() {
    let server = c_and_d_server().await;
    let catalog = crate::common::catalog_at(&server.base_url(), None);
    let e = catalog.get(&ImageId::new("wmi-other")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
}

#[tokio::test]
async fn legacy_index_with_yaml_strings() {
    let server = crate::common::canned(
        Router::new().route("/api/images", get(|| async { json(LEGACY_INDEX) })),
    )
    .await;
    let catalog =
        crate::common::catalog_at(&format!("{}/api", server.base_url()), Some("a-shpoolxx"));
    let page = catalog
        .source()
        .page(&ListQuery::new(), None)
        .await
        .unwrap();
    assert_eq!(page.total, Some(2));
    assert_eq!(page.next, None);
    let lucid = &page.items[0];
    assert_eq!(lucid.id, ImageId::new("wmi-lucid5d"));
    assert_eq!(lucid.name, None, "the legacy layout has no display_name");
    assert_eq!(lucid.status, ImageStatus::Queued);
    assert_eq!(lucid.native_status, "init");
    assert_eq!(lucid.visibility, Some(Visibility::Public));
    assert_eq!(lucid.owner.as_deref(), Some("a-shpoolxx"));
    assert_eq!(
        lucid.checksum.as_deref(),
        Some("a5a1eb1e3b5bd5a4a7d3e0b3e1d2c9f0")
    );
    assert_eq!(lucid.arch.as_deref(), Some("x86"));
    assert_eq!(lucid.description, None);
    assert_eq!(lucid.disk_format, None);
    assert_eq!(lucid.created_at, at(2011, 12, 1, 10, 20, 30));
    assert_eq!(lucid.updated_at, at(2011, 12, 2, 1, 2, 3));
    assert_eq!(
        lucid.properties,
        props(&[
            ("boot_dev_type", "2"),
            ("features", "---\n:virtio: true\n"),
            (
                "source",
                "---\n:uri: http://example.com/images/ubuntu-10.04_with-metadata_kvm_i386.raw.gz\n:type: http\n"
            ),
        ])
    );
    let lucid6 = &page.items[1];
    assert_eq!(lucid6.status, ImageStatus::Queued);
    assert_eq!(lucid6.visibility, Some(Visibility::Private));
    assert_eq!(lucid6.checksum, None);
    assert_eq!(lucid6.description.as_deref(), Some("lucid 6"));
    assert_eq!(lucid6.created_at, at(2011, 12, 2, 19, 5, 6));
    assert_eq!(lucid6.properties["boot_dev_type"], "1");
    assert_eq!(lucid6.properties["features"], "--- {}\n");
}

#[tokio::test]
async fn emulated_documents_decode_in_both_layouts() {
    use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;
    for config in [
        DcmgrEmulatorConfig::v1203(),
        DcmgrEmulatorConfig::legacy().require_account(false),
    ] {
        let legacy = config.layout == imagecat_emulators::dcmgr::Layout::Legacy;
        let emu = crate::common::emulator(config).await;
        let catalog = crate::common::catalog(&emu, None);
        let centos = catalog.get(&ImageId::new("wmi-centos1d64")).await.unwrap();
        let stored = emu.image("wmi-centos1d64").unwrap();
        assert_eq!(centos.owner.as_deref(), Some(stored.account_id.as_str()));
        assert_eq!(centos.visibility, Some(Visibility::Public));
        assert_eq!(centos.status, ImageStatus::Active);
        assert_eq!(centos.created_at, Some(stored.created_at));
        assert_eq!(centos.updated_at, Some(stored.updated_at));
        assert_eq!(centos.arch.as_deref(), Some(stored.arch.as_str()));
        if legacy {
            assert_eq!(centos.name, None);
            assert_eq!(centos.checksum.as_deref(), Some(stored.md5sum.as_str()));
            assert!(centos.properties["source"].starts_with("---\n:uri: http://"));
            assert!(centos.properties["features"].starts_with("---"));
            assert_eq!(native_fields(&centos), 13);
        } else {
            assert_eq!(centos.name.as_deref(), Some("centos1d64"));
            assert_eq!(
                centos.disk_format.as_deref(),
                Some(stored.file_format.as_str())
            );
            assert_eq!(centos.properties["backup_object_id"], "bo-centos1d64");
            assert_eq!(native_fields(&centos), 24);
        }
        // A word the server's constants lack (a hand-edited row) is kept.
        let odd = emu.ids_in_state("available")[2].clone();
        assert!(emu.set_state(&odd, "frozen"));
        let odd = catalog.get(&ImageId::new(odd)).await.unwrap();
        assert_eq!(odd.status, ImageStatus::Unknown("frozen".into()));
        assert_eq!(odd.native_status, "frozen");
        for (state, want) in [
            ("init", ImageStatus::Queued),
            ("pending", ImageStatus::Queued),
            ("creating", ImageStatus::Saving),
            ("deleted", ImageStatus::Deleted),
        ] {
            let ids = emu.ids_in_state(state);
            assert!(!ids.is_empty(), "no {state} image seeded");
            let image = catalog.get(&ImageId::new(ids[0].clone())).await.unwrap();
            assert_eq!(image.status, want, "{state}");
            if state == "deleted" && !legacy {
                assert!(image.properties.contains_key("deleted_at"));
            }
        }
    }
}

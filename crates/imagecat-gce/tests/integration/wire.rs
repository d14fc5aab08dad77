//! The image list decoder: every documented field and status into the
//! model, the opaque page token, and hostile bodies as typed errors.

use imagecat_core::raw::PageToken;
use imagecat_core::{ErrorKind, Image, ImageStatus};
use imagecat_gce::{BACKEND, decode_image_body, decode_page_body};

const LIST: &[u8] = include_bytes!("../fixtures/image-list-p1.json");

fn by_name<'a>(images: &'a [Image], name: &str) -> &'a Image {
    images
        .iter()
        .find(|i| i.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no image {name}"))
}

#[test]
fn a_page_decodes_into_the_model() {
    let page = decode_page_body(LIST, None).unwrap();
    assert_eq!(page.items.len(), 8);
    assert_eq!(page.next, Some(PageToken::Link("Cg5nb2xkZW4tdjI=".into())));
    let v1 = by_name(&page.items, "golden-v1");
    assert_eq!(v1.id.as_str(), "projects/p1/global/images/golden-v1");
    assert_eq!(v1.backend, BACKEND);
    assert_eq!(v1.status, ImageStatus::Active, "DEPRECATED stays active");
    assert_eq!(v1.native_status, "READY");
    assert_eq!(v1.owner.as_deref(), Some("p1"));
    assert_eq!(
        v1.created_at.unwrap().to_rfc3339(),
        "2026-10-01T16:12:07.183+00:00"
    );
    assert_eq!(v1.size_bytes, Some(1_234_567_890));
    assert_eq!(v1.min_disk_gb, Some(10));
    assert_eq!(v1.arch.as_deref(), Some("x86_64"));
    assert_eq!(v1.description, None, "an empty description is none");
    assert_eq!(v1.visibility, None, "visibility needs IAM");
    let p = &v1.properties;
    assert_eq!(p.get("gce.id"), Some("1403374394217470035"));
    assert_eq!(p.get("family"), Some("golden"));
    assert_eq!(p.get("label.team"), Some("infra"));
    assert_eq!(p.get("label_fingerprint"), Some("42WmSpB8rSM="));
    assert_eq!(p.get("storage_locations"), Some("us"));
    assert_eq!(p.get("deprecated.state"), Some("DEPRECATED"));
    assert_eq!(
        p.get("deprecated.replacement"),
        Some("projects/p1/global/images/golden-v2")
    );
    assert_eq!(
        p.get("self_link"),
        Some("https://www.googleapis.com/compute/v1/projects/p1/global/images/golden-v1")
    );
    assert!(p.get("source_disk").unwrap().ends_with("/disks/build-1"));
    let native = v1.native.as_ref().unwrap().to_value();
    assert_eq!(native["guestOsFeatures"][1]["type"], "GVNIC");

    let v2 = by_name(&page.items, "golden-v2");
    assert_eq!(v2.arch.as_deref(), Some("aarch64"));
    assert_eq!(
        v2.created_at.unwrap().to_rfc3339(),
        "2026-10-31T15:00:00+00:00"
    );
    assert_eq!(v2.description.as_deref(), Some("the current golden image"));
    // an image from another host spelling still gets the canonical id
    let future = by_name(&page.items, "future");
    assert_eq!(future.id.as_str(), "projects/p1/global/images/future");
    assert_eq!(
        future.min_disk_gb,
        Some(20),
        "a number where a string is usual"
    );
}

#[test]
fn the_status_table() {
    let page = decode_page_body(LIST, None).unwrap();
    for (name, status, native) in [
        ("golden-v2", ImageStatus::Active, "READY"),
        ("old-obsolete", ImageStatus::Deactivated, "READY"),
        ("old-deleted", ImageStatus::Deleted, "READY"),
        ("building", ImageStatus::Queued, "PENDING"),
        ("broken", ImageStatus::Failed, "FAILED"),
        ("going", ImageStatus::Deleted, "DELETING"),
        (
            "future",
            ImageStatus::Unknown("ARCHIVED".into()),
            "ARCHIVED",
        ),
    ] {
        let image = by_name(&page.items, name);
        assert_eq!(
            (&image.status, image.native_status.as_str()),
            (&status, native),
            "{name}"
        );
    }
    assert_eq!(by_name(&page.items, "building").arch, None);
    assert_eq!(
        imagecat_gce::unified_status("READY", Some("RETIRED")),
        ImageStatus::Unknown("RETIRED".into())
    );
}

#[test]
fn empty_and_last_pages() {
    for body in [
        &br#"{"kind":"compute#imageList","id":"projects/p1/global/images"}"#[..],
        br#"{"kind":"compute#imageList","items":[],"nextPageToken":""}"#,
        br#"{"kind":"compute#imageList","items":null,"warning":{"code":"NO_RESULTS_ON_PAGE","message":"none"}}"#,
    ] {
        let page = decode_page_body(body, None).unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next, None, "{}", String::from_utf8_lossy(body));
    }
    // an empty page that says there is more is a page, not the end
    let page = decode_page_body(
        br#"{"kind":"compute#imageList","nextPageToken":"t2"}"#,
        Some(PageToken::Link("t1".into())),
    )
    .unwrap();
    assert_eq!(page.next, Some(PageToken::Link("t2".into())));
    let e = decode_page_body(b"{}", Some(PageToken::Offset(3))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_single_image_document() {
    let body = br#"{"kind":"compute#image","id":"9","name":"one","status":"READY","labels":{"a":"1","b":"2"},
        "selfLink":"https://www.googleapis.com/compute/v1/projects/example.com:p-2/global/images/one"}"#;
    let image = decode_image_body(body).unwrap();
    assert_eq!(
        image.id.as_str(),
        "projects/example.com:p-2/global/images/one"
    );
    assert_eq!(image.owner.as_deref(), Some("example.com:p-2"));
    assert_eq!(image.properties.get("label.b"), Some("2"));
}

#[test]
fn hostile_bodies_are_typed_errors_naming_gce() {
    let huge = {
        let mut b = br#"{"kind":"compute#imageList","items":[],"x":""#.to_vec();
        b.resize(imagecat_gce::MAX_BODY_BYTES + 1, b'a');
        b.extend_from_slice(b"\"}");
        b
    };
    let deep = "[".repeat(100_000);
    let image = |fields: &str| {
        format!(
            r#"{{"kind":"compute#imageList","items":[{{"name":"a","status":"READY","selfLink":"https://h/compute/v1/projects/p1/global/images/a"{fields}}}]}}"#
        )
    };
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("not JSON".into(), b"<html>oops</html>".to_vec()),
        ("empty".into(), Vec::new()),
        ("truncated".into(), LIST[..LIST.len() / 2].to_vec()),
        ("an array".into(), b"[]".to_vec()),
        ("a page as an array of fields".into(), br#"[[], "t"]"#.to_vec()),
        ("an image as an array of fields".into(), br#"{"kind":"compute#imageList","items":[["1","a","READY"]]}"#.to_vec()),
        ("deprecated as an array".into(), image(r#","deprecated":["OBSOLETE"]"#).into_bytes()),
        ("items an object".into(), br#"{"kind":"compute#imageList","items":{}}"#.to_vec()),
        ("token a number".into(), br#"{"nextPageToken":7}"#.to_vec()),
        ("deep".into(), deep.into_bytes()),
        ("huge".into(), huge),
        ("no selfLink".into(), br#"{"kind":"compute#imageList","items":[{"name":"a","status":"READY"}]}"#.to_vec()),
        ("selfLink of a disk".into(), br#"{"kind":"compute#imageList","items":[{"name":"a","status":"READY","selfLink":"projects/p1/zones/z/disks/a"}]}"#.to_vec()),
        ("name differs from selfLink".into(), br#"{"kind":"compute#imageList","items":[{"name":"b","status":"READY","selfLink":"projects/p1/global/images/a"}]}"#.to_vec()),
        ("no status".into(), br#"{"kind":"compute#imageList","items":[{"name":"a","selfLink":"projects/p1/global/images/a"}]}"#.to_vec()),
        ("size negative".into(), image(r#","archiveSizeBytes":"-1""#).into_bytes()),
        ("size text".into(), image(r#","diskSizeGb":"ten""#).into_bytes()),
        ("size an object".into(), image(r#","diskSizeGb":{}"#).into_bytes()),
        ("time garbage".into(), image(r#","creationTimestamp":"yesterday""#).into_bytes()),
        ("labels an array".into(), image(r#","labels":["a"]"#).into_bytes()),
        ("label twice".into(), image(r#","labels":{"a":"1","a":"2"}"#).into_bytes()),
        ("status twice".into(), image(r#","status":"FAILED""#).into_bytes()),
        ("deprecated a string".into(), image(r#","deprecated":"OBSOLETE""#).into_bytes()),
        ("name a number".into(), br#"{"kind":"compute#imageList","items":[{"name":1,"status":"READY","selfLink":"projects/p1/global/images/a"}]}"#.to_vec()),
    ];
    for (what, body) in cases {
        let result = std::panic::catch_unwind(|| decode_page_body(&body, None));
        let e = match result {
            Ok(Ok(page)) => panic!("{what}: decoded {} images", page.items.len()),
            Ok(Err(e)) => e,
            Err(_) => panic!("{what}: the decoder panicked"),
        };
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{what}: {e}");
        assert_eq!(e.backend(), Some(BACKEND), "{what}");
        assert!(
            e.body().len() <= imagecat_http::SNIPPET_LIMIT + 4,
            "{what}: the snippet is capped"
        );
    }
}

#[test]
fn a_200_of_another_shape_is_not_an_empty_last_page() {
    // what a proxy or a broken server may answer: read as an image list
    // it would have no items and no next token, ending a listing early
    for body in [
        &br#"{"unexpected":{"shape":[1,2,3]}}"#[..],
        br#"{}"#,
        br#"{"kind":"compute#diskList","items":[]}"#,
        br#"{"kind":"compute#operation","status":"DONE"}"#,
    ] {
        let e = decode_page_body(body, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        assert_eq!(e.backend(), Some(imagecat_gce::BACKEND));
    }
}

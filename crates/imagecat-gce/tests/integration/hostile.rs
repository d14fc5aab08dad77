//! Proptest over the decoders: whatever the bytes, a page, an image, an
//! error or a key file, never a panic; a list body that does not decode is
//! a typed `InvalidResponse` naming the backend.

use imagecat_core::ErrorKind;
use imagecat_gce::{
    BACKEND, ServiceAccountKey, TokenAnswer, decode_error, decode_image_body, decode_page_body,
};
use proptest::prelude::*;

const LIST: &[u8] = include_bytes!("../fixtures/image-list-p1.json");

fn check_page(body: &[u8]) {
    if let Err(e) = decode_page_body(body, None) {
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        assert_eq!(e.backend(), Some(BACKEND));
    }
}

proptest! {
    #[test]
    fn any_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_page(&body);
        let _ = decode_image_body(&body);
        let _ = ServiceAccountKey::from_json(&body);
        let _ = TokenAnswer::from_json(&body);
        let e = decode_error(&imagecat_http::HttpResponse::from_body(BACKEND, 404, body.clone()));
        prop_assert_eq!(e.backend(), Some(BACKEND));
    }

    #[test]
    fn the_fixture_with_one_byte_changed(at in 0..LIST.len(), byte in any::<u8>()) {
        let mut body = LIST.to_vec();
        body[at] = byte;
        check_page(&body);
    }

    #[test]
    fn the_fixture_cut_anywhere(at in 0..LIST.len()) {
        check_page(&LIST[..at]);
    }

    #[test]
    fn any_text_in_any_field(
        field in prop::sample::select(vec!["name", "status", "selfLink", "creationTimestamp",
            "archiveSizeBytes", "diskSizeGb", "architecture", "family", "labels", "deprecated", "id"]),
        value in prop_oneof![
            any::<String>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(serde_json::json!([1, {"a": null}])),
            Just(serde_json::json!({"state": 3, "x": {}})),
        ],
    ) {
        let mut page: serde_json::Value = serde_json::from_slice(LIST).unwrap();
        page["items"][0][field] = value;
        check_page(&serde_json::to_vec(&page).unwrap());
    }
}

//! Hostile input: random and mutated list pages fed to the decoder (never a
//! panic; a typed error naming the backend, or a correct image). A body
//! over the cap and hostile ids from a server page are scenarios of the
//! testkit, run in `tests/scenarios.rs`.

use std::collections::BTreeMap;

use imagecat_core::{BackendKind, ErrorKind, Image, ImageStatus, Visibility};
use imagecat_testkit::hostile::{
    HOSTILE_NUMBERS, any_json, apply, check_error, check_images, edit,
};
use imagecat_toast::decode_page_body;
use proptest::prelude::*;
use serde_json::{Value, json};

const SUCCESS: &str = r#"{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"}"#;

/// The images of a first page, decoded as the catalog does.
fn decode_list_body(body: &[u8]) -> imagecat_core::Result<Vec<imagecat_core::Image>> {
    decode_page_body(body, None).map(|page| page.items)
}

fn check(body: &[u8]) {
    match decode_list_body(body) {
        Ok(images) => check_images(&images, BackendKind::Toast),
        Err(e) => check_error(&e, BackendKind::Toast),
    }
}

/// One image of the model, and the way each field is written.
#[derive(Debug, Clone)]
struct Model {
    id: String,
    name: Option<String>,
    status: String,
    public: bool,
    protected: bool,
    min_disk: u64,
    min_ram: u64,
    size: Option<u64>,
    properties: BTreeMap<String, String>,
    /// Numbers and booleans as strings, as the docs' template writes them.
    quoted: bool,
}

impl Model {
    fn wire(&self) -> Value {
        let scalar = |v: Value| {
            if self.quoted {
                Value::String(match &v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            } else {
                v
            }
        };
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "isPublic": scalar(json!(self.public)),
            "protected": scalar(json!(self.protected)),
            "minDisk": scalar(json!(self.min_disk)),
            "minRam": scalar(json!(self.min_ram)),
            "size": self.size.map(|s| scalar(json!(s))),
            "diskFormat": "qcow2",
            "createdAt": "2019-01-22T08:41:09.166563",
            "updatedAt": null,
            "properties": self.properties,
        })
    }

    fn assert_decoded(&self, image: &Image) {
        assert_eq!(image.id.as_str(), self.id);
        assert_eq!(image.name, self.name);
        assert_eq!(image.native_status, self.status);
        assert_eq!(image.status, ImageStatus::from_glance(&self.status));
        let visibility = if self.public {
            Visibility::Public
        } else {
            Visibility::Private
        };
        assert_eq!(image.visibility, Some(visibility));
        assert_eq!(image.protected, Some(self.protected));
        assert_eq!(image.min_disk_gb, Some(self.min_disk));
        assert_eq!(image.min_ram_mb, Some(self.min_ram));
        assert_eq!(image.size_bytes, self.size);
        assert_eq!(image.properties, self.properties);
        assert_eq!(image.arch.as_ref(), self.properties.get("os_architecture"));
        assert_eq!(image.updated_at, None);
        assert!(image.created_at.is_some());
    }
}

fn model() -> impl Strategy<Value = Model> {
    (
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        proptest::option::of(any::<String>()),
        prop_oneof![
            Just("active".to_owned()),
            Just("queued".to_owned()),
            Just("killed".to_owned()),
            Just("pending_delete".to_owned()),
            any::<String>(),
        ],
        any::<(bool, bool, bool)>(),
        (
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
        ),
        proptest::collection::btree_map(
            prop_oneof![Just("os_architecture".to_owned()), any::<String>()],
            any::<String>(),
            0..4,
        ),
    )
        .prop_map(
            |(
                id,
                name,
                status,
                (public, protected, quoted),
                (min_disk, min_ram, size),
                properties,
            )| {
                Model {
                    id,
                    name,
                    status,
                    public,
                    protected,
                    min_disk,
                    min_ram,
                    size,
                    properties,
                    quoted,
                }
            },
        )
}

fn page(images: &[Value]) -> Vec<u8> {
    format!(
        r#"{{"header":{SUCCESS},"images":{}}}"#,
        Value::Array(images.to_vec())
    )
    .into_bytes()
}

const FIELDS: [&str; 13] = [
    "id",
    "name",
    "status",
    "isPublic",
    "protected",
    "minDisk",
    "minRam",
    "size",
    "diskFormat",
    "createdAt",
    "updatedAt",
    "properties",
    "header",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn well_formed_pages_decode_to_exactly_their_images(models in proptest::collection::vec(model(), 0..5)) {
        let wire: Vec<Value> = models.iter().map(Model::wire).collect();
        let images = decode_list_body(&page(&wire)).expect("a well-formed page decodes");
        prop_assert_eq!(images.len(), models.len());
        for (model, image) in models.iter().zip(&images) {
            model.assert_decoded(image);
        }
        check_images(&images, BackendKind::Toast);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_an_error_or_a_lenient_value(
        model in model(),
        field in 0..FIELDS.len(),
        value in any_json(),
    ) {
        let mut doc = model.wire();
        let body = if FIELDS[field] == "header" {
            format!(r#"{{"header":{value},"images":[{doc}]}}"#).into_bytes()
        } else {
            doc[FIELDS[field]] = value;
            page(&[doc])
        };
        match decode_list_body(&body) {
            Ok(images) => {
                check_images(&images, BackendKind::Toast);
                if FIELDS[field] != "id" {
                    prop_assert_eq!(images[0].id.as_str(), model.id.as_str());
                }
            }
            Err(e) => check_error(&e, BackendKind::Toast),
        }
    }

    #[test]
    fn huge_and_odd_numbers_are_errors_or_exact(model in model(), field in 3..8usize, number in 0..HOSTILE_NUMBERS.len()) {
        let text = model.wire().to_string();
        let key = format!("\"{}\":", FIELDS[field]);
        let at = text.find(&key).unwrap() + key.len();
        let end = at + text[at..].find([',', '}']).unwrap();
        let body = page(&[]);
        let doc = format!("{}{}{}", &text[..at], HOSTILE_NUMBERS[number], &text[end..]);
        let body = String::from_utf8(body).unwrap().replace("[]", &format!("[{doc}]"));
        // Only a number that fits is taken, and taken exactly.
        let exact: Option<u64> = match HOSTILE_NUMBERS[number] {
            "-0" => Some(0),
            "1E2" => Some(100),
            n => n.parse().ok(),
        };
        match decode_list_body(body.as_bytes()) {
            Ok(images) => {
                check_images(&images, BackendKind::Toast);
                let taken = match FIELDS[field] {
                    "minDisk" => images[0].min_disk_gb,
                    "minRam" => images[0].min_ram_mb,
                    "size" => images[0].size_bytes,
                    _ => exact,
                };
                prop_assert!(exact.is_some(), "{} was taken as {:?}", HOSTILE_NUMBERS[number], taken);
                prop_assert_eq!(taken, exact);
            }
            Err(e) => check_error(&e, BackendKind::Toast),
        }
    }

    #[test]
    fn mutated_pages_never_panic(models in proptest::collection::vec(model(), 1..4), edits in proptest::collection::vec(edit(), 1..8)) {
        let wire: Vec<Value> = models.iter().map(Model::wire).collect();
        let mut body = page(&wire);
        for e in &edits {
            apply(&mut body, e);
        }
        check(&body);
    }

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        match decode_list_body(&body) {
            Ok(images) => check_images(&images, BackendKind::Toast),
            Err(e) => {
                check_error(&e, BackendKind::Toast);
                prop_assert_eq!(e.kind(), ErrorKind::InvalidResponse);
            }
        }
    }

    #[test]
    fn random_text_of_json_tokens_never_panics(tokens in proptest::collection::vec(
        prop_oneof![
            Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\"header\""),
            Just("\"images\""), Just("\"id\""), Just("\"isSuccessful\""), Just("true"), Just("null"),
            Just("\"x\""), Just("1e999"), Just("-"), Just("\"\\ud800\""), Just(SUCCESS),
        ],
        0..40,
    )) {
        check(tokens.concat().as_bytes());
    }
}

#[test]
fn deep_nesting_is_an_error_or_ignored_never_a_stack_overflow() {
    for depth in [64, 200, 10_000, 100_000] {
        let deep =
            |open: &str, close: &str| format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let arrays = deep("[", "]");
        let objects = deep("{\"a\":", "}");
        for nested in [&arrays, &objects] {
            let bodies = [
                nested.clone(),
                format!(r#"{{"header":{SUCCESS},"images":{nested}}}"#),
                format!(
                    r#"{{"header":{SUCCESS},"images":[{{"id":"a","properties":{{"k":{nested}}}}}]}}"#
                ),
                format!(r#"{{"header":{SUCCESS},"images":[{{"id":"a","extra":{nested}}}]}}"#),
                format!(r#"{{"header":{SUCCESS},"images":[{{"id":"a","name":{nested}}}]}}"#),
            ];
            for body in bodies {
                check(body.as_bytes());
            }
        }
    }
}

#[test]
fn invalid_utf8_in_a_page_is_an_invalid_response() {
    for bad in [&b"\xff"[..], b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"] {
        let mut body = br#"{"header":{"isSuccessful":true},"images":[{"id":"a","name":""#.to_vec();
        body.extend_from_slice(bad);
        body.extend_from_slice(br#""}]}"#);
        let e = decode_list_body(&body).unwrap_err();
        check_error(&e, BackendKind::Toast);
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    }
}

/// Duplicate keys (issue 12): a key imagecat reads, twice in one image or
/// its properties, is refused with a typed error; never first or last wins.
#[test]
fn a_key_twice_in_one_image_is_refused() {
    let id = "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10";
    let other = "1c868787-6207-4ff2-a1e7-ae1331d6829b";
    let body = |image: &str| format!(r#"{{"header":{SUCCESS},"images":[{image}]}}"#);
    let fine = format!(r#"{{"id":"{id}","status":"active","properties":{{"a":"1"}}}}"#);
    assert_eq!(decode_list_body(body(&fine).as_bytes()).unwrap().len(), 1);
    for image in [
        format!(r#"{{"id":"{id}","status":"active","id":"{other}"}}"#),
        format!(r#"{{"id":"{id}","status":"active","status":"deleted"}}"#),
        format!(r#"{{"id":"{id}","status":"active","properties":{{"a":"1","a":"2"}}}}"#),
    ] {
        let e = decode_list_body(body(&image).as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{image}");
        assert!(e.to_string().starts_with("toast: "), "{e}");
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}

//! Hostile input: random and mutated index pages of both layouts fed to the
//! decoder (never a panic; a typed error naming the backend, or correct
//! images), and owner filters and accounts that never
//! change a request's path or query. A body over the cap is a testkit
//! scenario, run in `tests/scenarios.rs`.

use imagecat_core::raw::PageSource as _;
use std::collections::BTreeMap;

use futures::TryStreamExt;
use imagecat_core::raw::{Page, PageToken};
use imagecat_core::{
    BackendKind, ErrorKind, Image, ImageCatalog, ImageStatus, ListQuery, Visibility,
};
use imagecat_dcmgr::{DcmgrCatalog, decode_page_body};
use imagecat_emulators::dcmgr::DcmgrEmulatorConfig;
use imagecat_testkit::hostile::{any_json, apply, check_error, check_images, edit};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The page at `start`, decoded as the catalog does.
fn decode_index_body(body: &[u8], start: u64) -> imagecat_core::Result<Page> {
    decode_page_body(body, Some(PageToken::Offset(start)))
}

/// Decodes, and checks whatever comes out; the page when there is one.
fn check(body: &[u8], start: u64) -> Option<imagecat_core::raw::Page> {
    match decode_index_body(body, start) {
        Ok(page) => {
            check_images(&page.items, BackendKind::Dcmgr);
            let end = start + page.items.len() as u64;
            match &page.next {
                None => {}
                Some(PageToken::Offset(next)) => assert_eq!(*next, end),
                Some(other) => panic!("an offset listing answered {other}"),
            }
            Some(page)
        }
        Err(e) => {
            check_error(&e, BackendKind::Dcmgr);
            None
        }
    }
}

#[derive(Debug, Clone)]
struct Model {
    id: String,
    name: String,
    account: String,
    state: String,
    public: bool,
    file_format: String,
    md5sum: String,
    description: String,
    created: (i64, bool),
    extra: BTreeMap<String, String>,
}

impl Model {
    fn wire(&self) -> Value {
        let at = chrono::DateTime::from_timestamp(self.created.0, 0).unwrap();
        let created = if self.created.1 {
            at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        } else {
            at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        };
        let mut doc = json!({
            "id": self.id,
            "uuid": self.id,
            "display_name": self.name,
            "account_id": self.account,
            "state": self.state,
            "is_public": self.public,
            "file_format": self.file_format,
            "md5sum": self.md5sum,
            "arch": "x86_64",
            "description": self.description,
            "created_at": created,
            "updated_at": null,
            "deleted_at": null,
        });
        for (k, v) in &self.extra {
            doc[k] = json!(v);
        }
        doc
    }

    fn assert_decoded(&self, image: &Image) {
        let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        assert_eq!(image.id.as_str(), self.id);
        assert_eq!(image.name, text(&self.name));
        assert_eq!(image.owner, text(&self.account));
        assert_eq!(image.native_status, self.state);
        let status = match self.state.as_str() {
            "init" | "pending" => ImageStatus::Queued,
            "creating" => ImageStatus::Saving,
            "available" => ImageStatus::Active,
            "deleted" => ImageStatus::Deleted,
            other => ImageStatus::Unknown(other.to_owned()),
        };
        assert_eq!(image.status, status);
        let visibility = if self.public {
            Visibility::Public
        } else {
            Visibility::Private
        };
        assert_eq!(image.visibility, Some(visibility));
        assert_eq!(image.disk_format, text(&self.file_format));
        assert_eq!(image.checksum, text(&self.md5sum));
        assert_eq!(image.description, text(&self.description));
        assert_eq!(image.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            image.created_at.map(|t| t.timestamp()),
            Some(self.created.0)
        );
        assert_eq!(image.updated_at, None);
        let mut extra = self.extra.clone();
        // `deleted_at: null` is absent, `uuid` is the id.
        extra.remove("deleted_at");
        assert_eq!(image.properties, extra);
    }
}

fn model() -> impl Strategy<Value = Model> {
    (
        (
            "wmi-[A-Za-z0-9_]{1,20}",
            any::<String>(),
            "(a-[a-z0-9]{1,8})?",
        ),
        prop_oneof![
            Just("available".to_owned()),
            Just("deleted".to_owned()),
            Just("init".to_owned()),
            Just("creating".to_owned()),
            any::<String>(),
        ],
        any::<bool>(),
        (any::<String>(), "[0-9a-f]{0,32}", any::<String>()),
        (0i64..253_402_300_799, any::<bool>()),
        proptest::collection::btree_map("x_[a-z_]{0,8}", any::<String>(), 0..4),
    )
        .prop_map(
            |(
                (id, name, account),
                state,
                public,
                (file_format, md5sum, description),
                created,
                extra,
            )| Model {
                id,
                name,
                account,
                state,
                public,
                file_format,
                md5sum,
                description,
                created,
                extra,
            },
        )
}

/// An index page in either layout.
fn index(legacy: bool, total: u64, start: u64, results: &[Value]) -> Vec<u8> {
    let results = Value::Array(results.to_vec());
    let body = if legacy {
        json!({"owner_total": total, "start": start, "limit": 250, "result": results})
    } else {
        json!([{"total": total, "start": start, "limit": 250, "results": results}])
    };
    serde_json::to_vec(&body).unwrap()
}

const IMAGE_FIELDS: [&str; 12] = [
    "id",
    "uuid",
    "display_name",
    "account_id",
    "state",
    "is_public",
    "file_format",
    "md5sum",
    "arch",
    "description",
    "created_at",
    "updated_at",
];

const INDEX_FIELDS: [&str; 7] = [
    "total",
    "owner_total",
    "start",
    "results",
    "result",
    "limit",
    "other",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn well_formed_pages_of_both_layouts_decode_exactly(
        models in proptest::collection::vec(model(), 0..5),
        legacy in any::<bool>(),
        start in 0u64..1000,
        more in 0u64..3,
    ) {
        let docs: Vec<Value> = models.iter().map(Model::wire).collect();
        let total = start + models.len() as u64 + more;
        let page = check(&index(legacy, total, start, &docs), start).expect("a well-formed page decodes");
        prop_assert_eq!(page.total, Some(total));
        prop_assert_eq!(page.items.len(), models.len());
        for (model, image) in models.iter().zip(&page.items) {
            model.assert_decoded(image);
        }
        let end = start + models.len() as u64;
        let want = (!models.is_empty() && end != total).then_some(PageToken::Offset(end));
        prop_assert_eq!(page.next, want);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_an_error_or_a_lenient_value(
        model in model(),
        legacy in any::<bool>(),
        image_field in proptest::option::of(0..IMAGE_FIELDS.len()),
        index_field in 0..INDEX_FIELDS.len(),
        value in any_json(),
    ) {
        let mut doc = model.wire();
        let mut object = json!({"total": 5, "start": 0, "results": []});
        match image_field {
            Some(f) => doc[IMAGE_FIELDS[f]] = value,
            None => object[INDEX_FIELDS[index_field]] = value,
        }
        if object["results"].as_array().is_some_and(Vec::is_empty) {
            object["results"] = json!([doc]);
        }
        let body = if legacy { object.to_string() } else { json!([object]).to_string() };
        if let Some(page) = check(body.as_bytes(), 0) {
            if image_field.is_some_and(|f| IMAGE_FIELDS[f] != "id") && !page.items.is_empty() {
                prop_assert_eq!(page.items[0].id.as_str(), model.id.as_str());
            }
        }
    }

    #[test]
    fn mutated_pages_never_panic(
        models in proptest::collection::vec(model(), 1..4),
        legacy in any::<bool>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let docs: Vec<Value> = models.iter().map(Model::wire).collect();
        let mut body = index(legacy, 10, 0, &docs);
        for e in &edits {
            apply(&mut body, e);
        }
        check(&body, 0);
    }

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), start in any::<u64>()) {
        if let Err(e) = decode_index_body(&body, start) {
            check_error(&e, BackendKind::Dcmgr);
            prop_assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        }
    }

    #[test]
    fn random_text_of_json_tokens_never_panics(tokens in proptest::collection::vec(
        prop_oneof![
            Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\"total\""),
            Just("\"results\""), Just("\"result\""), Just("\"start\""), Just("\"id\""),
            Just("\"wmi-a\""), Just("0"), Just("null"), Just("18446744073709551616"), Just("1e999"),
            Just("-1"), Just("\"\\ud800\""),
        ],
        0..40,
    ), start in 0u64..3) {
        check(tokens.concat().as_bytes(), start);
    }
}

#[test]
fn huge_totals_and_starts_are_errors_or_exact() {
    let doc = r#"{"id":"wmi-a"}"#;
    for (total, start, want) in [
        ("18446744073709551615", "0", Some(Some(u64::MAX))),
        ("18446744073709551616", "0", None),
        ("1e400", "0", None),
        ("-1", "0", None),
        ("1.5", "0", None),
        ("\"7\"", "0", Some(Some(7))),
        ("null", "0", Some(None)),
        ("5", "18446744073709551616", None),
        ("5", "-1", None),
    ] {
        for legacy in [false, true] {
            let body = if legacy {
                format!(r#"{{"owner_total":{total},"start":{start},"result":[{doc}]}}"#)
            } else {
                format!(r#"[{{"total":{total},"start":{start},"results":[{doc}]}}]"#)
            };
            match (check(body.as_bytes(), 0), want) {
                (Some(page), Some(total)) => assert_eq!(page.total, total, "{body}"),
                (None, None) => {}
                (got, want) => panic!("{body}: {got:?}, wanted {want:?}"),
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_or_ignored_never_a_stack_overflow() {
    for depth in [64, 200, 10_000, 100_000] {
        let arrays = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        for nested in [&arrays, &objects] {
            let bodies = [
                nested.clone(),
                format!(r#"[{{"total":1,"results":{nested}}}]"#),
                format!(r#"[{{"total":1,"results":[{{"id":"wmi-a","labels":{nested}}}]}}]"#),
                format!(r#"[{{"total":1,"results":[{{"id":"wmi-a","display_name":{nested}}}]}}]"#),
                format!(r#"{{"owner_total":1,"other":{nested},"result":[{{"id":"wmi-a"}}]}}"#),
            ];
            for body in bodies {
                check(body.as_bytes(), 0);
            }
        }
    }
}

#[test]
fn invalid_utf8_in_a_page_is_an_invalid_response() {
    for bad in [&b"\xff"[..], b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"] {
        let mut body = br#"[{"total":1,"results":[{"id":"wmi-a","display_name":""#.to_vec();
        body.extend_from_slice(bad);
        body.extend_from_slice(br#""}]}]"#);
        let e = decode_index_body(&body, 0).unwrap_err();
        check_error(&e, BackendKind::Dcmgr);
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    }
}

#[tokio::test]
async fn a_hostile_owner_filter_is_one_query_value() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let catalog = crate::common::catalog(&emu, None);
    let hostile = "a-x&is_public=true&state=deleted&start=9#f/../../instances %2F\u{e9}";
    let got: Vec<Image> = catalog
        .list(ListQuery::new().owner(hostile))
        .try_collect()
        .await
        .unwrap();
    assert!(got.is_empty(), "no image has that owner");
    let requests = emu.server().requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/api/12.03/images");
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(r.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["start", "limit", "state", "account_id"],
        "{:?}",
        r.query
    );
    assert_eq!(pairs[3].1, hostile);
    assert_eq!(pairs[2].1, "alive");
    assert_eq!(r.header("x-vdc-account-uuid"), None);
}

#[tokio::test]
async fn a_hostile_account_is_refused_before_any_request() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203()).await;
    let long = format!("a-{}", "x".repeat(256));
    for account in [
        "a-x\r\nX-VDC-Account-UUID: a-admin",
        "a-x&y=1",
        "a-../../images",
        "a-x y",
        "a-",
        "b-shpoolxx",
        "a-é",
        long.as_str(),
    ] {
        let e = DcmgrCatalog::builder()
            .endpoint(emu.endpoint())
            .account(account)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{account:?}");
        check_error(&e, BackendKind::Dcmgr);
    }
    assert_eq!(emu.server().request_count(), 0);
    // A well-formed account goes out only as the header.
    let catalog = crate::common::catalog(&emu, Some("a-shpoolxx"));
    catalog
        .source()
        .page(&ListQuery::new().page_size(1), None)
        .await
        .unwrap();
    let r = &emu.server().requests()[0];
    assert_eq!(r.path, "/api/12.03/images");
    assert_eq!(r.header("x-vdc-account-uuid"), Some("a-shpoolxx"));
    assert!(!r.query.as_deref().unwrap_or("").contains("shpoolxx"));
}

/// Duplicate keys (issue 12): a key twice in one image (a field or a
/// property, even one that was `null`) is refused with a typed error;
/// never first or last wins.
#[test]
fn a_key_twice_in_one_image_is_refused() {
    let body = |image: &str| format!(r#"[{{"total":1,"start":0,"results":[{image}]}}]"#);
    let fine = r#"{"id":"wmi-a","state":"available","x":"1","y":null}"#;
    assert_eq!(
        decode_index_body(body(fine).as_bytes(), 0)
            .unwrap()
            .items
            .len(),
        1
    );
    for image in [
        r#"{"id":"wmi-a","state":"available","id":"wmi-b"}"#,
        r#"{"id":"wmi-a","state":"available","state":"deleted"}"#,
        r#"{"id":"wmi-a","state":"available","x":"1","x":"2"}"#,
        r#"{"id":"wmi-a","state":"available","x":null,"x":"2"}"#,
    ] {
        let e = decode_index_body(body(image).as_bytes(), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{image}");
        assert!(e.to_string().starts_with("dcmgr: "), "{e}");
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}

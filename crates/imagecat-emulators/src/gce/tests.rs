//! Unit tests of the GCE emulator's parts (the HTTP behaviour is tested
//! in `tests/integration/gce_routes.rs` and `gce_resources.rs`).

use serde_json::json;

use super::Filter;
use super::data::{base64, label_fingerprint};

fn passes(filter: &str, doc: &serde_json::Value) -> bool {
    Filter::parse(filter)
        .expect("parses")
        .expect("not empty")
        .matches(doc)
}

#[test]
fn the_regex_dialect_matches_whole_fields_as_gcloud_sends_it() {
    let doc = json!({"name": "golden-v1", "status": "READY", "family": "golden"});
    assert!(passes(r#"name eq ".*\bgolden\-v1\b.*""#, &doc));
    assert!(passes("status eq READY", &doc));
    assert!(
        !passes("status eq READ", &doc),
        "a regex matches the whole field"
    );
    assert!(!passes(r#"family ne ".*\bgolden\b.*""#, &doc));
    assert!(passes(r#"name eq ".*(^golden-v[0-9]+$).*""#, &doc));
    assert!(passes("(name eq 'golden-.*') (status ne FAILED)", &doc));
    assert!(!passes("(name eq 'golden-.*') (status ne READY)", &doc));
    let no_family = json!({"name": "x"});
    assert!(passes(r#"family ne ".*\bgolden\b.*""#, &no_family));
}

#[test]
fn the_aip_subset_has_and_or_not_nested_fields_and_presence() {
    let doc = json!({"name": "a", "status": "READY", "labels": {"team": "infra"}, "deprecated": {"state": "DEPRECATED"}});
    assert!(passes(r#"name = "a""#, &doc));
    assert!(passes("labels.team = infra", &doc));
    assert!(passes("labels.team:*", &doc));
    assert!(!passes("labels.owner:*", &doc));
    assert!(
        passes("labels.owner != x", &doc),
        "a missing field is not equal"
    );
    assert!(passes(
        "deprecated.state = DEPRECATED AND status = READY",
        &doc
    ));
    assert!(passes("(status = FAILED) OR (status = READY)", &doc));
    assert!(passes("status = FAILED OR status = READY", &doc));
    assert!(!passes("NOT status = READY", &doc));
    assert!(passes("-status = FAILED", &doc));
    assert!(passes("name = a* AND labels.team = inf*", &doc));
    // OR binds tighter than AND (AIP-160).
    assert!(!passes("status = FAILED AND name = a OR name = b", &doc));
}

#[test]
fn bad_filters_are_refused_with_a_reason() {
    for bad in [
        "name eq a AND status = READY",
        "creationTimestamp > \"2026-01-01\"",
        "name =",
        "(name = a",
        "name = a)",
        "name eq \"(unclosed\"",
        "name eq 'x",
        "na$me = a",
    ] {
        let e = Filter::parse(bad).expect_err(bad);
        assert!(
            e.0.starts_with("Invalid list filter expression"),
            "{bad}: {e}"
        );
    }
    assert!(Filter::parse("  ").expect("blank").is_none());
}

#[test]
fn label_fingerprints_are_gce_s_for_none_and_change_with_the_labels() {
    use std::collections::BTreeMap;
    assert_eq!(label_fingerprint(&BTreeMap::new()), "42WmSpB8rSM=");
    let one: BTreeMap<_, _> = [("a".to_owned(), "b".to_owned())].into();
    let two: BTreeMap<_, _> = [("a".to_owned(), "c".to_owned())].into();
    assert_ne!(label_fingerprint(&one), label_fingerprint(&two));
    assert_eq!(label_fingerprint(&one), label_fingerprint(&one.clone()));
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
}

#[test]
fn no_text_makes_the_filter_parser_panic() {
    // Deterministic noise over the grammar's own characters and words.
    let pieces = [
        "(", ")", "\"", "'", "\\", "=", "!=", ":", "*", "<", ">=", " ", "eq", "ne", "AND", "OR",
        "NOT", "-", "name", "labels.k", ".", "a", "é", "[", "]", "{", "}", "$", "^", "|", "+",
    ];
    let mut x: u64 = 7;
    for _ in 0..5000 {
        let mut text = String::new();
        x = crate::seed::splitmix64(x);
        for i in 0..(x % 12) {
            let n = crate::seed::splitmix64(x ^ i);
            text.push_str(pieces[(n % pieces.len() as u64) as usize]);
        }
        if let Ok(Some(filter)) = Filter::parse(&text) {
            let _ = filter.matches(&json!({"name": "a", "labels": {"k": "v"}}));
        }
    }
}

#[test]
fn batch_parts_are_read_from_gcloud_s_multipart_form() {
    use axum::http::HeaderMap;
    let mut outer = HeaderMap::new();
    outer.insert(
        "content-type",
        "multipart/mixed; boundary=\"===============1==\""
            .parse()
            .expect("a header"),
    );
    outer.insert("authorization", "Bearer t".parse().expect("a header"));
    let boundary = super::batch::boundary(&outer).expect("a boundary");
    assert_eq!(boundary, "===============1==");
    let body = "--===============1==\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <abc+0>\r\n\r\nGET /compute/v1/projects/p/global/images?alt=json&maxResults=500 HTTP/1.1\nContent-Type: application/json\nMIME-Version: 1.0\nHost: 127.0.0.1\n\n\r\n--===============1==\r\nContent-Type: application/http\r\nContent-ID: <abc+1>\r\n\r\nDELETE /compute/v1/projects/p/global/images/x HTTP/1.1\nHost: h\n\n\r\n--===============1==--\r\n";
    let parts =
        super::batch::parts(&body.as_bytes().to_vec().into(), &boundary, &outer).expect("parts");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].content_id, "<abc+0>");
    assert_eq!(
        parts[0].request.uri().to_string(),
        "/compute/v1/projects/p/global/images?alt=json&maxResults=500"
    );
    assert_eq!(parts[1].request.method(), "DELETE");
    assert_eq!(
        parts[1]
            .request
            .headers()
            .get("authorization")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer t"[..]),
        "the outer token when a part has none"
    );
    for bad in [
        "",
        "--===============1==--",
        "--===============1==\r\n\r\nnot http\r\n--===============1==--",
    ] {
        assert!(
            super::batch::parts(&bad.as_bytes().to_vec().into(), &boundary, &outer).is_err(),
            "{bad:?}"
        );
    }
}

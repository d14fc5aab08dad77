//! Unit tests of the GCE emulator's parts (the HTTP behaviour is tested
//! in `tests/integration/gce_routes.rs`).

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

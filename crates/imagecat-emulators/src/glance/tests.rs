//! Unit tests of the Glance emulator's model.

use super::*;

#[test]
fn seeded_ids_encode_their_index() {
    for i in [0, 1, 59, 2_499, MAX_SEEDED] {
        assert_eq!(seeded_index(&seeded_id(i)), Some(i));
        assert!(uuid::Uuid::try_parse(&seeded_id(i)).is_ok());
    }
    assert_eq!(seeded_index("9a1ace00-0000-4000-8000-00000000000g"), None);
    assert!(seeded_key(1) > seeded_key(0));
}

#[test]
fn filter_operators_as_glance_reads_them() {
    assert_eq!(filter_values("web").unwrap(), ["web"]);
    assert_eq!(filter_values("eq:a:b").unwrap(), ["a:b"]);
    assert_eq!(filter_values("in:a,\"b\"").unwrap(), ["a", "b"]);
    assert!(filter_values("a:b").is_err());
}

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn sort_orders_as_glance_appends_its_tie_breakers() {
    let order = |q: &str| SortParam::parse(&pairs(q)).map(|s| format!("{s:?}"));
    assert!(SortParam::parse(&[]).unwrap().is_default());
    // One direction given: the appended created_at and id follow it.
    assert!(order("sort=name:asc").unwrap().contains(r#"("id", false)"#));
    assert!(
        order("sort_key=name&sort_dir=asc")
            .unwrap()
            .contains(r#"("created_at", false)"#)
    );
    // Several: the default `desc`.
    assert!(
        order("sort=name:asc,size:asc")
            .unwrap()
            .contains(r#"("id", true)"#)
    );
    assert_eq!(
        order("sort_key=name&sort=name").unwrap_err(),
        "Old and new sorting syntax cannot be combined"
    );
    assert!(order("sort_key=a&sort_key=id&sort_dir=asc").is_err());
    assert!(order("sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc").is_err());
}

#[test]
fn a_whole_iso_time_is_an_equality() {
    let mut golden = GoldenFilters::default();
    assert_eq!(
        golden_param(&mut golden, "created_at", "2021-01-01T00:00:00Z"),
        Some(Ok(()))
    );
    assert!(golden.matches(&seeded_image(0)));
    assert!(!golden.matches(&seeded_image(1)));
    assert_eq!(
        golden_param(&mut golden, "created_at", "zz:2021-01-01T00:00:00Z"),
        Some(Err("Unable to filter on a unknown operator.".to_owned()))
    );
    assert!(
        matches!(golden_param(&mut golden, "updated_at", "gt:BAD"), Some(Err(m)) if m.starts_with("Bad \"updated_at\""))
    );
}

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

//! What every adapter's hostile-input tests share (feature `hostile`):
//! proptest strategies for random JSON and byte-level mutations of a body,
//! raw numbers no decoder should trust, and the checks that decoding either
//! gave a typed error naming the backend or images as the backend returns
//! them.

use imagecat_core::{BackendKind, Error, Image};
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The most bytes of body an error may carry (2 KiB and an ellipsis).
const SNIPPET_MAX: usize = 2048 + '…'.len_utf8();

/// Checks an error as a decoder must report one: typed, naming `backend`
/// (in `backend()` and at the start of its message), with a bounded snippet.
pub fn check_error(e: &Error, backend: BackendKind) {
    assert_eq!(e.backend(), Some(backend), "{e}");
    assert!(e.to_string().starts_with(&format!("{backend}: ")), "{e}");
    assert!(e.body().len() <= SNIPPET_MAX, "{}", e.body().len());
}

/// Checks images as a decoder must return them: the backend's, with an id,
/// and a native record holding the image's JSON object (read without
/// recursion: it may nest deeper than a `Value` is allowed to).
pub fn check_images(images: &[Image], backend: BackendKind) {
    for image in images {
        assert_eq!(image.backend, backend);
        assert!(!image.id.as_str().is_empty());
        let native = image.native.as_ref().expect("the native record is kept");
        let raw: Box<RawValue> = serde_json::from_str(native.as_str()).expect("the record is JSON");
        assert!(raw.get().starts_with('{'));
    }
}

/// Any JSON value, nested a few levels, with numbers at and past the edges.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        Just(json!(-1)),
        Just(json!("18446744073709551616")),
        Just(json!(1.5)),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Raw numbers no JSON library should trust: too large, negative,
/// fractional, exponents.
pub const HOSTILE_NUMBERS: [&str; 8] = [
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "-1",
    "1.5",
    "1e400",
    "-0",
    "1E2",
    "99999999999999999999999999999999999999999999999999",
];

/// One byte-level edit of a body.
#[derive(Debug, Clone)]
pub enum Edit {
    /// XOR a byte (never with 0).
    Flip(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Remove a byte.
    Remove(usize),
    /// Cut the body.
    Truncate(usize),
}

/// Random edits, biased towards bytes that break JSON and UTF-8.
pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (
            any::<usize>(),
            prop_oneof![
                any::<u8>(),
                Just(0xff),
                Just(0xc3),
                Just(b'"'),
                Just(b'{'),
                Just(b'[')
            ]
        )
            .prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Applies an edit (positions wrap around the body's length).
pub fn apply(body: &mut Vec<u8>, edit: &Edit) {
    let len = body.len().max(1);
    match *edit {
        Edit::Flip(at, b) if !body.is_empty() => body[at % len] ^= b | 1,
        Edit::Insert(at, b) => body.insert(at % (body.len() + 1), b),
        Edit::Remove(at) if !body.is_empty() => {
            body.remove(at % len);
        }
        Edit::Truncate(at) => body.truncate(at % (body.len() + 1)),
        _ => {}
    }
}

//! Helpers for hand-written serde decoders (the adapters' single-pass
//! decoders read a JSON object entry by entry, without a derive and without
//! a `serde_json::Value`): the `Visitor` boilerplate, written once.
//!
//! ```
//! use imagecat_core::raw::de::FromMap;
//! use serde::de::{IgnoredAny, MapAccess};
//!
//! #[derive(Debug, Default)]
//! struct Doc { id: Option<String> }
//!
//! impl<'de> FromMap<'de> for Doc {
//!     const EXPECTING: &'static str = "an image object";
//!     fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
//!         let mut doc = Doc::default();
//!         while let Some(key) = map.next_key::<String>()? {
//!             match key.as_str() {
//!                 "id" => doc.id = map.next_value()?,
//!                 _ => { map.next_value::<IgnoredAny>()?; }
//!             }
//!         }
//!         Ok(doc)
//!     }
//! }
//!
//! imagecat_core::deserialize_from_map!(Doc);
//!
//! let doc: Doc = serde_json::from_str(r#"{"id":"a","x":1}"#).unwrap();
//! assert_eq!(doc.id.as_deref(), Some("a"));
//! assert!(serde_json::from_str::<Doc>("[1]").unwrap_err().to_string().contains("an image object"));
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A type read from a JSON object by a loop over its entries.
pub trait FromMap<'de>: Sized {
    /// What the object is, for the error on anything else ("a DCMGR image
    /// object").
    const EXPECTING: &'static str;

    /// Reads the object's entries.
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Deserializes a [`FromMap`] type from an object: the body of its
/// `Deserialize` impl.
pub fn deserialize_map<'de, D: Deserializer<'de>, T: FromMap<'de>>(d: D) -> Result<T, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: FromMap<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::from_map(map)
        }
    }
    d.deserialize_map(V(PhantomData))
}

/// Deserializes an object key through `from` (escaped keys arrive
/// unescaped): the body of a key enum's `Deserialize` impl.
pub fn deserialize_key<'de, D: Deserializer<'de>, T>(
    d: D,
    from: fn(&str) -> T,
) -> Result<T, D::Error> {
    struct V<T>(fn(&str) -> T);
    impl<T> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok((self.0)(v))
        }
    }
    d.deserialize_identifier(V(from))
}

/// Implements `serde::Deserialize` for [`FromMap`] types through
/// [`deserialize_map`] (the caller's crate depends on `serde`).
#[macro_export]
macro_rules! deserialize_from_map {
    ($($t:ty),+ $(,)?) => {$(
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::raw::de::deserialize_map(d)
            }
        }
    )+};
}

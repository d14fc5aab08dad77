//! [`Properties`]: an image's further backend properties, as strings, in
//! key order.
//!
//! A sorted vector of pairs of [`CompactString`]s rather than a
//! `BTreeMap<String, String>`: one allocation for the whole set (none for
//! an empty one) instead of two per entry plus a node tree, since keys and
//! values up to 24 bytes are stored inline. The map API the code uses is
//! here (`get`, `insert`, `iter`, `keys`, indexing, …), iteration is in key
//! order, and serde reads and writes a JSON object in that order, so
//! output is what the map gave.

use std::collections::BTreeMap;
use std::ops::Index;

use compact_str::CompactString;
use serde::de::MapAccess;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::raw::de::FromMap;

/// String properties, unique keys, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Properties(Vec<(CompactString, CompactString)>);

impl Properties {
    /// No properties.
    pub const fn new() -> Self {
        Properties(Vec::new())
    }

    /// No properties, with room for `n` without growing.
    pub fn with_capacity(n: usize) -> Self {
        Properties(Vec::with_capacity(n))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// How many properties there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| self.0[i].1.as_str())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; the value it replaces, if any.
    pub fn insert(
        &mut self,
        key: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) -> Option<CompactString> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value.into())),
            Err(i) => {
                self.0.insert(i, (key, value.into()));
                None
            }
        }
    }

    /// Sets `key` to `value` only when `key` is not set yet; whether it was
    /// added (decoders refuse a repeated key with it).
    pub fn insert_new(
        &mut self,
        key: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) -> bool {
        let key = key.into();
        match self.find(&key) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, (key, value.into()));
                true
            }
        }
    }

    /// Removes `key`; its value, if it was set.
    pub fn remove(&mut self, key: &str) -> Option<CompactString> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The properties in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v.as_str())
    }
}

impl Index<&str> for Properties {
    type Output = CompactString;

    /// The value of `key`; panics when it is not set (as a map's index).
    fn index(&self, key: &str) -> &CompactString {
        match self.find(key) {
            Ok(i) => &self.0[i].1,
            Err(_) => panic!("no property {key:?}"),
        }
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> Extend<(K, V)> for Properties {
    /// Inserts every pair; a later value of a key replaces an earlier one.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> FromIterator<(K, V)> for Properties {
    /// As a map collects: a later value of a key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut out = Properties::new();
        out.extend(pairs);
        out
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (CompactString, CompactString)>,
        fn(&'a (CompactString, CompactString)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl From<BTreeMap<String, String>> for Properties {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already in key order and unique.
        Properties(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Properties {
    fn from(pairs: [(&str, &str); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl PartialEq<BTreeMap<String, String>> for Properties {
    fn eq(&self, map: &BTreeMap<String, String>) -> bool {
        self.len() == map.len()
            && self
                .iter()
                .zip(map)
                .all(|((a, b), (c, d))| a == c && b == d)
    }
}

impl PartialEq<Properties> for BTreeMap<String, String> {
    fn eq(&self, properties: &Properties) -> bool {
        properties == self
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> FromMap<'de> for Properties {
    const EXPECTING: &'static str = "an object of string properties";

    /// A repeated key keeps its last value (as a map does).
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut out = Properties::new();
        while let Some((k, v)) = map.next_entry::<CompactString, CompactString>()? {
            out.insert(k, v);
        }
        Ok(out)
    }
}

crate::deserialize_from_map!(Properties);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_the_map_it_replaces() {
        let pairs = [
            ("os", "linux"),
            ("arch", "x86_64"),
            ("a-long-key-past-24-bytes!", "v"),
            ("os", "bsd"),
        ];
        let ours: Properties = pairs.into_iter().collect();
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(ours, map);
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            map.keys().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(ours.get("os"), Some("bsd"));
        assert_eq!(ours["arch"], "x86_64");
        assert!(!ours.contains_key("missing"));
        let back: Properties = serde_json::from_str(&serde_json::to_string(&map).unwrap()).unwrap();
        assert_eq!(back, ours);
    }

    #[test]
    fn insert_new_refuses_a_set_key_and_remove_takes_it() {
        let mut p = Properties::new();
        assert!(p.insert_new("k", "1"));
        assert!(!p.insert_new("k", "2"));
        assert_eq!(p.get("k"), Some("1"));
        assert_eq!(p.insert("k", "3").as_deref(), Some("1"));
        assert_eq!(p.remove("k").as_deref(), Some("3"));
        assert!(p.is_empty());
    }
}

//! Lenient field decoders, shared by every adapter, for what real servers
//! send in more than one form (TOAST's docs quote every placeholder, Glance
//! v1 serialises naive timestamps, DCMGR's Ruby writes `… UTC`):
//!
//! - booleans: `true`/`false`, the strings `"true"`/`"false"` (any case),
//!   `0`/`1` and `"0"`/`"1"`;
//! - unsigned integers: a JSON integer, an integral float (`20.0`), or a
//!   string holding one; negative or fractional values are errors;
//! - timestamps: RFC 3339 with or without a fraction, and with or without a
//!   zone (no zone means UTC), `T` or a space between date and time, and
//!   Ruby's ` UTC` or ` +0900` after a space;
//! - result codes: a number or a string, kept as text;
//! - property values: strings as they are, anything else as its JSON text;
//! - text fields that may be any scalar ([`LenientText`]).
//!
//! Use the functions with `#[serde(deserialize_with = "…")]`, or the
//! newtypes ([`LenientBool`], [`LenientU64`], [`LenientText`]) from a
//! hand-written `Visitor`.
//!
//! `null` (and an empty string, for numbers and timestamps) is `None`.
//! Anything else (an object where a number belongs, `"abc"` as a size) is an
//! error: the caller turns it into `InvalidResponse` with a snippet.
//!
//! **Duplicate keys** (one rule for every decoder): an image object, or its
//! `properties` object, in which a key that imagecat reads appears twice is
//! an error, never resolved by "first wins" or "last wins" (two clients
//! could read two different images from it). Keys imagecat ignores (TOAST's
//! unknown top-level keys) are not checked. [`Keys`] and [`property`] do it
//! for hand-written visitors; serde's derive already refuses a repeated
//! field.

use std::fmt;

use crate::Properties;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use compact_str::CompactString;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The keys of one JSON object seen so far, for hand-written visitors that
/// refuse a repeated key (see the module docs).
#[derive(Debug, Default)]
pub struct Keys {
    fields: u64,
    null_properties: Vec<CompactString>,
}

impl Keys {
    /// Notes the schema field numbered `index` (below 64) named `key`; an
    /// error if it was seen before in this object.
    pub fn field<E: de::Error>(&mut self, index: u32, key: &str) -> Result<(), E> {
        let bit = 1u64 << index;
        if self.fields & bit != 0 {
            return Err(duplicate(key));
        }
        self.fields |= bit;
        Ok(())
    }
}

/// Adds property `key` (its text, or `None` for `null`, which is no
/// property) to `out`; an error if the key was seen before in this object.
pub fn property<E: de::Error>(
    keys: &mut Keys,
    out: &mut Properties,
    key: CompactString,
    value: Option<CompactString>,
) -> Result<(), E> {
    if keys.null_properties.contains(&key) {
        return Err(duplicate(&key));
    }
    let added = match value {
        Some(text) => out.insert_new(key.clone(), text),
        None if out.contains_key(&key) => false,
        None => {
            keys.null_properties.push(key.clone());
            true
        }
    };
    if added { Ok(()) } else { Err(duplicate(&key)) }
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate key {key:?} in one object"))
}

/// `Option<bool>` from a bool, `"true"`/`"false"`, `0`/`1` or null.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean, \"true\"/\"false\", 0/1 or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match u64::try_from(v) {
                Ok(u) => self.visit_u64(u),
                Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.eq_ignore_ascii_case("true") || t == "1" {
                Ok(Some(true))
            } else if t.eq_ignore_ascii_case("false") || t == "0" {
                Ok(Some(false))
            } else if t.is_empty() {
                Ok(None)
            } else {
                Err(E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `Option<u64>` from an integer, an integral float, a numeric string or null.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer, a string holding one, or null")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // 2^64 as f64; anything at or above it does not fit.
            if v.is_finite() && v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v)
            {
                Ok(Some(v as u64))
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            if let Ok(n) = t.parse::<u64>() {
                return Ok(Some(n));
            }
            match t.parse::<f64>() {
                Ok(f) if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') => self.visit_f64(f),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `Option<String>` from a string or null; any other type is an error.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A result code (number or string) as trimmed text, or `None` for null.
pub fn opt_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a result code (number or string) or null")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                Ok(Some((v as i64).to_string()))
            } else {
                Ok(Some(v.to_string()))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            Ok(Some(t.strip_prefix('+').unwrap_or(t).to_owned()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `Option<DateTime<Utc>>` from a timestamp string (see [`parse_timestamp`]),
/// an empty string or null.
pub fn opt_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a timestamp such as 2017-05-16T02:17:50.166563 or 2017-05-16T03:17:50Z, or null",
            )
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                return Ok(None);
            }
            parse_timestamp(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `Option<bool>` as [`opt_bool`] reads it, for hand-written visitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientBool(pub Option<bool>);

impl<'de> serde::Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_bool(d).map(LenientBool)
    }
}

/// `Option<u64>` as [`opt_u64`] reads it, for hand-written visitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientU64(pub Option<u64>);

impl<'de> serde::Deserialize<'de> for LenientU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_u64(d).map(LenientU64)
    }
}

/// `Option<String>` from a string, a number, a boolean or null (see
/// [`opt_scalar_text`]), for hand-written visitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientText(pub Option<String>);

impl<'de> serde::Deserialize<'de> for LenientText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_scalar_text(d).map(LenientText)
    }
}

/// [`LenientText`] held inline when short (up to 24 bytes: timestamps,
/// status words), so that a field parsed further costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientShortText(pub Option<CompactString>);

impl<'de> serde::Deserialize<'de> for LenientShortText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarText(std::marker::PhantomData))
            .map(LenientShortText)
    }
}

/// `Option<String>` from a string, a number or a boolean (as text) or null;
/// arrays and objects are errors.
pub fn opt_scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(ScalarText(std::marker::PhantomData))
}

/// The visitor of [`opt_scalar_text`], into any owned text type.
struct ScalarText<T>(std::marker::PhantomData<T>);

impl<'de, T: for<'a> From<&'a str> + From<String>> Visitor<'de> for ScalarText<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number, a boolean or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(T::from(v)))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(T::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The `properties` object: string values as they are, other values as their
/// JSON text (`true`, `20`, `{"a":1}`, `null`); a null object is empty.
pub fn properties<'de, D: Deserializer<'de>>(d: D) -> Result<Properties, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Properties;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of properties or null")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Properties::new();
            let mut keys = Keys::default();
            while let Some(key) = map.next_key::<CompactString>()? {
                let raw: &'de RawValue = map.next_value()?;
                let text = property_text(raw).map_err(de::Error::custom)?;
                property(&mut keys, &mut out, key, Some(text))?;
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Properties::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Properties::new())
        }
    }
    d.deserialize_any(V)
}

/// A property value's text: a JSON string unescaped, anything else verbatim.
fn property_text(raw: &RawValue) -> Result<CompactString, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes() {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
            // No escapes: the text between the quotes is the string.
            Ok(CompactString::from(&text[1..text.len() - 1]))
        }
        [b'"', ..] => serde_json::from_str(text),
        _ => Ok(CompactString::from(text)),
    }
}

/// Parses a timestamp:
/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][ ][Z|UTC|±HH:MM|±HHMM|±HH]`.
/// No zone means UTC. More than nine fraction digits are cut to nanoseconds.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let s = text.trim().as_bytes();
    if s.len() < 19 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = s.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    if s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't' | b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut at = 19;
    let mut nanos = 0u32;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < s.len() && s[at].is_ascii_digit() {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(s[at] - b'0');
            }
            at += 1;
        }
        let digits = at - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    // A leap second (60) is folded into the last second of the minute.
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second.min(59), nanos)?;
    let naive = NaiveDateTime::new(date, time);
    // Ruby writes the zone after a space: `… UTC`, `… +0900`.
    let zone = match &s[at..] {
        [b' ', rest @ ..] if !rest.is_empty() => rest,
        rest => rest,
    };
    let offset_secs: i32 = match zone {
        [] | [b'Z'] | [b'z'] | [b'U', b'T', b'C'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (two(*h1, *h2)?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(*h1, *h2)?, two(*m1, *m2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_secs)?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
}

fn two(a: u8, b: u8) -> Option<u32> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Doc {
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "opt_timestamp")]
        t: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "opt_code")]
        c: Option<String>,
        #[serde(default, deserialize_with = "properties")]
        p: Properties,
    }

    fn doc(text: &str) -> Result<Doc, serde_json::Error> {
        serde_json::from_str(text)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn booleans() {
        for (text, want) in [
            (r#"{"b":true}"#, Some(true)),
            (r#"{"b":"false"}"#, Some(false)),
            (r#"{"b":"TRUE"}"#, Some(true)),
            (r#"{"b":1}"#, Some(true)),
            (r#"{"b":"0"}"#, Some(false)),
            (r#"{"b":null}"#, None),
            (r#"{}"#, None),
        ] {
            assert_eq!(doc(text).unwrap().b, want, "{text}");
        }
        for bad in [
            r#"{"b":"yes please"}"#,
            r#"{"b":2}"#,
            r#"{"b":[]}"#,
            r#"{"b":{}}"#,
        ] {
            assert!(doc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers() {
        for (text, want) in [
            (r#"{"n":20}"#, Some(20)),
            (r#"{"n":"2147483648"}"#, Some(2_147_483_648)),
            (r#"{"n":" 7 "}"#, Some(7)),
            (r#"{"n":20.0}"#, Some(20)),
            (r#"{"n":"20.0"}"#, Some(20)),
            (r#"{"n":18446744073709551615}"#, Some(u64::MAX)),
            (r#"{"n":null}"#, None),
            (r#"{"n":""}"#, None),
        ] {
            assert_eq!(doc(text).unwrap().n, want, "{text}");
        }
        for bad in [
            r#"{"n":-1}"#,
            r#"{"n":1.5}"#,
            r#"{"n":"abc"}"#,
            r#"{"n":"-3"}"#,
            r#"{"n":1e30}"#,
            r#"{"n":99999999999999999999999}"#,
            r#"{"n":"1e3"}"#,
            r#"{"n":true}"#,
            r#"{"n":[1]}"#,
        ] {
            assert!(doc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_with_and_without_zone_and_fraction() {
        for (text, want) in [
            ("2017-05-16T02:17:50.166563", "2017-05-16T02:17:50.166563Z"),
            ("2017-05-16T03:17:50Z", "2017-05-16T03:17:50Z"),
            ("2017-05-16T03:17:50", "2017-05-16T03:17:50Z"),
            ("2017-05-16 03:17:50.5", "2017-05-16T03:17:50.5Z"),
            ("2017-05-16T12:17:50+09:00", "2017-05-16T03:17:50Z"),
            (
                "2017-05-16T12:17:50.000001+0900",
                "2017-05-16T03:17:50.000001Z",
            ),
            ("2017-05-15T22:17:50-05", "2017-05-16T03:17:50Z"),
            ("2017-05-16 03:17:50 UTC", "2017-05-16T03:17:50Z"),
            ("2017-05-16 12:17:50 +0900", "2017-05-16T03:17:50Z"),
            (
                "2017-05-16T03:17:50.1234567891234Z",
                "2017-05-16T03:17:50.123456789Z",
            ),
        ] {
            assert_eq!(parse_timestamp(text), Some(utc(want)), "{text}");
        }
        for bad in [
            "",
            "yesterday",
            "2017-13-16T03:17:50",
            "2017-05-16T25:17:50",
            "2017-05-16T03:17:50.",
            "2017-05-16T03:17:50+9",
            "2017-05-16T03:17:50  UTC",
            "2017-05-16T03:17:50 PST",
            "2017/05/16T03:17:50",
            "２０１７-05-16T03:17:50",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert_eq!(doc(r#"{"t":null}"#).unwrap().t, None);
        assert_eq!(doc(r#"{"t":""}"#).unwrap().t, None);
        assert!(doc(r#"{"t":"soon"}"#).is_err());
        assert!(doc(r#"{"t":1700000000}"#).is_err());
    }

    #[test]
    fn result_codes_as_numbers_or_strings() {
        assert_eq!(doc(r#"{"c":-3}"#).unwrap().c.as_deref(), Some("-3"));
        assert_eq!(doc(r#"{"c":"30404"}"#).unwrap().c.as_deref(), Some("30404"));
        assert_eq!(doc(r#"{"c":" +0 "}"#).unwrap().c.as_deref(), Some("0"));
        assert_eq!(doc(r#"{"c":30404.0}"#).unwrap().c.as_deref(), Some("30404"));
        assert_eq!(doc(r#"{"c":null}"#).unwrap().c, None);
    }

    #[test]
    fn property_values_that_are_not_strings_keep_their_json_text() {
        let p = doc(
            r#"{"p":{"a":"x","b":true,"c":20,"d":{"k":[1, 2]},"e":null,"f":"esc\"aped \uD55C","g":1.50}}"#,
        )
        .unwrap()
        .p;
        assert_eq!(p["a"], "x");
        assert_eq!(p["b"], "true");
        assert_eq!(p["c"], "20");
        assert_eq!(p["d"], r#"{"k":[1, 2]}"#);
        assert_eq!(p["e"], "null");
        assert_eq!(p["f"], "esc\"aped 한");
        assert_eq!(p["g"], "1.50");
        assert!(doc(r#"{"p":null}"#).unwrap().p.is_empty());
        assert!(doc(r#"{"p":[1]}"#).is_err());
        assert!(doc(r#"{"p":"x"}"#).is_err());
    }
}

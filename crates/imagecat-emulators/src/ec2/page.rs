//! Real paging for every EC2 and Auto Scaling listing the emulator serves:
//! `MaxResults`/`MaxRecords` validated per operation, and an opaque
//! `NextToken` that names the listing it belongs to and the last key
//! served (keys are the listing's sort keys, so a page costs O(page) and
//! items added or removed between pages never make one served twice).

use super::query::{ApiError, ApiResult, Params};
use crate::seed::splitmix64;

/// Makes and reads the opaque tokens of one emulator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens {
    pub(crate) secret: u64,
}

impl Tokens {
    /// A token for the page after `key` of listing `kind`.
    pub(crate) fn encode(&self, kind: &str, key: &str) -> String {
        let plain = format!("v1\n{kind}\n{key}");
        let mut out = String::with_capacity(plain.len() * 2);
        for (b, k) in plain.bytes().zip(self.stream()) {
            out.push_str(&format!("{:02x}", b ^ k));
        }
        out
    }

    /// The key a token of listing `kind` carries; `InvalidPaginationToken`
    /// (EC2) or `InvalidNextToken` (Auto Scaling, `asg`) otherwise.
    pub(crate) fn decode(&self, kind: &str, token: &str, asg: bool) -> ApiResult<String> {
        let invalid = || {
            if asg {
                ApiError::bad("InvalidNextToken", "The token is invalid.")
            } else {
                ApiError::bad(
                    "InvalidPaginationToken",
                    "The specified pagination token is not valid or is expired",
                )
            }
        };
        if token.len() % 2 != 0 || token.len() > 4096 {
            return Err(invalid());
        }
        let mut plain = Vec::with_capacity(token.len() / 2);
        for (i, k) in (0..token.len()).step_by(2).zip(self.stream()) {
            let byte = u8::from_str_radix(token.get(i..i + 2).ok_or_else(invalid)?, 16)
                .map_err(|_| invalid())?;
            plain.push(byte ^ k);
        }
        let plain = String::from_utf8(plain).map_err(|_| invalid())?;
        let mut parts = plain.splitn(3, '\n');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(k), Some(key)) if k == kind => Ok(key.to_owned()),
            _ => Err(invalid()),
        }
    }

    fn stream(&self) -> impl Iterator<Item = u8> {
        let secret = self.secret;
        (0u64..).flat_map(move |i| splitmix64(secret ^ i.wrapping_mul(0x5851_F42D)).to_le_bytes())
    }
}

/// The page size a request asks for: `None` when it names none (the
/// listing is then not paged), EC2's `InvalidParameterValue` outside
/// `min..=max`.
pub(crate) fn page_size(
    params: &Params,
    name: &str,
    wire: &str,
    min: i64,
    max: i64,
) -> ApiResult<Option<usize>> {
    match params.int(name)? {
        None => Ok(None),
        Some(n) if n < min => Err(ApiError::bad(
            "InvalidParameterValue",
            format!(
                "Value ( {n} ) for parameter {wire} is invalid. Expecting a value greater than {min}."
            ),
        )),
        Some(n) if n > max => Err(ApiError::bad(
            "InvalidParameterValue",
            format!(
                "Value ( {n} ) for parameter {wire} is invalid. Expecting a value less than or equal to {max}."
            ),
        )),
        Some(n) => Ok(Some(n as usize)),
    }
}

/// Takes up to `size` items of `rest` (already past the token's key):
/// the page and, when more remain, the key of its last item. With
/// `token_at_end`, a full page that happens to be the last one carries a
/// token too (leading to an empty last page without one), as EC2 has been
/// seen to answer.
pub(crate) fn take<T>(
    rest: impl Iterator<Item = T>,
    size: Option<usize>,
    token_at_end: bool,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let paged = size.is_some();
    let size = size.unwrap_or(usize::MAX);
    let mut rest = rest.peekable();
    let mut page = Vec::new();
    while page.len() < size {
        match rest.next() {
            Some(item) => page.push(item),
            None => return (page, None),
        }
    }
    let more = rest.peek().is_some() || (token_at_end && paged);
    let next = match (more, page.last()) {
        (true, Some(last)) => Some(key(last)),
        _ => None,
    };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_another_listing_or_garbage() {
        let t = Tokens { secret: 7 };
        let tok = t.encode("images", "ami-0123");
        assert!(!tok.contains("ami"));
        assert_eq!(t.decode("images", &tok, false).unwrap(), "ami-0123");
        assert_eq!(
            t.decode("instances", &tok, false).unwrap_err().code,
            "InvalidPaginationToken"
        );
        assert_eq!(
            t.decode("images", "zz", true).unwrap_err().code,
            "InvalidNextToken"
        );
        assert!(t.decode("images", "abc", false).is_err());
    }

    #[test]
    fn a_page_names_its_last_key_only_when_more_remain() {
        let (page, next) = take(1..=5, Some(2), false, |n| n.to_string());
        assert_eq!((page, next.as_deref()), (vec![1, 2], Some("2")));
        let (page, next) = take(1..=2, Some(2), false, |n| n.to_string());
        assert_eq!((page, next), (vec![1, 2], None));
        let (page, next) = take(1..=2, Some(2), true, |n| n.to_string());
        assert_eq!((page, next.as_deref()), (vec![1, 2], Some("2")));
        let (page, next) = take(std::iter::empty::<i32>(), Some(2), true, |n| n.to_string());
        assert_eq!((page, next), (vec![], None));
    }
}

//! Ages and points in time as users write them: `30d`, `12h`, `2w`, or an
//! RFC 3339 time. Shared by the golden-image filters and the clean-up
//! policies.

use chrono::{DateTime, Duration, Utc};

/// Text that is neither an age (`30d`) nor an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not {want}")]
pub struct TimeParseError {
    text: String,
    want: &'static str,
}

/// Parses an age: a whole number followed by a unit, `s`, `m`, `h`, `d`
/// (days) or `w` (weeks), as in `30d`, `12h`, `2w`. Several parts add up
/// (`1d12h`). Zero is allowed; a negative or overflowing age is not.
pub fn parse_age(text: &str) -> Result<Duration, TimeParseError> {
    let err = || TimeParseError {
        text: text.to_owned(),
        want: "an age such as 30d, 12h or 2w",
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = Duration::zero();
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        if digits == 0 {
            return Err(err());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| err())?;
        let unit = rest[digits..].chars().next().ok_or_else(err)?;
        let seconds: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        let part = n
            .checked_mul(seconds)
            .and_then(Duration::try_seconds)
            .ok_or_else(err)?;
        total = total.checked_add(&part).ok_or_else(err)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// Parses a point in time: an RFC 3339 time (`2026-01-31T00:00:00Z`), or an
/// age counted back from `now` (`30d` is thirty days before `now`).
pub fn parse_time_or_age(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeParseError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let age = parse_age(text).map_err(|_| TimeParseError {
        text: text.to_owned(),
        want: "an RFC 3339 time or an age such as 30d",
    })?;
    now.checked_sub_signed(age).ok_or_else(|| TimeParseError {
        text: text.to_owned(),
        want: "an age that ends after year 0",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_every_unit_and_combined() {
        assert_eq!(parse_age("30d").unwrap(), Duration::days(30));
        assert_eq!(parse_age("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_age("2w").unwrap(), Duration::weeks(2));
        assert_eq!(parse_age("90m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_age("5s").unwrap(), Duration::seconds(5));
        assert_eq!(parse_age("1d12h").unwrap(), Duration::hours(36));
        assert_eq!(parse_age("0d").unwrap(), Duration::zero());
    }

    #[test]
    fn bad_ages_are_errors_not_panics() {
        for bad in [
            "",
            "d",
            "30",
            "-1d",
            "3x",
            "1.5d",
            "30 d",
            "d30",
            "99999999999999999999d",
            "9223372036854775807w",
            "1dé",
        ] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_are_rfc3339_or_an_age_back_from_now() {
        let now = DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_time_or_age("30d", now).unwrap(),
            now - Duration::days(30)
        );
        assert_eq!(
            parse_time_or_age("2026-01-01T09:00:00+09:00", now).unwrap(),
            DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
        );
        let e = parse_time_or_age("yesterday", now).unwrap_err();
        assert!(e.to_string().contains("RFC 3339"), "{e}");
        assert!(parse_time_or_age("200000000w", now).is_err());
    }
}

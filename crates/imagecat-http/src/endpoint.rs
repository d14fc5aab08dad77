//! Endpoints: parsing an API base, appending path segments safely,
//! showing an endpoint without anything secret, and times as query
//! parameters in whole seconds.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use imagecat_core::{BackendKind, Error, Result};
use url::Url;

/// Parses an endpoint URL (`https://host[:port][/base]`, or `http://` when
/// the user wrote it so). An empty path becomes `default_base`; a trailing
/// `/` is dropped. User info, a query or a fragment is refused: secrets never
/// travel in URLs.
pub fn parse_endpoint(backend: BackendKind, text: &str, default_base: &str) -> Result<Url> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        Error::config(Some(backend), format!("invalid endpoint {text:?}: {e}")).with_source(e)
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(
            Some(backend),
            format!(
                "endpoint scheme must be https (or http), not {:?}",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(Some(backend), "endpoint has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            Some(backend),
            "endpoint must not carry credentials; use the environment or the config file",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            Some(backend),
            "endpoint must not have a query or fragment",
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if path.is_empty() {
        url.set_path(default_base);
    } else {
        url.set_path(&path);
    }
    Ok(url)
}

/// The base URL with `segments` appended, each percent-encoded so that no
/// segment (an appkey, an id) can add a path level, a query or a fragment.
/// An empty, `.` or `..` segment is refused (`InvalidInput`): URLs resolve
/// dot segments, even percent-encoded ones, so they cannot be sent as data.
pub fn join_segments<S: AsRef<str>>(
    backend: BackendKind,
    base: &Url,
    segments: &[S],
) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::config(Some(backend), "endpoint cannot take a path"))?;
        path.pop_if_empty();
        for segment in segments {
            let segment = segment.as_ref();
            if matches!(segment, "" | "." | "..") {
                return Err(Error::invalid_input(
                    backend,
                    format!("{segment:?} cannot be used as a path segment"),
                ));
            }
            path.push(segment);
        }
    }
    Ok(url)
}

/// The endpoint as shown to users: scheme, host, port and path only.
pub fn display(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_owned()
}

/// `t` rounded down to a whole second: the lower bound of a date filter a
/// server takes in whole seconds, so it keeps a superset of what the
/// engine's exact check keeps.
pub fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `t` rounded up to a whole second (itself when it is one): the upper
/// bound of such a filter.
pub fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    if t.timestamp_subsec_nanos() == 0 {
        t
    } else {
        floor_second(t) + TimeDelta::seconds(1)
    }
}

/// `t` as a query parameter: RFC 3339 in whole seconds, in UTC
/// (`2024-05-01T12:00:00Z`).
pub fn seconds_param(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_outwards_to_whole_seconds() {
        let whole = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let inside = whole + TimeDelta::milliseconds(300);
        assert_eq!(floor_second(inside), whole);
        assert_eq!(ceil_second(inside), whole + TimeDelta::seconds(1));
        assert_eq!(floor_second(whole), whole);
        assert_eq!(ceil_second(whole), whole);
        assert_eq!(seconds_param(inside), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn default_base_and_trailing_slash() {
        let b = BackendKind::Dcmgr;
        assert_eq!(
            parse_endpoint(b, "http://127.0.0.1:9001", "/api/12.03")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9001/api/12.03"
        );
        assert_eq!(
            parse_endpoint(b, "https://h/api/", "/api/12.03")
                .unwrap()
                .as_str(),
            "https://h/api"
        );
        assert!(parse_endpoint(b, "https://u:p@h/", "/x").is_err());
        assert!(parse_endpoint(b, "https://h/?token=1", "/x").is_err());
        assert!(parse_endpoint(b, "ftp://h/", "/x").is_err());
    }

    #[test]
    fn hostile_segments_stay_one_segment() {
        let base = Url::parse("https://h/compute").unwrap();
        let b = BackendKind::Toast;
        for hostile in [
            "../images",
            "a/b",
            "x&id=y",
            "a?b=c",
            "a#f",
            "%2F",
            "..%2F",
            "한 글",
        ] {
            let url = join_segments(b, &base, &["v1.0", "appkeys", hostile, "images"]).unwrap();
            assert_eq!(url.query(), None, "{hostile}");
            assert_eq!(url.fragment(), None, "{hostile}");
            let segs: Vec<_> = url.path_segments().unwrap().collect();
            assert_eq!(segs.len(), 5, "{hostile}: {url}");
            assert_eq!(segs[0], "compute");
            assert_eq!(segs[4], "images");
            assert!(!segs[3].contains('/') && !segs[3].contains('?'), "{url}");
        }
        for refused in ["", ".", ".."] {
            assert!(join_segments(b, &base, &[refused]).is_err(), "{refused:?}");
        }
    }
}

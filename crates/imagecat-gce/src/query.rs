//! The `filter` expression of an `images.list` request: the parts of a
//! [`ListQuery`] the Compute API can apply itself, in its AIP-160 dialect
//! (`(name = "x") (status = "READY") (labels.env = "prod")`, parenthesized
//! expressions ANDed). The server's answer is a superset of what the query
//! keeps (a unified status is sent as the one `status` word it needs, not
//! the deprecation state it also reads); the pagination engine applies the
//! whole query again on the client, so a filter the server ignored or
//! applied loosely never lets a wrong image through.
//!
//! Sent only where the value is plain (GCE's names and label values are
//! `[-_a-z0-9]`, and nothing is quoted or escaped on the way): a glob, a
//! name or label that could not exist on GCE, several statuses, other
//! properties, sizes and times are filtered on the client only. `orderBy`
//! is never sent: GCE refuses it together with a filter.

use imagecat_core::{ImageStatus, ListQuery};

/// The status word a unified status needs on the server: `READY` for
/// active and deactivated (an obsolete image is `READY` too), `PENDING`,
/// `FAILED`; deleted (`DELETING`, or `READY` and deprecated `DELETED`) and
/// unknown words are filtered on the client only.
fn status_word(status: &ImageStatus) -> Option<&'static str> {
    match status {
        ImageStatus::Active | ImageStatus::Deactivated => Some("READY"),
        ImageStatus::Queued => Some("PENDING"),
        ImageStatus::Failed => Some("FAILED"),
        _ => None,
    }
}

/// A value the filter can carry unquoted-safe inside `"…"`: GCE's name,
/// family and label characters only (and not empty).
fn plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The `filter` of a query, or `None` when the server can apply none of
/// it.
pub(crate) fn filter_expression(query: &ListQuery) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(name) = query.name.as_ref().and_then(|n| n.exact()) {
        if plain(name) {
            parts.push(format!("(name = \"{name}\")"));
        }
    }
    if let [status] = query.statuses.as_slice() {
        if let Some(word) = status_word(status) {
            parts.push(format!("(status = \"{word}\")"));
        }
    }
    for (key, value) in &query.properties {
        if key == "family" && plain(value) {
            parts.push(format!("(family = \"{value}\")"));
        } else if let Some(label) = key.strip_prefix("label.") {
            if plain(label) && plain(value) && label.as_bytes()[0].is_ascii_lowercase() {
                parts.push(format!("(labels.{label} = \"{value}\")"));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_server_is_sent() {
        let q = ListQuery::new()
            .name("golden-v2")
            .status(ImageStatus::Active)
            .property("family", "golden")
            .property("label.env", "prod");
        assert_eq!(
            filter_expression(&q).as_deref(),
            Some(
                r#"(name = "golden-v2") (status = "READY") (family = "golden") (labels.env = "prod")"#
            )
        );
        assert_eq!(
            filter_expression(&ListQuery::new().status(ImageStatus::Failed)).as_deref(),
            Some(r#"(status = "FAILED")"#)
        );
    }

    #[test]
    fn what_stays_on_the_client() {
        for q in [
            ListQuery::new(),
            ListQuery::new().name("golden-*"),
            ListQuery::new().name("a\" OR name = \"b"),
            ListQuery::new().name("Upper"),
            ListQuery::new().status(ImageStatus::Deleted),
            ListQuery::new()
                .status(ImageStatus::Active)
                .status(ImageStatus::Failed),
            ListQuery::new().property("label.env", "a b"),
            ListQuery::new().property("label.Env", "prod"),
            ListQuery::new().property("label.1x", "prod"),
            ListQuery::new().property("family", "x\") OR (name != \"y"),
            ListQuery::new().property("storage_locations", "us"),
            ListQuery::new().size_range(Some(5), None),
        ] {
            assert_eq!(filter_expression(&q), None, "{q:?}");
        }
    }
}

//! A [`ListQuery`] as DescribeImages' server-side filters, where EC2 has
//! them. The server's answer is always a superset of the query's: a filter
//! whose EC2 meaning could be narrower than the query's (an escape, a
//! character class) is not sent, and the pagination engine re-checks every
//! filter on the client anyway.
//!
//! | query | EC2 |
//! |---|---|
//! | `name` exact, or a glob of `*` and `?` only | `Filter name` (EC2's `*`/`?` wildcards); an exact name holding `*`, `?` or `\` and a glob with `[…]` or `\` stay on the client |
//! | `statuses` | `Filter state` (`active` → `available`, `queued` → `pending`, `saving` → `transient`, `deactivated` → `disabled`, `failed` → `failed`/`invalid`/`error`, `deleted` → `deregistered`); any other status keeps the whole filter on the client. `deactivated` also sets `IncludeDisabled` (EC2 hides disabled AMIs) |
//! | `visibility` public / private | `Filter is-public` `true` / `false` (shared and community stay on the client) |
//! | `tags` (keys) | one `Filter tag-key` each (AND'ed) |
//! | property `tag:KEY=V` | `Filter tag:KEY` `V` |
//! | property `architecture=V` | `Filter architecture` `V` |
//!
//! Deprecated and disabled AMIs: EC2 lists neither unless asked. The URL
//! options `include_deprecated=true` and `include_disabled=true` ask for
//! them on every listing (the owner always sees their own deprecated AMIs,
//! so with the default `owner=self` only disabled ones are hidden);
//! `--status deactivated` and [`ListQuery::include_retired`] (`list
//! --retired`) ask for disabled ones too.

use imagecat_core::{ImageStatus, ListQuery, NamePattern, Visibility};

use crate::protocol::Filter;
use crate::source::SourceOptions;

/// What one listing sends beyond owners and paging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The `Filter.N` list.
    pub(crate) filters: Vec<Filter>,
    /// `IncludeDeprecated=true`.
    pub(crate) include_deprecated: bool,
    /// `IncludeDisabled=true`.
    pub(crate) include_disabled: bool,
}

/// The EC2 states a unified status stands for (`None`: no EC2 state).
fn states(status: &ImageStatus) -> Option<&'static [&'static str]> {
    Some(match status {
        ImageStatus::Active => &["available"],
        ImageStatus::Queued => &["pending"],
        ImageStatus::Saving => &["transient"],
        ImageStatus::Deactivated => &["disabled"],
        ImageStatus::Failed => &["failed", "invalid", "error"],
        ImageStatus::Deleted => &["deregistered"],
        _ => return None,
    })
}

/// Whether a filter value means the same on EC2 as it does here: no
/// backslash, EC2's only escape.
fn plain(text: &str) -> bool {
    !text.contains('\\')
}

/// The listing a query asks for, under the catalog's options.
pub(crate) fn listing(query: &ListQuery, options: &SourceOptions) -> Listing {
    let mut out = Listing {
        include_deprecated: options.include_deprecated,
        include_disabled: options.include_disabled || query.include_retired,
        ..Listing::default()
    };
    match &query.name {
        Some(NamePattern::Exact(name)) if plain(name) && !name.contains(['*', '?']) => {
            out.filters.push(Filter::new("name", [name.as_str()]));
        }
        Some(NamePattern::Glob(glob)) if plain(glob.as_str()) && !glob.as_str().contains('[') => {
            out.filters.push(Filter::new("name", [glob.as_str()]));
        }
        _ => {}
    }
    if !query.statuses.is_empty() {
        let mapped: Option<Vec<&str>> = query
            .statuses
            .iter()
            .map(|s| states(s).map(<[&str]>::to_vec))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat());
        if let Some(values) = mapped {
            out.filters.push(Filter::new("state", values));
        }
        if query.statuses.contains(&ImageStatus::Deactivated) {
            out.include_disabled = true;
        }
    }
    match query.visibility {
        Some(Visibility::Public) => out.filters.push(Filter::new("is-public", ["true"])),
        Some(Visibility::Private) => out.filters.push(Filter::new("is-public", ["false"])),
        _ => {}
    }
    for key in query
        .tags
        .iter()
        .filter(|k| plain(k) && !k.contains(['*', '?']))
    {
        out.filters.push(Filter::new("tag-key", [key.as_str()]));
    }
    for (key, value) in &query.properties {
        if !plain(value) || value.contains(['*', '?']) {
            continue;
        }
        if let Some(tag) = key.strip_prefix("tag:") {
            if plain(tag) && !tag.contains(['*', '?']) && !tag.is_empty() {
                out.filters
                    .push(Filter::new(key.as_str(), [value.as_str()]));
            }
        } else if key == "architecture" {
            out.filters
                .push(Filter::new("architecture", [value.as_str()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(query: &ListQuery) -> Vec<(String, Vec<String>)> {
        listing(query, &SourceOptions::default())
            .filters
            .into_iter()
            .map(|f| (f.name, f.values))
            .collect()
    }

    fn f(name: &str, values: &[&str]) -> (String, Vec<String>) {
        (
            name.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        )
    }

    #[test]
    fn the_filters_ec2_has_are_sent() {
        let query = ListQuery::new()
            .name("golden-web-*")
            .status(ImageStatus::Active)
            .visibility(Visibility::Private)
            .tag("team")
            .property("tag:env", "prod")
            .property("architecture", "arm64")
            .property("bootMode", "uefi");
        assert_eq!(
            sent(&query),
            [
                f("name", &["golden-web-*"]),
                f("state", &["available"]),
                f("is-public", &["false"]),
                f("tag-key", &["team"]),
                f("architecture", &["arm64"]),
                f("tag:env", &["prod"]),
            ]
        );
        let l = listing(&query, &SourceOptions::default());
        assert!(!l.include_disabled && !l.include_deprecated);
    }

    #[test]
    fn what_ec2_would_read_otherwise_stays_on_the_client() {
        for query in [
            ListQuery::new().name("web-[0-9]"),
            ListQuery::new().name(r"a\*b"),
            ListQuery::new().status(ImageStatus::Unknown("frozen".into())),
            ListQuery::new().visibility(Visibility::Shared),
            ListQuery::new().tag("te*m"),
            ListQuery::new().property("tag:env", "pr?d"),
            ListQuery::new().property("description", "x"),
        ] {
            assert_eq!(sent(&query), [], "{query:?}");
        }
    }

    #[test]
    fn statuses_and_the_include_options() {
        let query = ListQuery::new()
            .status(ImageStatus::Failed)
            .status(ImageStatus::Deactivated);
        assert_eq!(
            sent(&query),
            [f("state", &["failed", "invalid", "error", "disabled"])]
        );
        assert!(listing(&query, &SourceOptions::default()).include_disabled);
        let options = SourceOptions {
            include_deprecated: true,
            include_disabled: true,
            keep_snapshots: false,
        };
        let l = listing(&ListQuery::new(), &options);
        assert!(l.include_deprecated && l.include_disabled && l.filters.is_empty());
        // list --retired and the retire phases: disabled AMIs too.
        let plain = SourceOptions::default();
        assert!(!listing(&ListQuery::new(), &plain).include_disabled);
        let retired = ListQuery::new().include_retired(true);
        assert!(listing(&retired, &plain).include_disabled);
    }
}

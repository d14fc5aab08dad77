//! The request side of the Query protocol: `Action=…&Version=…&…` form
//! bodies, with both list flattenings AWS uses.
//!
//! - [`ListStyle::Ec2`] (EC2's `ec2` protocol, botocore's `EC2Serializer`):
//!   `Owner.1=self`, `Filter.1.Name=name&Filter.1.Value.1=golden-*`; an empty
//!   list sends nothing.
//! - [`ListStyle::Query`] (the plain `query` protocol of Auto Scaling and
//!   STS, botocore's `QuerySerializer`):
//!   `LaunchConfigurationNames.member.1=a`,
//!   `Filters.member.1.Name=tag:env&Filters.member.1.Values.member.1=prod`;
//!   an empty list sends `Name=`.
//!
//! The wire names are the caller's (EC2's `Owner`/`Filter`/`Value` against
//! Auto Scaling's `Filters`/`Values`): each style only flattens. Values are
//! percent-encoded as botocore's `urlencode` does (everything but
//! `A-Za-z0-9-_.~` escaped, a space as `+`), so a body signed here is the
//! body botocore would send; parameters stay in the order they were added.
//!
//! ```
//! use imagecat_ec2::protocol::{DescribeImages, Filter};
//!
//! let request = DescribeImages {
//!     owners: vec!["self".into()],
//!     filters: vec![Filter::new("name", ["golden-*"])],
//!     max_results: Some(500),
//!     ..DescribeImages::default()
//! };
//! assert_eq!(
//!     request.form().encode(),
//!     "Action=DescribeImages&Version=2016-11-15&Owner.1=self\
//!      &Filter.1.Name=name&Filter.1.Value.1=golden-%2A&MaxResults=500"
//! );
//! ```

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// EC2's API version.
pub const EC2_VERSION: &str = "2016-11-15";
/// Auto Scaling's API version.
pub const AUTOSCALING_VERSION: &str = "2011-01-01";
/// The content type of every Query-protocol body.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// What botocore leaves unescaped (Python's `quote_plus` safe set).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b' ');

/// How a list parameter is flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStyle {
    /// EC2: `Name.N`; an empty list sends nothing.
    Ec2,
    /// The plain query protocol (Auto Scaling, STS): `Name.member.N`; an
    /// empty list sends `Name=`.
    Query,
}

impl ListStyle {
    /// The key of the `index`th (1-based) member of the list `name`.
    pub fn key(self, name: &str, index: usize) -> String {
        match self {
            ListStyle::Ec2 => format!("{name}.{index}"),
            ListStyle::Query => format!("{name}.member.{index}"),
        }
    }
}

/// A filter: a name and the values it accepts (OR'ed; several filters are
/// AND'ed by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filter's name (`name`, `state`, `tag:KEY`, `is-public`, …).
    pub name: String,
    /// The accepted values (`*` and `?` are wildcards on EC2).
    pub values: Vec<String>,
}

impl Filter {
    /// A filter from its name and values.
    pub fn new<V: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Filter {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// A Query-protocol form: its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    /// A form for `action` of API `version`.
    pub fn new(action: &str, version: &str) -> Self {
        Form {
            params: vec![
                ("Action".to_owned(), action.to_owned()),
                ("Version".to_owned(), version.to_owned()),
            ],
        }
    }

    /// Adds one parameter.
    pub fn param(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Adds a boolean as `true`/`false`.
    pub fn flag(&mut self, name: &str, value: bool) -> &mut Self {
        self.param(name, if value { "true" } else { "false" })
    }

    /// Adds a list of strings flattened in `style`.
    pub fn list<V: AsRef<str>>(&mut self, style: ListStyle, name: &str, values: &[V]) -> &mut Self {
        if values.is_empty() {
            if style == ListStyle::Query {
                self.param(name, "");
            }
            return self;
        }
        for (i, value) in values.iter().enumerate() {
            self.param(style.key(name, i + 1), value.as_ref());
        }
        self
    }

    /// Adds filters flattened in `style`: `{list}.N.Name` and
    /// `{list}.N.{values}.M` (EC2: `list` = `Filter`, `values` = `Value`;
    /// Auto Scaling: `Filters` and `Values`).
    pub fn filters(
        &mut self,
        style: ListStyle,
        list: &str,
        values: &str,
        filters: &[Filter],
    ) -> &mut Self {
        if filters.is_empty() {
            if style == ListStyle::Query {
                self.param(list, "");
            }
            return self;
        }
        for (i, filter) in filters.iter().enumerate() {
            let prefix = style.key(list, i + 1);
            self.param(format!("{prefix}.Name"), filter.name.as_str());
            self.list(style, &format!("{prefix}.{values}"), &filter.values);
        }
        self
    }

    /// The parameters in order, not encoded.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn encode(&self) -> String {
        let mut body = String::new();
        for (i, (name, value)) in self.params.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            body.push_str(&encode(name));
            body.push('=');
            body.push_str(&encode(value));
        }
        body
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED)
        .to_string()
        .replace(' ', "+")
}

/// A DescribeImages request (reference §2a). Build it with `..Default`;
/// the catalog always fills `owners` (`self` by default: without an owner
/// EC2 lists every public AMI too) and never sends `max_results` with
/// `image_ids`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeImages {
    /// `Owner.N`: account ids, `self`, `amazon`, `aws-marketplace`, ….
    pub owners: Vec<String>,
    /// `ImageId.N`.
    pub image_ids: Vec<String>,
    /// `ExecutableBy.N`.
    pub executable_users: Vec<String>,
    /// `Filter.N.Name` / `Filter.N.Value.M`.
    pub filters: Vec<Filter>,
    /// `IncludeDeprecated` (sent only when set).
    pub include_deprecated: Option<bool>,
    /// `IncludeDisabled` (sent only when set).
    pub include_disabled: Option<bool>,
    /// `MaxResults`.
    pub max_results: Option<u32>,
    /// `NextToken`, the previous page's `nextToken`.
    pub next_token: Option<String>,
}

impl DescribeImages {
    /// The request as an EC2 form. botocore sends the caller's order; this
    /// is the order of the reference's wire capture (lists, filters, flags,
    /// then paging), so the two bodies can be compared byte for byte.
    pub fn form(&self) -> Form {
        let style = ListStyle::Ec2;
        let mut form = Form::new("DescribeImages", EC2_VERSION);
        form.list(style, "ExecutableBy", &self.executable_users)
            .list(style, "ImageId", &self.image_ids)
            .list(style, "Owner", &self.owners)
            .filters(style, "Filter", "Value", &self.filters);
        if let Some(value) = self.include_deprecated {
            form.flag("IncludeDeprecated", value);
        }
        if let Some(value) = self.include_disabled {
            form.flag("IncludeDisabled", value);
        }
        if let Some(n) = self.max_results {
            form.param("MaxResults", n.to_string());
        }
        if let Some(token) = &self.next_token {
            form.param("NextToken", token.as_str());
        }
        form
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_wire_capture_is_reproduced() {
        // Reference §1b: botocore talking to moto, byte for byte.
        let request = DescribeImages {
            owners: vec!["self".into()],
            filters: vec![
                Filter::new("name", ["golden-*"]),
                Filter::new("tag:family", ["web", "api"]),
            ],
            include_deprecated: Some(true),
            max_results: Some(500),
            next_token: Some("tok".into()),
            ..DescribeImages::default()
        };
        assert_eq!(
            request.form().encode(),
            "Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=name\
             &Filter.1.Value.1=golden-%2A&Filter.2.Name=tag%3Afamily&Filter.2.Value.1=web\
             &Filter.2.Value.2=api&IncludeDeprecated=true&MaxResults=500&NextToken=tok"
        );
    }
}

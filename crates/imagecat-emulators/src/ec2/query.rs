//! The Query protocol's request side: the decoded `key=value` pairs of the
//! URL and the form body, EC2's flattened lists (`ImageId.1`,
//! `Filter.1.Name`, `Filter.1.Value.1`), Auto Scaling's (`Names.member.1`),
//! typed look-ups that answer EC2's validation errors, and the `*`/`?`
//! wildcards of EC2 filters.

use std::collections::BTreeMap;

/// An error answer: HTTP status, EC2 code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    /// A 400 with this code and message.
    pub(crate) fn bad(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// Any status.
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// `MissingParameter`, EC2's wording.
    pub(crate) fn missing(name: &str) -> Self {
        Self::bad(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// `InvalidParameterValue` for a value of `name`.
    pub(crate) fn invalid_value(name: &str, value: &str) -> Self {
        Self::bad(
            "InvalidParameterValue",
            format!("Value ({value}) for parameter {name} is invalid."),
        )
    }
}

/// The result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The decoded parameters of one request, in the order received.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// The pairs of the query string and then of the form body.
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        pairs.extend(
            url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        Params(pairs)
    }

    /// Every pair.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `MissingParameter`.
    pub(crate) fn required(&self, key: &str) -> ApiResult<&str> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing(key)),
        }
    }

    /// A boolean (`true`/`false`, any case); absent is `false`.
    pub(crate) fn flag(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::invalid_value(key, v)),
        }
    }

    /// An integer, if present.
    pub(crate) fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_value(key, v)),
        }
    }

    /// The sub-parameters of an indexed list: for `prefix` `Filter`, the
    /// pairs `Filter.2.Name=x` become `{2: [("Name", "x")]}` and a scalar
    /// `ImageId.1=y` becomes `{1: [("", "y")]}`; ordered by index.
    pub(crate) fn indexed(&self, prefix: &str) -> BTreeMap<u64, Params> {
        let mut out: BTreeMap<u64, Params> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let (index, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let Ok(index) = index.parse::<u64>() else {
                continue;
            };
            out.entry(index)
                .or_default()
                .0
                .push((tail.to_owned(), v.clone()));
        }
        out
    }

    /// An EC2 list of scalars: `prefix.1`, `prefix.2`, … in index order.
    pub(crate) fn list(&self, prefix: &str) -> Vec<String> {
        self.indexed(prefix)
            .into_values()
            .filter_map(|p| p.get("").map(str::to_owned))
            .collect()
    }

    /// A Query-protocol list of scalars: `prefix.member.1`, ….
    pub(crate) fn members(&self, prefix: &str) -> Vec<String> {
        self.list(&format!("{prefix}.member"))
    }

    /// The sub-structure under `prefix.` (`LaunchTemplateData.` → `ImageId`).
    pub(crate) fn nested(&self, prefix: &str) -> Params {
        Params(
            self.0
                .iter()
                .filter_map(|(k, v)| {
                    let tail = k.strip_prefix(prefix)?.strip_prefix('.')?;
                    Some((tail.to_owned(), v.clone()))
                })
                .collect(),
        )
    }

    /// EC2's filters: `Filter.N.Name` with `Filter.N.Value.M`.
    pub(crate) fn filters(&self) -> ApiResult<Vec<Filter>> {
        self.indexed("Filter")
            .into_values()
            .map(|p| {
                let name = p
                    .get("Name")
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| ApiError::missing("Filter.Name"))?
                    .to_owned();
                Ok(Filter {
                    name,
                    values: p.list("Value"),
                })
            })
            .collect()
    }
}

/// One EC2 filter: values OR'ed, filters AND'ed, each value a wildcard
/// pattern.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
}

impl Filter {
    /// Whether any of the values matches `text`.
    pub(crate) fn matches(&self, text: &str) -> bool {
        self.values.iter().any(|p| glob(p, text))
    }

    /// Whether any value matches any of `texts`.
    pub(crate) fn matches_any<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> bool {
        texts.into_iter().any(|t| self.matches(t))
    }
}

/// EC2's wildcards: `*` any run, `?` any one character, `\` escapes the
/// next character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        One,
        Any,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_ec2_documents_them() {
        assert!(glob("golden-*", "golden-web-01"));
        assert!(glob("web-0?.01", "web-03.01"));
        assert!(!glob("web-0?.01", "web-013.01"));
        assert!(glob("*", ""));
        assert!(!glob("a", "ab"));
        assert!(glob(r"a\*b", "a*b"));
        assert!(!glob(r"a\*b", "axb"));
        assert!(glob("2026-01-0*T*", "2026-01-03T10:00:00.000Z"));
    }

    #[test]
    fn lists_and_filters_flatten_as_ec2_and_query_do() {
        let p = Params::parse(
            Some("Action=DescribeImages"),
            b"ImageId.2=ami-b&ImageId.1=ami-a&Filter.1.Name=name&Filter.1.Value.1=x*&Filter.1.Value.2=y&Names.member.1=n",
        );
        assert_eq!(p.list("ImageId"), ["ami-a", "ami-b"]);
        assert_eq!(p.members("Names"), ["n"]);
        let f = p.filters().unwrap();
        assert_eq!(f[0].name, "name");
        assert_eq!(f[0].values, ["x*", "y"]);
        assert!(f[0].matches("xyz") && f[0].matches("y") && !f[0].matches("z"));
        assert_eq!(p.get("Action"), Some("DescribeImages"));
    }
}

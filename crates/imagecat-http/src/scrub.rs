//! The scrub set: every secret the process holds, and the forms a server
//! may echo it back in, removed from any text a server sent before it is
//! formatted anywhere (errors, logs at every level, retry warnings).
//!
//! Every [`SecretString`](crate::SecretString) registers its value when it
//! is made (a configured token or password, an application-credential
//! secret, a token a server issued at runtime), so no caller has to
//! remember. Covered forms of a value: as it is, JSON-escaped (once, and
//! twice: a request body quoted in a JSON string), HTML-escaped (of the
//! value and of its JSON form), percent-encoded (`%20` and `+` for spaces)
//! and base64 of the value alone. Not covered: base64 of a value inside a
//! longer encoded text (`user:pass` in a Basic header: no backend uses
//! one), other case or hash forms. Values shorter
//! than [`MIN_SCRUB_LEN`] bytes are not registered (they would redact
//! ordinary words). Each value stays registered for the life of the process.

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use imagecat_core::Error;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The shortest secret registered for scrubbing, in bytes.
pub const MIN_SCRUB_LEN: usize = 4;

#[derive(Default)]
struct ScrubSet {
    forms: Vec<String>,
    matcher: Option<AhoCorasick>,
}

static SCRUB_SET: RwLock<ScrubSet> = RwLock::new(ScrubSet {
    forms: Vec::new(),
    matcher: None,
});

/// Adds `secret`, in every form a server may echo it in, to the scrub set.
pub(crate) fn register(secret: &str) {
    if secret.len() < MIN_SCRUB_LEN {
        return;
    }
    let forms = encodings(secret);
    let mut set = SCRUB_SET.write().unwrap_or_else(PoisonError::into_inner);
    let before = set.forms.len();
    for form in forms {
        if !set.forms.contains(&form) {
            set.forms.push(form);
        }
    }
    if set.forms.len() != before {
        // Longest first, so a secret containing another is removed whole.
        set.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&set.forms)
            .ok();
    }
}

/// The forms of a secret a server may send back.
fn encodings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret);
    let percent = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let form = percent.replace("%20", "+");
    let base64 = base64::engine::general_purpose::STANDARD.encode(secret);
    // A request body quoted inside a JSON string, or in an HTML page.
    let json_twice = serde_json::to_string(json).unwrap_or_default();
    let json_twice = json_twice
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(json)
        .to_owned();
    let html_of_json = html_escape(json);
    let html = html_escape(secret);
    let mut forms = vec![
        secret.to_owned(),
        json.to_owned(),
        json_twice,
        html,
        html_of_json,
        percent,
        form,
    ];
    forms.push(base64.trim_end_matches('=').to_owned());
    forms.sort();
    forms.dedup();
    forms
}

/// `text` escaped for HTML.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `text` with every registered secret (in every covered form) replaced by
/// [`REDACTED`]; borrowed when there was none.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let set = SCRUB_SET.read().unwrap_or_else(PoisonError::into_inner);
    match &set.matcher {
        Some(matcher) if matcher.is_match(text) => {
            Cow::Owned(matcher.replace_all(text, &vec![REDACTED; set.forms.len()]))
        }
        _ => Cow::Borrowed(text),
    }
}

/// `error` with every text a server may have supplied (messages, codes,
/// snippets, markers) scrubbed.
pub fn scrub_error(error: Error) -> Error {
    error.map_text(|text| match scrub(text) {
        Cow::Borrowed(_) => None,
        Cow::Owned(clean) => Some(clean),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretString;

    #[test]
    fn every_covered_form_of_a_registered_secret_is_removed() {
        let _held = SecretString::new("pa ss\"w<rd>/é");
        let echoed = [
            r#"{"password":"pa ss\"w<rd>/é"}"#,
            "password=pa+ss%22w%3Crd%3E%2F%C3%A9",
            "pw: pa%20ss%22w%3Crd%3E%2F%C3%A9",
            "<p>pa ss&quot;w&lt;rd&gt;/é</p>",
            "Basic cGEgc3MidzxyZD4vw6k=",
            r#"{"message":"request was {\"password\":\"pa ss\\\"w<rd>/é\"}"}"#,
            "<pre>{&quot;password&quot;:&quot;pa ss\\&quot;w&lt;rd&gt;/é&quot;}</pre>",
        ];
        for text in echoed {
            let clean = scrub(text);
            assert!(clean.contains(REDACTED), "{text} -> {clean}");
            for leak in ["pa ss", "pa+ss", "pa%20ss", "cGEgc3Mid"] {
                assert!(!clean.contains(leak), "{text} -> {clean}");
            }
        }
        assert!(matches!(scrub("nothing secret"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_registered() {
        let _held = SecretString::new("abc");
        assert_eq!(scrub("abcdef"), "abcdef");
    }

    #[test]
    fn errors_are_scrubbed_in_every_text() {
        let _held = SecretString::new("tok-9f8e7d6c");
        let error = Error::invalid_response(
            imagecat_core::BackendKind::Toast,
            Some(500),
            None,
            "bad token tok-9f8e7d6c",
            r#"{"X-Auth-Token":"tok-9f8e7d6c"}"#,
        );
        let shown = scrub_error(error).to_string();
        assert!(!shown.contains("tok-9f8e7d6c"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 2, "{shown}");
    }

    #[test]
    fn a_decoder_error_kept_as_the_source_is_scrubbed_too() {
        let _held = SecretString::new("tok-5a4b3c2d");
        let response = crate::HttpResponse::from_body(
            imagecat_core::BackendKind::Glance,
            200,
            r#"["tok-5a4b3c2d"]"#,
        );
        let error = response.json::<Vec<u64>>().unwrap_err();
        let source = std::error::Error::source(&error).expect("the decode error is kept");
        assert!(source.to_string().contains("tok-5a4b3c2d"), "{source}");
        let error = scrub_error(error);
        let source = std::error::Error::source(&error).expect("a scrubbed source is kept");
        let everything = format!("{error} {error:?} {source}");
        assert!(!everything.contains("tok-5a4b3c2d"), "{everything}");
        assert!(source.to_string().contains(REDACTED), "{source}");
    }
}

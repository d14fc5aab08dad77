//! [`SecretString`]: a credential that never shows in Debug, logs or errors.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A token or password. `Debug` prints `[redacted]`, there is no `Display`,
/// and the value is only reachable through [`SecretString::expose_secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Box<str>);

impl SecretString {
    /// Wraps a secret and registers it in the scrub set, so that a server
    /// echoing it back never gets it printed ([`crate::scrub`]).
    pub fn new(secret: impl Into<String>) -> Self {
        let secret = secret.into();
        crate::scrub::register(&secret);
        SecretString(secret.into_boxed_str())
    }

    /// The secret itself: only for building the request that needs it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An HTTP header value holding the secret, marked sensitive so that
    /// HTTP libraries never print it.
    pub fn header_value(&self) -> Option<reqwest::header::HeaderValue> {
        let mut value = reqwest::header::HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let s = SecretString::new("hunter2-token");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(s.expose_secret(), "hunter2-token");
        let header = s.header_value().unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains("hunter2"));
    }
}

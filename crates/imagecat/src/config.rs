//! Named catalogs from a TOML file.
//!
//! ```toml
//! [catalogs.kr1]
//! url = "toast://api-compute.cloud.toast.com/compute?appkey=MY_APPKEY"
//! username = "me@example.com"
//! password = { env = "KR1_API_PASSWORD" }   # or password = "…"
//!
//! [catalogs.lab]
//! url = "dcmgr+http://10.0.0.5:9001/api/12.03?account=a-shpoolxx"
//! ```
//!
//! The file is `$IMAGECAT_CONFIG`, else `$XDG_CONFIG_HOME/imagecat/config.toml`,
//! else `~/.config/imagecat/config.toml`. Secrets are held as
//! [`SecretString`] and never shown, not even in parse errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imagecat_core::{DynImageCatalog, Error, ErrorKind, Result};
use imagecat_http::SecretString;
use serde::Deserialize;

use crate::open::{Credentials, OpenOptions, open_with};

/// A value given in the file, or the name of the environment variable holding it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretSource {
    /// The value itself.
    Value(SecretString),
    /// `{ env = "NAME" }`: read from this environment variable when opened.
    Env {
        /// The variable's name.
        env: String,
    },
}

impl SecretSource {
    fn resolve(&self, catalog: &str, field: &str) -> Result<SecretString> {
        match self {
            SecretSource::Value(v) => Ok(v.clone()),
            SecretSource::Env { env } => std::env::var(env).map(SecretString::new).map_err(|_| {
                Error::config(
                    None,
                    format!("catalog {catalog:?}: {field} names the environment variable {env}, which is not set"),
                )
            }),
        }
    }
}

/// One named catalog: a URL plus credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogEntry {
    /// The catalog URL (see [`crate::open`]).
    pub url: String,
    /// A static token.
    pub token: Option<SecretSource>,
    /// A user name for a token exchange.
    pub username: Option<SecretSource>,
    /// An API password for a token exchange.
    pub password: Option<SecretSource>,
}

/// The parsed config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The named catalogs.
    #[serde(default)]
    pub catalogs: BTreeMap<String, CatalogEntry>,
    /// Where the file was read from, if anywhere.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl Config {
    /// Parses TOML text. Errors give the line, never the offending text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
            // The TOML error is not kept as the source: it quotes the text.
            Error::config(None, format!("invalid config file{at}: {}", e.message()))
        })
    }

    /// Reads a config file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                None,
                format!("cannot read config file {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let mut config = Self::from_toml(&text).map_err(|e| match e.kind() {
            ErrorKind::Config => e.map_message(|m| format!("{}: {m}", path.display())),
            _ => e,
        })?;
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// Reads `$IMAGECAT_CONFIG` (which must exist when set), else the default
    /// path if it exists, else an empty config.
    pub fn load() -> Result<Self> {
        if let Some(path) = std::env::var_os("IMAGECAT_CONFIG") {
            return Self::from_path(Path::new(&path));
        }
        match default_path() {
            Some(path) if path.exists() => Self::from_path(&path),
            _ => Ok(Self::default()),
        }
    }

    /// Opens a catalog by name, or, when `name_or_url` holds a `:`, by URL.
    pub fn open(&self, name_or_url: &str) -> Result<DynImageCatalog> {
        self.open_with(name_or_url, &OpenOptions::default())
    }

    /// The options a named entry opens with: `options` with the entry's
    /// credentials (unchanged for a name the file does not hold).
    pub(crate) fn options_of(&self, name: &str, options: &OpenOptions) -> Result<OpenOptions> {
        let mut options = options.clone();
        if let Some(entry) = self.catalogs.get(name) {
            options.credentials = entry.credentials(name)?;
        }
        Ok(options)
    }

    /// Like [`Config::open`], with client options (credentials come from the file).
    pub fn open_with(&self, name_or_url: &str, options: &OpenOptions) -> Result<DynImageCatalog> {
        if let Some(entry) = self.catalogs.get(name_or_url) {
            return open_with(&entry.url, &self.options_of(name_or_url, options)?);
        }
        if name_or_url.contains(':') {
            return open_with(name_or_url, options);
        }
        let known: Vec<&str> = self.catalogs.keys().map(String::as_str).collect();
        let source = self
            .path
            .as_ref()
            .map(|p| format!(" in {}", p.display()))
            .unwrap_or_else(|| " (no config file found)".to_owned());
        Err(Error::config(
            None,
            format!(
                "no catalog named {name_or_url:?}{source}; known names: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }
}

impl CatalogEntry {
    fn credentials(&self, name: &str) -> Result<Credentials> {
        let mut creds = Credentials::none();
        if let Some(t) = &self.token {
            creds.token = Some(t.resolve(name, "token")?);
        }
        if let Some(u) = &self.username {
            creds.username = Some(u.resolve(name, "username")?.expose_secret().to_owned());
        }
        if let Some(p) = &self.password {
            creds.password = Some(p.resolve(name, "password")?);
        }
        Ok(creds)
    }
}

/// `$XDG_CONFIG_HOME/imagecat/config.toml`, else `~/.config/imagecat/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("imagecat").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn parses_values_and_env_names() {
        let c = Config::from_toml(
            r#"
            [catalogs.a]
            url = "memory:"
            token = "s3cr3t-value"
            [catalogs.b]
            url = "memory:?images=2"
            password = { env = "SOME_VAR" }
            "#,
        )
        .unwrap();
        assert_eq!(c.catalogs.len(), 2);
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        assert!(c.open("a").is_ok());
        assert_eq!(c.open("nope").unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn parse_errors_do_not_echo_secrets() {
        let e = Config::from_toml("[catalogs.a]\nurl = \"memory:\"\ntoken = [\"s3cr3t-value\"\n")
            .unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = Config::from_toml("[catalogs.a]\nurl = \"memory:\"\ntokn = \"s3cr3t-value\"\n")
            .unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(e.to_string().contains("line"), "{e}");
    }
}

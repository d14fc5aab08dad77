//! `imagecat config show`: the config file's path and its catalogs as
//! resolved, secrets redacted (a secret is only said to be set, and where
//! from; URL passwords and secret-looking query values are masked).

use std::io::{self, Write};

use imagecat::{Config, SecretSource};
use serde::Serialize;

use crate::cli::Format;
use crate::exit::CliError;
use crate::output::write_columns;
use crate::sanitize;

/// What stands for a secret.
const REDACTED: &str = "<redacted>";

/// One catalog of the file, as printed.
#[derive(Debug, Serialize)]
struct Shown {
    name: String,
    url: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Where a secret comes from, never its value: `<redacted>` for a value in
/// the file, `env NAME (set|not set)` for a variable.
fn source(secret: &Option<SecretSource>) -> Option<String> {
    secret.as_ref().map(|s| match s {
        SecretSource::Value(_) => REDACTED.to_owned(),
        SecretSource::Env { env } => {
            let set = std::env::var_os(env).is_some();
            format!("env {env} ({})", if set { "set" } else { "not set" })
        }
    })
}

/// Whether a query parameter looks like it holds a secret.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["token", "password", "secret", "key", "credential"]
        .iter()
        .any(|s| key.contains(s))
}

/// The URL with its password and secret-looking query values masked.
fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return REDACTED.to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret_key(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Runs `config show`.
pub(crate) fn run(format: Format) -> Result<(), CliError> {
    let config = Config::load().map_err(|e| CliError::from_error(None, e))?;
    let path = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .or_else(|| imagecat::default_path().map(|p| format!("{} (not found)", p.display())))
        .unwrap_or_else(|| "none (no HOME)".to_owned());
    let shown: Vec<Shown> = config
        .catalogs
        .iter()
        .map(|(name, entry)| Shown {
            name: name.clone(),
            url: redact_url(&entry.url),
            token: source(&entry.token),
            username: source(&entry.username),
            password: source(&entry.password),
        })
        .collect();
    let mut out = io::stdout().lock();
    match format {
        Format::Json | Format::Ndjson => {
            let doc = serde_json::json!({ "path": path, "catalogs": shown });
            serde_json::to_writer_pretty(&mut out, &doc).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        Format::Yaml => {
            let doc = serde_json::json!({ "path": path, "catalogs": shown });
            serde_norway::to_writer(&mut out, &doc).map_err(io::Error::other)?;
        }
        Format::Table | Format::Csv | Format::Value => {
            writeln!(out, "config file: {}", sanitize::for_terminal(&path))?;
            let header: Vec<String> = ["NAME", "URL", "TOKEN", "USERNAME", "PASSWORD"]
                .into_iter()
                .map(str::to_owned)
                .collect();
            let rows = shown.iter().map(|s| {
                [
                    &Some(s.name.clone()),
                    &Some(s.url.clone()),
                    &s.token,
                    &s.username,
                    &s.password,
                ]
                .iter()
                .map(|v| sanitize::cell(v.as_deref().unwrap_or("-"), sanitize::SHOW_VALUE_WIDTH))
                .collect()
            });
            if !shown.is_empty() {
                write_columns(&mut out, &header, rows)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_passwords_and_secret_query_values() {
        assert_eq!(
            redact_url("toast://api.example/compute?appkey=K1&region=kr1&token=T"),
            "toast://api.example/compute?appkey=%3Credacted%3E&region=kr1&token=%3Credacted%3E"
        );
        let shown = redact_url("glance+http://me:hunter2@10.0.0.1:9292/");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(redact_url("not a url"), REDACTED);
    }
}

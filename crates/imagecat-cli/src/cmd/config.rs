//! `imagecat config show`: the config file's path and its catalogs as
//! resolved, secrets redacted (a secret is only said to be set, and where
//! from; URL passwords and secret-looking query values are masked).

use std::io::{self, Write};

use clap::Subcommand;
use imagecat::{Config, SecretSource};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::{Column, EmptyTable, Format, Style, Tabular, emit, emit_document};
use crate::sanitize::{self, SHOW_VALUE_WIDTH};
use crate::session::Session;

/// `imagecat config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the config file's path and its catalogs, secrets redacted.
    Show,
}

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

fn or_dash(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

impl Tabular for Shown {
    type Line = Shown;
    const COLUMNS: &'static [Column<Shown>] = &[
        Column::new("name", "NAME", |s| s.name.clone()),
        Column::new("url", "URL", |s| s.url.clone()),
        Column::new("token", "TOKEN", |s| or_dash(&s.token)),
        Column::new("username", "USERNAME", |s| or_dash(&s.username)),
        Column::new("password", "PASSWORD", |s| or_dash(&s.password)),
    ];
    const STYLE: Style = Style {
        cell_width: SHOW_VALUE_WIDTH,
        empty_table: EmptyTable::Nothing,
        ..Style::of("config catalogs")
    };
    fn each_line(&self, each: &mut dyn FnMut(&Shown)) {
        each(self);
    }
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

/// Runs `config show`: the file and its catalogs as a document in json
/// and yaml, the path then the catalogs' table for people, the catalogs'
/// rows in csv and value.
pub(crate) async fn run(session: &Session, command: ConfigCommand) -> Result<(), CliError> {
    let ConfigCommand::Show = command;
    session.check::<Shown>()?;
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
    let doc = serde_json::json!({ "path": path, "catalogs": shown });
    if emit_document(&mut out, session.format(), &doc)? {
        return Ok(());
    }
    if session.format() == Format::Table {
        writeln!(out, "config file: {}", sanitize::for_terminal(&path))?;
    }
    emit(&mut out, &session.view(false), shown)
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

//! The shared `config` and `credentials` files: their INI dialect, and one
//! profile read from both.
//!
//! The dialect is botocore's (Python's `RawConfigParser`, strict): `[section]`
//! headers; `key = value` or `key: value` (the first `=` or `:` splits;
//! names are lower-cased, both sides trimmed, no inline comments); lines
//! starting with `#` or `;` are comments; an indented line continues the
//! value before it (the nested `s3 =` settings); a key before any section,
//! a line that is none of these, a repeated section or a repeated key in
//! one section is an error. In the config file a profile is
//! `[profile NAME]` (or `[default]`); in the credentials file it is
//! `[NAME]`. Where both files set a key, the credentials file wins.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use imagecat_core::{Error, Result};
use imagecat_http::SecretString;

use super::{Credentials, Env, Source};
use crate::config::BACKEND;

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `AWS_CONFIG_FILE`, `~/.aws/config`.
    Config,
    /// `AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`.
    Credentials,
}

/// One parsed file: its path and its sections in file order.
#[derive(Clone, Default)]
struct IniFile {
    path: Option<PathBuf>,
    sections: Vec<(String, BTreeMap<String, String>)>,
}

/// Both files, read once. `Debug` shows the paths and section names only.
#[derive(Clone)]
pub struct ProfileFiles {
    config: IniFile,
    credentials: IniFile,
}

impl std::fmt::Debug for ProfileFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |file: &IniFile| {
            file.sections
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
        };
        f.debug_struct("ProfileFiles")
            .field("config", &self.config.path)
            .field("config_sections", &names(&self.config))
            .field("credentials", &self.credentials.path)
            .field("credentials_sections", &names(&self.credentials))
            .finish()
    }
}

impl ProfileFiles {
    /// Reads both files where `env` says they are. A missing file (or no
    /// home directory to find it in) is empty; an unreadable or malformed
    /// one is a `Config` error naming it.
    pub fn load(env: &Env) -> Result<Self> {
        Ok(ProfileFiles {
            config: IniFile::load(env.aws_file("AWS_CONFIG_FILE", "config"))?,
            credentials: IniFile::load(env.aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"))?,
        })
    }

    /// Both files from text (tests, tools that hold the text already).
    pub fn parse(config: &str, credentials: &str) -> Result<Self> {
        Ok(ProfileFiles {
            config: IniFile::parse(config, None)?,
            credentials: IniFile::parse(credentials, None)?,
        })
    }

    /// The profile `name` as both files define it, `None` when neither has it.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let config = self
            .config
            .sections
            .iter()
            .filter(|(section, _)| config_profile_name(section) == Some(name))
            .fold(None, |_, (_, keys)| Some(keys.clone()));
        let credentials = self
            .credentials
            .sections
            .iter()
            .find(|(section, _)| section == name)
            .map(|(_, keys)| keys.clone());
        if config.is_none() && credentials.is_none() {
            return None;
        }
        Some(Profile {
            name: name.to_owned(),
            config: config.unwrap_or_default(),
            credentials: credentials.unwrap_or_default(),
            config_path: self.config_path_display(),
            credentials_path: self.credentials_path_display(),
        })
    }

    /// The keys of the config file's `[sso-session NAME]` section.
    pub fn sso_session(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.config
            .sections
            .iter()
            .find(|(section, _)| {
                section
                    .strip_prefix("sso-session")
                    .is_some_and(|rest| rest.starts_with([' ', '\t']) && rest.trim() == name)
            })
            .map(|(_, keys)| keys)
    }

    /// How errors name the config file.
    pub(super) fn config_path_display(&self) -> String {
        display_path(self.config.path.as_deref(), "the AWS config file")
    }

    /// How errors name the credentials file.
    pub(super) fn credentials_path_display(&self) -> String {
        display_path(self.credentials.path.as_deref(), "the AWS credentials file")
    }
}

fn display_path(path: Option<&Path>, fallback: &str) -> String {
    path.map_or_else(|| fallback.to_owned(), |p| p.display().to_string())
}

/// The profile a config-file section defines: `[default]`,
/// `[profile NAME]`; other sections (`sso-session`, `services`, …) none.
fn config_profile_name(section: &str) -> Option<&str> {
    if section == "default" {
        return Some("default");
    }
    let rest = section.strip_prefix("profile")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let name = rest.trim();
    (!name.is_empty()).then_some(name)
}

/// One profile: its keys in the config file and in the credentials file.
/// `Debug` shows the key names only.
#[derive(Clone)]
pub struct Profile {
    name: String,
    config: BTreeMap<String, String>,
    credentials: BTreeMap<String, String>,
    config_path: String,
    credentials_path: String,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .field(
                "credentials_keys",
                &self.credentials.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Profile {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A key's value (empty counts as unset) and the file that set it; the
    /// credentials file wins.
    pub fn get(&self, key: &str) -> Option<(&str, FileKind)> {
        fn non_empty<'a>(map: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
            map.get(key).map(String::as_str).filter(|v| !v.is_empty())
        }
        non_empty(&self.credentials, key)
            .map(|v| (v, FileKind::Credentials))
            .or_else(|| non_empty(&self.config, key).map(|v| (v, FileKind::Config)))
    }

    fn path(&self, kind: FileKind) -> &str {
        match kind {
            FileKind::Config => &self.config_path,
            FileKind::Credentials => &self.credentials_path,
        }
    }

    /// `aws_access_key_id`, `aws_secret_access_key` and
    /// `aws_session_token` (or `aws_security_token`) from one file:
    /// `None` without a key id, an error with a key id but no secret.
    pub(super) fn static_keys(&self, kind: FileKind) -> Result<Option<Credentials>> {
        let map = match kind {
            FileKind::Config => &self.config,
            FileKind::Credentials => &self.credentials,
        };
        let get = |key: &str| map.get(key).map(String::as_str).filter(|v| !v.is_empty());
        let Some(access_key_id) = get("aws_access_key_id") else {
            return Ok(None);
        };
        let Some(secret) = get("aws_secret_access_key") else {
            return Err(Error::config(
                Some(BACKEND),
                format!(
                    "the AWS profile '{}' in {} has aws_access_key_id but no aws_secret_access_key",
                    self.name,
                    self.path(kind)
                ),
            )
            .with_context("profile", self.name.clone())
            .with_context("file", self.path(kind).to_owned()));
        };
        let token = get("aws_session_token")
            .or_else(|| get("aws_security_token"))
            .map(SecretString::new);
        let source = match kind {
            FileKind::Config => Source::ConfigFile,
            FileKind::Credentials => Source::SharedCredentialsFile,
        };
        Ok(Some(
            Credentials::new(access_key_id, SecretString::new(secret), token, None)
                .with_source(source),
        ))
    }
}

impl IniFile {
    fn load(path: Option<PathBuf>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(IniFile::default());
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(IniFile {
                    path: Some(path),
                    sections: Vec::new(),
                });
            }
            Err(e) => {
                return Err(Error::config(
                    Some(BACKEND),
                    format!("cannot read {}: {e}", path.display()),
                )
                .with_context("file", path.display().to_string())
                .with_source(e));
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(file_error(Some(&path), None, "is not UTF-8"));
        };
        IniFile::parse(&text, Some(path))
    }

    fn parse(text: &str, path: Option<PathBuf>) -> Result<Self> {
        let mut sections: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        // The key the previous line set, for continuation lines.
        let mut last_key: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            let indented = line.starts_with([' ', '\t']);
            if indented {
                if let (Some(key), Some((_, keys))) = (&last_key, sections.last_mut()) {
                    if let Some(value) = keys.get_mut(key) {
                        value.push('\n');
                        value.push_str(trimmed);
                        continue;
                    }
                }
            }
            if let Some(header) = trimmed.strip_prefix('[') {
                let Some(name) = header.strip_suffix(']').map(str::trim) else {
                    return Err(file_error(
                        path.as_deref(),
                        Some(number),
                        "has a [section without its ]",
                    ));
                };
                if name.is_empty() {
                    return Err(file_error(
                        path.as_deref(),
                        Some(number),
                        "has an empty [section] name",
                    ));
                }
                if sections.iter().any(|(n, _)| n == name) {
                    return Err(file_error(
                        path.as_deref(),
                        Some(number),
                        &format!("repeats the section [{name}]"),
                    ));
                }
                sections.push((name.to_owned(), BTreeMap::new()));
                last_key = None;
                continue;
            }
            let Some(split) = trimmed.find(['=', ':']) else {
                return Err(file_error(
                    path.as_deref(),
                    Some(number),
                    "is neither a [section] nor a key = value line",
                ));
            };
            let key = trimmed[..split].trim().to_ascii_lowercase();
            let value = trimmed[split + 1..].trim().to_owned();
            if key.is_empty() {
                return Err(file_error(
                    path.as_deref(),
                    Some(number),
                    "has a value without a key",
                ));
            }
            let Some((section, keys)) = sections.last_mut() else {
                return Err(file_error(
                    path.as_deref(),
                    Some(number),
                    "has a key before any [section]",
                ));
            };
            if keys.contains_key(&key) {
                return Err(file_error(
                    path.as_deref(),
                    Some(number),
                    &format!("repeats the key '{key}' in [{section}]"),
                ));
            }
            keys.insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(IniFile { path, sections })
    }
}

/// A `Config` error about a file: its path and line number and what is
/// wrong, never the line itself (it may hold a secret).
fn file_error(path: Option<&Path>, line: Option<usize>, what: &str) -> Error {
    let name = display_path(path, "the AWS file");
    let message = match line {
        Some(line) => format!("{name}: line {line} {what}"),
        None => format!("{name} {what}"),
    };
    let error = Error::config(Some(BACKEND), message).with_context("file", name);
    match line {
        Some(line) => error.with_context("line", line.to_string()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_credentials_name_profiles_differently() {
        let files = ProfileFiles::parse(
            "[default]\nregion = eu-west-1\n[profile dev]\nregion=us-east-1\n[sso-session corp]\nsso_region = x\n[profile default]\noutput = json\n",
            "[dev]\naws_access_key_id = AKIDDEV\n[profile prod]\naws_access_key_id = AKIDPROD\n",
        )
        .unwrap();
        let dev = files.profile("dev").unwrap();
        assert_eq!(dev.get("region"), Some(("us-east-1", FileKind::Config)));
        assert_eq!(
            dev.get("aws_access_key_id"),
            Some(("AKIDDEV", FileKind::Credentials))
        );
        // `[profile prod]` in the credentials file is the profile "profile prod"
        assert!(files.profile("prod").is_none());
        assert!(files.profile("profile prod").is_some());
        // sections that are not profiles define none
        assert!(files.profile("corp").is_none());
        // `[profile default]`, later, wins over `[default]`
        let default = files.profile("default").unwrap();
        assert_eq!(default.get("output"), Some(("json", FileKind::Config)));
        assert_eq!(default.get("region"), None);
    }

    #[test]
    fn the_dialect_is_botocores() {
        let files = ProfileFiles::parse(
            "# comment\n; another\n[profile a]\nRegion : us-west-2\ns3 =\n  max_concurrent_requests = 10\ncredential_process = /bin/x --y=1 # not a comment\n",
            "",
        )
        .unwrap();
        let a = files.profile("a").unwrap();
        assert_eq!(a.get("region").unwrap().0, "us-west-2");
        assert_eq!(a.get("s3").unwrap().0, "\nmax_concurrent_requests = 10");
        assert_eq!(
            a.get("credential_process").unwrap().0,
            "/bin/x --y=1 # not a comment"
        );
    }

    #[test]
    fn malformed_files_are_config_errors_naming_the_line_not_its_text() {
        for (text, says) in [
            (
                "aws_secret_access_key = s3cr3t-in-line\n",
                "line 1 has a key before any [section]",
            ),
            (
                "[default]\nthis line s3cr3t-in-line\n",
                "line 2 is neither a [section] nor a key = value line",
            ),
            (
                "[default\naws_secret_access_key = s3cr3t-in-line\n",
                "line 1 has a [section without its ]",
            ),
            ("[a]\n[a]\n", "line 2 repeats the section [a]"),
            (
                "[a]\nx = s3cr3t-in-line\nX = 2\n",
                "line 3 repeats the key 'x' in [a]",
            ),
            (
                "[a]\n = s3cr3t-in-line\n",
                "line 2 has a value without a key",
            ),
        ] {
            let error = ProfileFiles::parse("", text).unwrap_err();
            let shown = format!("{error} {error:?}");
            assert_eq!(error.kind(), imagecat_core::ErrorKind::Config, "{shown}");
            assert_eq!(error.backend(), Some(BACKEND), "{shown}");
            assert!(shown.contains(says), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
}

//! AWS credentials: the [`CredentialProvider`] trait, and the
//! [`CredentialChain`] that finds them as the AWS CLI does.
//!
//! A provider answers [`Credentials`]: the access key id, the secret
//! access key, an optional session token and an optional expiry. Library
//! users may bring their own (an `aws-config` provider behind a small
//! adapter, a vault lookup) as `Arc<dyn CredentialProvider>`.
//!
//! The chain reads nothing from the process itself: it is given an [`Env`]
//! (a snapshot of the variables it reads, [`Env::from_process`] for the
//! real one), so tests pass their own and never mutate the process
//! environment. Its order is botocore's (`create_credential_resolver`):
//!
//! | # | source | state |
//! |---|---|---|
//! | 1 | environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (skipped when a profile is named explicitly, [`CredentialChain::with_profile`], as `--profile` does; `AWS_PROFILE` does not skip it) | done |
//! | 2 | the profile's `role_arn` (STS AssumeRole, with `source_profile` or `credential_source`) | **later**: refused as `NotSupported` |
//! | 3 | web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or the profile's `web_identity_token_file` | **later**: refused as `NotSupported` |
//! | 4 | SSO (`sso_session`, `sso_start_url`) | **later**: refused as `NotSupported` |
//! | 5 | the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`): `[name]` sections | done |
//! | 6 | `credential_process` (in either file; the JSON `Version: 1` document, with `Expiration`) | done |
//! | 7 | keys in the config file (`AWS_CONFIG_FILE`, `~/.aws/config`): `[profile name]` and `[default]` | done |
//! | 8 | ECS/EKS container credentials (`AWS_CONTAINER_CREDENTIALS_*`) | **later** |
//! | 9 | IMDSv2 (unless `AWS_EC2_METADATA_DISABLED=true`) | **later** |
//!
//! The profile is the explicit one, else `AWS_PROFILE`, else
//! `AWS_DEFAULT_PROFILE`, else `default`. A profile that was named and is
//! in neither file is a `Config` error; the `default` profile may be
//! missing. Missing files are empty, as for the CLI.
//!
//! How the later sources slot in: each is one variant of [`Source`] and
//! one step in [`CredentialChain::resolve`], in the place of the table
//! above; the ones that call a service (STS, the container and IMDS
//! endpoints) take the same `imagecat_http::HttpClient` as the catalog
//! and return credentials with an expiry. A provider only fetches: caching
//! and the refresh before expiry are meant to be the shared token
//! machinery's (imagecat-http's token cache behind `TokenSource`: renewal
//! before expiry, single flight), with a `Grant` whose `Issued` carries the
//! [`Credentials`]; that needs imagecat-http to let a grant sign each
//! request instead of setting one header, which is the catalog's step.
//!
//! Every error names the backend `ec2`, the source, the file and the
//! profile, never a value read from a file or a command (a malformed line
//! is named by its number only).

mod env;
mod process;
mod profile;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::SecretString;

use crate::config::BACKEND;

pub use profile::{Profile, ProfileFiles};

/// One set of AWS credentials. `Debug` shows the access key id (an
/// identifier, printed by the AWS tools too) and never the secret or the
/// token.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    expiry: Option<DateTime<Utc>>,
    source: Source,
}

impl Credentials {
    /// Credentials from their parts, [`Source::Custom`].
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
        expiry: Option<DateTime<Utc>>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token: session_token.filter(|t| !t.is_empty()),
            expiry,
            source: Source::Custom,
        }
    }

    /// The same credentials, saying where they came from.
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// The access key id (`AKIA…`, `ASIA…` for session credentials).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }

    /// The session token of temporary credentials.
    pub fn session_token(&self) -> Option<&SecretString> {
        self.session_token.as_ref()
    }

    /// When temporary credentials expire.
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.expiry
    }

    /// Where they came from.
    pub fn source(&self) -> Source {
        self.source
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiry", &self.expiry)
            .field("source", &self.source)
            .finish()
    }
}

/// Where a set of credentials came from (the chain's steps, and a
/// provider of the user's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// `aws_access_key_id` in the shared credentials file.
    SharedCredentialsFile,
    /// The profile's `credential_process`.
    CredentialProcess,
    /// `aws_access_key_id` in the config file.
    ConfigFile,
    /// A provider of the library user's, or [`Credentials::new`].
    Custom,
}

impl Source {
    /// How errors and logs name the source.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Environment => "environment",
            Source::SharedCredentialsFile => "shared credentials file",
            Source::CredentialProcess => "credential_process",
            Source::ConfigFile => "config file",
            Source::Custom => "custom provider",
        }
    }
}

/// Where the EC2 backend gets its credentials: implement it to bring
/// your own. `credentials` is called whenever credentials are needed
/// (the caching and refreshing before [`Credentials::expiry`] are the
/// caller's), so it may fetch every time.
#[async_trait]
pub trait CredentialProvider: Send + Sync + fmt::Debug {
    /// Credentials, or a typed error (`Unauthenticated` when none are
    /// found, `Config` when a source is misconfigured).
    async fn credentials(&self) -> Result<Credentials>;
}

/// Fixed credentials (tests, or keys the caller already holds).
#[derive(Debug, Clone)]
pub struct StaticProvider(Credentials);

impl StaticProvider {
    /// A provider that always answers `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        StaticProvider(credentials)
    }
}

#[async_trait]
impl CredentialProvider for StaticProvider {
    async fn credentials(&self) -> Result<Credentials> {
        Ok(self.0.clone())
    }
}

#[async_trait]
impl<P: CredentialProvider + ?Sized> CredentialProvider for Arc<P> {
    async fn credentials(&self) -> Result<Credentials> {
        (**self).credentials().await
    }
}

/// The environment variables the chain reads, given explicitly. `Debug`
/// lists the names only. An empty value counts as unset, as for the CLI.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process's environment, read once now.
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment of exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable, `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every variable, for a child process (`credential_process`).
    fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.vars.iter()
    }

    /// The home directory: `HOME`, else `USERPROFILE`, else
    /// `HOMEDRIVE` + `HOMEPATH` (Windows).
    fn home(&self) -> Option<PathBuf> {
        if let Some(home) = self.get("HOME").or_else(|| self.get("USERPROFILE")) {
            return Some(PathBuf::from(home));
        }
        match (self.get("HOMEDRIVE"), self.get("HOMEPATH")) {
            (Some(drive), Some(path)) => Some(PathBuf::from(format!("{drive}{path}"))),
            _ => None,
        }
    }

    /// A file named by `variable`, else `~/.aws/<default>`; `~/` at the
    /// start of the variable's value is the home directory.
    fn aws_file(&self, variable: &str, default: &str) -> Option<PathBuf> {
        match self.get(variable) {
            Some(path) => match path.strip_prefix("~/").or(path.strip_prefix("~\\")) {
                Some(rest) => self.home().map(|home| home.join(rest)),
                None => Some(PathBuf::from(path)),
            },
            None => self.home().map(|home| home.join(".aws").join(default)),
        }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// The credential chain of the AWS CLI (see the module docs for its
/// order and what is not there yet).
#[derive(Debug, Clone)]
pub struct CredentialChain {
    env: Env,
    profile: Option<String>,
}

impl CredentialChain {
    /// The chain over these environment variables.
    pub fn new(env: Env) -> Self {
        CredentialChain { env, profile: None }
    }

    /// The chain over the process's environment.
    pub fn from_process_env() -> Self {
        CredentialChain::new(Env::from_process())
    }

    /// Names the profile explicitly (a URL's `?profile=`, `--profile`):
    /// it wins over `AWS_PROFILE`, and the environment's keys are not
    /// read, as for the CLI.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// The profile the chain reads: the explicit one, `AWS_PROFILE`,
    /// `AWS_DEFAULT_PROFILE`, else `default`; and whether it was named.
    pub fn profile_name(&self) -> (&str, bool) {
        match self
            .profile
            .as_deref()
            .or_else(|| self.env.get("AWS_PROFILE"))
            .or_else(|| self.env.get("AWS_DEFAULT_PROFILE"))
        {
            Some(name) => (name, true),
            None => ("default", false),
        }
    }

    /// Walks the chain: the first source that has credentials answers; a
    /// misconfigured source stops the walk with its error.
    pub async fn resolve(&self) -> Result<Credentials> {
        if self.profile.is_none() {
            if let Some(credentials) = env::from_env(&self.env)? {
                return Ok(credentials);
            }
        }
        let (name, named) = self.profile_name();
        let files = ProfileFiles::load(&self.env)?;
        let profile = files.profile(name);
        if profile.is_none() && named {
            return Err(Error::config(
                Some(BACKEND),
                format!(
                    "the AWS profile '{name}' is in neither {} nor {}",
                    files.config_path_display(),
                    files.credentials_path_display()
                ),
            )
            .with_context("profile", name));
        }
        if let Some(profile) = &profile {
            profile.refuse_unsupported()?;
        }
        // The web-identity variables are environment too: an explicit
        // profile skips them, as botocore's `disable_env_vars` does.
        if self.profile.is_none()
            && self.env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
            && self.env.get("AWS_ROLE_ARN").is_some()
        {
            return Err(not_supported(
                "web identity credentials (AWS_WEB_IDENTITY_TOKEN_FILE) are not supported yet",
            ));
        }
        if let Some(profile) = &profile {
            if let Some(credentials) = profile.static_keys(profile::FileKind::Credentials)? {
                return Ok(credentials);
            }
            if let Some((command, file)) = profile.get("credential_process") {
                return process::run(command, &self.env, name, file).await;
            }
            if let Some(credentials) = profile.static_keys(profile::FileKind::Config)? {
                return Ok(credentials);
            }
        }
        Err(Error::new(
            ErrorKind::Unauthenticated,
            format!(
                "no AWS credentials found for profile '{name}': looked in the environment \
                 (AWS_ACCESS_KEY_ID), {} and {}; container and instance-metadata \
                 credentials are not supported yet",
                files.credentials_path_display(),
                files.config_path_display()
            ),
        )
        .with_backend(BACKEND))
    }
}

#[async_trait]
impl CredentialProvider for CredentialChain {
    async fn credentials(&self) -> Result<Credentials> {
        self.resolve().await
    }
}

/// A `NotSupported` error naming the backend.
fn not_supported(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotSupported, message).with_backend(BACKEND)
}

//! AWS credentials: the [`CredentialProvider`] trait, and the
//! [`CredentialChain`] that finds them as the AWS CLI does.
//!
//! A provider answers [`Credentials`]: the access key id, the secret
//! access key, an optional session token and an optional expiry. Library
//! users may bring their own (an `aws-config` provider behind a small
//! adapter, a vault lookup) as `Arc<dyn CredentialProvider>`; the catalog
//! caches what any provider answers and asks again before it expires
//! ([`RefreshingProvider`], on the shared token machinery of
//! imagecat-http).
//!
//! The chain reads nothing from the process itself: it is given an [`Env`]
//! (a snapshot of the variables it reads, [`Env::from_process`] for the
//! real one), so tests pass their own and never mutate the process
//! environment. Its order is botocore's (`create_credential_resolver`):
//!
//! | # | source | reads |
//! |---|---|---|
//! | 1 | environment | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (skipped when a profile is named explicitly, [`CredentialChain::with_profile`], as `--profile` does; `AWS_PROFILE` does not skip it) |
//! | 2 | assume role | the profile's `role_arn` with `source_profile` (chained profiles, loop-guarded) or `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`); `role_session_name`, `external_id`, `duration_seconds` → STS `AssumeRole` signed with the source's credentials |
//! | 3 | web identity | `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` [+ `AWS_ROLE_SESSION_NAME`] (not with an explicit profile), or the profile's `web_identity_token_file` + `role_arn` → STS `AssumeRoleWithWebIdentity`, unsigned |
//! | 4 | IAM Identity Center (SSO) | `sso_session` (its `[sso-session NAME]` section) or the legacy `sso_start_url`/`sso_region`, with `sso_account_id` and `sso_role_name` → the token the AWS CLI cached at `~/.aws/sso/cache/SHA1.json` → the portal's `GetRoleCredentials` |
//! | 5 | the shared credentials file | `AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`: `[name]` sections |
//! | 6 | `credential_process` | in either file; the JSON `Version: 1` document, with `Expiration` |
//! | 7 | keys in the config file | `AWS_CONFIG_FILE`, `~/.aws/config`: `[profile name]` and `[default]` |
//! | 8 | ECS/EKS container credentials | `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `169.254.170.2`) or `…_FULL_URI` (HTTPS, or HTTP to a loopback or the container hosts only), `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]` |
//! | 9 | IMDSv2 | the token `PUT`, the role name, its credentials (`AWS_EC2_METADATA_DISABLED=true` skips it, `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it) |
//!
//! The profile is the explicit one, else `AWS_PROFILE`, else
//! `AWS_DEFAULT_PROFILE`, else `default`. A profile that was named and is
//! in neither file is a `Config` error; the `default` profile may be
//! missing. Missing files are empty, as for the CLI.
//!
//! Every endpoint a source calls can be moved ([`ChainEndpoints`]) so tests
//! serve it: STS (by default `AWS_ENDPOINT_URL_STS`, else the regional
//! endpoint; the catalog passes its own, see
//! [`crate::sts`]), the SSO portal (`AWS_ENDPOINT_URL_SSO`, else
//! `https://portal.sso.REGION.amazonaws.com`), the container host and IMDS.
//!
//! Left out, and refused with a `NotSupported` error rather than served by
//! another identity: `mfa_serial` (it needs a prompt), the SSO token's
//! refresh (the CLI's `aws sso login` refreshes it; an expired token is
//! `Unauthenticated` saying so), the IMDSv1 fallback (IMDSv2 only).
//!
//! Every error names the backend `ec2`, the source, the file and the
//! profile, never a value read from a file, a command or an answer (a
//! malformed line is named by its number only); every secret an answer
//! carries becomes a [`SecretString`] (registered for scrubbing) before it
//! is read further.

mod chain;
mod container;
mod env;
mod imds;
mod process;
mod profile;
mod refresh;
mod remote;
mod role;
mod sso;
mod web_identity;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use imagecat_core::Result;
use imagecat_http::SecretString;

pub use chain::{ChainEndpoints, CredentialChain};
pub use profile::{Profile, ProfileFiles};
pub use refresh::{RENEW_MARGIN, RefreshingProvider};
pub use sso::cache_file_name as sso_cache_file_name;

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
    /// STS `AssumeRole` (a profile's `role_arn`).
    AssumeRole,
    /// STS `AssumeRoleWithWebIdentity`.
    WebIdentity,
    /// IAM Identity Center's portal, with the AWS CLI's cached SSO token.
    Sso,
    /// The ECS/EKS container credentials endpoint.
    Container,
    /// The EC2 instance metadata service (IMDSv2).
    InstanceMetadata,
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
            Source::AssumeRole => "assume role",
            Source::WebIdentity => "web identity",
            Source::Sso => "sso",
            Source::Container => "container credentials",
            Source::InstanceMetadata => "instance metadata",
            Source::Custom => "custom provider",
        }
    }
}

/// Where the EC2 backend gets its credentials: implement it to bring
/// your own. `credentials` is called whenever credentials are needed; the
/// catalog caches the answer and asks again before
/// [`Credentials::expiry`] ([`RefreshingProvider`]), so a provider may
/// fetch every time.
///
/// Plugging in `aws-config`'s default chain (or any SDK provider) takes a
/// struct that holds it and converts its answer; imagecat does not depend
/// on the SDK. Here a stand-in plays the SDK's part, so the example
/// compiles without `aws-config`:
///
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
///
/// use imagecat_core::{Error, ErrorKind, Result};
/// use imagecat_ec2::credentials::{CredentialProvider, Credentials, Source};
/// use imagecat_ec2::Ec2Builder;
/// use imagecat_http::SecretString;
///
/// // Stand-ins for `aws_credential_types::Credentials` (its
/// // `access_key_id()`, `secret_access_key()`, `session_token()`,
/// // `expiry()`) and for `SharedCredentialsProvider`'s
/// // `provide_credentials().await`.
/// struct SdkCredentials { id: String, secret: String, token: Option<String>, expiry: Option<SystemTime> }
/// #[derive(Debug)]
/// struct SdkProvider;
/// impl SdkProvider {
///     async fn provide_credentials(&self) -> std::result::Result<SdkCredentials, String> {
///         Ok(SdkCredentials {
///             id: "AKIDEXAMPLE".into(),
///             secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
///             token: None,
///             expiry: None,
///         })
///     }
/// }
///
/// /// aws-config's chain as an imagecat provider.
/// #[derive(Debug)]
/// struct AwsConfigProvider(SdkProvider);
///
/// #[async_trait::async_trait]
/// impl CredentialProvider for AwsConfigProvider {
///     async fn credentials(&self) -> Result<Credentials> {
///         let c = self.0.provide_credentials().await.map_err(|e| {
///             Error::new(ErrorKind::Unauthenticated, format!("aws-config: {e}"))
///                 .with_backend(imagecat_ec2::BACKEND)
///         })?;
///         Ok(Credentials::new(
///             c.id,
///             SecretString::new(c.secret),
///             c.token.map(SecretString::new),
///             c.expiry.map(chrono::DateTime::<chrono::Utc>::from),
///         ))
///     }
/// }
///
/// let catalog = Ec2Builder::new()
///     .region("eu-west-1")
///     .credentials_provider(Arc::new(AwsConfigProvider(SdkProvider)))
///     .build()
///     .unwrap();
/// # let _ = (catalog, Source::Custom);
/// ```
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

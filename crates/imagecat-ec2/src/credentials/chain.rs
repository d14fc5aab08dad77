//! [`CredentialChain`]: the AWS CLI's order (see the module docs), and the
//! profile-level resolution that assume-role's source profiles share.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::{HttpClient, HttpOptions, RetryPolicy, Url};

use super::profile::{self, Profile, ProfileFiles};
use super::web_identity;
use super::{CredentialProvider, Credentials, Env, container, env, imds, process, role, sso};
use crate::config::{BACKEND, ENV_DEFAULT_REGION, ENV_REGION};
use crate::sts::StsTarget;

/// Where the chain's remote sources are, when not where AWS puts them:
/// tests serve them on loopback; the catalog passes its STS endpoint.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ChainEndpoints {
    /// STS for `AssumeRole` and `AssumeRoleWithWebIdentity` (default: see
    /// [`StsTarget::from_env`], signed for the profile's region).
    pub sts: Option<StsTarget>,
    /// The IAM Identity Center portal (default `AWS_ENDPOINT_URL_SSO`,
    /// else `https://portal.sso.SSO_REGION.amazonaws.com`).
    pub sso_portal: Option<Url>,
    /// The host `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is relative to
    /// (default `http://169.254.170.2`).
    pub container: Option<Url>,
    /// IMDS (default `AWS_EC2_METADATA_SERVICE_ENDPOINT`, the profile's
    /// `ec2_metadata_service_endpoint`, else `http://169.254.169.254`);
    /// the environment's variable wins over this, as for the CLI.
    pub imds: Option<Url>,
}

impl ChainEndpoints {
    /// No endpoint moved.
    pub fn new() -> Self {
        Self::default()
    }

    /// STS at `target`.
    pub fn sts(mut self, target: StsTarget) -> Self {
        self.sts = Some(target);
        self
    }

    /// The SSO portal at `url`.
    pub fn sso_portal(mut self, url: Url) -> Self {
        self.sso_portal = Some(url);
        self
    }

    /// The container credentials host at `url`.
    pub fn container(mut self, url: Url) -> Self {
        self.container = Some(url);
        self
    }

    /// IMDS at `url`.
    pub fn imds(mut self, url: Url) -> Self {
        self.imds = Some(url);
        self
    }
}

/// The credential chain of the AWS CLI (see the module docs for its
/// order). It fetches on every call; wrap it in
/// [`RefreshingProvider`](super::RefreshingProvider) (the catalog does) to
/// cache and refresh.
#[derive(Debug, Clone)]
pub struct CredentialChain {
    pub(super) env: Env,
    profile: Option<String>,
    pub(super) endpoints: ChainEndpoints,
    http_options: HttpOptions,
    http: OnceLock<HttpClient>,
    imds_http: OnceLock<HttpClient>,
}

/// How long IMDS has to answer each request (botocore: 1 s, one attempt):
/// off EC2 nothing answers, and the chain must not hang there.
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);

impl CredentialChain {
    /// The chain over these environment variables.
    pub fn new(env: Env) -> Self {
        CredentialChain {
            env,
            profile: None,
            endpoints: ChainEndpoints::default(),
            http_options: HttpOptions::default(),
            http: OnceLock::new(),
            imds_http: OnceLock::new(),
        }
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

    /// Moves the remote sources' endpoints.
    pub fn with_endpoints(mut self, endpoints: ChainEndpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The HTTP options of the remote sources (the catalog's: CA file,
    /// timeouts). `allow_http` is always on for them: IMDS and the
    /// container endpoint are plain HTTP by design, and the rules of the
    /// container source decide which plain-HTTP hosts may be asked.
    pub fn with_http_options(mut self, options: HttpOptions) -> Self {
        self.http_options = options;
        self.http = OnceLock::new();
        self.imds_http = OnceLock::new();
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

    /// Whether the environment's variables are read (not under an explicit
    /// profile: botocore's `disable_env_vars`).
    pub(super) fn env_vars_enabled(&self) -> bool {
        self.profile.is_none()
    }

    /// The client of STS, SSO and the container endpoint.
    pub(super) fn http(&self) -> Result<&HttpClient> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let mut options = self.http_options.clone();
        options.allow_http = true;
        let client = HttpClient::new(BACKEND, options)?;
        Ok(self.http.get_or_init(|| client))
    }

    /// The client of IMDS: short timeouts and one attempt.
    pub(super) fn imds_http(&self) -> Result<&HttpClient> {
        if let Some(client) = self.imds_http.get() {
            return Ok(client);
        }
        let mut options = self.http_options.clone();
        options.allow_http = true;
        options.connect_timeout = IMDS_TIMEOUT;
        options.request_timeout = IMDS_TIMEOUT * 2;
        options.total_timeout = IMDS_TIMEOUT * 4;
        options.retry = RetryPolicy::none();
        let client = HttpClient::new(BACKEND, options)?;
        Ok(self.imds_http.get_or_init(|| client))
    }

    /// Where STS is for a profile: the configured target, else from the
    /// environment for the profile's region (`region`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, else `us-east-1`, STS's global home).
    pub(super) fn sts_target(&self, profile: Option<&Profile>) -> Result<StsTarget> {
        if let Some(target) = &self.endpoints.sts {
            return Ok(target.clone());
        }
        let region = self
            .env
            .get(ENV_REGION)
            .or_else(|| self.env.get(ENV_DEFAULT_REGION))
            .or_else(|| profile.and_then(|p| p.get("region")).map(|(r, _)| r))
            .unwrap_or("us-east-1");
        StsTarget::from_env(&self.env, region)
    }

    /// Walks the chain: the first source that has credentials answers; a
    /// misconfigured source stops the walk with its error.
    pub async fn resolve(&self) -> Result<Credentials> {
        if self.env_vars_enabled() {
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
            if role::has_role_config(profile) {
                return role::assume(self, &files, profile, Vec::new()).await;
            }
        }
        if self.env_vars_enabled() {
            if let Some(credentials) = web_identity::from_env(self, profile.as_ref()).await? {
                return Ok(credentials);
            }
        }
        if let Some(profile) = &profile {
            if let Some(credentials) = self.profile_credentials(&files, profile).await? {
                return Ok(credentials);
            }
            if profile.get("role_arn").is_some() {
                return Err(Error::config(
                    Some(BACKEND),
                    format!(
                        "the AWS profile '{name}' has role_arn but neither source_profile, \
                         credential_source nor web_identity_token_file"
                    ),
                )
                .with_context("profile", name));
            }
        }
        if let Some(credentials) = container::resolve(self).await? {
            return Ok(credentials);
        }
        let imds = imds::resolve(self, profile.as_ref()).await?;
        let imds_said = match imds {
            imds::Outcome::Credentials(credentials) => return Ok(credentials),
            imds::Outcome::Disabled => "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)",
            imds::Outcome::Unavailable => "the instance metadata service did not answer",
            imds::Outcome::NoRole => "the instance has no IAM role",
        };
        Err(Error::new(
            ErrorKind::Unauthenticated,
            format!(
                "no AWS credentials found for profile '{name}': looked in the environment \
                 (AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_*), \
                 {} and {}; {imds_said}",
                files.credentials_path_display(),
                files.config_path_display()
            ),
        )
        .with_backend(BACKEND)
        .with_context("profile", name))
    }

    /// The credentials a profile holds by itself (without the environment
    /// and without assume-role): web identity, SSO, the credentials file's
    /// keys, `credential_process`, the config file's keys; `None` when it
    /// has none of them.
    pub(super) fn profile_credentials<'a>(
        &'a self,
        files: &'a ProfileFiles,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Option<Credentials>>> {
        Box::pin(async move {
            if let Some(credentials) = web_identity::from_profile(self, profile).await? {
                return Ok(Some(credentials));
            }
            if let Some(credentials) = sso::resolve(self, files, profile).await? {
                return Ok(Some(credentials));
            }
            if let Some(credentials) = profile.static_keys(profile::FileKind::Credentials)? {
                return Ok(Some(credentials));
            }
            if let Some((command, file)) = profile.get("credential_process") {
                return process::run(command, &self.env, profile.name(), file)
                    .await
                    .map(Some);
            }
            profile.static_keys(profile::FileKind::Config)
        })
    }
}

#[async_trait]
impl CredentialProvider for CredentialChain {
    async fn credentials(&self) -> Result<Credentials> {
        self.resolve().await
    }
}

//! [`GlanceBuilder`]: image endpoint, credentials and options of a
//! [`GlanceCatalog`].

use std::fmt;
use std::time::Duration;

use imagecat_core::{BackendKind, Error, Result};
use imagecat_http::endpoint::{join_segments, parse_endpoint};
use imagecat_http::reqwest::header::{ACCEPT, HeaderValue};
use imagecat_http::{BuilderSettings, CatalogUrl, HttpClient, OpenOptions, SecretString, Url};

use crate::auth::{AUTH_HEADER, Auth, KeystoneGrant};
use crate::clouds::{self, CloudSettings, CloudsFiles};
use crate::instances::{Usage, service_base};
use crate::source::{GlanceCatalog, GlanceSource};
use imagecat_core::Catalog;

/// The backend's name, in errors, output and its URL schemes.
pub const BACKEND: BackendKind = BackendKind::Glance;

/// The URL schemes `from_url` opens: `glance://` (HTTPS) and `glance+http://`.
pub const SCHEMES: [&str; 2] = ["glance", "glance+http"];

/// Images per request when the query sets no page size: the largest page
/// Glance accepts (fewer, larger pages list faster, docs/benchmarks.md).
/// Glance's own default (`limit_param_default`) is 25 and NHN Cloud
/// documents 100; a `limit` is always sent, so the server's setting never
/// matters, and a server that caps lower still gives a `next` link.
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;
/// The largest page size sent (Glance's `api_limit_max`; a larger limit is
/// clamped by the server anyway).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// How long before its expiry an issued token is renewed, by default.
pub const DEFAULT_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The Keystone domain used when none is given (OpenStack's default domain).
pub const DEFAULT_DOMAIN: &str = "Default";

/// Environment variable of the image endpoint (imagecat's own name; wins
/// over [`ENV_OS_IMAGE_URL`]).
pub const ENV_ENDPOINT: &str = "IMAGECAT_GLANCE_ENDPOINT";
/// The OpenStack environment variable of the image endpoint.
pub const ENV_OS_IMAGE_URL: &str = "OS_IMAGE_URL";

/// The OpenStack environment variable of the compute (Nova) endpoint, for
/// usage without a Keystone catalog.
pub const ENV_OS_COMPUTE_URL: &str = "OS_COMPUTE_API_URL";
/// The environment variable of the block-storage (Cinder) endpoint.
pub const ENV_OS_VOLUME_URL: &str = "OS_VOLUME_API_URL";

/// The identity API version, as the user asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

/// Builds a [`GlanceCatalog`].
///
/// The image endpoint is either given ([`GlanceBuilder::endpoint`],
/// `OS_IMAGE_URL`) or taken from the service catalog of a Keystone token
/// (for [`GlanceBuilder::region`]). Credentials are a static token, or a
/// Keystone v2.0 or v3 password, or both (the token is used first and
/// replaced through Keystone when refused).
///
/// ```
/// use imagecat_glance::GlanceCatalog;
/// use imagecat_http::SecretString;
///
/// // NHN Cloud: Keystone v2.0 with a tenant id, the endpoint from the catalog.
/// let catalog = GlanceCatalog::builder()
///     .keystone_v2(
///         "https://api-identity-infrastructure.nhncloudservice.com/v2.0",
///         "f5073eaa26b64cffbee89411df94ce01",
///         "me@example.com",
///         SecretString::new("api-password"),
///     )
///     .region("KR1")
///     .build()
///     .unwrap();
/// assert!(!format!("{catalog:?}").contains("api-password"));
/// ```
#[derive(Clone)]
pub struct GlanceBuilder {
    endpoint: Option<String>,
    compute: Option<String>,
    volume: Option<String>,
    token: Option<SecretString>,
    auth_url: Option<String>,
    version: Option<Version>,
    username: Option<String>,
    password: Option<SecretString>,
    project_id: Option<String>,
    project_name: Option<String>,
    user_domain: Option<String>,
    project_domain: Option<String>,
    region: Option<String>,
    os_cloud: Option<String>,
    auth_type: Option<String>,
    user_id: Option<String>,
    user_domain_id: Option<String>,
    project_domain_id: Option<String>,
    app_credential_id: Option<String>,
    app_credential_name: Option<String>,
    app_credential_secret: Option<SecretString>,
    interface: Option<String>,
    cacert: Option<String>,
    insecure: Option<bool>,
    clouds_files: Option<CloudsFiles>,
    settings: BuilderSettings,
    renew_margin: Duration,
}

impl Default for GlanceBuilder {
    fn default() -> Self {
        GlanceBuilder {
            endpoint: None,
            compute: None,
            volume: None,
            token: None,
            auth_url: None,
            version: None,
            username: None,
            password: None,
            project_id: None,
            project_name: None,
            user_domain: None,
            project_domain: None,
            region: None,
            os_cloud: None,
            auth_type: None,
            user_id: None,
            user_domain_id: None,
            project_domain_id: None,
            app_credential_id: None,
            app_credential_name: None,
            app_credential_secret: None,
            interface: None,
            cacert: None,
            insecure: None,
            clouds_files: None,
            settings: BuilderSettings::default(),
            renew_margin: DEFAULT_RENEW_MARGIN,
        }
    }
}

impl fmt::Debug for GlanceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlanceBuilder")
            .field("endpoint", &self.endpoint)
            .field("compute", &self.compute)
            .field("volume", &self.volume)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("auth_url", &self.auth_url)
            .field("version", &self.version)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("project_id", &self.project_id)
            .field("project_name", &self.project_name)
            .field("user_domain", &self.user_domain)
            .field("project_domain", &self.project_domain)
            .field("region", &self.region)
            .field("os_cloud", &self.os_cloud)
            .field("auth_type", &self.auth_type)
            .field("user_id", &self.user_id)
            .field("user_domain_id", &self.user_domain_id)
            .field("project_domain_id", &self.project_domain_id)
            .field("app_credential_id", &self.app_credential_id)
            .field("app_credential_name", &self.app_credential_name)
            .field(
                "app_credential_secret",
                &self.app_credential_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("interface", &self.interface)
            .field("cacert", &self.cacert)
            .field("insecure", &self.insecure)
            .field("settings", &self.settings)
            .field("renew_margin", &self.renew_margin)
            .finish()
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The image API base of an endpoint: `http(s)://HOST[:PORT][/BASE]`
/// without a trailing `/` or a trailing version segment (`/v2`, `/v2.1`,
/// `/v1`), which some service catalogs append; requests go to
/// `{base}/v2/images`.
pub(crate) fn image_base(text: &str) -> Result<Url> {
    let mut url = parse_endpoint(BACKEND, text, "")?;
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("")
        .to_owned();
    if is_version_segment(&last) {
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop();
        }
    }
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

fn is_version_segment(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.splitn(2, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next();
    !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.is_none_or(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
}

/// The Keystone base URL with its version segment (`/v2.0` or `/v3`),
/// appended when the user's URL has none.
fn identity_base(text: &str, version: Version) -> Result<Url> {
    let url = parse_endpoint(BACKEND, text, "").map_err(|e| {
        Error::config(Some(BACKEND), format!("invalid auth URL: {e}")).with_source(e)
    })?;
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("")
        .to_owned();
    let want = match version {
        Version::V2 => "v2.0",
        Version::V3 => "v3",
    };
    if last == want {
        Ok(url)
    } else {
        join_segments(BACKEND, &url, &[want])
    }
}

/// The version an auth URL names by its last segment, if it does.
fn version_of(auth_url: &str) -> Option<Version> {
    let path = auth_url.trim().trim_end_matches('/');
    if path.ends_with("/v2.0") {
        Some(Version::V2)
    } else if path.ends_with("/v3") {
        Some(Version::V3)
    } else {
        None
    }
}

impl GlanceBuilder {
    /// An empty builder: no endpoint, no credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from the OpenStack environment convention. Never fails
    /// (unset or empty variables leave their setting unset);
    /// [`GlanceBuilder::build`] reports what is missing.
    ///
    /// - image endpoint: `IMAGECAT_GLANCE_ENDPOINT`, else `OS_IMAGE_URL`;
    /// - static token: `OS_TOKEN`, else `OS_AUTH_TOKEN`;
    /// - Keystone: `OS_AUTH_URL`, `OS_USERNAME`, `OS_PASSWORD`; the project
    ///   by id (`OS_PROJECT_ID`, `OS_TENANT_ID`) or by name
    ///   (`OS_PROJECT_NAME`, `OS_TENANT_NAME`); `OS_USER_DOMAIN_NAME` and
    ///   `OS_PROJECT_DOMAIN_NAME` (v3, default `Default`);
    ///   the version from the auth URL's last segment (`/v2.0`, `/v3`),
    ///   else `OS_IDENTITY_API_VERSION`, else v3;
    /// - region: `OS_REGION_NAME`.
    ///
    /// - application credential (v3): `OS_APPLICATION_CREDENTIAL_ID`, or
    ///   `OS_APPLICATION_CREDENTIAL_NAME` with the user (`OS_USERNAME` or
    ///   `OS_USER_ID`), and `OS_APPLICATION_CREDENTIAL_SECRET`;
    ///   `OS_AUTH_TYPE` (`password`, `v3applicationcredential`, `token`, …);
    ///   `OS_USER_ID`, `OS_USER_DOMAIN_ID`, `OS_PROJECT_DOMAIN_ID`;
    /// - `OS_CLOUD`: the cloud of `clouds.yaml` ([`GlanceBuilder::cloud`])
    ///   that fills in what the variables leave unset, read at `build`.
    pub fn from_env() -> Self {
        Self::from_lookup(env_var)
    }

    /// [`GlanceBuilder::from_env`] over any source of variables (empty
    /// values count as unset).
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let first = |names: &[&str]| names.iter().find_map(|n| var(n));
        let mut b = Self::new();
        b.endpoint = first(&[ENV_ENDPOINT, ENV_OS_IMAGE_URL]);
        b.compute = var(ENV_OS_COMPUTE_URL);
        b.volume = var(ENV_OS_VOLUME_URL);
        b.token = first(&["OS_TOKEN", "OS_AUTH_TOKEN"]).map(SecretString::new);
        b.auth_url = var("OS_AUTH_URL");
        b.version = b.auth_url.as_deref().and_then(version_of).or_else(|| {
            match var("OS_IDENTITY_API_VERSION").as_deref().map(str::trim) {
                Some("2" | "2.0") => Some(Version::V2),
                Some("3" | "3.0") => Some(Version::V3),
                _ => None,
            }
        });
        b.username = var("OS_USERNAME");
        b.password = var("OS_PASSWORD").map(SecretString::new);
        b.project_id = first(&["OS_PROJECT_ID", "OS_TENANT_ID"]);
        b.project_name = first(&["OS_PROJECT_NAME", "OS_TENANT_NAME"]);
        b.user_domain = var("OS_USER_DOMAIN_NAME");
        b.project_domain = var("OS_PROJECT_DOMAIN_NAME");
        b.region = var("OS_REGION_NAME");
        b.os_cloud = var("OS_CLOUD");
        b.auth_type = var("OS_AUTH_TYPE");
        b.user_id = var("OS_USER_ID");
        b.user_domain_id = var("OS_USER_DOMAIN_ID");
        b.project_domain_id = var("OS_PROJECT_DOMAIN_ID");
        b.app_credential_id = var("OS_APPLICATION_CREDENTIAL_ID");
        b.app_credential_name = var("OS_APPLICATION_CREDENTIAL_NAME");
        b.app_credential_secret = var("OS_APPLICATION_CREDENTIAL_SECRET").map(SecretString::new);
        b.interface = var("OS_INTERFACE");
        b.cacert = var("OS_CACERT");
        b.insecure = var("OS_INSECURE").map(|v| v.trim().eq_ignore_ascii_case("true"));
        b.clouds_files = Some(CloudsFiles::search(&var));
        b
    }

    /// The image endpoint, `https://HOST[:PORT][/BASE]` (or `http://` for
    /// emulators and test servers). Its path is the base: requests go to
    /// `{base}/v2/images`. A trailing version segment (`/v2`) is dropped.
    /// Without it, the endpoint comes from the Keystone token's catalog.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// A static token, sent as `X-Auth-Token`. Alone, it is used until the
    /// server refuses it (then calls fail with `Unauthenticated`) and needs
    /// [`GlanceBuilder::endpoint`]. With Keystone credentials too, it is
    /// used first and replaced through Keystone when refused.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Keystone v2.0 password authentication, as NHN Cloud's identity
    /// service takes it: `POST {auth_url}/tokens` with
    /// `{"auth":{"tenantId":…,"passwordCredentials":{"username":…,"password":…}}}`.
    /// `/v2.0` is appended to `auth_url` when it does not end with it.
    pub fn keystone_v2(
        mut self,
        auth_url: impl Into<String>,
        tenant_id: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> Self {
        self.version = Some(Version::V2);
        self.auth_url = Some(auth_url.into());
        self.project_id = Some(tenant_id.into());
        self.project_name = None;
        self.username = Some(username.into());
        self.password = Some(password);
        self
    }

    /// Keystone v3 password authentication scoped to a project by name:
    /// `POST {auth_url}/auth/tokens`; the token is the `X-Subject-Token`
    /// header. `/v3` is appended to `auth_url` when it does not end with it.
    pub fn keystone_v3(
        mut self,
        auth_url: impl Into<String>,
        user: impl Into<String>,
        user_domain: impl Into<String>,
        project: impl Into<String>,
        project_domain: impl Into<String>,
        password: SecretString,
    ) -> Self {
        self.version = Some(Version::V3);
        self.auth_url = Some(auth_url.into());
        self.username = Some(user.into());
        self.user_domain = Some(user_domain.into());
        self.project_name = Some(project.into());
        self.project_domain = Some(project_domain.into());
        self.project_id = None;
        self.password = Some(password);
        self
    }

    /// Keystone v3 application-credential authentication by credential id:
    /// `{"methods":["application_credential"],"application_credential":{"id":…,"secret":…}}`,
    /// no scope (the credential is bound to its project).
    pub fn application_credential(
        mut self,
        auth_url: impl Into<String>,
        id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self.version = Some(Version::V3);
        self.auth_type = Some("v3applicationcredential".into());
        self.auth_url = Some(auth_url.into());
        self.app_credential_id = Some(id.into());
        self.app_credential_name = None;
        self.app_credential_secret = Some(secret);
        self
    }

    /// Keystone v3 application-credential authentication by name, with its
    /// user (by name, in `user_domain`).
    pub fn application_credential_by_name(
        mut self,
        auth_url: impl Into<String>,
        name: impl Into<String>,
        user: impl Into<String>,
        user_domain: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self = self.application_credential(auth_url, String::new(), secret);
        self.app_credential_id = None;
        self.app_credential_name = Some(name.into());
        self.username = Some(user.into());
        self.user_domain = Some(user_domain.into());
        self
    }

    /// Selects a cloud of `clouds.yaml` by name (as `OS_CLOUD` does): at
    /// `build`, its settings fill in whatever the builder and the `OS_*`
    /// variables leave unset. Without a name, when nothing else is
    /// configured, the only cloud of the file is used (as openstacksdk does).
    pub fn cloud(mut self, name: impl Into<String>) -> Self {
        self.os_cloud = Some(name.into());
        self
    }

    /// Where `clouds.yaml` and `secure.yaml` are looked for (default:
    /// [`CloudsFiles::standard`]).
    pub fn clouds_files(mut self, files: CloudsFiles) -> Self {
        self.clouds_files = Some(files);
        self
    }

    /// Scopes the Keystone token to a project (v3) or tenant (v2.0) by id
    /// instead of by name.
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = Some(id.into());
        self.project_name = None;
        self
    }

    /// The region whose image endpoint is taken from the service catalog
    /// (`KR1`, `RegionOne`, …). Needed when the catalog lists several.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The compute (Nova) endpoint that lists servers for usage, with its
    /// version (and project) path: `https://nova:8774/v2.1`, NHN Cloud's
    /// `https://kr1-api-instance-infrastructure.nhncloudservice.com/v2/{tenantId}`.
    /// Without it, the `compute` entry of the Keystone token's catalog.
    pub fn compute_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.compute = Some(endpoint.into());
        self
    }

    /// The block-storage (Cinder) endpoint whose volumes say which image a
    /// volume-booted server uses: `https://cinder:8776/v3/{project_id}`.
    /// Without it, the catalog's `volumev3`, `block-storage` or `volumev2`.
    pub fn volume_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.volume = Some(endpoint.into());
        self
    }

    /// The usage settings: the configured endpoints, and whether a
    /// Keystone catalog may name them.
    fn usage(&self, from_catalog: bool) -> Result<Usage> {
        let parse = |text: &Option<String>, what: &str| {
            text.as_deref()
                .map(|t| {
                    service_base(t).map_err(|e| {
                        Error::config(Some(BACKEND), format!("invalid {what} endpoint: {e}"))
                            .with_source(e)
                    })
                })
                .transpose()
        };
        Ok(Usage::new(
            parse(&self.compute, "compute")?,
            parse(&self.volume, "block-storage")?,
            from_catalog,
        ))
    }

    /// Whether a configured compute or block-storage endpoint says `http://`.
    fn usage_uses_http(&self) -> bool {
        [&self.compute, &self.volume].iter().any(|t| {
            t.as_deref()
                .is_some_and(|u| u.trim().starts_with("http://"))
        })
    }

    /// Whether anything at all is configured besides the cloud's name.
    fn nothing_configured(&self) -> bool {
        self.endpoint.is_none()
            && self.token.is_none()
            && self.auth_url.is_none()
            && self.username.is_none()
            && self.app_credential_id.is_none()
            && self.app_credential_secret.is_none()
            && self.auth_type.is_none()
    }

    /// Fills unset settings from the selected cloud of `clouds.yaml` (or the
    /// only one, when nothing else is configured).
    fn apply_cloud(&mut self) -> Result<()> {
        let name = self.os_cloud.clone();
        if name.is_none() && !self.nothing_configured() {
            return Ok(());
        }
        let files = self
            .clouds_files
            .clone()
            .unwrap_or_else(CloudsFiles::standard);
        let Some(cloud) = clouds::load(&files, name.as_deref())? else {
            return Ok(());
        };
        self.fill(cloud);
        Ok(())
    }

    /// Sets what is still unset from a cloud's settings.
    fn fill(&mut self, c: CloudSettings) {
        fn or<T>(slot: &mut Option<T>, value: Option<T>) {
            if slot.is_none() {
                *slot = value;
            }
        }
        if self.version.is_none() {
            self.version = self
                .auth_url
                .as_deref()
                .or(c.auth_url.as_deref())
                .and_then(version_of)
                .or(match c.identity_api_version.as_deref().map(str::trim) {
                    Some("2" | "2.0") => Some(Version::V2),
                    Some("3" | "3.0") => Some(Version::V3),
                    _ => None,
                });
        }
        or(&mut self.auth_type, c.auth_type);
        or(&mut self.auth_url, c.auth_url);
        or(&mut self.username, c.username);
        or(&mut self.user_id, c.user_id);
        or(&mut self.password, c.password);
        if self.project_id.is_none() && self.project_name.is_none() {
            self.project_id = c.project_id;
            self.project_name = c.project_name;
        }
        or(&mut self.user_domain, c.user_domain_name);
        or(&mut self.user_domain_id, c.user_domain_id);
        or(&mut self.project_domain, c.project_domain_name);
        or(&mut self.project_domain_id, c.project_domain_id);
        or(&mut self.token, c.token);
        or(&mut self.app_credential_id, c.app_credential_id);
        or(&mut self.app_credential_name, c.app_credential_name);
        or(&mut self.app_credential_secret, c.app_credential_secret);
        or(&mut self.endpoint, c.endpoint);
        or(&mut self.compute, c.compute);
        or(&mut self.volume, c.volume);
        or(&mut self.region, c.region_name);
        or(&mut self.interface, c.interface);
        or(&mut self.cacert, c.cacert);
        or(&mut self.insecure, c.insecure);
    }

    /// Checks the configuration and builds the catalog. `Config` errors: no
    /// credentials, a static token without an image endpoint, Keystone
    /// credentials without a username, password or project, an endpoint or
    /// auth URL that is not `http(s)://HOST[:PORT][/BASE]`, a token that
    /// cannot be sent in a header, an unknown `auth_type`; a selected
    /// cloud that is missing, or a clouds file that cannot be read (the
    /// error names the file and the cloud, never a value).
    pub fn build(mut self) -> Result<GlanceCatalog> {
        self.apply_cloud()?;
        if let Some(interface) = self.interface.as_deref().map(str::trim) {
            if !matches!(interface, "public" | "publicURL") {
                return Err(Error::config(
                    Some(BACKEND),
                    format!(
                        "interface {interface:?} is not supported: imagecat uses the public image endpoint of the service catalog (or set the endpoint explicitly)"
                    ),
                ));
            }
        }
        let endpoint = self.endpoint.as_deref().map(image_base).transpose()?;
        if self.auth_kind()? == Kind::None {
            let Some(endpoint) = endpoint else {
                return Err(Error::config(
                    Some(BACKEND),
                    "auth_type none needs the image endpoint (auth.endpoint in clouds.yaml, or OS_IMAGE_URL)",
                ));
            };
            let http = self.http_client(endpoint.scheme() == "http" || self.usage_uses_http())?;
            let auth = Auth::anonymous(BACKEND, AUTH_HEADER)
                .with_header(ACCEPT, HeaderValue::from_static("application/json"));
            let usage = self.usage(false)?;
            return Ok(
                Catalog::new(GlanceSource::from_parts(http, Some(endpoint), auth, usage))
                    .paging_options(self.settings.paging),
            );
        }
        let identity = self.identity()?;
        let mut token = self.token.clone().filter(|t| !t.is_empty());
        if endpoint.is_none() {
            if identity.is_none() {
                return Err(Error::config(
                    Some(BACKEND),
                    if token.is_some() {
                        "a static token needs the image endpoint (OS_IMAGE_URL or GlanceBuilder::endpoint)"
                    } else {
                        "no image endpoint and no Keystone credentials to find one"
                    },
                ));
            }
            // The endpoint must come from a Keystone catalog, which a static
            // token does not have: authenticate from the start.
            token = None;
        }
        let uses_http = endpoint.as_ref().is_some_and(|u| u.scheme() == "http")
            || identity.as_ref().is_some_and(|_| {
                self.auth_url
                    .as_deref()
                    .is_some_and(|u| u.trim().starts_with("http://"))
            })
            || self.usage_uses_http();
        let usage = self.usage(identity.is_some())?;
        let keystone = identity.map(|identity| KeystoneGrant {
            identity,
            region: self.region.clone(),
            need_endpoint: endpoint.is_none(),
        });
        let auth = Auth::new(
            BACKEND,
            AUTH_HEADER,
            token.as_ref(),
            keystone,
            self.renew_margin,
            "set a token (OS_TOKEN) or Keystone credentials (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, a project)",
        )?
        .with_header(ACCEPT, HeaderValue::from_static("application/json"));
        let http = self.http_client(uses_http)?;
        Ok(
            Catalog::new(GlanceSource::from_parts(http, endpoint, auth, usage))
                .paging_options(self.settings.paging),
        )
    }

    /// The HTTP client: plain `http://` when an endpoint says so.
    fn http_client(&self, uses_http: bool) -> Result<HttpClient> {
        let allow_http = self.settings.http.allow_http || uses_http;
        let mut options = self.settings.http.clone().allow_http(allow_http);
        if let Some(cacert) = &self.cacert {
            options = options.ca_file(cacert.trim());
        }
        if self.insecure == Some(true) {
            tracing::warn!(
                backend = %BACKEND,
                "TLS CERTIFICATES ARE NOT VERIFIED (verify: false / OS_INSECURE): anyone on the path can read the credentials and the answers"
            );
            options = options.accept_invalid_certs(true);
        }
        HttpClient::new(BACKEND, options)
    }
}

impl GlanceBuilder {
    /// A builder from a catalog URL and the caller's options:
    /// `glance://HOST[:PORT][/BASE][?region=R][&cloud=NAME]` (HTTPS) or
    /// `glance+http://…` names the image endpoint; `glance://?cloud=NAME`
    /// (or `glance:` with `OS_CLOUD`) takes it from the cloud of
    /// `clouds.yaml`; `compute=URL` and `volume=URL` name the Nova and
    /// Cinder endpoints for usage. What none of them sets comes from the
    /// `OS_*` environment ([`GlanceBuilder::from_env`]).
    pub fn from_url(url: &Url, options: &OpenOptions) -> Result<Self> {
        let url = CatalogUrl::parse(url, BACKEND, &["region", "cloud", "compute", "volume"])?;
        let mut builder = GlanceBuilder::from_env().open_options(options);
        if url.has_host() {
            builder = builder.endpoint(url.endpoint()?);
        }
        if let Some(region) = url.param("region") {
            builder = builder.region(region);
        }
        if let Some(cloud) = url.param("cloud").or(options.os_cloud.as_deref()) {
            builder = builder.cloud(cloud);
        }
        if let Some(compute) = url.param("compute") {
            builder = builder.compute_endpoint(compute);
        }
        if let Some(volume) = url.param("volume") {
            builder = builder.volume_endpoint(volume);
        }
        if let Some(token) = &options.credentials.token {
            builder = builder.token(token.clone());
        }
        Ok(builder)
    }
}

imagecat_http::builder_setters!(
    GlanceBuilder,
    "Plain `http://` is also allowed when the endpoint or the auth URL says `http://`.",
    renew_margin
);

mod identity;
#[cfg(test)]
mod tests;

use identity::Kind;

//! [`GlanceBuilder`]: image endpoint, credentials and options of a
//! [`GlanceCatalog`].

use std::fmt;
use std::time::Duration;

use imagecat_core::{BackendKind, Error, PagingOptions, Result};
use imagecat_http::endpoint::{join_segments, parse_endpoint};
use imagecat_http::reqwest::header::{ACCEPT, HeaderValue};
use imagecat_http::{HttpClient, HttpOptions, SecretString, Url};

use crate::auth::{AUTH_HEADER, Auth, Identity, KeystoneGrant, V2Scope, V3Scope};
use crate::catalog::{GlanceCatalog, GlanceSource};
use imagecat_core::Catalog;

const BACKEND: BackendKind = BackendKind::Glance;

/// How long before its expiry an issued token is renewed, by default.
pub const DEFAULT_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The Keystone domain used when none is given (OpenStack's default domain).
pub const DEFAULT_DOMAIN: &str = "Default";

/// Environment variable of the image endpoint (imagecat's own name; wins
/// over [`ENV_OS_IMAGE_URL`]).
pub const ENV_ENDPOINT: &str = "IMAGECAT_GLANCE_ENDPOINT";
/// The OpenStack environment variable of the image endpoint.
pub const ENV_OS_IMAGE_URL: &str = "OS_IMAGE_URL";

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
    http: HttpOptions,
    paging: PagingOptions,
    renew_margin: Duration,
}

impl Default for GlanceBuilder {
    fn default() -> Self {
        GlanceBuilder {
            endpoint: None,
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
            http: HttpOptions::default(),
            paging: PagingOptions::default(),
            renew_margin: DEFAULT_RENEW_MARGIN,
        }
    }
}

impl fmt::Debug for GlanceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlanceBuilder")
            .field("endpoint", &self.endpoint)
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
            .field("http", &self.http)
            .field("paging", &self.paging)
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
    let url = parse_endpoint(BACKEND, text, "")
        .map_err(|e| Error::config(Some(BACKEND), format!("invalid auth URL: {e}")))?;
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
    /// `OS_CLOUD` (clouds.yaml) is not read; when it is set without
    /// `OS_AUTH_URL`, `build` says so.
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

    /// HTTP options (timeouts, retries, body cap). Plain `http://` is
    /// allowed when the endpoint or the auth URL says `http://`.
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Options of the pagination engine.
    pub fn paging_options(mut self, options: PagingOptions) -> Self {
        self.paging = options;
        self
    }

    /// How long before its expiry an issued token is renewed (default 60 s).
    pub fn token_renew_margin(mut self, margin: Duration) -> Self {
        self.renew_margin = margin;
        self
    }

    fn identity(&self) -> Result<Option<Identity>> {
        let Some(auth_url) = self.auth_url.as_deref() else {
            if self.username.is_some() && self.password.is_some() && self.endpoint.is_none() {
                return Err(Error::config(
                    Some(BACKEND),
                    "a username and password but no Keystone auth URL (OS_AUTH_URL)",
                ));
            }
            return Ok(None);
        };
        let version = self
            .version
            .or_else(|| version_of(auth_url))
            .unwrap_or(Version::V3);
        let username = self.username.clone().filter(|u| !u.is_empty());
        let password = self.password.clone().filter(|p| !p.is_empty());
        let (Some(username), Some(password)) = (username, password) else {
            if self.token.is_some() {
                // OS_AUTH_URL beside a token: the token alone is used.
                return Ok(None);
            }
            return Err(Error::config(
                Some(BACKEND),
                "Keystone authentication needs a username and a password (OS_USERNAME, OS_PASSWORD)",
            ));
        };
        let base = identity_base(auth_url, version)?;
        let identity = match version {
            Version::V2 => {
                let scope = match (&self.project_id, &self.project_name) {
                    (Some(id), _) => V2Scope::TenantId(id.clone()),
                    (None, Some(name)) => V2Scope::TenantName(name.clone()),
                    (None, None) => {
                        return Err(Error::config(
                            Some(BACKEND),
                            "Keystone v2.0 needs a tenant (OS_TENANT_ID or OS_TENANT_NAME)",
                        ));
                    }
                };
                Identity::V2 {
                    tokens_url: join_segments(BACKEND, &base, &["tokens"])?,
                    scope,
                    username,
                    password,
                }
            }
            Version::V3 => {
                let scope = match (&self.project_id, &self.project_name) {
                    (Some(id), _) => V3Scope::Id(id.clone()),
                    (None, Some(name)) => V3Scope::Name {
                        project: name.clone(),
                        domain: self
                            .project_domain
                            .clone()
                            .unwrap_or_else(|| DEFAULT_DOMAIN.to_owned()),
                    },
                    (None, None) => {
                        return Err(Error::config(
                            Some(BACKEND),
                            "Keystone v3 needs a project (OS_PROJECT_NAME or OS_PROJECT_ID)",
                        ));
                    }
                };
                Identity::V3 {
                    tokens_url: join_segments(BACKEND, &base, &["auth", "tokens"])?,
                    username,
                    user_domain: self
                        .user_domain
                        .clone()
                        .unwrap_or_else(|| DEFAULT_DOMAIN.to_owned()),
                    scope,
                    password,
                }
            }
        };
        Ok(Some(identity))
    }

    /// Checks the configuration and builds the catalog. `Config` errors: no
    /// credentials, a static token without an image endpoint, Keystone
    /// credentials without a username, password or project, an endpoint or
    /// auth URL that is not `http(s)://HOST[:PORT][/BASE]`, a token that
    /// cannot be sent in a header, `OS_CLOUD` without `OS_AUTH_URL`.
    pub fn build(self) -> Result<GlanceCatalog> {
        if self.os_cloud.is_some()
            && self.auth_url.is_none()
            && self.token.is_none()
            && self.endpoint.is_none()
        {
            return Err(Error::config(
                Some(BACKEND),
                "OS_CLOUD is set, but clouds.yaml is not read by imagecat; export the cloud's OS_* variables instead (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_REGION_NAME, …)",
            ));
        }
        let endpoint = self.endpoint.as_deref().map(image_base).transpose()?;
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
            });
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
        let allow_http = self.http.allow_http || uses_http;
        let http = HttpClient::new(BACKEND, self.http.allow_http(allow_http))?;
        Ok(Catalog::new(GlanceSource::from_parts(
            http,
            endpoint,
            auth,
            self.paging,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn image_bases_drop_slashes_and_version_segments() {
        for (text, want) in [
            (
                "https://kr1-api-image-infrastructure.nhncloudservice.com",
                "https://kr1-api-image-infrastructure.nhncloudservice.com/",
            ),
            ("https://h:9292/", "https://h:9292/"),
            ("https://h:9292/v2", "https://h:9292/"),
            ("https://h:9292/v2/", "https://h:9292/"),
            ("https://h/image/v2.1", "https://h/image"),
            ("https://h/image", "https://h/image"),
            ("https://h/image/version", "https://h/image/version"),
            ("http://127.0.0.1:1/v", "http://127.0.0.1:1/v"),
        ] {
            assert_eq!(image_base(text).unwrap().as_str(), want, "{text}");
        }
        for bad in ["ftp://h", "https://u:p@h", "https://h/?x=1", "not a url"] {
            assert_eq!(
                image_base(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }

    #[test]
    fn identity_urls_get_their_version() {
        assert_eq!(
            identity_base("https://id/v2.0", Version::V2)
                .unwrap()
                .as_str(),
            "https://id/v2.0"
        );
        assert_eq!(
            identity_base("https://id/identity/", Version::V3)
                .unwrap()
                .as_str(),
            "https://id/identity/v3"
        );
        assert_eq!(version_of("https://id/v2.0/"), Some(Version::V2));
        assert_eq!(version_of("https://id/v3"), Some(Version::V3));
        assert_eq!(version_of("https://id/"), None);
    }

    #[test]
    fn missing_pieces_are_config_errors() {
        let cases = [
            GlanceBuilder::new(),
            GlanceBuilder::new().token(SecretString::new("t")),
            GlanceBuilder::new().endpoint("https://h"),
            GlanceBuilder::new().endpoint("ftp://h").token("t".into()),
            GlanceBuilder::new().keystone_v2("https://id/v2.0", "", "u", SecretString::new("")),
            GlanceBuilder {
                auth_url: Some("https://id/v3".into()),
                username: Some("u".into()),
                password: Some("p".into()),
                ..GlanceBuilder::new()
            },
        ];
        for b in cases {
            let shown = format!("{b:?}");
            let e = b.build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{shown}: {e}");
        }
        let os_cloud = GlanceBuilder {
            os_cloud: Some("mycloud".into()),
            ..GlanceBuilder::new()
        };
        assert!(
            os_cloud
                .build()
                .unwrap_err()
                .to_string()
                .contains("clouds.yaml")
        );
    }

    fn from_vars(vars: &[(&str, &str)]) -> GlanceBuilder {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        GlanceBuilder::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_openstack_environment_convention() {
        // NHN Cloud: Keystone v2.0 by tenant id.
        let b = from_vars(&[
            (
                "OS_AUTH_URL",
                "https://api-identity-infrastructure.nhncloudservice.com/v2.0",
            ),
            ("OS_TENANT_ID", "t-1"),
            ("OS_USERNAME", "me@example.com"),
            ("OS_PASSWORD", "pw-secret"),
            ("OS_REGION_NAME", "KR1"),
        ]);
        match b.identity().unwrap().unwrap() {
            Identity::V2 {
                tokens_url, scope, ..
            } => {
                assert_eq!(
                    tokens_url.as_str(),
                    "https://api-identity-infrastructure.nhncloudservice.com/v2.0/tokens"
                );
                assert_eq!(scope, V2Scope::TenantId("t-1".into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b.region.as_deref(), Some("KR1"));
        assert!(b.build().is_ok());
        // v3 by name with domains; the version from OS_IDENTITY_API_VERSION.
        let b = from_vars(&[
            ("OS_AUTH_URL", "https://keystone:5000"),
            ("OS_IDENTITY_API_VERSION", "3"),
            ("OS_PROJECT_NAME", "p"),
            ("OS_PROJECT_DOMAIN_NAME", "pd"),
            ("OS_USER_DOMAIN_NAME", "ud"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "pw"),
            ("OS_TENANT_ID", ""),
        ]);
        match b.identity().unwrap().unwrap() {
            Identity::V3 {
                tokens_url,
                user_domain,
                scope,
                ..
            } => {
                assert_eq!(tokens_url.as_str(), "https://keystone:5000/v3/auth/tokens");
                assert_eq!(user_domain, "ud");
                assert_eq!(
                    scope,
                    V3Scope::Name {
                        project: "p".into(),
                        domain: "pd".into()
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        // A token and an explicit endpoint; OS_IMAGE_URL loses to imagecat's variable.
        let b = from_vars(&[
            ("OS_AUTH_TOKEN", "tok"),
            ("OS_IMAGE_URL", "https://a/v2"),
            (ENV_ENDPOINT, "https://b"),
        ]);
        assert_eq!(b.endpoint.as_deref(), Some("https://b"));
        assert!(b.build().is_ok());
        // Nothing at all, or only OS_CLOUD: a Config error that says why.
        assert_eq!(
            from_vars(&[]).build().unwrap_err().kind(),
            ErrorKind::Config
        );
        let e = from_vars(&[("OS_CLOUD", "mycloud")]).build().unwrap_err();
        assert!(e.to_string().contains("clouds.yaml"), "{e}");
    }

    #[test]
    fn debug_hides_secrets() {
        let b = GlanceBuilder::new()
            .token(SecretString::new("tok-very-secret"))
            .keystone_v3(
                "https://id",
                "u",
                "d",
                "p",
                "d",
                SecretString::new("pw-very-secret"),
            );
        let shown = format!("{b:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let catalog = b.build().unwrap();
        let shown = format!("{catalog:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}

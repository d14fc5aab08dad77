//! The backend's name, URL schemes, page sizes and environment names, and
//! the catalog URL as issue 25 gives it: `gce://PROJECT` (the Compute API
//! over TLS) and `gce+http://HOST:PORT?project=P` (an emulator). Only the
//! parsing exists yet; the builder comes with the source.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use imagecat_core::{BackendKind, Catalog, Error, Result};
use imagecat_http::{BuilderSettings, HttpClient, OpenOptions, SecretString, TokenSource};
use url::Url;

use crate::auth::{
    AuthorizedUserGrant, COMPUTE_SCOPE, CredentialsFile, GceGrant, METADATA_TOKEN_URL,
    MetadataGrant, ServiceAccountGrant, TOKEN_HEADER,
};
use crate::source::{GceCatalog, GceSource};

/// The backend.
pub const BACKEND: BackendKind = BackendKind::new("gce");

/// The URL schemes: `gce://PROJECT` and `gce+http://HOST:PORT?project=P`.
pub const SCHEMES: [&str; 2] = ["gce", "gce+http"];

/// The page size asked for by default: `images.list`'s own default.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// The largest `maxResults` the API accepts.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The Compute API v1 base the `gce://` scheme talks to.
pub const DEFAULT_ENDPOINT: &str = "https://compute.googleapis.com/compute/v1/";

/// The service-account key or authorized-user file, as Google's tools read it.
pub const ENV_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// An access token given directly.
pub const ENV_ACCESS_TOKEN: &str = "GOOGLE_OAUTH_ACCESS_TOKEN";

/// The metadata server's `HOST[:PORT]`, instead of
/// `metadata.google.internal` (as google-auth reads it).
pub const ENV_METADATA_HOST: &str = "GCE_METADATA_HOST";

/// gcloud's configuration directory, where the application-default
/// credentials file is (`~/.config/gcloud` when unset).
pub const ENV_CLOUDSDK_CONFIG: &str = "CLOUDSDK_CONFIG";

/// The application-default credentials file's name in gcloud's
/// configuration directory (`gcloud auth application-default login`).
pub const ADC_FILE_NAME: &str = "application_default_credentials.json";

/// The public image projects gcloud lists with `images list` (gcloud
/// 528's `PUBLIC_IMAGE_PROJECTS`): a catalog of one of them lists its
/// images read-only, as not the caller's (no delete is ever sent). There
/// is no API that lists them; [`GceBuilder::read_only`] marks any other
/// project so.
pub const PUBLIC_IMAGE_PROJECTS: [&str; 17] = [
    "centos-cloud",
    "cos-cloud",
    "debian-cloud",
    "fedora-coreos-cloud",
    "opensuse-cloud",
    "oracle-linux-cloud",
    "rhel-cloud",
    "rhel-sap-cloud",
    "rocky-linux-accelerator-cloud",
    "rocky-linux-cloud",
    "suse-cloud",
    "suse-sap-cloud",
    "ubuntu-os-accelerator-images",
    "ubuntu-os-cloud",
    "ubuntu-os-pro-cloud",
    "windows-cloud",
    "windows-sql-cloud",
];

/// Where a `gce` catalog URL points: one project on one Compute v1 base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceTarget {
    /// The project whose images are listed.
    pub project: String,
    /// The Compute v1 base, ending in `/compute/v1/`.
    pub endpoint: Url,
}

impl GceTarget {
    /// Reads `gce://PROJECT` or `gce+http://HOST[:PORT][/BASE]?project=P`.
    /// No user, password or other query key is taken (secrets never go in
    /// a URL); the project must match the API's project pattern.
    pub fn from_url(url: &Url) -> Result<GceTarget> {
        let bad = |why: &str| Error::config(Some(BACKEND), format!("{why} (in a gce catalog URL)"));
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("a user or password does not belong in the URL"));
        }
        let mut project = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "project" if project.is_none() => project = Some(value.into_owned()),
                "project" => return Err(bad("the query key project is given twice")),
                other => return Err(bad(&format!("unknown query key {other:?}"))),
            }
        }
        let (project, endpoint) = match url.scheme() {
            "gce" => {
                if project.is_some() || !matches!(url.path(), "" | "/") || url.port().is_some() {
                    return Err(bad(
                        "gce://PROJECT takes the project as its host and nothing else",
                    ));
                }
                let host = url.host_str().unwrap_or_default().to_owned();
                let endpoint = Url::parse(DEFAULT_ENDPOINT).map_err(|e| bad(&e.to_string()))?;
                (host, endpoint)
            }
            "gce+http" => {
                let Some(project) = project else {
                    return Err(bad("gce+http://HOST:PORT needs ?project=P"));
                };
                let host = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| bad("no host"))?;
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.to_owned()
                };
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                let base = url.path().trim_end_matches('/');
                let endpoint = Url::parse(&format!("http://{host}{port}{base}/compute/v1/"))
                    .map_err(|e| bad(&e.to_string()))?;
                (project, endpoint)
            }
            other => return Err(bad(&format!("the scheme {other:?} is not gce"))),
        };
        if !is_project(&project) {
            return Err(bad(&format!("{project:?} is not a GCE project id")));
        }
        Ok(GceTarget { project, endpoint })
    }

    /// The list URL of this project's images.
    pub fn images_url(&self) -> Result<Url> {
        self.endpoint
            .join(&format!("projects/{}/global/images", self.project))
            .map_err(|e| Error::config(Some(BACKEND), e))
    }
}

/// A project as the API's pattern allows it: an id (lower-case letters,
/// digits and `-`, 1–63, optionally after `domain:`) or a number (the
/// images' ids still come from their self links, which name the id).
pub(crate) fn is_project(project: &str) -> bool {
    let number = (1..=19).contains(&project.len()) && project.bytes().all(|b| b.is_ascii_digit());
    number
        || imagecat_core::IdRule::GcePath
            .canonical(&format!("projects/{project}/global/images/x"))
            .is_some()
}

/// The metadata server's token URL on `host` (`HOST[:PORT]`, as
/// `GCE_METADATA_HOST` gives it); `None` when it does not make a URL.
fn metadata_token_url(host: &str) -> Option<Url> {
    let url = Url::parse(&format!(
        "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
    ))
    .ok()?;
    let plain = url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path() == "/computeMetadata/v1/instance/service-accounts/default/token";
    plain.then_some(url)
}

/// A header value of plain visible ASCII.
fn reqwest_header_value(text: &str) -> Option<imagecat_http::reqwest::header::HeaderValue> {
    imagecat_http::reqwest::header::HeaderValue::from_str(text).ok()
}

/// How long before its expiry an issued token is renewed, by default.
pub const DEFAULT_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// How many times a delete's Operation is read before the wait gives up
/// (with the HTTP retry policy's backoff between reads, capped at its
/// largest delay: about five minutes with the defaults).
pub const DEFAULT_OPERATION_POLLS: u32 = 60;

/// Builds a [`GceCatalog`]: one project on one Compute v1 base.
///
/// Credentials, as Google's tools find them: a static access token
/// ([`GceBuilder::access_token`], `GOOGLE_OAUTH_ACCESS_TOKEN`), a
/// service-account key file ([`GceBuilder::service_account_key_file`],
/// `GOOGLE_APPLICATION_CREDENTIALS`), or the metadata server
/// ([`GceBuilder::metadata_server`]). A static token is sent first; a key
/// file (which wins over the metadata server) obtains and renews tokens,
/// and replaces a static token the server refuses.
///
/// ```
/// use imagecat_gce::GceCatalog;
/// use imagecat_http::SecretString;
///
/// let catalog = GceCatalog::builder()
///     .project("my-project")
///     .access_token(SecretString::new("ya29.secret-token"))
///     .build()
///     .unwrap();
/// assert!(!format!("{catalog:?}").contains("ya29"));
/// ```
#[derive(Clone)]
pub struct GceBuilder {
    project: Option<String>,
    endpoint: Option<String>,
    token: Option<SecretString>,
    key_file: Option<PathBuf>,
    metadata: Option<Url>,
    /// The metadata server was chosen because nothing else was found.
    metadata_fallback: bool,
    token_endpoint: Option<Url>,
    read_only: Option<bool>,
    operation_polls: u32,
    settings: BuilderSettings,
    renew_margin: Duration,
}

impl Default for GceBuilder {
    fn default() -> Self {
        GceBuilder {
            project: None,
            endpoint: None,
            token: None,
            key_file: None,
            metadata: None,
            metadata_fallback: false,
            token_endpoint: None,
            read_only: None,
            operation_polls: DEFAULT_OPERATION_POLLS,
            settings: BuilderSettings::default(),
            renew_margin: DEFAULT_RENEW_MARGIN,
        }
    }
}

impl fmt::Debug for GceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GceBuilder")
            .field("project", &self.project)
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("key_file", &self.key_file)
            .field("metadata", &self.metadata.as_ref().map(Url::as_str))
            .field(
                "token_endpoint",
                &self.token_endpoint.as_ref().map(Url::as_str),
            )
            .field("read_only", &self.read_only)
            .field("operation_polls", &self.operation_polls)
            .field("settings", &self.settings)
            .field("renew_margin", &self.renew_margin)
            .finish()
    }
}

impl GceBuilder {
    /// An empty builder: the public Compute v1 base, no project, no credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with the credentials Google's tools would find, in their
    /// order: an access token in `GOOGLE_OAUTH_ACCESS_TOKEN` (used as it
    /// is); the credentials file `GOOGLE_APPLICATION_CREDENTIALS` names,
    /// else the application-default credentials file
    /// (`$CLOUDSDK_CONFIG/application_default_credentials.json`, else
    /// `~/.config/gcloud/…`) when it exists; the metadata server at
    /// `GCE_METADATA_HOST` when set; and, when nothing else was found, the
    /// metadata server of a GCE instance. Unset or empty variables count as
    /// unset; this never fails ([`GceBuilder::build`] does).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`GceBuilder::from_env`] over any lookup of variables.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = Self::new();
        builder.token = var(ENV_ACCESS_TOKEN).map(|t| SecretString::new(t.trim()));
        builder.key_file = var(ENV_APPLICATION_CREDENTIALS)
            .map(PathBuf::from)
            .or_else(|| {
                let dir = match var(ENV_CLOUDSDK_CONFIG) {
                    Some(dir) => PathBuf::from(dir),
                    None => PathBuf::from(var("HOME")?).join(".config").join("gcloud"),
                };
                Some(dir.join(ADC_FILE_NAME)).filter(|path| path.is_file())
            });
        builder.metadata = match var(ENV_METADATA_HOST) {
            Some(host) => metadata_token_url(host.trim()),
            None if builder.token.is_none() && builder.key_file.is_none() => {
                builder.metadata_fallback = true;
                Url::parse(METADATA_TOKEN_URL).ok()
            }
            None => None,
        };
        builder
    }

    /// A builder from a catalog URL (`gce://PROJECT`,
    /// `gce+http://HOST:PORT?project=P`) and the caller's options; a token
    /// in the options is the static access token; the rest comes from the
    /// environment ([`GceBuilder::from_env`]).
    pub fn from_url(url: &Url, options: &OpenOptions) -> Result<Self> {
        let target = GceTarget::from_url(url)?;
        let mut builder = GceBuilder::from_env()
            .project(target.project)
            .endpoint(target.endpoint.as_str())
            .open_options(options);
        if let Some(token) = &options.credentials.token {
            builder = builder.access_token(token.clone());
        }
        Ok(builder)
    }

    /// The project whose images are listed (required).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The Compute v1 base (`https://compute.googleapis.com/compute/v1/` by
    /// default; `http://` for an emulator). Requests go to
    /// `{base}projects/{project}/global/images`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// An access token used as it is (Google's `GOOGLE_OAUTH_ACCESS_TOKEN`):
    /// alone, until the server refuses it.
    pub fn access_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self.drop_last_resort();
        self
    }

    /// Credentials were given after `from_env` found none: the metadata
    /// server it chose as the last resort is not used.
    fn drop_last_resort(&mut self) {
        if self.metadata_fallback {
            self.metadata = None;
            self.metadata_fallback = false;
        }
    }

    /// A service-account key file (JSON), read when the catalog is built
    /// (the same as [`GceBuilder::credentials_file`]).
    pub fn service_account_key_file(self, path: impl Into<PathBuf>) -> Self {
        self.credentials_file(path)
    }

    /// A credentials file (JSON) of type `service_account` or
    /// `authorized_user`, read when the catalog is built.
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self.drop_last_resort();
        self
    }

    /// The token endpoint the credentials file's grant uses instead of its
    /// `token_uri` (tests, a proxy); a service-account assertion's audience
    /// follows it.
    pub fn token_endpoint(mut self, url: Url) -> Self {
        self.token_endpoint = Some(url);
        self
    }

    /// Tokens from the metadata server ([`METADATA_TOKEN_URL`]), as on a GCE
    /// instance; used when no key file is set.
    pub fn metadata_server(self) -> Self {
        self.metadata_url(Url::parse(METADATA_TOKEN_URL).expect("a valid URL"))
    }

    /// Tokens from the metadata server at `HOST[:PORT]` (what
    /// `GCE_METADATA_HOST` says); a `Config` error when it is not one.
    pub fn metadata_host(self, host: &str) -> Result<Self> {
        let url = metadata_token_url(host.trim()).ok_or_else(|| {
            Error::config(
                Some(BACKEND),
                format!("{host:?} is not a metadata server's HOST[:PORT]"),
            )
        })?;
        Ok(self.metadata_url(url))
    }

    /// Tokens from a metadata server's token URL (tests, emulators).
    pub fn metadata_url(mut self, url: Url) -> Self {
        self.metadata = Some(url);
        self.metadata_fallback = false;
        self
    }

    /// Whether the project's images are listed read-only, as not the
    /// caller's (no delete is sent; default: when the project is one of
    /// [`PUBLIC_IMAGE_PROJECTS`]).
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = Some(yes);
        self
    }

    /// How many times a delete's Operation is read before giving up
    /// (default [`DEFAULT_OPERATION_POLLS`]; at least one).
    pub fn operation_polls(mut self, polls: u32) -> Self {
        self.operation_polls = polls.max(1);
        self
    }

    /// Checks the configuration and builds the catalog. `Config` errors: no
    /// or an invalid project, an endpoint that is not `http(s)://…`, no
    /// credentials, a key file that cannot be read or used, a token that
    /// cannot be sent in a header.
    pub fn build(self) -> Result<GceCatalog> {
        let bad = |why: String| Error::config(Some(BACKEND), why);
        let project = self
            .project
            .filter(|p| !p.is_empty())
            .ok_or_else(|| bad("no project".to_owned()))?;
        if !is_project(&project) {
            return Err(bad(format!("{project:?} is not a GCE project id")));
        }
        let text = self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let mut endpoint =
            Url::parse(text).map_err(|e| bad(format!("the endpoint is not a URL: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https")
            || endpoint.host_str().is_none_or(str::is_empty)
            || !endpoint.username().is_empty()
            || endpoint.password().is_some()
            || endpoint.query().is_some()
            || endpoint.fragment().is_some()
        {
            return Err(bad(
                "the endpoint must be http(s)://HOST[:PORT][/BASE/] without credentials or a query"
                    .to_owned(),
            ));
        }
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        let mut quota_project = None;
        let grant = match (&self.key_file, &self.metadata) {
            (Some(path), _) => {
                let text = std::fs::read(path).map_err(|e| {
                    bad(format!(
                        "cannot read the credentials file {}: {}",
                        path.display(),
                        e.kind()
                    ))
                })?;
                let token_uri = self.token_endpoint.as_ref().map(|u| u.as_str().to_owned());
                Some(match CredentialsFile::from_json(&text)? {
                    CredentialsFile::ServiceAccount(mut key) => {
                        if let Some(uri) = token_uri {
                            key.token_uri = uri;
                        }
                        GceGrant::ServiceAccount(Box::new(ServiceAccountGrant::new(
                            *key,
                            &[COMPUTE_SCOPE],
                        )))
                    }
                    CredentialsFile::AuthorizedUser(mut user) => {
                        if let Some(uri) = token_uri {
                            user.token_uri = uri;
                        }
                        quota_project = user.quota_project_id.clone();
                        GceGrant::AuthorizedUser(AuthorizedUserGrant::new(user))
                    }
                })
            }
            (None, Some(url)) => Some(GceGrant::Metadata(
                MetadataGrant::new(url.clone()).as_last_resort(self.metadata_fallback),
            )),
            (None, None) => None,
        };
        let token = self.token.filter(|t| !t.is_empty());
        let mut auth = TokenSource::new(
            BACKEND,
            TOKEN_HEADER,
            token
                .map(|t| SecretString::new(format!("Bearer {}", t.expose_secret())))
                .as_ref(),
            grant,
            self.renew_margin,
            "set an access token (GOOGLE_OAUTH_ACCESS_TOKEN), a credentials file \
             (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default credentials) \
             or the metadata server (GCE_METADATA_HOST)",
        )?;
        if let Some(project) = quota_project {
            // the project billed for a user's requests, as google-auth sends it
            let value = reqwest_header_value(&project).ok_or_else(|| {
                bad(format!(
                    "the quota project {project:?} is not a header value"
                ))
            })?;
            auth = auth.with_header(
                imagecat_http::reqwest::header::HeaderName::from_static("x-goog-user-project"),
                value,
            );
        }
        let http = HttpClient::new(
            BACKEND,
            self.settings.http.allow_http(endpoint.scheme() == "http"),
        )?;
        let read_only = self
            .read_only
            .unwrap_or_else(|| PUBLIC_IMAGE_PROJECTS.contains(&project.as_str()));
        let target = GceTarget { project, endpoint };
        Ok(Catalog::new(GceSource::from_parts(
            http,
            target,
            auth,
            self.operation_polls,
            read_only,
        ))
        .paging_options(self.settings.paging))
    }
}

imagecat_http::builder_setters!(
    GceBuilder,
    "`allow_http` is set from the endpoint's scheme whatever it says here.",
    renew_margin
);

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<GceTarget> {
        GceTarget::from_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn both_url_shapes() {
        let t = target("gce://debian-cloud").unwrap();
        assert_eq!(t.project, "debian-cloud");
        assert_eq!(t.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(
            t.images_url().unwrap().as_str(),
            "https://compute.googleapis.com/compute/v1/projects/debian-cloud/global/images"
        );
        assert_eq!(target("gce://1111111").unwrap().project, "1111111");
        let t = target("gce+http://127.0.0.1:18765?project=p1").unwrap();
        assert_eq!(t.endpoint.as_str(), "http://127.0.0.1:18765/compute/v1/");
        let t = target("gce+http://[::1]:8/base/?project=p1").unwrap();
        assert_eq!(t.endpoint.as_str(), "http://[::1]:8/base/compute/v1/");
    }

    #[test]
    fn the_environment_gives_the_token_and_the_key_file() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let b = GceBuilder::from_lookup(vars(&[
            (ENV_ACCESS_TOKEN, " ya29.env-secret \n"),
            (ENV_APPLICATION_CREDENTIALS, "/keys/sa.json"),
        ]));
        assert_eq!(
            b.token.as_ref().map(SecretString::expose_secret),
            Some("ya29.env-secret")
        );
        assert_eq!(
            b.key_file.as_deref(),
            Some(std::path::Path::new("/keys/sa.json"))
        );
        assert!(!format!("{b:?}").contains("env-secret"));
        let b = GceBuilder::from_lookup(vars(&[
            (ENV_ACCESS_TOKEN, "  "),
            (ENV_APPLICATION_CREDENTIALS, ""),
        ]));
        assert!(b.token.is_none() && b.key_file.is_none());
    }

    #[test]
    fn the_application_default_file_and_the_metadata_host() {
        let dir = std::env::temp_dir().join(format!("imagecat-gce-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let adc = dir.join(ADC_FILE_NAME);
        let _ = std::fs::remove_file(&adc);
        let dir_text = dir.to_str().unwrap().to_owned();
        let lookup = |pairs: Vec<(&'static str, String)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            }
        };
        // no file in CLOUDSDK_CONFIG: nothing found, the metadata server
        let b = GceBuilder::from_lookup(lookup(vec![(ENV_CLOUDSDK_CONFIG, dir_text.clone())]));
        assert!(b.key_file.is_none());
        assert_eq!(
            b.metadata.as_ref().map(Url::as_str),
            Some(METADATA_TOKEN_URL)
        );
        assert!(b.metadata_fallback, "chosen because nothing else was found");
        // the file once it exists; GOOGLE_APPLICATION_CREDENTIALS wins over it
        std::fs::write(&adc, b"{}").unwrap();
        let b = GceBuilder::from_lookup(lookup(vec![(ENV_CLOUDSDK_CONFIG, dir_text.clone())]));
        assert_eq!(b.key_file.as_deref(), Some(adc.as_path()));
        assert!(b.metadata.is_none());
        let b = GceBuilder::from_lookup(lookup(vec![
            (ENV_CLOUDSDK_CONFIG, dir_text.clone()),
            (ENV_APPLICATION_CREDENTIALS, "/keys/sa.json".into()),
        ]));
        assert_eq!(
            b.key_file.as_deref(),
            Some(std::path::Path::new("/keys/sa.json"))
        );
        // HOME/.config/gcloud when CLOUDSDK_CONFIG is unset
        let home = dir.join("home");
        std::fs::create_dir_all(home.join(".config/gcloud")).unwrap();
        std::fs::write(home.join(".config/gcloud").join(ADC_FILE_NAME), b"{}").unwrap();
        let b = GceBuilder::from_lookup(lookup(vec![("HOME", home.to_str().unwrap().into())]));
        assert_eq!(
            b.key_file.as_deref(),
            Some(home.join(".config/gcloud").join(ADC_FILE_NAME).as_path())
        );
        // GCE_METADATA_HOST names the metadata server, whatever else is set
        let b = GceBuilder::from_lookup(lookup(vec![
            (ENV_METADATA_HOST, "127.0.0.1:8089".into()),
            (ENV_ACCESS_TOKEN, "t".into()),
        ]));
        assert_eq!(
            b.metadata.as_ref().map(Url::as_str),
            Some(
                "http://127.0.0.1:8089/computeMetadata/v1/instance/service-accounts/default/token"
            )
        );
        assert!(!b.metadata_fallback);
        // a token given after the lookup found nothing replaces the last resort
        let b = GceBuilder::from_lookup(lookup(vec![])).access_token(SecretString::new("t"));
        assert!(b.metadata.is_none() && !b.metadata_fallback);
        let b = GceBuilder::from_lookup(lookup(vec![(ENV_METADATA_HOST, "127.0.0.1:1".into())]))
            .access_token(SecretString::new("t"));
        assert!(
            b.metadata.is_some(),
            "a metadata server named on purpose stays"
        );
        // a static token alone does not fall back to the metadata server
        let b = GceBuilder::from_lookup(lookup(vec![(ENV_ACCESS_TOKEN, "t".into())]));
        assert!(b.metadata.is_none());
        for bad in ["", "a/b", "u:p@h", "h?x=1", "h#f"] {
            assert!(GceBuilder::new().metadata_host(bad).is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_is_refused() {
        for url in [
            "gce://",
            "gce://Project",
            "gce://p1/x",
            "gce://p1?project=p2",
            "gce://user:secret@p1",
            "gce+http://127.0.0.1:1",
            "gce+http://127.0.0.1:1?project=p1&project=p2",
            "gce+http://127.0.0.1:1?project=p1&token=abc",
            "glance://p1",
        ] {
            let e = target(url).unwrap_err();
            assert_eq!(e.kind(), imagecat_core::ErrorKind::Config, "{url}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }
}

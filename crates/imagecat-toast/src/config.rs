//! [`ToastBuilder`]: endpoint, appkey, credentials and options of a
//! [`ToastCatalog`].

use std::fmt;
use std::time::Duration;

use imagecat_core::{BackendKind, Error, Result};
use imagecat_http::endpoint::{join_segments, parse_endpoint};
use imagecat_http::{BuilderSettings, CatalogUrl, HttpClient, OpenOptions, SecretString, Url};

use crate::auth::{AUTH_HEADER, Auth, PasswordGrant};
use crate::source::{Inner, ToastCatalog, ToastSource};
use imagecat_core::Catalog;

/// The backend's name, in errors, output and its URL schemes.
pub const BACKEND: BackendKind = BackendKind::Toast;

/// The URL schemes `from_url` opens: `toast://` (HTTPS) and `toast+http://`.
pub const SCHEMES: [&str; 2] = ["toast", "toast+http"];

/// Images per request when the query sets no page size: the largest page
/// the server serves (fewer, larger pages list faster, docs/benchmarks.md).
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;
/// The largest page size sent (Glance's `api_limit_max`).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The public v1.0 endpoint; its path `/compute` is the API base.
pub const DEFAULT_ENDPOINT: &str = "https://api-compute.cloud.toast.com/compute";

/// The API base used when the endpoint has no path.
pub(crate) const DEFAULT_BASE: &str = "/compute";

/// How long before `expires` an issued token is renewed, by default.
pub const DEFAULT_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// Environment variable of the endpoint.
pub const ENV_ENDPOINT: &str = "IMAGECAT_TOAST_ENDPOINT";
/// Environment variable of the appkey.
pub const ENV_APPKEY: &str = "IMAGECAT_TOAST_APPKEY";
/// Environment variable of a static token.
pub const ENV_TOKEN: &str = "IMAGECAT_TOAST_TOKEN";
/// Environment variable of the TOAST ID (e-mail) for the token API.
pub const ENV_USERNAME: &str = "IMAGECAT_TOAST_USERNAME";
/// Environment variable of the API password for the token API.
pub const ENV_PASSWORD: &str = "IMAGECAT_TOAST_PASSWORD";

/// Builds a [`ToastCatalog`].
///
/// ```
/// use imagecat_http::SecretString;
/// use imagecat_toast::ToastCatalog;
///
/// let catalog = ToastCatalog::builder()
///     .appkey("my-appkey")
///     .password("me@example.com", SecretString::new("api-password"))
///     .build()
///     .unwrap();
/// assert!(!format!("{catalog:?}").contains("api-password"));
/// ```
#[derive(Clone)]
pub struct ToastBuilder {
    endpoint: Option<String>,
    compute_endpoint: Option<String>,
    appkey: Option<String>,
    token: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
    settings: BuilderSettings,
    renew_margin: Duration,
}

impl Default for ToastBuilder {
    fn default() -> Self {
        ToastBuilder {
            endpoint: None,
            compute_endpoint: None,
            appkey: None,
            token: None,
            username: None,
            password: None,
            settings: BuilderSettings::default(),
            renew_margin: DEFAULT_RENEW_MARGIN,
        }
    }
}

impl fmt::Debug for ToastBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToastBuilder")
            .field("endpoint", &self.endpoint)
            .field("compute_endpoint", &self.compute_endpoint)
            .field("appkey", &self.appkey)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("settings", &self.settings)
            .field("renew_margin", &self.renew_margin)
            .finish()
    }
}

impl ToastBuilder {
    /// An empty builder: the default endpoint, no appkey, no credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from `IMAGECAT_TOAST_ENDPOINT`, `IMAGECAT_TOAST_APPKEY`,
    /// `IMAGECAT_TOAST_TOKEN`, `IMAGECAT_TOAST_USERNAME` and
    /// `IMAGECAT_TOAST_PASSWORD`. Unset (or empty) variables leave their
    /// setting unset; this never fails, [`ToastBuilder::build`] does.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`ToastBuilder::from_env`] over any lookup of variables.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = Self::new();
        builder.endpoint = var(ENV_ENDPOINT);
        builder.appkey = var(ENV_APPKEY);
        builder.token = var(ENV_TOKEN).map(SecretString::new);
        builder.username = var(ENV_USERNAME);
        builder.password = var(ENV_PASSWORD).map(SecretString::new);
        builder
    }

    /// The endpoint, `https://HOST[:PORT][/BASE]` (or `http://` for
    /// emulators). Its path is the API base; `/compute` when it has none.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The endpoint of the Compute Instance API v1.0, where usage lists
    /// instances (`{compute}/v1.0/appkeys/{appkey}/instances-detail`), in
    /// the same form as [`endpoint`](Self::endpoint). Default: the image
    /// endpoint, since NHN documents one base for both
    /// (`https://api-compute.cloud.toast.com/compute`).
    pub fn compute_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.compute_endpoint = Some(endpoint.into());
        self
    }

    /// The appkey of the project (required). It is percent-encoded into the
    /// path, so it can never change the path or the query.
    pub fn appkey(mut self, appkey: impl Into<String>) -> Self {
        self.appkey = Some(appkey.into());
        self
    }

    /// A static token. Alone, it is used until the server refuses it (then
    /// calls fail with `Unauthenticated`). With [`ToastBuilder::password`]
    /// too, it is used first and replaced through the token API when refused.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The TOAST ID (e-mail) and API password exchanged for tokens at
    /// `POST {base}/v1.0/appkeys/{appkey}/tokens`.
    pub fn password(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.username = Some(username.into());
        self.password = Some(password);
        self
    }

    /// Checks the configuration and builds the catalog. `Config` errors: no
    /// appkey, no credentials (or half a username/password pair), an
    /// endpoint that is not `http(s)://HOST[:PORT][/BASE]`, a token that
    /// cannot be sent in a header.
    pub fn build(self) -> Result<ToastCatalog> {
        let text = self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let base = parse_endpoint(BACKEND, text, DEFAULT_BASE)?;
        let appkey = self
            .appkey
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Error::config(Some(BACKEND), "no appkey"))?;
        let segment_error = |e: Error| {
            Error::config(
                Some(BACKEND),
                format!("the appkey cannot be used in a URL path: {e}"),
            )
        };
        let images_url = join_segments(BACKEND, &base, &["v1.0", "appkeys", &appkey, "images"])
            .map_err(segment_error)?;
        let tokens_url = join_segments(BACKEND, &base, &["v1.0", "appkeys", &appkey, "tokens"])
            .map_err(segment_error)?;
        let compute = match &self.compute_endpoint {
            Some(text) => parse_endpoint(BACKEND, text, DEFAULT_BASE)?,
            None => base.clone(),
        };
        let instances_url = join_segments(
            BACKEND,
            &compute,
            &["v1.0", "appkeys", &appkey, "instances-detail"],
        )
        .map_err(segment_error)?;
        let grant = match (self.username, self.password) {
            (Some(username), Some(password)) if !password.is_empty() => Some(PasswordGrant {
                username,
                password,
                tokens_url,
            }),
            (None, None) => None,
            (Some(_), _) => {
                return Err(Error::config(
                    Some(BACKEND),
                    "a username without an API password",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    Some(BACKEND),
                    "an API password without a username",
                ));
            }
        };
        let token = self.token.filter(|t| !t.is_empty());
        let auth = Auth::new(
            BACKEND,
            AUTH_HEADER,
            token.as_ref(),
            grant,
            self.renew_margin,
            "set a token, or a username and API password",
        )?;
        let http = HttpClient::new(
            BACKEND,
            self.settings.http.allow_http(base.scheme() == "http"),
        )?;
        Ok(Catalog::new(ToastSource::from_parts(Inner {
            http,
            base,
            appkey,
            images_url,
            instances_url,
            auth,
        }))
        .paging_options(self.settings.paging))
    }
}

impl ToastBuilder {
    /// A builder from a catalog URL, `toast://HOST[:PORT][/BASE]?appkey=KEY`
    /// (HTTPS) or `toast+http://…`, and the caller's options; what neither
    /// sets comes from the environment ([`ToastBuilder::from_env`]).
    pub fn from_url(url: &Url, options: &OpenOptions) -> Result<Self> {
        let url = CatalogUrl::parse(url, BACKEND, &["appkey"])?;
        let mut builder = ToastBuilder::from_env()
            .endpoint(url.endpoint()?)
            .open_options(options);
        if let Some(appkey) = url.param("appkey") {
            builder = builder.appkey(appkey);
        }
        let creds = &options.credentials;
        if let Some(token) = &creds.token {
            builder = builder.token(token.clone());
        }
        if let (Some(user), Some(password)) = (&creds.username, &creds.password) {
            builder = builder.password(user.clone(), password.clone());
        }
        Ok(builder)
    }
}

imagecat_http::builder_setters!(
    ToastBuilder,
    "`allow_http` is set from the endpoint's scheme whatever it says here.",
    renew_margin
);

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::{ErrorKind, ImageCatalog};
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> ToastBuilder {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ToastBuilder::from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn from_env_reads_every_variable_and_leaves_missing_ones_unset() {
        let b = from(&[
            (ENV_ENDPOINT, "http://127.0.0.1:9/base"),
            (ENV_APPKEY, "key"),
            (ENV_TOKEN, "tok-secret"),
            (ENV_USERNAME, "me@example.com"),
            (ENV_PASSWORD, "pw-secret"),
        ]);
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:9/base"));
        assert_eq!(b.appkey.as_deref(), Some("key"));
        assert_eq!(
            b.token.as_ref().map(SecretString::expose_secret),
            Some("tok-secret")
        );
        assert_eq!(b.username.as_deref(), Some("me@example.com"));
        let shown = format!("{b:?}");
        assert!(
            !shown.contains("tok-secret") && !shown.contains("pw-secret"),
            "{shown}"
        );
        let catalog = b.build().unwrap();
        assert_eq!(catalog.info().endpoint, "http://127.0.0.1:9/base");
        let shown = format!("{catalog:?} {:?}", catalog.info());
        assert!(
            !shown.contains("tok-secret") && !shown.contains("pw-secret"),
            "{shown}"
        );

        let empty = from(&[(ENV_APPKEY, " "), (ENV_TOKEN, "")]);
        assert!(empty.appkey.is_none() && empty.token.is_none() && empty.endpoint.is_none());
    }

    #[test]
    fn build_refuses_incomplete_configurations() {
        let token = || SecretString::new("t");
        let cases = [
            ToastBuilder::new().token(token()),
            ToastBuilder::new().appkey("").token(token()),
            ToastBuilder::new().appkey("k"),
            ToastBuilder::new().appkey("..").token(token()),
            ToastBuilder::new().appkey(".").token(token()),
            ToastBuilder::new()
                .appkey("k")
                .token(SecretString::new("bad\ntoken")),
            ToastBuilder::new()
                .appkey("k")
                .token(token())
                .endpoint("ftp://h/"),
            ToastBuilder::new()
                .appkey("k")
                .token(token())
                .endpoint("https://u:p@h/"),
            ToastBuilder::new()
                .appkey("k")
                .token(token())
                .endpoint("https://h/?appkey=k"),
            ToastBuilder::new()
                .appkey("k")
                .token(token())
                .endpoint("not a url"),
            from(&[(ENV_APPKEY, "k"), (ENV_USERNAME, "me@example.com")]),
            from(&[(ENV_APPKEY, "k"), (ENV_PASSWORD, "pw")]),
        ];
        for builder in cases {
            let shown = format!("{builder:?}");
            let e = builder.build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{shown}: {e}");
        }
    }

    #[test]
    fn endpoint_path_is_the_base_and_defaults_to_compute() {
        let build = |endpoint: &str| {
            ToastBuilder::new()
                .endpoint(endpoint)
                .appkey("k")
                .token(SecretString::new("t"))
                .build()
                .unwrap()
        };
        assert_eq!(
            ToastBuilder::new()
                .appkey("k")
                .token(SecretString::new("t"))
                .build()
                .unwrap()
                .info()
                .endpoint,
            DEFAULT_ENDPOINT
        );
        assert_eq!(build("https://h").info().endpoint, "https://h/compute");
        assert_eq!(
            build("https://h:8443/").info().endpoint,
            "https://h:8443/compute"
        );
        assert_eq!(build("http://h/api/v/").info().endpoint, "http://h/api/v");
        assert_eq!(
            build("https://h/x").source().base_url().as_str(),
            "https://h/x"
        );
    }

    #[test]
    fn the_instance_api_defaults_to_the_image_base_and_can_be_moved() {
        let builder = || {
            ToastBuilder::new()
                .endpoint("https://h/api")
                .appkey("k/ey")
                .token(SecretString::new("t"))
        };
        assert_eq!(
            builder().build().unwrap().source().instances_url().as_str(),
            "https://h/api/v1.0/appkeys/k%2Fey/instances-detail"
        );
        let moved = builder()
            .compute_endpoint("https://c:8443")
            .build()
            .unwrap();
        assert_eq!(
            moved.source().instances_url().as_str(),
            "https://c:8443/compute/v1.0/appkeys/k%2Fey/instances-detail"
        );
        let e = builder().compute_endpoint("ftp://c").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}

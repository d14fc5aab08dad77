//! What opening a catalog from a URL shares across adapters: the
//! [`OpenOptions`] and [`Credentials`] a caller gives on top of the URL,
//! and [`CatalogUrl`], the URL as an adapter's `from_url` reads it (its
//! query keys checked against the adapter's, its endpoint, never a
//! credential). The facade's scheme table calls each adapter's `from_url`.

use imagecat_core::{BackendKind, Error, PagingOptions, Result};
use url::Url;

use crate::{HttpOptions, SecretString};

/// Credentials for a catalog, given by the config file or the caller
/// (never by the URL). TOAST takes a token or a user name and API password;
/// Glance takes a token (Keystone password auth comes from the `OS_*`
/// environment); DCMGR needs none; GCE takes a token; EC2 takes an access
/// key id and secret access key as user name and password (a token with
/// them is the session token).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// A static token (TOAST).
    pub token: Option<SecretString>,
    /// A user name for a token exchange (TOAST).
    pub username: Option<String>,
    /// The API password for a token exchange (TOAST).
    pub password: Option<SecretString>,
}

impl Credentials {
    /// No credentials: the adapters read their environment variables.
    pub fn none() -> Self {
        Self::default()
    }

    /// A static token.
    pub fn token(token: SecretString) -> Self {
        Credentials {
            token: Some(token),
            ..Self::default()
        }
    }

    /// A user name and API password.
    pub fn password(username: impl Into<String>, password: SecretString) -> Self {
        Credentials {
            username: Some(username.into()),
            password: Some(password),
            ..Self::default()
        }
    }
}

/// How to open a catalog: credentials and client options on top of the URL.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Credentials; when empty, each adapter reads its environment variables.
    pub credentials: Credentials,
    /// HTTP client options; `None` for the defaults.
    pub http: Option<HttpOptions>,
    /// Pagination engine options; `None` for the defaults.
    pub paging: Option<PagingOptions>,
    /// The OpenStack cloud of `clouds.yaml` for `glance` URLs (`--os-cloud`);
    /// a `?cloud=` in the URL wins; `None` leaves `OS_CLOUD` in charge.
    pub os_cloud: Option<String>,
}

impl OpenOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the HTTP client options.
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = Some(http);
        self
    }

    /// Sets the pagination engine options.
    pub fn paging(mut self, paging: PagingOptions) -> Self {
        self.paging = Some(paging);
        self
    }

    /// Selects the OpenStack cloud of `clouds.yaml` for `glance` URLs.
    pub fn os_cloud(mut self, name: impl Into<String>) -> Self {
        self.os_cloud = Some(name.into());
        self
    }
}

/// A catalog URL as an adapter's `from_url` reads it: the query keys the
/// adapter takes (any other is a `Config` error listing them), and the
/// endpoint (`https://host:port/base`, or `http://` for a `…+http`
/// scheme). A user name or password in the URL is refused: credentials
/// never go in a catalog URL.
#[derive(Debug)]
pub struct CatalogUrl<'a> {
    url: &'a Url,
    backend: BackendKind,
    params: Vec<(String, String)>,
}

impl<'a> CatalogUrl<'a> {
    /// Reads the URL's query, refusing keys not in `valid`.
    pub fn parse(url: &'a Url, backend: BackendKind, valid: &[&str]) -> Result<Self> {
        let mut params = Vec::new();
        for (key, value) in url.query_pairs() {
            if !valid.contains(&key.as_ref()) {
                let valid = if valid.is_empty() {
                    "none".to_owned()
                } else {
                    valid.join(", ")
                };
                return Err(Error::config(
                    Some(backend),
                    format!("unknown query key {key:?} in catalog URL; valid keys: {valid}"),
                ));
            }
            params.push((key.into_owned(), value.into_owned()));
        }
        Ok(CatalogUrl {
            url,
            backend,
            params,
        })
    }

    /// The value of a query key (the last one when repeated).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the URL names a host.
    pub fn has_host(&self) -> bool {
        self.url.host_str().is_some_and(|h| !h.is_empty())
    }

    /// The adapter endpoint: `https://host[:port][/base]`, `http://…` for
    /// a scheme ending in `+http`.
    pub fn endpoint(&self) -> Result<String> {
        let url = self.url;
        let plain = url.scheme().ends_with("+http");
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::config(Some(self.backend), "the catalog URL has no host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                Some(self.backend),
                "credentials never go in a catalog URL; use the environment or the config file",
            ));
        }
        let mut endpoint = format!("{}://{host}", if plain { "http" } else { "https" });
        if let Some(port) = url.port() {
            endpoint.push_str(&format!(":{port}"));
        }
        endpoint.push_str(url.path());
        Ok(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    fn endpoint(url: &str) -> Result<String> {
        let url = Url::parse(url).unwrap();
        CatalogUrl::parse(&url, BackendKind::Toast, &["appkey"])?.endpoint()
    }

    #[test]
    fn endpoint_keeps_port_and_base() {
        assert_eq!(
            endpoint("toast+http://127.0.0.1:8080/compute?appkey=k").unwrap(),
            "http://127.0.0.1:8080/compute"
        );
        assert_eq!(
            endpoint("dcmgr://dcmgr.example.com").unwrap(),
            "https://dcmgr.example.com"
        );
    }

    #[test]
    fn credentials_and_unknown_keys_are_refused() {
        let e = endpoint("toast://user:pw@h/?appkey=k").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.to_string().contains("pw"), "{e}");
        let e = endpoint("toast://h/?appkey=k&token=t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("valid keys: appkey"), "{e}");
        assert!(endpoint("toast:?appkey=k").is_err());
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        let url = Url::parse("toast://h/?appkey=a&appkey=b").unwrap();
        let parsed = CatalogUrl::parse(&url, BackendKind::Toast, &["appkey"]).unwrap();
        assert_eq!(parsed.param("appkey"), Some("b"));
        assert_eq!(parsed.param("other"), None);
    }
}

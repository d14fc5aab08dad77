//! Configuration: [`DcmgrBuilder`], the environment variables, and the
//! validation of account and image ids.

use imagecat_core::{BackendKind, Error, ImageId, Result};
use imagecat_http::{BuilderSettings, CatalogUrl, HttpClient, OpenOptions, Url, endpoint};

use crate::source::{DcmgrCatalog, DcmgrSource};
use imagecat_core::Catalog;

/// The backend's name, in errors, output and its URL schemes.
pub const BACKEND: BackendKind = BackendKind::Dcmgr;

/// The URL schemes `from_url` opens: `dcmgr://` (HTTPS) and `dcmgr+http://`.
pub const SCHEMES: [&str; 2] = ["dcmgr", "dcmgr+http"];

/// The API base used when the endpoint has no path.
pub const DEFAULT_BASE: &str = "/api/12.03";

/// The environment variable holding the endpoint (`https://host:9001[/base]`).
pub const ENV_ENDPOINT: &str = "IMAGECAT_DCMGR_ENDPOINT";

/// The environment variable holding the account id (`a-…`).
pub const ENV_ACCOUNT: &str = "IMAGECAT_DCMGR_ACCOUNT";

/// The header that carries the account id.
pub const ACCOUNT_HEADER: &str = "X-VDC-Account-UUID";

/// The page size used when a query sets none: the server's own default.
pub const DEFAULT_PAGE_SIZE: u32 = 250;

/// The largest page size requested (the server has no cap; larger pages only
/// make larger bodies and slower first results).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Builds a [`DcmgrCatalog`].
///
/// ```
/// use imagecat_dcmgr::DcmgrCatalog;
///
/// let catalog = DcmgrCatalog::builder()
///     .endpoint("http://127.0.0.1:9001")
///     .account("a-shpoolxx")
///     .build()
///     .unwrap();
/// # let _ = catalog;
/// ```
#[derive(Debug, Default, Clone)]
pub struct DcmgrBuilder {
    endpoint: Option<String>,
    account: Option<String>,
    settings: BuilderSettings,
}

impl DcmgrBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with the endpoint and account from `IMAGECAT_DCMGR_ENDPOINT`
    /// and `IMAGECAT_DCMGR_ACCOUNT` when they are set and not empty. Never
    /// fails: a bad value is reported by [`DcmgrBuilder::build`].
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`DcmgrBuilder::from_env`], reading variables through `lookup`.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        DcmgrBuilder {
            endpoint: get(ENV_ENDPOINT),
            account: get(ENV_ACCOUNT).map(|a| a.trim().to_owned()),
            ..Self::default()
        }
    }

    /// The endpoint: `https://host[:port][/base]`, or `http://` for plain
    /// HTTP. The path is the API base; without one, [`DEFAULT_BASE`]. Use
    /// `…/api` for the legacy layout.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The account (`a-` followed by word characters), sent as
    /// `X-VDC-Account-UUID`. Without one the server shows everything (the
    /// administrator's view of 12.03).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Builds the catalog: `Config` error without an endpoint, with a bad
    /// endpoint or with a malformed account.
    pub fn build(self) -> Result<DcmgrCatalog> {
        let text = self
            .endpoint
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                Error::config(
                    Some(BACKEND),
                    format!("no endpoint: set {ENV_ENDPOINT} or call DcmgrBuilder::endpoint"),
                )
            })?;
        let base = endpoint::parse_endpoint(BACKEND, &text, DEFAULT_BASE)?;
        if let Some(account) = &self.account {
            validate_account(account)?;
        }
        let mut http = self.settings.http;
        http.allow_http = base.scheme() == "http";
        let client = HttpClient::new(BACKEND, http)?;
        Ok(
            Catalog::new(DcmgrSource::from_parts(client, base, self.account))
                .paging_options(self.settings.paging),
        )
    }
}

impl DcmgrBuilder {
    /// A builder from a catalog URL, `dcmgr://HOST[:PORT][/BASE][?account=a-…]`
    /// (HTTPS) or `dcmgr+http://…`, and the caller's options; what neither
    /// sets comes from the environment ([`DcmgrBuilder::from_env`]).
    pub fn from_url(url: &Url, options: &OpenOptions) -> Result<Self> {
        let url = CatalogUrl::parse(url, BACKEND, &["account"])?;
        let mut builder = DcmgrBuilder::from_env()
            .endpoint(url.endpoint()?)
            .open_options(options);
        if let Some(account) = url.param("account") {
            builder = builder.account(account);
        }
        Ok(builder)
    }
}

imagecat_http::builder_setters!(
    DcmgrBuilder,
    "`allow_http` is ignored: the endpoint's scheme decides."
);

fn is_word(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks an account id: `a-` followed by 1–255 word characters
/// (`[A-Za-z0-9_]`). A `Config` error otherwise.
pub fn validate_account(account: &str) -> Result<()> {
    match account.strip_prefix("a-") {
        Some(rest) if !rest.is_empty() && rest.len() <= 255 && is_word(rest) => Ok(()),
        _ => Err(Error::config(
            Some(BACKEND),
            format!(
                "invalid account {account:?}: expected a- followed by 1-255 characters of [A-Za-z0-9_]"
            ),
        )),
    }
}

/// Checks an image id: `wmi-` followed by 1–255 word characters
/// (`[A-Za-z0-9_]`), exactly. An `InvalidInput` error otherwise, raised
/// before any request is built.
pub fn validate_image_id(id: &ImageId) -> Result<()> {
    let s = id.as_str();
    match s.strip_prefix("wmi-") {
        Some(rest) if !rest.is_empty() && rest.len() <= 255 && is_word(rest) => Ok(()),
        _ => Err(Error::invalid_input(
            BACKEND,
            format!(
                "invalid image id {s:?}: expected wmi- followed by 1-255 characters of [A-Za-z0-9_]"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::{ErrorKind, ImageCatalog};
    use imagecat_http::HttpOptions;

    #[test]
    fn image_ids() {
        for ok in ["wmi-4yalh576", "wmi-centos1d64", "wmi-A_b9", "wmi-x"] {
            assert!(validate_image_id(&ok.into()).is_ok(), "{ok}");
        }
        let long_ok = format!("wmi-{}", "a".repeat(255));
        assert!(validate_image_id(&long_ok.as_str().into()).is_ok());
        let too_long = format!("wmi-{}", "a".repeat(256));
        for bad in [
            "",
            "wmi-",
            "WMI-abc",
            "wmi-a/b",
            "wmi-a?x=1",
            "wmi-../../instances",
            "4yalh576",
            "i-4yalh576",
            "wmi-a b",
            "wmi-a.json",
            "wmi-a-b",
            "wmi-é",
            "wmi-a\n",
            too_long.as_str(),
        ] {
            let e = validate_image_id(&bad.into()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn accounts() {
        for ok in ["a-shpoolxx", "a-00000000", "a-X_1"] {
            assert!(validate_account(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a-",
            "shpoolxx",
            "A-x",
            "a-x y",
            "a-x\r\nX-Evil: 1",
            "a-x/y",
        ] {
            assert_eq!(
                validate_account(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }

    #[test]
    fn build_needs_an_endpoint_and_a_good_account() {
        let e = DcmgrBuilder::new().build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains(ENV_ENDPOINT), "{e}");
        let e = DcmgrBuilder::new()
            .endpoint("http://h:9001")
            .account("shpoolxx")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        for bad in ["ftp://h", "http://u:p@h/", "http://h/?x=1", "not a url"] {
            let e = DcmgrBuilder::new().endpoint(bad).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn base_defaults_and_scheme_decides_http() {
        let c = DcmgrBuilder::new()
            .endpoint("http://h:9001")
            .build()
            .unwrap();
        assert_eq!(c.info().endpoint, "http://h:9001/api/12.03");
        assert!(c.source().http_options().allow_http);
        let c = DcmgrBuilder::new()
            .endpoint("https://h/api/")
            .http_options(HttpOptions::default().allow_http(true))
            .build()
            .unwrap();
        assert_eq!(c.info().endpoint, "https://h/api");
        assert!(!c.source().http_options().allow_http);
    }

    #[test]
    fn environment() {
        let env = |name: &str| match name {
            ENV_ENDPOINT => Some("http://h:9001/api".to_owned()),
            ENV_ACCOUNT => Some(" a-shpoolxx ".to_owned()),
            _ => None,
        };
        let c = DcmgrBuilder::from_lookup(env).build().unwrap();
        assert_eq!(c.info().endpoint, "http://h:9001/api");
        assert_eq!(c.source().account(), Some("a-shpoolxx"));
        let empty = DcmgrBuilder::from_lookup(|_| Some(String::new()));
        assert_eq!(empty.build().unwrap_err().kind(), ErrorKind::Config);
        let bad = DcmgrBuilder::from_lookup(|name| match name {
            ENV_ENDPOINT => Some("http://h".to_owned()),
            _ => Some("nope".to_owned()),
        });
        assert_eq!(bad.build().unwrap_err().kind(), ErrorKind::Config);
        // from_env itself never fails
        let _ = DcmgrBuilder::from_env();
    }
}

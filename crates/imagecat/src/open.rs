//! Opening a catalog from a URL: `toast://`, `dcmgr://`, `memory:` and their
//! `+http` forms.

use std::sync::Arc;

use imagecat_core::{BackendKind, DynImageCatalog, Error, InMemoryCatalog, Result};
use imagecat_http::{HttpOptions, SecretString};
use url::Url;

/// The schemes `open` knows, whether or not their backend is compiled in.
pub const KNOWN_SCHEMES: [&str; 7] = [
    "toast",
    "toast+http",
    "dcmgr",
    "dcmgr+http",
    "glance",
    "glance+http",
    "memory",
];

/// Credentials for a catalog, given by the config file or the caller
/// (never by the URL). TOAST takes a token or a user name and API password;
/// Glance takes a token (Keystone password auth comes from the `OS_*`
/// environment); DCMGR needs none.
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
    pub paging: Option<imagecat_core::PagingOptions>,
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
    pub fn paging(mut self, paging: imagecat_core::PagingOptions) -> Self {
        self.paging = Some(paging);
        self
    }

    /// Selects the OpenStack cloud of `clouds.yaml` for `glance` URLs.
    pub fn os_cloud(mut self, name: impl Into<String>) -> Self {
        self.os_cloud = Some(name.into());
        self
    }
}

/// Opens a catalog from a URL, with credentials from the environment.
///
/// - `toast://HOST[:PORT][/BASE]?appkey=KEY` (HTTPS), `toast+http://…` (plain HTTP);
/// - `dcmgr://HOST[:PORT][/BASE][?account=a-…]` (HTTPS), `dcmgr+http://…`;
/// - `glance://HOST[:PORT][/BASE][?region=R][&cloud=NAME]` (HTTPS),
///   `glance+http://…` (the image endpoint; credentials from `OS_*`, the
///   config file or the cloud `NAME` of `clouds.yaml`); `glance://?cloud=NAME`
///   (or `glance:` with `OS_CLOUD`) takes the endpoint from the cloud too;
///   `compute=URL` and `volume=URL` name the Nova and Cinder endpoints for
///   usage when no Keystone catalog does;
/// - `memory:` or `memory:?images=N`, an in-memory catalog of sample images.
///
/// An unknown scheme or query key is a `Config` error listing the valid
/// ones; a scheme whose Cargo feature is off is `NotSupported` naming it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> imagecat::Result<()> {
/// use imagecat::{ImageCatalogExt, ListQuery};
/// let catalog = imagecat::open("memory:?images=5")?;
/// assert_eq!(catalog.collect(ListQuery::new()).await?.len(), 5);
/// assert!(imagecat::open("ftp://example.com").is_err());
/// # Ok(())
/// # }
/// ```
pub fn open(spec: &str) -> Result<DynImageCatalog> {
    open_with(spec, &OpenOptions::default())
}

/// Opens a catalog from a URL with explicit credentials and options.
pub fn open_with(spec: &str, options: &OpenOptions) -> Result<DynImageCatalog> {
    let url = Url::parse(spec.trim()).map_err(|e| {
        Error::config(None, format!("invalid catalog URL {spec:?}: {e}")).with_source(e)
    })?;
    let scheme = url.scheme().to_owned();
    match scheme.as_str() {
        "memory" => open_memory(&url),
        "toast" | "toast+http" => open_toast(&url, options),
        "dcmgr" | "dcmgr+http" => open_dcmgr(&url, options),
        "glance" | "glance+http" => open_glance(&url, options),
        other => Err(Error::config(
            None,
            format!(
                "unknown catalog scheme {other:?}; known schemes: {}",
                KNOWN_SCHEMES.join(", ")
            ),
        )),
    }
}

/// The query parameters of a catalog URL, refusing unknown keys.
fn query_params(
    url: &Url,
    backend: Option<BackendKind>,
    valid: &[&str],
) -> Result<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (key, value) in url.query_pairs() {
        if !valid.contains(&key.as_ref()) {
            let valid = if valid.is_empty() {
                "none".to_owned()
            } else {
                valid.join(", ")
            };
            return Err(Error::config(
                backend,
                format!("unknown query key {key:?} in catalog URL; valid keys: {valid}"),
            ));
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The adapter endpoint (`https://host:port/base`) of a catalog URL.
#[cfg_attr(
    not(any(feature = "toast", feature = "dcmgr", feature = "glance")),
    allow(dead_code)
)]
fn http_endpoint(url: &Url, backend: BackendKind) -> Result<String> {
    let plain = url.scheme().ends_with("+http");
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::config(Some(backend), "the catalog URL has no host"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            Some(backend),
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

fn open_memory(url: &Url) -> Result<DynImageCatalog> {
    let params = query_params(url, Some(BackendKind::Memory), &["images"])?;
    let images = match param(&params, "images") {
        Some(n) => n.parse::<usize>().map_err(|_| {
            Error::config(
                Some(BackendKind::Memory),
                format!("images={n:?} is not a count"),
            )
        })?,
        None => 12,
    };
    Ok(Arc::new(
        InMemoryCatalog::with_samples(images)
            .soft_delete(true)
            .with_instances(Vec::new()),
    ))
}

#[cfg(feature = "toast")]
fn open_toast(url: &Url, options: &OpenOptions) -> Result<DynImageCatalog> {
    let backend = BackendKind::Toast;
    let params = query_params(url, Some(backend), &["appkey"])?;
    let mut builder =
        imagecat_toast::ToastBuilder::from_env().endpoint(http_endpoint(url, backend)?);
    if let Some(appkey) = param(&params, "appkey") {
        builder = builder.appkey(appkey);
    }
    let creds = &options.credentials;
    if let Some(token) = &creds.token {
        builder = builder.token(token.clone());
    }
    if let (Some(user), Some(password)) = (&creds.username, &creds.password) {
        builder = builder.password(user.clone(), password.clone());
    }
    if let Some(http) = &options.http {
        builder = builder.http_options(http.clone());
    }
    if let Some(paging) = options.paging {
        builder = builder.paging_options(paging);
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(not(feature = "toast"))]
fn open_toast(_url: &Url, _options: &OpenOptions) -> Result<DynImageCatalog> {
    Err(Error::new(
        imagecat_core::ErrorKind::NotSupported,
        "the toast backend is not compiled in; enable the `toast` feature of imagecat",
    )
    .with_backend(BackendKind::Toast))
}

#[cfg(feature = "dcmgr")]
fn open_dcmgr(url: &Url, options: &OpenOptions) -> Result<DynImageCatalog> {
    let backend = BackendKind::Dcmgr;
    let params = query_params(url, Some(backend), &["account"])?;
    let mut builder =
        imagecat_dcmgr::DcmgrBuilder::from_env().endpoint(http_endpoint(url, backend)?);
    if let Some(account) = param(&params, "account") {
        builder = builder.account(account);
    }
    if let Some(http) = &options.http {
        builder = builder.http_options(http.clone());
    }
    if let Some(paging) = options.paging {
        builder = builder.paging_options(paging);
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(not(feature = "dcmgr"))]
fn open_dcmgr(_url: &Url, _options: &OpenOptions) -> Result<DynImageCatalog> {
    Err(Error::new(
        imagecat_core::ErrorKind::NotSupported,
        "the dcmgr backend is not compiled in; enable the `dcmgr` feature of imagecat",
    )
    .with_backend(BackendKind::Dcmgr))
}

#[cfg(feature = "glance")]
fn open_glance(url: &Url, options: &OpenOptions) -> Result<DynImageCatalog> {
    let backend = BackendKind::Glance;
    let params = query_params(
        url,
        Some(backend),
        &["region", "cloud", "compute", "volume"],
    )?;
    let mut builder = imagecat_glance::GlanceBuilder::from_env();
    if url.host_str().is_some_and(|h| !h.is_empty()) {
        builder = builder.endpoint(http_endpoint(url, backend)?);
    }
    if let Some(region) = param(&params, "region") {
        builder = builder.region(region);
    }
    if let Some(cloud) = param(&params, "cloud").or(options.os_cloud.as_deref()) {
        builder = builder.cloud(cloud);
    }
    if let Some(compute) = param(&params, "compute") {
        builder = builder.compute_endpoint(compute);
    }
    if let Some(volume) = param(&params, "volume") {
        builder = builder.volume_endpoint(volume);
    }
    if let Some(token) = &options.credentials.token {
        builder = builder.token(token.clone());
    }
    if let Some(http) = &options.http {
        builder = builder.http_options(http.clone());
    }
    if let Some(paging) = options.paging {
        builder = builder.paging_options(paging);
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(not(feature = "glance"))]
fn open_glance(_url: &Url, _options: &OpenOptions) -> Result<DynImageCatalog> {
    Err(Error::new(
        imagecat_core::ErrorKind::NotSupported,
        "the glance backend is not compiled in; enable the `glance` feature of imagecat",
    )
    .with_backend(BackendKind::Glance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn unknown_scheme_lists_the_known_ones() {
        let e = open("s3://bucket").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let text = e.to_string();
        for s in KNOWN_SCHEMES {
            assert!(text.contains(s), "{text}");
        }
    }

    #[test]
    fn unknown_query_key_lists_the_valid_ones() {
        let e = open("memory:?pages=3").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("valid keys: images"), "{e}");
    }

    #[cfg(feature = "glance")]
    #[test]
    fn glance_urls_name_the_usage_endpoints() {
        use imagecat_core::usage::UsageScope;
        let options = OpenOptions::new().credentials(Credentials::token(SecretString::new("t")));
        let with = open_with(
            "glance+http://127.0.0.1:9?compute=http%3A%2F%2F127.0.0.1%3A8774%2Fv2.1&volume=http://127.0.0.1:8776/v3/p",
            &options,
        )
        .unwrap();
        assert_eq!(with.info().capabilities.usage, Some(UsageScope::AllTenants));
        let without = open_with("glance+http://127.0.0.1:9", &options).unwrap();
        assert_eq!(without.info().capabilities.usage, None);
        let bad = open_with("glance+http://127.0.0.1:9?compute=ftp://x", &options).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::Config);
        assert!(bad.to_string().contains("compute"), "{bad}");
    }

    #[cfg(not(feature = "toast"))]
    #[test]
    fn toast_without_its_feature_is_not_supported() {
        let e = open("toast://h/?appkey=k").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        assert!(e.to_string().contains("`toast` feature"), "{e}");
    }

    #[cfg(not(feature = "dcmgr"))]
    #[test]
    fn dcmgr_without_its_feature_is_not_supported() {
        let e = open("dcmgr://h").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        assert!(e.to_string().contains("`dcmgr` feature"), "{e}");
    }

    #[cfg(not(feature = "glance"))]
    #[test]
    fn glance_without_its_feature_is_not_supported() {
        let e = open("glance://h").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        assert!(e.to_string().contains("`glance` feature"), "{e}");
    }

    #[test]
    fn memory_catalog_opens() {
        let c = open("memory:").unwrap();
        assert_eq!(c.info().backend, BackendKind::Memory);
    }

    #[test]
    fn endpoint_keeps_port_and_base() {
        let url = Url::parse("toast+http://127.0.0.1:8080/compute?appkey=k").unwrap();
        assert_eq!(
            http_endpoint(&url, BackendKind::Toast).unwrap(),
            "http://127.0.0.1:8080/compute"
        );
        let url = Url::parse("dcmgr://dcmgr.example.com").unwrap();
        assert_eq!(
            http_endpoint(&url, BackendKind::Dcmgr).unwrap(),
            "https://dcmgr.example.com"
        );
    }
}

//! Opening a catalog from a URL through a table of schemes: each backend
//! contributes one entry (its name, its URL schemes and its `from_url`,
//! which lives in the adapter's `config.rs`), so a new backend edits no
//! match arm here and no enum in core. An entry whose Cargo feature is off
//! still knows its schemes and answers `NotSupported` naming the feature.

use std::sync::Arc;

use imagecat_core::{BackendKind, DynImageCatalog, Error, ErrorKind, InMemoryCatalog, Result};
use imagecat_http::CatalogUrl;
pub use imagecat_http::{Credentials, OpenOptions};
use url::Url;

/// Opens a catalog of one backend from a parsed URL.
type Opener = fn(&Url, &OpenOptions) -> Result<DynImageCatalog>;

/// One backend `open` knows, compiled in or not.
struct Scheme {
    /// The backend's name (and its Cargo feature's).
    name: &'static str,
    /// The URL schemes that select it.
    schemes: &'static [&'static str],
    /// Its opener; `None` when its feature is off.
    open: Option<Opener>,
}

/// One table entry for an adapter crate behind the Cargo feature of its
/// name: `toast`, `toast+http` and the crate's `from_url`. With the
/// feature on, the schemes are the adapter's own `SCHEMES` (a test checks
/// that they are the two this entry names when it is off).
macro_rules! adapter {
    ($name:literal, $krate:ident :: $builder:ident) => {{
        #[cfg(feature = $name)]
        const ENTRY: Scheme = Scheme {
            name: $name,
            schemes: &$krate::SCHEMES,
            open: Some(|url, options| {
                Ok(Arc::new($krate::$builder::from_url(url, options)?.build()?))
            }),
        };
        #[cfg(not(feature = $name))]
        const ENTRY: Scheme = Scheme {
            name: $name,
            schemes: &[$name, concat!($name, "+http")],
            open: None,
        };
        ENTRY
    }};
}

/// Every backend `open` knows. A new backend adds one line here and its
/// feature in Cargo.toml; [`KNOWN_SCHEMES`] follows.
const SCHEMES: &[Scheme] = &[
    adapter!("toast", imagecat_toast::ToastBuilder),
    adapter!("dcmgr", imagecat_dcmgr::DcmgrBuilder),
    adapter!("glance", imagecat_glance::GlanceBuilder),
    adapter!("gce", imagecat_gce::GceBuilder),
    Scheme {
        name: "memory",
        schemes: &["memory"],
        open: Some(open_memory),
    },
];

/// How many schemes the table names.
const SCHEME_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < SCHEMES.len() {
        count += SCHEMES[i].schemes.len();
        i += 1;
    }
    count
};

/// The schemes `open` knows, whether or not their backend is compiled in:
/// the table's, in its order.
pub const KNOWN_SCHEMES: [&str; SCHEME_COUNT] = {
    let mut out = [""; SCHEME_COUNT];
    let mut n = 0;
    let mut i = 0;
    while i < SCHEMES.len() {
        let mut j = 0;
        while j < SCHEMES[i].schemes.len() {
            out[n] = SCHEMES[i].schemes[j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

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
/// - `gce://PROJECT` (the Compute API; credentials as Google's tools find
///   them, see the gce crate), `gce+http://HOST:PORT?project=P` (an
///   emulator);
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
    let scheme = url.scheme();
    let Some(entry) = SCHEMES.iter().find(|s| s.schemes.contains(&scheme)) else {
        return Err(Error::config(
            None,
            format!(
                "unknown catalog scheme {scheme:?}; known schemes: {}",
                KNOWN_SCHEMES.join(", ")
            ),
        ));
    };
    match entry.open {
        Some(open) => open(&url, options),
        None => Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "the {name} backend is not compiled in; enable the `{name}` feature of imagecat",
                name = entry.name
            ),
        )
        .with_backend(BackendKind::new(entry.name))),
    }
}

/// `memory:` or `memory:?images=N`.
fn open_memory(url: &Url, _options: &OpenOptions) -> Result<DynImageCatalog> {
    let backend = BackendKind::Memory;
    let url = CatalogUrl::parse(url, backend, &["images"])?;
    let images = match url.param("images") {
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| Error::config(Some(backend), format!("images={n:?} is not a count")))?,
        None => 12,
    };
    Ok(Arc::new(
        InMemoryCatalog::with_samples(images)
            .soft_delete(true)
            .with_instances(Vec::new()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let options = OpenOptions::new()
            .credentials(Credentials::token(imagecat_http::SecretString::new("t")));
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
        assert_eq!(e.backend(), Some(BackendKind::Toast));
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

    #[cfg(not(feature = "gce"))]
    #[test]
    fn gce_without_its_feature_is_not_supported() {
        let e = open("gce://my-project").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        assert!(e.to_string().contains("`gce` feature"), "{e}");
    }

    #[cfg(feature = "gce")]
    #[test]
    fn gce_urls_open_a_project_catalog() {
        let options = OpenOptions::new().credentials(Credentials::token(
            imagecat_http::SecretString::new("ya29.t"),
        ));
        let c = open_with("gce+http://127.0.0.1:9?project=p1", &options).unwrap();
        assert_eq!(c.info().backend.as_str(), "gce");
        assert!(
            c.info().endpoint.contains("project p1"),
            "{}",
            c.info().endpoint
        );
        let c = open_with("gce://debian-cloud", &options).unwrap();
        assert!(c.info().endpoint.contains("project debian-cloud"));
        let e = open_with("gce+http://127.0.0.1:9", &options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn memory_catalog_opens() {
        let c = open("memory:").unwrap();
        assert_eq!(c.info().backend, BackendKind::Memory);
    }

    #[test]
    fn the_known_schemes_are_the_tables() {
        let table: Vec<&str> = SCHEMES
            .iter()
            .flat_map(|s| s.schemes.iter().copied())
            .collect();
        assert_eq!(table, KNOWN_SCHEMES);
        for entry in SCHEMES.iter().filter(|s| s.name != "memory") {
            // What an entry names with its feature off is what the adapter
            // says with it on.
            let plain = format!("{}+http", entry.name);
            assert_eq!(entry.schemes, [entry.name, plain.as_str()]);
        }
    }

    #[test]
    fn every_backend_name_is_its_backend_kind() {
        for entry in SCHEMES {
            assert_eq!(BackendKind::new(entry.name).as_str(), entry.name);
        }
        #[cfg(feature = "toast")]
        assert_eq!(imagecat_toast::BACKEND.as_str(), "toast");
        #[cfg(feature = "dcmgr")]
        assert_eq!(imagecat_dcmgr::BACKEND.as_str(), "dcmgr");
        #[cfg(feature = "glance")]
        assert_eq!(imagecat_glance::BACKEND.as_str(), "glance");
    }
}

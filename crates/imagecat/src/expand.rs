//! Fan-out URLs: a catalog URL that stands for several catalogs
//! (`ec2://all?profile=P`, every region the account has enabled) is
//! expanded here, before opening, into one URL per catalog; the adapter
//! that owns the scheme does the expansion (EC2's asks DescribeRegions).
//! Each catalog is then named by its own URL, so a multi-catalog command
//! (the CLI's `--catalog`) shows one per region. Every other URL is one
//! catalog, opened as [`open_with`] does.

use imagecat_core::Result;
use url::Url;

use crate::config::Config;
use crate::fanout::NamedCatalog;
use crate::open::{OpenOptions, open_with};

/// The URLs a fan-out URL stands for (`ec2://all` → `ec2://REGION` for
/// each enabled region), or `None` for a URL that is one catalog (and for
/// any text that is not a URL: [`open_with`] reports it).
pub async fn expand(spec: &str, options: &OpenOptions) -> Result<Option<Vec<String>>> {
    let Ok(url) = Url::parse(spec.trim()) else {
        return Ok(None);
    };
    let _ = (&url, options);
    #[cfg(feature = "ec2")]
    if imagecat_ec2::SCHEMES.contains(&url.scheme()) {
        let urls = imagecat_ec2::regions::expand(&url, options).await?;
        return Ok(urls.map(|urls| urls.into_iter().map(String::from).collect()));
    }
    Ok(None)
}

/// Opens a catalog URL, or each catalog a fan-out URL stands for
/// ([`expand`]), each named by its URL.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> imagecat::Result<()> {
/// let catalogs = imagecat::open_all("memory:?images=3", &imagecat::OpenOptions::new()).await?;
/// assert_eq!(catalogs.len(), 1);
/// assert_eq!(catalogs[0].name, "memory:?images=3");
/// # Ok(())
/// # }
/// ```
pub async fn open_all(spec: &str, options: &OpenOptions) -> Result<Vec<NamedCatalog>> {
    match expand(spec, options).await? {
        Some(urls) => urls
            .into_iter()
            .map(|url| open_with(&url, options).map(|catalog| NamedCatalog::new(url, catalog)))
            .collect(),
        None => Ok(vec![NamedCatalog::new(spec, open_with(spec, options)?)]),
    }
}

impl Config {
    /// Like [`Config::open_with`], expanding a fan-out URL (given, or the
    /// URL of the named entry) into its catalogs ([`open_all`]); a
    /// catalog that is one keeps the name it was given.
    pub async fn open_all_with(
        &self,
        name_or_url: &str,
        options: &OpenOptions,
    ) -> Result<Vec<NamedCatalog>> {
        let (url, options) = match self.catalogs.get(name_or_url) {
            Some(entry) => (entry.url.as_str(), self.options_of(name_or_url, options)?),
            None => (name_or_url, options.clone()),
        };
        match expand(url, &options).await? {
            Some(urls) => urls
                .into_iter()
                .map(|url| open_with(&url, &options).map(|catalog| NamedCatalog::new(url, catalog)))
                .collect(),
            None => Ok(vec![NamedCatalog::new(
                name_or_url,
                self.open_with(name_or_url, &options)?,
            )]),
        }
    }
}

//! Configuration: [`Ec2Builder`], the URL schemes, the page sizes and the
//! environment variables the backend reads.
//!
//! URLs (issue 24):
//!
//! - `ec2://REGION[?profile=P&owner=self|ACCOUNT…]`: the region's public
//!   endpoint `https://ec2.REGION.amazonaws.com` (`….amazonaws.com.cn` for
//!   `cn-…`; FIPS and dual-stack endpoints are not chosen yet); `owner` may be repeated
//!   or comma-separated (default `self`: without an owner EC2 lists every
//!   public AMI too);
//! - `ec2+http://HOST:PORT?region=R[&profile=P&owner=…]`: an emulator or
//!   moto over plain HTTP; every AWS service the backend calls goes to that
//!   endpoint (moto and LocalStack serve them all on one port), signed for
//!   region `R`;
//! - `sts_endpoint=URL` (either scheme): STS elsewhere (for
//!   `GetCallerIdentity` and the chain's `AssumeRole`); without it STS is
//!   the `ec2+http` endpoint, else `AWS_ENDPOINT_URL_STS`, else
//!   `https://sts.REGION.amazonaws.com`.
//! - `ec2://all[?profile=P…]` and `ec2+http://HOST:PORT?region=all`: every
//!   region the account has enabled, one catalog each. It is a fan-out, not
//!   a catalog: [`crate::regions::expand`] (which the facade's
//!   `imagecat::open_all` and the CLI call) asks DescribeRegions and gives
//!   one URL per region; `from_url` refuses it.
//!
//! Options on every form: `include_deprecated=true` and
//! `include_disabled=true` list deprecated and disabled AMIs too (EC2 hides
//! them by default; see [`crate::query`]); `keep_snapshots=true` makes
//! every delete keep the AMI's snapshots.
//!
//! Secrets never go in the URL: the credentials come from the AWS CLI's
//! chain ([`CredentialChain`], with the URL's profile) or from a provider
//! the library user plugs in ([`Ec2Builder::credentials_provider`]).

use std::sync::Arc;

use imagecat_core::{BackendKind, Catalog, Error, ErrorKind, ImageId, Result};
use imagecat_http::{BuilderSettings, CatalogUrl, HttpClient, OpenOptions, Url, endpoint};

use crate::credentials::{
    ChainEndpoints, CredentialChain, CredentialProvider, Env, RefreshingProvider,
};
use crate::source::{Ec2Catalog, Ec2Source, SourceOptions};
use crate::sts::StsTarget;

/// The backend's name in errors, plans and output: `"ec2"`.
pub const BACKEND: BackendKind = BackendKind::new("ec2");

/// The URL schemes `from_url` opens: `ec2://REGION` (AWS over HTTPS) and
/// `ec2+http://HOST:PORT?region=R` (emulators, moto).
pub const SCHEMES: [&str; 2] = ["ec2", "ec2+http"];

/// The page size used when a query sets none: the largest (fewest
/// requests; EC2 recommends paginated calls, any size).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// The largest `MaxResults` sent (EC2's documented ceiling for describe
/// calls; reference §2c).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The smallest `MaxResults` EC2 accepts (below 5: `InvalidParameterValue`);
/// a smaller page size asked for is raised to it.
pub const MIN_PAGE_SIZE: u32 = 5;

/// The owner listed when none is configured: the caller's own AMIs.
pub const DEFAULT_OWNER: &str = "self";

/// The access key id, as for the AWS CLI.
pub const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The secret access key, as for the AWS CLI.
pub const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// The session token of temporary credentials, as for the AWS CLI.
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The profile to read from the shared files.
pub const ENV_PROFILE: &str = "AWS_PROFILE";
/// Where the shared config file is (default `~/.aws/config`).
pub const ENV_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// Where the shared credentials file is (default `~/.aws/credentials`).
pub const ENV_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// The region, as for the AWS SDKs (wins over `AWS_DEFAULT_REGION`).
pub const ENV_REGION: &str = "AWS_REGION";
/// The region, as for the AWS CLI.
pub const ENV_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";

/// The query keys `from_url` takes.
const URL_KEYS: [&str; 7] = [
    "region",
    "profile",
    "owner",
    "sts_endpoint",
    "include_deprecated",
    "include_disabled",
    "keep_snapshots",
];

/// The region name that stands for every enabled region (`ec2://all`).
pub const ALL_REGIONS: &str = "all";

/// Builds an [`Ec2Catalog`].
///
/// ```
/// use imagecat_ec2::Ec2Catalog;
///
/// let catalog = Ec2Catalog::builder().region("eu-west-1").build().unwrap();
/// assert_eq!(
///     imagecat_core::ImageCatalog::info(&catalog).endpoint,
///     "https://ec2.eu-west-1.amazonaws.com"
/// );
/// ```
#[derive(Debug, Default, Clone)]
pub struct Ec2Builder {
    region: Option<String>,
    endpoint: Option<String>,
    sts_endpoint: Option<String>,
    profile: Option<String>,
    owners: Vec<String>,
    options: SourceOptions,
    env: Option<Env>,
    provider: Option<Arc<dyn CredentialProvider>>,
    settings: BuilderSettings,
}

impl Ec2Builder {
    /// An empty builder (region and credentials from the process's
    /// environment at `build`, unless set).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder over the process's environment: the region from
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`; the credential chain reads
    /// the same snapshot. Never fails.
    pub fn from_env() -> Self {
        Self::new().env(Env::from_process())
    }

    /// The environment the region and the credential chain are read from
    /// (tests pass their own; the default is the process's).
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The region: the signing region, and the endpoint's
    /// (`https://ec2.REGION.amazonaws.com`) unless [`Ec2Builder::endpoint`]
    /// is set.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Another endpoint for every AWS service the backend calls
    /// (`http://127.0.0.1:5000` for moto or the emulator). `http://` is
    /// allowed only here, by the endpoint's own scheme.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Another endpoint for STS alone (`GetCallerIdentity`, and the
    /// chain's `AssumeRole*`), signed for the catalog's region; it wins
    /// over [`Ec2Builder::endpoint`] for STS.
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sts_endpoint = Some(endpoint.into());
        self
    }

    /// The profile of the shared files the credential chain reads (it then
    /// skips the environment's keys, as `--profile` does).
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// An owner to list (`self`, an account id, `amazon`,
    /// `aws-marketplace`, `aws-backup-vault`); repeatable. Default `self`.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owners.push(owner.into());
        self
    }

    /// Lists deprecated AMIs too (`IncludeDeprecated=true`; the owner
    /// sees their own deprecated AMIs anyway).
    pub fn include_deprecated(mut self, yes: bool) -> Self {
        self.options.include_deprecated = yes;
        self
    }

    /// Lists disabled AMIs too (`IncludeDisabled=true`; EC2 hides them).
    pub fn include_disabled(mut self, yes: bool) -> Self {
        self.options.include_disabled = yes;
        self
    }

    /// Keeps every AMI's snapshots on delete (deregister only).
    pub fn keep_snapshots(mut self, yes: bool) -> Self {
        self.options.keep_snapshots = yes;
        self
    }

    /// The library user's own credentials (an `aws-config` provider behind
    /// a small adapter, a vault): used instead of the chain, and the
    /// profile is then ignored.
    pub fn credentials_provider(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// A builder from a catalog URL (see the module docs) and the caller's
    /// options: `OpenOptions::credentials` with a user name and password
    /// are an access key id and secret access key (and its token the
    /// session token), used instead of the credential chain. `ec2://all` (the fan-out over every enabled region) is not
    /// one catalog: `NotSupported`, pointing at [`crate::regions::expand`].
    pub fn from_url(url: &Url, options: &OpenOptions) -> Result<Self> {
        let parsed = CatalogUrl::parse(url, BACKEND, &URL_KEYS)?;
        let mut builder = Ec2Builder::from_env().open_options(options);
        // Keys the caller passes (the facade's `Credentials::password`:
        // access key id and secret access key; a token with them is the
        // session token) replace the chain.
        let given = &options.credentials;
        if let (Some(key_id), Some(secret)) = (&given.username, &given.password) {
            builder = builder.credentials_provider(std::sync::Arc::new(
                crate::credentials::StaticProvider::new(crate::credentials::Credentials::new(
                    key_id.clone(),
                    secret.clone(),
                    given.token.clone(),
                    None,
                )),
            ));
        }
        match url.scheme() {
            "ec2" => {
                let region = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| {
                        Error::config(Some(BACKEND), "ec2:// needs a region: ec2://REGION")
                    })?
                    .to_owned();
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(Error::config(
                        Some(BACKEND),
                        "credentials never go in a catalog URL; use the environment, \
                         the AWS shared files or the config file",
                    ));
                }
                if url.port().is_some() || !matches!(url.path(), "" | "/") {
                    return Err(Error::config(
                        Some(BACKEND),
                        "ec2://REGION takes no port and no path; use ec2+http://HOST:PORT?region=R \
                         for another endpoint",
                    ));
                }
                if region == ALL_REGIONS {
                    return Err(all_is_a_fan_out());
                }
                if parsed.param("region").is_some() {
                    return Err(Error::config(
                        Some(BACKEND),
                        "ec2://REGION names its region in the host; ?region= is for ec2+http://",
                    ));
                }
                builder = builder.region(region);
            }
            "ec2+http" => {
                let region = parsed.param("region").ok_or_else(|| {
                    Error::config(
                        Some(BACKEND),
                        "ec2+http://HOST:PORT needs ?region=R (the signing region)",
                    )
                })?;
                if region == ALL_REGIONS {
                    return Err(all_is_a_fan_out());
                }
                builder = builder.region(region).endpoint(parsed.endpoint()?);
            }
            other => {
                return Err(Error::config(
                    Some(BACKEND),
                    format!("the scheme {other:?} is not ec2 or ec2+http"),
                ));
            }
        }
        if let Some(profile) = parsed.param("profile") {
            builder = builder.profile(profile);
        }
        if let Some(sts) = parsed.param("sts_endpoint") {
            builder = builder.sts_endpoint(sts);
        }
        for (key, set) in [
            (
                "include_deprecated",
                Ec2Builder::include_deprecated as fn(Self, bool) -> Self,
            ),
            ("include_disabled", Ec2Builder::include_disabled),
            ("keep_snapshots", Ec2Builder::keep_snapshots),
        ] {
            if let Some(value) = parsed.param(key) {
                builder = set(builder, flag(key, value)?);
            }
        }
        for (key, value) in url.query_pairs() {
            if key == "owner" {
                for owner in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    builder = builder.owner(owner);
                }
            }
        }
        Ok(builder)
    }

    /// Builds the catalog: a `Config` error without a region, with a
    /// malformed region, owner or endpoint.
    pub fn build(self) -> Result<Ec2Catalog> {
        let env = self.env.unwrap_or_else(Env::from_process);
        let region = self
            .region
            .or_else(|| env.get(ENV_REGION).map(str::to_owned))
            .or_else(|| env.get(ENV_DEFAULT_REGION).map(str::to_owned))
            .ok_or_else(|| {
                Error::config(
                    Some(BACKEND),
                    format!(
                        "no region: name one (ec2://REGION, Ec2Builder::region) or set \
                         {ENV_REGION}"
                    ),
                )
            })?;
        validate_region(&region)?;
        let one_endpoint = self.endpoint.is_some();
        let endpoint = match self.endpoint {
            Some(text) => endpoint::parse_endpoint(BACKEND, &text, "")?,
            None => Url::parse(&format!("https://ec2.{region}.{}", dns_suffix(&region)))
                .map_err(|e| Error::config(Some(BACKEND), format!("bad region {region:?}: {e}")))?,
        };
        let owners = if self.owners.is_empty() {
            vec![DEFAULT_OWNER.to_owned()]
        } else {
            self.owners
        };
        for owner in &owners {
            validate_owner(owner)?;
        }
        // STS: the URL option, else the one endpoint of every service,
        // else the environment's or the region's.
        let sts = match (&self.sts_endpoint, one_endpoint) {
            (Some(text), _) => {
                StsTarget::new(endpoint::parse_endpoint(BACKEND, text, "")?, &region)
            }
            (None, true) => StsTarget::new(endpoint.clone(), &region),
            (None, false) => StsTarget::from_env(&env, &region)?,
        };
        let mut http = self.settings.http;
        http.allow_http = endpoint.scheme() == "http" || sts.url().scheme() == "http";
        let provider: Arc<dyn CredentialProvider> = match self.provider {
            Some(provider) => provider,
            None => {
                let chain = CredentialChain::new(env)
                    .with_endpoints(ChainEndpoints::new().sts(sts.clone()))
                    .with_http_options(http.clone());
                Arc::new(match self.profile {
                    Some(profile) => chain.with_profile(profile),
                    None => chain,
                })
            }
        };
        let client = HttpClient::new(BACKEND, http)?;
        let provider = Arc::new(RefreshingProvider::new(provider, client.clone())?);
        Ok(Catalog::new(Ec2Source::from_parts(
            client,
            endpoint,
            region,
            owners,
            self.options,
            provider,
            sts,
        ))
        .paging_options(self.settings.paging))
    }
}

imagecat_http::builder_setters!(
    Ec2Builder,
    "`allow_http` is ignored: the endpoint's scheme decides."
);

/// What `from_url` says of `ec2://all`: a fan-out, opened by expansion.
fn all_is_a_fan_out() -> Error {
    Error::new(
        ErrorKind::NotSupported,
        "ec2://all (every enabled region) is a fan-out of one catalog per region, not one \
         catalog: open it with imagecat::open_all (the CLI does), or name a region",
    )
    .with_backend(BACKEND)
}

/// A URL option's boolean: `true`/`false`, `1`/`0`, `yes`/`no`.
fn flag(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::config(
            Some(BACKEND),
            format!("{key}={value:?} is not true or false"),
        )),
    }
}

/// The DNS suffix of a region's partition (reference §1a): `amazonaws.com`,
/// `amazonaws.com.cn` for the China regions (`cn-…`).
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Checks a region name: 1–64 characters of `[a-z0-9-]`, starting with a
/// letter (`us-east-1`, `eu-central-2`, `us-gov-west-1`). It goes in the
/// host and the signing scope, so nothing else passes.
pub fn validate_region(region: &str) -> Result<()> {
    let ok = (1..=64).contains(&region.len())
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            Some(BACKEND),
            format!("invalid region {region:?}: expected a name like us-east-1"),
        ))
    }
}

/// Checks an owner: `self`, `amazon`, `aws-marketplace`,
/// `aws-backup-vault`, or a 12-digit account id.
pub fn validate_owner(owner: &str) -> Result<()> {
    let alias = matches!(
        owner,
        "self" | "amazon" | "aws-marketplace" | "aws-backup-vault"
    );
    let account = owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit());
    if alias || account {
        Ok(())
    } else {
        Err(Error::config(
            Some(BACKEND),
            format!(
                "invalid owner {owner:?}: expected self, amazon, aws-marketplace, \
                 aws-backup-vault or a 12-digit account id"
            ),
        ))
    }
}

/// Checks an AMI id and gives its canonical form: `ami-` followed by 8 or
/// 17 hexadecimal digits (the prefix and the digits in any case, lower case
/// out, as [`IdRule::Prefixed`](imagecat_core::IdRule) reads references).
/// An `InvalidInput` error otherwise, raised before any request is built.
pub fn validate_image_id(id: &ImageId) -> Result<ImageId> {
    let canonical = crate::source::ID_RULE.canonical(id.as_str());
    let ok = canonical.as_ref().is_some_and(|c| {
        let hex = &c.as_str()["ami-".len()..];
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }) && id.as_str() == id.as_str().trim();
    match canonical {
        Some(canonical) if ok => Ok(canonical),
        _ => Err(Error::invalid_input(
            BACKEND,
            format!(
                "invalid image id {:?}: expected ami- followed by 8 or 17 hexadecimal digits",
                id.as_str()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ImageCatalog;

    fn open(url: &str) -> Result<Ec2Builder> {
        Ec2Builder::from_url(&Url::parse(url).unwrap(), &OpenOptions::new())
    }

    fn built(url: &str) -> Result<Ec2Catalog> {
        open(url)?.env(Env::default()).build()
    }

    #[test]
    fn urls() {
        let c = built("ec2://eu-west-1").unwrap();
        assert_eq!(c.info().endpoint, "https://ec2.eu-west-1.amazonaws.com");
        assert_eq!(c.source().region(), "eu-west-1");
        assert_eq!(c.source().owners(), ["self"]);
        assert!(!c.source().http_options().allow_http);

        let c = built("ec2://cn-north-1").unwrap();
        assert_eq!(c.info().endpoint, "https://ec2.cn-north-1.amazonaws.com.cn");

        let c = built("ec2://us-east-1?profile=prod&owner=self&owner=123456789012,amazon").unwrap();
        assert_eq!(c.source().owners(), ["self", "123456789012", "amazon"]);

        let c =
            built("ec2://eu-west-1?include_deprecated=true&include_disabled=1&keep_snapshots=yes")
                .unwrap();
        assert_eq!(c.source().includes(), (true, true));
        assert!(c.source().keeps_snapshots());
        let c = built("ec2://eu-west-1?keep_snapshots=false").unwrap();
        assert_eq!(c.source().includes(), (false, false));
        assert!(!c.source().keeps_snapshots());

        let c = built("ec2+http://127.0.0.1:5000?region=us-east-1").unwrap();
        assert_eq!(c.info().endpoint, "http://127.0.0.1:5000");
        assert_eq!(c.source().region(), "us-east-1");
        assert!(c.source().http_options().allow_http);

        for (bad, kind) in [
            ("ec2+http://127.0.0.1:5000", ErrorKind::Config),
            ("ec2://eu-west-1?region=us-east-1", ErrorKind::Config),
            ("ec2://eu-west-1:443", ErrorKind::Config),
            ("ec2://eu-west-1/x", ErrorKind::Config),
            ("ec2://eu-west-1?token=x", ErrorKind::Config),
            ("ec2://AKID:secret@eu-west-1", ErrorKind::Config),
            ("ec2://all?profile=p", ErrorKind::NotSupported),
            ("ec2+http://h:1?region=all", ErrorKind::NotSupported),
            ("ec2://eu-west-1?keep_snapshots=maybe", ErrorKind::Config),
            ("ec2://eu_west_1", ErrorKind::Config),
            ("ec2://eu-west-1?owner=nobody", ErrorKind::Config),
            ("ec2+http://h:1?region=us-east-1/../x", ErrorKind::Config),
        ] {
            let e = built(bad).unwrap_err();
            assert_eq!(e.kind(), kind, "{bad}: {e}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn sts_goes_to_the_one_endpoint_unless_named() {
        let c = built("ec2://eu-west-1").unwrap();
        assert_eq!(
            c.source().sts().url().as_str(),
            "https://sts.eu-west-1.amazonaws.com/"
        );
        assert_eq!(c.source().sts().region(), "eu-west-1");
        let c = built("ec2+http://127.0.0.1:5000?region=us-east-1").unwrap();
        assert_eq!(c.source().sts().url().as_str(), "http://127.0.0.1:5000/");
        let c =
            built("ec2+http://127.0.0.1:5000?region=us-east-1&sts_endpoint=http://127.0.0.1:6000")
                .unwrap();
        assert_eq!(c.source().sts().url().as_str(), "http://127.0.0.1:6000/");
        let c = built("ec2://eu-west-1?sts_endpoint=https://sts.example.com").unwrap();
        assert_eq!(c.source().sts().url().as_str(), "https://sts.example.com/");
        for bad in [
            "ec2://eu-west-1?sts_endpoint=ftp://sts.example.com",
            "ec2://eu-west-1?sts_endpoint=https://AKID:secret@sts.example.com",
            "ec2://eu-west-1?sts_endpoint=https://sts.example.com/?x=1",
        ] {
            let e = built(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}: {e}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn the_region_comes_from_the_environment_when_not_named() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        let c = Ec2Builder::new()
            .env(env(&[(ENV_DEFAULT_REGION, "eu-north-1")]))
            .build()
            .unwrap();
        assert_eq!(c.source().region(), "eu-north-1");
        let c = Ec2Builder::new()
            .env(env(&[
                (ENV_DEFAULT_REGION, "eu-north-1"),
                (ENV_REGION, "ap-south-1"),
            ]))
            .build()
            .unwrap();
        assert_eq!(c.source().region(), "ap-south-1");
        let e = Ec2Builder::new().env(Env::default()).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains(ENV_REGION), "{e}");
    }

    #[test]
    fn image_ids() {
        for (ok, canonical) in [
            ("ami-12345678", "ami-12345678"),
            ("ami-0abcdef1234567890", "ami-0abcdef1234567890"),
            ("AMI-0ABCDEF1234567890", "ami-0abcdef1234567890"),
        ] {
            assert_eq!(
                validate_image_id(&ok.into()).unwrap().as_str(),
                canonical,
                "{ok}"
            );
        }
        for bad in [
            "",
            "ami-",
            "ami-1234567",
            "ami-123456789",
            "ami-0abcdef123456789g",
            "snap-12345678",
            "ami-1234/678",
            " ami-12345678",
            "ami-12345678\n",
            "ami-0abcdef1234567890&Action=DeleteSnapshot",
        ] {
            let e = validate_image_id(&bad.into()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}

//! `ec2://all`: every region the account has enabled, as one catalog URL
//! per region.
//!
//! [`expand`] turns `ec2://all?profile=P…` into `ec2://REGION?profile=P…`
//! and `ec2+http://HOST:PORT?region=all…` into
//! `ec2+http://HOST:PORT?region=REGION…` for each region `DescribeRegions`
//! names (without `AllRegions`, EC2 answers only the regions enabled for
//! the account; an item whose `optInStatus` is `not-opted-in` is dropped
//! too), kept to the partition of the region asked (AWS answers only its
//! own partition's regions; moto lists the GovCloud and China regions too,
//! where the key is not valid). The other options are kept as written. The call goes to the
//! region of `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1` (every
//! region answers for all). The expansion lives here, beside the URL
//! rules, and the facade's `open_all` (and so the CLI's `--catalog`) calls
//! it: each region is then a catalog of its own in the CLI's existing
//! fan-out, named by its URL.

use imagecat_core::{Error, Result};
use imagecat_http::{Idempotency, OpenOptions, Url};

use crate::config::{ALL_REGIONS, BACKEND, ENV_DEFAULT_REGION, ENV_REGION, Ec2Builder};
use crate::credentials::Env;
use crate::protocol::{self, Form};
use crate::source::Ec2Source;
use crate::wire::xml;

/// The region DescribeRegions is asked in when the environment names none.
pub const DEFAULT_DISCOVERY_REGION: &str = "us-east-1";

impl Ec2Source {
    /// The regions enabled for the account (`DescribeRegions`), in the
    /// server's order.
    pub async fn enabled_regions(&self) -> Result<Vec<String>> {
        let form = Form::new("DescribeRegions", protocol::EC2_VERSION);
        self.call("list regions", Idempotency::Idempotent, &form, |response| {
            decode_regions(&response.body)
                .map_err(|message| response.invalid(format!("DescribeRegions: {message}")))
        })
        .await
    }
}

/// The enabled region names of a DescribeRegions answer.
pub fn decode_regions(body: &[u8]) -> std::result::Result<Vec<String>, String> {
    let root = xml::parse(body).map_err(|e| e.to_string())?;
    if root.name != "DescribeRegionsResponse" {
        return Err(format!(
            "expected <DescribeRegionsResponse>, got <{}>",
            root.name
        ));
    }
    let info = root
        .one("regionInfo")
        .map_err(|e| e.to_string())?
        .ok_or("no <regionInfo>")?;
    let mut regions = Vec::new();
    for item in info.all("item") {
        let name = item
            .text_of("regionName")
            .map_err(|e| e.to_string())?
            .filter(|n| !n.is_empty())
            .ok_or("a region without <regionName>")?;
        crate::config::validate_region(name).map_err(|e| e.to_string())?;
        let status = item.text_of("optInStatus").map_err(|e| e.to_string())?;
        if status != Some("not-opted-in") && !regions.iter().any(|r| r == name) {
            regions.push(name.to_owned());
        }
    }
    Ok(regions)
}

/// The AWS partition of a region by its name: `aws-cn` (`cn-…`),
/// `aws-us-gov` (`us-gov-…`), `aws-iso` (`us-iso-…`), `aws-iso-b`
/// (`us-isob-…`), else `aws`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// Whether a URL is the every-region form.
pub fn is_all(url: &Url) -> bool {
    match url.scheme() {
        "ec2" => url.host_str() == Some(ALL_REGIONS),
        "ec2+http" => url
            .query_pairs()
            .any(|(k, v)| k == "region" && v == ALL_REGIONS),
        _ => false,
    }
}

/// The URL with its region set to `region` (the host of `ec2://`, the
/// `region` option of `ec2+http://`), every other part as written.
fn with_region(url: &Url, region: &str) -> Result<Url> {
    let mut out = url.clone();
    if url.scheme() == "ec2" {
        out.set_host(Some(region))
            .map_err(|e| Error::config(Some(BACKEND), format!("region {region:?}: {e}")))?;
    } else {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "region" { region.into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(out)
}

/// `Some(one URL per enabled region)` for the every-region form (see the
/// module docs), `None` for any other URL. Fails as the DescribeRegions
/// call does (credentials, the network), or when the account has no
/// region enabled.
pub async fn expand(url: &Url, options: &OpenOptions) -> Result<Option<Vec<Url>>> {
    if !is_all(url) {
        return Ok(None);
    }
    let env = Env::from_process();
    let discovery = env
        .get(ENV_REGION)
        .or_else(|| env.get(ENV_DEFAULT_REGION))
        .unwrap_or(DEFAULT_DISCOVERY_REGION)
        .to_owned();
    let catalog = Ec2Builder::from_url(&with_region(url, &discovery)?, options)?.build()?;
    let home = partition(&discovery);
    let regions: Vec<String> = catalog
        .source()
        .enabled_regions()
        .await?
        .into_iter()
        .filter(|r| partition(r) == home)
        .collect();
    if regions.is_empty() {
        return Err(Error::config(
            Some(BACKEND),
            "DescribeRegions names no enabled region for this account",
        ));
    }
    regions
        .iter()
        .map(|region| with_region(url, region))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_read_and_the_not_opted_in_dropped() {
        let body = br#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>x</requestId>
            <regionInfo>
              <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
              <item><regionName>af-south-1</regionName><optInStatus>not-opted-in</optInStatus></item>
              <item><regionName>ap-east-1</regionName><optInStatus>opted-in</optInStatus></item>
              <item><regionName>eu-west-1</regionName></item>
            </regionInfo></DescribeRegionsResponse>"#;
        assert_eq!(
            decode_regions(body).unwrap(),
            ["us-east-1", "ap-east-1", "eu-west-1"]
        );
        for bad in [
            &b"<Other/>"[..],
            b"<DescribeRegionsResponse/>",
            b"<DescribeRegionsResponse><regionInfo><item><regionName>x/../y</regionName></item></regionInfo></DescribeRegionsResponse>",
            b"<DescribeRegionsResponse><regionInfo><item/></regionInfo></DescribeRegionsResponse>",
        ] {
            assert!(decode_regions(bad).is_err());
        }
    }

    #[test]
    fn partitions() {
        for (region, want) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(partition(region), want, "{region}");
        }
    }

    #[test]
    fn the_every_region_form_is_rewritten_per_region() {
        let url = Url::parse("ec2://all?profile=prod&owner=self").unwrap();
        assert!(is_all(&url));
        assert_eq!(
            with_region(&url, "eu-west-1").unwrap().as_str(),
            "ec2://eu-west-1?profile=prod&owner=self"
        );
        let url = Url::parse("ec2+http://127.0.0.1:5000?region=all&keep_snapshots=true").unwrap();
        assert!(is_all(&url));
        assert_eq!(
            with_region(&url, "us-west-2").unwrap().as_str(),
            "ec2+http://127.0.0.1:5000?region=us-west-2&keep_snapshots=true"
        );
        for other in [
            "ec2://eu-west-1",
            "ec2+http://h:1?region=us-east-1",
            "glance://all",
        ] {
            assert!(!is_all(&Url::parse(other).unwrap()), "{other}");
        }
    }
}

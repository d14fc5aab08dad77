//! The backend's name, URL schemes, page sizes and environment names, and
//! the catalog URL as issue 25 gives it: `gce://PROJECT` (the Compute API
//! over TLS) and `gce+http://HOST:PORT?project=P` (an emulator). Only the
//! parsing exists yet; the builder comes with the source.

use imagecat_core::{BackendKind, Error, Result};
use url::Url;

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

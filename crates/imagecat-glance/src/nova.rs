//! Usage on OpenStack: which Nova servers boot from which images.
//!
//! - `GET {compute}/servers/detail?limit=N[&marker=ID][&all_tenants=True]`
//!   (NHN Cloud's `compute` endpoint already ends in `/v2/{tenantId}`, a
//!   stock one in `/v2.1`); `all_tenants` is asked first and, when Nova
//!   refuses it (403, the policy is admin-only), the project's own servers
//!   are listed instead and the page says [`UsageScope::OwnTenant`];
//! - paging follows `servers_links` `next`, checked to stay on the compute
//!   endpoint; the next request is rebuilt from its marker, never taken
//!   from the server as is;
//! - `DELETED` servers (listed by Nova only with `changes-since`) are
//!   dropped, every other status is a use;
//! - `image` is `{"id": …}`, or `""` for a server booted from a volume:
//!   its attached volumes are read from the block-storage API
//!   (`GET {volume}/volumes/{id}`, `volume_image_metadata.image_id`); a
//!   volume that cannot be read (403, 404, any error), a bootable volume
//!   without image metadata (a policy may hide it), or a record without an
//!   `image` key (a down cell), is [`BootSource::Unresolved`]: missing data
//!   is not absence. Only volumes that were read, are not bootable and
//!   carry no image make a server boot from no image;
//! - an `image` given as a link (a string, or `{"links": […]}` without
//!   `id`) is passed on as the link; the core's identity rule
//!   ([`IdRule::Uuid`]) reads the UUID it ends in, or leaves it
//!   unresolved;
//! - `?image=` is **not** sent even when the query names one image: Nova
//!   matches it against `image_ref`, which is empty for volume-booted
//!   servers, so it would hide exactly the uses that need the volume
//!   lookup. The image is checked on the client instead.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use imagecat_core::usage::{BootSource, FoundVia, InstanceRef, UsageScope};
use imagecat_core::{BackendKind, Error, IdRule, ImageId, PageToken, Result};
use imagecat_http::endpoint::{join_segments, parse_endpoint};
use imagecat_http::reqwest::Method;
use imagecat_http::{HttpResponse, Idempotency, Url};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Token;
use crate::catalog::{GlanceSource, error_for, link_marker};

const BACKEND: BackendKind = BackendKind::Glance;

/// Servers per request when the query sets none (Nova's `max_limit`).
pub const DEFAULT_SERVER_PAGE: u32 = 1000;
/// How many volumes are read at once.
const VOLUME_READS: usize = 4;

/// The compute and block-storage settings of a catalog.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// The configured compute endpoint (else the token catalog's).
    pub(crate) compute: Option<Url>,
    /// The configured block-storage endpoint (else the token catalog's).
    pub(crate) volume: Option<Url>,
    /// Whether Keystone may name the endpoints.
    pub(crate) from_catalog: bool,
    /// Set once Nova refused `all_tenants` (the credentials are not admin).
    refused_all_tenants: AtomicBool,
}

impl Usage {
    /// Settings with these configured endpoints.
    pub(crate) fn new(compute: Option<Url>, volume: Option<Url>, from_catalog: bool) -> Self {
        Usage {
            compute,
            volume,
            from_catalog,
            refused_all_tenants: AtomicBool::new(false),
        }
    }
}

/// A compute or block-storage base as a catalog or the user gives it:
/// `http(s)://HOST[:PORT][/PATH]`, kept with its version and project
/// segments, without a trailing `/`.
pub(crate) fn service_base(text: &str) -> Result<Url> {
    let mut url = parse_endpoint(BACKEND, text, "")?;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

fn servers_url(compute: &Url) -> Result<Url> {
    join_segments(BACKEND, compute, &["servers", "detail"])
}

/// One page of `servers/detail`.
#[derive(Deserialize)]
struct ServersWire {
    servers: Vec<ServerWire>,
    #[serde(default)]
    servers_links: Option<Vec<LinkWire>>,
}

#[derive(Deserialize)]
struct LinkWire {
    #[serde(default)]
    rel: Option<String>,
    #[serde(default)]
    href: Option<String>,
}

#[derive(Deserialize)]
struct ServerWire {
    id: String,
    #[serde(default)]
    name: Option<String>,
    status: String,
    /// Absent and `null` are both "not known".
    #[serde(default)]
    image: Option<Value>,
    #[serde(default, rename = "os-extended-volumes:volumes_attached")]
    volumes: Option<Vec<AttachedWire>>,
}

#[derive(Deserialize)]
struct AttachedWire {
    id: String,
}

#[derive(Deserialize)]
struct VolumeWire {
    volume: VolumeDoc,
}

#[derive(Deserialize)]
struct VolumeDoc {
    id: String,
    #[serde(default)]
    bootable: Option<Value>,
    #[serde(default)]
    volume_image_metadata: Option<Value>,
}

/// An image id as Nova or Cinder writes it, in the canonical form of the
/// Glance identity rule when it reads it; as written otherwise (the usage
/// scan makes such a reference unresolved).
fn image_id(text: &str) -> ImageId {
    IdRule::Uuid
        .canonical(text)
        .unwrap_or_else(|| ImageId::new(text))
}

/// The image a `{"links": [...]}` without `id` names: the one UUID every
/// link's `href` ends in (a `bookmark` or `self` link to the image), else
/// unresolved.
fn image_of_links(links: Option<&Value>) -> Option<ImageId> {
    let hrefs: Vec<&str> = links?
        .as_array()?
        .iter()
        .filter_map(|l| l.get("href").and_then(Value::as_str))
        .collect();
    let first = IdRule::Uuid.canonical(hrefs.first()?)?;
    hrefs
        .iter()
        .all(|h| IdRule::Uuid.canonical(h).as_ref() == Some(&first))
        .then_some(first)
}

/// What a server record says it boots from: an image, a volume to read,
/// or unresolved.
enum Boot {
    Known(BootSource),
    Volumes(Vec<String>),
}

fn boot_of(server: &ServerWire) -> Boot {
    let unresolved = |reason: &str| {
        Boot::Known(BootSource::Unresolved {
            reason: reason.to_owned(),
        })
    };
    match &server.image {
        None => unresolved("the server record has no image field"),
        Some(Value::String(s)) if s.is_empty() => {
            let volumes: Vec<String> = server
                .volumes
                .iter()
                .flatten()
                .map(|v| v.id.clone())
                .collect();
            if volumes.is_empty() {
                unresolved("booted from a volume, but the record lists no attached volume")
            } else {
                Boot::Volumes(volumes)
            }
        }
        Some(Value::String(s)) => Boot::Known(BootSource::Image {
            id: image_id(s),
            via: FoundVia::ImageField,
        }),
        Some(Value::Object(o)) => match o.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Boot::Known(BootSource::Image {
                id: image_id(id),
                via: FoundVia::ImageField,
            }),
            Some(_) => unresolved("the server's image has an empty id"),
            None => match image_of_links(o.get("links")) {
                Some(id) => Boot::Known(BootSource::Image {
                    id,
                    via: FoundVia::ImageField,
                }),
                None => unresolved("the server's image has no id and no link naming one"),
            },
        },
        Some(_) => unresolved("the server's image field is neither an object nor a string"),
    }
}

/// The marker of a `servers_links` next link, after checking that it stays
/// on the compute endpoint (same scheme, host and port, path
/// `{compute}/servers/detail`, no credentials, one non-empty marker).
pub(crate) fn marker_from_servers_link(servers: &Url, next: &str) -> Result<Option<String>> {
    link_marker(
        servers,
        next,
        &[servers.path()],
        "the compute endpoint's servers/detail",
    )
}

/// The request a page token stands for: the link imagecat made (checked
/// to be on the compute endpoint), whether it asks for all tenants, and
/// its marker.
fn request_of(servers: &Url, link: &str) -> Result<(Url, bool)> {
    marker_from_servers_link(servers, link)?;
    let url = servers
        .join(link)
        .map_err(|_| Error::paging(BACKEND, format!("the link {link:?} is not a URL")))?;
    let all = all_tenants_in(url.as_str());
    Ok((url, all))
}

/// The first-page or next-page URL imagecat sends.
fn page_url(servers: &Url, limit: u32, marker: Option<&str>, all_tenants: bool) -> Url {
    let mut url = servers.clone();
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("limit", &limit.to_string());
        if all_tenants {
            pairs.append_pair("all_tenants", "True");
        }
        if let Some(marker) = marker {
            pairs.append_pair("marker", marker);
        }
    }
    url
}

/// One decoded page: the servers still in use, and the next page's URL.
struct ServerPage {
    servers: Vec<ServerWire>,
    next: Option<Url>,
}

impl GlanceSource {
    /// The compute base for this token: configured, or the catalog's.
    fn compute_for(&self, token: &Token) -> Result<Url> {
        let usage = self.usage();
        usage
            .compute
            .clone()
            .or_else(|| token.extra().compute.clone())
            .ok_or_else(|| not_supported(usage))
    }

    /// The scope a scan of this catalog is expected to have, `None` when
    /// it cannot list servers at all (no compute endpoint configured, and
    /// none in the token's catalog once one was issued).
    pub(crate) fn expected_scope(&self) -> Option<UsageScope> {
        let usage = self.usage();
        let known = usage.compute.is_some()
            || match self.auth().peek() {
                Some(token) => usage.from_catalog && token.extra().compute.is_some(),
                None => usage.from_catalog,
            };
        known.then(|| {
            if usage.refused_all_tenants.load(Ordering::Relaxed) {
                UsageScope::OwnTenant
            } else {
                UsageScope::AllTenants
            }
        })
    }

    /// One page of servers, as [`InstanceRef`]s (the page's `DELETED`
    /// servers dropped, volume-booted ones resolved), the next token and
    /// the page's scope. `image`: keep only what may be this image.
    pub(crate) async fn server_page(
        &self,
        image: Option<&ImageId>,
        page_size: Option<u32>,
        token: Option<PageToken>,
    ) -> Result<(Vec<InstanceRef>, Option<PageToken>, UsageScope)> {
        let limit = page_size.unwrap_or(DEFAULT_SERVER_PAGE).clamp(1, 1000);
        let (page, all) = match token {
            None => match self.fetch_servers(None, limit, true).await {
                Ok(page) => (page, true),
                Err(e) if e.kind() == imagecat_core::ErrorKind::PermissionDenied => {
                    tracing::info!(backend = %BACKEND, "Nova refused all_tenants; listing the project's own servers");
                    self.usage()
                        .refused_all_tenants
                        .store(true, Ordering::Relaxed);
                    (self.fetch_servers(None, limit, false).await?, false)
                }
                Err(e) => return Err(e),
            },
            Some(PageToken::Link(link)) => {
                let all = all_tenants_in(&link);
                (self.fetch_servers(Some(&link), limit, all).await?, all)
            }
            Some(other) => {
                return Err(Error::invalid_input(
                    BACKEND,
                    format!("unsupported page token {other}: Nova pages by servers_links"),
                ));
            }
        };
        let scope = if all {
            UsageScope::AllTenants
        } else {
            UsageScope::OwnTenant
        };
        let next = page.page.next.map(|u| PageToken::Link(u.to_string()));
        let volume = page.volume;
        let resolved = futures::stream::iter(page.page.servers)
            .filter(|s| std::future::ready(!s.status.eq_ignore_ascii_case("DELETED")))
            .map(|server| {
                let volume = volume.clone();
                async move {
                    let boot = match boot_of(&server) {
                        Boot::Known(boot) => boot,
                        Boot::Volumes(ids) => self.resolve_volumes(volume.as_ref(), &ids).await,
                    };
                    let mut instance = InstanceRef::new(server.id, server.status, boot);
                    instance.name = server.name;
                    instance
                }
            })
            .buffered(VOLUME_READS)
            .collect::<Vec<_>>()
            .await;
        let instances = resolved
            .into_iter()
            .filter(|i| match (image, &i.boot) {
                (Some(wanted), BootSource::Image { id, .. }) => IdRule::Uuid
                    .canonical(id.as_str())
                    .is_none_or(|id| id == IdRule::Uuid.key_of(wanted)),
                (Some(_), BootSource::NoImage) => false,
                _ => true,
            })
            .collect();
        Ok((instances, next, scope))
    }

    /// Fetches one page: the first (with or without `all_tenants`) or the
    /// one a token's link stands for.
    async fn fetch_servers(
        &self,
        link: Option<&str>,
        limit: u32,
        all_tenants: bool,
    ) -> Result<Fetched> {
        let make_url = |compute: &Url| -> Result<Url> {
            let servers = servers_url(compute)?;
            match link {
                None => Ok(page_url(&servers, limit, None, all_tenants)),
                Some(link) => Ok(request_of(&servers, link)?.0),
            }
        };
        let handle = |response: HttpResponse, compute: &Url| -> Result<ServerPage> {
            if !response.status.is_success() {
                return Err(error_for(&response, None));
            }
            let servers = servers_url(compute)?;
            let wire: ServersWire = response.json()?;
            let next = match wire
                .servers_links
                .iter()
                .flatten()
                .find(|l| l.rel.as_deref() == Some("next"))
                .and_then(|l| l.href.as_deref())
            {
                None => None,
                Some(href) => {
                    let marker = marker_from_servers_link(&servers, href)?
                        .or_else(|| wire.servers.last().map(|s| s.id.clone()))
                        .ok_or_else(|| {
                            response.invalid("an empty page with a next link without a marker")
                        })?;
                    Some(page_url(&servers, limit, Some(&marker), all_tenants))
                }
            };
            Ok(ServerPage {
                servers: wire.servers,
                next,
            })
        };
        let (page, volume) = self
            .authed_on(
                "list servers",
                Idempotency::Idempotent,
                Method::GET,
                |token| self.compute_for(token),
                make_url,
                |response, base, token| {
                    let volume = self
                        .usage()
                        .volume
                        .clone()
                        .or_else(|| token.extra().volume.clone());
                    Ok((handle(response, base)?, volume))
                },
            )
            .await?;
        Ok(Fetched { page, volume })
    }

    /// What a volume-booted server's attached volumes say: the image of
    /// the (bootable) volume made from one; no image only when every volume
    /// was read, none carries an image and none is (or may be) bootable;
    /// unresolved when any could not be read or is bootable without image
    /// metadata.
    async fn resolve_volumes(&self, volume: Option<&Url>, ids: &[String]) -> BootSource {
        let Some(base) = volume else {
            return BootSource::Unresolved {
                reason: "booted from a volume and there is no block-storage endpoint (volumev3, block-storage or volumev2) to read it".into(),
            };
        };
        let mut found: Option<(bool, ImageId)> = None;
        for id in ids {
            match self.read_volume(base, id).await {
                Ok(VolumeSays::NoImage) => {}
                Ok(VolumeSays::Unknown(reason)) => return BootSource::Unresolved { reason },
                Ok(VolumeSays::Image(bootable, image)) => {
                    if found.as_ref().is_none_or(|(b, _)| bootable && !b) {
                        found = Some((bootable, image));
                    }
                }
                Err(e) => {
                    return BootSource::Unresolved {
                        reason: format!("volume {id} could not be read: {e}"),
                    };
                }
            }
        }
        match found {
            Some((_, id)) => BootSource::Image {
                id,
                via: FoundVia::RootVolume,
            },
            None => BootSource::NoImage,
        }
    }

    /// `GET {volume}/volumes/{id}`: whether it is bootable and the image it
    /// was made from.
    async fn read_volume(&self, base: &Url, id: &str) -> Result<VolumeSays> {
        let wanted = imagecat_http::canonical_uuid(BACKEND, &ImageId::new(id)).map_err(|_| {
            Error::invalid_input(BACKEND, format!("volume id {id:?} is not a UUID"))
        })?;
        self.authed_on(
            "read a volume",
            Idempotency::Idempotent,
            Method::GET,
            |_| Ok(base.clone()),
            |base| join_segments(BACKEND, base, &["volumes", wanted.as_str()]),
            |response, _, _| {
                if !response.status.is_success() {
                    return Err(error_for(&response, None));
                }
                let wire: VolumeWire = response.json()?;
                response.check_id_echo(&wanted, &wire.volume.id)?;
                let bootable = match &wire.volume.bootable {
                    Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                    Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                    Some(Value::Bool(b)) => Some(*b),
                    _ => None,
                };
                let image = match &wire.volume.volume_image_metadata {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(meta)) => match meta.get("image_id") {
                        Some(Value::String(s)) if !s.is_empty() => Some(image_id(s)),
                        None | Some(Value::Null) => None,
                        Some(_) => {
                            return Err(
                                response.invalid("volume_image_metadata.image_id is not a string")
                            );
                        }
                    },
                    Some(_) => {
                        return Err(response.invalid("volume_image_metadata is not an object"));
                    }
                };
                Ok(match (image, bootable) {
                    (Some(image), bootable) => VolumeSays::Image(bootable == Some(true), image),
                    (None, Some(false)) => VolumeSays::NoImage,
                    (None, Some(true)) => VolumeSays::Unknown(format!(
                        "volume {wanted} is bootable but carries no image metadata (a policy may hide it)"
                    )),
                    (None, None) => VolumeSays::Unknown(format!(
                        "volume {wanted} carries no image metadata and does not say whether it is bootable"
                    )),
                })
            },
        )
        .await
    }
}

/// What one volume read says about the image a server boots from.
enum VolumeSays {
    /// Made from this image (and whether the volume is bootable).
    Image(bool, ImageId),
    /// Not bootable and made from no image.
    NoImage,
    /// Bootable (or maybe) without image metadata: any image.
    Unknown(String),
}

/// A fetched page with the block-storage base of the token that fetched it.
struct Fetched {
    page: ServerPage,
    volume: Option<Url>,
}

/// Whether a link imagecat made asks for every tenant's servers.
fn all_tenants_in(link: &str) -> bool {
    Url::parse(link).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| k == "all_tenants" && v == "True")
    })
}

/// The error of a catalog that has no compute endpoint.
fn not_supported(usage: &Usage) -> Error {
    let message = if usage.from_catalog {
        "the Keystone service catalog has no public compute endpoint for this region (set one: compute= in the catalog URL, OS_COMPUTE_API_URL, or GlanceBuilder::compute_endpoint)"
    } else {
        "no compute endpoint is configured (compute= in the catalog URL, OS_COMPUTE_API_URL, GlanceBuilder::compute_endpoint, or Keystone credentials whose catalog has one)"
    };
    Error::new(imagecat_core::ErrorKind::NotSupported, message).with_backend(BACKEND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    #[test]
    fn servers_links_must_stay_on_the_compute_endpoint() {
        let servers = Url::parse("https://nova:8774/v2.1/servers/detail").unwrap();
        let ok = |next: &str| marker_from_servers_link(&servers, next).unwrap();
        assert_eq!(
            ok("https://nova:8774/v2.1/servers/detail?limit=1&marker=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            ok("/v2.1/servers/detail?marker=a%26b").as_deref(),
            Some("a&b")
        );
        assert_eq!(ok("/v2.1/servers/detail?limit=2"), None);
        for bad in [
            "https://evil.example/v2.1/servers/detail?marker=a",
            "http://nova:8774/v2.1/servers/detail?marker=a",
            "https://nova:9999/v2.1/servers/detail?marker=a",
            "/v2.1/servers?marker=a",
            "/v2.1/servers/detail/../../../admin?marker=a",
            "/v2.1/servers/detail?marker=a&marker=b",
            "/v2.1/servers/detail?marker=",
            "https://u:p@nova:8774/v2.1/servers/detail?marker=a",
        ] {
            let e = marker_from_servers_link(&servers, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{bad}");
        }
    }

    fn server(json: Value) -> ServerWire {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_image_field_says_image_volume_or_unknown() {
        let id = "8B9F8D47-0000-4000-8000-000000000001";
        match boot_of(&server(
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": {"id": id, "links": []}}),
        )) {
            Boot::Known(BootSource::Image { id: got, via }) => {
                assert_eq!(got.as_str(), id.to_ascii_lowercase());
                assert_eq!(via, FoundVia::ImageField);
            }
            _ => panic!("expected the image"),
        }
        let by_volume = server(
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": "",
            "os-extended-volumes:volumes_attached": [{"id": "v1"}, {"id": "v2"}]}),
        );
        assert!(matches!(boot_of(&by_volume), Boot::Volumes(v) if v == ["v1", "v2"]));
        for unknown in [
            serde_json::json!({"id": "s", "status": "UNKNOWN"}),
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": null}),
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": ""}),
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": {"links": []}}),
            serde_json::json!({"id": "s", "status": "ACTIVE", "image": 7}),
        ] {
            assert!(
                matches!(
                    boot_of(&server(unknown.clone())),
                    Boot::Known(BootSource::Unresolved { .. })
                ),
                "{unknown}"
            );
        }
    }

    #[test]
    fn next_pages_are_rebuilt_with_the_scope_asked() {
        let servers = Url::parse("http://h/compute/v2.1/servers/detail").unwrap();
        let url = page_url(&servers, 5, Some("m-1"), true);
        assert_eq!(
            url.as_str(),
            "http://h/compute/v2.1/servers/detail?limit=5&all_tenants=True&marker=m-1"
        );
        let (again, all) = request_of(&servers, url.as_str()).unwrap();
        assert!(all && again == url);
        let (_, all) =
            request_of(&servers, page_url(&servers, 5, Some("m"), false).as_str()).unwrap();
        assert!(!all);
        assert!(request_of(&servers, "http://evil/compute/v2.1/servers/detail?marker=m").is_err());
    }
}

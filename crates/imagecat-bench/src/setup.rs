//! The emulators (on their own runtime, so that serving never runs on the
//! client's threads), the imagecat catalogs over them, and the plain reqwest
//! client of the limit loops.

use std::sync::Arc;
use std::time::Duration;

use imagecat_core::{ImageCatalog, PagingOptions};
use imagecat_dcmgr::DcmgrCatalog;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig};
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};
use imagecat_gce::GceCatalog;
use imagecat_glance::GlanceCatalog;
use imagecat_http::reqwest::{self, Client, header::HeaderMap, header::HeaderValue};
use imagecat_http::{HttpOptions, SecretString, Url};
use imagecat_toast::ToastCatalog;
use tokio::runtime::Runtime;

use crate::Res;

/// The backends measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Toast,
    Dcmgr,
    Glance,
    Gce,
}

impl Backend {
    pub(crate) const ALL: [Backend; 4] = [
        Backend::Toast,
        Backend::Dcmgr,
        Backend::Glance,
        Backend::Gce,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Toast => "TOAST",
            Backend::Dcmgr => "DCMGR",
            Backend::Glance => "Glance",
            Backend::Gce => "GCE",
        }
    }

    /// Whether the CLI sections (memory, the naive script) cover it:
    /// `bench/naive_list.py` speaks TOAST and DCMGR only.
    pub(crate) fn in_cli_sections(self) -> bool {
        matches!(self, Backend::Toast | Backend::Dcmgr)
    }

    /// imagecat's default page size for the backend.
    pub(crate) fn default_page_size(self) -> u32 {
        match self {
            Backend::Toast => imagecat_toast::DEFAULT_PAGE_SIZE,
            Backend::Dcmgr => imagecat_dcmgr::DEFAULT_PAGE_SIZE,
            Backend::Glance => imagecat_glance::DEFAULT_PAGE_SIZE,
            // the default is the largest, 500
            Backend::Gce => imagecat_gce::MAX_PAGE_SIZE,
        }
    }
}

/// The static token and appkey of the TOAST emulator's defaults.
pub(crate) fn toast_credentials() -> (String, String) {
    let config = ToastEmulatorConfig::default();
    (config.appkey, config.token)
}

/// A running emulator of either backend.
#[derive(Debug)]
pub(crate) enum Emulator {
    Toast(ToastEmulator),
    Dcmgr(DcmgrEmulator),
    Glance(GlanceEmulator),
    Gce(GceEmulator),
}

impl Emulator {
    /// Starts an emulator of `images` generated images on `rt`, with
    /// `latency` added to every request.
    pub(crate) fn start(
        rt: &Runtime,
        backend: Backend,
        images: usize,
        latency: Duration,
    ) -> std::io::Result<Self> {
        let serve = ServeOptions {
            latency,
            ..ServeOptions::default()
        };
        rt.block_on(async move {
            Ok(match backend {
                Backend::Toast => Emulator::Toast(
                    ToastEmulator::start(
                        ToastEmulatorConfig {
                            images,
                            ..ToastEmulatorConfig::default()
                        },
                        serve,
                    )
                    .await?,
                ),
                Backend::Dcmgr => Emulator::Dcmgr(
                    DcmgrEmulator::start(DcmgrEmulatorConfig::v1203().images(images), serve)
                        .await?,
                ),
                Backend::Glance => Emulator::Glance(
                    GlanceEmulator::start(
                        GlanceEmulatorConfig::default().images(images as u64),
                        serve,
                    )
                    .await?,
                ),
                Backend::Gce => Emulator::Gce(
                    GceEmulator::start(GceEmulatorConfig::default().images(images as u64), serve)
                        .await?,
                ),
            })
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Emulator::Toast(_) => Backend::Toast,
            Emulator::Dcmgr(_) => Backend::Dcmgr,
            Emulator::Glance(_) => Backend::Glance,
            Emulator::Gce(_) => Backend::Gce,
        }
    }

    /// The adapter endpoint (`http://127.0.0.1:PORT/compute`, `…/api/12.03`).
    pub(crate) fn endpoint(&self) -> String {
        match self {
            Emulator::Toast(e) => e.endpoint(),
            Emulator::Dcmgr(e) => e.endpoint(),
            Emulator::Glance(e) => e.endpoint(),
            Emulator::Gce(e) => e.endpoint(),
        }
    }

    /// The catalog URL the CLI opens (DCMGR: the administrator's view, no
    /// account, as the in-process catalogs use).
    pub(crate) fn catalog_url(&self) -> String {
        match self {
            Emulator::Toast(e) => e.catalog_url(),
            Emulator::Dcmgr(e) => e.catalog_url(None),
            Emulator::Glance(e) => e.catalog_url(),
            Emulator::Gce(e) => e.catalog_url_for(e.project()),
        }
    }

    /// How many requests the emulator received so far.
    pub(crate) fn requests(&self) -> usize {
        match self {
            Emulator::Toast(e) => e.server().request_count(),
            Emulator::Dcmgr(e) => e.server().request_count(),
            Emulator::Glance(e) => e.server().request_count(),
            Emulator::Gce(e) => e.server().request_count(),
        }
    }

    /// The imagecat catalog over this emulator.
    pub(crate) fn catalog(&self, paging: PagingOptions) -> Res<Arc<dyn ImageCatalog>> {
        let built: imagecat_core::Result<Arc<dyn ImageCatalog>> = match self {
            Emulator::Toast(_) => {
                let (appkey, token) = toast_credentials();
                ToastCatalog::builder()
                    .endpoint(self.endpoint())
                    .appkey(appkey)
                    .token(SecretString::new(token))
                    .http_options(HttpOptions::default())
                    .paging_options(paging)
                    .build()
                    .map(|c| Arc::new(c) as Arc<dyn ImageCatalog>)
            }
            Emulator::Dcmgr(_) => DcmgrCatalog::builder()
                .endpoint(self.endpoint())
                .http_options(HttpOptions::default())
                .paging_options(paging)
                .build()
                .map(|c| Arc::new(c) as Arc<dyn ImageCatalog>),
            Emulator::Glance(e) => GlanceCatalog::builder()
                .endpoint(self.endpoint())
                .token(SecretString::new(glance_token(e)))
                .http_options(HttpOptions::default())
                .paging_options(paging)
                .build()
                .map(|c| Arc::new(c) as Arc<dyn ImageCatalog>),
            Emulator::Gce(e) => GceCatalog::builder()
                .project(e.project())
                .endpoint(self.endpoint())
                .access_token(SecretString::new(imagecat_emulators::gce::TOKEN))
                .http_options(HttpOptions::default())
                .paging_options(paging)
                .build()
                .map(|c| Arc::new(c) as Arc<dyn ImageCatalog>),
        };
        Ok(built?)
    }

    /// What the limit loops need to request the same pages as imagecat.
    pub(crate) fn listing(&self, page_size: u32) -> Res<Listing> {
        let base = Url::parse(&self.endpoint())?;
        let mut headers = HeaderMap::new();
        let (images_url, paging) = match self {
            Emulator::Toast(_) => {
                let (appkey, token) = toast_credentials();
                headers.insert("X-Auth-Token", HeaderValue::from_str(&token)?);
                let url = join(&base, &["v1.0", "appkeys", &appkey, "images"]);
                (url, Paging::Marker)
            }
            Emulator::Dcmgr(_) => {
                headers.insert("accept", HeaderValue::from_static("application/json"));
                (join(&base, &["images"]), Paging::Offset)
            }
            Emulator::Glance(e) => {
                headers.insert("X-Auth-Token", HeaderValue::from_str(&glance_token(e))?);
                (join(&base, &["v2", "images"]), Paging::Link)
            }
            Emulator::Gce(e) => {
                let bearer = format!("Bearer {}", imagecat_emulators::gce::TOKEN);
                headers.insert("authorization", HeaderValue::from_str(&bearer)?);
                let url = join(&base, &["projects", e.project(), "global", "images"]);
                (url, Paging::Token)
            }
        };
        Ok(Listing {
            images_url,
            headers,
            page_size,
            paging,
        })
    }
}

/// The static token of a Glance emulator (none configured: empty).
fn glance_token(emulator: &GlanceEmulator) -> String {
    emulator.config().token.clone().unwrap_or_default()
}

fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// How a backend pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// TOAST: `limit` and the last id of the previous page as `marker`.
    Marker,
    /// DCMGR: `start` and `limit`, and the `state=alive` filter that
    /// imagecat's default query sends.
    Offset,
    /// Glance: `limit` and the marker of the page's `next` link.
    Link,
    /// GCE: `maxResults` and the previous page's opaque `nextPageToken`
    /// as `pageToken`.
    Token,
}

/// The requests of one listing, built exactly as the adapters build them.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) images_url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) page_size: u32,
    pub(crate) paging: Paging,
}

impl Listing {
    /// The URL of the page after `marker` (TOAST, Glance) or at `start`
    /// (DCMGR).
    pub(crate) fn page_url(&self, marker: Option<&str>, start: u64) -> Url {
        let mut url = self.images_url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            match self.paging {
                Paging::Marker | Paging::Link => {
                    pairs.append_pair("limit", &self.page_size.to_string());
                    if let Some(marker) = marker {
                        pairs.append_pair("marker", marker);
                    }
                }
                Paging::Token => {
                    pairs.append_pair("maxResults", &self.page_size.to_string());
                    if let Some(token) = marker {
                        pairs.append_pair("pageToken", token);
                    }
                }
                Paging::Offset => {
                    pairs.append_pair("start", &start.to_string());
                    pairs.append_pair("limit", &self.page_size.to_string());
                    pairs.append_pair("state", "alive");
                }
            }
        }
        url
    }
}

/// A reqwest client with the settings of imagecat's `HttpClient` (rustls,
/// plain HTTP allowed as for an `http://` endpoint, the same connect timeout
/// and User-Agent, at most 5 redirects).
pub(crate) fn plain_client() -> Res<Client> {
    let options = HttpOptions::default();
    Ok(Client::builder()
        .use_rustls_tls()
        .https_only(false)
        .connect_timeout(options.connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(options.user_agent)
        .build()?)
}

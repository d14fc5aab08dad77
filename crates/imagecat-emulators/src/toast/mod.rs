//! Emulator of the NHN Cloud (TOAST) Compute Image API v1.0, as the real
//! server is understood to behave (see `reference/toast-nhn-api.md`), not
//! only as its docs read:
//!
//! - `GET {base}/v1.0/appkeys/{appkey}/images?limit&marker`,
//!   `GET {base}/v1.0/appkeys/{appkey}/instances-detail` (see `instances`),
//!   `DELETE {base}/v1.0/appkeys/{appkey}/images?id`,
//!   `POST {base}/v1.0/appkeys/{appkey}/tokens`,
//!   `GET {base}/v1.0/appkeys/{appkey}/tokens?id=` (the token look-up: the
//!   issue answer again while the token lives, `50404` after);
//! - every answer is the `header` envelope, and failures are HTTP 200 with
//!   `isSuccessful: false`: `-3` for a missing, unknown or expired token or a
//!   wrong appkey, `-4` for bad parameters, `-8` for a request body that is
//!   not JSON, `30400` for an unknown marker (Glance answers 400 `Invalid
//!   marker`, relayed in the 304xx family), `30403` for deleting a protected
//!   or public image, `30404` for deleting an image that does not exist,
//!   `50401` for a wrong username or API password at the token API;
//! - Glance order (`created_at` desc, then `id` desc), Glance's default
//!   `limit` (25) and silent clamp (1000); marker paging that excludes the
//!   marker (Glance) or includes it (the docs), chosen at start;
//! - timestamps as Glance v1 writes them: no zone, six fraction digits;
//! - tokens that expire after `token_ttl`, and a static token that does not;
//! - optional catalog churn ([`ToastEmulatorConfig::churn`]): after each list
//!   request, new images (the newest, so listed first) and deletions of
//!   random existing ones, logged in [`ToastEmulator::churn_log`].
//!
//! Data of any size is derived from the index: image `i` (0 is the newest)
//! has its index encoded in its UUID, so a marker maps back to its position
//! in O(1) and a page costs O(page size). Deletions and insertions are small
//! overlays. A few images have Glance statuses other than `active`, only
//! those the v1.0 docs list (index 3 `queued` with null name and disk format,
//! size 0 and `updatedAt` equal to `createdAt`, as Glance v1 reserves an id;
//! 5 `saving`; 11 `killed`; 13 `deactivated`; 17 `pending_delete`; 19
//! `queued`), every tenth image (0, 10, …) is a public
//! image (protected, as NHN's are), images 5, 15, … are private but
//! protected; names are English, Korean or Japanese.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use self::data::*;
use self::handlers::*;
use self::wire::*;
use crate::Counter;
use crate::churn::{Churn, ChurnLog, ChurnStep, Draws};
use crate::seed::{IdScheme, splitmix64};
use crate::server::{
    Canned, EmulatorServer, ServeOptions, encode_query_value, json_bytes_response, normalize_base,
};

mod data;
mod handlers;
pub mod instances;
#[cfg(test)]
mod tests;
mod wire;

/// Whether the page after a marker starts with the marker image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarkerMode {
    /// The marker image is the first of the next page (the docs: "from the
    /// image specified as marker").
    Inclusive,
    /// The next page starts after the marker image (Glance).
    #[default]
    Exclusive,
}

/// The appkey the emulator accepts by default.
pub const APPKEY: &str = "emulator-appkey";
/// The static token the emulator accepts by default (it never expires).
pub const TOKEN: &str = "emulator-token";
/// The TOAST ID the token API accepts by default.
pub const USERNAME: &str = "demo@example.com";
/// The API password the token API accepts by default.
pub const PASSWORD: &str = "demo-api-password";

/// How the emulator behaves and what it holds.
#[derive(Debug, Clone)]
pub struct ToastEmulatorConfig {
    /// How many seeded images (any size: they are derived, not stored).
    /// Default 50.
    pub images: usize,
    /// Seed of the data (ids, names, sizes). Default 0.
    pub seed: u64,
    /// Marker semantics. Default [`MarkerMode::Exclusive`].
    pub marker: MarkerMode,
    /// The only appkey accepted. Default `emulator-appkey`.
    pub appkey: String,
    /// A static valid token that never expires. Default `emulator-token`.
    pub token: String,
    /// The TOAST ID accepted by the token API. Default `demo@example.com`.
    pub username: String,
    /// The API password accepted by the token API. Default `demo-api-password`.
    pub password: String,
    /// Lifetime of issued tokens; expired tokens are refused with `-3`.
    /// Default 1 h.
    pub token_ttl: Duration,
    /// A lying server: the marker is ignored and every page is the first.
    pub ignore_marker: bool,
    /// The API base path. Default `/compute`.
    pub base_path: String,
    /// The page size when the request has no `limit` (Glance's 25).
    pub default_limit: usize,
    /// The largest page served; larger limits are clamped silently (1000).
    pub max_limit: usize,
    /// Writes `isPublic`, `protected`, `minDisk`, `minRam` and `size` as
    /// strings, as the docs' response template quotes them.
    pub quoted_scalars: bool,
    /// Images created and deleted after each list request. Default none.
    pub churn: Option<Churn>,
    /// How many seeded instances (see [`instances`]). Default 12.
    pub instances: usize,
}

impl Default for ToastEmulatorConfig {
    fn default() -> Self {
        ToastEmulatorConfig {
            images: 50,
            seed: 0,
            marker: MarkerMode::Exclusive,
            appkey: APPKEY.to_owned(),
            token: TOKEN.to_owned(),
            username: USERNAME.to_owned(),
            password: PASSWORD.to_owned(),
            token_ttl: Duration::from_secs(3600),
            ignore_marker: false,
            base_path: "/compute".to_owned(),
            default_limit: 25,
            max_limit: 1000,
            quoted_scalars: false,
            churn: None,
            instances: 12,
        }
    }
}

/// One image as the emulator serves it (for inserting images and for
/// reading the seeded ones).
#[derive(Debug, Clone, PartialEq)]
pub struct ToastImage {
    /// The id (a lower-case UUID).
    pub id: String,
    /// The name; `None` is served as `null`.
    pub name: Option<String>,
    /// The Glance status word.
    pub status: String,
    /// `isPublic`.
    pub is_public: bool,
    /// `protected`.
    pub protected: bool,
    /// `minDisk` in GB.
    pub min_disk: u64,
    /// `minRam` in MB.
    pub min_ram: u64,
    /// `size` in bytes; `None` is served as `null`.
    pub size: Option<u64>,
    /// `diskFormat`; `None` is served as `null`.
    pub disk_format: Option<String>,
    /// `createdAt` (served with microseconds, no zone).
    pub created_at: DateTime<Utc>,
    /// `updatedAt`; `None` is served as `null`.
    pub updated_at: Option<DateTime<Utc>>,
    /// `properties`.
    pub properties: BTreeMap<String, String>,
}

impl ToastImage {
    /// An active private qcow2 image created now, with this id and name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        let now = Utc::now();
        ToastImage {
            id: id.into().to_ascii_lowercase(),
            name: Some(name.into()),
            status: "active".to_owned(),
            is_public: false,
            protected: false,
            min_disk: 20,
            min_ram: 0,
            size: Some(1_073_741_824),
            disk_format: Some("qcow2".to_owned()),
            created_at: now,
            updated_at: Some(now),
            properties: BTreeMap::from([("image_type".to_owned(), "snapshot".to_owned())]),
        }
    }
}

/// A running TOAST emulator; stops when dropped.
#[derive(Debug)]
pub struct ToastEmulator {
    server: EmulatorServer,
    emu: Arc<Emu>,
    instances: Arc<instances::InstanceSet>,
}

#[derive(Debug, Default)]
struct Store {
    /// Seeded indices deleted or removed.
    deleted: HashSet<usize>,
    /// Inserted images, sorted in listing order (newest first).
    inserted: Vec<ToastImage>,
    /// Issued tokens and when they expire.
    tokens: HashMap<String, Instant>,
    /// What the token look-up answers for an issued token: `expires` as
    /// issued and `issued_at` in microseconds.
    token_docs: HashMap<String, (String, i64)>,
    issued: u64,
    canned_images: VecDeque<Canned>,
    canned_tokens: VecDeque<Canned>,
    /// What churn changed so far.
    churn: ChurnLog,
}

#[derive(Debug)]
struct Emu {
    config: ToastEmulatorConfig,
    ids: IdScheme,
    state: Mutex<Store>,
    /// Image requests (list, delete) that reached a handler.
    image_requests: Counter,
    /// List requests refused because their marker image is gone.
    stale_markers: AtomicU64,
}

impl ToastEmulator {
    /// Starts the emulator on 127.0.0.1 with an ephemeral port.
    pub async fn start(
        config: ToastEmulatorConfig,
        options: ServeOptions,
    ) -> std::io::Result<Self> {
        let base = normalize_base(&config.base_path);
        let emu = Arc::new(Emu {
            ids: IdScheme::new(config.seed),
            config: ToastEmulatorConfig {
                base_path: base.clone(),
                ..config
            },
            state: Mutex::new(Store::default()),
            image_requests: Counter::default(),
            stale_markers: AtomicU64::new(0),
        });
        let router = Router::new()
            .route(
                &format!("{base}/v1.0/appkeys/{{appkey}}/images"),
                get(list_images).delete(delete_image),
            )
            .route(
                &format!("{base}/v1.0/appkeys/{{appkey}}/tokens"),
                axum::routing::post(issue_token).get(look_up_token),
            )
            .fallback(unknown_route)
            .with_state(Arc::clone(&emu));
        let set = Arc::new(instances::InstanceSet::new(instances::seeded(&emu)));
        let router = router.merge(instances::routes(&base, Arc::clone(&emu), Arc::clone(&set)));
        let hostile = options.hostile.map(|h| h.records()).unwrap_or_default();
        let server = EmulatorServer::start_with(router, options).await?;
        let started = ToastEmulator {
            server,
            emu,
            instances: set,
        };
        for record in hostile {
            let mut image = ToastImage::new(&record.uuid, record.name);
            image.status = record.text.clone();
            image.properties.insert("description".into(), record.text);
            started.insert_image(image);
        }
        Ok(started)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ToastEmulatorConfig {
        &self.emu.config
    }

    /// The endpoint for the adapter: `http://127.0.0.1:PORT/compute`.
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.server.base_url(), self.emu.config.base_path)
    }

    /// The catalog URL for the facade:
    /// `toast+http://127.0.0.1:PORT/compute?appkey=KEY`.
    pub fn catalog_url(&self) -> String {
        format!(
            "toast+http://{}{}?appkey={}",
            self.server.addr(),
            self.emu.config.base_path,
            encode_query_value(&self.emu.config.appkey)
        )
    }

    /// The id of seeded image `index` (whether or not it is still there).
    pub fn seeded_id(&self, index: usize) -> String {
        self.emu.ids.id(index)
    }

    /// Seeded image `index` as it is served (whether or not it is still there).
    pub fn seeded_image(&self, index: usize) -> ToastImage {
        self.emu.seeded_image(index)
    }

    /// Every image a full listing serves now, in order. O(n): for tests.
    pub fn snapshot(&self) -> Vec<ToastImage> {
        let state = self.emu.lock();
        self.emu
            .page(&state, &Start::First, usize::MAX)
            .iter()
            .map(|row| self.emu.row_image(row))
            .collect()
    }

    /// The ids a full listing serves now, in order. O(n): for tests.
    pub fn listed_ids(&self) -> Vec<String> {
        let state = self.emu.lock();
        self.emu
            .page(&state, &Start::First, usize::MAX)
            .iter()
            .map(|row| self.emu.row_id(row))
            .collect()
    }

    /// How many images a full listing serves now.
    pub fn len(&self) -> usize {
        let state = self.emu.lock();
        let seeded_deleted = state
            .deleted
            .iter()
            .filter(|&&i| i < self.emu.seeded_len())
            .count();
        self.emu.seeded_len() - seeded_deleted + state.inserted.len()
    }

    /// Whether a full listing serves nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `n` ids of live seeded images that may be deleted (private, not
    /// protected, `active`), oldest first so that deleting them disturbs
    /// the first pages least.
    pub fn deletable_ids(&self, n: usize) -> Vec<String> {
        let state = self.emu.lock();
        (0..self.emu.seeded_len())
            .rev()
            .filter(|i| !state.deleted.contains(i))
            .filter(|&i| {
                let s = Seeded::new(self.emu.config.seed, i);
                !s.protected() && !s.is_public() && s.status() == "active"
            })
            .take(n)
            .map(|i| self.emu.ids.id(i))
            .collect()
    }

    /// The id of a public (and protected) seeded image, if any.
    pub fn public_id(&self) -> Option<String> {
        (self.emu.seeded_len() > 0).then(|| self.emu.ids.id(0))
    }

    /// The id of a private but protected seeded image, if any.
    pub fn protected_id(&self) -> Option<String> {
        (self.emu.seeded_len() > 5).then(|| self.emu.ids.id(5))
    }

    /// A well-formed id of no image.
    pub fn missing_id(&self) -> String {
        let mut id = self.emu.ids.id(MAX_SEEDED - 1);
        // Never an inserted id either.
        let state = self.emu.lock();
        while state.inserted.iter().any(|i| i.id == id) {
            id = uuid::Uuid::new_v4().hyphenated().to_string();
        }
        id
    }

    /// Adds (or replaces) an image; it is listed by its `created_at`.
    pub fn insert_image(&self, mut image: ToastImage) {
        image.id = image.id.to_ascii_lowercase();
        let mut state = self.emu.lock();
        if let Some(index) = self.emu.live_seeded(&state, &image.id) {
            state.deleted.insert(index);
        }
        state.inserted.retain(|i| i.id != image.id);
        let key = Key {
            micros: micros_of(&image.created_at),
            id: image.id.clone(),
        };
        let at = state.inserted.partition_point(|i| {
            Key {
                micros: micros_of(&i.created_at),
                id: i.id.clone(),
            } > key
        });
        state.inserted.insert(at, image);
    }

    /// Removes an image without a delete call (catalog churn); whether it
    /// was there.
    pub fn remove_image(&self, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        let mut state = self.emu.lock();
        if let Some(index) = self.emu.live_seeded(&state, &id) {
            state.deleted.insert(index);
            return true;
        }
        let before = state.inserted.len();
        state.inserted.retain(|i| i.id != id);
        state.inserted.len() != before
    }

    /// What churn changed so far (empty without [`ToastEmulatorConfig::churn`]).
    pub fn churn_log(&self) -> ChurnLog {
        self.emu.lock().churn.clone()
    }

    /// How many list requests were refused because their marker image was
    /// gone (`30400`).
    pub fn stale_marker_count(&self) -> u64 {
        self.emu.stale_markers.load(Ordering::SeqCst)
    }

    /// Expires every issued token now (the static token stays valid).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for deadline in self.emu.lock().tokens.values_mut() {
            *deadline = now;
        }
    }

    /// Every token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.emu.lock().tokens.keys().cloned().collect()
    }

    /// Serves this JSON (or any text) with this status for the next images
    /// request (list or delete), after the request is logged and before any
    /// check. Queued answers are served in order.
    pub fn push_response(&self, status: u16, body: impl Into<String>) {
        self.push_raw_response(status, "application/json", body);
    }

    /// Like [`ToastEmulator::push_response`] with a content type.
    pub fn push_raw_response(&self, status: u16, content_type: &str, body: impl Into<String>) {
        self.emu.lock().canned_images.push_back(Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.into().into_bytes(),
        });
    }

    /// Serves this JSON with this status for the next token request.
    pub fn push_token_response(&self, status: u16, body: impl Into<String>) {
        self.emu.lock().canned_tokens.push_back(Canned {
            status,
            content_type: "application/json".to_owned(),
            body: body.into().into_bytes(),
        });
    }

    /// How many token requests were received.
    pub fn token_request_count(&self) -> usize {
        self.server
            .count_requests(|r| r.method == "POST" && r.path.ends_with("/tokens"))
    }

    /// How many image requests (list and delete) were received.
    pub fn image_request_count(&self) -> usize {
        self.server.count_requests(|r| r.path.ends_with("/images"))
    }

    /// A counter of the image requests (list and delete) that reached the
    /// handlers, which outlives borrows (for the conformance fixture).
    pub fn image_request_counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        self.emu.image_requests.reader()
    }
}

crate::impl_emulator!(ToastEmulator, "toast", |this| ToastEmulator::catalog_url(
    this
));

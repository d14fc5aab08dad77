//! Emulator of the Wakame-vdc DCMGR images API, in both layouts, as the
//! reference (`shared/reference/wakame-dcmgr-api.md`) describes the real
//! server.
//!
//! - [`Layout::V1203`]: base `/api/12.03`; the index is a JSON array holding
//!   one `{"total","start","limit","results"}` object; 24-key images;
//!   `ORDER BY id DESC`; `limit` omitted or 0 means 250, a negative or
//!   non-numeric one is 400 `"limit"`, a bad `start` 400 `"start"`; `state`
//!   is `alive`, `alive_with_deleted`, `available` or `deleted` (anything
//!   else 400 `"state"`), and without it deleted images are listed too;
//!   account scoping (`X-VDC-Account-UUID`: own images only, `is_public=true`
//!   ORs in the public ones; show and destroy of another account's image are
//!   404 `"100"`; a malformed header is 400 `"103"`, a disabled account 403
//!   `"104"`); soft delete (`state` deleted plus `deleted_at`, a repeat
//!   DELETE answers 200 with the same body); a bad id 400 `"143"`
//!   `Invalid UUID Syntax: <id>`; an unknown id 404 `"100"`; an unknown
//!   route Sinatra's HTML `<h1>Not Found</h1>` (with a JSON content type);
//!   `.yml` paths answer YAML as Ruby's Psych writes it (symbol keys, Ruby
//!   times), errors included; `PUT /images/:id` updates `display_name` and
//!   `description`; `/images/:id/labels[/:name]` reads and writes labels;
//!   the index takes `service_type`, `filter=col.nil|not_nil`,
//!   `sort_by=col.asc|desc` and `created_*`/`deleted_*` bounds, and show,
//!   update and destroy are scoped by `service_type`. The differences that
//!   remain are listed in `docs/fidelity/dcmgr.md`.
//! - [`Layout::Legacy`]: base `/api`; the wiki's bare
//!   `{"owner_total","start","limit","result"}` object (or, with
//!   [`DcmgrEmulatorConfig::legacy_wrapped`], the `[{…,"results"}]` form the
//!   11.12 code emitted); 13-key images whose `source` and `features` are
//!   YAML strings, `md5sum` set, timestamps as Ruby prints them
//!   (`2013-01-01 00:00:00 UTC`) and an empty description as `null`; the
//!   index lists only the account's own images, deleted ones included, and
//!   ignores `state` and `is_public`; `start` and `limit` are read like
//!   Ruby's `to_i` (a missing or non-positive limit means no limit);
//!   another account's image is 403 `"105"` unless it is public (show).
//!
//! With [`DcmgrEmulatorConfig::churn`], every index request is followed by
//! catalog churn: new images of the first account (the newest ids, so
//! listed first) and soft deletions of random existing images, as DELETE
//! does; [`DcmgrEmulator::churn_log`] tells what changed.
//!
//! The data is derived from the index of each image and the seed, so a
//! catalog of any size costs nothing until listed: listing computes the
//! ordered indices of the requested scope once (O(n), then cached) and each
//! page is then O(page size). Changes made while the emulator runs (insert,
//! soft delete, hard removal, state changes) are a small overlay, and update
//! the cached scopes in place (a binary search per scope).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, Uri};
use axum::middleware::map_response_with_state;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration as ChronoDuration, Timelike, Utc};
use percent_encoding::percent_decode_str;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use url::form_urlencoded;

use self::data::*;
use self::golden::*;
use self::handlers::*;
use self::model::*;
use self::update::*;
use self::wire::*;
use self::yaml::*;
use crate::churn::{Churn, ChurnLog, ChurnStep, Draws};
use crate::seed::{ID_SPACE, IdCodec, base36_8, splitmix64};
use crate::server::{EmulatorServer, ServeOptions};

mod data;
mod golden;
mod handlers;
pub mod instances;
mod model;
#[cfg(test)]
mod tests;
mod update;
mod wire;
mod yaml;

/// Which API layout the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The current API: base `/api/12.03`, array-wrapped index, 24-key images.
    #[default]
    V1203,
    /// The older unversioned API of the wiki: base `/api`, bare index with
    /// `owner_total` and `result`, YAML-string fields.
    Legacy,
}

impl Layout {
    /// The API base path.
    pub fn base(self) -> &'static str {
        match self {
            Layout::V1203 => "/api/12.03",
            Layout::Legacy => "/api",
        }
    }
}

/// The first account of the default configuration: "your" account, whose
/// `X-VDC-Account-UUID` the default catalog URL carries.
pub const OWN_ACCOUNT: &str = "a-shpoolxx";

/// What the emulator serves and how it misbehaves.
#[derive(Debug, Clone)]
pub struct DcmgrEmulatorConfig {
    /// The layout.
    pub layout: Layout,
    /// How many seeded images. Default 60.
    pub images: usize,
    /// The seed of the generated data (ids, owners, states…).
    pub seed: u64,
    /// The accounts owning the seeded images. The first is "your" account:
    /// it owns the admin-chosen images (`wmi-centos1d64`, `wmi-lbnode1d64`),
    /// the images in states `init` (the column default), `pending` and
    /// `creating` (only the server's states), and
    /// about half of the rest; the others share the remainder. Default
    /// `a-shpoolxx`, `a-tenant0b`, `a-tenant0c`.
    pub accounts: Vec<String>,
    /// Accounts answered with 403 `"104"` (DisabledAccount).
    pub disabled_accounts: Vec<String>,
    /// Refuse requests without `X-VDC-Account-UUID` with 400 `"103"`, as
    /// 11.12 did. Default false (12.03 makes it optional);
    /// [`DcmgrEmulatorConfig::legacy`] sets it.
    pub require_account: bool,
    /// A lying server: every index request answers the first page (with the
    /// requested `start` echoed).
    pub ignore_start: bool,
    /// A lying server: the index reports this total instead of the real one.
    pub wrong_total: Option<u64>,
    /// A lying server: the first page (`start=0`) reports the true total,
    /// every later page this smaller one, while still serving every image.
    pub shrinking_total: Option<u64>,
    /// A server (or proxy) that returns at most this many images per page,
    /// whatever the `limit` (the effective limit is echoed).
    pub max_limit: Option<usize>,
    /// Legacy layout only: answer `[{"owner_total",…,"results":[…]}]` (what
    /// the 11.12 code emitted) instead of the wiki's bare object with `result`.
    pub legacy_wrapped: bool,
    /// Images created and soft-deleted after each index request. Default none.
    pub churn: Option<Churn>,
    /// The service types of `dcmgr.conf` (`service_type=` must name one).
    /// Default `std`, `lb`.
    pub service_types: Vec<String>,
    /// How many seeded instances (see [`instances`]). Default 12.
    pub instances: usize,
}

impl Default for DcmgrEmulatorConfig {
    fn default() -> Self {
        DcmgrEmulatorConfig {
            layout: Layout::V1203,
            images: 60,
            seed: 0,
            accounts: vec![OWN_ACCOUNT.into(), "a-tenant0b".into(), "a-tenant0c".into()],
            disabled_accounts: Vec::new(),
            require_account: false,
            ignore_start: false,
            wrong_total: None,
            shrinking_total: None,
            max_limit: None,
            legacy_wrapped: false,
            churn: None,
            service_types: vec!["std".into(), "lb".into()],
            instances: 12,
        }
    }
}

impl DcmgrEmulatorConfig {
    /// The 12.03 layout with the defaults.
    pub fn v1203() -> Self {
        Self::default()
    }

    /// The legacy layout, requiring the account header like 11.12.
    pub fn legacy() -> Self {
        DcmgrEmulatorConfig {
            layout: Layout::Legacy,
            require_account: true,
            ..Self::default()
        }
    }

    /// Sets the number of seeded images.
    pub fn images(mut self, n: usize) -> Self {
        self.images = n;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets whether the account header is required.
    pub fn require_account(mut self, yes: bool) -> Self {
        self.require_account = yes;
        self
    }

    /// Makes the server ignore `start`.
    pub fn ignore_start(mut self, yes: bool) -> Self {
        self.ignore_start = yes;
        self
    }

    /// Makes the server report a wrong total.
    pub fn wrong_total(mut self, total: Option<u64>) -> Self {
        self.wrong_total = total;
        self
    }

    /// Makes every page after the first report this total.
    pub fn shrinking_total(mut self, total: Option<u64>) -> Self {
        self.shrinking_total = total;
        self
    }

    /// Sets the churn after each index request.
    pub fn churn(mut self, churn: Option<Churn>) -> Self {
        self.churn = churn;
        self
    }

    /// Caps the images per page.
    pub fn max_limit(mut self, limit: Option<usize>) -> Self {
        self.max_limit = limit;
        self
    }

    /// The first account ("yours").
    pub fn own_account(&self) -> &str {
        self.accounts
            .first()
            .map(String::as_str)
            .unwrap_or("a-shpoolxx")
    }
}

/// One image as the emulator stores it (the union of both layouts' fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedImage {
    /// `wmi-…`.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// 1 = SAN/volume, 2 = local.
    pub boot_dev_type: u8,
    /// `x86_64` or `x86`.
    pub arch: String,
    /// Free text; `""` when none.
    pub description: String,
    /// Public flag.
    pub is_public: bool,
    /// `init`, `pending`, `creating`, `available`, `deleted`, or any word.
    pub state: String,
    /// `features.virtio`; `None` gives `{}`.
    pub virtio: Option<bool>,
    /// `raw`, `qcow2`…
    pub file_format: String,
    /// E.g. `label:root`.
    pub root_device: Option<String>,
    /// Cacheable flag.
    pub is_cacheable: bool,
    /// The source image of a backup.
    pub parent_image_id: Option<String>,
    /// `std`, `lb`…
    pub service_type: String,
    /// The display name.
    pub display_name: String,
    /// `bo-…`.
    pub backup_object_id: Option<String>,
    /// Set by a delete.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Backup objects of extra volumes.
    pub volumes: Vec<String>,
    /// `linux` or `windows`.
    pub os_type: String,
    /// Resource labels: name and string value.
    pub labels: Vec<(String, String)>,
    /// Legacy only: the md5 checksum.
    pub md5sum: String,
    /// Legacy only: the `source` URI.
    pub source_uri: String,
}

impl EmulatedImage {
    /// An available private image of `account_id`, created now.
    pub fn new(id: impl Into<String>, account_id: impl Into<String>) -> Self {
        let id = id.into();
        let now = now_secs();
        EmulatedImage {
            display_name: id.trim_start_matches("wmi-").to_owned(),
            source_uri: format!("http://example.com/images/{id}.raw.gz"),
            id,
            account_id: account_id.into(),
            created_at: now,
            updated_at: now,
            boot_dev_type: 2,
            arch: "x86_64".into(),
            description: String::new(),
            is_public: false,
            state: "available".into(),
            virtio: Some(true),
            file_format: "raw".into(),
            root_device: Some("label:root".into()),
            is_cacheable: false,
            parent_image_id: None,
            service_type: "std".into(),
            backup_object_id: None,
            deleted_at: None,
            volumes: Vec::new(),
            os_type: "linux".into(),
            labels: Vec::new(),
            md5sum: "d41d8cd98f00b204e9800998ecf8427e".into(),
        }
    }
}

fn now_secs() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// A running DCMGR emulator.
pub struct DcmgrEmulator {
    server: EmulatorServer,
    inner: Arc<Inner>,
    instances: Arc<instances::InstanceSet>,
}

impl fmt::Debug for DcmgrEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcmgrEmulator")
            .field("endpoint", &self.endpoint())
            .field("config", self.inner.config())
            .finish_non_exhaustive()
    }
}

impl DcmgrEmulator {
    /// Starts an emulator on 127.0.0.1 with an ephemeral port.
    pub async fn start(
        config: DcmgrEmulatorConfig,
        options: ServeOptions,
    ) -> std::io::Result<Self> {
        let images = u32::try_from(config.images).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "too many images")
        })?;
        let mut named = HashMap::new();
        for i in 0..images.min(2) {
            if let Some(id) = Seeded::special_id(i) {
                named.insert(id.to_owned(), i);
            }
        }
        let inner = Arc::new(Inner {
            seeded: Seeded {
                codec: IdCodec::new(config.seed),
                config,
            },
            data: Mutex::new(Data {
                slots: images,
                overlay: HashMap::new(),
                removed: HashSet::new(),
                named,
                scopes: HashMap::new(),
                churn: ChurnLog::default(),
            }),
            request_ids: AtomicU64::new(1),
        });
        let base = inner.config().layout.base();
        let set = Arc::new(instances::InstanceSet::default());
        set.arm(options.instance_faults);
        let router = routes(base, Arc::clone(&inner)).merge(instances::routes(
            base,
            Arc::clone(&inner),
            Arc::clone(&set),
        ));
        let hostile = options.hostile.map(|h| h.records()).unwrap_or_default();
        let server = EmulatorServer::start_with(router, options).await?;
        let emulator = DcmgrEmulator {
            server,
            inner,
            instances: set,
        };
        let images = emulator.default_listing(None);
        for instance in instances::seeded(emulator.config(), &images) {
            emulator.instances.upsert(instance);
        }
        for record in hostile {
            let mut image = EmulatedImage::new(record.wmi, emulator.own_account().to_owned());
            image.display_name = record.name;
            image.description = record.text.clone();
            image.state = record.text;
            emulator.insert(image);
        }
        Ok(emulator)
    }

    /// The configuration.
    pub fn config(&self) -> &DcmgrEmulatorConfig {
        self.inner.config()
    }

    /// The adapter endpoint: `http://127.0.0.1:PORT/api/12.03` (or `…/api`).
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.server.base_url(), self.config().layout.base())
    }

    /// The catalog URL the facade opens:
    /// `dcmgr+http://127.0.0.1:PORT/api/12.03[?account=a-…]`.
    pub fn catalog_url(&self, account: Option<&str>) -> String {
        let mut url = format!(
            "dcmgr+http://{}{}",
            self.server.addr(),
            self.config().layout.base()
        );
        if let Some(account) = account {
            url.push_str("?account=");
            url.push_str(account);
        }
        url
    }

    /// The first configured account ("yours").
    pub fn own_account(&self) -> &str {
        self.config().own_account()
    }

    /// How many images are stored (deleted ones included, removed ones not).
    pub fn len(&self) -> usize {
        let data = self.inner.lock();
        data.slots as usize - data.removed.len()
    }

    /// Whether no image is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The image with this id, as stored.
    pub fn image(&self, id: &str) -> Option<EmulatedImage> {
        let data = self.inner.lock();
        let i = self.inner.lookup(&data, id)?;
        Some(self.inner.image_at(&data, i))
    }

    /// Adds an image as the newest (first listed), or replaces the image
    /// with the same id in place.
    pub fn insert(&self, image: EmulatedImage) {
        let mut data = self.inner.lock();
        let index = match self.inner.lookup(&data, &image.id) {
            Some(i) => i,
            None => {
                let i = data.slots;
                data.slots += 1;
                data.named.insert(image.id.clone(), i);
                i
            }
        };
        data.overlay.insert(index, image);
        self.inner.changed(&mut data, index);
    }

    /// What churn changed so far (empty without [`DcmgrEmulatorConfig::churn`]).
    pub fn churn_log(&self) -> ChurnLog {
        self.inner.lock().churn.clone()
    }

    /// Changes the state word of an image; false when there is no such image.
    pub fn set_state(&self, id: &str, state: &str) -> bool {
        self.update(id, |image| {
            image.state = state.to_owned();
            if state == "deleted" {
                image.deleted_at.get_or_insert_with(now_secs);
            } else {
                image.deleted_at = None;
            }
        })
    }

    /// Soft-deletes an image as DELETE does (`state` deleted, `deleted_at`
    /// kept if already set); false when there is no such image.
    pub fn soft_delete(&self, id: &str) -> bool {
        self.update(id, soft_delete)
    }

    /// Removes an image for good (as if a database row vanished); false
    /// when there is no such image.
    pub fn remove(&self, id: &str) -> bool {
        let mut data = self.inner.lock();
        let Some(i) = self.inner.lookup(&data, id) else {
            return false;
        };
        data.removed.insert(i);
        data.overlay.remove(&i);
        self.inner.changed(&mut data, i);
        true
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut EmulatedImage)) -> bool {
        let mut data = self.inner.lock();
        let Some(i) = self.inner.lookup(&data, id) else {
            return false;
        };
        let mut image = self.inner.image_at(&data, i);
        change(&mut image);
        data.overlay.insert(i, image);
        self.inner.changed(&mut data, i);
        true
    }

    /// The ids a listing by `account` yields with the client-side filter of
    /// imagecat applied, in the server's order: on 12.03 own and public
    /// images (everything without an account), on the legacy layout own
    /// images only (everything without an account); deleted images only when
    /// `include_deleted`.
    pub fn listing(&self, account: Option<&str>, include_deleted: bool) -> Vec<String> {
        let mut data = self.inner.lock();
        let key = ScopeKey {
            account: account.map(str::to_owned),
            public: match (self.config().layout, account) {
                (Layout::V1203, Some(_)) => Some(true),
                _ => None,
            },
            state: StateFilter::Any,
        };
        let scope = self.inner.scope(&mut data, key);
        scope
            .iter()
            .map(|&i| self.inner.image_at(&data, i))
            .filter(|image| include_deleted || image.state != "deleted")
            .map(|image| image.id)
            .collect()
    }

    /// The ids of the default listing (`ListQuery::new()`) for `account`.
    pub fn default_listing(&self, account: Option<&str>) -> Vec<String> {
        self.listing(account, false)
    }

    /// Up to `n` ids that `account` may delete: available images it owns
    /// (any owner without an account), listed by default, admin-chosen ids
    /// excluded.
    pub fn deletable_ids(&self, account: Option<&str>, n: usize) -> Vec<String> {
        self.default_listing(account)
            .into_iter()
            .filter_map(|id| self.image(&id))
            .filter(|image| {
                image.state == "available"
                    && account.is_none_or(|me| image.account_id == me)
                    && !matches!(image.id.as_str(), "wmi-centos1d64" | "wmi-lbnode1d64")
            })
            .map(|image| image.id)
            .take(n)
            .collect()
    }

    /// A well-formed id of no image.
    pub fn missing_id(&self) -> String {
        (1u32..)
            .map(|n| format!("wmi-nothere{n}"))
            .find(|id| self.image(id).is_none())
            .unwrap_or_else(|| "wmi-nothere".into())
    }

    /// The ids of the seeded images in a given state word (overlay applied).
    pub fn ids_in_state(&self, state: &str) -> Vec<String> {
        self.listing(None, true)
            .into_iter()
            .filter(|id| self.image(id).is_some_and(|i| i.state == state))
            .collect()
    }
}

crate::impl_emulator!(DcmgrEmulator, "dcmgr", |this| DcmgrEmulator::catalog_url(
    this,
    Some(this.own_account())
));

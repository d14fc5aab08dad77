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
//!   route Sinatra's HTML `<h1>Not Found</h1>` (with a JSON content type).
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
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration as ChronoDuration, Timelike, Utc};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::churn::{Churn, ChurnLog, ChurnStep, Draws};
use crate::server::{EmulatorServer, ServeOptions};

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
    /// the images in states `init`, `pending`, `creating` and `frozen`, and
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
    /// A server (or proxy) that returns at most this many images per page,
    /// whatever the `limit` (the effective limit is echoed).
    pub max_limit: Option<usize>,
    /// Legacy layout only: answer `[{"owner_total",…,"results":[…]}]` (what
    /// the 11.12 code emitted) instead of the wiki's bare object with `result`.
    pub legacy_wrapped: bool,
    /// Images created and soft-deleted after each index request. Default none.
    pub churn: Option<Churn>,
}

impl Default for DcmgrEmulatorConfig {
    fn default() -> Self {
        DcmgrEmulatorConfig {
            layout: Layout::V1203,
            images: 60,
            seed: 0,
            accounts: vec![
                "a-shpoolxx".into(),
                "a-tenant0b".into(),
                "a-tenant0c".into(),
            ],
            disabled_accounts: Vec::new(),
            require_account: false,
            ignore_start: false,
            wrong_total: None,
            max_limit: None,
            legacy_wrapped: false,
            churn: None,
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

// ---------------------------------------------------------------------------
// Deterministic data
// ---------------------------------------------------------------------------

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// 36^8: the space of generated ids.
const ID_SPACE: u64 = 2_821_109_907_456;
/// 2013-01-01T00:00:00Z.
const EPOCH: i64 = 1_356_998_400;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn mod_inverse(a: u64, m: u64) -> u64 {
    let (mut t, mut new_t) = (0i128, 1i128);
    let (mut r, mut new_r) = (m as i128, a as i128);
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    if t < 0 {
        t += m as i128;
    }
    t as u64
}

/// A bijection between image indices and 8-character base-36 ids.
#[derive(Debug, Clone, Copy)]
struct IdCodec {
    mul: u64,
    inv: u64,
    add: u64,
}

impl IdCodec {
    fn new(seed: u64) -> Self {
        let mut mul = mix(seed ^ 0xD1B5_4A32_D192_ED03) % ID_SPACE;
        mul = mul.max(2);
        while gcd(mul, ID_SPACE) != 1 {
            mul += 1;
        }
        let add = mix(seed.wrapping_add(7)) % ID_SPACE;
        IdCodec {
            mul,
            inv: mod_inverse(mul, ID_SPACE),
            add,
        }
    }

    fn encode(&self, index: u32) -> String {
        let mut x = ((u128::from(index) * u128::from(self.mul) + u128::from(self.add))
            % u128::from(ID_SPACE)) as u64;
        let mut out = *b"wmi-00000000";
        for slot in out[4..].iter_mut().rev() {
            *slot = BASE36[(x % 36) as usize];
            x /= 36;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn decode(&self, id: &str) -> Option<u64> {
        let rest = id.strip_prefix("wmi-")?;
        if rest.len() != 8 {
            return None;
        }
        let mut x = 0u64;
        for b in rest.bytes() {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                _ => return None,
            };
            x = x * 36 + u64::from(digit);
        }
        let shifted =
            (u128::from(x) + u128::from(ID_SPACE) - u128::from(self.add)) % u128::from(ID_SPACE);
        Some(((shifted * u128::from(self.inv)) % u128::from(ID_SPACE)) as u64)
    }
}

fn base36_8(mut x: u64) -> String {
    let mut out = [b'0'; 8];
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The fields of a seeded image that scoping needs, cheaply.
#[derive(Debug, Clone, Copy)]
struct Attrs {
    owner: usize,
    public: bool,
    state: &'static str,
}

const FAMILIES: [&str; 5] = [
    "centos1d64",
    "ubuntu14043ple",
    "web-base",
    "db-node",
    "lbnode1d64",
];

struct Seeded {
    config: DcmgrEmulatorConfig,
    codec: IdCodec,
}

impl Seeded {
    fn hash(&self, i: u32) -> u64 {
        mix(self.config.seed ^ mix(u64::from(i)))
    }

    fn other_account(&self, h: u64) -> usize {
        let n = self.config.accounts.len().max(1);
        if n == 1 {
            0
        } else {
            1 + (h as usize / 2) % (n - 1)
        }
    }

    fn attrs(&self, i: u32) -> Attrs {
        let h = self.hash(i);
        let other = self.other_account(h);
        let (owner, public, state) = match i {
            0 | 1 => (0, true, "available"),
            2 => (0, false, "init"),
            3 => (0, false, "pending"),
            4 => (0, false, "creating"),
            5 => (0, false, "frozen"),
            6 => (0, false, "deleted"),
            7 => (other, true, "available"),
            8 => (other, true, "deleted"),
            9 => (other, false, "available"),
            _ => {
                let owner = if h % 2 == 0 { 0 } else { other };
                let state = match (h >> 16) % 20 {
                    0 | 1 => "deleted",
                    2 => "creating",
                    3 => "pending",
                    4 => "init",
                    _ => "available",
                };
                (owner, (h >> 8) % 4 == 0, state)
            }
        };
        Attrs {
            owner,
            public,
            state,
        }
    }

    fn account(&self, index: usize) -> &str {
        self.config
            .accounts
            .get(index)
            .map(String::as_str)
            .unwrap_or("a-shpoolxx")
    }

    fn special_id(i: u32) -> Option<&'static str> {
        match i {
            0 => Some("wmi-centos1d64"),
            1 => Some("wmi-lbnode1d64"),
            _ => None,
        }
    }

    fn id(&self, i: u32) -> String {
        match Self::special_id(i) {
            Some(id) => id.to_owned(),
            None => self.codec.encode(i),
        }
    }

    fn derive(&self, i: u32) -> EmulatedImage {
        let h = self.hash(i);
        let a = self.attrs(i);
        let family = FAMILIES[(h >> 4) as usize % FAMILIES.len()];
        let created = DateTime::from_timestamp(EPOCH + i64::from(i) * 67, 0).unwrap_or_default();
        let mut updated = created + ChronoDuration::seconds(((h >> 24) % 86_400) as i64);
        let deleted_at = (a.state == "deleted").then(|| updated + ChronoDuration::hours(1));
        if let Some(at) = deleted_at {
            updated = at;
        }
        let mut image = EmulatedImage {
            id: self.id(i),
            account_id: self.account(a.owner).to_owned(),
            created_at: created,
            updated_at: updated,
            boot_dev_type: if (h >> 32) % 5 == 0 { 1 } else { 2 },
            arch: if (h >> 35) % 8 == 0 { "x86" } else { "x86_64" }.to_owned(),
            description: if h % 3 == 0 {
                String::new()
            } else {
                format!("{family} image {i}")
            },
            is_public: a.public,
            state: a.state.to_owned(),
            virtio: ((h >> 38) % 6 != 0).then_some(true),
            file_format: if (h >> 40) % 4 == 0 { "qcow2" } else { "raw" }.to_owned(),
            root_device: ((h >> 42) % 7 != 0).then(|| "label:root".to_owned()),
            is_cacheable: (h >> 44) % 3 == 0,
            parent_image_id: ((h >> 46) % 3 == 0).then(|| "wmi-centos1d64".to_owned()),
            service_type: if (h >> 48) % 10 == 0 { "lb" } else { "std" }.to_owned(),
            display_name: format!("{family}-{i}"),
            backup_object_id: Some(format!("bo-{}", base36_8(mix(h) % ID_SPACE))),
            deleted_at,
            volumes: if (h >> 50) % 10 == 0 {
                vec![format!("bo-{}", base36_8(mix(h ^ 1) % ID_SPACE))]
            } else {
                Vec::new()
            },
            os_type: if (h >> 52) % 12 == 0 {
                "windows"
            } else {
                "linux"
            }
            .to_owned(),
            labels: if (h >> 54) % 8 == 0 {
                vec![("owner.note".to_owned(), "nightly".to_owned())]
            } else {
                Vec::new()
            },
            md5sum: format!("{:016x}{:016x}", mix(h ^ 2), mix(h ^ 3)),
            source_uri: String::new(),
        };
        match i {
            0 => {
                image.display_name = "centos1d64".into();
                image.description = "centos-6.6.x86_64.openvz.md.raw.tar.gz local".into();
                image.backup_object_id = Some("bo-centos1d64".into());
                image.parent_image_id = None;
                image.service_type = "std".into();
                image.is_cacheable = true;
            }
            1 => {
                image.display_name = "lbnode1d64".into();
                image.description = "lbnode image".into();
                image.backup_object_id = Some("bo-lbnode1d64".into());
                image.parent_image_id = None;
                image.service_type = "lb".into();
            }
            _ => {}
        }
        image.source_uri = format!("http://example.com/images/{}.raw.gz", image.display_name);
        image
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum StateFilter {
    Any,
    Alive,
    AliveWithDeleted,
    Available,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ScopeKey {
    account: Option<String>,
    public: Option<bool>,
    state: StateFilter,
}

struct Data {
    /// Indices handed out so far (seeded plus inserted).
    slots: u32,
    overlay: HashMap<u32, EmulatedImage>,
    removed: HashSet<u32>,
    named: HashMap<String, u32>,
    scopes: HashMap<ScopeKey, Arc<Vec<u32>>>,
    churn: ChurnLog,
}

struct Inner {
    seeded: Seeded,
    data: Mutex<Data>,
    request_ids: AtomicU64,
}

/// How long `alive_with_deleted` keeps deleted images (dcmgr.conf default).
const RECENT_DELETED_SECS: i64 = 900;

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn config(&self) -> &DcmgrEmulatorConfig {
        &self.seeded.config
    }

    fn lookup(&self, data: &Data, id: &str) -> Option<u32> {
        let index = match data.named.get(id) {
            Some(&i) => i,
            None => {
                let i = self.seeded.codec.decode(id)?;
                if i >= self.config().images as u64 {
                    return None;
                }
                let i = i as u32;
                if Seeded::special_id(i).is_some() {
                    return None;
                }
                i
            }
        };
        if data.removed.contains(&index) {
            return None;
        }
        match data.overlay.get(&index) {
            Some(image) if image.id != id => None,
            _ => Some(index),
        }
    }

    fn image_at(&self, data: &Data, i: u32) -> EmulatedImage {
        match data.overlay.get(&i) {
            Some(image) => image.clone(),
            None => self.seeded.derive(i),
        }
    }

    /// Whether image `i` is in a scope, without building it.
    fn in_scope(
        &self,
        data: &Data,
        i: u32,
        key: &ScopeKey,
        legacy: bool,
        recent: DateTime<Utc>,
    ) -> bool {
        let (owner, public, state, deleted_at): (&str, bool, &str, Option<DateTime<Utc>>) =
            match data.overlay.get(&i) {
                Some(img) => (&img.account_id, img.is_public, &img.state, img.deleted_at),
                None => {
                    let a = self.seeded.attrs(i);
                    // Seeded deletions are years old.
                    let deleted_at = (a.state == "deleted").then_some(DateTime::<Utc>::MIN_UTC);
                    (self.seeded.account(a.owner), a.public, a.state, deleted_at)
                }
            };
        let scoped = if legacy {
            key.account.as_deref().is_none_or(|me| owner == me)
        } else {
            match (key.account.as_deref(), key.public) {
                (Some(me), Some(p)) => owner == me || public == p,
                (Some(me), None) => owner == me,
                (None, Some(p)) => public == p,
                (None, None) => true,
            }
        };
        scoped
            && match key.state {
                StateFilter::Any => true,
                StateFilter::Alive => deleted_at.is_none(),
                StateFilter::AliveWithDeleted => deleted_at.is_none_or(|at| at > recent),
                StateFilter::Available => state == "available",
                StateFilter::Deleted => state == "deleted",
            }
    }

    /// The ordered (id DESC) indices of a scope, computed once per change.
    fn scope(&self, data: &mut Data, key: ScopeKey) -> Arc<Vec<u32>> {
        if let Some(hit) = data.scopes.get(&key) {
            return Arc::clone(hit);
        }
        let legacy = self.config().layout == Layout::Legacy;
        let recent = Utc::now() - ChronoDuration::seconds(RECENT_DELETED_SECS);
        let list: Vec<u32> = (0..data.slots)
            .rev()
            .filter(|i| !data.removed.contains(i))
            .filter(|&i| self.in_scope(data, i, &key, legacy, recent))
            .collect();
        let list = Arc::new(list);
        data.scopes.insert(key, Arc::clone(&list));
        list
    }

    /// One churn step: `inserts` new images of the first account, each the
    /// newest (first listed), and `deletes` soft deletions of random images
    /// that exist and are not deleted yet.
    fn churn(&self, data: &mut Data, churn: Churn) {
        let step = data.churn.steps.len() as u64;
        let mut done = ChurnStep::default();
        let mut draws = Draws::new(churn.seed, step);
        for _ in 0..churn.inserts {
            let id = loop {
                // `wmi-c` and 8 base-36 digits: never a generated id (8 digits).
                let id = format!("wmi-c{}", base36_8(draws.below(ID_SPACE)));
                if !data.named.contains_key(&id) {
                    break id;
                }
            };
            let mut image = EmulatedImage::new(id.clone(), self.config().own_account());
            image.display_name = format!("churn-{step}");
            let i = data.slots;
            data.slots += 1;
            data.named.insert(id.clone(), i);
            data.overlay.insert(i, image);
            self.changed(data, i);
            done.inserted.push(id);
        }
        for _ in 0..churn.deletes {
            if data.slots == 0 {
                break;
            }
            // Rejection sampling: uniform among the images not deleted yet.
            for _ in 0..64 {
                let i = draws.below(u64::from(data.slots)) as u32;
                if data.removed.contains(&i) {
                    continue;
                }
                let mut image = self.image_at(data, i);
                if image.state == "deleted" {
                    continue;
                }
                soft_delete(&mut image);
                done.deleted.push(image.id.clone());
                data.overlay.insert(i, image);
                self.changed(data, i);
                break;
            }
        }
        data.churn.steps.push(done);
    }

    /// Brings the cached scopes up to date after image `i` changed (was
    /// inserted, updated or removed): O(log n) plus a move of the tail per
    /// cached scope, instead of recomputing them.
    fn changed(&self, data: &mut Data, i: u32) {
        let legacy = self.config().layout == Layout::Legacy;
        let recent = Utc::now() - ChronoDuration::seconds(RECENT_DELETED_SECS);
        let mut scopes = std::mem::take(&mut data.scopes);
        for (key, list) in &mut scopes {
            let member = !data.removed.contains(&i) && self.in_scope(data, i, key, legacy, recent);
            // The lists are in descending index order.
            match (list.binary_search_by(|probe| i.cmp(probe)), member) {
                (Ok(at), false) => {
                    Arc::make_mut(list).remove(at);
                }
                (Err(at), true) => Arc::make_mut(list).insert(at, i),
                _ => {}
            }
        }
        data.scopes = scopes;
    }
}

/// A running DCMGR emulator.
pub struct DcmgrEmulator {
    server: EmulatorServer,
    inner: Arc<Inner>,
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
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let server = EmulatorServer::start_with(router, options).await?;
        Ok(DcmgrEmulator { server, inner })
    }

    /// The server (address, request log).
    pub fn server(&self) -> &EmulatorServer {
        &self.server
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

    /// The seeded image whose state no mapping knows, and that word
    /// (`frozen`), when there are enough images to hold it.
    pub fn unknown_state(&self) -> Option<(String, String)> {
        if self.config().images <= 5 {
            return None;
        }
        let image = self.inner.lock().overlay.get(&5).cloned();
        let image = image.unwrap_or_else(|| self.inner.seeded.derive(5));
        Some((image.id, image.state))
    }

    /// The ids of the seeded images in a given state word (overlay applied).
    pub fn ids_in_state(&self, state: &str) -> Vec<String> {
        self.listing(None, true)
            .into_iter()
            .filter(|id| self.image(id).is_some_and(|i| i.state == state))
            .collect()
    }
}

fn soft_delete(image: &mut EmulatedImage) {
    if image.state != "deleted" || image.deleted_at.is_none() {
        let now = now_secs();
        image.deleted_at.get_or_insert(now);
        image.updated_at = now;
    }
    image.state = "deleted".into();
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

fn api_error(status: u16, class: &str, message: &str, code: &str) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        error: String,
        message: &'a str,
        code: &'a str,
    }
    let body = Body {
        error: format!("Dcmgr::Endpoints::Errors::{class}"),
        message,
        code,
    };
    json_bytes(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn invalid_parameter(message: &str) -> Response {
    api_error(400, "InvalidParameter", message, "143")
}

fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// Sinatra's route miss: an HTML body under the JSON content type the
/// before filter already set.
fn route_miss() -> Response {
    Response::builder()
        .status(404)
        .header("content-type", "application/json")
        .body(Body::from("<h1>Not Found</h1>"))
        .unwrap_or_default()
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rack's view of the query: the last value of each key wins.
fn query_params(uri: &Uri) -> HashMap<String, String> {
    let mut params = HashMap::new();
    if let Some(query) = uri.query() {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(percent_decode(k, true), percent_decode(v, true));
        }
    }
    params
}

/// The account the header names (`None` without the header), or the error answer.
fn account_of(inner: &Inner, headers: &HeaderMap) -> Result<Option<String>, Box<Response>> {
    let value = headers
        .get("x-vdc-account-uuid")
        .or_else(|| headers.get("x_vdc_account_uuid"));
    let Some(value) = value else {
        if inner.config().require_account {
            return Err(Box::new(api_error(
                400,
                "InvalidRequestCredentials",
                "Dcmgr::Endpoints::Errors::InvalidRequestCredentials",
                "103",
            )));
        }
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let well_formed = text
        .strip_prefix("a-")
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(Box::new(api_error(
            400,
            "InvalidRequestCredentials",
            &format!("Invalid uuid or unsupported uuid: {text} in Dcmgr::Models::Account"),
            "103",
        )));
    }
    if inner.config().disabled_accounts.iter().any(|a| a == &text) {
        return Err(Box::new(api_error(403, "DisabledAccount", &text, "104")));
    }
    Ok(Some(text))
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut response = route(&inner, &method, &uri, &headers);
    let id = inner.request_ids.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = format!("{id:016x}").parse() {
        response.headers_mut().insert("x-vdc-request-id", value);
    }
    response
}

fn route(inner: &Inner, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let base = inner.config().layout.base();
    let Some(rest) = uri
        .path()
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return route_miss();
    };
    let rest = rest.strip_suffix(".json").unwrap_or(rest);
    let target = if rest == "images" {
        None
    } else if let Some(id) = rest
        .strip_prefix("images/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
    {
        Some(percent_decode(id, false))
    } else {
        return route_miss();
    };
    let account = match account_of(inner, headers) {
        Ok(account) => account,
        Err(response) => return *response,
    };
    let params = query_params(uri);
    match (method, target) {
        (&Method::GET, None) => {
            let response = index(inner, &account, &params);
            if let Some(churn) = inner.config().churn {
                inner.churn(&mut inner.lock(), churn);
            }
            response
        }
        (&Method::GET, Some(id)) => show_or_destroy(inner, &account, &id, false),
        (&Method::DELETE, Some(id)) => show_or_destroy(inner, &account, &id, true),
        _ => route_miss(),
    }
}

/// `/^\d+$/`, read as a saturating u64.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

/// Ruby's `String#to_i`: optional sign and leading digits, 0 otherwise.
fn ruby_to_i(text: &str) -> i64 {
    let t = text.trim_start();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let end = body
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    body[..end]
        .parse::<i64>()
        .map(|v| sign * v)
        .unwrap_or(if end == 0 { 0 } else { sign * i64::MAX })
}

fn index(inner: &Inner, account: &Option<String>, params: &HashMap<String, String>) -> Response {
    let config = inner.config();
    let legacy = config.layout == Layout::Legacy;
    let me = account.clone();
    let (start, limit, key) = if legacy {
        let start = params
            .get("start")
            .map(|s| ruby_to_i(s).max(0) as u64)
            .unwrap_or(0);
        let limit = params
            .get("limit")
            .map(|s| ruby_to_i(s))
            .filter(|&l| l > 0)
            .map(|l| l as u64);
        let key = ScopeKey {
            account: me,
            public: None,
            state: StateFilter::Any,
        };
        (start, limit, key)
    } else {
        let start = match params.get("start") {
            None => 0,
            Some(s) => match digits(s) {
                Some(v) => v,
                None => return invalid_parameter("start"),
            },
        };
        let limit = match params.get("limit") {
            None => 250,
            Some(s) => match digits(s) {
                Some(0) => 250,
                Some(v) => v,
                None => return invalid_parameter("limit"),
            },
        };
        let public = match params.get("is_public").map(String::as_str) {
            None | Some("") => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(_) => return invalid_parameter("is_public"),
        };
        let state = match params.get("state").map(String::as_str) {
            None => StateFilter::Any,
            Some("alive") => StateFilter::Alive,
            Some("alive_with_deleted") => StateFilter::AliveWithDeleted,
            Some("available") => StateFilter::Available,
            Some("deleted") => StateFilter::Deleted,
            Some(_) => return invalid_parameter("state"),
        };
        // The header overwrites the `account_id` parameter.
        let account = me.or_else(|| params.get("account_id").cloned());
        let key = ScopeKey {
            account,
            public,
            state,
        };
        (start, Some(limit), key)
    };
    let limit = match (limit, config.max_limit) {
        (Some(l), Some(cap)) => Some(l.min(cap as u64)),
        (None, Some(cap)) => Some(cap as u64),
        (l, None) => l,
    };
    let (total, images) = {
        let mut data = inner.lock();
        let scope = inner.scope(&mut data, key);
        let from = if config.ignore_start { 0 } else { start };
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(scope.len());
        let to = match limit {
            Some(l) => from
                .saturating_add(usize::try_from(l).unwrap_or(usize::MAX))
                .min(scope.len()),
            None => scope.len(),
        };
        let golden = if legacy {
            None
        } else {
            match golden_select(params, scope.iter().map(|&i| inner.image_at(&data, i))) {
                Ok(selected) => selected,
                Err(refused) => return *refused,
            }
        };
        match golden {
            // Date bounds or a sort: the whole scope, filtered and sorted.
            Some(selected) => {
                let from = from.min(selected.len());
                let to = match limit {
                    Some(l) => from
                        .saturating_add(usize::try_from(l).unwrap_or(usize::MAX))
                        .min(selected.len()),
                    None => selected.len(),
                };
                let total = selected.len() as u64;
                (
                    config.wrong_total.unwrap_or(total),
                    selected[from..to].to_vec(),
                )
            }
            None => {
                let images: Vec<EmulatedImage> = scope[from..to]
                    .iter()
                    .map(|&i| inner.image_at(&data, i))
                    .collect();
                (config.wrong_total.unwrap_or(scope.len() as u64), images)
            }
        }
    };
    let body = if legacy {
        let index = LegacyIndex {
            owner_total: total,
            start,
            limit,
            results: &images,
            wrapped: config.legacy_wrapped,
        };
        if config.legacy_wrapped {
            serde_json::to_vec(&[index])
        } else {
            serde_json::to_vec(&index)
        }
    } else {
        serde_json::to_vec(&[V1203Index {
            total,
            start,
            limit: limit.unwrap_or(250),
            results: &images,
        }])
    };
    json_bytes(200, body.unwrap_or_default())
}

/// The 12.03 golden-image parameters: `created_since`/`created_until`
/// (ISO 8601, inclusive; a bad value is 400 with the parameter's name;
/// since after until is 400) and `sort_by=col.asc|col.desc` (`created_at`,
/// `updated_at`, `display_name`; without a direction the real server fails
/// with 500, another column is 400 `DatabaseError`). `Ok(None)` when none is
/// given (the cheap path); otherwise the scope filtered and sorted, ties in
/// the default `id DESC` order (O(scope) per page).
fn golden_select(
    params: &HashMap<String, String>,
    scope: impl Iterator<Item = EmulatedImage>,
) -> Result<Option<Vec<EmulatedImage>>, Box<Response>> {
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, Box<Response>> {
        match params.get(key) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| Box::new(invalid_parameter(key))),
        }
    };
    let since = time("created_since")?;
    let until = time("created_until")?;
    let sort = params.get("sort_by");
    if since.is_none() && until.is_none() && sort.is_none() {
        return Ok(None);
    }
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            return Err(Box::new(invalid_parameter(
                "created_since is larger than created_until",
            )));
        }
    }
    let mut selected: Vec<EmulatedImage> = scope
        .filter(|i| since.is_none_or(|s| i.created_at >= s))
        .filter(|i| until.is_none_or(|u| i.created_at <= u))
        .collect();
    if let Some(sort) = sort {
        let Some((column, dir)) = sort.split_once('.') else {
            return Err(Box::new(api_error(
                500,
                "NoMethodError",
                "undefined method for nil",
                "",
            )));
        };
        let descending = match dir {
            "asc" => false,
            "desc" => true,
            _ => return Err(Box::new(invalid_parameter("sort_by"))),
        };
        let order = |a: &EmulatedImage, b: &EmulatedImage| match column {
            "created_at" => Some(a.created_at.cmp(&b.created_at)),
            "updated_at" => Some(a.updated_at.cmp(&b.updated_at)),
            "display_name" => Some(a.display_name.cmp(&b.display_name)),
            _ => None,
        };
        if !matches!(column, "created_at" | "updated_at" | "display_name") {
            return Err(Box::new(api_error(
                400,
                "DatabaseError",
                "no such column",
                "110",
            )));
        }
        selected.sort_by(|a, b| {
            let o = order(a, b).unwrap_or(std::cmp::Ordering::Equal);
            if descending { o.reverse() } else { o }
        });
    }
    Ok(Some(selected))
}

/// `/^wmi-[\w]+/`: the prefix and one word character; no end anchor.
fn valid_uuid_syntax(id: &str) -> bool {
    id.strip_prefix("wmi-")
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn show_or_destroy(inner: &Inner, account: &Option<String>, id: &str, destroy: bool) -> Response {
    let legacy = inner.config().layout == Layout::Legacy;
    if !valid_uuid_syntax(id) {
        return invalid_parameter(&format!("Invalid UUID Syntax: {id}"));
    }
    let mut data = inner.lock();
    let Some(i) = inner.lookup(&data, id) else {
        return api_error(404, "UnknownUUIDResource", id, "100");
    };
    let mut image = inner.image_at(&data, i);
    if let Some(me) = account {
        let owner = &image.account_id == me;
        if legacy {
            let admin = me == "a-00000000";
            let allowed = owner || admin || (!destroy && image.is_public);
            if !allowed {
                return api_error(403, "OperationNotPermitted", id, "105");
            }
        } else if !owner {
            return api_error(404, "UnknownUUIDResource", id, "100");
        }
    }
    if destroy {
        soft_delete(&mut image);
        let id = image.id.clone();
        data.overlay.insert(i, image);
        inner.changed(&mut data, i);
        drop(data);
        return json_bytes(200, serde_json::to_vec(&[id]).unwrap_or_default());
    }
    drop(data);
    let body = if legacy {
        serde_json::to_vec(&LegacyDoc(&image))
    } else {
        serde_json::to_vec(&V1203Doc(&image))
    };
    json_bytes(200, body.unwrap_or_default())
}

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

/// A timestamp: `2015-04-08T07:06:20Z`, or Ruby's `2015-04-08 07:06:20 UTC`.
struct Ts(DateTime<Utc>, bool);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut buf = [0u8; 23];
        let put = |buf: &mut [u8], at: usize, value: u32, width: usize| {
            let mut v = value;
            for k in (0..width).rev() {
                buf[at + k] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut buf, 0, t.year().clamp(0, 9999) as u32, 4);
        buf[4] = b'-';
        put(&mut buf, 5, t.month(), 2);
        buf[7] = b'-';
        put(&mut buf, 8, t.day(), 2);
        buf[10] = if self.1 { b' ' } else { b'T' };
        put(&mut buf, 11, t.hour(), 2);
        buf[13] = b':';
        put(&mut buf, 14, t.minute(), 2);
        buf[16] = b':';
        put(&mut buf, 17, t.second(), 2);
        let len = if self.1 {
            buf[19..23].copy_from_slice(b" UTC");
            23
        } else {
            buf[19] = b'Z';
            20
        };
        s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
    }
}

struct Features(Option<bool>);

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(usize::from(self.0.is_some())))?;
        if let Some(virtio) = self.0 {
            map.serialize_entry("virtio", &virtio)?;
        }
        map.end()
    }
}

struct Volumes<'a>(&'a [String]);

impl Serialize for Volumes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Volume<'a> {
            backup_object_id: &'a str,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for bo in self.0 {
            seq.serialize_element(&Volume {
                backup_object_id: bo,
            })?;
        }
        seq.end()
    }
}

struct Labels<'a>(&'a EmulatedImage);

impl Serialize for Labels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Label<'a> {
            resource_uuid: &'a str,
            name: &'a str,
            value_type: u8,
            value: &'a str,
            created_at: Ts,
            updated_at: Ts,
        }
        let image = self.0;
        let mut seq = s.serialize_seq(Some(image.labels.len()))?;
        for (name, value) in &image.labels {
            seq.serialize_element(&Label {
                resource_uuid: &image.id,
                name,
                value_type: 1,
                value,
                created_at: Ts(image.created_at, false),
                updated_at: Ts(image.created_at, false),
            })?;
        }
        seq.end()
    }
}

/// The 24-key 12.03 document, in the server's key order.
struct V1203Doc<'a>(&'a EmulatedImage);

impl Serialize for V1203Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut st = s.serialize_struct("Image", 24)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("account_id", &i.account_id)?;
        st.serialize_field("uuid", &i.id)?;
        st.serialize_field("created_at", &Ts(i.created_at, false))?;
        st.serialize_field("updated_at", &Ts(i.updated_at, false))?;
        st.serialize_field("boot_dev_type", &i.boot_dev_type)?;
        st.serialize_field("arch", &i.arch)?;
        st.serialize_field("description", &i.description)?;
        st.serialize_field("is_public", &i.is_public)?;
        st.serialize_field("state", &i.state)?;
        st.serialize_field("features", &Features(i.virtio))?;
        st.serialize_field("file_format", &i.file_format)?;
        st.serialize_field("root_device", &i.root_device)?;
        st.serialize_field("is_cacheable", &i.is_cacheable)?;
        st.serialize_field("instance_model_name", "")?;
        st.serialize_field("parent_image_id", &i.parent_image_id)?;
        st.serialize_field("service_type", &i.service_type)?;
        st.serialize_field("display_name", &i.display_name)?;
        st.serialize_field("backup_object_id", &i.backup_object_id)?;
        st.serialize_field("deleted_at", &i.deleted_at.map(|t| Ts(t, false)))?;
        st.serialize_field("volumes", &Volumes(&i.volumes))?;
        st.serialize_field("vifs", &[(); 0])?;
        st.serialize_field("os_type", &i.os_type)?;
        st.serialize_field("labels", &Labels(i))?;
        st.end()
    }
}

/// The 13-key legacy document (raw column values; YAML-serialized columns
/// stay YAML strings).
struct LegacyDoc<'a>(&'a EmulatedImage);

impl Serialize for LegacyDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let source = format!("---\n:uri: {}\n:type: http\n", i.source_uri);
        let features = match i.virtio {
            Some(v) => format!("---\n:virtio: {v}\n"),
            None => "--- {}\n".to_owned(),
        };
        let description = (!i.description.is_empty()).then_some(i.description.as_str());
        let mut st = s.serialize_struct("Image", 13)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("account_id", &i.account_id)?;
        st.serialize_field("uuid", &i.id)?;
        st.serialize_field("created_at", &Ts(i.created_at, true))?;
        st.serialize_field("updated_at", &Ts(i.updated_at, true))?;
        st.serialize_field("boot_dev_type", &i.boot_dev_type)?;
        st.serialize_field("source", &source)?;
        st.serialize_field("arch", &i.arch)?;
        st.serialize_field("description", &description)?;
        st.serialize_field("md5sum", &i.md5sum)?;
        st.serialize_field("is_public", &i.is_public)?;
        st.serialize_field("state", &i.state)?;
        st.serialize_field("features", &features)?;
        st.end()
    }
}

struct V1203Index<'a> {
    total: u64,
    start: u64,
    limit: u64,
    results: &'a [EmulatedImage],
}

struct DocSeq<'a, F>(&'a [EmulatedImage], F);

impl<'a, D: Serialize, F: Fn(&'a EmulatedImage) -> D> Serialize for DocSeq<'a, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for image in self.0 {
            seq.serialize_element(&(self.1)(image))?;
        }
        seq.end()
    }
}

impl Serialize for V1203Index<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Index", 4)?;
        st.serialize_field("total", &self.total)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("limit", &self.limit)?;
        st.serialize_field("results", &DocSeq(self.results, V1203Doc))?;
        st.end()
    }
}

struct LegacyIndex<'a> {
    owner_total: u64,
    start: u64,
    limit: Option<u64>,
    results: &'a [EmulatedImage],
    wrapped: bool,
}

impl Serialize for LegacyIndex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Index", 4)?;
        st.serialize_field("owner_total", &self.owner_total)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("limit", &self.limit)?;
        let key = if self.wrapped { "results" } else { "result" };
        st.serialize_field(key, &DocSeq(self.results, LegacyDoc))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_distinct() {
        for seed in [0, 1, 42, u64::MAX] {
            let codec = IdCodec::new(seed);
            let mut seen = HashSet::new();
            for i in (0..5000u32).chain([1_000_000, u32::MAX]) {
                let id = codec.encode(i);
                assert_eq!(id.len(), 12, "{id}");
                assert_eq!(codec.decode(&id), Some(u64::from(i)), "{id}");
                assert!(seen.insert(id));
            }
        }
    }

    #[test]
    fn ruby_integers() {
        assert_eq!(ruby_to_i("12abc"), 12);
        assert_eq!(ruby_to_i("abc"), 0);
        assert_eq!(ruby_to_i("-5"), -5);
        assert_eq!(ruby_to_i(""), 0);
        assert_eq!(digits("007"), Some(7));
        assert_eq!(digits("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(digits("-1"), None);
        assert_eq!(digits("1.5"), None);
        assert_eq!(digits(""), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("wmi-a%3Fx%3D1", false), "wmi-a?x=1");
        assert_eq!(percent_decode("a+b%2", true), "a b%2");
        assert_eq!(percent_decode("%", false), "%");
    }

    #[test]
    fn timestamps_print_like_the_server() {
        let t = DateTime::from_timestamp(1_428_476_780, 0).unwrap();
        assert_eq!(
            serde_json::to_string(&Ts(t, false)).unwrap(),
            "\"2015-04-08T07:06:20Z\""
        );
        assert_eq!(
            serde_json::to_string(&Ts(t, true)).unwrap(),
            "\"2015-04-08 07:06:20 UTC\""
        );
    }

    fn keys() -> Vec<ScopeKey> {
        let mut keys = Vec::new();
        for account in [
            None,
            Some("a-shpoolxx".to_owned()),
            Some("a-tenant0b".to_owned()),
        ] {
            for public in [None, Some(true), Some(false)] {
                for state in [
                    StateFilter::Any,
                    StateFilter::Alive,
                    StateFilter::AliveWithDeleted,
                    StateFilter::Available,
                    StateFilter::Deleted,
                ] {
                    keys.push(ScopeKey {
                        account: account.clone(),
                        public,
                        state,
                    });
                }
            }
        }
        keys
    }

    #[tokio::test]
    async fn cached_scopes_follow_changes() {
        for layout in [Layout::V1203, Layout::Legacy] {
            let config = DcmgrEmulatorConfig {
                layout,
                images: 200,
                ..DcmgrEmulatorConfig::default()
            };
            let emu = DcmgrEmulator::start(config, ServeOptions::default())
                .await
                .unwrap();
            let warm = |emu: &DcmgrEmulator| {
                let mut data = emu.inner.lock();
                for key in keys() {
                    emu.inner.scope(&mut data, key);
                }
            };
            warm(&emu);
            let all = emu.listing(None, true);
            assert!(emu.soft_delete(&all[3]));
            assert!(emu.soft_delete(&all[3]));
            assert!(emu.remove(&all[10]));
            assert!(emu.set_state(&all[20], "deleted"));
            assert!(emu.set_state(&all[199], "available"));
            let mut public = emu.image(&all[30]).unwrap();
            public.is_public = !public.is_public;
            public.account_id = "a-tenant0b".into();
            emu.insert(public);
            emu.insert(EmulatedImage::new("wmi-fresh1", "a-shpoolxx"));
            warm(&emu);
            emu.insert(EmulatedImage::new("wmi-fresh2", "a-tenant0b"));
            assert!(emu.remove("wmi-fresh1"));
            let cached: Vec<_> = {
                let data = emu.inner.lock();
                keys()
                    .into_iter()
                    .map(|k| (k.clone(), data.scopes[&k].clone()))
                    .collect()
            };
            emu.inner.lock().scopes.clear();
            let mut data = emu.inner.lock();
            for (key, list) in cached {
                let fresh = emu.inner.scope(&mut data, key.clone());
                assert_eq!(list, fresh, "{layout:?} {key:?}");
            }
        }
    }

    #[tokio::test]
    async fn seeded_data_covers_every_case() {
        let emu = DcmgrEmulator::start(DcmgrEmulatorConfig::default(), ServeOptions::default())
            .await
            .unwrap();
        assert_eq!(emu.len(), 60);
        let all = emu.listing(None, true);
        assert_eq!(all.len(), 60);
        assert_eq!(all[59], "wmi-centos1d64");
        assert_eq!(all[58], "wmi-lbnode1d64");
        for state in [
            "init",
            "pending",
            "creating",
            "available",
            "deleted",
            "frozen",
        ] {
            assert!(!emu.ids_in_state(state).is_empty(), "{state}");
        }
        let images: Vec<_> = all.iter().map(|id| emu.image(id).unwrap()).collect();
        assert!(
            images
                .iter()
                .any(|i| i.account_id != "a-shpoolxx" && i.is_public)
        );
        assert!(
            images
                .iter()
                .any(|i| i.account_id != "a-shpoolxx" && !i.is_public)
        );
        assert!(
            images
                .iter()
                .all(|i| (i.state == "deleted") == i.deleted_at.is_some())
        );
        assert!(emu.image(&emu.missing_id()).is_none());
        // Every generated id maps back to its image.
        for image in &images {
            assert_eq!(emu.image(&image.id).as_ref(), Some(image));
        }
        // The same seed gives the same data.
        let again = DcmgrEmulator::start(DcmgrEmulatorConfig::default(), ServeOptions::default())
            .await
            .unwrap();
        assert_eq!(again.listing(None, true), all);
    }
}

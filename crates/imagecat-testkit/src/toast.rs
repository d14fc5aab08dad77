//! Emulator of the NHN Cloud (TOAST) Compute Image API v1.0, as the real
//! server is understood to behave (see `reference/toast-nhn-api.md`), not
//! only as its docs read:
//!
//! - `GET {base}/v1.0/appkeys/{appkey}/images?limit&marker`,
//!   `DELETE {base}/v1.0/appkeys/{appkey}/images?id`,
//!   `POST {base}/v1.0/appkeys/{appkey}/tokens`;
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
//! overlays. A few images have Glance statuses other than `active` (index 3
//! `queued` with null name, size, disk format and update time; 5 `saving`;
//! 11 `killed`; 13 `deactivated`; 17 `pending_delete`; 19 `importing`), index
//! 7 has the unknown status `frozen`, every tenth image (0, 10, …) is a public
//! image (protected, as NHN's are), images 5, 15, … are private but
//! protected; names are English, Korean or Japanese.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
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

use crate::churn::{Churn, ChurnLog, ChurnStep, Draws};
use crate::server::{
    Canned, EmulatorServer, ServeOptions, encode_query_value, json_bytes_response, normalize_base,
};

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
}

impl Default for ToastEmulatorConfig {
    fn default() -> Self {
        ToastEmulatorConfig {
            images: 50,
            seed: 0,
            marker: MarkerMode::Exclusive,
            appkey: "emulator-appkey".to_owned(),
            token: "emulator-token".to_owned(),
            username: "demo@example.com".to_owned(),
            password: "demo-api-password".to_owned(),
            token_ttl: Duration::from_secs(3600),
            ignore_marker: false,
            base_path: "/compute".to_owned(),
            default_limit: 25,
            max_limit: 1000,
            quoted_scalars: false,
            churn: None,
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
}

#[derive(Debug, Default)]
struct Store {
    /// Seeded indices deleted or removed.
    deleted: HashSet<usize>,
    /// Inserted images, sorted in listing order (newest first).
    inserted: Vec<ToastImage>,
    /// Issued tokens and when they expire.
    tokens: HashMap<String, Instant>,
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
    image_requests: AtomicU64,
    /// List requests refused because their marker image is gone.
    stale_markers: AtomicU64,
}

/// The creation time of seeded image 0, in microseconds since the epoch
/// (2024-06-01T00:00:00Z); image `i` is `i` steps older.
const T0_MICROS: i64 = 1_717_200_000_000_000;
/// 61.000123 s between seeded images, so fractions vary.
const STEP_MICROS: i64 = 61_000_123;
/// Seeded indices are encoded in the last 48 bits of the UUID.
const MAX_SEEDED: usize = 1 << 48;

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Seeded ids: a per-seed prefix `xxxxxxxx-xxxx-4xxx-yxxx-` and the index,
/// scrambled by a per-seed mask, in the last 12 hex digits.
#[derive(Debug, Clone)]
struct IdScheme {
    prefix: String,
    mask: u64,
}

impl IdScheme {
    fn new(seed: u64) -> Self {
        let h = splitmix64(seed ^ 0x0074_6F61_7374);
        let g = splitmix64(h);
        let prefix = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-",
            (h >> 32) as u32,
            (h >> 16) as u16,
            (h & 0x0fff) as u16,
            0x8000 | ((g >> 48) as u16 & 0x3fff)
        );
        IdScheme {
            prefix,
            mask: g & 0xffff_ffff_ffff,
        }
    }

    fn id(&self, index: usize) -> String {
        let mut s = String::with_capacity(36);
        s.push_str(&self.prefix);
        let _ = write!(s, "{:012x}", (index as u64 ^ self.mask) & 0xffff_ffff_ffff);
        s
    }

    /// The seeded index an id encodes (whether or not it is in range).
    fn index_of(&self, id: &str) -> Option<usize> {
        let tail = id.strip_prefix(&self.prefix)?;
        if tail.len() != 12 || !tail.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let n = u64::from_str_radix(tail, 16).ok()?;
        usize::try_from(n ^ self.mask).ok()
    }
}

/// Where a listing position is, for ordering: newer first, then greater id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    micros: i64,
    id: String,
}

fn micros_of(at: &DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn seeded_micros(index: usize) -> i64 {
    T0_MICROS.saturating_sub((index as i64).saturating_mul(STEP_MICROS))
}

fn at_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

// ---------------------------------------------------------------- seeded data

const PUBLIC_IMAGES: [(&str, &str, &str, &str, &str); 6] = [
    ("CentOS 7.9", "linux", "CentOS", "7.9", "centos"),
    (
        "Ubuntu Server 22.04 LTS",
        "linux",
        "Ubuntu",
        "22.04",
        "ubuntu",
    ),
    ("Rocky Linux 8.9", "linux", "Rocky", "8.9", "rocky"),
    ("Debian 12.4 Bookworm", "linux", "Debian", "12.4", "debian"),
    (
        "Windows 2022 STD",
        "windows",
        "Windows",
        "2022 STD",
        "Administrator",
    ),
    (
        "Ubuntu Server 20.04 LTS",
        "linux",
        "Ubuntu",
        "20.04",
        "ubuntu",
    ),
];

const PRIVATE_NAMES: [&str; 6] = [
    "web-server-snapshot",
    "웹서버-백업",
    "데이터베이스-스냅샷",
    "ウェブサーバー-バックアップ",
    "テスト環境",
    "batch-worker",
];

/// What varies between seeded images, derived from the index.
struct Seeded {
    index: usize,
    hash: u64,
}

impl Seeded {
    fn new(seed: u64, index: usize) -> Self {
        Seeded {
            index,
            hash: splitmix64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    fn status(&self) -> &'static str {
        match self.index {
            3 => "queued",
            5 => "saving",
            7 => "frozen",
            11 => "killed",
            13 => "deactivated",
            17 => "pending_delete",
            19 => "importing",
            i if i < 20 => "active",
            _ => match self.hash % 64 {
                0 => "queued",
                1 => "saving",
                2 => "killed",
                3 => "deactivated",
                4 => "pending_delete",
                _ => "active",
            },
        }
    }

    fn is_public(&self) -> bool {
        self.index % 10 == 0
    }

    fn protected(&self) -> bool {
        self.is_public() || self.index % 10 == 5
    }

    /// The special "empty" queued image: nothing uploaded yet.
    fn is_blank(&self) -> bool {
        self.index == 3
    }

    fn public_kind(
        &self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        PUBLIC_IMAGES[(self.index / 10) % PUBLIC_IMAGES.len()]
    }

    fn name(&self) -> Option<String> {
        if self.is_blank() {
            return None;
        }
        let created = at_micros(seeded_micros(self.index));
        if self.is_public() {
            Some(format!(
                "{} ({:04}.{:02}.{:02})",
                self.public_kind().0,
                created.year(),
                created.month(),
                created.day()
            ))
        } else {
            Some(format!(
                "{}-{}",
                PRIVATE_NAMES[(self.hash >> 8) as usize % PRIVATE_NAMES.len()],
                self.index
            ))
        }
    }

    fn disk_format(&self) -> Option<&'static str> {
        if self.is_blank() {
            return None;
        }
        Some(match (self.hash >> 16) % 10 {
            0 => "raw",
            1 => "iso",
            _ => "qcow2",
        })
    }

    fn size(&self) -> Option<u64> {
        if self.is_blank() {
            return None;
        }
        if self.status() == "queued" {
            return Some(0);
        }
        Some(1_073_741_824 + ((self.hash >> 20) % 20_000_000) * 512)
    }

    fn min_disk(&self) -> u64 {
        if self.is_public() && self.public_kind().1 == "windows" {
            50
        } else {
            [20, 20, 30, 50, 100][(self.hash >> 28) as usize % 5]
        }
    }

    fn min_ram(&self) -> u64 {
        [0, 0, 512, 1024, 2048][(self.hash >> 32) as usize % 5]
    }

    fn updated_micros(&self) -> Option<i64> {
        if self.is_blank() {
            return None;
        }
        Some(seeded_micros(self.index) + ((self.hash >> 36) % 7_200_000_000) as i64)
    }

    fn arch(&self) -> &'static str {
        if (self.hash >> 44) % 8 == 0 {
            "aarch64"
        } else {
            "x86_64"
        }
    }
}

// ---------------------------------------------------------------- wire

/// A number or boolean, written as a string when `quoted_scalars` is set.
struct Scalar<T>(T, bool);

impl<T: Serialize + fmt::Display> Serialize for Scalar<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            s.collect_str(&self.0)
        } else {
            self.0.serialize(s)
        }
    }
}

/// A timestamp as Glance v1 writes it: `2019-01-22T08:41:09.166563`.
struct Stamp(i64);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = at_micros(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.timestamp_subsec_micros()
        )
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

enum Props<'a> {
    Map(&'a BTreeMap<String, String>),
    Seeded {
        public: Option<(
            &'static str,
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        )>,
        description: Option<&'a str>,
        arch: &'static str,
    },
}

impl Serialize for Props<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Props::Map(map) => map.serialize(s),
            Props::Seeded {
                public,
                description,
                arch,
            } => {
                let mut m = s.serialize_map(None)?;
                if let Some(d) = description {
                    m.serialize_entry("description", d)?;
                }
                m.serialize_entry("hypervisor_type", "qemu")?;
                match public {
                    Some((_, os_type, distro, version, login)) => {
                        m.serialize_entry("login_username", login)?;
                        m.serialize_entry("os_architecture", arch)?;
                        m.serialize_entry("os_distro", distro)?;
                        m.serialize_entry("os_type", os_type)?;
                        m.serialize_entry("os_version", version)?;
                    }
                    None => {
                        m.serialize_entry("image_type", "snapshot")?;
                        m.serialize_entry("os_architecture", arch)?;
                        m.serialize_entry("os_type", "linux")?;
                    }
                }
                m.end()
            }
        }
    }
}

/// One image on the wire, borrowed from an inserted image or derived from
/// a seeded index.
#[derive(Serialize)]
struct WireImage<'a> {
    #[serde(rename = "createdAt")]
    created_at: Stamp,
    #[serde(rename = "diskFormat")]
    disk_format: Option<&'a str>,
    id: Cow<'a, str>,
    #[serde(rename = "isPublic")]
    is_public: Scalar<bool>,
    #[serde(rename = "minDisk")]
    min_disk: Scalar<u64>,
    #[serde(rename = "minRam")]
    min_ram: Scalar<u64>,
    name: Option<Cow<'a, str>>,
    properties: Props<'a>,
    protected: Scalar<bool>,
    size: Option<Scalar<u64>>,
    status: &'a str,
    #[serde(rename = "updatedAt")]
    updated_at: Option<Stamp>,
}

/// The wire form of seeded image `index`; `name` holds its name so that the
/// description can borrow it.
fn seeded_wire<'a>(
    ids: &IdScheme,
    seed: u64,
    index: usize,
    quoted: bool,
    name: &'a Option<String>,
) -> WireImage<'a> {
    let s = Seeded::new(seed, index);
    WireImage {
        created_at: Stamp(seeded_micros(index)),
        disk_format: s.disk_format(),
        id: Cow::Owned(ids.id(index)),
        is_public: Scalar(s.is_public(), quoted),
        min_disk: Scalar(s.min_disk(), quoted),
        min_ram: Scalar(s.min_ram(), quoted),
        name: name.as_deref().map(Cow::Borrowed),
        properties: Props::Seeded {
            public: s.is_public().then(|| s.public_kind()),
            description: if s.is_public() { name.as_deref() } else { None },
            arch: s.arch(),
        },
        protected: Scalar(s.protected(), quoted),
        size: s.size().map(|v| Scalar(v, quoted)),
        status: s.status(),
        updated_at: s.updated_micros().map(Stamp),
    }
}

fn inserted_wire(image: &ToastImage, quoted: bool) -> WireImage<'_> {
    WireImage {
        created_at: Stamp(micros_of(&image.created_at)),
        disk_format: image.disk_format.as_deref(),
        id: Cow::Borrowed(&image.id),
        is_public: Scalar(image.is_public, quoted),
        min_disk: Scalar(image.min_disk, quoted),
        min_ram: Scalar(image.min_ram, quoted),
        name: image.name.as_deref().map(Cow::Borrowed),
        properties: Props::Map(&image.properties),
        protected: Scalar(image.protected, quoted),
        size: image.size.map(|v| Scalar(v, quoted)),
        status: &image.status,
        updated_at: image.updated_at.as_ref().map(|t| Stamp(micros_of(t))),
    }
}

#[derive(Serialize)]
struct WireHeader<'a> {
    #[serde(rename = "isSuccessful")]
    is_successful: bool,
    #[serde(rename = "resultCode")]
    result_code: i64,
    #[serde(rename = "resultMessage")]
    result_message: &'a str,
}

#[derive(Serialize)]
struct HeaderOnly<'a> {
    header: WireHeader<'a>,
}

const SUCCESS: WireHeader<'static> = WireHeader {
    is_successful: true,
    result_code: 0,
    result_message: "SUCCESS",
};

/// An envelope failure, HTTP 200 as the real server answers.
fn failure(code: i64, message: &str) -> Response {
    let body = serde_json::to_vec(&HeaderOnly {
        header: WireHeader {
            is_successful: false,
            result_code: code,
            result_message: message,
        },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

fn success() -> Response {
    json_bytes_response(
        200,
        serde_json::to_vec(&HeaderOnly { header: SUCCESS }).unwrap_or_default(),
    )
}

/// The page's rows, serialised lazily as a JSON array.
struct Rows<'a> {
    emu: &'a Emu,
    rows: Vec<Row<'a>>,
}

enum Row<'a> {
    Seeded(usize),
    Inserted(&'a ToastImage),
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let quoted = self.emu.config.quoted_scalars;
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for row in &self.rows {
            match row {
                Row::Seeded(i) => {
                    let name = Seeded::new(self.emu.config.seed, *i).name();
                    seq.serialize_element(&seeded_wire(
                        &self.emu.ids,
                        self.emu.config.seed,
                        *i,
                        quoted,
                        &name,
                    ))?;
                }
                Row::Inserted(image) => seq.serialize_element(&inserted_wire(image, quoted))?,
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct ListBody<'a> {
    header: WireHeader<'static>,
    images: Rows<'a>,
}

// ---------------------------------------------------------------- the model

/// Where a page starts.
enum Start {
    First,
    /// After the image with this key (Glance), or at it (the docs). A
    /// seeded marker carries its index, which is its position.
    Marker {
        key: Key,
        seeded: Option<usize>,
        inclusive: bool,
    },
}

impl Emu {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seeded_len(&self) -> usize {
        self.config.images.min(MAX_SEEDED)
    }

    fn seeded_key(&self, index: usize) -> Key {
        Key {
            micros: seeded_micros(index),
            id: self.ids.id(index),
        }
    }

    fn seeded_image(&self, index: usize) -> ToastImage {
        let s = Seeded::new(self.config.seed, index);
        let name = s.name();
        let mut properties = BTreeMap::new();
        let wire = seeded_wire(&self.ids, self.config.seed, index, false, &name);
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&wire.properties) {
            for (k, v) in map {
                if let serde_json::Value::String(v) = v {
                    properties.insert(k, v);
                }
            }
        }
        ToastImage {
            id: self.ids.id(index),
            name: name.clone(),
            status: s.status().to_owned(),
            is_public: s.is_public(),
            protected: s.protected(),
            min_disk: s.min_disk(),
            min_ram: s.min_ram(),
            size: s.size(),
            disk_format: s.disk_format().map(str::to_owned),
            created_at: at_micros(seeded_micros(index)),
            updated_at: s.updated_micros().map(at_micros),
            properties,
        }
    }

    /// A live seeded index for an id (lower case), if any.
    fn live_seeded(&self, state: &Store, id: &str) -> Option<usize> {
        let index = self.ids.index_of(id)?;
        (index < self.seeded_len() && !state.deleted.contains(&index)).then_some(index)
    }

    /// The listing key of a live image, and its seeded index if it is one.
    fn key_of(&self, state: &Store, id: &str) -> Option<(Key, Option<usize>)> {
        if let Some(index) = self.live_seeded(state, id) {
            return Some((self.seeded_key(index), Some(index)));
        }
        state.inserted.iter().find(|i| i.id == id).map(|i| {
            (
                Key {
                    micros: micros_of(&i.created_at),
                    id: i.id.clone(),
                },
                None,
            )
        })
    }

    /// Up to `limit` rows from `start`, in listing order: a merge of the
    /// seeded sequence (keys strictly decreasing with the index) and the
    /// inserted overlay. O(limit + log n + overlay skips).
    fn page<'a>(&self, state: &'a Store, start: &Start, limit: usize) -> Vec<Row<'a>> {
        let n = self.seeded_len();
        // Whether a key comes after the start (is served).
        let served = |key: &Key| match start {
            Start::First => true,
            Start::Marker {
                key: k, inclusive, ..
            } => key < k || (*inclusive && key == k),
        };
        let mut si = match start {
            Start::First => 0,
            // O(1): the index is the position.
            Start::Marker {
                seeded: Some(index),
                inclusive,
                ..
            } => {
                if *inclusive {
                    *index
                } else {
                    index + 1
                }
            }
            // Seeded keys decrease with the index: binary search the first served.
            Start::Marker { seeded: None, .. } => {
                let (mut lo, mut hi) = (0usize, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if served(&self.seeded_key(mid)) {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            }
        };
        let inserted_key = |i: &ToastImage| Key {
            micros: micros_of(&i.created_at),
            id: i.id.clone(),
        };
        let mut oi = state
            .inserted
            .partition_point(|i| !served(&inserted_key(i)));
        let mut rows = Vec::with_capacity(limit.min(1024));
        while rows.len() < limit {
            while si < n && state.deleted.contains(&si) {
                si += 1;
            }
            let Some(img) = state.inserted.get(oi) else {
                if si >= n {
                    break;
                }
                rows.push(Row::Seeded(si));
                si += 1;
                continue;
            };
            if si < n && self.seeded_key(si) > inserted_key(img) {
                rows.push(Row::Seeded(si));
                si += 1;
            } else {
                rows.push(Row::Inserted(img));
                oi += 1;
            }
        }
        rows
    }

    fn row_id(&self, row: &Row<'_>) -> String {
        match row {
            Row::Seeded(i) => self.ids.id(*i),
            Row::Inserted(img) => img.id.clone(),
        }
    }

    fn row_image(&self, row: &Row<'_>) -> ToastImage {
        match row {
            Row::Seeded(i) => self.seeded_image(*i),
            Row::Inserted(img) => (*img).clone(),
        }
    }

    /// One churn step: `inserts` new images, newer than every other, and
    /// `deletes` random existing images removed (seeded or inserted alike).
    fn churn(&self, state: &mut Store, churn: Churn) {
        let step = state.churn.steps.len() as u64;
        let mut done = ChurnStep::default();
        let mut draws = Draws::new(churn.seed, step);
        for _ in 0..churn.inserts {
            let newest = state
                .inserted
                .first()
                .map_or(T0_MICROS, |i| micros_of(&i.created_at).max(T0_MICROS));
            let (hi, lo) = (draws.next_u64(), draws.next_u64());
            let id = uuid::Builder::from_random_bytes(
                ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes(),
            )
            .into_uuid()
            .hyphenated()
            .to_string();
            let mut image = ToastImage::new(id.clone(), format!("churn-{step}"));
            let at = at_micros(newest + STEP_MICROS);
            image.created_at = at;
            image.updated_at = Some(at);
            // Newest of all: first in listing order.
            state.inserted.insert(0, image);
            done.inserted.push(id);
        }
        for _ in 0..churn.deletes {
            let n = self.seeded_len() as u64 + state.inserted.len() as u64;
            if n == 0 {
                break;
            }
            // Rejection sampling over seeded indices and inserted images:
            // uniform among the live ones.
            for _ in 0..64 {
                let pick = draws.below(n);
                if let Some(image) = usize::try_from(pick)
                    .ok()
                    .and_then(|p| p.checked_sub(self.seeded_len()))
                {
                    let id = state.inserted.remove(image).id;
                    done.deleted.push(id);
                    break;
                }
                let index = pick as usize;
                if state.deleted.insert(index) {
                    done.deleted.push(self.ids.id(index));
                    break;
                }
            }
        }
        state.churn.steps.push(done);
    }

    /// `None` when the token is good; the refusal otherwise.
    fn check_auth(&self, state: &Store, appkey: &str, headers: &HeaderMap) -> Option<Response> {
        if appkey != self.config.appkey {
            return Some(failure(-3, "Permission denied : invalid appkey"));
        }
        let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
            return Some(failure(-3, "Permission denied : no X-Auth-Token"));
        };
        if !self.config.token.is_empty() && token == self.config.token {
            return None;
        }
        match state.tokens.get(token) {
            Some(expires) if Instant::now() < *expires => None,
            Some(_) => Some(failure(-3, "Permission denied : token expired")),
            None => Some(failure(-3, "Permission denied : Invalid token")),
        }
    }
}

// ---------------------------------------------------------------- handlers

type Pairs = Query<Vec<(String, String)>>;

/// The single value of a query parameter; `Err` when repeated.
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(());
    }
    Ok(first)
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

async fn list_images(
    State(emu): State<Arc<Emu>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    emu.image_requests.fetch_add(1, Ordering::SeqCst);
    let mut state = emu.lock();
    let response = list_answer(&emu, &mut state, path, query, &headers);
    if let Some(churn) = emu.config.churn {
        emu.churn(&mut state, churn);
    }
    response
}

/// The answer to one list request (the state is locked).
fn list_answer(
    emu: &Emu,
    state: &mut Store,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: &HeaderMap,
) -> Response {
    if let Some(c) = state.canned_images.pop_front() {
        return c.into_response();
    }
    let Ok(Path(appkey)) = path else {
        return failure(-3, "Permission denied : invalid appkey");
    };
    if let Some(refused) = emu.check_auth(state, &appkey, headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return failure(-4, "Invalid parameters : query");
    };
    let limit = match single(&pairs, "limit") {
        Err(()) => return failure(-4, "Invalid parameters : limit"),
        Ok(None) => emu.config.default_limit,
        Ok(Some(text)) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => (n as u64).min(emu.config.max_limit as u64) as usize,
            Ok(_) => return failure(-4, "Invalid parameters : limit param must be positive"),
            Err(_) => return failure(-4, "Invalid parameters : limit param must be an integer"),
        },
    };
    let marker = match single(&pairs, "marker") {
        Err(()) => return failure(-4, "Invalid parameters : marker"),
        Ok(m) => m.map(str::to_ascii_lowercase),
    };
    let start = match (&marker, emu.config.ignore_marker) {
        (None, _) | (Some(_), true) => Start::First,
        (Some(m), false) => {
            if !is_uuid(m) {
                return failure(30400, "Invalid marker format");
            }
            let Some((key, seeded)) = emu.key_of(state, m) else {
                emu.stale_markers.fetch_add(1, Ordering::SeqCst);
                return failure(30400, "Invalid marker. Image could not be found.");
            };
            Start::Marker {
                key,
                seeded,
                inclusive: emu.config.marker == MarkerMode::Inclusive,
            }
        }
    };
    // Serialise under the lock: the rows borrow the overlay.
    let rows = emu.page(state, &start, limit);
    let body = serde_json::to_vec(&ListBody {
        header: SUCCESS,
        images: Rows { emu, rows },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

async fn delete_image(
    State(emu): State<Arc<Emu>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    emu.image_requests.fetch_add(1, Ordering::SeqCst);
    let mut state = emu.lock();
    if let Some(c) = state.canned_images.pop_front() {
        return c.into_response();
    }
    let Ok(Path(appkey)) = path else {
        return failure(-3, "Permission denied : invalid appkey");
    };
    if let Some(refused) = emu.check_auth(&state, &appkey, &headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return failure(-4, "Invalid parameters : id");
    };
    let id = match single(&pairs, "id") {
        Ok(Some(id)) if is_uuid(id) => id.to_ascii_lowercase(),
        _ => return failure(-4, "Invalid parameters : id"),
    };
    let not_found = || failure(30404, &format!("Image with identifier {id} not found"));
    let (is_public, protected) = if let Some(index) = emu.live_seeded(&state, &id) {
        let s = Seeded::new(emu.config.seed, index);
        (s.is_public(), s.protected())
    } else if let Some(img) = state.inserted.iter().find(|i| i.id == id) {
        (img.is_public, img.protected)
    } else {
        return not_found();
    };
    if protected {
        return failure(30403, "Image is protected");
    }
    if is_public {
        return failure(30403, "Forbidden to delete image: a public image");
    }
    if let Some(index) = emu.live_seeded(&state, &id) {
        state.deleted.insert(index);
    } else {
        state.inserted.retain(|i| i.id != id);
    }
    success()
}

#[derive(Deserialize)]
struct TokenRequest {
    auth: Option<TokenAuth>,
}

#[derive(Deserialize)]
struct TokenAuth {
    username: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
struct TokenBody<'a> {
    header: WireHeader<'static>,
    access: TokenAccess<'a>,
}

#[derive(Serialize)]
struct TokenAccess<'a> {
    token: TokenDoc<'a>,
    user: TokenUser,
}

#[derive(Serialize)]
struct TokenDoc<'a> {
    expires: String,
    id: &'a str,
    issued_at: Stamp,
}

#[derive(Serialize)]
struct TokenUser {
    id: &'static str,
    roles: [TokenRole; 1],
}

#[derive(Serialize)]
struct TokenRole {
    name: &'static str,
}

async fn issue_token(
    State(emu): State<Arc<Emu>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> Response {
    let mut state = emu.lock();
    if let Some(c) = state.canned_tokens.pop_front() {
        return c.into_response();
    }
    match path {
        Ok(Path(appkey)) if appkey == emu.config.appkey => {}
        _ => return failure(-3, "Permission denied : invalid appkey"),
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return failure(-8, "JSON parsing error");
    };
    let Some(TokenAuth {
        username: Some(username),
        password: Some(password),
    }) = request.auth
    else {
        return failure(-4, "Invalid parameters : auth.username, auth.password");
    };
    if username != emu.config.username || password != emu.config.password {
        return failure(50401, "The request you have made requires authentication.");
    }
    state.issued += 1;
    let id = format!(
        "{:016x}{:016x}",
        splitmix64(emu.config.seed ^ 0x0074_6F6B_656E),
        splitmix64(state.issued ^ emu.config.seed.rotate_left(17))
    );
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(emu.config.token_ttl).unwrap_or(chrono::Duration::MAX);
    let expires = now
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let deadline = Instant::now()
        .checked_add(emu.config.token_ttl)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365 * 100));
    state.tokens.insert(id.clone(), deadline);
    let body = serde_json::to_vec(&TokenBody {
        header: SUCCESS,
        access: TokenAccess {
            token: TokenDoc {
                expires: expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                id: &id,
                issued_at: Stamp(micros_of(&now)),
            },
            user: TokenUser {
                id: "436f727b7c9142f896ddd56be591dd7f",
                roles: [TokenRole {
                    name: "project_admin",
                }],
            },
        },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

async fn unknown_route() -> Response {
    let body = serde_json::to_vec(&HeaderOnly {
        header: WireHeader {
            is_successful: false,
            result_code: 404,
            result_message: "Please check your API Url, HTTP Method.",
        },
    })
    .unwrap_or_default();
    json_bytes_response(404, body)
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
            image_requests: AtomicU64::new(0),
            stale_markers: AtomicU64::new(0),
        });
        let router = Router::new()
            .route(
                &format!("{base}/v1.0/appkeys/{{appkey}}/images"),
                get(list_images).delete(delete_image),
            )
            .route(
                &format!("{base}/v1.0/appkeys/{{appkey}}/tokens"),
                axum::routing::post(issue_token),
            )
            .fallback(unknown_route)
            .with_state(Arc::clone(&emu));
        let server = EmulatorServer::start_with(router, options).await?;
        Ok(ToastEmulator { server, emu })
    }

    /// The server, with its request log.
    pub fn server(&self) -> &EmulatorServer {
        &self.server
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

    /// The seeded image with a status no mapping knows, and that word.
    pub fn unknown_status(&self) -> Option<(String, String)> {
        (self.emu.seeded_len() > 7).then(|| (self.emu.ids.id(7), "frozen".to_owned()))
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
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/tokens"))
            .count()
    }

    /// How many image requests (list and delete) were received.
    pub fn image_request_count(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/images"))
            .count()
    }

    /// A counter of the image requests (list and delete) that reached the
    /// handlers, which outlives borrows (for the conformance fixture).
    pub fn image_request_counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let emu = Arc::clone(&self.emu);
        move || emu.image_requests.load(Ordering::SeqCst)
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emu(images: usize, seed: u64) -> Emu {
        Emu {
            ids: IdScheme::new(seed),
            config: ToastEmulatorConfig {
                images,
                seed,
                ..ToastEmulatorConfig::default()
            },
            state: Mutex::new(Store::default()),
            image_requests: AtomicU64::new(0),
            stale_markers: AtomicU64::new(0),
        }
    }

    #[test]
    fn ids_are_uuids_that_map_back_to_their_index() {
        for seed in [0, 1, 42, u64::MAX] {
            let ids = IdScheme::new(seed);
            for index in [0, 1, 7, 49, 1_000_000, MAX_SEEDED - 1] {
                let id = ids.id(index);
                assert!(is_uuid(&id), "{id}");
                assert_eq!(ids.index_of(&id), Some(index));
            }
            assert_eq!(ids.index_of("not-an-id"), None);
            assert_eq!(ids.index_of(&IdScheme::new(seed ^ 1).id(3)), None);
        }
        assert_ne!(IdScheme::new(0).id(0), IdScheme::new(1).id(0));
    }

    #[test]
    fn seeded_keys_strictly_decrease() {
        let e = emu(10, 0);
        for i in 0..1000 {
            assert!(e.seeded_key(i) > e.seeded_key(i + 1));
        }
    }

    #[test]
    fn pages_merge_the_overlay_in_order_and_skip_deletions() {
        let e = emu(10, 3);
        let mut state = Store::default();
        state.deleted.insert(2);
        let mut img = ToastImage::new("00000000-0000-4000-8000-000000000000", "x");
        img.created_at = at_micros(seeded_micros(4) - 1);
        state.inserted.push(img);
        let ids: Vec<String> = e
            .page(&state, &Start::First, usize::MAX)
            .iter()
            .map(|r| e.row_id(r))
            .collect();
        let mut want: Vec<String> = [0, 1, 3, 4].iter().map(|&i| e.ids.id(i)).collect();
        want.push("00000000-0000-4000-8000-000000000000".into());
        want.extend((5..10).map(|i| e.ids.id(i)));
        assert_eq!(ids, want);
        // A page after the inserted marker, both modes.
        let (key, seeded) = e.key_of(&state, &want[4]).unwrap();
        assert_eq!(seeded, None);
        for inclusive in [false, true] {
            let start = Start::Marker {
                key: key.clone(),
                seeded,
                inclusive,
            };
            let page: Vec<String> = e
                .page(&state, &start, 2)
                .iter()
                .map(|r| e.row_id(r))
                .collect();
            let from = if inclusive { 4 } else { 5 };
            assert_eq!(page, want[from..from + 2]);
        }
    }

    #[test]
    fn seeded_images_serialise_as_the_v1_documents() {
        let e = emu(50, 0);
        let name = Seeded::new(0, 3).name();
        let blank = serde_json::to_value(seeded_wire(&e.ids, 0, 3, false, &name)).unwrap();
        assert_eq!(blank["status"], "queued");
        for field in ["name", "size", "diskFormat", "updatedAt"] {
            assert!(blank[field].is_null(), "{field}: {blank}");
        }
        let name = Seeded::new(0, 0).name();
        let public = serde_json::to_value(seeded_wire(&e.ids, 0, 0, true, &name)).unwrap();
        assert_eq!(public["isPublic"], "true");
        assert_eq!(public["protected"], "true");
        assert_eq!(public["createdAt"], "2024-06-01T00:00:00.000000");
        assert_eq!(public["properties"]["description"], public["name"]);
        let image = e.seeded_image(0);
        assert_eq!(image.properties["os_architecture"], "x86_64");
        assert_eq!(image.name.as_deref(), public["name"].as_str());
        assert_eq!(
            Stamp(seeded_micros(1)).to_string(),
            "2024-05-31T23:58:58.999877"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_query_value("emulator-appkey"), "emulator-appkey");
    }
}

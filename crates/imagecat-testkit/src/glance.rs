//! Emulator of the OpenStack Image v2 (Glance) API, as stock Glance behaves
//! (checked against glance 33 with gunicorn, see `scripts/real-glance`):
//!
//! - `GET {base}/v2/images`: sorted by `created_at` then `id`, both
//!   descending; `limit` defaults to 25, is clamped to 1000, a non-integer
//!   is 400 `limit param must be an integer`, a negative one 400
//!   `limit param must be positive`; the `marker` image is excluded and an
//!   unknown marker is 400 `No image found with ID …`; `next`
//!   (`/v2/images?…&marker=LAST`, relative, keeping the other parameters)
//!   is given when the page is full, so a full last page is followed by an
//!   empty one; filters `name` and `status` (with Glance's `eq:`/`in:`
//!   operators, an unknown operator is 400), `visibility` (`public`,
//!   `private`, `shared`, `community`, `all`; anything else 400), `owner`,
//!   `os_hidden`, and any other parameter as a custom-property filter;
//!   without `visibility`, community images are listed only when owned by
//!   the caller's project, and hidden images (`os_hidden`) never;
//! - `GET {base}/v2/images/{id}`: 404 `No image found with ID …`;
//! - `DELETE {base}/v2/images/{id}`: 204; a protected image 403
//!   `Image … is protected and cannot be deleted.`; a missing one 404
//!   `Failed to find image … to delete`;
//! - errors are webob's: with `Accept: application/json`
//!   `{"message":"…<br /><br />\n\n\n","code":"404 Not Found","title":"Not Found"}`,
//!   otherwise an HTML page;
//! - authentication: a static `X-Auth-Token` and/or tokens issued by a
//!   minimal Keystone at `/identity/v2.0/tokens` (NHN's
//!   `tenantId` + `passwordCredentials` form, or `tenantName`) and
//!   `/identity/v3/auth/tokens` (password, project by name or id; token in
//!   `X-Subject-Token`), whose service catalogs point at this emulator for
//!   the configured region (plus a second region that points nowhere); a
//!   missing, unknown or expired token is 401 in keystonemiddleware's form.
//!
//! The data of seeded image `i` is derived from `i` (its UUID encodes it),
//! so a catalog of any size costs nothing until listed, and each page is
//! O(page size) plus the images its filters skip. Changes made while the
//! emulator runs (insert, update, delete) are a small overlay.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::server::{
    Canned, EmulatorServer, ServeOptions, encode_query_value, json_bytes_response, normalize_base,
};

/// The prefix of every seeded image id; the last 12 hex digits are the index.
const SEEDED_PREFIX: &str = "9a1ace00-0000-4000-8000-";
/// The largest index a seeded id can encode.
const MAX_SEEDED: u64 = 0xffff_ffff_fffe;
/// Creation time of seeded image 0 (2021-01-01T00:00:00Z); image `i` is `i` seconds later.
const EPOCH: i64 = 1_609_459_200;
/// keystonemiddleware's message for a refused token.
const KEYSTONE_401: &str = "The request you have made requires authentication.";

/// Keystone credentials the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoneUser {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The tenant (v2.0) or project (v3) id.
    pub project_id: String,
    /// The tenant (v2.0) or project (v3) name.
    pub project_name: String,
    /// The user's domain name (v3).
    pub user_domain: String,
    /// The project's domain name (v3).
    pub project_domain: String,
    /// A v3 application credential of this user (bound to its project),
    /// accepted by id, or by name with the user's name and domain.
    pub app_credential: Option<KeystoneAppCredential>,
}

/// A Keystone v3 application credential the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoneAppCredential {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its secret.
    pub secret: String,
}

/// Whether a v3 `identity` holds this user's application credential.
fn app_credential_ok(user: &KeystoneUser, identity: &Value) -> bool {
    let Some(cred) = &user.app_credential else {
        return false;
    };
    let given = &identity["application_credential"];
    let who = match str_at(given, &["id"]) {
        Some(id) => id == cred.id,
        None => {
            str_at(given, &["name"]) == Some(cred.name.as_str())
                && str_at(given, &["user", "name"]) == Some(user.username.as_str())
                && str_at(given, &["user", "domain", "name"]) == Some(user.user_domain.as_str())
        }
    };
    who && str_at(given, &["secret"]) == Some(cred.secret.as_str())
}

impl Default for KeystoneUser {
    fn default() -> Self {
        KeystoneUser {
            username: "demo".into(),
            password: "emulator-password".into(),
            project_id: "emu-project".into(),
            project_name: "demo-project".into(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            app_credential: None,
        }
    }
}

/// What the emulator serves.
#[derive(Debug, Clone)]
pub struct GlanceEmulatorConfig {
    /// How many seeded images. Default 60.
    pub images: u64,
    /// The path of the image endpoint (e.g. `/image`); empty by default.
    /// `next` links stay `/v2/images?…`, relative to the endpoint, as
    /// Glance behind a path-prefixing proxy writes them.
    pub base_path: String,
    /// A static token accepted in `X-Auth-Token`. With neither a token nor
    /// Keystone users, no token is checked. Default `glance-emulator-token`.
    pub token: Option<String>,
    /// The Keystone user, if the identity endpoints should accept one.
    pub keystone: Option<KeystoneUser>,
    /// The region of the image endpoint in the service catalogs. Default `RegionOne`.
    pub region: String,
    /// Lifetime of issued tokens. Default one hour.
    pub token_ttl: Duration,
    /// The caller's project (owner of community images listed by default).
    /// Default `emu-project`.
    pub project_id: Option<String>,
    /// `limit_param_default`. Default 25.
    pub default_limit: u32,
    /// `api_limit_max`. Default 1000.
    pub max_limit: u32,
    /// A lying server: the marker is ignored, so every page is the first.
    pub ignore_marker: bool,
}

impl Default for GlanceEmulatorConfig {
    fn default() -> Self {
        GlanceEmulatorConfig {
            images: 60,
            base_path: String::new(),
            token: Some("glance-emulator-token".into()),
            keystone: None,
            region: "RegionOne".into(),
            token_ttl: Duration::from_secs(3600),
            project_id: Some("emu-project".into()),
            default_limit: 25,
            max_limit: 1000,
            ignore_marker: false,
        }
    }
}

impl GlanceEmulatorConfig {
    /// Sets the number of seeded images.
    pub fn images(mut self, n: u64) -> Self {
        self.images = n.min(MAX_SEEDED);
        self
    }

    /// Sets the endpoint's path.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// Sets (or removes) the static token.
    pub fn token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// Enables the Keystone endpoints for this user.
    pub fn keystone(mut self, user: KeystoneUser) -> Self {
        self.keystone = Some(user);
        self
    }

    /// Sets the lifetime of issued tokens.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Makes the server ignore the marker.
    pub fn ignore_marker(mut self, yes: bool) -> Self {
        self.ignore_marker = yes;
        self
    }
}

/// One image as the emulator stores and serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlanceImage {
    /// The UUID.
    pub id: String,
    /// The name.
    pub name: Option<String>,
    /// The Glance status word (any word is served as is).
    pub status: String,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// The owning project.
    pub owner: Option<String>,
    /// Protected from deletion.
    pub protected: bool,
    /// Hidden from default listings (`os_hidden`).
    pub hidden: bool,
    /// Creation time (the sort key).
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Size of the data.
    pub size: Option<u64>,
    /// MD5 of the data.
    pub checksum: Option<String>,
    /// SHA-512 of the data.
    pub os_hash_value: Option<String>,
    /// Minimum disk, GB.
    pub min_disk: u64,
    /// Minimum RAM, MB.
    pub min_ram: u64,
    /// Disk format.
    pub disk_format: Option<String>,
    /// Container format.
    pub container_format: Option<String>,
    /// Custom properties, served as top-level keys.
    pub properties: BTreeMap<String, String>,
}

impl GlanceImage {
    /// An active private image of the default project, created now.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        let now = Utc::now();
        GlanceImage {
            id: id.into().to_ascii_lowercase(),
            name: Some(name.into()),
            status: "active".into(),
            visibility: "private".into(),
            owner: Some("emu-project".into()),
            protected: false,
            hidden: false,
            created_at: now,
            updated_at: now,
            size: Some(1024),
            checksum: Some(format!("{:032x}", mix(now.timestamp_micros() as u64))),
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            properties: BTreeMap::new(),
        }
    }

    /// The JSON document Glance serves for this image.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        for (k, v) in &self.properties {
            doc.insert(k.clone(), Value::String(v.clone()));
        }
        let active = self.size.is_some();
        doc.insert("name".into(), json!(self.name));
        doc.insert("disk_format".into(), json!(self.disk_format));
        doc.insert("container_format".into(), json!(self.container_format));
        doc.insert("visibility".into(), json!(self.visibility));
        doc.insert("size".into(), json!(self.size));
        doc.insert("virtual_size".into(), json!(self.size));
        doc.insert("status".into(), json!(self.status));
        doc.insert("checksum".into(), json!(self.checksum));
        doc.insert("protected".into(), json!(self.protected));
        doc.insert("min_ram".into(), json!(self.min_ram));
        doc.insert("min_disk".into(), json!(self.min_disk));
        doc.insert("owner".into(), json!(self.owner));
        doc.insert("os_hidden".into(), json!(self.hidden));
        doc.insert(
            "os_hash_algo".into(),
            json!(self.os_hash_value.as_ref().map(|_| "sha512")),
        );
        doc.insert("os_hash_value".into(), json!(self.os_hash_value));
        doc.insert("id".into(), json!(self.id));
        doc.insert("created_at".into(), json!(stamp(&self.created_at)));
        doc.insert("updated_at".into(), json!(stamp(&self.updated_at)));
        doc.insert("tags".into(), json!([]));
        doc.insert("self".into(), json!(format!("/v2/images/{}", self.id)));
        doc.insert("file".into(), json!(format!("/v2/images/{}/file", self.id)));
        doc.insert("schema".into(), json!("/v2/schemas/image"));
        if active {
            doc.insert("stores".into(), json!("fs"));
        }
        Value::Object(doc)
    }

    fn key(&self) -> Key {
        Key {
            micros: self.created_at.timestamp_micros(),
            id: self.id.clone(),
        }
    }
}

/// Glance prints times as `2018-12-11T01:01:35Z`.
fn stamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The id of seeded image `i`.
pub fn seeded_id(i: u64) -> String {
    format!("{SEEDED_PREFIX}{i:012x}")
}

/// The index a seeded id encodes, if it is one.
fn seeded_index(id: &str) -> Option<u64> {
    let hex = id.strip_prefix(SEEDED_PREFIX)?;
    if hex.len() != 12 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Seeded image `i`, derived from `i` alone.
fn seeded_image(i: u64) -> GlanceImage {
    let h = mix(i);
    let status = match i % 20 {
        3 => "queued",
        7 => "saving",
        11 => "deactivated",
        13 => "killed",
        17 => "importing",
        _ => "active",
    };
    let visibility = match i % 7 {
        0 | 3 => "public",
        2 => "shared",
        5 => "community",
        _ => "private",
    };
    let owner = if visibility == "community" {
        "emu-project"
    } else {
        ["emu-project", "project-b", "project-c"][(i % 3) as usize]
    };
    let has_data = matches!(status, "active" | "deactivated");
    let created_at = DateTime::from_timestamp(EPOCH + i as i64, 0).unwrap_or_default();
    let mut properties = BTreeMap::new();
    properties.insert(
        "os_architecture".to_owned(),
        if i % 5 == 0 { "aarch64" } else { "x86_64" }.to_owned(),
    );
    properties.insert(
        "os_type".to_owned(),
        if i % 6 == 0 { "windows" } else { "linux" }.to_owned(),
    );
    properties.insert(
        "os_distro".to_owned(),
        ["ubuntu", "centos", "rocky"][(i % 3) as usize].to_owned(),
    );
    properties.insert("description".to_owned(), format!("Seeded image {i}"));
    properties.insert("login_username".to_owned(), "cloud-user".to_owned());
    GlanceImage {
        id: seeded_id(i),
        name: Some(format!("image-{i:05}")),
        status: status.to_owned(),
        visibility: visibility.to_owned(),
        owner: Some(owner.to_owned()),
        protected: i % 9 == 4,
        hidden: false,
        created_at,
        updated_at: created_at + chrono::Duration::seconds(60),
        size: has_data.then_some((i + 1) * 1_048_576),
        checksum: has_data.then(|| format!("{:016x}{:016x}", h, mix(h))),
        os_hash_value: has_data.then(|| {
            (0..8).fold(String::new(), |mut s, k| {
                let _ = write!(s, "{:016x}", mix(h ^ k));
                s
            })
        }),
        min_disk: (i % 4) * 10,
        min_ram: (i % 3) * 512,
        disk_format: Some(["qcow2", "raw", "vmdk"][(i % 3) as usize].to_owned()),
        container_format: Some("bare".to_owned()),
        properties,
    }
}

/// The sort key: `created_at` then `id` (both listed descending).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    micros: i64,
    id: String,
}

fn seeded_key(i: u64) -> Key {
    Key {
        micros: (EPOCH + i as i64) * 1_000_000,
        id: seeded_id(i),
    }
}

#[derive(Debug, Default)]
struct Store {
    /// Seeded indices deleted or removed.
    deleted: HashSet<u64>,
    /// Seeded images changed by `update` (same id and creation time).
    patched: HashMap<u64, GlanceImage>,
    /// Inserted images, by sort key.
    inserted: BTreeMap<Key, GlanceImage>,
    /// Issued tokens and when they expire.
    tokens: HashMap<String, Instant>,
    issued: u64,
    canned: VecDeque<Canned>,
}

struct Emu {
    config: GlanceEmulatorConfig,
    /// `http://127.0.0.1:PORT{base}`, set once the server is bound.
    endpoint: OnceLock<String>,
    state: Mutex<Store>,
    image_requests: AtomicU64,
}

/// One listing's filters, parsed.
#[derive(Debug, Default)]
struct Filters {
    names: Option<Vec<String>>,
    statuses: Option<Vec<String>>,
    visibility: Option<String>,
    owner: Option<String>,
    hidden: Option<bool>,
    size_min: Option<u64>,
    size_max: Option<u64>,
    properties: Vec<(String, String)>,
}

impl Filters {
    fn matches(&self, image: &GlanceImage, caller: Option<&str>) -> bool {
        if let Some(names) = &self.names {
            if !image.name.as_ref().is_some_and(|n| names.contains(n)) {
                return false;
            }
        }
        if let Some(statuses) = &self.statuses {
            if !statuses.contains(&image.status) {
                return false;
            }
        }
        match self.visibility.as_deref() {
            Some("all") => {}
            Some(v) => {
                if image.visibility != v {
                    return false;
                }
            }
            None => {
                if image.visibility == "community" && image.owner.as_deref() != caller.or(Some(""))
                {
                    return false;
                }
            }
        }
        if let Some(owner) = &self.owner {
            if image.owner.as_ref() != Some(owner) {
                return false;
            }
        }
        if image.hidden != self.hidden.unwrap_or(false) {
            return false;
        }
        // SQL `size >= min`: an image without a size never matches.
        if let Some(min) = self.size_min {
            if image.size.is_none_or(|s| s < min) {
                return false;
            }
        }
        if let Some(max) = self.size_max {
            if image.size.is_none_or(|s| s > max) {
                return false;
            }
        }
        self.properties
            .iter()
            .all(|(k, v)| image.properties.get(k) == Some(v))
    }
}

/// Glance's `split_filter_op` and `in:` value splitting.
fn filter_values(expression: &str) -> Result<Vec<String>, String> {
    let Some((op, rest)) = expression.split_once(':') else {
        return Ok(vec![expression.to_owned()]);
    };
    match op {
        "eq" => Ok(vec![rest.to_owned()]),
        "in" => Ok(rest
            .split(',')
            .map(|v| v.trim_matches('"').to_owned())
            .collect()),
        other => Err(format!("Unable to filter by unknown operator '{other}'.")),
    }
}

impl Emu {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn endpoint(&self) -> String {
        self.endpoint.get().cloned().unwrap_or_default()
    }

    fn seeded_len(&self) -> u64 {
        self.config.images
    }

    /// The live seeded index of an id.
    fn live_seeded(&self, state: &Store, id: &str) -> Option<u64> {
        seeded_index(id).filter(|i| *i < self.seeded_len() && !state.deleted.contains(i))
    }

    fn seeded(&self, state: &Store, i: u64) -> GlanceImage {
        state
            .patched
            .get(&i)
            .cloned()
            .unwrap_or_else(|| seeded_image(i))
    }

    fn find(&self, state: &Store, id: &str) -> Option<GlanceImage> {
        if let Some(i) = self.live_seeded(state, id) {
            return Some(self.seeded(state, i));
        }
        state.inserted.values().find(|img| img.id == id).cloned()
    }

    /// Up to `limit` images after `after` (exclusive) in listing order that
    /// match the filters.
    fn page(
        &self,
        state: &Store,
        after: Option<&Key>,
        limit: usize,
        filters: &Filters,
    ) -> Vec<GlanceImage> {
        let caller = self.config.project_id.as_deref();
        let n = self.seeded_len();
        // Seeded keys grow with the index: the candidates are 0..bound.
        let mut bound = match after {
            None => n,
            Some(key) => {
                let (mut lo, mut hi) = (0u64, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if seeded_key(mid) < *key {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
        };
        let mut inserted = match after {
            None => state.inserted.range(..).rev().peekable(),
            Some(key) => state.inserted.range(..key.clone()).rev().peekable(),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let next_seeded = bound.checked_sub(1);
            let take_inserted = match (inserted.peek(), next_seeded) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((k, _)), Some(i)) => **k > seeded_key(i),
            };
            let image = if take_inserted {
                match inserted.next() {
                    Some((_, img)) => img.clone(),
                    None => break,
                }
            } else {
                let Some(i) = next_seeded else { break };
                bound = i;
                if state.deleted.contains(&i) {
                    continue;
                }
                self.seeded(state, i)
            };
            if filters.matches(&image, caller) {
                out.push(image);
            }
        }
        out
    }

    /// `None` when the request may proceed, or the 401 to answer.
    fn check_auth(&self, state: &Store, headers: &HeaderMap) -> Option<Response> {
        if self.config.token.is_none() && self.config.keystone.is_none() {
            return None;
        }
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if self.config.token.as_deref() == Some(token) && !token.is_empty() {
            return None;
        }
        match state.tokens.get(token) {
            Some(expires) if Instant::now() < *expires => None,
            _ => Some(keystone_error(401, "Unauthorized", KEYSTONE_401)),
        }
    }

    fn issue(&self, state: &mut Store) -> (String, DateTime<Utc>) {
        state.issued += 1;
        let id = format!(
            "gAAAA{:016x}{:016x}",
            mix(state.issued ^ 0x6b65_7973_746f_6e65),
            mix(state.issued)
        );
        let ttl =
            chrono::Duration::from_std(self.config.token_ttl).unwrap_or(chrono::Duration::MAX);
        let expires = Utc::now()
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let deadline = Instant::now()
            .checked_add(self.config.token_ttl)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        state.tokens.insert(id.clone(), deadline);
        (id, expires)
    }
}

// ------------------------------------------------------------------ errors

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// A webob error page: JSON when the client accepts it, HTML otherwise.
fn webob_error(headers: &HeaderMap, status: u16, message: &str) -> Response {
    let title = reason(status);
    if wants_json(headers) {
        let body = json!({
            "message": format!("{message}<br /><br />\n\n\n"),
            "code": format!("{status} {title}"),
            "title": title,
        });
        return json_bytes_response(status, serde_json::to_vec(&body).unwrap_or_default());
    }
    let html = format!(
        "<html>\n <head>\n  <title>{status} {title}</title>\n </head>\n <body>\n  <h1>{status} {title}</h1>\n  {message}<br /><br />\n\n\n\n </body>\n</html>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=UTF-8")
        .body(Body::from(html))
        .unwrap_or_default()
}

/// Keystone's (and keystonemiddleware's) error document.
fn keystone_error(status: u16, title: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "code": status, "title": title}});
    let mut response = json_bytes_response(status, serde_json::to_vec(&body).unwrap_or_default());
    if status == 401 {
        if let Ok(v) = "Keystone uri=\"/identity\"".parse() {
            response.headers_mut().insert("www-authenticate", v);
        }
    }
    response
}

fn urlencode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_query_value(k), encode_query_value(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------- handlers

type Pairs = Query<Vec<(String, String)>>;

async fn list_images(
    State(emu): State<Arc<Emu>>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    emu.image_requests.fetch_add(1, Ordering::SeqCst);
    let mut state = emu.lock();
    if let Some(c) = state.canned.pop_front() {
        return c.into_response();
    }
    if let Some(refused) = emu.check_auth(&state, &headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return webob_error(&headers, 400, "Invalid query string");
    };
    let mut limit = emu.config.default_limit as usize;
    let mut marker = None;
    let mut filters = Filters::default();
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => match value.trim().parse::<i64>() {
                Ok(n) if n < 0 => {
                    return webob_error(&headers, 400, "limit param must be positive");
                }
                Ok(n) => limit = (n as u64).min(u64::from(emu.config.max_limit)) as usize,
                Err(_) => {
                    return webob_error(&headers, 400, "limit param must be an integer");
                }
            },
            "marker" => marker = Some(value.clone()),
            "name" => match filter_values(value) {
                Ok(v) => filters.names = Some(v),
                Err(e) => return webob_error(&headers, 400, &e),
            },
            "status" => match filter_values(value) {
                Ok(v) => filters.statuses = Some(v),
                Err(e) => return webob_error(&headers, 400, &e),
            },
            "visibility" => {
                if !matches!(
                    value.as_str(),
                    "public" | "private" | "shared" | "community" | "all"
                ) {
                    return webob_error(
                        &headers,
                        400,
                        &format!("Invalid visibility value: {value}"),
                    );
                }
                filters.visibility = Some(value.clone());
            }
            "owner" => filters.owner = Some(value.clone()),
            "os_hidden" => filters.hidden = Some(value.eq_ignore_ascii_case("true")),
            "size_min" | "size_max" => match value.trim().parse::<u64>() {
                Ok(n) if key == "size_min" => filters.size_min = Some(n),
                Ok(n) => filters.size_max = Some(n),
                Err(_) => {
                    return webob_error(&headers, 400, &format!("Invalid value for {key}"));
                }
            },
            "sort_key" if value == "created_at" => {}
            "sort_dir" if value == "desc" => {}
            "sort_key" | "sort_dir" | "sort" => {
                return webob_error(
                    &headers,
                    400,
                    "the emulator serves only the default sort (created_at desc)",
                );
            }
            "member_status" => {}
            _ => filters.properties.push((key.clone(), value.clone())),
        }
    }
    let after = match marker.as_deref() {
        Some(m) if !emu.config.ignore_marker => match emu.find(&state, m) {
            Some(image) => Some(image.key()),
            None => return webob_error(&headers, 400, &format!("No image found with ID {m}")),
        },
        _ => None,
    };
    let images = emu.page(&state, after.as_ref(), limit, &filters);
    drop(state);
    let rest: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "marker").collect();
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(images.iter().map(GlanceImage::to_json).collect()),
    );
    let first = if rest.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{}", urlencode(&rest))
    };
    body.insert("first".into(), json!(first));
    body.insert("schema".into(), json!("/v2/schemas/images"));
    if let (Some(last), true) = (images.last(), limit > 0 && images.len() == limit) {
        let mut next = rest;
        next.push(("marker".to_owned(), last.id.clone()));
        body.insert(
            "next".into(),
            json!(format!("/v2/images?{}", urlencode(&next))),
        );
    }
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

async fn show_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    emu.image_requests.fetch_add(1, Ordering::SeqCst);
    let mut state = emu.lock();
    if let Some(c) = state.canned.pop_front() {
        return c.into_response();
    }
    if let Some(refused) = emu.check_auth(&state, &headers) {
        return refused;
    }
    match emu.find(&state, &id) {
        Some(image) => {
            let body = serde_json::to_vec(&image.to_json()).unwrap_or_default();
            json_bytes_response(200, body)
        }
        None => webob_error(&headers, 404, &format!("No image found with ID {id}")),
    }
}

async fn delete_image(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    emu.image_requests.fetch_add(1, Ordering::SeqCst);
    let mut state = emu.lock();
    if let Some(c) = state.canned.pop_front() {
        return c.into_response();
    }
    if let Some(refused) = emu.check_auth(&state, &headers) {
        return refused;
    }
    let Some(image) = emu.find(&state, &id) else {
        return webob_error(
            &headers,
            404,
            &format!("Failed to find image {id} to delete"),
        );
    };
    if image.protected {
        return webob_error(
            &headers,
            403,
            &format!("Image {id} is protected and cannot be deleted."),
        );
    }
    if let Some(i) = emu.live_seeded(&state, &id) {
        state.deleted.insert(i);
        state.patched.remove(&i);
    } else {
        state.inserted.remove(&image.key());
    }
    Response::builder()
        .status(204)
        .body(Body::empty())
        .unwrap_or_default()
}

async fn versions(State(emu): State<Arc<Emu>>) -> Response {
    let href = format!("{}/v2/", emu.endpoint());
    let body = json!({"versions": [
        {"id": "v2.15", "status": "CURRENT", "links": [{"rel": "self", "href": href}]},
    ]});
    json_bytes_response(300, serde_json::to_vec(&body).unwrap_or_default())
}

async fn not_found(headers: HeaderMap) -> Response {
    webob_error(&headers, 404, "The resource could not be found.")
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

async fn keystone_v2(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let Some(user) = &emu.config.keystone else {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return keystone_error(400, "Bad Request", "Malformed request body");
    };
    let auth = &request["auth"];
    let username = str_at(auth, &["passwordCredentials", "username"]);
    let password = str_at(auth, &["passwordCredentials", "password"]);
    let tenant_ok = match (str_at(auth, &["tenantId"]), str_at(auth, &["tenantName"])) {
        (Some(id), _) => id == user.project_id,
        (None, Some(name)) => name == user.project_name,
        (None, None) => false,
    };
    if username != Some(user.username.as_str())
        || password != Some(user.password.as_str())
        || !tenant_ok
    {
        return keystone_error(401, "Unauthorized", KEYSTONE_401);
    }
    let (id, expires) = emu.issue(&mut emu.lock());
    let endpoint = emu.endpoint();
    let body = json!({"access": {
        "token": {
            "id": id,
            "expires": expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "issued_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            "tenant": {"id": user.project_id, "name": user.project_name, "enabled": true},
        },
        "serviceCatalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"region": emu.config.region, "publicURL": format!("{endpoint}/identity/v2.0")}]},
            {"type": "image", "name": "glance", "endpoints": [
                {"region": emu.config.region, "publicURL": endpoint},
                {"region": "OtherRegion", "publicURL": "http://127.0.0.1:9/other-region"}]},
        ],
        "user": {"id": "emu-user", "username": user.username, "name": user.username,
                 "roles": [{"name": "member"}], "roles_links": []},
        "metadata": {"roles": [], "is_admin": 0},
    }});
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

async fn keystone_v3(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let Some(user) = &emu.config.keystone else {
        return keystone_error(404, "Not Found", "The resource could not be found.");
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return keystone_error(400, "Bad Request", "Malformed request body");
    };
    let identity = &request["auth"]["identity"];
    let by_app_credential = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == "application_credential"));
    let methods_ok = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == "password"));
    let u = &identity["password"]["user"];
    let user_ok = str_at(u, &["name"]) == Some(user.username.as_str())
        && str_at(u, &["password"]) == Some(user.password.as_str())
        && str_at(u, &["domain", "name"]) == Some(user.user_domain.as_str());
    let project = &request["auth"]["scope"]["project"];
    let project_ok = match str_at(project, &["id"]) {
        Some(id) => id == user.project_id,
        None => {
            str_at(project, &["name"]) == Some(user.project_name.as_str())
                && str_at(project, &["domain", "name"]) == Some(user.project_domain.as_str())
        }
    };
    let app_ok = by_app_credential && app_credential_ok(user, identity);
    if !(app_ok || (methods_ok && user_ok && project_ok)) {
        return keystone_error(401, "Unauthorized", KEYSTONE_401);
    }
    let (id, expires) = emu.issue(&mut emu.lock());
    let endpoint = emu.endpoint();
    let region = &emu.config.region;
    let body = json!({"token": {
        "methods": ["password"],
        "expires_at": expires.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "issued_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "user": {"id": "emu-user", "name": user.username, "domain": {"id": "default", "name": user.user_domain}},
        "project": {"id": user.project_id, "name": user.project_name, "domain": {"id": "default", "name": user.project_domain}},
        "roles": [{"id": "r1", "name": "member"}],
        "catalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "public", "region": region, "region_id": region, "url": format!("{endpoint}/identity")}]},
            {"type": "image", "name": "glance", "endpoints": [
                {"interface": "internal", "region": region, "region_id": region, "url": "http://127.0.0.1:9/internal"},
                {"interface": "public", "region": region, "region_id": region, "url": endpoint},
                {"interface": "public", "region": "OtherRegion", "region_id": "OtherRegion", "url": "http://127.0.0.1:9/other-region"}]},
        ],
    }});
    let mut response = json_bytes_response(201, serde_json::to_vec(&body).unwrap_or_default());
    if let Ok(v) = id.parse() {
        response.headers_mut().insert("x-subject-token", v);
    }
    response
}

/// A running Glance v2 emulator; stops when dropped.
pub struct GlanceEmulator {
    server: EmulatorServer,
    emu: Arc<Emu>,
}

impl std::fmt::Debug for GlanceEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlanceEmulator")
            .field("endpoint", &self.endpoint())
            .field("images", &self.emu.config.images)
            .finish_non_exhaustive()
    }
}

impl GlanceEmulator {
    /// Starts the emulator on 127.0.0.1 with an ephemeral port (or as
    /// `options` say).
    pub async fn start(
        config: GlanceEmulatorConfig,
        options: ServeOptions,
    ) -> std::io::Result<Self> {
        let base = normalize_base(&config.base_path);
        let emu = Arc::new(Emu {
            config: GlanceEmulatorConfig {
                base_path: base.clone(),
                ..config
            },
            endpoint: OnceLock::new(),
            state: Mutex::new(Store::default()),
            image_requests: AtomicU64::new(0),
        });
        let mut router = Router::new()
            .route(&format!("{base}/v2/images"), get(list_images))
            .route(
                &format!("{base}/v2/images/{{id}}"),
                get(show_image).delete(delete_image),
            )
            .route(&format!("{base}/versions"), get(versions))
            .route("/identity/v2.0/tokens", post(keystone_v2))
            .route("/identity/v3/auth/tokens", post(keystone_v3));
        router = if base.is_empty() {
            router.route("/", get(versions))
        } else {
            router.route(&base, get(versions))
        };
        let router = router.fallback(not_found).with_state(Arc::clone(&emu));
        let server = EmulatorServer::start_with(router, options).await?;
        let _ = emu.endpoint.set(format!("{}{base}", server.base_url()));
        Ok(GlanceEmulator { server, emu })
    }

    /// The server, with its request log.
    pub fn server(&self) -> &EmulatorServer {
        &self.server
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &GlanceEmulatorConfig {
        &self.emu.config
    }

    /// The image endpoint: `http://127.0.0.1:PORT[/BASE]`.
    pub fn endpoint(&self) -> String {
        self.emu.endpoint()
    }

    /// The catalog URL for the facade: `glance+http://127.0.0.1:PORT[/BASE]`.
    pub fn catalog_url(&self) -> String {
        format!(
            "glance+http://{}{}",
            self.server.addr(),
            self.emu.config.base_path
        )
    }

    /// The Keystone v2.0 auth URL: `http://127.0.0.1:PORT/identity/v2.0`.
    pub fn identity_v2_url(&self) -> String {
        format!("{}/identity/v2.0", self.server.base_url())
    }

    /// The Keystone v3 auth URL: `http://127.0.0.1:PORT/identity/v3`.
    pub fn identity_v3_url(&self) -> String {
        format!("{}/identity/v3", self.server.base_url())
    }

    /// The id of seeded image `index` (whether or not it is still there).
    pub fn seeded_id(&self, index: u64) -> String {
        seeded_id(index)
    }

    /// Seeded image `index` as served now (or as it was, if deleted).
    pub fn seeded_image(&self, index: u64) -> GlanceImage {
        let state = self.emu.lock();
        self.emu.seeded(&state, index)
    }

    /// The ids a default listing (no filter) serves now, in order. O(n).
    pub fn listed_ids(&self) -> Vec<String> {
        self.snapshot().into_iter().map(|i| i.id).collect()
    }

    /// The images a default listing (no filter) serves now, in order. O(n).
    pub fn snapshot(&self) -> Vec<GlanceImage> {
        let state = self.emu.lock();
        self.emu.page(&state, None, usize::MAX, &Filters::default())
    }

    /// Up to `n` ids of live seeded images that may be deleted (not
    /// protected, listed by default), oldest first.
    pub fn deletable_ids(&self, n: usize) -> Vec<String> {
        let state = self.emu.lock();
        let caller = self.emu.config.project_id.as_deref();
        (0..self.emu.seeded_len())
            .filter(|i| !state.deleted.contains(i))
            .map(|i| self.emu.seeded(&state, i))
            .filter(|img| !img.protected && Filters::default().matches(img, caller))
            .take(n)
            .map(|img| img.id)
            .collect()
    }

    /// The id of a protected seeded image, if any.
    pub fn protected_id(&self) -> Option<String> {
        (self.emu.seeded_len() > 4).then(|| seeded_id(4))
    }

    /// A well-formed id of no image.
    pub fn missing_id(&self) -> String {
        seeded_id(MAX_SEEDED)
    }

    /// Adds (or replaces) an image; it is listed by its `created_at`.
    pub fn insert(&self, mut image: GlanceImage) {
        image.id = image.id.to_ascii_lowercase();
        let mut state = self.emu.lock();
        if let Some(i) = self.emu.live_seeded(&state, &image.id) {
            state.deleted.insert(i);
        }
        state.inserted.retain(|_, img| img.id != image.id);
        state.inserted.insert(image.key(), image);
    }

    /// Changes an image in place (its id and creation time stay); whether
    /// it was there.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut GlanceImage)) -> bool {
        let id = id.to_ascii_lowercase();
        let mut state = self.emu.lock();
        if let Some(i) = self.emu.live_seeded(&state, &id) {
            let mut image = self.emu.seeded(&state, i);
            change(&mut image);
            image.id = seeded_id(i);
            image.created_at = seeded_image(i).created_at;
            state.patched.insert(i, image);
            return true;
        }
        let Some(key) = state
            .inserted
            .iter()
            .find(|(_, img)| img.id == id)
            .map(|(k, _)| k.clone())
        else {
            return false;
        };
        if let Some(image) = state.inserted.get_mut(&key) {
            change(image);
            image.id = key.id.clone();
            if let Some(t) = DateTime::from_timestamp_micros(key.micros) {
                image.created_at = t;
            }
        }
        true
    }

    /// Removes an image without a delete call (catalog churn); whether it
    /// was there.
    pub fn delete(&self, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        let mut state = self.emu.lock();
        if let Some(i) = self.emu.live_seeded(&state, &id) {
            state.deleted.insert(i);
            state.patched.remove(&i);
            return true;
        }
        let before = state.inserted.len();
        state.inserted.retain(|_, img| img.id != id);
        state.inserted.len() != before
    }

    /// Expires every issued token now (the static token stays valid).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for deadline in self.emu.lock().tokens.values_mut() {
            *deadline = now;
        }
    }

    /// How many tokens were issued.
    pub fn issued_tokens(&self) -> u64 {
        self.emu.lock().issued
    }

    /// How many token requests (v2.0 and v3) were received.
    pub fn token_request_count(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/tokens"))
            .count()
    }

    /// Serves this body with this status and content type for the next
    /// image request (list, show or delete), before any check. Queued
    /// answers are served in order.
    pub fn push_response(&self, status: u16, content_type: &str, body: impl Into<String>) {
        self.emu.lock().canned.push_back(Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.into().into_bytes(),
        });
    }

    /// How many image requests (list, show, delete) reached the handlers.
    pub fn image_request_count(&self) -> u64 {
        self.emu.image_requests.load(Ordering::SeqCst)
    }

    /// A counter of the image requests that reached the handlers, which
    /// outlives borrows (for the conformance fixture).
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

    #[test]
    fn seeded_ids_encode_their_index() {
        for i in [0, 1, 59, 2_499, MAX_SEEDED] {
            assert_eq!(seeded_index(&seeded_id(i)), Some(i));
            assert!(uuid::Uuid::try_parse(&seeded_id(i)).is_ok());
        }
        assert_eq!(seeded_index("9a1ace00-0000-4000-8000-00000000000g"), None);
        assert!(seeded_key(1) > seeded_key(0));
    }

    #[test]
    fn filter_operators_as_glance_reads_them() {
        assert_eq!(filter_values("web").unwrap(), ["web"]);
        assert_eq!(filter_values("eq:a:b").unwrap(), ["a:b"]);
        assert_eq!(filter_values("in:a,\"b\"").unwrap(), ["a", "b"]);
        assert!(filter_values("a:b").is_err());
    }
}

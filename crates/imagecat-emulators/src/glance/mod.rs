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
//!   `os_hidden`, `created_at`/`updated_at` with `lt:`/`lte:`/`gt:`/`gte:`/
//!   `eq:`/`neq:`, `tag` (repeatable, all must match), and any
//!   other parameter as a custom-property filter; the core-attribute
//!   filters (`filters.rs`), `sort=k:dir,…` and repeated `sort_key`/
//!   `sort_dir` (`golden.rs`);
//!   without `visibility`, community images are listed only when owned by
//!   the caller's project, and hidden images (`os_hidden`) never;
//! - projects (`projects.rs`): each token stands for a [`GlanceCaller`]
//!   (member or admin); list, show, delete and markers follow Glance's
//!   visibility rules;
//! - writes (`write.rs`, `members.rs`): `POST /v2/images`, `PUT …/file`,
//!   `PATCH` (JSON patch), tags, members;
//! - image actions (`actions.rs`): deactivate and reactivate;
//! - `GET /` and unversioned paths: 300 with the versions document built
//!   from `Host` (`protocol.rs`); `x-openstack-request-id` on every `/v2`
//!   answer. What still differs: `docs/fidelity/glance.md`;
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
//!   `X-Subject-Token`; `GET /identity` and `/identity/v3` for version
//!   discovery), for one or more users ([`KeystoneUser`]) whose issued
//!   tokens carry the user's roles (admin, or a member of its project),
//!   and whose service catalogs point at this emulator for
//!   the configured region (plus a second region that points nowhere); a
//!   missing, unknown or expired token is 401 in keystonemiddleware's form.
//!
//! The data of seeded image `i` is derived from `i` (its UUID encodes it),
//! so a catalog of any size costs nothing until listed, and each page is
//! O(page size) plus the images its filters skip. Changes made while the
//! emulator runs (insert, update, delete) are a small overlay.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use self::actions::*;
pub use self::data::seeded_id;
use self::data::*;
use self::filters::*;
use self::golden::*;
use self::handlers::*;
use self::members::*;
use self::nova::*;
pub use self::nova::{CinderVolume, NovaServer, ServerBoot, VolumeFault, seeded_server_id};
pub use self::projects::GlanceCaller;
use self::projects::*;
use self::protocol::*;
use self::wire::*;
use self::write::*;
use crate::Counter;
pub use crate::instances::RefSpelling;
use crate::seed::splitmix64;
use crate::server::{
    Canned, EmulatorServer, ServeOptions, encode_query_value, json_bytes_response, normalize_base,
};

/// The `Ok` value of a handler's step, or returns from the handler the
/// answer its `Err` holds (a `Response`, boxed or not).
macro_rules! or_answer {
    ($step:expr) => {
        match $step {
            Ok(value) => value,
            Err(answer) => return *Box::<Response>::from(answer),
        }
    };
}

mod actions;
mod data;
mod filters;
mod golden;
mod handlers;
mod members;
mod nova;
mod projects;
mod protocol;
#[cfg(test)]
mod tests;
mod wire;
mod write;

/// The prefix of every seeded image id; the last 12 hex digits are the index.
const SEEDED_PREFIX: &str = "9a1ace00-0000-4000-8000-";
/// The largest index a seeded id can encode.
const MAX_SEEDED: u64 = 0xffff_ffff_fffe;
/// Creation time of seeded image 0 (2021-01-01T00:00:00Z); image `i` is `i` seconds later.
const EPOCH: i64 = 1_609_459_200;
/// keystonemiddleware's message for a refused token.
const KEYSTONE_401: &str = "The request you have made requires authentication.";

/// The static token the emulator accepts by default (`X-Auth-Token`, `OS_TOKEN`).
pub const TOKEN: &str = "glance-emulator-token";
/// The caller's project by default (owner of its images and servers).
pub const PROJECT_ID: &str = "emu-project";
/// The default Keystone user's name ([`KeystoneUser::default`]).
pub const KEYSTONE_USERNAME: &str = "demo";
/// A token `imagecat emulate glance` accepts for a member (no admin role)
/// of [`PROJECT_ID`], beside the admin's [`TOKEN`].
pub const MEMBER_TOKEN: &str = "glance-emulator-member-token";
/// The default Keystone user's password ([`KeystoneUser::default`]).
pub const KEYSTONE_PASSWORD: &str = "emulator-password";

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
    /// Whether the user holds the `admin` role: its tokens see and change
    /// every project's images. Otherwise a member (roles `member` and
    /// `reader`) of its project, whom Glance shows public images, the
    /// project's own, images shared with it and accepted, and community
    /// images only when asked. Default true (the emulator's operator).
    pub admin: bool,
}

impl KeystoneUser {
    /// The roles its tokens carry: `admin`, `member` and `reader` for an
    /// admin (Keystone's implied roles), `member` and `reader` otherwise.
    pub fn roles(&self) -> &'static [&'static str] {
        if self.admin {
            &["admin", "member", "reader"]
        } else {
            &["member", "reader"]
        }
    }

    /// Who its tokens stand for in the image API.
    pub fn caller(&self) -> GlanceCaller {
        GlanceCaller {
            project: Some(self.project_id.clone()),
            admin: self.admin,
        }
    }
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

impl Default for KeystoneUser {
    fn default() -> Self {
        KeystoneUser {
            username: KEYSTONE_USERNAME.into(),
            password: KEYSTONE_PASSWORD.into(),
            project_id: PROJECT_ID.into(),
            project_name: "demo-project".into(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            app_credential: None,
            admin: true,
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
    /// More Keystone users (each with its own password, project and
    /// roles); the identity endpoints accept any of them and `keystone`.
    pub more_keystone_users: Vec<KeystoneUser>,
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
    /// More tokens, each standing for a project member or an admin (the
    /// static token stands for an admin of `project_id`; a Keystone-issued
    /// token for its user, [`KeystoneUser::caller`]).
    pub project_tokens: Vec<(String, GlanceCaller)>,
    /// How many seeded Nova servers (see `nova.rs`). Default 0.
    pub instances: u64,
}

impl Default for GlanceEmulatorConfig {
    fn default() -> Self {
        GlanceEmulatorConfig {
            images: 60,
            base_path: String::new(),
            token: Some(TOKEN.into()),
            keystone: None,
            more_keystone_users: Vec::new(),
            region: "RegionOne".into(),
            token_ttl: Duration::from_secs(3600),
            project_id: Some(PROJECT_ID.into()),
            default_limit: 25,
            max_limit: 1000,
            ignore_marker: false,
            project_tokens: Vec::new(),
            instances: 0,
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

    /// Also accepts this Keystone user (the identity endpoints are enabled
    /// by any user).
    pub fn keystone_user(mut self, user: KeystoneUser) -> Self {
        self.more_keystone_users.push(user);
        self
    }

    /// Every Keystone user the identity endpoints accept.
    pub fn keystone_users(&self) -> impl Iterator<Item = &KeystoneUser> {
        self.keystone.iter().chain(&self.more_keystone_users)
    }

    /// Sets the lifetime of issued tokens.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Accepts `token` as standing for `caller`.
    pub fn project_token(mut self, token: impl Into<String>, caller: GlanceCaller) -> Self {
        self.project_tokens.push((token.into(), caller));
        self
    }

    /// Sets the number of seeded Nova servers.
    pub fn instances(mut self, n: u64) -> Self {
        self.instances = n;
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
    /// Tags.
    pub tags: Vec<String>,
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
            checksum: Some(format!(
                "{:032x}",
                splitmix64(now.timestamp_micros() as u64)
            )),
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            properties: BTreeMap::new(),
            tags: Vec::new(),
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
        doc.insert("tags".into(), json!(self.tags));
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
            image_requests: Counter::default(),
            nova: Nova::default(),
        });
        emu.seed_servers();
        let router = Router::new()
            .route(
                &format!("{base}/v2/images"),
                get(list_images).post(create_image),
            )
            .route(
                &format!("{base}/v2/images/{{id}}"),
                get(show_image).delete(delete_image).patch(patch_image),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/file"),
                put(upload_image).layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/actions/deactivate"),
                post(deactivate_image),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/actions/reactivate"),
                post(reactivate_image),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/tags/{{tag}}"),
                put(put_tag).delete(delete_tag),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/members"),
                get(list_members).post(add_member),
            )
            .route(
                &format!("{base}/v2/images/{{id}}/members/{{member}}"),
                get(show_member).put(update_member).delete(delete_member),
            )
            .route(&format!("{COMPUTE_PATH}/servers/detail"), get(list_servers))
            .route("/volume/v3/{project}/volumes/{id}", get(show_volume))
            .route(&format!("{base}/versions"), get(versions))
            .route("/identity/v2.0/tokens", post(keystone_v2))
            .route("/identity/v3/auth/tokens", post(keystone_v3))
            .route("/identity", get(keystone_versions))
            .route("/identity/", get(keystone_versions))
            .route("/identity/v3", get(keystone_v3_version))
            .route("/identity/v3/", get(keystone_v3_version));
        let router = router
            .fallback(unversioned)
            .layer(axum::middleware::map_response(request_id))
            .with_state(Arc::clone(&emu));
        let hostile = options.hostile.map(|h| h.records()).unwrap_or_default();
        let server = EmulatorServer::start_with(router, options).await?;
        let _ = emu.endpoint.set(format!("{}{base}", server.base_url()));
        let started = GlanceEmulator { server, emu };
        for record in hostile {
            let mut image = GlanceImage::new(&record.uuid, record.name);
            image.status = record.text.clone();
            image.owner = Some(record.text.clone());
            image.properties.insert("description".into(), record.text);
            started.insert(image);
        }
        Ok(started)
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
        self.emu.modify(&mut self.emu.lock(), &id, change)
    }

    /// Removes an image without a delete call (catalog churn), as a purge
    /// of the database would: even an admin's marker naming it is then a
    /// 400; whether it was there.
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
            .count_requests(|r| r.method == "POST" && r.path.ends_with("/tokens"))
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
        self.emu.image_requests.get()
    }

    /// A counter of the image requests that reached the handlers, which
    /// outlives borrows (for the conformance fixture).
    pub fn image_request_counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        self.emu.image_requests.reader()
    }
}

crate::impl_emulator!(
    GlanceEmulator,
    "glance",
    |this| GlanceEmulator::catalog_url(this)
);

//! Nova's `GET {compute}/servers/detail` and Cinder's
//! `GET {volume}/volumes/{id}`, as the Glance emulator serves them next to
//! the image API (the Keystone catalogs list them as `compute` and
//! `volumev3`):
//!
//! - servers are sorted by `created` then `id`, both descending; `limit`
//!   (a non-negative integer, else 400) defaults to and is clamped to
//!   `max_limit` (1000); `marker` is the last id seen (an unknown one is
//!   400 `marker [ID] not found`); `servers_links` with `rel: next`
//!   (absolute, keeping the other parameters) is given when the page is
//!   full, so a full last page is followed by an empty one;
//! - `image` is an exact match on the image id (volume-booted servers,
//!   whose `image` is `""`, never match a UUID); `status` exact;
//!   `all_tenants` (`1/t/true/on/y/yes`) lists every project's servers for
//!   an admin token and is 403 in Nova's policy wording otherwise; without
//!   it only the caller's project is listed; `DELETED` servers are listed
//!   only with `changes-since`; other parameters are ignored, as Nova does;
//! - a server's `image` is `{"id", "links"}`, `""` when booted from a
//!   volume, or absent (a down-cell record);
//! - volumes carry `volume_image_metadata.image_id` when made from an
//!   image; a volume of another project is 404 for a non-admin, as Cinder
//!   scopes it;
//! - fault modes: a [`RefSpelling`] for every server's image (upper case,
//!   whitespace, a link string, `{links}` without `id`), and a
//!   [`VolumeFault`] (bootable volumes without image metadata, as a Cinder
//!   policy hides it; every volume read forbidden);
//! - errors are Nova's and Cinder's `{"badRequest": {"code", "message"}}`
//!   family.

use std::sync::atomic::AtomicBool;

use super::*;
use crate::instances::RefSpelling;

/// How the emulated Cinder misbehaves when a volume is read (a fault
/// mode; the volumes themselves do not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VolumeFault {
    /// Volumes are served as they are.
    #[default]
    None,
    /// Bootable volumes are served without `volume_image_metadata` (a
    /// policy that hides it, or a volume made without an image).
    HiddenMetadata,
    /// Every volume read is 403, as for a volume the caller may not read.
    Forbidden,
}

impl VolumeFault {
    /// Every fault with its name, as `imagecat emulate --volume-fault`
    /// takes it.
    pub const NAMES: [(&'static str, VolumeFault); 3] = [
        ("none", VolumeFault::None),
        ("hidden-metadata", VolumeFault::HiddenMetadata),
        ("forbidden", VolumeFault::Forbidden),
    ];

    /// The fault of this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// The path of the compute endpoint (the `compute` catalog entry).
pub(super) const COMPUTE_PATH: &str = "/compute/v2.1";
/// The prefix of seeded server ids; the last 12 hex digits are the index.
const SERVER_PREFIX: &str = "5e7e0000-0000-4000-8000-";
/// The prefix of seeded volume ids.
const VOLUME_PREFIX: &str = "0b0e0000-0000-4000-8000-";
/// Nova's `[api]max_limit`.
const MAX_LIMIT: usize = 1000;

/// What a server boots from, as the emulator serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerBoot {
    /// `image: {"id": …}`.
    Image(String),
    /// `image: ""` and this root volume in `volumes_attached`.
    Volume(String),
    /// No `image` key at all (a record from a down cell).
    Missing,
}

/// One Nova server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovaServer {
    /// The UUID.
    pub id: String,
    /// The name.
    pub name: String,
    /// Nova's status word (`ACTIVE`, `SHUTOFF`, `DELETED`…).
    pub status: String,
    /// The owning project.
    pub tenant_id: String,
    /// What it boots from.
    pub boot: ServerBoot,
    /// Creation time (the sort key).
    pub created: DateTime<Utc>,
    /// Last change (what `changes-since` compares).
    pub updated: DateTime<Utc>,
}

impl NovaServer {
    /// An `ACTIVE` server of the default project booted from `image`,
    /// created now.
    pub fn new(id: impl Into<String>, image: impl Into<String>) -> Self {
        let now = Utc::now();
        let id = id.into();
        NovaServer {
            name: format!("server-{}", id.chars().take(8).collect::<String>()),
            id,
            status: "ACTIVE".into(),
            tenant_id: "emu-project".into(),
            boot: ServerBoot::Image(image.into()),
            created: now,
            updated: now,
        }
    }

    /// Sets the status (builder style).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// Sets the project (builder style).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = tenant.into();
        self
    }

    /// Sets what it boots from (builder style).
    pub fn boot(mut self, boot: ServerBoot) -> Self {
        self.boot = boot;
        self
    }

    fn to_json(&self, compute: &str, spelling: RefSpelling) -> Value {
        let link = |rel: &str, href: String| json!({"rel": rel, "href": href});
        let links = json!([
            link("self", format!("{compute}/servers/{}", self.id)),
            link("bookmark", format!("{compute}/servers/{}", self.id)),
        ]);
        if self.boot == ServerBoot::Missing {
            // A down-cell record: only what the API database knows.
            return json!({"id": self.id, "status": "UNKNOWN", "tenant_id": self.tenant_id,
                          "created": stamp(&self.created), "links": links});
        }
        let (image, volumes) = match &self.boot {
            ServerBoot::Image(id) => {
                let links = json!([link("bookmark", format!("{compute}/images/{id}"))]);
                let image = match spelling {
                    RefSpelling::Link => json!(spelling.spell(id, compute)),
                    RefSpelling::LinkObject => json!({ "links": links }),
                    other => json!({"id": other.spell(id, compute), "links": links}),
                };
                (image, json!([]))
            }
            ServerBoot::Volume(v) => (
                json!(""),
                json!([{"id": v, "delete_on_termination": false}]),
            ),
            ServerBoot::Missing => (Value::Null, json!([])),
        };
        let (vm_state, power) = match self.status.as_str() {
            "ACTIVE" => ("active", 1),
            "SHUTOFF" => ("stopped", 4),
            "SHELVED_OFFLOADED" => ("shelved_offloaded", 4),
            "ERROR" => ("error", 0),
            "DELETED" => ("deleted", 0),
            _ => ("active", 1),
        };
        json!({
            "id": self.id, "name": self.name, "status": self.status,
            "tenant_id": self.tenant_id, "user_id": "emu-user",
            "metadata": {}, "hostId": format!("{:056x}", splitmix64(self.created.timestamp() as u64)),
            "image": image,
            "flavor": {"id": "1", "links": [link("bookmark", format!("{compute}/flavors/1"))]},
            "created": stamp(&self.created), "updated": stamp(&self.updated),
            "addresses": {}, "accessIPv4": "", "accessIPv6": "", "links": links,
            "OS-DCF:diskConfig": "MANUAL", "progress": 0,
            "OS-EXT-AZ:availability_zone": "nova", "config_drive": "", "key_name": null,
            "OS-SRV-USG:launched_at": self.created.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            "OS-SRV-USG:terminated_at": null,
            "OS-EXT-STS:task_state": null, "OS-EXT-STS:vm_state": vm_state,
            "OS-EXT-STS:power_state": power,
            "os-extended-volumes:volumes_attached": volumes,
            "security_groups": [{"name": "default"}],
        })
    }

    fn key(&self) -> (i64, String) {
        (self.created.timestamp_micros(), self.id.clone())
    }
}

/// One Cinder volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CinderVolume {
    /// The UUID.
    pub id: String,
    /// The owning project.
    pub tenant_id: String,
    /// The image it was made from (`volume_image_metadata.image_id`).
    pub image_id: Option<String>,
    /// The server it is attached to.
    pub server_id: Option<String>,
}

impl CinderVolume {
    /// A volume of the default project, made from `image` when given.
    pub fn new(id: impl Into<String>, image: Option<&str>) -> Self {
        CinderVolume {
            id: id.into(),
            tenant_id: "emu-project".into(),
            image_id: image.map(str::to_owned),
            server_id: None,
        }
    }

    fn to_json(&self, admin: bool, fault: VolumeFault) -> Value {
        let attachments: Vec<Value> = self
            .server_id
            .iter()
            .map(|s| json!({"server_id": s, "attachment_id": format!("{:032x}", splitmix64(self.id.len() as u64)),
                            "volume_id": self.id, "device": "/dev/vda", "id": self.id, "host_name": null}))
            .collect();
        let mut doc = json!({
            "id": self.id, "name": format!("vol-{}", self.id.chars().take(8).collect::<String>()),
            "status": if attachments.is_empty() { "available" } else { "in-use" },
            "size": 10, "availability_zone": "nova", "created_at": "2021-01-01T00:00:00.000000",
            "updated_at": null, "description": null, "volume_type": "__DEFAULT__",
            "snapshot_id": null, "source_volid": null, "metadata": {}, "multiattach": false,
            "bootable": if self.image_id.is_some() { "true" } else { "false" },
            "encrypted": false, "user_id": "emu-user", "attachments": attachments,
            "links": [],
        });
        if let Some(image) = self
            .image_id
            .as_ref()
            .filter(|_| fault != VolumeFault::HiddenMetadata)
        {
            doc["volume_image_metadata"] = json!({
                "image_id": image, "image_name": "emulated", "checksum": "0", "min_ram": "0",
                "min_disk": "0", "size": "1024", "disk_format": "qcow2", "container_format": "bare",
            });
        }
        if admin {
            doc["os-vol-tenant-attr:tenant_id"] = json!(self.tenant_id);
        }
        doc
    }
}

/// The compute and block-storage state of the emulator.
#[derive(Debug, Default)]
pub(super) struct Nova {
    /// Whether tokens carry the admin role (all_tenants allowed).
    pub(super) admin: AtomicBool,
    state: Mutex<NovaState>,
}

#[derive(Debug, Default)]
struct NovaState {
    /// Servers by sort key.
    servers: BTreeMap<(i64, String), NovaServer>,
    volumes: HashMap<String, CinderVolume>,
    canned: VecDeque<Canned>,
    spelling: RefSpelling,
    volume_fault: VolumeFault,
}

/// The id of seeded server `i`.
pub fn seeded_server_id(i: u64) -> String {
    format!("{SERVER_PREFIX}{i:012x}")
}

/// Seeded server `i` of a catalog of `images` images in project `own`, and
/// its root volume when it boots from one. Statuses cycle through ACTIVE,
/// SHUTOFF, SHELVED_OFFLOADED, ERROR and DELETED; every fourth server is
/// another project's; every fifth boots from a volume, half of them made
/// from an image and half blank.
pub(super) fn seeded_server(i: u64, images: u64, own: &str) -> (NovaServer, Option<CinderVolume>) {
    let status = [
        "ACTIVE",
        "SHUTOFF",
        "ACTIVE",
        "SHELVED_OFFLOADED",
        "ERROR",
        "ACTIVE",
        "DELETED",
    ][(i % 7) as usize];
    let tenant = if i % 4 == 3 { "project-b" } else { own };
    let image = (images > 0).then(|| seeded_id(splitmix64(i) % images));
    let t = DateTime::from_timestamp(EPOCH + i as i64, 0).unwrap_or_default();
    let id = seeded_server_id(i);
    let (boot, volume) = match image {
        Some(image) if i % 5 != 4 => (ServerBoot::Image(image), None),
        image => {
            let vid = format!("{VOLUME_PREFIX}{i:012x}");
            let from = image.filter(|_| i % 10 == 4);
            let mut volume = CinderVolume::new(vid.clone(), from.as_deref());
            volume.tenant_id = tenant.to_owned();
            volume.server_id = Some(id.clone());
            (ServerBoot::Volume(vid), Some(volume))
        }
    };
    let server = NovaServer {
        name: format!("server-{i}"),
        id,
        status: status.into(),
        tenant_id: tenant.into(),
        boot,
        created: t,
        updated: t,
    };
    (server, volume)
}

/// Nova's and Cinder's error document (`badRequest`, `forbidden`,
/// `itemNotFound`…).
fn nova_error(status: u16, message: &str) -> Response {
    let key = match status {
        400 => "badRequest",
        403 => "forbidden",
        404 => "itemNotFound",
        409 => "conflictingRequest",
        _ => "computeFault",
    };
    json_response_bytes(
        status,
        &json!({ key: {"code": status, "message": message} }),
    )
}

fn json_response_bytes(status: u16, body: &Value) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

impl Nova {
    fn lock(&self) -> MutexGuard<'_, NovaState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seeds `n` servers (and their volumes).
    pub(super) fn seed(&self, n: u64, images: u64, own: &str) {
        let mut state = self.lock();
        for i in 0..n {
            let (server, volume) = seeded_server(i, images, own);
            if let Some(v) = volume {
                state.volumes.insert(v.id.clone(), v);
            }
            state.servers.insert(server.key(), server);
        }
    }

    fn is_admin(&self) -> bool {
        self.admin.load(Ordering::SeqCst)
    }
}

impl Emu {
    /// Seeds the configured servers.
    pub(super) fn seed_servers(&self) {
        self.nova.seed(
            self.config.instances,
            self.config.images,
            &self.own_project(),
        );
    }

    /// Adds the `compute` and `volumev3` entries to a token answer's
    /// catalog (`v3`: the v3 form, else v2.0's).
    pub(super) fn add_usage_services(&self, catalog: Option<&mut Value>, v3: bool) {
        let Some(Value::Array(catalog)) = catalog else {
            return;
        };
        let region = &self.config.region;
        for (kind, name, url) in self.usage_services() {
            let endpoint = if v3 {
                json!({"interface": "public", "region": region, "region_id": region, "url": url})
            } else {
                json!({"region": region, "publicURL": url})
            };
            catalog.push(json!({"type": kind, "name": name, "endpoints": [endpoint]}));
        }
    }

    /// A queued canned answer, or the 401 of a refused token.
    fn compute_gate(&self, headers: &HeaderMap) -> Option<Response> {
        if let Some(c) = self.nova.lock().canned.pop_front() {
            return Some(c.into_response());
        }
        self.check_auth(&self.lock(), headers)
    }

    fn compute_endpoint(&self) -> String {
        format!("{}{COMPUTE_PATH}", self.server_root())
    }

    /// `http://127.0.0.1:PORT`, without the image base path.
    pub(super) fn server_root(&self) -> String {
        let endpoint = self.endpoint();
        endpoint
            .strip_suffix(self.config.base_path.as_str())
            .unwrap_or(&endpoint)
            .to_owned()
    }

    /// The caller's project.
    fn own_project(&self) -> String {
        self.config
            .keystone
            .as_ref()
            .map(|u| u.project_id.clone())
            .or_else(|| self.config.project_id.clone())
            .unwrap_or_else(|| "emu-project".into())
    }

    /// The `compute` and `volumev3` entries of a service catalog, as
    /// `(type, name, url)`.
    pub(super) fn usage_services(&self) -> [(&'static str, &'static str, String); 2] {
        let root = self.server_root();
        [
            ("compute", "nova", format!("{root}{COMPUTE_PATH}")),
            (
                "volumev3",
                "cinderv3",
                format!("{root}/volume/v3/{}", self.own_project()),
            ),
        ]
    }
}

/// Whether Nova reads this `all_tenants` value as true (`None`: invalid).
fn truthy(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

pub(super) async fn list_servers(
    State(emu): State<Arc<Emu>>,
    query: Result<Pairs, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = emu.compute_gate(&headers) {
        return answer;
    }
    let Ok(Query(pairs)) = query else {
        return nova_error(400, "Invalid query string");
    };
    let mut limit = MAX_LIMIT;
    let (mut marker, mut image, mut status, mut since) = (None, None, None, None);
    let mut all = false;
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) => limit = n.min(MAX_LIMIT),
                Err(_) => {
                    return nova_error(
                        400,
                        &format!(
                            "Invalid input for query parameters limit. Value: {value}. '{value}' does not match '^[0-9]*$'"
                        ),
                    );
                }
            },
            "marker" => marker = Some(value.clone()),
            "image" | "image_ref" => image = Some(value.clone()),
            "status" => status = Some(value.to_ascii_uppercase()),
            "all_tenants" => match truthy(value) {
                Some(yes) => all = yes,
                None => {
                    return nova_error(
                        400,
                        &format!("Invalid input for query parameters all_tenants. Value: {value}."),
                    );
                }
            },
            "changes-since" => match DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
                        .map(|t| t.and_utc())
                }) {
                Ok(t) => since = Some(t),
                Err(_) => {
                    return nova_error(
                        400,
                        &format!(
                            "Invalid input for query parameters changes-since. Value: {value}."
                        ),
                    );
                }
            },
            _ => {}
        }
    }
    if all && !emu.nova.is_admin() {
        return nova_error(
            403,
            "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.",
        );
    }
    let own = emu.own_project();
    let state = emu.nova.lock();
    let visible = |s: &&NovaServer| {
        (all || s.tenant_id == own)
            && image.as_ref().is_none_or(|i| match &s.boot {
                ServerBoot::Image(id) => id == i,
                ServerBoot::Volume(_) => i.is_empty(),
                ServerBoot::Missing => false,
            })
            && status.as_ref().is_none_or(|st| *st == s.status)
            && match since {
                Some(t) => s.updated >= t,
                None => s.status != "DELETED",
            }
    };
    let upper = match &marker {
        None => None,
        Some(m) => match state.servers.values().find(|s| &s.id == m) {
            Some(s) => Some(s.key()),
            None => return nova_error(400, &format!("marker [{m}] not found")),
        },
    };
    let range = match &upper {
        None => state.servers.range(..),
        Some(k) => state.servers.range(..k.clone()),
    };
    let page: Vec<&NovaServer> = range
        .rev()
        .map(|(_, s)| s)
        .filter(visible)
        .take(limit)
        .collect();
    let compute = emu.compute_endpoint();
    let mut body = Map::new();
    body.insert(
        "servers".into(),
        Value::Array(
            page.iter()
                .map(|s| s.to_json(&compute, state.spelling))
                .collect(),
        ),
    );
    if let (Some(last), true) = (page.last(), limit > 0 && page.len() == limit) {
        let mut next: Vec<(String, String)> =
            pairs.into_iter().filter(|(k, _)| k != "marker").collect();
        if !next.iter().any(|(k, _)| k == "limit") {
            next.insert(0, ("limit".into(), limit.to_string()));
        }
        next.push(("marker".into(), last.id.clone()));
        body.insert(
            "servers_links".into(),
            json!([{"rel": "next", "href": format!("{compute}/servers/detail?{}", urlencode(&next))}]),
        );
    }
    json_response_bytes(200, &Value::Object(body))
}

pub(super) async fn show_volume(
    State(emu): State<Arc<Emu>>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = emu.compute_gate(&headers) {
        return answer;
    }
    let admin = emu.nova.is_admin();
    let own = emu.own_project();
    if project != own {
        return nova_error(403, "Policy doesn't allow volume:get to be performed.");
    }
    let state = emu.nova.lock();
    if state.volume_fault == VolumeFault::Forbidden {
        return nova_error(403, "Policy doesn't allow volume:get to be performed.");
    }
    match state.volumes.get(&id) {
        Some(v) if admin || v.tenant_id == own => json_response_bytes(
            200,
            &json!({"volume": v.to_json(admin, state.volume_fault)}),
        ),
        _ => nova_error(404, &format!("Volume {id} could not be found.")),
    }
}

impl GlanceEmulator {
    /// The compute endpoint (`compute` in the Keystone catalogs):
    /// `http://127.0.0.1:PORT/compute/v2.1`.
    pub fn compute_endpoint(&self) -> String {
        self.emu.compute_endpoint()
    }

    /// The block-storage endpoint (`volumev3`):
    /// `http://127.0.0.1:PORT/volume/v3/{project}`.
    pub fn volume_endpoint(&self) -> String {
        let [_, (_, _, volume)] = self.emu.usage_services();
        volume
    }

    /// The catalog URL for the facade with the compute and block-storage
    /// endpoints as `compute=` and `volume=` (for a static token, which has
    /// no service catalog to name them).
    pub fn usage_catalog_url(&self) -> String {
        format!(
            "{}?compute={}&volume={}",
            self.catalog_url(),
            encode_query_value(&self.compute_endpoint()),
            encode_query_value(&self.volume_endpoint())
        )
    }

    /// Whether tokens carry the admin role: `all_tenants` is allowed and
    /// other projects' volumes are readable. Off by default.
    pub fn set_admin(&self, admin: bool) {
        self.emu.nova.admin.store(admin, Ordering::SeqCst);
    }

    /// Spells every server's image this way from now on (a fault mode;
    /// the catalog's ids do not change).
    pub fn set_ref_spelling(&self, spelling: RefSpelling) {
        self.emu.nova.lock().spelling = spelling;
    }

    /// Makes volume reads misbehave this way from now on.
    pub fn set_volume_fault(&self, fault: VolumeFault) {
        self.emu.nova.lock().volume_fault = fault;
    }

    /// Adds (or replaces) a server.
    pub fn insert_server(&self, server: NovaServer) {
        let mut state = self.emu.nova.lock();
        state.servers.retain(|_, s| s.id != server.id);
        state.servers.insert(server.key(), server);
    }

    /// Changes a server in place (its id and creation time stay); whether
    /// it was there.
    pub fn update_server(&self, id: &str, change: impl FnOnce(&mut NovaServer)) -> bool {
        let mut state = self.emu.nova.lock();
        match state.servers.values_mut().find(|s| s.id == id) {
            Some(server) => {
                let (created, id) = (server.created, server.id.clone());
                change(server);
                server.created = created;
                server.id = id;
                server.updated = server.updated.max(Utc::now());
                true
            }
            None => false,
        }
    }

    /// Removes every server (and volume), seeded ones included.
    pub fn clear_servers(&self) {
        let mut state = self.emu.nova.lock();
        state.servers.clear();
        state.volumes.clear();
    }

    /// Adds (or replaces) a volume.
    pub fn insert_volume(&self, volume: CinderVolume) {
        self.emu
            .nova
            .lock()
            .volumes
            .insert(volume.id.clone(), volume);
    }

    /// Removes a volume (its server keeps naming it); whether it was there.
    pub fn remove_volume(&self, id: &str) -> bool {
        self.emu.nova.lock().volumes.remove(id).is_some()
    }

    /// Every server, deleted ones included, in listing order.
    pub fn servers(&self) -> Vec<NovaServer> {
        self.emu
            .nova
            .lock()
            .servers
            .values()
            .rev()
            .cloned()
            .collect()
    }

    /// The volume of this id, if any.
    pub fn volume(&self, id: &str) -> Option<CinderVolume> {
        self.emu.nova.lock().volumes.get(id).cloned()
    }

    /// Serves this body with this status and content type for the next
    /// compute or volume request, before any check.
    pub fn push_compute_response(&self, status: u16, content_type: &str, body: impl Into<String>) {
        self.emu.nova.lock().canned.push_back(Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.into().into_bytes(),
        });
    }

    /// How many compute and volume requests were received.
    pub fn compute_request_count(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.starts_with(COMPUTE_PATH) || r.path.starts_with("/volume/"))
            .count()
    }
}

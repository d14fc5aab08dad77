//! A small Compute v1 API for the GCE usage tests (feature `gce-fake`):
//! images (list, get, `getFromFamily`, `getIamPolicy`, delete answered by
//! a `DONE` Operation) and the aggregated lists of disks, instances,
//! instance templates and managed instance groups, in the documents of the
//! GCE reference (§3, §6.1, §12: ids as decimal strings, links on
//! `www.googleapis.com`, `items` a map of scopes, empty scopes warned
//! `NO_RESULTS_ON_PAGE`, `unreachables[]`), served on loopback through
//! the emulators' server (so every request is logged). It stands in for
//! `imagecat emulate gce` until that serves these resources; it implements
//! only what the usage scan and the clean-up read.
//!
//! Faults, as data on [`GceWorld`]: scopes reported unreachable, one page
//! of one collection answered 403, templates that cannot be read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use imagecat_emulators::server::{EmulatorServer, json_response};
use serde_json::{Value, json};

/// Where self links point, as on the real API.
pub const LINK_BASE: &str = "https://www.googleapis.com/compute/v1/";

/// The bearer token the fake accepts (any non-empty one, in fact; this is
/// the one tests pass).
pub const TOKEN: &str = "ya29.fake-usage-token";

/// The full link of a resource path.
pub fn link(path: &str) -> String {
    format!("{LINK_BASE}{path}")
}

/// Everything the fake serves, changed by the test between requests.
#[derive(Debug, Default)]
pub struct GceWorld {
    /// The project.
    pub project: String,
    /// The images, in name order.
    pub images: BTreeMap<String, Value>,
    /// Scope (`zones/Z`, `regions/R`, `global`) → collection → items.
    pub items: BTreeMap<String, BTreeMap<&'static str, Vec<Value>>>,
    /// Scopes every aggregated list reports in `unreachables[]`.
    pub unreachable: Vec<String>,
    /// Scopes every aggregated list answers with an `UNREACHABLE` warning
    /// in place of their items.
    pub warned_unreachable: Vec<String>,
    /// `(collection, page index)` answered 403 `forbidden`.
    pub forbidden_page: Option<(String, usize)>,
    /// IAM policies by image name (none: an empty policy).
    pub policies: HashMap<String, Value>,
    /// Template paths whose `get` answers 403.
    pub unreadable_templates: BTreeSet<String>,
    /// Every zone the world knows (each empty zone is a warned scope).
    pub zones: Vec<String>,
    next_id: u64,
}

impl GceWorld {
    /// An empty project.
    pub fn new(project: &str) -> Self {
        GceWorld {
            project: project.to_owned(),
            next_id: 1_403_374_394_217_470_000,
            ..GceWorld::default()
        }
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Adds an image; `created` is the RFC 3339 time, `family` and a
    /// deprecation state optional. Returns its numeric id.
    pub fn image(
        &mut self,
        name: &str,
        created: &str,
        family: Option<&str>,
        deprecated: Option<&str>,
    ) -> String {
        let id = self.id();
        let path = format!("projects/{}/global/images/{name}", self.project);
        let mut image = json!({
            "kind": "compute#image", "id": id, "creationTimestamp": created, "name": name,
            "description": "", "sourceType": "RAW", "status": "READY",
            "archiveSizeBytes": "1234567890", "diskSizeGb": "10",
            "labelFingerprint": "42WmSpB8rSM=", "storageLocations": ["us"],
            "architecture": "X86_64", "selfLink": link(&path),
        });
        if let Some(family) = family {
            image["family"] = family.into();
        }
        if let Some(state) = deprecated {
            image["deprecated"] = json!({ "state": state });
        }
        self.images.insert(name.to_owned(), image);
        id
    }

    fn push(&mut self, scope: &str, collection: &'static str, item: Value) {
        self.items
            .entry(scope.to_owned())
            .or_default()
            .entry(collection)
            .or_default()
            .push(item);
    }

    /// Adds a disk in `scope` (`zones/Z` or `regions/R`) made from
    /// `source_image` (any spelling) with `source_image_id`, attached to
    /// `users` (instance names in the same zone).
    pub fn disk(
        &mut self,
        scope: &str,
        name: &str,
        source_image: Option<&str>,
        source_image_id: Option<&str>,
        users: &[&str],
    ) {
        let id = self.id();
        let path = format!("projects/{}/{scope}/disks/{name}", self.project);
        let users: Vec<String> = users
            .iter()
            .map(|u| link(&format!("projects/{}/{scope}/instances/{u}", self.project)))
            .collect();
        let mut disk = json!({
            "kind": "compute#disk", "id": id, "name": name, "sizeGb": "10", "status": "READY",
            "creationTimestamp": "2026-10-02T10:00:00.000-07:00", "selfLink": link(&path),
            "type": link(&format!("projects/{}/{scope}/diskTypes/pd-balanced", self.project)),
        });
        if let Some(s) = source_image {
            disk["sourceImage"] = s.into();
        }
        if let Some(s) = source_image_id {
            disk["sourceImageId"] = s.into();
        }
        if !users.is_empty() {
            disk["users"] = users.into();
        }
        self.push(scope, "disks", disk);
    }

    /// Adds an instance in `zone` (`zones/Z`) booting from disk
    /// `boot_disk` of the same zone.
    pub fn instance(&mut self, zone: &str, name: &str, boot_disk: &str, status: &str) {
        let id = self.id();
        let p = self.project.clone();
        let instance = json!({
            "kind": "compute#instance", "id": id, "name": name, "status": status,
            "selfLink": link(&format!("projects/{p}/{zone}/instances/{name}")),
            "zone": link(&format!("projects/{p}/{zone}")),
            "disks": [{ "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
                        "boot": true, "deviceName": "persistent-disk-0", "index": 0,
                        "source": link(&format!("projects/{p}/{zone}/disks/{boot_disk}")) }],
        });
        self.push(zone, "instances", instance);
    }

    /// Adds an instance template in `scope` (`global` or `regions/R`)
    /// whose disks are created from `source_images` (any spelling, a
    /// family included).
    pub fn template(&mut self, scope: &str, name: &str, source_images: &[&str]) {
        let id = self.id();
        let path = format!("projects/{}/{scope}/instanceTemplates/{name}", self.project);
        let disks: Vec<Value> = source_images
            .iter()
            .enumerate()
            .map(|(k, s)| {
                json!({ "boot": k == 0, "autoDelete": true, "type": "PERSISTENT",
                        "initializeParams": { "sourceImage": s, "diskSizeGb": "10" } })
            })
            .collect();
        let mut template = json!({
            "kind": "compute#instanceTemplate", "id": id, "name": name,
            "creationTimestamp": "2026-10-03T10:00:00.000-07:00", "selfLink": link(&path),
            "properties": { "machineType": "e2-small", "disks": disks },
        });
        if scope != "global" {
            template["region"] = link(&format!("projects/{}/{scope}", self.project)).into();
        }
        self.push(scope, "instanceTemplates", template);
    }

    /// Adds a managed instance group in `scope` (`zones/Z` or
    /// `regions/R`) whose versions name `templates` (resource paths or
    /// links).
    pub fn group(&mut self, scope: &str, name: &str, templates: &[&str]) {
        let id = self.id();
        let path = format!(
            "projects/{}/{scope}/instanceGroupManagers/{name}",
            self.project
        );
        let versions: Vec<Value> = templates
            .iter()
            .map(|t| json!({ "instanceTemplate": t }))
            .collect();
        let mut group = json!({
            "kind": "compute#instanceGroupManager", "id": id, "name": name,
            "selfLink": link(&path), "targetSize": 2, "versions": versions,
        });
        if let Some(first) = templates.first() {
            group["instanceTemplate"] = (*first).into();
        }
        self.push(scope, "instanceGroupManagers", group);
    }

    /// The family's current image: the newest READY one not deprecated.
    fn family_head(&self, family: &str) -> Option<&Value> {
        self.images
            .values()
            .filter(|i| i["family"] == family && i["status"] == "READY")
            .filter(|i| {
                i.get("deprecated")
                    .is_none_or(|d| d["state"] == "ACTIVE" || d["state"].is_null())
            })
            .max_by(|a, b| {
                let at = |i: &Value| {
                    chrono::DateTime::parse_from_rfc3339(
                        i["creationTimestamp"].as_str().unwrap_or_default(),
                    )
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_default()
                };
                at(a).cmp(&at(b))
            })
    }

    fn find_template(&self, path: &str) -> Option<&Value> {
        self.items
            .values()
            .filter_map(|c| c.get("instanceTemplates"))
            .flatten()
            .find(|t| t["selfLink"].as_str() == Some(link(path).as_str()))
    }
}

/// The fake, served.
#[derive(Debug)]
pub struct GceFake {
    /// The server (its request log).
    pub server: EmulatorServer,
    /// The world it serves; change it between requests.
    pub world: Arc<Mutex<GceWorld>>,
}

impl GceFake {
    /// Serves `world` on loopback.
    pub async fn start(world: GceWorld) -> std::io::Result<Self> {
        let world = Arc::new(Mutex::new(world));
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&world));
        Ok(GceFake {
            server: EmulatorServer::start(router).await?,
            world,
        })
    }

    /// The Compute v1 base, `http://127.0.0.1:PORT/compute/v1/`.
    pub fn endpoint(&self) -> String {
        format!("{}/compute/v1/", self.server.base_url())
    }

    /// The `gce+http://` URL of the project.
    pub fn url(&self) -> String {
        let addr = self.server.addr();
        let project = self
            .world
            .lock()
            .map(|w| w.project.clone())
            .unwrap_or_default();
        format!("gce+http://{addr}?project={project}")
    }

    /// How many requests named this path suffix (`aggregated/disks`…).
    pub fn requests_to(&self, suffix: &str) -> usize {
        self.server.count_requests(|r| r.path.ends_with(suffix))
    }
}

fn error(code: u16, reason: &str, message: &str) -> Response {
    json_response(
        code,
        &json!({"error": {"code": code, "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

fn not_found(path: &str) -> Response {
    error(
        404,
        "notFound",
        &format!("The resource '{path}' was not found"),
    )
}

fn query_of(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn handle(State(world): State<Arc<Mutex<GceWorld>>>, request: Request) -> Response {
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > "Bearer ".len() && v.starts_with("Bearer "));
    if !authorized {
        return error(
            401,
            "authError",
            "Request had invalid authentication credentials.",
        );
    }
    let query = query_of(&request);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut world = world.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rest) = path.strip_prefix("/compute/v1/") else {
        return not_found(&path);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let project = world.project.clone();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["projects", p, "global", "images"]) if *p == project => {
            list_images(&world, &query)
        }
        ("GET", ["projects", p, "global", "images", "family", family]) if *p == project => {
            match world.family_head(family) {
                Some(image) => json_response(200, image),
                None => not_found(&format!("projects/{p}/global/images/family/{family}")),
            }
        }
        ("GET", ["projects", p, "global", "images", name, "getIamPolicy"]) if *p == project => {
            if !world.images.contains_key(*name) {
                return not_found(&format!("projects/{p}/global/images/{name}"));
            }
            let policy = world
                .policies
                .get(*name)
                .cloned()
                .unwrap_or_else(|| json!({"etag": "ACAB"}));
            json_response(200, &policy)
        }
        ("GET", ["projects", p, "global", "images", name]) if *p == project => {
            match world.images.get(*name) {
                Some(image) => json_response(200, image),
                None => not_found(&format!("projects/{p}/global/images/{name}")),
            }
        }
        ("DELETE", ["projects", p, "global", "images", name]) if *p == project => {
            let target = format!("projects/{p}/global/images/{name}");
            if world.images.remove(*name).is_none() {
                return not_found(&target);
            }
            let op = format!("operation-1733579400000-{}", world.id());
            json_response(
                200,
                &json!({"kind": "compute#operation", "id": world.id(), "name": op,
                        "operationType": "delete", "targetLink": link(&target), "status": "DONE",
                        "progress": 100,
                        "selfLink": link(&format!("projects/{p}/global/operations/{op}"))}),
            )
        }
        ("GET", ["projects", p, "aggregated", collection]) if *p == project => {
            aggregated(&world, collection, &query)
        }
        ("GET", ["projects", p, .., "instanceTemplates", _]) if *p == project => {
            let wanted = rest.to_owned();
            if world.unreadable_templates.contains(&wanted) {
                return error(
                    403,
                    "forbidden",
                    &format!("Required 'compute.instanceTemplates.get' permission for '{wanted}'"),
                );
            }
            match world.find_template(&wanted) {
                Some(t) => json_response(200, t),
                None => not_found(&wanted),
            }
        }
        // another project: the caller holds no permission there
        (_, ["projects", p, ..]) if *p != project => error(
            403,
            "forbidden",
            &format!("Required 'compute.images.get' permission for '{rest}'"),
        ),
        _ => not_found(rest),
    }
}

/// A page's size and offset from `maxResults` and `pageToken` (the token
/// is the offset, as text: opaque enough for the client).
fn window(query: &HashMap<String, String>) -> Result<(usize, usize), Box<Response>> {
    let size = match query.get("maxResults").map(|m| m.parse::<usize>()) {
        None => 500,
        Some(Ok(n)) if n <= 500 => n.max(1),
        Some(_) => {
            return Err(Box::new(error(
                400,
                "invalid",
                "Invalid value for field 'maxResults'",
            )));
        }
    };
    let from = match query
        .get("pageToken")
        .map(|t| t.strip_prefix("o").unwrap_or("x").parse::<usize>())
    {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return Err(Box::new(error(
                400,
                "invalid",
                "Invalid value for field 'pageToken'",
            )));
        }
    };
    Ok((size, from))
}

fn list_images(world: &GceWorld, query: &HashMap<String, String>) -> Response {
    let (size, from) = match window(query) {
        Ok(w) => w,
        Err(e) => return *e,
    };
    let all: Vec<&Value> = world.images.values().collect();
    let page: Vec<&Value> = all.iter().skip(from).take(size).copied().collect();
    let mut body = json!({"kind": "compute#imageList",
                          "id": format!("projects/{}/global/images", world.project),
                          "selfLink": link(&format!("projects/{}/global/images", world.project))});
    if !page.is_empty() {
        body["items"] = page.into_iter().cloned().collect::<Vec<_>>().into();
    }
    if from + size < all.len() {
        body["nextPageToken"] = format!("o{}", from + size).into();
    }
    json_response(200, &body)
}

fn aggregated(world: &GceWorld, collection: &str, query: &HashMap<String, String>) -> Response {
    let (size, from) = match window(query) {
        Ok(w) => w,
        Err(e) => return *e,
    };
    if let Some((c, page)) = &world.forbidden_page {
        if c == collection && from / size.max(1) == *page {
            return error(
                403,
                "forbidden",
                &format!(
                    "Required 'compute.{collection}.list' permission for 'projects/{}'",
                    world.project
                ),
            );
        }
    }
    let all: Vec<(&String, &Value)> = world
        .items
        .iter()
        .flat_map(|(scope, c)| {
            c.get(collection)
                .into_iter()
                .flatten()
                .map(move |v| (scope, v))
        })
        .collect();
    let mut scopes: BTreeMap<String, Value> = BTreeMap::new();
    for (scope, item) in all.iter().skip(from).take(size) {
        let entry = scopes
            .entry((*scope).clone())
            .or_insert_with(|| json!({ collection: [] }));
        if let Some(list) = entry[collection].as_array_mut() {
            list.push((*item).clone());
        }
    }
    for scope in &world.warned_unreachable {
        scopes.insert(
            scope.clone(),
            json!({"warning": {"code": "UNREACHABLE",
                   "message": format!("Scope '{scope}' is unreachable."),
                   "data": [{"key": "scope", "value": scope}]}}),
        );
    }
    for zone in &world.zones {
        scopes.entry(zone.clone()).or_insert_with(|| {
            json!({"warning": {"code": "NO_RESULTS_ON_PAGE",
                   "message": format!("There are no results for scope '{zone}' on this page."),
                   "data": [{"key": "scope", "value": zone}]}})
        });
    }
    let kind = match collection {
        "disks" => "compute#diskAggregatedList",
        "instances" => "compute#instanceAggregatedList",
        "instanceTemplates" => "compute#instanceTemplateAggregatedList",
        _ => "compute#instanceGroupManagerAggregatedList",
    };
    let mut body = json!({"kind": kind, "id": format!("projects/{}/aggregated/{collection}", world.project),
                          "items": scopes,
                          "selfLink": link(&format!("projects/{}/aggregated/{collection}", world.project))});
    if from + size < all.len() {
        body["nextPageToken"] = format!("o{}", from + size).into();
    }
    if !world.unreachable.is_empty() {
        body["unreachables"] = world.unreachable.clone().into();
    }
    json_response(200, &body)
}

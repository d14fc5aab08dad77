//! Emulator of the Google Compute Engine v1 API for images and the
//! resources that use them, as the discovery document (rev 20261106) and
//! the real clients describe it (`docs/fidelity/gce.md` says, call by call,
//! what the emulator does and which real client checked it):
//!
//! - images (`handlers.rs`, `data.rs`): `list` (`maxResults` 0–500, 0 the
//!   default 500; an opaque `pageToken` bound to the filter and order it
//!   was made for; name order, or `orderBy=creationTimestamp desc`; `filter`
//!   with `orderBy` is 400 as GCE answers it), `get` by name or numeric
//!   id, `getFromFamily` (the newest READY image of the family whose
//!   deprecation state is absent or ACTIVE; a tie goes to the larger id),
//!   `delete`, `deprecate`, `setLabels` (labelFingerprint, 412
//!   `conditionNotMet`), `patch` (family, description, deprecation),
//!   `insert`, `getIamPolicy` and `imageFamilyViews.get`; every write answers
//!   a global Operation (`operations.rs`), DONE at once unless
//!   [`GceEmulatorConfig::operation_polls`] says how many reads see it
//!   RUNNING first, DONE with `error` when a failure was scripted;
//!   `requestId` makes a retried write answer its first Operation;
//! - the filter grammar (`filter.rs`): the regex dialect gcloud sends
//!   (`field eq|ne literal`, full-match RE2, parenthesised conjunctions) and
//!   the AIP-160 subset (`=`, `!=`, `:`, `:*`, `AND`, `OR`, `NOT`,
//!   parentheses, nested fields such as `labels.team`), never mixed;
//! - what uses images (`usage.rs`): disks (zonal and regional, with
//!   `sourceImage` while the image exists and `sourceImageId` always),
//!   instances (their boot disk as `disks[].source`), instance templates
//!   (global and regional, `properties.disks[].initializeParams.sourceImage`
//!   as written, family URLs included) and instance group managers
//!   (`versions[].instanceTemplate`), each as `aggregatedList` (a scope map
//!   paged across scopes, `NO_RESULTS_ON_PAGE` and `UNREACHABLE` warnings,
//!   `unreachables[]`) and per zone or region; `zones` and `regions` lists;
//! - the bearer token (`Authorization: Bearer …`, 401 in Google's error
//!   document), 403 `forbidden` on writes to a public image project, 404
//!   `notFound` with GCE's messages, errors scripted ahead
//!   ([`GceEmulator::push_error`], e.g. 403 `rateLimitExceeded`), a
//!   concurrent label writer that makes the next `setLabels`' fingerprint
//!   stale ([`GceEmulator::relabel_before_next_set_labels`]), and the
//!   shared fault modes and request log of [`crate::server`];
//! - where tokens come from (`auth.rs`): `POST /token` (the JWT-bearer
//!   and refresh-token grants) and the metadata server
//!   (`/computeMetadata/v1/…` with `Metadata-Flavor: Google`), each
//!   issuing a token the API then accepts;
//! - `POST /batch/compute/v1` (`batch.rs`): Google's multipart batch, which
//!   gcloud sends when one command makes several requests.
//!
//! Seeded data (`data.rs`): [`GceEmulatorConfig::images`] images in the
//! own project spread over [`GceEmulatorConfig::families`] families, some
//! deprecated or obsolete, labelled, a few shared through IAM; the public
//! image projects ([`GceEmulatorConfig::public_projects`]) with three
//! images of one family each, read-only; generated disks, instances,
//! templates and group managers when asked; and anything a test adds
//! ([`GceEmulator::add_image`], [`GceEmulator::add_disk`], …).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use chrono::{DateTime, TimeZone, Utc};

use self::data::State;
use crate::server::{EmulatorServer, ServeOptions};

mod auth;
mod batch;
mod data;
mod filter;
mod handlers;
mod operations;
#[cfg(test)]
mod tests;
mod usage;
mod wire;

pub use self::filter::{Filter, FilterError};

/// The bearer token the emulator accepts by default
/// (`GOOGLE_OAUTH_ACCESS_TOKEN`, `CLOUDSDK_AUTH_ACCESS_TOKEN`).
pub const TOKEN: &str = "ya29.gce-emulator-token";
/// The refresh token the emulator's token endpoint accepts (an
/// authorized-user credentials file's `refresh_token`).
pub const REFRESH_TOKEN: &str = "1//gce-emulator-refresh-token";
/// The own project by default.
pub const PROJECT: &str = "emu-project";
/// The base of every `selfLink` by default, as Google writes them (not the
/// host that was called).
pub const SELF_LINK_BASE: &str = "https://www.googleapis.com/compute/v1/";
/// The public image projects gcloud lists beside the user's own (its
/// `PUBLIC_IMAGE_PROJECTS`): always there, read-only, empty unless also in
/// [`GceEmulatorConfig::public_projects`].
pub const STANDARD_IMAGE_PROJECTS: [&str; 17] = [
    "cos-cloud",
    "debian-cloud",
    "rocky-linux-cloud",
    "ubuntu-os-cloud",
    "centos-cloud",
    "fedora-coreos-cloud",
    "opensuse-cloud",
    "oracle-linux-cloud",
    "rhel-cloud",
    "rhel-sap-cloud",
    "rocky-linux-accelerator-cloud",
    "suse-cloud",
    "suse-sap-cloud",
    "ubuntu-os-accelerator-images",
    "ubuntu-os-pro-cloud",
    "windows-cloud",
    "windows-sql-cloud",
];
/// The label fingerprint of an empty label set, as GCE writes it.
pub const EMPTY_LABEL_FINGERPRINT: &str = "42WmSpB8rSM=";
/// The most items a list page holds (`maxResults` 0–500).
pub const MAX_RESULTS: u32 = 500;
/// Creation time of seeded image 0 (2024-01-01T00:00:00Z); image `i` is
/// `i` hours later.
const EPOCH: i64 = 1_704_067_200;

/// What the emulator serves.
#[derive(Debug, Clone)]
pub struct GceEmulatorConfig {
    /// The own project (writable), where seeded images live. Default `emu-project`.
    pub project: String,
    /// More writable projects, each a near copy of the own project's
    /// seeded images (for diffs between projects): image `i` is missing
    /// when `i % 5 == 2`, recreated (another id) when `i % 7 == 1`,
    /// labelled `env=staging` when `i % 6 == 0`; no usage resources.
    pub more_projects: Vec<String>,
    /// Public image projects: listed and read by anyone, refused (403) to
    /// writes. Default `debian-cloud`.
    pub public_projects: Vec<String>,
    /// How many seeded images the own project holds. Default 24.
    pub images: u64,
    /// Over how many families (`family-0` …) the seeded images spread; 0:
    /// none has a family. Default 4.
    pub families: u64,
    /// Seed of the generated ids.
    pub seed: u64,
    /// Bearer tokens accepted (besides those `/token` and the metadata
    /// server issue); empty: no token is checked (anonymous mode).
    pub tokens: Vec<String>,
    /// Whether a self-signed service-account JWT (RS256, `aud` the Compute
    /// service or a `scope`, unexpired; the signature not verified) is
    /// accepted as a bearer token, as Google accepts the ones its generated
    /// clients make from a key file. Default true.
    pub self_signed_jwt: bool,
    /// The base of `selfLink`s. Default [`SELF_LINK_BASE`].
    pub self_link_base: String,
    /// How many reads (`operations.get` or `wait`) see a write's Operation
    /// RUNNING before it is DONE; 0 (default): DONE at once (the Python
    /// client's poller ignores the endpoint override, so it must not poll).
    pub operation_polls: u32,
    /// The zones. Default `us-central1-a`, `us-central1-b`, `europe-west1-b`.
    pub zones: Vec<String>,
    /// The regions. Default `us-central1`, `europe-west1`.
    pub regions: Vec<String>,
    /// Generated disks in the own project: disk `i` in zone `i % zones`,
    /// from seeded image `(7 i) % images`. Default 0.
    pub disks: u64,
    /// Generated instances: instance `j` boots from disk `j` (at most
    /// `disks`). Default 0.
    pub instances: u64,
    /// Generated instance templates: template `t` names family
    /// `family-(t % families)` when `t` is even, seeded image `t` when odd;
    /// odd ones are regional. Default 0.
    pub templates: u64,
    /// Generated instance group managers: manager `g` uses template `g`.
    /// Default 0.
    pub groups: u64,
}

impl Default for GceEmulatorConfig {
    fn default() -> Self {
        GceEmulatorConfig {
            project: PROJECT.into(),
            more_projects: Vec::new(),
            public_projects: vec!["debian-cloud".into()],
            images: 24,
            families: 4,
            seed: 0,
            tokens: vec![TOKEN.into()],
            self_signed_jwt: true,
            self_link_base: SELF_LINK_BASE.into(),
            operation_polls: 0,
            zones: vec![
                "us-central1-a".into(),
                "us-central1-b".into(),
                "europe-west1-b".into(),
            ],
            regions: vec!["us-central1".into(), "europe-west1".into()],
            disks: 0,
            instances: 0,
            templates: 0,
            groups: 0,
        }
    }
}

impl GceEmulatorConfig {
    /// This many seeded images.
    pub fn images(mut self, n: u64) -> Self {
        self.images = n;
        self
    }

    /// No token checked (anonymous clients accepted).
    pub fn anonymous(mut self) -> Self {
        self.tokens.clear();
        self
    }

    /// Generated usage: disks, instances, templates and group managers.
    pub fn usage(mut self, disks: u64, instances: u64, templates: u64, groups: u64) -> Self {
        self.disks = disks;
        self.instances = instances;
        self.templates = templates;
        self.groups = groups;
        self
    }
}

/// A deprecation status (`DeprecationStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deprecation {
    /// `DEPRECATED`, `OBSOLETE` or `DELETED` (`ACTIVE` clears).
    pub state: String,
    /// The replacement image's URL.
    pub replacement: Option<String>,
    /// The informational `deprecated` time (RFC3339).
    pub deprecated: Option<String>,
    /// The informational `obsolete` time (RFC3339).
    pub obsolete: Option<String>,
    /// The informational `deleted` time (RFC3339).
    pub deleted: Option<String>,
}

/// One IAM binding of an image's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceBinding {
    /// The role, e.g. `roles/compute.imageUser`.
    pub role: String,
    /// The members, e.g. `user:a@example.com`, `allAuthenticatedUsers`.
    pub members: Vec<String>,
}

/// An image to seed or add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceImage {
    /// The name (RFC1035).
    pub name: String,
    /// The numeric id; `None`: generated.
    pub id: Option<u64>,
    /// The family.
    pub family: Option<String>,
    /// The description.
    pub description: String,
    /// `PENDING`, `READY`, `FAILED` or `DELETING`.
    pub status: String,
    /// The creation time.
    pub created: DateTime<Utc>,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The deprecation status.
    pub deprecated: Option<Deprecation>,
    /// `diskSizeGb`.
    pub disk_size_gb: u64,
    /// `archiveSizeBytes`.
    pub archive_size_bytes: u64,
    /// `X86_64`, `ARM64`, or none.
    pub architecture: Option<String>,
    /// `storageLocations`.
    pub storage_locations: Vec<String>,
    /// The IAM policy's bindings.
    pub bindings: Vec<GceBinding>,
}

impl GceImage {
    /// A READY x86-64 image of 10 GB stored in `us`, without family or labels.
    pub fn new(name: impl Into<String>, created: DateTime<Utc>) -> Self {
        GceImage {
            name: name.into(),
            id: None,
            family: None,
            description: String::new(),
            status: "READY".into(),
            created,
            labels: BTreeMap::new(),
            deprecated: None,
            disk_size_gb: 10,
            archive_size_bytes: 1_234_567_890,
            architecture: Some("X86_64".into()),
            storage_locations: vec!["us".into()],
            bindings: Vec::new(),
        }
    }

    /// A READY image created `hours` after 2024-01-01T00:00:00Z.
    pub fn at_hour(name: impl Into<String>, hours: i64) -> Self {
        let created = Utc
            .timestamp_opt(EPOCH + hours * 3600, 0)
            .single()
            .unwrap_or_default();
        Self::new(name, created)
    }

    /// In this family.
    pub fn family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    /// With this label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// With this status (`PENDING`, `READY`, `FAILED`).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// With this numeric id.
    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// Deprecated in this state, with this replacement URL.
    pub fn deprecated(mut self, state: &str, replacement: Option<&str>) -> Self {
        self.deprecated = Some(Deprecation {
            state: state.into(),
            replacement: replacement.map(str::to_owned),
            ..Deprecation::default()
        });
        self
    }

    /// Shared: `member` holds `role` on it.
    pub fn shared(mut self, role: &str, member: &str) -> Self {
        self.bindings.push(GceBinding {
            role: role.into(),
            members: vec![member.into()],
        });
        self
    }
}

/// Where a zonal or regional resource lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GceScope {
    /// A zone, e.g. `us-central1-a`.
    Zone(String),
    /// A region, e.g. `us-central1`.
    Region(String),
}

impl GceScope {
    /// The aggregated list's key: `zones/Z` or `regions/R`.
    pub fn key(&self) -> String {
        match self {
            GceScope::Zone(z) => format!("zones/{z}"),
            GceScope::Region(r) => format!("regions/{r}"),
        }
    }
}

/// A persistent disk (zonal or regional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceDisk {
    /// The name.
    pub name: String,
    /// Its zone or region.
    pub scope: GceScope,
    /// The image it was created from, as `(project, name)`; the disk's
    /// `sourceImage` is written while an image of that name and of
    /// `source_image_id` exists, as GCE does.
    pub source_image: Option<(String, String)>,
    /// `sourceImageId`; `None` with `source_image`: the image's id when added.
    pub source_image_id: Option<u64>,
    /// The size in GB.
    pub size_gb: u64,
}

impl GceDisk {
    /// A 10 GB disk in `zone` created from image `name` of `project`.
    pub fn from_image(name: &str, zone: &str, project: &str, image: &str) -> Self {
        GceDisk {
            name: name.into(),
            scope: GceScope::Zone(zone.into()),
            source_image: Some((project.into(), image.into())),
            source_image_id: None,
            size_gb: 10,
        }
    }

    /// A blank disk (no source image).
    pub fn blank(name: &str, scope: GceScope) -> Self {
        GceDisk {
            name: name.into(),
            scope,
            source_image: None,
            source_image_id: None,
            size_gb: 10,
        }
    }
}

/// A VM instance, booting from a disk of its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceInstance {
    /// The name.
    pub name: String,
    /// Its zone.
    pub zone: String,
    /// The name of its boot disk (in the same zone).
    pub boot_disk: String,
    /// `RUNNING`, `TERMINATED`, …
    pub status: String,
}

/// An instance template (global, or regional when `region` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceTemplate {
    /// The name.
    pub name: String,
    /// Its region; `None`: global.
    pub region: Option<String>,
    /// `properties.disks[0].initializeParams.sourceImage`, as written: a
    /// full or partial image URL, or a family (`…/global/images/family/F`).
    pub source_image: String,
}

/// A managed instance group (zonal or regional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GceGroupManager {
    /// The name.
    pub name: String,
    /// Its zone or region.
    pub scope: GceScope,
    /// The template URL (`instanceTemplate` and `versions[0].instanceTemplate`).
    pub template: String,
    /// `targetSize`.
    pub target_size: u32,
}

/// A running GCE emulator; stops when dropped.
#[derive(Debug)]
pub struct GceEmulator {
    server: EmulatorServer,
    state: Arc<Mutex<State>>,
    project: String,
}

crate::impl_emulator!(GceEmulator, "gce", |this| this
    .catalog_url_for(&this.project));

impl GceEmulator {
    /// Starts the emulator as `config` and `options` say.
    pub async fn start(config: GceEmulatorConfig, options: ServeOptions) -> std::io::Result<Self> {
        let project = config.project.clone();
        let hostile = options.hostile.map(|h| h.records()).unwrap_or_default();
        let state = Arc::new(Mutex::new(State::seeded(config, &hostile)));
        let router: Router = handlers::router(Arc::clone(&state));
        let server = EmulatorServer::start_with(router, options).await?;
        Ok(GceEmulator {
            server,
            state,
            project,
        })
    }

    /// Starts the default emulator (24 images, token [`TOKEN`]).
    pub async fn start_default() -> std::io::Result<Self> {
        Self::start(GceEmulatorConfig::default(), ServeOptions::default()).await
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Compute v1 base: `http://127.0.0.1:PORT/compute/v1/` (what
    /// `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE` is set to).
    pub fn endpoint(&self) -> String {
        format!("{}/compute/v1/", self.server.base_url())
    }

    /// The own project's catalog URL: `gce+http://127.0.0.1:PORT?project=P`.
    pub fn catalog_url(&self) -> String {
        self.catalog_url_for(&self.project)
    }

    /// The catalog URL of a project: `gce+http://127.0.0.1:PORT?project=P`.
    pub fn catalog_url_for(&self, project: &str) -> String {
        format!("gce+http://{}?project={project}", self.server.addr())
    }

    /// The own project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Adds (or replaces) an image in `project` (created when unknown, writable).
    pub fn add_image(&self, project: &str, image: GceImage) {
        self.state().add_image(project, image);
    }

    /// Adds a disk to `project`.
    pub fn add_disk(&self, project: &str, disk: GceDisk) {
        self.state().add_disk(project, disk);
    }

    /// Adds an instance to `project`.
    pub fn add_instance(&self, project: &str, instance: GceInstance) {
        self.state().project_mut(project).instances.push(instance);
    }

    /// Adds an instance template to `project`.
    pub fn add_template(&self, project: &str, template: GceTemplate) {
        self.state().project_mut(project).templates.push(template);
    }

    /// Adds an instance group manager to `project`.
    pub fn add_group_manager(&self, project: &str, manager: GceGroupManager) {
        self.state().project_mut(project).groups.push(manager);
    }

    /// Removes every disk, instance, template and group manager of `project`.
    pub fn clear_usage(&self, project: &str) {
        let mut state = self.state();
        let p = state.project_mut(project);
        p.disks.clear();
        p.instances.clear();
        p.templates.clear();
        p.groups.clear();
    }

    /// The images the direct DELETEs received so far name, as
    /// `projects/P/global/images/N` (the adapter's image ids), in order
    /// (a batch's parts are not in the request log).
    pub fn deleted_images(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .filter_map(|r| {
                let rest = r.path.strip_prefix("/compute/v1/")?;
                let parts: Vec<&str> = rest.split('/').collect();
                match parts.as_slice() {
                    ["projects", p, "global", "images", n] => {
                        Some(format!("projects/{p}/global/images/{n}"))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The names of `project`'s images, in name order.
    pub fn image_names(&self, project: &str) -> Vec<String> {
        self.state()
            .projects
            .get(project)
            .map(|p| p.images.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The image document (`compute#image`) GCE would answer, if it exists.
    pub fn image_json(&self, project: &str, name: &str) -> Option<serde_json::Value> {
        let state = self.state();
        let image = state.projects.get(project)?.images.get(name)?;
        Some(wire::image(&state.links, image))
    }

    /// Scopes whose resources aggregated lists cannot reach: listed in
    /// `unreachables[]` and warned `UNREACHABLE`, their items left out.
    pub fn set_unreachable(&self, scopes: &[&str]) {
        self.state().unreachable = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    /// How many reads see the next writes' Operations RUNNING.
    pub fn set_operation_polls(&self, polls: u32) {
        self.state().operation_polls = polls;
    }

    /// The next `n` image list pages come back empty, each with a
    /// `nextPageToken` that resumes where it began (a client must page
    /// until the token is absent, whatever a page holds).
    pub fn set_empty_pages(&self, n: u32) {
        self.state().empty_pages = n;
    }

    /// The next image delete fails: its Operation ends DONE with this
    /// error (HTTP status, reason, message) and the image stays.
    pub fn fail_next_delete(&self, http_status: u16, reason: &str, message: &str) {
        self.state()
            .delete_failures
            .push_back(operations::OpError::new(http_status, reason, message));
    }

    /// A concurrent writer: just before the next `setLabels` is read, the
    /// image gets the label `key` = `value` (and so a new fingerprint: a
    /// request carrying the one read before is refused 412, as Google
    /// refuses it). Each call covers one `setLabels`.
    pub fn relabel_before_next_set_labels(&self, key: &str, value: &str) {
        self.state()
            .relabels
            .push_back((key.to_owned(), value.to_owned()));
    }

    /// The next request (after the fault modes) is answered with this
    /// error document instead (e.g. 403 `rateLimitExceeded`).
    pub fn push_error(&self, status: u16, reason: &str, message: &str) {
        self.state()
            .injected
            .push_back(operations::OpError::new(status, reason, message));
    }
}

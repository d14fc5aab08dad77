//! The emulator's data: projects, their images and operations, and what
//! uses images (disks, instances, templates, group managers); seeding.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{TimeZone, Utc};

use super::operations::{OpError, Operation};
use super::{
    Deprecation, GceBinding, GceDisk, GceEmulatorConfig, GceGroupManager, GceImage, GceInstance,
    GceScope, GceTemplate,
};
use crate::hostile::HostileRecord;
use crate::seed::splitmix64;

/// An image as stored: the seed's fields plus what the server owns.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) project: String,
    pub(crate) id: u64,
    pub(crate) spec: GceImage,
}

impl Image {
    /// Whether `getFromFamily` may answer it: READY and not deprecated
    /// (no deprecation status, or ACTIVE).
    pub(crate) fn family_candidate(&self) -> bool {
        self.spec.status == "READY"
            && self
                .spec
                .deprecated
                .as_ref()
                .is_none_or(|d| d.state == "ACTIVE")
    }
}

/// A disk as stored: where its source image was resolved.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    pub(crate) id: u64,
    pub(crate) spec: GceDisk,
}

/// One project.
#[derive(Debug, Default)]
pub(crate) struct Project {
    /// A public image project: read-only.
    pub(crate) public: bool,
    /// The images by name (the default list order).
    pub(crate) images: BTreeMap<String, Image>,
    /// The operations by name.
    pub(crate) operations: HashMap<String, Operation>,
    /// `requestId` → the operation it made.
    pub(crate) request_ids: HashMap<String, String>,
    pub(crate) disks: Vec<Disk>,
    pub(crate) instances: Vec<GceInstance>,
    pub(crate) templates: Vec<GceTemplate>,
    pub(crate) groups: Vec<GceGroupManager>,
}

/// How links are written.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    /// `https://www.googleapis.com/compute/v1/` (ends in `/`).
    pub(crate) base: String,
}

impl Links {
    /// `{base}projects/{project}/{rest}`.
    pub(crate) fn project(&self, project: &str, rest: &str) -> String {
        format!("{}projects/{project}/{rest}", self.base)
    }

    /// An image's `selfLink`.
    pub(crate) fn image(&self, project: &str, name: &str) -> String {
        self.project(project, &format!("global/images/{name}"))
    }

    /// A zonal or regional resource's link: `…/zones/Z/{kind}/{name}`.
    pub(crate) fn scoped(&self, project: &str, scope: &GceScope, kind: &str, name: &str) -> String {
        self.project(project, &format!("{}/{kind}/{name}", scope.key()))
    }
}

/// Everything the emulator holds.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) projects: BTreeMap<String, Project>,
    pub(crate) links: Links,
    pub(crate) tokens: Vec<String>,
    /// No token is checked (the configuration listed none).
    pub(crate) anonymous: bool,
    /// Self-signed service-account JWTs are accepted as bearer tokens.
    pub(crate) self_signed_jwt: bool,
    /// The own project (the metadata server names it).
    pub(crate) own_project: String,
    pub(crate) zones: Vec<String>,
    pub(crate) regions: Vec<String>,
    pub(crate) operation_polls: u32,
    pub(crate) unreachable: Vec<String>,
    pub(crate) delete_failures: VecDeque<OpError>,
    pub(crate) injected: VecDeque<OpError>,
    /// Labels another writer sets just before each next `setLabels` is
    /// read (so that its fingerprint is stale): one per call.
    pub(crate) relabels: VecDeque<(String, String)>,
    /// How many image list pages still come back empty (with a token).
    pub(crate) empty_pages: u32,
    /// The seed of generated ids; `sequence` counts what was generated.
    pub(crate) seed: u64,
    pub(crate) sequence: u64,
}

/// A generated uint64 id of 19 digits.
pub(crate) fn generated_id(seed: u64, n: u64) -> u64 {
    1_000_000_000_000_000_000 + splitmix64(seed ^ splitmix64(n)) % 8_000_000_000_000_000_000
}

/// The seeded image `i` of the own project (`images` is the link prefix of
/// its images, `…/projects/P/global/images/`).
pub(crate) fn seeded_image(i: u64, families: u64, images: &str) -> GceImage {
    let mut image = GceImage::at_hour(format!("image-{i:06}"), i as i64)
        .label("team", ["infra", "web", "data"][(i % 3) as usize])
        .label("env", if i % 2 == 0 { "prod" } else { "dev" });
    image.description = format!("seeded image {i}");
    image.disk_size_gb = 10 + i % 3 * 10;
    image.archive_size_bytes = 500_000_000 + i * 1_000;
    if i % 5 == 4 {
        image.architecture = Some("ARM64".into());
    }
    if families > 0 {
        image.family = Some(format!("family-{}", i % families));
    }
    match i % 10 {
        3 => {
            let replacement = format!("{images}image-{:06}", i + families.max(1));
            image.deprecated = Some(Deprecation {
                state: "DEPRECATED".into(),
                replacement: Some(replacement),
                ..Deprecation::default()
            });
        }
        7 => {
            image.deprecated = Some(Deprecation {
                state: "OBSOLETE".into(),
                ..Deprecation::default()
            });
        }
        _ => {}
    }
    if i % 23 == 11 {
        image.status = "PENDING".into();
    }
    if i % 11 == 4 {
        image = image.shared("roles/compute.imageUser", "user:partner@example.com");
    }
    image
}

/// The three images of a public image project `X-cloud`: family `X`, the
/// two older DEPRECATED with the newest as their replacement.
fn public_images(project: &str, base: &str) -> Vec<GceImage> {
    let stem = project.strip_suffix("-cloud").unwrap_or(project);
    let newest = format!("{stem}-v20260301");
    let link = format!("{base}projects/{project}/global/images/{newest}");
    (1..=3)
        .map(|month: i64| {
            let created = Utc
                .with_ymd_and_hms(2026, month as u32, 1, 0, 0, 0)
                .single()
                .unwrap_or_default();
            let mut image = GceImage::new(format!("{stem}-v20260{month}01"), created)
                .family(stem)
                .id(generated_id(
                    0x9b11c,
                    month as u64 + 1000 * stem.len() as u64,
                ));
            image.description = format!("{stem}, built 2026-0{month}-01");
            image.storage_locations = vec!["eu".into(), "us".into(), "asia".into()];
            image.bindings = vec![GceBinding {
                role: "roles/compute.imageUser".into(),
                members: vec!["allAuthenticatedUsers".into()],
            }];
            if month < 3 {
                image = image.deprecated("DEPRECATED", Some(&link));
            }
            image
        })
        .collect()
}

impl State {
    /// The state `config` seeds (and the hostile mode's images).
    pub(crate) fn seeded(config: GceEmulatorConfig, hostile: &[HostileRecord]) -> Self {
        let mut base = config.self_link_base.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        let mut state = State {
            projects: BTreeMap::new(),
            links: Links { base },
            tokens: config.tokens.clone(),
            anonymous: config.tokens.is_empty(),
            self_signed_jwt: config.self_signed_jwt,
            own_project: config.project.clone(),
            zones: config.zones.clone(),
            regions: config.regions.clone(),
            operation_polls: config.operation_polls,
            unreachable: Vec::new(),
            delete_failures: VecDeque::new(),
            relabels: VecDeque::new(),
            injected: VecDeque::new(),
            empty_pages: 0,
            seed: config.seed,
            sequence: 0,
        };
        let own = config.project.clone();
        state.project_mut(&own);
        let prefix = state.links.project(&own, "global/images/");
        for i in 0..config.images {
            let mut image = seeded_image(i, config.families, &prefix);
            image.id = Some(generated_id(config.seed, i));
            state.add_image(&own, image);
        }
        // Each more project: a near copy of the own one, for diffs.
        for (n, project) in config.more_projects.iter().enumerate() {
            state.project_mut(project);
            let prefix = state.links.project(project, "global/images/");
            for i in (0..config.images).filter(|i| i % 5 != 2) {
                let mut image = seeded_image(i, config.families, &prefix);
                let recreated = i % 7 == 1;
                let salt = if recreated { 0x2ec7 + n as u64 } else { 0 };
                image.id = Some(generated_id(config.seed ^ salt, i));
                if i % 6 == 0 {
                    image.labels.insert("env".into(), "staging".into());
                }
                state.add_image(project, image);
            }
        }
        for project in &config.public_projects {
            for image in public_images(project, &state.links.base.clone()) {
                state.add_image(project, image);
            }
            state.project_mut(project).public = true;
        }
        for project in super::STANDARD_IMAGE_PROJECTS {
            if project != own {
                state.project_mut(project).public = true;
            }
        }
        for (n, record) in hostile.iter().enumerate() {
            let mut image = GceImage::at_hour(record.name.clone(), -1 - n as i64);
            image.description = record.text.clone();
            image.family = Some(record.text.clone());
            image.labels.insert("hostile".into(), record.text.clone());
            state.add_image(&own, image);
        }
        state.generate_usage(&config);
        state
    }

    /// The generated disks, instances, templates and group managers.
    fn generate_usage(&mut self, config: &GceEmulatorConfig) {
        let own = config.project.clone();
        let zones = if self.zones.is_empty() {
            vec!["us-central1-a".to_owned()]
        } else {
            self.zones.clone()
        };
        let image = |i: u64| format!("image-{:06}", i % config.images.max(1));
        for i in 0..config.disks {
            let zone = &zones[(i % zones.len() as u64) as usize];
            let source = (config.images > 0).then(|| (own.clone(), image(7 * i)));
            let mut disk = GceDisk::blank(&format!("disk-{i:06}"), GceScope::Zone(zone.clone()));
            disk.source_image = source;
            self.add_disk(&own, disk);
        }
        for j in 0..config.instances.min(config.disks) {
            let zone = zones[(j % zones.len() as u64) as usize].clone();
            self.project_mut(&own).instances.push(GceInstance {
                name: format!("vm-{j:06}"),
                zone,
                boot_disk: format!("disk-{j:06}"),
                status: if j % 4 == 3 { "TERMINATED" } else { "RUNNING" }.into(),
            });
        }
        let region = self
            .regions
            .first()
            .cloned()
            .unwrap_or_else(|| "us-central1".into());
        for t in 0..config.templates {
            let regional = t % 2 == 1;
            let source_image = if t % 2 == 0 && config.families > 0 {
                format!(
                    "projects/{own}/global/images/family/family-{}",
                    t % config.families
                )
            } else {
                format!("global/images/{}", image(t))
            };
            self.project_mut(&own).templates.push(GceTemplate {
                name: format!("template-{t:04}"),
                region: regional.then(|| region.clone()),
                source_image,
            });
        }
        for g in 0..config.groups.min(config.templates) {
            let template = if g % 2 == 1 {
                self.links.project(
                    &own,
                    &format!("regions/{region}/instanceTemplates/template-{g:04}"),
                )
            } else {
                self.links
                    .project(&own, &format!("global/instanceTemplates/template-{g:04}"))
            };
            let zone = zones[0].clone();
            self.project_mut(&own).groups.push(GceGroupManager {
                name: format!("group-{g:04}"),
                scope: if g % 2 == 1 {
                    GceScope::Region(region.clone())
                } else {
                    GceScope::Zone(zone)
                },
                template,
                target_size: 2,
            });
        }
    }

    /// The project, created (writable, empty) when unknown.
    pub(crate) fn project_mut(&mut self, project: &str) -> &mut Project {
        self.projects.entry(project.to_owned()).or_default()
    }

    /// The next generated id.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.sequence += 1;
        generated_id(self.seed ^ 0x5eed_f1d5, self.sequence)
    }

    /// Adds or replaces an image.
    pub(crate) fn add_image(&mut self, project: &str, mut spec: GceImage) {
        let id = match spec.id {
            Some(id) => id,
            None => self.next_id(),
        };
        spec.id = Some(id);
        let image = Image {
            project: project.to_owned(),
            id,
            spec,
        };
        self.project_mut(project)
            .images
            .insert(image.spec.name.clone(), image);
    }

    /// Adds a disk, its source image's id resolved now when not given.
    pub(crate) fn add_disk(&mut self, project: &str, mut spec: GceDisk) {
        if spec.source_image_id.is_none() {
            spec.source_image_id = spec.source_image.as_ref().and_then(|(p, n)| {
                self.projects
                    .get(p)
                    .and_then(|p| p.images.get(n))
                    .map(|i| i.id)
            });
        }
        let id = self.next_id();
        self.project_mut(project).disks.push(Disk { id, spec });
    }

    /// The image a name or numeric id names in `project`.
    pub(crate) fn find_image(&self, project: &str, image: &str) -> Option<&Image> {
        let p = self.projects.get(project)?;
        p.images.get(image).or_else(|| {
            let id: u64 = image.parse().ok()?;
            p.images.values().find(|i| i.id == id)
        })
    }

    /// `getFromFamily`: the newest candidate of the family (a tie goes to
    /// the larger id).
    pub(crate) fn family_head(&self, project: &str, family: &str) -> Option<&Image> {
        self.projects
            .get(project)?
            .images
            .values()
            .filter(|i| i.spec.family.as_deref() == Some(family) && i.family_candidate())
            .max_by_key(|i| (i.spec.created, i.id))
    }

    /// Whether the image named by `(project, name)` still exists with this id.
    pub(crate) fn image_exists(&self, project: &str, name: &str, id: Option<u64>) -> bool {
        self.projects
            .get(project)
            .and_then(|p| p.images.get(name))
            .is_some_and(|i| id.is_none_or(|id| id == i.id))
    }
}

/// The label fingerprint of a label set: [`super::EMPTY_LABEL_FINGERPRINT`]
/// for none, otherwise 8 bytes of a hash of the sorted pairs, in base64.
pub(crate) fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return super::EMPTY_LABEL_FINGERPRINT.to_owned();
    }
    let mut h: u64 = 0x6c61_6265_6c73;
    for (k, v) in labels {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([1]) {
            h = splitmix64(h ^ u64::from(b));
        }
    }
    base64(&h.to_be_bytes())
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

//! Who uses an image in a project: one usage listing through
//! [`PageSource::instance_page`](imagecat_core::raw::PageSource::instance_page),
//! read in phases, each an aggregated list (every zone and region in one
//! paged listing, never one request per zone) paged by its own
//! `nextPageToken`:
//!
//! 1. **disks** (`aggregated/disks`): every disk, attached or not, is a
//!    user of the image it was made from (`sourceImage`, in any spelling,
//!    qualified with the disk's project; without one, `sourceImageId`
//!    looked up among the project's images, listed once per walk when a
//!    disk needs it) — [`FoundVia::Disk`];
//! 2. **instances** (`aggregated/instances`): an instance uses what its
//!    boot disk was made from (the disk as phase 1 saw it; a boot disk it
//!    did not see is unresolved) — [`FoundVia::RootVolume`];
//! 3. **instance templates** (`aggregated/instanceTemplates`, global and
//!    regional): every `properties.disks[].initializeParams.sourceImage`;
//!    a family (`…/global/images/family/F`) is that family's current image
//!    through `getFromFamily`, asked once per family per walk —
//!    [`FoundVia::InstanceTemplate`];
//! 4. **managed instance groups** (`aggregated/instanceGroupManagers`):
//!    the images of the templates their `instanceTemplate` and
//!    `versions[]` name (as phase 3 read them; a template it did not list
//!    is read, and one that cannot be read is unresolved) —
//!    [`FoundVia::InstanceGroup`];
//! 5. **end**: no request; a walk in which any scope was unreachable
//!    (`unreachables[]`, a scope warned `UNREACHABLE`) fails here, after
//!    every page that could be read was yielded, so images seen in use
//!    stay in use and every other answer is unknown.
//!
//! The token is `gce-usage:{walk}:{phase}:{pageToken}`: the walk names the
//! state one walk keeps between its pages (the disks seen, the templates
//! read, the families resolved), held by the source for the last
//! [`OPEN_WALKS`] walks.

mod wire;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use imagecat_core::raw::{Page, PageSource, PageToken};
use imagecat_core::usage::{BootSource, FoundVia, InstanceRef, UsageScope};
use imagecat_core::{
    Error, ErrorKind, Image, ImageId, InstanceQuery, ListQuery, Result, Visibility,
};
use imagecat_http::Idempotency;
use imagecat_http::reqwest::Method;

use crate::config::{BACKEND, MAX_PAGE_SIZE};
use crate::identity::{ImageReference, qualify_reference};
use crate::source::GceSource;
use wire::{
    Aggregated, DiskWire, GroupWire, InstanceWire, TemplateWire, last_segment, project_of,
    resource_path,
};

/// How many walks keep their state at once: as many as the most deletes
/// `apply` and `delete` run at once (each re-checks with its own scan).
/// The walk read least recently is dropped when a new one needs the room
/// (an abandoned walk); a dropped walk's next page fails, which makes that
/// scan unknown, never unused.
pub(crate) const OPEN_WALKS: usize = 64;

/// The prefix of every usage-listing token.
const TOKEN_PREFIX: &str = "gce-usage";

/// How many pages of images the numeric-id look-up reads at most.
const MAX_IMAGE_PAGES: u32 = 2_000;

/// How many unreachable scopes an error names.
const NAMED_SCOPES: usize = 5;

/// The phases of one walk, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Disks,
    Instances,
    Templates,
    Groups,
    End,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Disks => "disks",
            Phase::Instances => "instances",
            Phase::Templates => "instanceTemplates",
            Phase::Groups => "instanceGroupManagers",
            Phase::End => "end",
        }
    }

    fn parse(word: &str) -> Option<Phase> {
        [
            Phase::Disks,
            Phase::Instances,
            Phase::Templates,
            Phase::Groups,
            Phase::End,
        ]
        .into_iter()
        .find(|p| p.name() == word)
    }

    fn next(self) -> Phase {
        match self {
            Phase::Disks => Phase::Instances,
            Phase::Instances => Phase::Templates,
            Phase::Templates => Phase::Groups,
            Phase::Groups | Phase::End => Phase::End,
        }
    }
}

/// What one walk remembers between its pages.
#[derive(Debug, Default)]
struct WalkState {
    /// Every disk seen (its resource path) and what it was made from.
    disks: HashMap<String, BootSource>,
    /// Every template read (its resource path) and the images it names.
    templates: HashMap<String, Vec<BootSource>>,
    /// Each family asked about (project, family) and its current image.
    families: HashMap<(String, String), BootSource>,
    /// The project's images by numeric id, once a disk needed it.
    image_ids: Option<Arc<HashMap<String, ImageId>>>,
    /// The scopes some page could not read.
    unreachable: Vec<String>,
}

type Walk = Arc<Mutex<WalkState>>;

fn lock(walk: &Walk) -> std::sync::MutexGuard<'_, WalkState> {
    walk.lock().unwrap_or_else(|e| e.into_inner())
}

/// The open walks of one source.
#[derive(Default)]
pub(crate) struct Walks {
    open: Mutex<(u64, VecDeque<(u64, Walk)>)>,
}

impl fmt::Debug for Walks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self.open.lock().map(|o| o.1.len()).unwrap_or_default();
        f.debug_struct("Walks").field("open", &open).finish()
    }
}

impl Walks {
    fn start(&self) -> (u64, Walk) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 += 1;
        let id = open.0;
        let walk = Walk::default();
        open.1.push_back((id, Arc::clone(&walk)));
        while open.1.len() > OPEN_WALKS {
            open.1.pop_front();
        }
        (id, walk)
    }

    /// The walk, now the most recently read.
    fn find(&self, id: u64) -> Option<Walk> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let at = open.1.iter().position(|(w, _)| *w == id)?;
        let entry = open.1.remove(at)?;
        let walk = Arc::clone(&entry.1);
        open.1.push_back(entry);
        Some(walk)
    }

    fn end(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.1.retain(|(w, _)| *w != id);
    }
}

fn walk_token(walk: u64, phase: Phase, page: &str) -> PageToken {
    PageToken::Link(format!("{TOKEN_PREFIX}:{walk}:{}:{page}", phase.name()))
}

fn parse_token(text: &str) -> Option<(u64, Phase, Option<String>)> {
    let mut parts = text.splitn(4, ':');
    if parts.next()? != TOKEN_PREFIX {
        return None;
    }
    let walk = parts.next()?.parse().ok()?;
    let phase = Phase::parse(parts.next()?)?;
    let page = parts.next()?;
    Some((walk, phase, (!page.is_empty()).then(|| page.to_owned())))
}

fn invalid_token(token: &PageToken) -> Error {
    Error::invalid_input(
        BACKEND,
        format!("{token} is not a page of a GCE usage listing"),
    )
}

/// One page of the usage listing (see the module docs).
pub(crate) async fn page(
    source: &GceSource,
    query: &InstanceQuery,
    token: Option<PageToken>,
) -> Result<Page<InstanceRef>> {
    let (id, walk, phase, page_token) = match &token {
        None => {
            let (id, walk) = source.walks().start();
            (id, walk, Phase::Disks, None)
        }
        Some(PageToken::Link(text)) => {
            let (id, phase, page) =
                parse_token(text).ok_or_else(|| invalid_token(&PageToken::Link(text.clone())))?;
            let walk = source.walks().find(id).ok_or_else(|| {
                Error::new(
                    ErrorKind::Api,
                    format!("usage walk {id} is no longer open (more than {OPEN_WALKS} walks ran at once); scan again"),
                )
                .with_backend(BACKEND)
            })?;
            (id, walk, phase, page)
        }
        Some(other) => return Err(invalid_token(other)),
    };
    if phase == Phase::End {
        source.walks().end(id);
        let unreachable = std::mem::take(&mut lock(&walk).unreachable);
        if !unreachable.is_empty() {
            return Err(unreachable_error(&unreachable));
        }
        return Ok(Page::new(Vec::new(), None).with_scope(UsageScope::OwnTenant));
    }
    let size = query
        .page_size
        .unwrap_or(MAX_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let listed = aggregated(source, phase, size, page_token.as_deref()).await?;
    lock(&walk)
        .unreachable
        .extend(listed.unreachable.iter().cloned());
    let items = match phase {
        Phase::Disks => disks(source, &walk, listed.disks).await?,
        Phase::Instances => instances(source, &walk, listed.instances)?,
        Phase::Templates => templates(source, &walk, listed.templates).await?,
        Phase::Groups => groups(source, &walk, listed.groups).await?,
        Phase::End => Vec::new(),
    };
    let next = match listed.next {
        Some(PageToken::Link(server)) => walk_token(id, phase, &server),
        _ => walk_token(id, phase.next(), ""),
    };
    Ok(Page::new(items, Some(next)).with_scope(UsageScope::OwnTenant))
}

fn unreachable_error(scopes: &[String]) -> Error {
    let named: Vec<&str> = scopes
        .iter()
        .take(NAMED_SCOPES)
        .map(String::as_str)
        .collect();
    let more = scopes.len().saturating_sub(NAMED_SCOPES);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Error::new(
        ErrorKind::Api,
        format!(
            "the usage listing could not read {}{tail} (unreachable): the disks, instances, templates and groups there were not seen",
            named.join(", ")
        ),
    )
    .with_backend(BACKEND)
}

/// One page of `projects/{p}/aggregated/{collection}`.
async fn aggregated(
    source: &GceSource,
    phase: Phase,
    size: u32,
    page_token: Option<&str>,
) -> Result<Aggregated> {
    let mut url = source.url(&["projects", source.project(), "aggregated", phase.name()])?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("maxResults", &size.to_string());
        pairs.append_pair("returnPartialSuccess", "true");
        if let Some(t) = page_token {
            pairs.append_pair("pageToken", t);
        }
    }
    let what = format!("{} list", phase.name());
    source
        .authed(
            "list image users",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(crate::error::decode_error(&response));
                }
                wire::decode_aggregated(&response, &what)
            },
        )
        .await
}

/// The resource path of an item: its `selfLink`, else its project, scope
/// and name. An item without either cannot be told apart: the page fails.
fn item_path(
    source: &GceSource,
    scope: &str,
    collection: &str,
    self_link: Option<&str>,
    name: Option<&str>,
) -> Result<String> {
    if let Some(path) = self_link.filter(|l| !l.is_empty()).and_then(resource_path) {
        return Ok(path);
    }
    name.filter(|n| crate::is_resource_name(n))
        .and_then(|n| {
            resource_path(&format!(
                "projects/{}/{scope}/{collection}/{n}",
                source.project()
            ))
        })
        .ok_or_else(|| {
            Error::invalid_response(
                BACKEND,
                None,
                None,
                format!(
                    "an item of {scope} in the {collection} list has no usable selfLink or name"
                ),
                String::new(),
            )
        })
}

fn with_via(boot: BootSource, via: FoundVia) -> BootSource {
    match boot {
        BootSource::Image { id, .. } => BootSource::Image { id, via },
        other => other,
    }
}

async fn disks(
    source: &GceSource,
    walk: &Walk,
    disks: Vec<(String, DiskWire)>,
) -> Result<Vec<InstanceRef>> {
    let mut refs = Vec::with_capacity(disks.len());
    for (scope, disk) in disks {
        let path = item_path(
            source,
            &scope,
            "disks",
            disk.self_link.as_deref(),
            disk.name.as_deref(),
        )?;
        let project = project_of(&path).unwrap_or_default().to_owned();
        let boot = match disk
            .source_image
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            Some(reference) => match qualify_reference(reference, &project) {
                ImageReference::Image(id) => BootSource::Image {
                    id,
                    via: FoundVia::Disk,
                },
                _ => BootSource::Unresolved {
                    reason: format!(
                        "disk {path}: its sourceImage {reference:?} is not an image path"
                    ),
                },
            },
            None => match disk.source_image_id.as_deref().filter(|s| !s.is_empty()) {
                Some(number) => by_number(source, walk, &path, number).await,
                None => BootSource::NoImage,
            },
        };
        lock(walk).disks.insert(path.clone(), boot.clone());
        let name = disk.name.as_deref().unwrap_or_else(|| last_segment(&path));
        let users: Vec<&str> = disk.users.iter().map(|u| last_segment(u)).collect();
        let name = if users.is_empty() {
            format!("disk {name} (not attached)")
        } else {
            format!("disk {name} (attached to {})", users.join(", "))
        };
        refs.push(InstanceRef::new(path, disk.status.unwrap_or_default(), boot).with_name(name));
    }
    Ok(refs)
}

/// A disk that names only its image's numeric id (its `sourceImage` is
/// unset: GCE clears it when the image is deleted): the project's image
/// with that id, when there is one; none is no image (the image is gone,
/// or it is another project's, which this catalog does not answer for);
/// a failed look-up is unresolved.
async fn by_number(source: &GceSource, walk: &Walk, disk: &str, number: &str) -> BootSource {
    let known = lock(walk).image_ids.clone();
    let ids = match known {
        Some(ids) => ids,
        None => match image_ids(source).await {
            Ok(ids) => {
                let ids = Arc::new(ids);
                lock(walk).image_ids = Some(Arc::clone(&ids));
                ids
            }
            Err(e) => {
                return BootSource::Unresolved {
                    reason: format!(
                        "disk {disk}: its source image id {number} could not be looked up: {e}"
                    ),
                };
            }
        },
    };
    match ids.get(number) {
        Some(id) => BootSource::Image {
            id: id.clone(),
            via: FoundVia::Disk,
        },
        None => BootSource::NoImage,
    }
}

/// Every image of the project by its numeric id (`gce.id`).
async fn image_ids(source: &GceSource) -> Result<HashMap<String, ImageId>> {
    let query = ListQuery::new().page_size(MAX_PAGE_SIZE);
    let mut ids = HashMap::new();
    let mut token = None;
    for _ in 0..MAX_IMAGE_PAGES {
        let page = source.page(&query, token).await?;
        for image in page.items {
            if let Some(number) = image.properties.get("gce.id") {
                ids.insert(number.to_owned(), image.id);
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(ids),
        }
    }
    Err(Error::paging(
        BACKEND,
        format!("the image listing did not end within {MAX_IMAGE_PAGES} pages"),
    ))
}

fn instances(
    source: &GceSource,
    walk: &Walk,
    instances: Vec<(String, InstanceWire)>,
) -> Result<Vec<InstanceRef>> {
    let state = lock(walk);
    let mut refs = Vec::with_capacity(instances.len());
    for (scope, instance) in instances {
        let path = item_path(
            source,
            &scope,
            "instances",
            instance.self_link.as_deref(),
            instance.name.as_deref(),
        )?;
        let boot_disk = instance
            .disks
            .iter()
            .find(|d| d.boot)
            .and_then(|d| d.source.as_deref());
        let boot = match boot_disk.map(|d| (d, resource_path(d))) {
            Some((_, Some(disk))) => match state.disks.get(&disk) {
                Some(made_from) => with_via(made_from.clone(), FoundVia::RootVolume),
                None => BootSource::Unresolved {
                    reason: format!(
                        "instance {path}: its boot disk {disk} was not in the disk listing"
                    ),
                },
            },
            Some((raw, None)) => BootSource::Unresolved {
                reason: format!("instance {path}: its boot disk {raw:?} is not a disk path"),
            },
            None => BootSource::Unresolved {
                reason: format!("instance {path} lists no boot disk"),
            },
        };
        let mut user = InstanceRef::new(path, instance.status.unwrap_or_default(), boot);
        user.name = instance.name.filter(|n| !n.is_empty());
        refs.push(user);
    }
    Ok(refs)
}

async fn templates(
    source: &GceSource,
    walk: &Walk,
    templates: Vec<(String, TemplateWire)>,
) -> Result<Vec<InstanceRef>> {
    let mut refs = Vec::new();
    for (scope, template) in templates {
        let path = item_path(
            source,
            &scope,
            "instanceTemplates",
            template.self_link.as_deref(),
            template.name.as_deref(),
        )?;
        let boots = template_images(source, walk, &path, &template).await;
        lock(walk).templates.insert(path.clone(), boots.clone());
        let name = template
            .name
            .clone()
            .unwrap_or_else(|| last_segment(&path).to_owned());
        for (k, boot) in boots.into_iter().enumerate() {
            let id = if k == 0 {
                path.clone()
            } else {
                format!("{path}#disk{k}")
            };
            refs.push(
                InstanceRef::new(id, scope.clone(), boot).with_name(format!("template {name}")),
            );
        }
    }
    Ok(refs)
}

/// The images a template's disks are created from, families resolved.
async fn template_images(
    source: &GceSource,
    walk: &Walk,
    path: &str,
    template: &TemplateWire,
) -> Vec<BootSource> {
    let Some(properties) = &template.properties else {
        return vec![BootSource::Unresolved {
            reason: format!("instance template {path} came without its properties"),
        }];
    };
    let project = project_of(path).unwrap_or_default().to_owned();
    let mut boots = Vec::new();
    for disk in &properties.disks {
        let Some(reference) = disk
            .initialize_params
            .as_ref()
            .and_then(|p| p.source_image.as_deref())
            .filter(|s| !s.trim().is_empty())
        else {
            continue;
        };
        boots.push(match qualify_reference(reference, &project) {
            ImageReference::Image(id) => BootSource::Image {
                id,
                via: FoundVia::InstanceTemplate,
            },
            ImageReference::Family { project, family } => {
                family_head(source, walk, &project, &family).await
            }
            ImageReference::Unreadable => BootSource::Unresolved {
                reason: format!(
                    "instance template {path}: its sourceImage {reference:?} is not an image or family path"
                ),
            },
        });
    }
    boots
}

/// The family's current image (`getFromFamily`), asked once per family
/// per walk. A family GCE proves has no current image (its `notFound`
/// document: every member deprecated, or none left) launches nothing; any
/// other failure is unresolved.
async fn family_head(source: &GceSource, walk: &Walk, project: &str, family: &str) -> BootSource {
    let key = (project.to_owned(), family.to_owned());
    if let Some(known) = lock(walk).families.get(&key) {
        return known.clone();
    }
    let head = match from_family(source, project, family).await {
        Ok(image) => BootSource::Image {
            id: image.id,
            via: FoundVia::InstanceTemplate,
        },
        Err(e) if e.proves_absence() => BootSource::NoImage,
        Err(e) => BootSource::Unresolved {
            reason: format!(
                "the current image of family {family} in project {project} could not be read: {e}"
            ),
        },
    };
    lock(walk).families.insert(key, head.clone());
    head
}

/// `GET projects/{p}/global/images/family/{f}`.
async fn from_family(source: &GceSource, project: &str, family: &str) -> Result<Image> {
    let url = source.url(&["projects", project, "global", "images", "family", family])?;
    source
        .authed(
            "get the family's image",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(crate::error::decode_error(&response));
                }
                crate::wire::decode_show(&response, Some(project))
            },
        )
        .await
}

async fn groups(
    source: &GceSource,
    walk: &Walk,
    groups: Vec<(String, GroupWire)>,
) -> Result<Vec<InstanceRef>> {
    let mut refs = Vec::new();
    for (scope, group) in groups {
        let path = item_path(
            source,
            &scope,
            "instanceGroupManagers",
            group.self_link.as_deref(),
            group.name.as_deref(),
        )?;
        let mut seen = HashSet::new();
        let links = group
            .instance_template
            .iter()
            .chain(
                group
                    .versions
                    .iter()
                    .filter_map(|v| v.instance_template.as_ref()),
            )
            .filter(|l| !l.trim().is_empty());
        let mut boots = Vec::new();
        for link in links {
            match resource_path(link).filter(|p| is_template_path(p)) {
                Some(template) if seen.insert(template.clone()) => {
                    boots.extend(group_template(source, walk, &template).await);
                }
                Some(_) => {}
                None => boots.push(BootSource::Unresolved {
                    reason: format!(
                        "instance group {path}: its template {link:?} is not a template path"
                    ),
                }),
            }
        }
        if boots.is_empty() {
            boots.push(BootSource::NoImage);
        }
        let name = group
            .name
            .clone()
            .unwrap_or_else(|| last_segment(&path).to_owned());
        for (k, boot) in boots.into_iter().enumerate() {
            let id = if k == 0 {
                path.clone()
            } else {
                format!("{path}#{k}")
            };
            refs.push(
                InstanceRef::new(id, scope.clone(), with_via(boot, FoundVia::InstanceGroup))
                    .with_name(format!("group {name}")),
            );
        }
    }
    Ok(refs)
}

/// `projects/{p}/global/instanceTemplates/{t}` or
/// `projects/{p}/regions/{r}/instanceTemplates/{t}`.
fn is_template_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    matches!(
        segments.as_slice(),
        ["projects", _, "global", "instanceTemplates", _]
            | ["projects", _, "regions", _, "instanceTemplates", _]
    )
}

/// The images of a template a group names: as the template listing read
/// it, else read now (`instanceTemplates.get` or
/// `regionInstanceTemplates.get`); unreadable is unresolved.
async fn group_template(source: &GceSource, walk: &Walk, template: &str) -> Vec<BootSource> {
    if let Some(known) = lock(walk).templates.get(template) {
        return known.clone();
    }
    let read = async {
        let segments: Vec<&str> = template.split('/').collect();
        let url = source.url(&segments)?;
        source
            .authed(
                "get an instance template",
                Idempotency::Idempotent,
                Method::GET,
                &url,
                |response| {
                    if !response.status.is_success() {
                        return Err(crate::error::decode_error(&response));
                    }
                    wire::decode_template(&response)
                },
            )
            .await
    };
    let boots = match read.await {
        Ok(wire) => template_images(source, walk, template, &wire).await,
        Err(e) => vec![BootSource::Unresolved {
            reason: format!("instance template {template} could not be read: {e}"),
        }],
    };
    lock(walk)
        .templates
        .insert(template.to_owned(), boots.clone());
    boots
}

/// Who besides the project may use `image`, from its IAM policy
/// (`GET projects/{p}/global/images/{name}/getIamPolicy`); `None` for an
/// image of another project (this catalog answers for its own).
pub(crate) async fn audience(source: &GceSource, image: &Image) -> Result<Option<Visibility>> {
    let id = source.check_id(&image.id)?;
    let rest = id.as_str().strip_prefix("projects/").unwrap_or_default();
    let (project, rest) = rest.split_once('/').unwrap_or_default();
    let name = rest.rsplit('/').next().unwrap_or_default();
    if project != source.project() {
        return Ok(None);
    }
    let mut url = source.url(&[
        "projects",
        project,
        "global",
        "images",
        name,
        "getIamPolicy",
    ])?;
    url.query_pairs_mut()
        .append_pair("optionsRequestedPolicyVersion", "3");
    source
        .authed(
            "read the image's IAM policy",
            Idempotency::Idempotent,
            Method::GET,
            &url,
            |response| {
                if !response.status.is_success() {
                    return Err(crate::error::decode_error(&response));
                }
                wire::decode_policy(&response).map(Some)
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_strangers_are_refused() {
        let PageToken::Link(text) = walk_token(7, Phase::Templates, "a:b/c=") else {
            unreachable!()
        };
        assert_eq!(
            parse_token(&text),
            Some((7, Phase::Templates, Some("a:b/c=".to_owned())))
        );
        let PageToken::Link(text) = walk_token(7, Phase::End, "") else {
            unreachable!()
        };
        assert_eq!(parse_token(&text), Some((7, Phase::End, None)));
        for bad in [
            "",
            "gce-usage",
            "gce-usage:x:disks:",
            "gce-usage:1:nope:",
            "other:1:disks:",
        ] {
            assert_eq!(parse_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phases_run_in_order_and_end() {
        let mut phase = Phase::Disks;
        let mut seen = vec![phase.name()];
        while phase != Phase::End {
            phase = phase.next();
            seen.push(phase.name());
        }
        assert_eq!(
            seen,
            [
                "disks",
                "instances",
                "instanceTemplates",
                "instanceGroupManagers",
                "end"
            ]
        );
    }

    #[test]
    fn the_walks_read_least_recently_are_dropped_first() {
        let walks = Walks::default();
        let first = walks.start().0;
        let second = walks.start().0;
        for _ in 0..OPEN_WALKS - 2 {
            walks.start();
            // the first walk is still being read
            assert!(walks.find(first).is_some());
        }
        walks.start();
        assert!(walks.find(second).is_none(), "the idle walk goes first");
        assert!(walks.find(first).is_some());
        let (last, _) = walks.start();
        assert!(walks.find(last).is_some());
        walks.end(last);
        assert!(walks.find(last).is_none());
    }

    #[test]
    fn template_paths() {
        assert!(is_template_path("projects/p/global/instanceTemplates/t"));
        assert!(is_template_path("projects/p/regions/r/instanceTemplates/t"));
        assert!(!is_template_path("projects/p/global/images/t"));
        assert!(!is_template_path("projects/p/zones/z/instanceTemplates/t"));
    }
}

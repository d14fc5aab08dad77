//! [`InMemoryCatalog`]: the reference backend of the conformance suite, the
//! backend of the examples, and a test double with fault hooks.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::catalog::{
    Capabilities, CatalogInfo, Deleted, InstanceQuery, Page, PageToken, PagingStyle,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{BackendKind, Image, ImageId, ImageStatus, Visibility};
use crate::query::ListQuery;
use crate::retire::{
    Blocks, InEffect, RetireMethod, RetireRequest, RetireStamp, RetireSupport, StampFormat,
};
use crate::source::{Catalog, PageSource};
use crate::usage::{InstanceRef, UsageScope};

const BACKEND: BackendKind = BackendKind::Memory;

/// How the in-memory catalog retires images when asked to
/// ([`MemorySource::retire_support`]): `deactivate` (status deactivated)
/// or `hide` (property `hidden=true`), the time in `imagecat_retired_at`.
pub const MEMORY_RETIRE: RetireSupport = RetireSupport::new(
    &[
        RetireMethod::new(
            "deactivate",
            "status deactivated",
            Blocks::Everyone,
            "anyone",
            "status active",
            InEffect::Deactivated,
        ),
        RetireMethod::new(
            "hide",
            "property hidden=true",
            Blocks::No,
            "anyone",
            "property hidden removed",
            InEffect::Property {
                key: "hidden",
                value: "true",
            },
        ),
    ],
    RetireStamp::new("imagecat_retired_at", StampFormat::Rfc3339),
);

/// Makes the error a fault hook returns.
type ErrorFactory = Arc<dyn Fn() -> Error + Send + Sync>;

#[derive(Default)]
struct Faults {
    fail_next: u32,
    make_error: Option<ErrorFactory>,
    repeat_token: bool,
    empty_token: bool,
}

struct State {
    images: Vec<Image>,
    instances: Vec<InstanceRef>,
    faults: Faults,
}

/// An image catalog held in memory: [`MemorySource`] behind [`Catalog`],
/// the same path every adapter takes.
pub type InMemoryCatalog = Catalog<MemorySource>;

/// The source of an image catalog held in memory.
///
/// Deterministic order (insertion order), a configurable page size, offset
/// or marker paging, soft or hard delete, and hooks to inject faults. It
/// validates ids like a real backend: 1–255 characters of `[A-Za-z0-9._-]`.
/// It is the [`PageSource`] of [`InMemoryCatalog`].
#[derive(Clone)]
pub struct MemorySource {
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicU64>,
    paging: PagingStyle,
    page_size: u32,
    soft_delete: bool,
    usage: Option<UsageScope>,
    retire: Option<RetireSupport>,
}

impl fmt::Debug for MemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (images, instances) = {
            let state = self.lock();
            (state.images.len(), state.instances.len())
        };
        f.debug_struct("InMemoryCatalog")
            .field("images", &images)
            .field("instances", &instances)
            .field("usage", &self.usage)
            .field("paging", &self.paging)
            .field("page_size", &self.page_size)
            .field("soft_delete", &self.soft_delete)
            .finish()
    }
}

impl Default for MemorySource {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl MemorySource {
    /// A catalog holding these images, in this order, with marker paging,
    /// pages of 25 and hard delete.
    pub fn new(images: Vec<Image>) -> Self {
        MemorySource {
            state: Arc::new(Mutex::new(State {
                images,
                instances: Vec::new(),
                faults: Faults::default(),
            })),
            requests: Arc::new(AtomicU64::new(0)),
            paging: PagingStyle::Marker,
            page_size: 25,
            soft_delete: false,
            usage: None,
            retire: None,
        }
    }

    /// Lets the catalog retire images as `support` says (`None`, the
    /// default: it cannot, like TOAST). A replacement is kept in the
    /// property `imagecat_replacement`.
    pub fn retire_support(mut self, support: Option<RetireSupport>) -> Self {
        self.retire = support;
        self
    }

    /// Seeds the instances (every one is listed: the memory catalog holds
    /// no final states) and, unless a scope was set, makes the catalog able
    /// to list them with scope all tenants. Without it the catalog cannot
    /// list instances and every usage answer is unknown.
    pub fn with_instances(mut self, instances: Vec<InstanceRef>) -> Self {
        self.lock().instances = instances;
        self.usage.get_or_insert(UsageScope::AllTenants);
        self
    }

    /// Sets the scope its instance pages report (`None`: cannot list).
    pub fn usage_scope(mut self, scope: Option<UsageScope>) -> Self {
        self.usage = scope;
        self
    }

    /// Adds an instance at the end (or replaces the one with the same id).
    pub fn insert_instance(&self, instance: InstanceRef) {
        let mut state = self.lock();
        match state.instances.iter_mut().find(|i| i.id == instance.id) {
            Some(slot) => *slot = instance,
            None => state.instances.push(instance),
        }
    }

    /// Removes an instance (it was terminated).
    pub fn remove_instance(&self, id: &str) -> Option<InstanceRef> {
        let mut state = self.lock();
        let at = state.instances.iter().position(|i| i.id == id)?;
        Some(state.instances.remove(at))
    }

    /// A catalog seeded with `n` deterministic sample images (see [`sample_image`]).
    pub fn with_samples(n: usize) -> Self {
        Self::new((0..n).map(sample_image).collect())
    }

    /// Uses offset paging with a reported total instead of markers.
    pub fn offset_paging(mut self, yes: bool) -> Self {
        self.paging = if yes {
            PagingStyle::Offset
        } else {
            PagingStyle::Marker
        };
        self
    }

    /// Sets the default page size.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Keeps deleted images, with status `deleted`, instead of removing them.
    pub fn soft_delete(mut self, yes: bool) -> Self {
        self.soft_delete = yes;
        self
    }

    /// Adds an image at the end (or replaces the image with the same id).
    pub fn insert(&self, image: Image) {
        let mut state = self.lock();
        match state.images.iter_mut().find(|i| i.id == image.id) {
            Some(slot) => *slot = image,
            None => state.images.push(image),
        }
    }

    /// Removes an image without a delete call (catalog churn in tests).
    pub fn remove(&self, id: &ImageId) -> Option<Image> {
        let mut state = self.lock();
        let at = state.images.iter().position(|i| &i.id == id)?;
        Some(state.images.remove(at))
    }

    /// Every image held, in order, deleted ones included.
    pub fn snapshot(&self) -> Vec<Image> {
        self.lock().images.clone()
    }

    /// How many requests (`page`, `get`, `delete`, `instance_page`)
    /// reached the catalog.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Makes the next `n` requests fail with the error `make` returns.
    pub fn fail_next(&self, n: u32, make: impl Fn() -> Error + Send + Sync + 'static) {
        let mut state = self.lock();
        state.faults.fail_next = n;
        state.faults.make_error = Some(Arc::new(make));
    }

    /// Makes every page answer with the token it was asked for (a server that
    /// never advances).
    pub fn repeat_token(&self, yes: bool) {
        self.lock().faults.repeat_token = yes;
    }

    /// Makes every page answer with an empty next token.
    pub fn empty_token(&self, yes: bool) {
        self.lock().faults.empty_token = yes;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request and returns the state, or the injected fault.
    fn begin(&self) -> Result<MutexGuard<'_, State>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut state = self.lock();
        if state.faults.fail_next > 0 {
            state.faults.fail_next -= 1;
            let make = state.faults.make_error.clone();
            return Err(make.map(|m| m()).unwrap_or_else(|| {
                Error::new(ErrorKind::Transport, "injected fault").with_backend(BACKEND)
            }));
        }
        Ok(state)
    }
}

/// Where a page starts: at an offset, or after the item a marker names
/// (a stale marker, [`Error::marker_gone`], when none has that id).
fn start_of<'a>(
    token: &Option<PageToken>,
    mut ids: impl Iterator<Item = &'a str>,
    noun: &str,
) -> Result<usize> {
    match token {
        None => Ok(0),
        Some(PageToken::Offset(o)) => Ok(usize::try_from(*o).unwrap_or(usize::MAX)),
        Some(PageToken::Marker(m)) => match ids.position(|id| id == m) {
            Some(at) => Ok(at + 1),
            None => Err(Error::marker_gone(
                BACKEND,
                m,
                format!("no {noun} has this id"),
            )),
        },
        Some(other) => Err(Error::invalid_input(
            BACKEND,
            format!("unsupported page token {other}"),
        )),
    }
}

/// Checks a memory id: 1–255 characters of `[A-Za-z0-9._-]`.
fn validate_id(id: &ImageId) -> Result<()> {
    let s = id.as_str();
    let ok = !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            BACKEND,
            format!("invalid image id {s:?}: expected 1-255 characters of [A-Za-z0-9._-]"),
        ))
    }
}

#[async_trait]
impl PageSource for MemorySource {
    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(
            BACKEND,
            "memory:",
            Capabilities::new(self.paging, self.page_size, 10_000)
                .reports_total(self.paging == PagingStyle::Offset)
                .tags(true)
                .soft_delete(self.soft_delete)
                .usage(self.usage)
                .retire(self.retire),
        )
    }

    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let page_size = self.info().capabilities.page_size_for(query.page_size) as usize;
        let state = self.begin()?;
        let start = start_of(&token, state.images.iter().map(|i| i.id.as_str()), "image")?;
        let len = state.images.len();
        let start = start.min(len);
        let end = start.saturating_add(page_size).min(len);
        let images: Vec<Image> = state.images[start..end].to_vec();
        let mut next = if end < len {
            Some(match self.paging {
                PagingStyle::Offset => PageToken::Offset(end as u64),
                _ => PageToken::Marker(images.last().map(|i| i.id.to_string()).unwrap_or_default()),
            })
        } else {
            None
        };
        if state.faults.repeat_token {
            next = Some(token.unwrap_or(PageToken::Marker(String::new())));
            if next == Some(PageToken::Marker(String::new())) {
                next = images.first().map(|i| PageToken::Marker(i.id.to_string()));
            }
        }
        if state.faults.empty_token {
            next = Some(PageToken::Marker(String::new()));
        }
        let page = Page::new(images, next);
        Ok(match self.paging {
            PagingStyle::Offset => page.with_total(len as u64),
            _ => page,
        })
    }

    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        let page_size = self.info().capabilities.page_size_for(query.page_size) as usize;
        let scope = self.usage.unwrap_or(UsageScope::OwnTenant);
        let state = self.begin()?;
        let start = start_of(
            &token,
            state.instances.iter().map(|i| i.id.as_str()),
            "instance",
        )?;
        let len = state.instances.len();
        let start = start.min(len);
        let end = start.saturating_add(page_size).min(len);
        let page = &state.instances[start..end];
        let next = (end < len)
            .then(|| PageToken::Marker(page.last().map(|i| i.id.clone()).unwrap_or_default()));
        // The server-side filter, as Nova's `?image=`.
        let instances = page
            .iter()
            .filter(|i| query.matches(crate::IdRule::Exact, i))
            .cloned()
            .collect();
        Ok(Page::new(instances, next).with_scope(scope))
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        validate_id(id)?;
        let state = self.begin()?;
        state
            .images
            .iter()
            .find(|i| &i.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(BACKEND, id))
    }

    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        validate_id(id)?;
        let mut state = self.begin()?;
        let at = state
            .images
            .iter()
            .position(|i| &i.id == id)
            .ok_or_else(|| Error::not_found(BACKEND, id))?;
        let image = &mut state.images[at];
        if image.protected == Some(true) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("image {id} is protected and cannot be deleted"),
            )
            .with_backend(BACKEND));
        }
        if image.status == ImageStatus::Deleted {
            return Ok(Deleted::AlreadyDeleted);
        }
        if self.soft_delete {
            image.status = ImageStatus::Deleted;
            image.native_status = "deleted".into();
        } else {
            state.images.remove(at);
        }
        Ok(Deleted::Deleted)
    }

    async fn retire(&self, id: &ImageId, request: &RetireRequest) -> Result<()> {
        validate_id(id)?;
        let stamp = self.retire.map(|r| r.stamp.key).unwrap_or_default();
        let mut state = self.begin()?;
        let image = state
            .images
            .iter_mut()
            .find(|i| &i.id == id)
            .ok_or_else(|| Error::not_found(BACKEND, id))?;
        if !matches!(image.status, ImageStatus::Active | ImageStatus::Deactivated) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "image {id} is {} and cannot be retired",
                    image.native_status
                ),
            )
            .with_backend(BACKEND));
        }
        let value = RetireStamp::new(stamp, StampFormat::Rfc3339).write(request.at);
        image.properties.insert(stamp, value);
        if let Some(replacement) = &request.replacement {
            image
                .properties
                .insert("imagecat_replacement", replacement.as_str());
        }
        match request.method.in_effect {
            InEffect::Deactivated => {
                image.status = ImageStatus::Deactivated;
                image.native_status = "deactivated".into();
            }
            InEffect::Property { key, value } => {
                image.properties.insert(key, value);
            }
            InEffect::Since { key } => {
                let at = request
                    .at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                image.properties.insert(key, at);
            }
        }
        image.updated_at = Some(Utc::now());
        Ok(())
    }

    async fn restore(&self, id: &ImageId) -> Result<()> {
        validate_id(id)?;
        let support = self.retire;
        let mut state = self.begin()?;
        let image = state
            .images
            .iter_mut()
            .find(|i| &i.id == id)
            .ok_or_else(|| Error::not_found(BACKEND, id))?;
        if image.status == ImageStatus::Deactivated {
            image.status = ImageStatus::Active;
            image.native_status = "active".into();
        }
        for method in support.map(|s| s.methods).unwrap_or_default() {
            if let InEffect::Property { key, .. } = method.in_effect {
                image.properties.remove(key);
            }
        }
        if let Some(support) = support {
            image.properties.remove(support.stamp.key);
        }
        image.properties.remove("imagecat_replacement");
        image.updated_at = Some(Utc::now());
        Ok(())
    }
}

/// The builders and test hooks of [`MemorySource`], on the catalog (a
/// catalog does not dereference to its source; its raw pages are reached
/// through [`Catalog::source`]).
impl Catalog<MemorySource> {
    /// A catalog holding these images (see [`MemorySource::new`]).
    pub fn from_images(images: Vec<Image>) -> Self {
        Catalog::new(MemorySource::new(images))
    }

    /// A catalog seeded with `n` sample images (see [`MemorySource::with_samples`]).
    pub fn with_samples(n: usize) -> Self {
        Catalog::new(MemorySource::with_samples(n))
    }

    /// See [`MemorySource::offset_paging`].
    pub fn offset_paging(self, yes: bool) -> Self {
        self.map_source(|s| s.offset_paging(yes))
    }

    /// See [`MemorySource::page_size`].
    pub fn page_size(self, size: u32) -> Self {
        self.map_source(|s| s.page_size(size))
    }

    /// See [`MemorySource::soft_delete`].
    pub fn soft_delete(self, yes: bool) -> Self {
        self.map_source(|s| s.soft_delete(yes))
    }

    /// See [`MemorySource::retire_support`].
    pub fn retire_support(self, support: Option<RetireSupport>) -> Self {
        self.map_source(|s| s.retire_support(support))
    }

    /// See [`MemorySource::with_instances`].
    pub fn with_instances(self, instances: Vec<InstanceRef>) -> Self {
        self.map_source(|s| s.with_instances(instances))
    }

    /// See [`MemorySource::usage_scope`].
    pub fn usage_scope(self, scope: Option<UsageScope>) -> Self {
        self.map_source(|s| s.usage_scope(scope))
    }

    /// See [`MemorySource::insert`].
    pub fn insert(&self, image: Image) {
        self.source().insert(image);
    }

    /// See [`MemorySource::remove`].
    pub fn remove(&self, id: &ImageId) -> Option<Image> {
        self.source().remove(id)
    }

    /// See [`MemorySource::snapshot`].
    pub fn snapshot(&self) -> Vec<Image> {
        self.source().snapshot()
    }

    /// See [`MemorySource::requests`].
    pub fn requests(&self) -> u64 {
        self.source().requests()
    }

    /// See [`MemorySource::fail_next`].
    pub fn fail_next(&self, n: u32, make: impl Fn() -> Error + Send + Sync + 'static) {
        self.source().fail_next(n, make);
    }

    /// See [`MemorySource::repeat_token`].
    pub fn repeat_token(&self, yes: bool) {
        self.source().repeat_token(yes);
    }

    /// See [`MemorySource::empty_token`].
    pub fn empty_token(&self, yes: bool) {
        self.source().empty_token(yes);
    }

    /// See [`MemorySource::insert_instance`].
    pub fn insert_instance(&self, instance: InstanceRef) {
        self.source().insert_instance(instance);
    }

    /// See [`MemorySource::remove_instance`].
    pub fn remove_instance(&self, id: &str) -> Option<InstanceRef> {
        self.source().remove_instance(id)
    }
}

impl Default for Catalog<MemorySource> {
    fn default() -> Self {
        Catalog::new(MemorySource::default())
    }
}

/// The deterministic sample image number `i`: id `img-00042`, names such as
/// `ubuntu-22.04-42`, mostly active, every third public, owners `acct-0`…`acct-3`,
/// one hour apart from 2024-01-01, every tenth protected.
pub fn sample_image(i: usize) -> Image {
    const FAMILIES: [&str; 4] = ["ubuntu-22.04", "centos-7", "debian-12", "web-base"];
    let (status, native) = match i % 11 {
        5 => (ImageStatus::Queued, "queued"),
        7 => (ImageStatus::Saving, "saving"),
        _ => (ImageStatus::Active, "active"),
    };
    let epoch: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).expect("valid epoch");
    let mut image = Image::new(format!("img-{i:05}"), BACKEND, status, native)
        .with_name(format!("{}-{i}", FAMILIES[i % FAMILIES.len()]))
        .with_visibility(if i % 3 == 0 {
            Visibility::Public
        } else {
            Visibility::Private
        })
        .with_owner(format!("acct-{}", i % 4))
        .with_created_at(epoch + ChronoDuration::hours(i as i64))
        .with_size_bytes(1_073_741_824 + (i as u64) * 4096)
        .with_protected(i % 10 == 0)
        .with_property("os_type", "linux");
    image.updated_at = image.created_at;
    image.disk_format = Some("qcow2".into());
    image.arch = Some("x86_64".into());
    image.min_disk_gb = Some(20);
    image.min_ram_mb = Some(512);
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageCatalog;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn marker_paging_lists_everything_once() {
        let cat = InMemoryCatalog::with_samples(30).page_size(4);
        let ids: Vec<_> = cat
            .list(ListQuery::new())
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids.len(), 30);
        assert_eq!(cat.requests(), 8);
    }

    #[tokio::test]
    async fn faults_and_deletes() {
        let cat = InMemoryCatalog::with_samples(3);
        cat.fail_next(1, || Error::not_found(BACKEND, &"x".into()));
        assert!(cat.get(&"img-00001".into()).await.is_err());
        assert!(cat.get(&"img-00001".into()).await.is_ok());
        assert_eq!(
            cat.delete(&"img-00000".into()).await.unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            cat.delete(&"img-00001".into()).await.unwrap(),
            Deleted::Deleted
        );
        assert_eq!(
            cat.delete(&"img-00001".into()).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

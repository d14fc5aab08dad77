//! Which instances use which images: the answer every delete depends on.
//!
//! Adapters list instances (one page at a time, through the same engine as
//! images) and say what each one boots from; this module folds that
//! listing into a per-image answer with three outcomes — in use (by whom),
//! not in use, and **unknown** (with the reason). Unknown is never reported
//! as unused: a failed page, an instance whose root volume could not be
//! read, or a listing that cannot see other tenants all make the answer
//! unknown for every image they could hide a use of.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::identity::IdRule;
use crate::model::{Image, ImageId, Visibility};

/// How much of the cloud an instance listing sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UsageScope {
    /// Every tenant's instances (Nova `all_tenants` as an admin, DCMGR
    /// without an account header): a negative answer is complete.
    AllTenants,
    /// Only the caller's project or account: an image other tenants can
    /// boot (public, shared, community, or of unknown visibility) may be in
    /// use where this listing cannot see, so it comes out unknown.
    OwnTenant,
}

impl UsageScope {
    /// The name used in output: `all_tenants` or `own_tenant`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageScope::AllTenants => "all_tenants",
            UsageScope::OwnTenant => "own_tenant",
        }
    }
}

impl UsageScope {
    /// The narrower of two scopes (own tenant is narrower than all).
    pub fn narrowest(self, other: UsageScope) -> UsageScope {
        if self == UsageScope::OwnTenant || other == UsageScope::OwnTenant {
            UsageScope::OwnTenant
        } else {
            UsageScope::AllTenants
        }
    }
}

impl fmt::Display for UsageScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an instance's image was found, or what other kind of user names
/// an image (a usage scan lists every user the backend has as an
/// [`InstanceRef`]: instances, and the templates, groups, parameters and
/// disks that would launch or keep the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FoundVia {
    /// The instance record names its image.
    ImageField,
    /// The instance boots from a volume whose image metadata names it.
    RootVolume,
    /// Not an instance but a launch template (version) that names it: the
    /// next instance launched from it boots it (EC2 launch templates).
    LaunchTemplate,
    /// A launch configuration names it (EC2 Auto Scaling).
    LaunchConfiguration,
    /// A group's own image override names it (EC2 Auto Scaling mixed
    /// instances policies, GCE managed instance groups).
    InstanceGroup,
    /// A parameter that templates resolve names it (AWS SSM `resolve:ssm:`).
    Parameter,
    /// A disk was created from it and still exists (GCE `sourceImageId`):
    /// it may be used again, and GCE would delete the image under it.
    Disk,
    /// An instance template names it, or names its family while it is the
    /// family's current image (GCE).
    InstanceTemplate,
    /// The server's own reference API says something uses it (EC2
    /// `DescribeImageReferences`).
    ServerReference,
}

impl FoundVia {
    /// The name used in output: `image_field`, `root_volume`,
    /// `launch_template`…
    pub fn as_str(self) -> &'static str {
        match self {
            FoundVia::ImageField => "image_field",
            FoundVia::RootVolume => "root_volume",
            FoundVia::LaunchTemplate => "launch_template",
            FoundVia::LaunchConfiguration => "launch_configuration",
            FoundVia::InstanceGroup => "instance_group",
            FoundVia::Parameter => "parameter",
            FoundVia::Disk => "disk",
            FoundVia::InstanceTemplate => "instance_template",
            FoundVia::ServerReference => "server_reference",
        }
    }
}

/// What an instance boots from, as far as the backend could tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BootSource {
    /// This image, found this way.
    Image {
        /// The image id.
        id: ImageId,
        /// How it was found.
        via: FoundVia,
    },
    /// Booted from a volume that was read and carries no image (a blank or
    /// snapshot volume): the instance uses no image.
    NoImage,
    /// The image could not be determined (the root volume could not be
    /// read, or the record lacks the field): it may be any image.
    Unresolved {
        /// Why.
        reason: String,
    },
}

/// One instance (server) that is not in a final state, with what it boots
/// from. Adapters yield only instances that still exist: every non-final
/// state (running, stopped, shelved, error, deleting…) counts as a use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceRef {
    /// The instance id.
    pub id: String,
    /// Its name, where the backend has one.
    pub name: Option<String>,
    /// The backend's own status word.
    pub status: String,
    /// What it boots from.
    pub boot: BootSource,
}

impl InstanceRef {
    /// An instance with its id, status and boot source.
    pub fn new(id: impl Into<String>, status: impl Into<String>, boot: BootSource) -> Self {
        InstanceRef {
            id: id.into(),
            name: None,
            status: status.into(),
            boot,
        }
    }

    /// An instance whose record names its image.
    pub fn booting(id: impl Into<String>, status: impl Into<String>, image: ImageId) -> Self {
        Self::new(
            id,
            status,
            BootSource::Image {
                id: image,
                via: FoundVia::ImageField,
            },
        )
    }

    /// An instance from the fields of a record that names its image (the
    /// adapters' decoders): no `id` is an error (its message); no image,
    /// or an empty one, leaves it unresolved, since it may use any image;
    /// an empty name is none.
    pub fn from_record(
        id: Option<String>,
        name: Option<String>,
        status: Option<String>,
        image: Option<String>,
    ) -> std::result::Result<Self, String> {
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or("an instance without `id`")?;
        let boot = match image.filter(|i| !i.is_empty()) {
            Some(image) => BootSource::Image {
                id: image.into(),
                via: FoundVia::ImageField,
            },
            None => BootSource::Unresolved {
                reason: "the instance record names no image".into(),
            },
        };
        let mut instance = Self::new(id, status.unwrap_or_default(), boot);
        instance.name = name.filter(|n| !n.is_empty());
        Ok(instance)
    }

    /// Sets the name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The image it boots from, when known.
    pub fn image_id(&self) -> Option<&ImageId> {
        match &self.boot {
            BootSource::Image { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// One instance that uses an image, as reported in [`ImageUsage::InUse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceUse {
    /// The instance id.
    pub instance_id: String,
    /// Its name, where known.
    pub name: Option<String>,
    /// The backend's status word.
    pub status: String,
    /// How the image was found.
    pub via: FoundVia,
}

/// Why a usage answer is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownReason {
    /// The backend cannot list instances here (no compute endpoint, the
    /// capability is missing, or the feature is not built).
    NotSupported {
        /// The backend's explanation.
        message: String,
    },
    /// The instance listing failed before it was complete.
    ListingFailed {
        /// The error, as displayed.
        message: String,
    },
    /// Some instances boot from something that could not be resolved to an
    /// image; any of them may use this one.
    UnresolvedInstances {
        /// Their ids (at most a few are kept; `count` has them all).
        instances: Vec<String>,
        /// How many there were.
        count: usize,
    },
    /// The listing saw only the caller's tenant, and other tenants can boot
    /// this image (it is not private).
    OutOfScope {
        /// The scope of the listing.
        scope: UsageScope,
    },
    /// The scan looked only for the users of another image.
    NotScanned {
        /// The image the scan was filtered to.
        scanned: ImageId,
    },
    /// The listing saw only the caller's tenant, and the check of who else
    /// may use the image ([`ImageCatalog::audience`](crate::ImageCatalog::audience))
    /// failed.
    AudienceUnknown {
        /// The error, as displayed.
        message: String,
    },
    /// No walk of the instance listing could prove it saw every instance
    /// (the listing shifted between pages, ended short of its total, or
    /// counted fewer instances than its total), within the walks and the
    /// time [`ScanLimits`] allow.
    InconsistentListing {
        /// How many walks were made.
        walks: u32,
        /// What the last walk's pages contradicted.
        detail: String,
    },
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownReason::NotSupported { message } => {
                write!(f, "instances cannot be listed: {message}")
            }
            UnknownReason::ListingFailed { message } => {
                write!(f, "the instance listing failed: {message}")
            }
            UnknownReason::UnresolvedInstances { instances, count } => write!(
                f,
                "{count} instance(s) boot from something that could not be resolved to an image: an unreadable volume or image reference ({})",
                instances.join(", ")
            ),
            UnknownReason::OutOfScope { scope } => write!(
                f,
                "the image is not private and the instance listing sees only {}",
                match scope {
                    UsageScope::AllTenants => "all tenants",
                    UsageScope::OwnTenant => "the caller's own tenant",
                }
            ),
            UnknownReason::AudienceUnknown { message } => write!(
                f,
                "the instance listing sees only the caller's own tenant and who else may use the image could not be checked: {message}"
            ),
            UnknownReason::NotScanned { scanned } => {
                write!(f, "the scan looked only for the users of image {scanned}")
            }
            UnknownReason::InconsistentListing { walks, detail } => write!(
                f,
                "no walk of the instance listing came out consistent ({walks} walk(s); last: {detail})"
            ),
        }
    }
}

/// The answer for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "usage", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageUsage {
    /// These instances use it.
    InUse {
        /// Who, in listing order.
        instances: Vec<InstanceUse>,
    },
    /// No instance uses it, and the listing was complete enough to say so.
    NotInUse,
    /// Nobody can tell; never treat as unused.
    Unknown {
        /// Why.
        #[serde(flatten)]
        reason: UnknownReason,
    },
}

impl ImageUsage {
    /// `in_use`, `not_in_use` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ImageUsage::InUse { .. } => "in_use",
            ImageUsage::NotInUse => "not_in_use",
            ImageUsage::Unknown { .. } => "unknown",
        }
    }

    /// Whether the image is known to be unused (the only answer that
    /// allows a delete).
    pub fn is_known_unused(&self) -> bool {
        matches!(self, ImageUsage::NotInUse)
    }
}

/// How hard a usage scan tries to get one consistent walk of the instance
/// listing: a walk whose pages contradict each other starts a fresh one,
/// up to `max_walks` walks, and none is started after `max_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanLimits {
    /// The most walks (at least 1). Default 3.
    pub max_walks: u32,
    /// No walk starts once this much time has passed since the first
    /// began. Default 2 minutes.
    pub max_time: std::time::Duration,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            max_walks: 3,
            max_time: std::time::Duration::from_secs(120),
        }
    }
}

impl ScanLimits {
    /// Sets the most walks (at least 1).
    pub fn max_walks(mut self, walks: u32) -> Self {
        self.max_walks = walks.max(1);
        self
    }

    /// Sets the time after which no walk starts.
    pub fn max_time(mut self, time: std::time::Duration) -> Self {
        self.max_time = time;
        self
    }
}

/// How many unresolved instance ids a reason keeps.
const UNRESOLVED_KEPT: usize = 5;

/// A whole instance listing folded into an index from image to users; ask
/// it about any image with [`UsageScan::usage_of`].
///
/// ```
/// use imagecat_core::{BackendKind, Image, ImageId, ImageStatus, Visibility};
/// use imagecat_core::usage::{ImageUsage, InstanceRef, UsageScan, UsageScope};
///
/// let mut scan = UsageScan::new(UsageScope::AllTenants);
/// scan.record(InstanceRef::booting("i-1", "running", ImageId::new("wmi-a")));
/// scan.finish();
/// let a = Image::new("wmi-a", BackendKind::Dcmgr, ImageStatus::Active, "available");
/// let b = Image::new("wmi-b", BackendKind::Dcmgr, ImageStatus::Active, "available");
/// assert_eq!(scan.usage_of(&a).as_str(), "in_use");
/// assert_eq!(scan.usage_of(&b), ImageUsage::NotInUse);
/// ```
#[derive(Debug, Clone)]
pub struct UsageScan {
    scope: UsageScope,
    users: HashMap<ImageId, Vec<InstanceUse>>,
    unresolved: Vec<String>,
    unresolved_count: usize,
    failure: Option<UnknownReason>,
    complete: bool,
    instances: usize,
    only: Option<ImageId>,
    ids: IdRule,
}

impl UsageScan {
    /// An empty scan of a listing with this scope. Until
    /// [`finish`](Self::finish) is called every image without a recorded
    /// user is unknown (the listing may not be over).
    pub fn new(scope: UsageScope) -> Self {
        UsageScan {
            scope,
            users: HashMap::new(),
            unresolved: Vec::new(),
            unresolved_count: 0,
            failure: None,
            complete: false,
            instances: 0,
            only: None,
            ids: IdRule::Exact,
        }
    }

    /// Sets the backend's identity rule (builder style): recorded image
    /// references and the images asked about are compared in its
    /// canonical form, and a reference it cannot read is unresolved.
    pub fn with_ids(mut self, rule: IdRule) -> Self {
        self.ids = rule;
        self
    }

    /// Narrows the scope (the listing's pages saw less than expected).
    pub fn narrow(&mut self, scope: UsageScope) {
        self.scope = self.scope.narrowest(scope);
    }

    /// Says the listing looked only for the users of this image: every
    /// other image without a recorded user is unknown.
    pub fn restrict_to(&mut self, image: ImageId) {
        self.only = Some(image);
    }

    /// A scan that could not run at all: every answer not already known is
    /// unknown for this reason.
    pub fn unavailable(reason: UnknownReason) -> Self {
        let mut scan = Self::new(UsageScope::OwnTenant);
        scan.failure = Some(reason);
        scan
    }

    /// Records one listed instance, its image reference in the canonical
    /// form of the identity rule (unresolved when the rule cannot read it).
    pub fn record(&mut self, instance: InstanceRef) {
        self.instances += 1;
        match self.ids.resolve(instance.boot) {
            BootSource::Image { id, via } => {
                self.users.entry(id).or_default().push(InstanceUse {
                    instance_id: instance.id,
                    name: instance.name,
                    status: instance.status,
                    via,
                });
            }
            BootSource::NoImage => {}
            BootSource::Unresolved { .. } => {
                self.unresolved_count += 1;
                if self.unresolved.len() < UNRESOLVED_KEPT {
                    self.unresolved.push(instance.id);
                }
            }
        }
    }

    /// Records that the listing failed: images with a recorded user stay in
    /// use, every other answer becomes unknown.
    pub fn fail(&mut self, error: &Error) {
        let reason = match error.kind() {
            crate::ErrorKind::NotSupported => UnknownReason::NotSupported {
                message: error.to_string(),
            },
            _ => UnknownReason::ListingFailed {
                message: error.to_string(),
            },
        };
        self.failure.get_or_insert(reason);
    }

    /// Records that no walk came out consistent: images with a recorded
    /// user stay in use, every other answer becomes unknown.
    pub fn inconsistent(&mut self, walks: u32, detail: impl Into<String>) {
        self.failure
            .get_or_insert(UnknownReason::InconsistentListing {
                walks,
                detail: detail.into(),
            });
    }

    /// Takes in what an earlier walk of the same listing saw that makes an
    /// answer less certain: its users (an image seen in use in any walk
    /// stays in use) and its unresolved instances.
    pub fn absorb(&mut self, earlier: &UsageScan) {
        for (image, uses) in &earlier.users {
            let known = self.users.entry(image.clone()).or_default();
            for user in uses {
                if !known.iter().any(|u| u.instance_id == user.instance_id) {
                    known.push(user.clone());
                }
            }
        }
        for id in &earlier.unresolved {
            if !self.unresolved.contains(id) {
                self.unresolved_count += 1;
                if self.unresolved.len() < UNRESOLVED_KEPT {
                    self.unresolved.push(id.clone());
                }
            }
        }
        self.scope = self.scope.narrowest(earlier.scope);
    }

    /// Marks the listing as complete (every page was read).
    pub fn finish(&mut self) {
        self.complete = true;
    }

    /// The scope of the listing.
    pub fn scope(&self) -> UsageScope {
        self.scope
    }

    /// How many instances were recorded.
    pub fn instance_count(&self) -> usize {
        self.instances
    }

    /// Whether the listing is complete and no failure was recorded.
    pub fn is_complete(&self) -> bool {
        self.complete && self.failure.is_none()
    }

    /// The ids of every image with at least one recorded user, in the
    /// identity rule's canonical form.
    pub fn used_images(&self) -> impl Iterator<Item = &ImageId> {
        self.users.keys()
    }

    /// The answer for one image. In use wins over everything (a recorded
    /// user is certain); otherwise any doubt — a failure, an unfinished
    /// listing, unresolved instances, a scope that cannot see who else may
    /// boot the image — makes it unknown.
    pub fn usage_of(&self, image: &Image) -> ImageUsage {
        if let Some(instances) = self.users.get(&self.ids.key_of(&image.id)) {
            return ImageUsage::InUse {
                instances: instances.clone(),
            };
        }
        if let Some(reason) = &self.failure {
            return ImageUsage::Unknown {
                reason: reason.clone(),
            };
        }
        if let Some(scanned) = self
            .only
            .as_ref()
            .filter(|only| !self.ids.same(only, &image.id))
        {
            return ImageUsage::Unknown {
                reason: UnknownReason::NotScanned {
                    scanned: scanned.clone(),
                },
            };
        }
        if !self.complete {
            return ImageUsage::Unknown {
                reason: UnknownReason::ListingFailed {
                    message: "the instance listing did not finish".into(),
                },
            };
        }
        if self.unresolved_count > 0 {
            return ImageUsage::Unknown {
                reason: UnknownReason::UnresolvedInstances {
                    instances: self.unresolved.clone(),
                    count: self.unresolved_count,
                },
            };
        }
        if self.scope == UsageScope::OwnTenant && image.visibility != Some(Visibility::Private) {
            return ImageUsage::Unknown {
                reason: UnknownReason::OutOfScope { scope: self.scope },
            };
        }
        ImageUsage::NotInUse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::model::{BackendKind, ImageStatus};

    fn image(id: &str, visibility: Visibility) -> Image {
        Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
            .with_visibility(visibility)
    }

    fn complete(scope: UsageScope, instances: Vec<InstanceRef>) -> UsageScan {
        let mut scan = UsageScan::new(scope);
        for i in instances {
            scan.record(i);
        }
        scan.finish();
        scan
    }

    #[test]
    fn a_recorded_user_is_in_use_and_others_are_not() {
        let scan = complete(
            UsageScope::AllTenants,
            vec![
                InstanceRef::booting("i-1", "running", "a".into()).with_name("web"),
                InstanceRef::booting("i-2", "stopped", "a".into()),
                InstanceRef::new("i-3", "running", BootSource::NoImage),
            ],
        );
        match scan.usage_of(&image("a", Visibility::Public)) {
            ImageUsage::InUse { instances } => {
                let ids: Vec<_> = instances.iter().map(|u| u.instance_id.as_str()).collect();
                assert_eq!(ids, ["i-1", "i-2"]);
                assert_eq!(instances[0].name.as_deref(), Some("web"));
            }
            other => panic!("expected in use, got {other:?}"),
        }
        assert_eq!(
            scan.usage_of(&image("b", Visibility::Public)),
            ImageUsage::NotInUse
        );
        assert_eq!(scan.instance_count(), 3);
    }

    #[test]
    fn an_unfinished_listing_is_unknown_never_unused() {
        let mut scan = UsageScan::new(UsageScope::AllTenants);
        scan.record(InstanceRef::booting("i-1", "running", "a".into()));
        assert!(matches!(
            scan.usage_of(&image("b", Visibility::Private)),
            ImageUsage::Unknown { .. }
        ));
        assert_eq!(
            scan.usage_of(&image("a", Visibility::Private)).as_str(),
            "in_use"
        );
    }

    #[test]
    fn a_failure_makes_unrecorded_images_unknown_but_keeps_known_users() {
        let mut scan = UsageScan::new(UsageScope::AllTenants);
        scan.record(InstanceRef::booting("i-1", "running", "a".into()));
        scan.fail(&Error::new(ErrorKind::Timeout, "page 3").with_backend(BackendKind::Memory));
        scan.finish();
        assert!(!scan.is_complete());
        assert_eq!(
            scan.usage_of(&image("a", Visibility::Private)).as_str(),
            "in_use"
        );
        match scan.usage_of(&image("b", Visibility::Private)) {
            ImageUsage::Unknown {
                reason: UnknownReason::ListingFailed { message },
            } => assert!(message.contains("page 3"), "{message}"),
            other => panic!("expected unknown, got {other:?}"),
        }
    }

    #[test]
    fn unresolved_volume_boots_make_every_other_image_unknown() {
        let scan = complete(
            UsageScope::AllTenants,
            vec![
                InstanceRef::booting("i-1", "ACTIVE", "a".into()),
                InstanceRef::new(
                    "i-2",
                    "ACTIVE",
                    BootSource::Unresolved {
                        reason: "volume v-1: 403".into(),
                    },
                ),
            ],
        );
        assert_eq!(
            scan.usage_of(&image("a", Visibility::Private)).as_str(),
            "in_use"
        );
        match scan.usage_of(&image("b", Visibility::Private)) {
            ImageUsage::Unknown {
                reason: UnknownReason::UnresolvedInstances { instances, count },
            } => {
                assert_eq!(instances, ["i-2"]);
                assert_eq!(count, 1);
            }
            other => panic!("expected unknown, got {other:?}"),
        }
    }

    #[test]
    fn an_own_tenant_scope_knows_only_private_images() {
        let scan = complete(UsageScope::OwnTenant, vec![]);
        assert_eq!(
            scan.usage_of(&image("p", Visibility::Private)),
            ImageUsage::NotInUse
        );
        for v in [
            Visibility::Public,
            Visibility::Shared,
            Visibility::Community,
        ] {
            assert_eq!(
                scan.usage_of(&image("x", v)),
                ImageUsage::Unknown {
                    reason: UnknownReason::OutOfScope {
                        scope: UsageScope::OwnTenant
                    }
                },
                "{v:?}"
            );
        }
        let mut no_visibility = image("n", Visibility::Private);
        no_visibility.visibility = None;
        assert_eq!(scan.usage_of(&no_visibility).as_str(), "unknown");
    }

    #[test]
    fn an_unavailable_scan_is_unknown_with_its_reason() {
        let scan = UsageScan::unavailable(UnknownReason::NotSupported {
            message: "no compute endpoint".into(),
        });
        let usage = scan.usage_of(&image("a", Visibility::Private));
        assert!(!usage.is_known_unused());
        assert!(
            matches!(&usage, ImageUsage::Unknown { reason: UnknownReason::NotSupported { message } } if message.contains("compute"))
        );
    }

    #[test]
    fn answers_serialise_with_a_usage_tag() {
        let usage = ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope {
                scope: UsageScope::OwnTenant,
            },
        };
        let json = serde_json::to_value(&usage).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"usage": "unknown", "reason": "out_of_scope", "scope": "own_tenant"})
        );
        let back: ImageUsage = serde_json::from_value(json).unwrap();
        assert_eq!(back, usage);
    }

    #[test]
    fn references_are_compared_by_the_backends_identity_rule() {
        const A: &str = "8b9f8d47-0000-4000-8000-00000000000a";
        const B: &str = "8b9f8d47-0000-4000-8000-00000000000b";
        let spellings = [
            A.to_ascii_uppercase(),
            format!("  {A} "),
            format!("https://nova/v2.1/images/{}", A.to_ascii_uppercase()),
        ];
        let mut scan = UsageScan::new(UsageScope::AllTenants).with_ids(IdRule::Uuid);
        for (k, s) in spellings.iter().enumerate() {
            scan.record(InstanceRef::booting(
                format!("i-{k}"),
                "ACTIVE",
                s.as_str().into(),
            ));
        }
        scan.finish();
        // the catalog's own spelling of the image differs too
        match scan.usage_of(&image(&A.to_ascii_uppercase(), Visibility::Private)) {
            ImageUsage::InUse { instances } => assert_eq!(instances.len(), 3),
            other => panic!("expected in use, got {other:?}"),
        }
        assert_eq!(
            scan.usage_of(&image(B, Visibility::Private)),
            ImageUsage::NotInUse
        );
        assert_eq!(
            scan.used_images().map(ImageId::as_str).collect::<Vec<_>>(),
            [A]
        );

        // a reference the rule cannot read may be any image: unknown
        scan.record(InstanceRef::booting(
            "i-x",
            "ACTIVE",
            "https://nova/v2.1/flavors/1".into(),
        ));
        match scan.usage_of(&image(B, Visibility::Private)) {
            ImageUsage::Unknown {
                reason: UnknownReason::UnresolvedInstances { instances, count },
            } => assert_eq!((instances, count), (vec!["i-x".to_owned()], 1)),
            other => panic!("expected unknown, got {other:?}"),
        }

        // a scan restricted to one image knows it in any spelling
        let mut only = complete(UsageScope::AllTenants, vec![]).with_ids(IdRule::Uuid);
        only.restrict_to(A.to_ascii_uppercase().into());
        assert_eq!(
            only.usage_of(&image(A, Visibility::Private)),
            ImageUsage::NotInUse
        );
        assert_eq!(
            only.usage_of(&image(B, Visibility::Private)).as_str(),
            "unknown"
        );
    }
}

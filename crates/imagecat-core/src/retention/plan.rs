//! The planner: lists each catalog once, groups its images into families
//! and decides, with reasons, which are kept and which are deleted. The
//! [`Plan`] it returns is the single source of truth: it is printed, saved
//! and applied as it is.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::identity::{CatalogIdentity, identify};
use super::policy::{Mode, PolicyError, RetentionPolicy};
use super::usage_scan;
use crate::catalog::{Capabilities, DeleteDetail, DeleteOptions, DynImageCatalog};
use crate::error::Error;
use crate::ext::ImageCatalogExt;
use crate::family::{family_key, family_of};
use crate::model::{BackendKind, Image, ImageId, ImageStatus, Visibility};
use crate::retire::{Retirement, last_launched, retirement};
use crate::usage::{ImageUsage, UsageScan};

/// The version of the plan format written by this build. Version 2 added
/// the identity of each catalog ([`Plan::catalogs`]); a version-1 plan is
/// refused (it cannot say which catalog it was made on).
pub const PLAN_VERSION: u32 = 2;

/// The version of a plan that retires images or deletes retired ones
/// (its policy has `retire` or `delete_retired_after`, its entries may
/// `retire`): an older imagecat, which reads version 2 only, refuses it by
/// its version rather than misreading it. Delete plans stay version 2.
pub const RETIRE_PLAN_VERSION: u32 = 3;

/// One catalog to plan: its name (as the plan records it), the catalog,
/// and who the caller is there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanTarget {
    /// The name the plan records (`--catalog` spec or config name).
    pub name: String,
    /// The catalog.
    pub catalog: DynImageCatalog,
    /// The caller's owner id on this catalog (project, account). `None`
    /// falls back to the policy's `owner`; when neither is known, no image
    /// counts as owned by the caller and nothing is deleted.
    pub caller: Option<String>,
}

impl PlanTarget {
    /// A catalog to plan under a name.
    pub fn new(name: impl Into<String>, catalog: DynImageCatalog) -> Self {
        PlanTarget {
            name: name.into(),
            catalog,
            caller: None,
        }
    }

    /// Sets who the caller is on this catalog.
    pub fn caller(mut self, owner: impl Into<String>) -> Self {
        self.caller = Some(owner.into());
        self
    }
}

/// What the plan does with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Left alone.
    Keep,
    /// Deleted by an apply (after a re-check).
    Delete,
    /// Retired by an apply (after a re-check): reversibly unusable, its
    /// retired-at time stamped on it (see [`crate::retire`]).
    Retire,
}

impl Action {
    /// The word used in output (`delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Delete => "delete",
            Action::Retire => "retire",
        }
    }
}

/// Why an image is kept or deleted: the documented vocabulary of
/// `reasons` (kebab-case in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// One of the newest `keep` of its family.
    Newest,
    /// Younger than `older_than`.
    YoungerThan,
    /// No created time: its age and rank are unknown.
    Undated,
    /// Protected.
    Protected,
    /// Not owned by the caller.
    NotOwned,
    /// In use by an instance.
    InUse,
    /// Its usage is unknown.
    UsageUnknown,
    /// Already deleted.
    AlreadyDeleted,
    /// Changed since the plan (id, status or updated time).
    Changed,
    /// Selected for deletion by the policy.
    Selected,
    /// A saved plan's delete whose own reasons are not `selected` (the
    /// file was edited): never deleted.
    ContradictsReasons,
    /// A saved plan's delete that the plan's policy, evaluated again at
    /// apply time, does not select at all: never deleted.
    NotSelected,
    /// An image named more than once in a saved plan (same catalog and
    /// id): never deleted; or the same catalog and id came earlier in this
    /// run (one DELETE per image and run, whatever the input says).
    Duplicate,
    /// The run stopped before this delete (cancelled, or the audit log
    /// could not be written): nothing was sent for it.
    Stopped,
    /// The backend cannot retire images: nothing is planned on it.
    RetireNotSupported,
    /// Retiring: it is retired already.
    AlreadyRetired,
    /// Deleting retired images: it is not retired (no retired-at stamp).
    NotRetired,
    /// Deleting retired images: retired more recently than the age.
    RetiredRecently,
    /// Deleting retired images: it carries a stamp, but its retire was
    /// undone (reactivated, unhidden): someone wants it back.
    RetireUndone,
    /// Its retired-at stamp cannot be read.
    RetiredAtUnknown,
    /// Deleting retired images: the backend says it was launched after it
    /// was retired (EC2 `lastLaunchedTime`).
    LaunchedSinceRetired,
    /// Deleting retired images: its last-launched time cannot be read.
    LaunchUnknown,
}

impl Reason {
    /// The word used in output (`in-use`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Newest => "newest",
            Reason::YoungerThan => "younger-than",
            Reason::Undated => "undated",
            Reason::Protected => "protected",
            Reason::NotOwned => "not-owned",
            Reason::InUse => "in-use",
            Reason::UsageUnknown => "usage-unknown",
            Reason::AlreadyDeleted => "already-deleted",
            Reason::Changed => "changed",
            Reason::Selected => "selected",
            Reason::ContradictsReasons => "contradicts-reasons",
            Reason::NotSelected => "not-selected",
            Reason::Duplicate => "duplicate",
            Reason::Stopped => "stopped",
            Reason::RetireNotSupported => "retire-not-supported",
            Reason::AlreadyRetired => "already-retired",
            Reason::NotRetired => "not-retired",
            Reason::RetiredRecently => "retired-recently",
            Reason::RetireUndone => "retire-undone",
            Reason::RetiredAtUnknown => "retired-at-unknown",
            Reason::LaunchedSinceRetired => "launched-since-retired",
            Reason::LaunchUnknown => "launch-unknown",
        }
    }
}

/// What applying an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Deleted now.
    Deleted,
    /// It was already gone.
    AlreadyDeleted,
    /// Not deleted: kept by the plan, or a re-check refused it (`reasons`
    /// of the result say why).
    Skipped,
    /// The delete failed (`error` says why).
    Failed,
    /// The DELETE was sent and its answer was lost (the connection broke,
    /// a timeout, or the run stopped before it came): it may have happened.
    /// `lookup` says what a follow-up look-up found.
    Unknown,
    /// Retired now (the plan's `retire`).
    Retired,
}

impl Outcome {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deleted => "deleted",
            Outcome::AlreadyDeleted => "already_deleted",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::Retired => "retired",
        }
    }
}

/// What the look-up after a lost DELETE answer found (never a retry). The
/// outcome stays [`Outcome::Unknown`] whatever it found: an image gone may
/// have been deleted by someone else, one still there may yet be deleted by
/// the request the server has not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Lookup {
    /// The backend proved the image gone (its own not-found document, or a
    /// deleted status): deleted, probably by this request.
    Gone,
    /// The image was still there at the look-up: not deleted so far.
    Present,
    /// The look-up failed or proved nothing (a bare 404, a status that says
    /// neither gone nor untouched).
    Failed,
}

impl Lookup {
    /// The word used in output and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Gone => "gone",
            Lookup::Present => "present",
            Lookup::Failed => "failed",
        }
    }
}

/// One considered image and what the plan does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanEntry {
    /// The catalog's name.
    pub catalog: String,
    /// The backend.
    pub backend: BackendKind,
    /// The image id.
    pub id: ImageId,
    /// Its name.
    pub name: Option<String>,
    /// Its family under the policy's grouping (`None`: a family of its own).
    pub family: Option<String>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last updated (re-checked before a delete).
    pub updated_at: Option<DateTime<Utc>>,
    /// Its status (re-checked before a delete).
    pub status: ImageStatus,
    /// Its size in bytes as the catalog reported it (`None`: unknown, and
    /// counted as unknown in [`Plan::sizes`], never as zero). Absent from a
    /// plan saved before sizes were recorded: read as unknown.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// When it was retired, as stamped on it (`None`: not retired, or
    /// the backend cannot retire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
    /// The image a retire points it to, where the backend records a
    /// replacement (GCE): the newest of its family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<ImageId>,
    /// Keep, delete or retire.
    pub action: Action,
    /// Why, from the vocabulary of [`Reason`].
    pub reasons: Vec<Reason>,
    /// After an apply: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Outcome>,
    /// After an apply: why a planned delete was skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_reasons: Vec<Reason>,
    /// After an apply: the error of a failed delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// After an apply: what the look-up after a lost DELETE answer found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    /// After an apply: every other resource the delete touched (EC2's
    /// snapshots) and what happened to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<DeleteDetail>,
}

/// A plan: the policy, when it was made, and one entry per considered
/// image, catalog by catalog. Serde JSON, so it can be saved and applied
/// later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The format version ([`PLAN_VERSION`]).
    pub version: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The policy it applies.
    pub policy: RetentionPolicy,
    /// Who the caller was on each catalog ([`PlanTarget::caller`]), when
    /// not the policy's `owner`; the apply re-checks ownership with it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub callers: BTreeMap<String, String>,
    /// The identity of each catalog it was made on (endpoint and account,
    /// never a secret), by catalog name: an apply refuses a catalog of the
    /// same name but another identity.
    #[serde(default)]
    pub catalogs: BTreeMap<String, CatalogIdentity>,
    /// How its deletes run (`--keep-snapshots`): recorded when the plan is
    /// made, so the apply does what the plan said.
    #[serde(default, skip_serializing_if = "DeleteOptions::is_default")]
    pub delete: DeleteOptions,
    /// The considered images.
    pub entries: Vec<PlanEntry>,
}

impl Plan {
    /// The entries to delete.
    pub fn deletes(&self) -> impl Iterator<Item = &PlanEntry> {
        self.entries.iter().filter(|e| e.action == Action::Delete)
    }

    /// The entries an apply acts on: deletes and retires.
    pub fn acting(&self) -> impl Iterator<Item = &PlanEntry> {
        self.entries.iter().filter(|e| e.action != Action::Keep)
    }

    /// The version a plan of this policy must carry:
    /// [`RETIRE_PLAN_VERSION`] when it retires or deletes retired images,
    /// else [`PLAN_VERSION`].
    pub fn version_for(policy: &RetentionPolicy) -> u32 {
        if policy.retire || policy.delete_retired_after.is_some() {
            RETIRE_PLAN_VERSION
        } else {
            PLAN_VERSION
        }
    }

    /// Whether this plan's version is the one its policy needs (a version
    /// 2 plan whose policy retires was edited, or made by no imagecat).
    pub fn version_ok(&self) -> bool {
        self.version == Self::version_for(&self.policy)
            && (self.version == RETIRE_PLAN_VERSION
                || self.acting().all(|e| e.action == Action::Delete))
    }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A catalog's listing failed: no plan is made on a partial listing.
    #[error("{catalog}: {source}")]
    List {
        /// The catalog's name.
        catalog: String,
        /// The error.
        source: Error,
    },
    /// A catalog is not the one the plan was made on.
    #[error(
        "{catalog}: the plan was made on {planned}, but this catalog is {now}; refusing to apply it here"
    )]
    Identity {
        /// The catalog's name.
        catalog: String,
        /// The identity the plan recorded.
        planned: Box<CatalogIdentity>,
        /// The identity of the catalog now open under that name.
        now: Box<CatalogIdentity>,
    },
    /// The plan records no identity for a catalog it has deletes on.
    #[error("{catalog}: the plan records no identity for this catalog; make a new plan")]
    Unbound {
        /// The catalog's name.
        catalog: String,
    },
    /// A catalog cannot retire the way the policy asks.
    #[error("{catalog}: {source}")]
    Retire {
        /// The catalog's name.
        catalog: String,
        /// The error (`InvalidInput` naming the backend's ways).
        source: Error,
    },
}

/// Plans every target separately (each its own families, its own usage
/// scan) with one listing each, at `now`.
pub async fn plan(
    policy: &RetentionPolicy,
    targets: &[PlanTarget],
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    policy.validate()?;
    let mut entries = Vec::new();
    let mut callers = BTreeMap::new();
    let mut catalogs = BTreeMap::new();
    for target in targets {
        let identity = identify(&target.catalog)
            .await
            .map_err(|source| PlanError::List {
                catalog: target.name.clone(),
                source,
            })?;
        catalogs.insert(target.name.clone(), identity);
        if let Some(caller) = &target.caller {
            callers.insert(target.name.clone(), caller.clone());
        }
        let images: Vec<Image> = target
            .catalog
            .list(policy.query())
            .try_collect()
            .await
            .map_err(|source| PlanError::List {
                catalog: target.name.clone(),
                source,
            })?;
        let scan = usage_scan(&target.catalog, None).await;
        entries.extend(plan_catalog(policy, target, images, &scan, now).await?);
    }
    Ok(Plan {
        version: Plan::version_for(policy),
        created_at: now,
        policy: policy.clone(),
        callers,
        catalogs,
        delete: DeleteOptions::default(),
        entries,
    })
}

/// The caller on a target: its own, else the policy's owner.
pub(super) fn caller<'a>(policy: &'a RetentionPolicy, target: &'a PlanTarget) -> Option<&'a str> {
    target.caller.as_deref().or(policy.owner.as_deref())
}

/// Whether the image belongs to the caller. Where the image names an
/// owner (DCMGR `account_id`, Glance `owner`, memory), it must equal the
/// caller. TOAST v1.0 records name no owner, but its listing is scoped to
/// the caller's appkey: there an image is the caller's when it is private
/// (`isPublic: false`), and a public image is the provider's. Anything else
/// (no owner, no caller, unknown visibility) is not owned.
pub fn owned_by_caller(image: &Image, caller: Option<&str>) -> bool {
    match (&image.owner, image.backend) {
        (Some(owner), _) => caller == Some(owner.as_str()),
        (None, BackendKind::Toast) => image.visibility == Some(Visibility::Private),
        (None, _) => false,
    }
}

/// The reasons that forbid deleting this image now, whatever the policy.
pub(super) fn blockers(
    image: &Image,
    caller: Option<&str>,
    usage: &ImageUsage,
    allow_unknown_usage: bool,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if image.status == ImageStatus::Deleted {
        reasons.push(Reason::AlreadyDeleted);
    }
    if image.protected == Some(true) {
        reasons.push(Reason::Protected);
    }
    if !owned_by_caller(image, caller) {
        reasons.push(Reason::NotOwned);
    }
    match usage {
        ImageUsage::InUse { .. } => reasons.push(Reason::InUse),
        ImageUsage::Unknown { .. } if !allow_unknown_usage => reasons.push(Reason::UsageUnknown),
        _ => {}
    }
    reasons
}

/// The reasons the policy's mode (retire, delete retired) keeps this
/// image, before any other rule: planner and re-check alike.
pub(super) fn mode_gate(
    mode: Mode,
    caps: &Capabilities,
    image: &Image,
    now: DateTime<Utc>,
) -> Vec<Reason> {
    let state = retirement(caps, image);
    let why = match (mode, state) {
        (Mode::Delete, _) => None,
        (_, Retirement::NotSupported) => Some(Reason::RetireNotSupported),
        (_, Retirement::Unreadable(_)) => Some(Reason::RetiredAtUnknown),
        (
            Mode::Retire,
            Retirement::Retired {
                in_effect: true, ..
            },
        ) => Some(Reason::AlreadyRetired),
        (Mode::Retire, _) => None,
        (Mode::DeleteRetired(_), Retirement::NotRetired) => Some(Reason::NotRetired),
        (
            Mode::DeleteRetired(_),
            Retirement::Retired {
                in_effect: false, ..
            },
        ) => Some(Reason::RetireUndone),
        (Mode::DeleteRetired(age), Retirement::Retired { at, .. }) => {
            // An unrepresentable cutoff keeps everything (validated before).
            let old_enough = now.checked_sub_signed(age).is_some_and(|cut| at <= cut);
            match last_launched(caps, image) {
                _ if !old_enough => Some(Reason::RetiredRecently),
                Err(_) => Some(Reason::LaunchUnknown),
                Ok(Some(launched)) if launched >= at => Some(Reason::LaunchedSinceRetired),
                Ok(_) => None,
            }
        }
    };
    why.into_iter().collect()
}

async fn plan_catalog(
    policy: &RetentionPolicy,
    target: &PlanTarget,
    images: Vec<Image>,
    scan: &UsageScan,
    now: DateTime<Utc>,
) -> Result<Vec<PlanEntry>, PlanError> {
    let keep = policy.keep.unwrap_or(0) as usize;
    let cutoff = policy.cutoff(now)?;
    let mode = policy.mode()?;
    let caller = caller(policy, target);
    let info = target.catalog.info();
    let caps = info.capabilities;
    if let (Mode::Retire, Some(support)) = (mode, caps.retire) {
        support
            .method(info.backend, policy.retire_method.as_deref())
            .map_err(|source| PlanError::Retire {
                catalog: target.name.clone(),
                source,
            })?;
    }
    let replaces = mode == Mode::Retire && caps.retire.is_some_and(|r| r.replacement);
    // Families in first-seen order; an image without a family is its own.
    let mut families: BTreeMap<String, Vec<(Option<String>, Image)>> = BTreeMap::new();
    for image in images {
        let family = family_of(&policy.group_by, &image);
        let key = match family_key(&policy.group_by, &image) {
            Some(f) => format!("f:{f}"),
            None => format!("i:{}", image.id),
        };
        families.entry(key).or_default().push((family, image));
    }
    let mut entries = Vec::new();
    for (_, mut members) in families {
        // Newest first; undated images rank last and are never aged.
        members.sort_by_key(|(_, image)| std::cmp::Reverse(image.created_at));
        // The family's newest usable image: what a retired one points to.
        let newest = members
            .iter()
            .map(|(_, image)| image)
            .find(|i| {
                i.status == ImageStatus::Active
                    && i.created_at.is_some()
                    && !matches!(retirement(&caps, i), Retirement::Retired { .. })
            })
            .map(|i| i.id.clone());
        for (rank, (family, image)) in members.into_iter().enumerate() {
            let mut reasons = mode_gate(mode, &caps, &image, now);
            if reasons.is_empty() {
                match image.created_at {
                    None => reasons.push(Reason::Undated),
                    Some(_) if rank < keep => reasons.push(Reason::Newest),
                    Some(at) if cutoff.is_some_and(|c| at > c) => reasons.push(Reason::YoungerThan),
                    Some(_) => {}
                }
            }
            if reasons.is_empty() {
                // a candidate: the backend may settle an answer the scan's
                // own-tenant view leaves unknown (who else may use it)
                let usage = target.catalog.candidate_usage(scan, &image).await;
                reasons = blockers(&image, caller, &usage, policy.allow_unknown_usage);
            }
            let action = if reasons.is_empty() {
                reasons.push(Reason::Selected);
                match mode {
                    Mode::Retire => Action::Retire,
                    _ => Action::Delete,
                }
            } else {
                Action::Keep
            };
            let replacement = newest
                .clone()
                .filter(|n| replaces && action == Action::Retire && *n != image.id);
            entries.push(PlanEntry {
                catalog: target.name.clone(),
                backend: image.backend,
                retired_at: retirement(&caps, &image).at(),
                replacement,
                id: image.id,
                name: image.name,
                family,
                created_at: image.created_at,
                updated_at: image.updated_at,
                status: image.status,
                size_bytes: image.size_bytes,
                action,
                reasons,
                result: None,
                skip_reasons: Vec::new(),
                lookup: None,
                error: None,
                details: Vec::new(),
            });
        }
    }
    Ok(entries)
}

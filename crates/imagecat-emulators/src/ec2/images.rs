//! The AMI and snapshot operations: DescribeImages (owners, ids,
//! executable-by, filters, real paging, deprecated and disabled
//! visibility), DeregisterImage (with DeleteAssociatedSnapshots),
//! Enable/DisableImage, Enable/DisableImageDeprecation,
//! Enable/DisableImageDeregistrationProtection, DescribeImageAttribute, ModifyImageAttribute (launch permissions),
//! CreateTags/DeleteTags, DescribeSnapshots and DeleteSnapshot.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::data::{Ec2Image, RegionState};
use super::handlers::Ctx;
use super::page::{page_size, take};
use super::query::{ApiError, ApiResult, Filter, Params};
use super::wire::{Xml, bool_str, image_item, iso, iso_minute, snapshot_item};

/// The filters DescribeImages knows (any other is `InvalidParameterValue`).
const IMAGE_FILTERS: [&str; 22] = [
    "name",
    "tag-key",
    "state",
    "is-public",
    "owner-id",
    "owner-alias",
    "image-id",
    "architecture",
    "description",
    "image-type",
    "platform",
    "root-device-type",
    "root-device-name",
    "virtualization-type",
    "creation-date",
    "boot-mode",
    "hypervisor",
    "block-device-mapping.snapshot-id",
    "block-device-mapping.volume-size",
    "block-device-mapping.device-name",
    "source-image-id",
    "source-image-region",
];

/// `ami-` and hex digits; `InvalidAMIID.Malformed` otherwise.
pub(crate) fn check_ami(id: &str) -> ApiResult<()> {
    well_formed(id, "ami").then_some(()).ok_or_else(|| {
        ApiError::bad(
            "InvalidAMIID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"ami-...\")"),
        )
    })
}

/// `prefix-` and 8 or 17 hex digits.
pub(crate) fn well_formed(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|h| {
            (h.len() == 8 || h.len() == 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

fn not_found(id: &str) -> ApiError {
    ApiError::bad(
        "InvalidAMIID.NotFound",
        format!("The image id '[{id}]' does not exist"),
    )
}

/// Whether the caller sees `i` at all (before Owner/ImageId selection).
fn visible(cx: &Ctx<'_>, i: &Ec2Image, deprecated: bool, disabled: bool) -> bool {
    let own = i.owner_id == cx.account;
    if !i.launchable_by(cx.account) {
        return false;
    }
    if i.state == "disabled" && !(own && disabled) {
        return false;
    }
    own || deprecated || !i.deprecated(cx.now)
}

fn owner_matches(cx: &Ctx<'_>, i: &Ec2Image, owner: &str) -> bool {
    match owner {
        "self" => i.owner_id == cx.account,
        "amazon" | "aws-marketplace" | "aws-backup-vault" => {
            i.owner_alias.as_deref() == Some(owner)
        }
        account => i.owner_id == account,
    }
}

fn filter_matches(f: &Filter, i: &Ec2Image) -> bool {
    let one = |v: &str| f.matches(v);
    let opt = |v: Option<&str>| v.is_some_and(|v| f.matches(v));
    if let Some(key) = f.name.strip_prefix("tag:") {
        return opt(i.tag(key));
    }
    match f.name.as_str() {
        "name" => one(&i.name),
        "tag-key" => f.matches_any(i.tags.iter().map(|(k, _)| k.as_str())),
        "state" => one(&i.state),
        "is-public" => one(bool_str(i.public)),
        "owner-id" => one(&i.owner_id),
        "owner-alias" => opt(i.owner_alias.as_deref()),
        "image-id" => one(&i.image_id),
        "architecture" => one(&i.architecture),
        "description" => opt(i.description.as_deref()),
        "image-type" => one("machine"),
        "platform" => opt(i.platform.as_deref()),
        "root-device-type" => one(&i.root_device_type),
        "root-device-name" => one(&i.root_device_name),
        "virtualization-type" => one(&i.virtualization_type),
        "creation-date" => one(&iso(&i.creation_date)),
        "boot-mode" => opt(i.boot_mode.as_deref()),
        "hypervisor" => one("xen"),
        "block-device-mapping.snapshot-id" => f.matches_any(i.snapshot_ids()),
        "block-device-mapping.volume-size" => {
            let sizes: Vec<String> = i
                .block_devices
                .iter()
                .map(|b| b.volume_size.to_string())
                .collect();
            f.matches_any(sizes.iter().map(String::as_str))
        }
        "block-device-mapping.device-name" => {
            f.matches_any(i.block_devices.iter().map(|b| b.device_name.as_str()))
        }
        "source-image-id" => opt(i.source_image_id.as_deref()),
        "source-image-region" => opt(i.source_image_region.as_deref()),
        _ => false,
    }
}

/// Checks filter names against `known` (plus `tag:K`).
pub(crate) fn check_filters(filters: &[Filter], known: &[&str]) -> ApiResult<()> {
    for f in filters {
        if !(f.name.starts_with("tag:") || known.contains(&f.name.as_str())) {
            return Err(ApiError::bad(
                "InvalidParameterValue",
                format!("The filter '{}' is invalid", f.name),
            ));
        }
    }
    Ok(())
}

/// DescribeImages.
pub(crate) fn describe_images(cx: &Ctx<'_>, r: &RegionState, p: &Params) -> ApiResult<String> {
    let ids = p.list("ImageId");
    let owners = p.list("Owner");
    let executable = p.list("ExecutableBy");
    let filters = p.filters()?;
    check_filters(&filters, &IMAGE_FILTERS)?;
    let deprecated = p.flag("IncludeDeprecated")?;
    let disabled = p.flag("IncludeDisabled")?;
    let size = page_size(p, "MaxResults", "maxResults", 5, 1000)?;
    if size.is_some() && !ids.is_empty() && cx.strict_image_ids {
        return Err(ApiError::bad(
            "InvalidParameterCombination",
            "The parameter imageIdsSet cannot be used with the parameter maxResults",
        ));
    }
    for id in &ids {
        check_ami(id)?;
        let registered = r.images.get(id).is_some_and(|i| visible(cx, i, true, true));
        if !registered && !r.deregistered.contains(id) {
            return Err(not_found(id));
        }
    }
    let after = match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Bound::Excluded(cx.tokens.decode("images", t, false)?),
        None => Bound::Unbounded,
    };
    // By id: O(ids), not a walk of the region (a `get` per AMI of a prune).
    let candidates: Box<dyn Iterator<Item = &Ec2Image>> = if ids.is_empty() {
        Box::new(
            r.images
                .range::<String, _>((after, Bound::Unbounded))
                .map(|(_, i)| i),
        )
    } else {
        let wanted: BTreeSet<&String> = ids
            .iter()
            .filter(|id| match &after {
                Bound::Excluded(key) => *id > key,
                _ => true,
            })
            .collect();
        Box::new(wanted.into_iter().filter_map(|id| r.images.get(id)))
    };
    let rest = candidates
        .filter(|i| visible(cx, i, deprecated || !ids.is_empty(), disabled))
        .filter(|i| owners.is_empty() || owners.iter().any(|o| owner_matches(cx, i, o)))
        .filter(|i| {
            executable.is_empty()
                || executable.iter().any(|e| match e.as_str() {
                    "all" => i.public,
                    "self" => i.launchable_by(cx.account),
                    account => i.launchable_by(account),
                })
        })
        .filter(|i| filters.iter().all(|f| filter_matches(f, i)));
    let (page, next) = take(rest, size, cx.token_at_end, |i| i.image_id.clone());
    let mut x = Xml::default();
    x.open("imagesSet");
    for i in page {
        image_item(&mut x, i);
    }
    x.close("imagesSet");
    if let Some(key) = next {
        x.el("nextToken", &cx.tokens.encode("images", &key));
    }
    Ok(x.0)
}

/// The caller's own registered AMI `id`, or the error EC2 gives.
fn own_image<'a>(cx: &Ctx<'_>, r: &'a mut RegionState, id: &str) -> ApiResult<&'a mut Ec2Image> {
    check_ami(id)?;
    if r.deregistered.contains(id) {
        return Err(ApiError::bad(
            "InvalidAMIID.Unavailable",
            format!("The image id '[{id}]' is no longer available"),
        ));
    }
    match r.images.get_mut(id) {
        None => Err(not_found(id)),
        Some(i) if i.owner_id != cx.account => Err(ApiError::bad(
            "AuthFailure",
            format!("Not authorized for image:{id}"),
        )),
        Some(i) => Ok(i),
    }
}

/// DeregisterImage (and DeleteAssociatedSnapshots).
pub(crate) fn deregister_image(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let delete_snapshots = p.flag("DeleteAssociatedSnapshots")?;
    let image = own_image(cx, r, &id)?;
    if image.protected() {
        return Err(ApiError::bad(
            "OperationNotPermitted",
            format!(
                "The image {id} cannot be deregistered because deregistration protection is enabled. Disable deregistration protection first."
            ),
        ));
    }
    if cx.dry_run {
        return Err(dry_run());
    }
    let image = r.images.remove(&id).ok_or_else(|| not_found(&id))?;
    r.deregistered.insert(id.clone());
    let mut x = Xml::default();
    x.el("return", "true");
    if delete_snapshots {
        x.open("deleteSnapshotResultSet");
        for snap in image.snapshot_ids() {
            let code = if r.snapshot_users(snap, None).next().is_some() {
                "skipped"
            } else if r.snapshots.remove(snap).is_some() {
                "success"
            } else {
                "client-error"
            };
            x.open("item")
                .el("snapshotId", snap)
                .el("returnCode", code)
                .close("item");
        }
        x.close("deleteSnapshotResultSet");
    }
    Ok(x.0)
}

/// `DryRunOperation` (412), what a permitted dry run answers.
pub(crate) fn dry_run() -> ApiError {
    ApiError::new(
        412,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}

/// EnableImage / DisableImage.
pub(crate) fn set_enabled(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    enable: bool,
) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let image = own_image(cx, r, &id)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    if enable {
        if image.state == "disabled" {
            image.state = "available".to_owned();
        }
    } else {
        image.state = "disabled".to_owned();
        // Disabling removes every launch permission.
        image.public = false;
    }
    Ok("<return>true</return>".to_owned())
}

/// EnableImageDeprecation / DisableImageDeprecation.
pub(crate) fn set_deprecation(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    enable: bool,
) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let at = if enable {
        let raw = p.required("DeprecateAt")?;
        let at = DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ApiError::invalid_value("DeprecateAt", raw))?;
        if at < cx.now {
            return Err(ApiError::bad(
                "InvalidParameterValue",
                "The deprecation time cannot be in the past. Specify a time in the future.",
            ));
        }
        Some(at)
    } else {
        None
    };
    let image = own_image(cx, r, &id)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    image.deprecation_time = at.and_then(|t| {
        let minute = iso_minute(&t);
        DateTime::parse_from_rfc3339(&minute)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    });
    Ok("<return>true</return>".to_owned())
}

/// Enable/DisableImageDeregistrationProtection.
pub(crate) fn set_protection(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    enable: bool,
) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let cooldown = p.flag("WithCooldown")?;
    let image = own_image(cx, r, &id)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    image.deregistration_protection = Some(
        match (enable, cooldown) {
            (true, true) => "enabled-with-cooldown",
            (true, false) => "enabled",
            (false, _) => "disabled",
        }
        .to_owned(),
    );
    let ret = if enable { "enabled" } else { "disabled" };
    Ok(format!("<return>{ret}</return>"))
}

/// DescribeImageAttribute (description, lastLaunchedTime,
/// deregistrationProtection, launchPermission).
pub(crate) fn describe_image_attribute(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let attribute = p.required("Attribute")?.to_owned();
    let image = own_image(cx, r, &id)?;
    let mut x = Xml::default();
    x.el("imageId", &id);
    let value = |x: &mut Xml, name: &str, v: Option<String>| {
        x.open(name);
        if let Some(v) = v {
            x.el("value", &v);
        }
        x.close(name);
    };
    match attribute.as_str() {
        "description" => value(&mut x, "description", image.description.clone()),
        "lastLaunchedTime" => value(
            &mut x,
            "lastLaunchedTime",
            image.last_launched_time.as_ref().map(iso),
        ),
        "deregistrationProtection" => value(
            &mut x,
            "deregistrationProtection",
            image.deregistration_protection.clone(),
        ),
        "launchPermission" => {
            x.open("launchPermission");
            if image.public {
                x.open("item").el("group", "all").close("item");
            }
            for (kind, value) in &image.launch_permissions {
                x.open("item").el(kind, value).close("item");
            }
            x.close("launchPermission");
        }
        other => {
            return Err(ApiError::bad(
                "InvalidRequest",
                format!("The request received was invalid: attribute {other} is not supported"),
            ));
        }
    }
    Ok(x.0)
}

/// ModifyImageAttribute: launch permissions (`LaunchPermission.Add.N.*` /
/// `.Remove.N.*` with `UserId`, `Group`, `OrganizationArn`,
/// `OrganizationalUnitArn`, as boto3 and awscli send them; the older
/// `OperationType` + `UserId.N` / `UserGroup.N` form too) and
/// `Description.Value`.
pub(crate) fn modify_image_attribute(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let id = p.required("ImageId")?.to_owned();
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for (side, out) in [("Add", &mut add), ("Remove", &mut remove)] {
        for grant in p.nested("LaunchPermission").indexed(side).into_values() {
            for (name, value) in grant.pairs() {
                out.push(grant_of(name, value)?);
            }
        }
    }
    let legacy = p
        .list("UserId")
        .into_iter()
        .map(|v| ("UserId".to_owned(), v))
        .chain(
            p.list("UserGroup")
                .into_iter()
                .map(|v| ("Group".to_owned(), v)),
        )
        .map(|(name, value)| grant_of(&name, &value))
        .collect::<ApiResult<Vec<_>>>()?;
    if !legacy.is_empty() {
        match p.get("OperationType") {
            Some("add") => add.extend(legacy),
            Some("remove") => remove.extend(legacy),
            other => {
                return Err(ApiError::invalid_value(
                    "OperationType",
                    other.unwrap_or_default(),
                ));
            }
        }
    }
    let description = p.get("Description.Value").map(str::to_owned);
    if add.is_empty() && remove.is_empty() && description.is_none() {
        return Err(ApiError::bad(
            "InvalidParameterCombination",
            "No attributes specified.",
        ));
    }
    let image = own_image(cx, r, &id)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    for grant in add {
        match grant {
            Grant::All => image.public = true,
            Grant::Other(kind, value) => {
                if !image
                    .launch_permissions
                    .iter()
                    .any(|(k, v)| *k == kind && *v == value)
                {
                    image.launch_permissions.push((kind, value));
                }
            }
        }
    }
    for grant in remove {
        match grant {
            Grant::All => image.public = false,
            Grant::Other(kind, value) => image
                .launch_permissions
                .retain(|(k, v)| !(*k == kind && *v == value)),
        }
    }
    if let Some(description) = description {
        image.description = Some(description);
    }
    Ok("<return>true</return>".to_owned())
}

/// One launch permission of a ModifyImageAttribute request.
enum Grant {
    /// `Group=all`.
    All,
    /// (element name in answers, value).
    Other(String, String),
}

/// Reads one `LaunchPermission` member: AWS refuses an account id that is
/// not twelve digits and a group other than `all`.
fn grant_of(name: &str, value: &str) -> ApiResult<Grant> {
    let bad = || {
        ApiError::bad(
            "InvalidAMIAttributeItemValue",
            format!("Invalid attribute item value \"{value}\" for {name} item type."),
        )
    };
    match name {
        "Group" if value == "all" => Ok(Grant::All),
        "Group" => Err(bad()),
        "UserId" if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Grant::Other("userId".to_owned(), value.to_owned()))
        }
        "UserId" => Err(bad()),
        "OrganizationArn" if value.starts_with("arn:aws:organizations::") => {
            Ok(Grant::Other("organizationArn".to_owned(), value.to_owned()))
        }
        "OrganizationalUnitArn" if value.starts_with("arn:aws:organizations::") => Ok(
            Grant::Other("organizationalUnitArn".to_owned(), value.to_owned()),
        ),
        "OrganizationArn" | "OrganizationalUnitArn" => Err(bad()),
        other => Err(ApiError::bad(
            "UnknownParameter",
            format!("The parameter LaunchPermission.{other} is not recognized"),
        )),
    }
}

/// CreateTags / DeleteTags on AMIs, snapshots and instances.
pub(crate) fn tags(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    create: bool,
) -> ApiResult<String> {
    let resources = p.list("ResourceId");
    if resources.is_empty() {
        return Err(ApiError::missing("ResourceId"));
    }
    let given: Vec<(String, Option<String>)> = p
        .indexed("Tag")
        .into_values()
        .filter_map(|t| {
            let key = t.get("Key")?.to_owned();
            Some((key, t.get("Value").map(str::to_owned)))
        })
        .collect();
    for id in &resources {
        let known = r.images.get(id).is_some_and(|i| i.owner_id == cx.account)
            || r.snapshots.contains_key(id)
            || r.instances.contains_key(id);
        if !known {
            let code = match id.split('-').next() {
                Some("ami") => "InvalidAMIID.NotFound",
                Some("snap") => "InvalidSnapshot.NotFound",
                Some("i") => "InvalidInstanceID.NotFound",
                _ => "InvalidID",
            };
            return Err(ApiError::bad(code, format!("The ID '{id}' does not exist")));
        }
    }
    if cx.dry_run {
        return Err(dry_run());
    }
    for id in &resources {
        let tags = if let Some(i) = r.images.get_mut(id) {
            &mut i.tags
        } else if let Some(s) = r.snapshots.get_mut(id) {
            &mut s.tags
        } else if let Some(i) = r.instances.get_mut(id) {
            &mut i.tags
        } else {
            continue;
        };
        for (k, v) in &given {
            if create {
                let v = v.clone().unwrap_or_default();
                match tags.iter_mut().find(|(tk, _)| tk == k) {
                    Some(t) => t.1 = v,
                    None => tags.push((k.clone(), v)),
                }
            } else {
                tags.retain(|(tk, tv)| !(tk == k && v.as_ref().is_none_or(|v| v == tv)));
            }
        }
    }
    Ok("<return>true</return>".to_owned())
}

/// DescribeSnapshots.
pub(crate) fn describe_snapshots(cx: &Ctx<'_>, r: &RegionState, p: &Params) -> ApiResult<String> {
    let ids = p.list("SnapshotId");
    let owners = p.list("Owner");
    let filters = p.filters()?;
    check_filters(
        &filters,
        &[
            "snapshot-id",
            "status",
            "description",
            "owner-id",
            "volume-id",
            "volume-size",
        ],
    )?;
    let size = page_size(p, "MaxResults", "maxResults", 5, 1000)?;
    for id in &ids {
        if !r.snapshots.contains_key(id) {
            return Err(ApiError::bad(
                "InvalidSnapshot.NotFound",
                format!("The snapshot '{id}' does not exist."),
            ));
        }
    }
    let after = match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Bound::Excluded(cx.tokens.decode("snapshots", t, false)?),
        None => Bound::Unbounded,
    };
    let rest = r
        .snapshots
        .range::<String, _>((after, Bound::Unbounded))
        .map(|(_, s)| s)
        .filter(|s| s.owner_id == cx.account || !ids.is_empty())
        .filter(|s| ids.is_empty() || ids.contains(&s.snapshot_id))
        .filter(|s| {
            owners.is_empty()
                || owners
                    .iter()
                    .any(|o| (o == "self" && s.owner_id == cx.account) || *o == s.owner_id)
        })
        .filter(|s| {
            filters.iter().all(|f| match f.name.as_str() {
                "snapshot-id" => f.matches(&s.snapshot_id),
                "status" => f.matches("completed"),
                "description" => f.matches(&s.description),
                "owner-id" => f.matches(&s.owner_id),
                "volume-id" => f.matches(&s.volume_id),
                "volume-size" => f.matches(&s.volume_size.to_string()),
                tag => tag
                    .strip_prefix("tag:")
                    .and_then(|k| s.tags.iter().find(|(tk, _)| tk == k))
                    .is_some_and(|(_, v)| f.matches(v)),
            })
        });
    let (page, next) = take(rest, size, cx.token_at_end, |s| s.snapshot_id.clone());
    let mut x = Xml::default();
    x.open("snapshotSet");
    for s in page {
        snapshot_item(&mut x, s);
    }
    x.close("snapshotSet");
    if let Some(key) = next {
        x.el("nextToken", &cx.tokens.encode("snapshots", &key));
    }
    Ok(x.0)
}

/// DeleteSnapshot: `InvalidSnapshot.InUse` while a registered AMI uses it.
pub(crate) fn delete_snapshot(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let id = p.required("SnapshotId")?.to_owned();
    if !well_formed(&id, "snap") {
        return Err(ApiError::bad(
            "InvalidSnapshotID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"snap-...\")"),
        ));
    }
    let Some(snapshot) = r.snapshots.get(&id) else {
        // Real EC2 answers this with an empty message (moto's note).
        return Err(ApiError::bad("InvalidSnapshot.NotFound", ""));
    };
    if snapshot.owner_id != cx.account {
        return Err(ApiError::new(
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ));
    }
    if let Some(user) = r.snapshot_users(&id, None).next() {
        return Err(ApiError::bad(
            "InvalidSnapshot.InUse",
            format!("The snapshot {id} is currently in use by {}", user.image_id),
        ));
    }
    if cx.dry_run {
        return Err(dry_run());
    }
    r.snapshots.remove(&id);
    Ok("<return>true</return>".to_owned())
}

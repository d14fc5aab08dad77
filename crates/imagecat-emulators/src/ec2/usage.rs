//! What uses an AMI, on EC2's side: DescribeInstances (reservations,
//! states, filters, paging), RunInstances and TerminateInstances
//! (minimal), launch templates and their versions (paging, `resolve:ssm:`
//! kept verbatim, `ResolveAlias` resolved through the region's SSM
//! parameters), and DescribeImageReferences (instances, launch template
//! versions within `version-depth`, SSM parameters).

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::faults::InstanceFaults;

use super::data::{Ec2Instance, LaunchTemplate, LaunchTemplateVersion, RegionState};
use super::handlers::Ctx;
use super::images::{check_ami, check_filters, dry_run};
use super::page::{page_size, take};
use super::query::{ApiError, ApiResult, Params};
use super::wire::{Xml, instance_item, iso};

/// DescribeInstances: one `reservationSet` item a reservation, paged by
/// instance (a reservation is never split; a page may run over
/// `MaxResults` to finish one, as EC2's may), with the armed instance
/// faults (see [`Ec2Emulator::instance_faults`](super::Ec2Emulator::instance_faults)).
pub(crate) fn describe_instances(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    faults: &mut InstanceFaults,
) -> ApiResult<String> {
    let ids = p.list("InstanceId");
    let filters = p.filters()?;
    check_filters(
        &filters,
        &[
            "image-id",
            "instance-state-name",
            "instance-id",
            "instance-type",
            "reservation-id",
            "tag-key",
        ],
    )?;
    let size = page_size(p, "MaxResults", "maxResults", 5, 1000)?;
    if size.is_some() && !ids.is_empty() {
        return Err(ApiError::bad(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    for id in &ids {
        if r.instances.get(id).is_none_or(|i| i.owner_id != cx.account) {
            return Err(ApiError::bad(
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{id}' does not exist"),
            ));
        }
    }
    let keep = |i: &Ec2Instance| {
        i.owner_id == cx.account
            && (ids.is_empty() || ids.contains(&i.instance_id))
            && filters.iter().all(|f| match f.name.as_str() {
                "image-id" => f.matches(&i.image_id),
                "instance-state-name" => f.matches(&i.state),
                "instance-id" => f.matches(&i.instance_id),
                "instance-type" => f.matches(&i.instance_type),
                "reservation-id" => f.matches(&i.reservation_id),
                "tag-key" => f.matches_any(i.tags.iter().map(|(k, _)| k.as_str())),
                tag => tag
                    .strip_prefix("tag:")
                    .and_then(|k| i.tags.iter().find(|(tk, _)| tk == k))
                    .is_some_and(|(_, v)| f.matches(v)),
            })
    };
    let token = p.get("NextToken").filter(|t| !t.is_empty());
    let after = match token {
        Some(t) => Some(cx.tokens.decode("instances", t, false)?),
        None => None,
    };
    // The armed faults hit pages reaching past their row.
    let start = after.as_ref().map_or(0, |a| {
        r.instances
            .values()
            .filter(|i| keep(i) && i.reservation_id.as_str() <= a.as_str())
            .count() as u64
    });
    let reach = start.saturating_add(size.map_or(u64::MAX / 2, |s| s as u64));
    if reach > faults.past_row && faults.shifts > 0 {
        faults.shifts -= 1;
        shift(cx, r);
    }
    if reach > faults.past_row && faults.empty_pages > 0 {
        faults.empty_pages -= 1;
        let again = token.map_or_else(|| cx.tokens.encode("instances", ""), str::to_owned);
        return Ok(format!(
            "<reservationSet></reservationSet><nextToken>{again}</nextToken>"
        ));
    }
    // Reservations in id order, each with its matching instances.
    let mut reservations: BTreeMap<&str, Vec<&Ec2Instance>> = BTreeMap::new();
    for i in r.instances.values().filter(|i| keep(i)) {
        reservations.entry(&i.reservation_id).or_default().push(i);
    }
    let after = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut x = Xml::default();
    x.open("reservationSet");
    let mut served = 0usize;
    let mut next = None;
    let mut rest = reservations
        .range::<str, _>((after.as_ref().map(String::as_str), Bound::Unbounded))
        .peekable();
    while let Some((rid, instances)) = rest.next() {
        x.open("item")
            .el("reservationId", rid)
            .el("ownerId", cx.account)
            .el("groupSet", "")
            .open("instancesSet");
        for i in instances {
            instance_item(&mut x, i);
        }
        x.close("instancesSet").close("item");
        served += instances.len();
        let full = size.is_some_and(|s| served >= s);
        if full && (rest.peek().is_some() || cx.token_at_end) {
            next = Some((*rid).to_owned());
            break;
        }
    }
    x.close("reservationSet");
    if let Some(key) = next {
        x.el("nextToken", &cx.tokens.encode("instances", &key));
    }
    Ok(x.0)
}

/// The instance-listing shift: the caller's first live instance (id
/// order) ends, and one of the same AMI starts in a reservation that sorts
/// after every other.
fn shift(cx: &Ctx<'_>, r: &mut RegionState) {
    let Some(first) = r
        .instances
        .values_mut()
        .find(|i| i.owner_id == cx.account && i.state != "terminated")
    else {
        return;
    };
    first.state = "terminated".to_owned();
    let mut launched = first.clone();
    let n = cx
        .counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    launched.instance_id = format!("i-fffffff{n:010x}");
    launched.reservation_id = format!("r-fffffff{n:010x}");
    launched.state = "running".to_owned();
    launched.launch_time = cx.now;
    r.instances.insert(launched.instance_id.clone(), launched);
}

/// RunInstances: `ImageId` (or a launch template's), `MinCount`,
/// `MaxCount`, `InstanceType`; one reservation of running instances.
pub(crate) fn run_instances(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let template = p.nested("LaunchTemplate");
    let image_id = match p.get("ImageId") {
        Some(id) => id.to_owned(),
        None if !template.pairs().is_empty() => {
            let (lt, version) = find_template(cx, r, &template, "Version")?;
            let v = version_of(lt, version.as_deref().unwrap_or("$Default"))?;
            let id = v
                .image_id
                .clone()
                .ok_or_else(|| ApiError::missing("ImageId"))?;
            resolve_ssm(cx, r, &id)?.unwrap_or(id)
        }
        None => return Err(ApiError::missing("ImageId")),
    };
    check_ami(&image_id)?;
    let usable = r
        .images
        .get(&image_id)
        .is_some_and(|i| (i.owner_id == cx.account || i.public) && i.state == "available");
    if !usable {
        return Err(ApiError::bad(
            "InvalidAMIID.NotFound",
            format!("The image id '[{image_id}]' does not exist"),
        ));
    }
    let count = p.int("MaxCount")?.unwrap_or(1).clamp(1, 100) as usize;
    if cx.dry_run {
        return Err(dry_run());
    }
    let reservation = cx.new_id("r");
    let instance_type = p.get("InstanceType").unwrap_or("m1.small").to_owned();
    let mut x = Xml::default();
    x.el("reservationId", &reservation)
        .el("ownerId", cx.account)
        .el("groupSet", "")
        .open("instancesSet");
    for _ in 0..count {
        let instance = Ec2Instance {
            instance_id: cx.new_id("i"),
            reservation_id: reservation.clone(),
            owner_id: cx.account.to_owned(),
            image_id: image_id.clone(),
            state: "pending".to_owned(),
            instance_type: instance_type.clone(),
            launch_time: cx.now,
            tags: Vec::new(),
        };
        instance_item(&mut x, &instance);
        // It is running by the next call (EC2's pending is short).
        let mut stored = instance;
        stored.state = "running".to_owned();
        r.instances.insert(stored.instance_id.clone(), stored);
    }
    if let Some(image) = r.images.get_mut(&image_id) {
        image.last_launched_time = Some(cx.now);
    }
    x.close("instancesSet");
    Ok(x.0)
}

/// TerminateInstances: `shutting-down` now, `terminated` from then on.
pub(crate) fn terminate_instances(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let ids = p.list("InstanceId");
    if ids.is_empty() {
        return Err(ApiError::missing("InstanceId"));
    }
    for id in &ids {
        if r.instances.get(id).is_none_or(|i| i.owner_id != cx.account) {
            return Err(ApiError::bad(
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{id}' does not exist"),
            ));
        }
    }
    if cx.dry_run {
        return Err(dry_run());
    }
    let mut x = Xml::default();
    x.open("instancesSet");
    for id in &ids {
        if let Some(i) = r.instances.get_mut(id) {
            let before = (i.state_code(), i.state.clone());
            i.state = "terminated".to_owned();
            x.open("item")
                .el("instanceId", id)
                .open("currentState")
                .el("code", if before.0 == 48 { "48" } else { "32" })
                .el(
                    "name",
                    if before.0 == 48 {
                        "terminated"
                    } else {
                        "shutting-down"
                    },
                )
                .close("currentState")
                .open("previousState")
                .el("code", &before.0.to_string())
                .el("name", &before.1)
                .close("previousState")
                .close("item");
        }
    }
    x.close("instancesSet");
    Ok(x.0)
}

/// The template a request names by `LaunchTemplateId` or
/// `LaunchTemplateName`, and the version parameter `version_key` if any.
fn find_template<'a>(
    cx: &Ctx<'_>,
    r: &'a RegionState,
    p: &Params,
    version_key: &str,
) -> ApiResult<(&'a LaunchTemplate, Option<String>)> {
    let version = p.get(version_key).map(str::to_owned);
    let found = match (p.get("LaunchTemplateId"), p.get("LaunchTemplateName")) {
        (Some(id), _) => r.templates.get(id).filter(|t| t.owner_id == cx.account),
        (None, Some(name)) => r
            .templates
            .values()
            .find(|t| t.name == name && t.owner_id == cx.account),
        (None, None) => {
            return Err(ApiError::missing("LaunchTemplateId or LaunchTemplateName"));
        }
    };
    match found {
        Some(t) => Ok((t, version)),
        None => match p.get("LaunchTemplateId") {
            Some(id) => Err(ApiError::bad(
                "InvalidLaunchTemplateId.NotFound",
                format!("The specified launch template, with template ID {id}, does not exist."),
            )),
            None => Err(ApiError::bad(
                "InvalidLaunchTemplateName.NotFoundException",
                "The specified launch template, with template name, does not exist.",
            )),
        },
    }
}

/// Version `spec` (`3`, `$Latest`, `$Default`) of `lt`.
fn version_of<'a>(lt: &'a LaunchTemplate, spec: &str) -> ApiResult<&'a LaunchTemplateVersion> {
    let number = match spec {
        "$Latest" => lt.latest_version(),
        "$Default" => lt.default_version,
        n => n
            .parse::<u64>()
            .map_err(|_| ApiError::invalid_value("LaunchTemplateVersion", n))?,
    };
    lt.versions
        .iter()
        .find(|v| v.number == number)
        .ok_or_else(|| {
            ApiError::bad(
                "InvalidLaunchTemplateId.VersionNotFound",
                format!(
                    "Could not find launch template version {number} for launch template {}",
                    lt.id
                ),
            )
        })
}

/// An AMI id `resolve:ssm:NAME[:VERSION]` stands for now; `None` when the
/// value is not such a reference.
fn resolve_ssm(cx: &Ctx<'_>, r: &RegionState, value: &str) -> ApiResult<Option<String>> {
    let Some(reference) = value.strip_prefix("resolve:ssm:") else {
        return Ok(None);
    };
    let (name, version) = match reference.rsplit_once(':') {
        Some((n, v)) if v.parse::<usize>().is_ok() && !n.starts_with("arn") => {
            (n, v.parse::<usize>().ok())
        }
        _ => (reference, None),
    };
    let param = r
        .parameters
        .get(name)
        .filter(|p| p.owner_id == cx.account)
        .ok_or_else(|| {
            ApiError::bad(
                "InvalidParameterValue",
                format!("Unable to resolve the SSM parameter {name}"),
            )
        })?;
    let value = match version {
        Some(v) => param.values.get(v - 1),
        None => param.values.last(),
    };
    Ok(value.map(|(v, _)| v.clone()))
}

fn template_data(x: &mut Xml, v: &LaunchTemplateVersion, image: Option<&str>) {
    x.open("launchTemplateData")
        .opt("imageId", image.or(v.image_id.as_deref()))
        .opt("instanceType", v.instance_type.as_deref())
        .close("launchTemplateData");
}

fn template_item(x: &mut Xml, t: &LaunchTemplate) {
    x.open("item")
        .el("launchTemplateId", &t.id)
        .el("launchTemplateName", &t.name)
        .el("createTime", &iso(&t.create_time))
        .el(
            "createdBy",
            &format!("arn:aws:iam::{}:user/emulator", t.owner_id),
        )
        .el("defaultVersionNumber", &t.default_version.to_string())
        .el("latestVersionNumber", &t.latest_version().to_string())
        .tag_set(&t.tags)
        .close("item");
}

/// CreateLaunchTemplate: `LaunchTemplateName`, `VersionDescription`,
/// `LaunchTemplateData.ImageId` (verbatim, `resolve:ssm:` included) and
/// `.InstanceType`.
pub(crate) fn create_launch_template(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let name = p.required("LaunchTemplateName")?.to_owned();
    if r.templates
        .values()
        .any(|t| t.name == name && t.owner_id == cx.account)
    {
        return Err(ApiError::bad(
            "InvalidLaunchTemplateName.AlreadyExistsException",
            "Launch template name already in use.",
        ));
    }
    let data = p.nested("LaunchTemplateData");
    if cx.dry_run {
        return Err(dry_run());
    }
    let t = LaunchTemplate {
        id: cx.new_id("lt"),
        name,
        owner_id: cx.account.to_owned(),
        default_version: 1,
        create_time: cx.now,
        versions: vec![LaunchTemplateVersion {
            number: 1,
            description: p.get("VersionDescription").map(str::to_owned),
            image_id: data.get("ImageId").map(str::to_owned),
            instance_type: data.get("InstanceType").map(str::to_owned),
            create_time: cx.now,
        }],
        tags: Vec::new(),
    };
    let mut x = Xml::default();
    x.open("launchTemplate");
    let mut item = Xml::default();
    template_item(&mut item, &t);
    // The same fields as an item, without the `item` wrapper.
    let inner = item
        .0
        .trim_start_matches("<item>")
        .trim_end_matches("</item>");
    x.0.push_str(inner);
    x.close("launchTemplate");
    r.templates.insert(t.id.clone(), t);
    Ok(x.0)
}

/// CreateLaunchTemplateVersion: from `SourceVersion` (if given) with
/// `LaunchTemplateData` on top.
pub(crate) fn create_launch_template_version(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let (lt, source) = find_template(cx, r, p, "SourceVersion")?;
    let base = match source {
        Some(s) => Some(version_of(lt, &s)?.clone()),
        None => None,
    };
    let id = lt.id.clone();
    let data = p.nested("LaunchTemplateData");
    if cx.dry_run {
        return Err(dry_run());
    }
    let Some(lt) = r.templates.get_mut(&id) else {
        return Err(ApiError::missing("LaunchTemplateId"));
    };
    let v = LaunchTemplateVersion {
        number: lt.latest_version() + 1,
        description: p.get("VersionDescription").map(str::to_owned),
        image_id: data
            .get("ImageId")
            .map(str::to_owned)
            .or_else(|| base.as_ref().and_then(|b| b.image_id.clone())),
        instance_type: data
            .get("InstanceType")
            .map(str::to_owned)
            .or_else(|| base.as_ref().and_then(|b| b.instance_type.clone())),
        create_time: cx.now,
    };
    let mut x = Xml::default();
    x.open("launchTemplateVersion");
    version_fields(&mut x, lt, &v, None);
    x.close("launchTemplateVersion");
    lt.versions.push(v);
    Ok(x.0)
}

fn version_fields(
    x: &mut Xml,
    lt: &LaunchTemplate,
    v: &LaunchTemplateVersion,
    image: Option<&str>,
) {
    x.el("launchTemplateId", &lt.id)
        .el("launchTemplateName", &lt.name)
        .el("versionNumber", &v.number.to_string())
        .opt("versionDescription", v.description.as_deref())
        .el("createTime", &iso(&v.create_time))
        .el(
            "createdBy",
            &format!("arn:aws:iam::{}:user/emulator", lt.owner_id),
        )
        .el(
            "defaultVersion",
            if v.number == lt.default_version {
                "true"
            } else {
                "false"
            },
        );
    template_data(x, v, image);
}

/// DescribeLaunchTemplates: `LaunchTemplateId.N`, `LaunchTemplateName.N`,
/// filters `launch-template-name` and `tag:K`, `MaxResults` 1–200.
pub(crate) fn describe_launch_templates(
    cx: &Ctx<'_>,
    r: &RegionState,
    p: &Params,
) -> ApiResult<String> {
    let ids = p.list("LaunchTemplateId");
    let names = p.list("LaunchTemplateName");
    let filters = p.filters()?;
    check_filters(
        &filters,
        &["launch-template-name", "create-time", "tag-key"],
    )?;
    let size = page_size(p, "MaxResults", "maxResults", 1, 200)?;
    for id in &ids {
        if r.templates.get(id).is_none_or(|t| t.owner_id != cx.account) {
            return Err(ApiError::bad(
                "InvalidLaunchTemplateId.NotFound",
                "At least one of the launch templates specified in the request does not exist.",
            ));
        }
    }
    let after = match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Bound::Excluded(cx.tokens.decode("templates", t, false)?),
        None => Bound::Unbounded,
    };
    let rest = r
        .templates
        .range::<String, _>((after, Bound::Unbounded))
        .map(|(_, t)| t)
        .filter(|t| t.owner_id == cx.account)
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .filter(|t| names.is_empty() || names.contains(&t.name))
        .filter(|t| {
            filters.iter().all(|f| match f.name.as_str() {
                "launch-template-name" => f.matches(&t.name),
                "create-time" => f.matches(&iso(&t.create_time)),
                "tag-key" => f.matches_any(t.tags.iter().map(|(k, _)| k.as_str())),
                tag => tag
                    .strip_prefix("tag:")
                    .and_then(|k| t.tags.iter().find(|(tk, _)| tk == k))
                    .is_some_and(|(_, v)| f.matches(v)),
            })
        });
    let (page, next) = take(rest, size, cx.token_at_end, |t| t.id.clone());
    let mut x = Xml::default();
    x.open("launchTemplates");
    for t in page {
        template_item(&mut x, t);
    }
    x.close("launchTemplates");
    if let Some(key) = next {
        x.el("nextToken", &cx.tokens.encode("templates", &key));
    }
    Ok(x.0)
}

/// DescribeLaunchTemplateVersions: one template (by id or name) and its
/// versions (`LaunchTemplateVersion.N`, `MinVersion`, `MaxVersion`,
/// filter `image-id`), or `$Latest`/`$Default` of every template;
/// `ResolveAlias=true` answers the AMI a `resolve:ssm:` reference
/// stands for now; `MaxResults` 1–200.
pub(crate) fn describe_launch_template_versions(
    cx: &Ctx<'_>,
    r: &RegionState,
    p: &Params,
) -> ApiResult<String> {
    let specs = p.list("LaunchTemplateVersion");
    let filters = p.filters()?;
    check_filters(
        &filters,
        &["image-id", "instance-type", "is-default-version"],
    )?;
    let size = page_size(p, "MaxResults", "maxResults", 1, 200)?;
    let resolve = p.flag("ResolveAlias")?;
    let min = p.int("MinVersion")?.unwrap_or(0).max(0) as u64;
    let max = p.int("MaxVersion")?.map_or(u64::MAX, |m| m.max(0) as u64);
    let named = p.get("LaunchTemplateId").is_some() || p.get("LaunchTemplateName").is_some();
    let templates: Vec<&LaunchTemplate> = if named {
        vec![find_template(cx, r, p, "")?.0]
    } else {
        if specs.is_empty() || specs.iter().any(|s| s != "$Latest" && s != "$Default") {
            return Err(ApiError::bad(
                "InvalidParameterCombination",
                "Either LaunchTemplateId or LaunchTemplateName must be specified, unless LaunchTemplateVersion.N is $Latest or $Default",
            ));
        }
        r.templates
            .values()
            .filter(|t| t.owner_id == cx.account)
            .collect()
    };
    let mut rows: Vec<(String, &LaunchTemplate, &LaunchTemplateVersion)> = Vec::new();
    for lt in templates {
        let numbers: Vec<u64> = if specs.is_empty() {
            lt.versions.iter().map(|v| v.number).collect()
        } else {
            let mut n = Vec::new();
            for s in &specs {
                let v = version_of(lt, s)?;
                if !n.contains(&v.number) {
                    n.push(v.number);
                }
            }
            n.sort_unstable();
            n
        };
        for v in lt.versions.iter().filter(|v| numbers.contains(&v.number)) {
            if v.number >= min && v.number <= max {
                rows.push((format!("{}:{:020}", lt.id, v.number), lt, v));
            }
        }
    }
    let after = match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Some(cx.tokens.decode("versions", t, false)?),
        None => None,
    };
    let mut resolved = Vec::with_capacity(rows.len());
    for (key, lt, v) in rows {
        let image = match (&v.image_id, resolve) {
            (Some(id), true) => resolve_ssm(cx, r, id)?,
            _ => None,
        };
        let shown = image.clone().or_else(|| v.image_id.clone());
        let keep = filters.iter().all(|f| match f.name.as_str() {
            "image-id" => shown.as_deref().is_some_and(|i| f.matches(i)),
            "instance-type" => v.instance_type.as_deref().is_some_and(|i| f.matches(i)),
            _ => f.matches(if v.number == lt.default_version {
                "true"
            } else {
                "false"
            }),
        });
        if keep && after.as_ref().is_none_or(|a| key > *a) {
            resolved.push((key, lt, v, image));
        }
    }
    let (page, next) = take(resolved.into_iter(), size, cx.token_at_end, |row| {
        row.0.clone()
    });
    let mut x = Xml::default();
    x.open("launchTemplateVersionSet");
    for (_, lt, v, image) in page {
        x.open("item");
        version_fields(&mut x, lt, v, image.as_deref());
        x.close("item");
    }
    x.close("launchTemplateVersionSet");
    if let Some(key) = next {
        x.el("nextToken", &cx.tokens.encode("versions", &key));
    }
    Ok(x.0)
}

/// DeleteLaunchTemplate.
pub(crate) fn delete_launch_template(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
) -> ApiResult<String> {
    let (lt, _) = find_template(cx, r, p, "")?;
    let id = lt.id.clone();
    if cx.dry_run {
        return Err(dry_run());
    }
    let lt = r
        .templates
        .remove(&id)
        .ok_or_else(|| ApiError::missing("LaunchTemplateId"))?;
    let mut x = Xml::default();
    x.open("launchTemplate");
    let mut item = Xml::default();
    template_item(&mut item, &lt);
    x.0.push_str(
        item.0
            .trim_start_matches("<item>")
            .trim_end_matches("</item>"),
    );
    x.close("launchTemplate");
    Ok(x.0)
}

/// DescribeImageReferences: `ImageId.N` (1–10), `IncludeAllResourceTypes`
/// or `ResourceType.N.ResourceType` with options `state-name`
/// (instances) and `version-depth` (templates: the newest N versions,
/// default 10); `MaxResults` 5–1000.
pub(crate) fn describe_image_references(
    cx: &Ctx<'_>,
    r: &RegionState,
    p: &Params,
) -> ApiResult<String> {
    let ids = p.list("ImageId");
    if ids.is_empty() || ids.len() > 10 {
        return Err(ApiError::bad(
            "InvalidParameterValue",
            "ImageIds must contain between 1 and 10 image IDs",
        ));
    }
    for id in &ids {
        check_ami(id)?;
    }
    let all = p.flag("IncludeAllResourceTypes")?;
    let types = p.indexed("ResourceType");
    if !all && types.is_empty() {
        return Err(ApiError::bad(
            "InvalidParameterCombination",
            "Either IncludeAllResourceTypes or ResourceTypes must be specified",
        ));
    }
    let size = page_size(p, "MaxResults", "maxResults", 5, 1000)?;
    let mut states: Option<Vec<String>> = None;
    let mut depth = 10u64;
    let mut wanted: Vec<String> = Vec::new();
    for t in types.values() {
        let kind = t.required("ResourceType")?.to_owned();
        for o in t.indexed("ResourceTypeOption").values() {
            match o.get("OptionName") {
                Some("state-name") => states = Some(o.list("OptionValue")),
                Some("version-depth") => {
                    let v = o.list("OptionValue");
                    depth = v
                        .first()
                        .and_then(|d| d.parse().ok())
                        .filter(|d| (1..=10_000).contains(d))
                        .ok_or_else(|| ApiError::invalid_value("version-depth", &v.join(",")))?;
                }
                other => {
                    return Err(ApiError::invalid_value("OptionName", other.unwrap_or("")));
                }
            }
        }
        wanted.push(kind);
    }
    let wants = |kind: &str| all || wanted.iter().any(|w| w == kind);
    let mut refs: Vec<(String, String, String)> = Vec::new();
    for image in &ids {
        if wants("ec2:Instance") {
            for i in r
                .instances
                .values()
                .filter(|i| i.owner_id == cx.account && &i.image_id == image)
            {
                if states.as_ref().is_none_or(|s| s.contains(&i.state)) {
                    refs.push((
                        image.clone(),
                        "ec2:Instance".to_owned(),
                        cx.arn("ec2", &format!("instance/{}", i.instance_id)),
                    ));
                }
            }
        }
        if wants("ec2:LaunchTemplate") {
            for lt in r.templates.values().filter(|t| t.owner_id == cx.account) {
                let newest = lt.versions.iter().rev().take(depth as usize);
                let uses = newest.into_iter().any(|v| {
                    v.image_id.as_deref().is_some_and(|id| {
                        id == image
                            || resolve_ssm(cx, r, id).ok().flatten().as_deref() == Some(image)
                    })
                });
                if uses {
                    refs.push((
                        image.clone(),
                        "ec2:LaunchTemplate".to_owned(),
                        cx.arn("ec2", &format!("launch-template/{}", lt.id)),
                    ));
                }
            }
        }
        if wants("ssm:Parameter") {
            for param in r.parameters.values().filter(|q| q.owner_id == cx.account) {
                if param.values.last().is_some_and(|(v, _)| v == image) {
                    let name = param.name.trim_start_matches('/');
                    refs.push((
                        image.clone(),
                        "ssm:Parameter".to_owned(),
                        cx.arn("ssm", &format!("parameter/{name}")),
                    ));
                }
            }
        }
    }
    refs.sort();
    let after = match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Some(cx.tokens.decode("references", t, false)?),
        None => None,
    };
    let key = |row: &(String, String, String)| format!("{}\n{}", row.0, row.2);
    let rest = refs
        .into_iter()
        .filter(|row| after.as_ref().is_none_or(|a| key(row) > *a));
    let (page, next) = take(rest, size, cx.token_at_end, key);
    let mut x = Xml::default();
    x.open("imageReferenceSet");
    for (image, kind, arn) in page {
        x.open("item")
            .el("imageId", &image)
            .el("resourceType", &kind)
            .el("arn", &arn)
            .close("item");
    }
    x.close("imageReferenceSet");
    if let Some(k) = next {
        x.el("nextToken", &cx.tokens.encode("references", &k));
    }
    Ok(x.0)
}

//! Auto Scaling (`Version=2011-01-01`, the plain Query protocol: `member`
//! lists, `…Result` wrappers, its own namespace): launch configurations
//! and groups (launch configuration, launch template, mixed-instances
//! policy with overrides that may name an AMI), each listing paged by
//! `MaxRecords` (1–100) and an opaque `NextToken`.

use std::ops::Bound;

use super::data::{AutoScalingGroup, LaunchConfiguration, Override, RegionState, TemplateSpec};
use super::handlers::Ctx;
use super::page::{page_size, take};
use super::query::{ApiError, ApiResult, Params};
use super::wire::{Xml, iso};

/// The Auto Scaling actions.
pub(crate) fn dispatch(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    action: &str,
) -> ApiResult<String> {
    match action {
        "DescribeLaunchConfigurations" => describe_configurations(cx, r, p),
        "DescribeAutoScalingGroups" => describe_groups(cx, r, p),
        "CreateLaunchConfiguration" => create_configuration(cx, r, p),
        "CreateAutoScalingGroup" => create_group(cx, r, p),
        "DeleteLaunchConfiguration" => delete_configuration(cx, r, p),
        "DeleteAutoScalingGroup" => {
            let name = p.required("AutoScalingGroupName")?;
            r.groups
                .remove(name)
                .filter(|g| g.owner_id == cx.account)
                .map(|_| String::new())
                .ok_or_else(|| ApiError::bad("ValidationError", "AutoScalingGroup name not found"))
        }
        other => Err(ApiError::bad(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

fn after(cx: &Ctx<'_>, p: &Params, kind: &str) -> ApiResult<Bound<String>> {
    Ok(match p.get("NextToken").filter(|t| !t.is_empty()) {
        Some(t) => Bound::Excluded(cx.tokens.decode(kind, t, true)?),
        None => Bound::Unbounded,
    })
}

fn size(p: &Params) -> ApiResult<usize> {
    page_size(p, "MaxRecords", "MaxRecords", 1, 100).map(|s| s.unwrap_or(50))
}

fn describe_configurations(cx: &Ctx<'_>, r: &RegionState, p: &Params) -> ApiResult<String> {
    let names = p.members("LaunchConfigurationNames");
    let size = size(p)?;
    let after = after(cx, p, "configurations")?;
    let rest = r
        .configurations
        .range::<String, _>((after, Bound::Unbounded))
        .map(|(_, c)| c)
        .filter(|c| c.owner_id == cx.account)
        .filter(|c| names.is_empty() || names.contains(&c.name));
    let (page, next) = take(rest, Some(size), cx.token_at_end, |c| c.name.clone());
    let mut x = Xml::default();
    x.open("LaunchConfigurations");
    for c in page {
        x.open("member")
            .el("LaunchConfigurationName", &c.name)
            .el(
                "LaunchConfigurationARN",
                &cx.arn(
                    "autoscaling",
                    &format!(
                        "launchConfiguration:{}:launchConfigurationName/{}",
                        c.name.len(),
                        c.name
                    ),
                ),
            )
            .el("ImageId", &c.image_id)
            .el("InstanceType", &c.instance_type)
            .el("KeyName", "")
            .open("SecurityGroups")
            .close("SecurityGroups")
            .el("UserData", "")
            .el("KernelId", "")
            .el("RamdiskId", "")
            .open("BlockDeviceMappings")
            .close("BlockDeviceMappings")
            .open("InstanceMonitoring")
            .el("Enabled", "true")
            .close("InstanceMonitoring")
            .el("CreatedTime", &iso(&c.created_time))
            .el("EbsOptimized", "false")
            .close("member");
    }
    x.close("LaunchConfigurations");
    if let Some(key) = next {
        x.el("NextToken", &cx.tokens.encode("configurations", &key));
    }
    Ok(x.0)
}

/// A template spec with both id and name filled from the region's
/// templates where they are known (as Auto Scaling answers it).
fn spec_xml(x: &mut Xml, element: &str, r: &RegionState, s: &TemplateSpec) {
    let found = r.templates.values().find(|t| {
        s.id.as_deref() == Some(t.id.as_str()) || s.name.as_deref() == Some(t.name.as_str())
    });
    x.open(element)
        .opt(
            "LaunchTemplateId",
            s.id.as_deref().or(found.map(|t| t.id.as_str())),
        )
        .opt(
            "LaunchTemplateName",
            s.name.as_deref().or(found.map(|t| t.name.as_str())),
        )
        .el("Version", s.version.as_deref().unwrap_or("$Default"))
        .close(element);
}

fn describe_groups(cx: &Ctx<'_>, r: &RegionState, p: &Params) -> ApiResult<String> {
    let names = p.members("AutoScalingGroupNames");
    let size = size(p)?;
    let after = after(cx, p, "groups")?;
    let rest = r
        .groups
        .range::<String, _>((after, Bound::Unbounded))
        .map(|(_, g)| g)
        .filter(|g| g.owner_id == cx.account)
        .filter(|g| names.is_empty() || names.contains(&g.name));
    let (page, next) = take(rest, Some(size), cx.token_at_end, |g| g.name.clone());
    let mut x = Xml::default();
    x.open("AutoScalingGroups");
    for g in page {
        x.open("member")
            .el("AutoScalingGroupName", &g.name)
            .el(
                "AutoScalingGroupARN",
                &cx.arn(
                    "autoscaling",
                    &format!(
                        "autoScalingGroup:{}:autoScalingGroupName/{}",
                        g.name.len(),
                        g.name
                    ),
                ),
            )
            .opt("LaunchConfigurationName", g.launch_configuration.as_deref());
        if let Some(s) = &g.launch_template {
            spec_xml(&mut x, "LaunchTemplate", r, s);
        }
        if let Some((s, overrides)) = &g.mixed {
            x.open("MixedInstancesPolicy").open("LaunchTemplate");
            spec_xml(&mut x, "LaunchTemplateSpecification", r, s);
            x.open("Overrides");
            for o in overrides {
                x.open("member")
                    .opt("InstanceType", o.instance_type.as_deref())
                    .opt("ImageId", o.image_id.as_deref());
                if let Some(t) = &o.template {
                    spec_xml(&mut x, "LaunchTemplateSpecification", r, t);
                }
                x.close("member");
            }
            x.close("Overrides")
                .close("LaunchTemplate")
                .close("MixedInstancesPolicy");
        }
        x.el("MinSize", &g.sizes.0.to_string())
            .el("MaxSize", &g.sizes.1.to_string())
            .el("DesiredCapacity", &g.sizes.2.to_string())
            .el("DefaultCooldown", "300")
            .open("AvailabilityZones");
        for z in &g.zones {
            x.el("member", z);
        }
        x.close("AvailabilityZones")
            .open("LoadBalancerNames").close("LoadBalancerNames")
            .open("TargetGroupARNs").close("TargetGroupARNs")
            .el("HealthCheckType", "EC2")
            .el("HealthCheckGracePeriod", "300")
            .open("Instances").close("Instances")
            .el("CreatedTime", &iso(&g.created_time))
            .open("SuspendedProcesses").close("SuspendedProcesses")
            .open("EnabledMetrics").close("EnabledMetrics")
            .open("Tags").close("Tags")
            .open("TerminationPolicies").el("member", "Default").close("TerminationPolicies")
            .el("NewInstancesProtectedFromScaleIn", "false")
            .el("ServiceLinkedRoleARN", &format!("arn:aws:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", cx.account))
            .close("member");
    }
    x.close("AutoScalingGroups");
    if let Some(key) = next {
        x.el("NextToken", &cx.tokens.encode("groups", &key));
    }
    Ok(x.0)
}

fn create_configuration(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let name = p.required("LaunchConfigurationName")?.to_owned();
    if r.configurations.contains_key(&name) {
        return Err(ApiError::bad(
            "AlreadyExists",
            format!(
                "Launch Configuration by this name already exists - A launch configuration already exists with the name {name}"
            ),
        ));
    }
    let image = p.required("ImageId")?.to_owned();
    r.configurations.insert(
        name.clone(),
        LaunchConfiguration {
            name,
            owner_id: cx.account.to_owned(),
            image_id: image,
            instance_type: p.get("InstanceType").unwrap_or("m1.small").to_owned(),
            created_time: cx.now,
        },
    );
    Ok(String::new())
}

fn delete_configuration(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let name = p.required("LaunchConfigurationName")?.to_owned();
    if r.groups
        .values()
        .any(|g| g.launch_configuration.as_deref() == Some(name.as_str()))
    {
        return Err(ApiError::bad(
            "ResourceInUse",
            format!(
                "Cannot delete launch configuration {name} because it is attached to AutoScalingGroup"
            ),
        ));
    }
    match r.configurations.get(&name) {
        Some(c) if c.owner_id == cx.account => {
            r.configurations.remove(&name);
            Ok(String::new())
        }
        _ => Err(ApiError::bad(
            "ValidationError",
            "Launch configuration name not found",
        )),
    }
}

fn spec(p: &Params) -> Option<TemplateSpec> {
    let s = TemplateSpec {
        id: p.get("LaunchTemplateId").map(str::to_owned),
        name: p.get("LaunchTemplateName").map(str::to_owned),
        version: p.get("Version").map(str::to_owned),
    };
    (s.id.is_some() || s.name.is_some()).then_some(s)
}

fn create_group(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let name = p.required("AutoScalingGroupName")?.to_owned();
    if r.groups.contains_key(&name) {
        return Err(ApiError::bad(
            "AlreadyExists",
            format!(
                "AutoScalingGroup by this name already exists - A group with the name {name} already exists"
            ),
        ));
    }
    let lc = p.get("LaunchConfigurationName").map(str::to_owned);
    if let Some(lc) = &lc {
        if !r.configurations.contains_key(lc) {
            return Err(ApiError::bad(
                "ValidationError",
                format!(
                    "Launch configuration name not found - Launch configuration {lc} not found"
                ),
            ));
        }
    }
    let mixed_p = p.nested("MixedInstancesPolicy.LaunchTemplate");
    let mixed = spec(&mixed_p.nested("LaunchTemplateSpecification")).map(|s| {
        let overrides = mixed_p
            .indexed("Overrides.member")
            .into_values()
            .map(|o| Override {
                instance_type: o.get("InstanceType").map(str::to_owned),
                image_id: o.get("ImageId").map(str::to_owned),
                template: spec(&o.nested("LaunchTemplateSpecification")),
            })
            .collect();
        (s, overrides)
    });
    let template = spec(&p.nested("LaunchTemplate"));
    if lc.is_none() && template.is_none() && mixed.is_none() {
        return Err(ApiError::bad(
            "ValidationError",
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.",
        ));
    }
    let int = |k: &str| -> ApiResult<u64> { Ok(p.int(k)?.unwrap_or(0).max(0) as u64) };
    let (min, max) = (int("MinSize")?, int("MaxSize")?);
    let desired = p.int("DesiredCapacity")?.map_or(min, |d| d.max(0) as u64);
    r.groups.insert(
        name.clone(),
        AutoScalingGroup {
            name,
            owner_id: cx.account.to_owned(),
            launch_configuration: lc,
            launch_template: template,
            mixed,
            sizes: (min, max, desired),
            zones: p.members("AvailabilityZones"),
            created_time: cx.now,
        },
    );
    Ok(String::new())
}

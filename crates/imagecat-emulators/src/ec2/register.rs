//! Making AMIs, for clients that seed the emulator as they seed moto or
//! AWS: CopyImage (across regions, with its lineage), RegisterImage (`Name`, `Description`, `Architecture`,
//! `RootDeviceName`, `BlockDeviceMapping.N` with existing or fresh
//! snapshots, `TagSpecification.N` for `image`) and CreateImage (from an
//! instance: a fresh root snapshot, `SourceInstanceId` kept as the
//! snapshot's description says).

use super::data::{BlockDevice, Ec2Image, Ec2Snapshot, RegionState};
use super::handlers::Ctx;
use super::images::dry_run;
use super::query::{ApiError, ApiResult, Params};

/// The `image` tags of `TagSpecification.N`.
fn image_tags(p: &Params) -> Vec<(String, String)> {
    p.indexed("TagSpecification")
        .into_values()
        .filter(|spec| spec.get("ResourceType") == Some("image"))
        .flat_map(|spec| {
            spec.indexed("Tag")
                .into_values()
                .filter_map(|t| {
                    Some((
                        t.get("Key")?.to_owned(),
                        t.get("Value").unwrap_or("").to_owned(),
                    ))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn check_name(cx: &Ctx<'_>, r: &RegionState, name: &str) -> ApiResult<()> {
    if name.len() < 3 || name.len() > 128 {
        return Err(ApiError::bad(
            "InvalidAMIName.Malformed",
            format!("AMI names must be between 3 and 128 characters long: {name}"),
        ));
    }
    if r.images
        .values()
        .any(|i| i.owner_id == cx.account && i.name == name)
    {
        return Err(ApiError::bad(
            "InvalidAMIName.Duplicate",
            format!("AMI name {name} is already in use by AMI"),
        ));
    }
    Ok(())
}

fn fresh_snapshot(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    size: u64,
    image_id: &str,
    instance: &str,
) -> String {
    let id = cx.new_id("snap");
    r.snapshots.insert(
        id.clone(),
        Ec2Snapshot {
            snapshot_id: id.clone(),
            owner_id: cx.account.to_owned(),
            volume_id: cx.new_id("vol"),
            volume_size: size,
            start_time: cx.now,
            description: format!("Created by CreateImage({instance}) for {image_id}"),
            tags: Vec::new(),
        },
    );
    id
}

/// RegisterImage.
pub(crate) fn register_image(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let name = p.required("Name")?.to_owned();
    check_name(cx, r, &name)?;
    let mappings = p.indexed("BlockDeviceMapping");
    for m in mappings.values() {
        if let Some(snap) = m.get("Ebs.SnapshotId") {
            if !r.snapshots.contains_key(snap) {
                return Err(ApiError::bad(
                    "InvalidSnapshot.NotFound",
                    format!("The snapshot '{snap}' does not exist."),
                ));
            }
        }
    }
    if cx.dry_run {
        return Err(dry_run());
    }
    let image_id = cx.new_id("ami");
    let root = p.get("RootDeviceName").unwrap_or("/dev/xvda").to_owned();
    let mut devices = Vec::new();
    for m in mappings.values() {
        let size = m.int("Ebs.VolumeSize")?.unwrap_or(8).max(1) as u64;
        let snapshot = match m.get("Ebs.SnapshotId") {
            Some(s) => Some(s.to_owned()),
            None if m.get("VirtualName").is_none() => {
                Some(fresh_snapshot(cx, r, size, &image_id, "i-00000000"))
            }
            None => None,
        };
        devices.push(BlockDevice {
            device_name: m.get("DeviceName").unwrap_or(&root).to_owned(),
            snapshot_id: snapshot,
            volume_size: size,
            volume_type: m.get("Ebs.VolumeType").unwrap_or("gp3").to_owned(),
            delete_on_termination: m.flag("Ebs.DeleteOnTermination")?,
        });
    }
    if devices.is_empty() {
        let snap = fresh_snapshot(cx, r, 8, &image_id, "i-00000000");
        devices.push(BlockDevice {
            device_name: root.clone(),
            snapshot_id: Some(snap),
            volume_size: 8,
            volume_type: "gp3".to_owned(),
            delete_on_termination: true,
        });
    }
    let mut image = Ec2Image::new(image_id.clone(), cx.account, name, "");
    image.creation_date = cx.now;
    image.description = p.get("Description").map(str::to_owned);
    image.architecture = p.get("Architecture").unwrap_or("x86_64").to_owned();
    image.root_device_name = root;
    image.boot_mode = p.get("BootMode").map(str::to_owned);
    image.block_devices = devices;
    image.tags = image_tags(p);
    image.deregistration_protection = Some("disabled".to_owned());
    r.insert_image(image);
    Ok(format!("<imageId>{image_id}</imageId>"))
}

/// CreateImage: an AMI of a (non-terminated) instance.
pub(crate) fn create_image(cx: &Ctx<'_>, r: &mut RegionState, p: &Params) -> ApiResult<String> {
    let instance_id = p.required("InstanceId")?.to_owned();
    let name = p.required("Name")?.to_owned();
    let instance = r
        .instances
        .get(&instance_id)
        .filter(|i| i.owner_id == cx.account && i.state != "terminated")
        .cloned()
        .ok_or_else(|| {
            ApiError::bad(
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{instance_id}' does not exist"),
            )
        })?;
    check_name(cx, r, &name)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    let image_id = cx.new_id("ami");
    let source = r.images.get(&instance.image_id).cloned();
    let snap = fresh_snapshot(cx, r, 8, &image_id, &instance_id);
    let mut image = Ec2Image::new(image_id.clone(), cx.account, name, snap);
    image.creation_date = cx.now;
    image.description = p.get("Description").map(str::to_owned);
    if let Some(s) = source {
        image.architecture = s.architecture;
        image.boot_mode = s.boot_mode;
    }
    image.tags = image_tags(p);
    image.deregistration_protection = Some("disabled".to_owned());
    r.insert_image(image);
    Ok(format!("<imageId>{image_id}</imageId>"))
}

/// CopyImage into the caller's region from `source` (the AMI
/// `SourceImageId` of `SourceRegion`, as the caller may see it): fresh
/// snapshots of the same sizes, the lineage in `sourceImageId` and
/// `sourceImageRegion`, tags only with `CopyImageTags=true`.
pub(crate) fn copy_image(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    source: Option<Ec2Image>,
) -> ApiResult<String> {
    let source_region = p.required("SourceRegion")?.to_owned();
    let source_id = p.required("SourceImageId")?.to_owned();
    let name = p.required("Name")?.to_owned();
    super::images::check_ami(&source_id)?;
    let source = source
        .filter(|s| s.owner_id == cx.account || s.public)
        .ok_or_else(|| {
            ApiError::bad(
                "InvalidAMIID.NotFound",
                format!("The image id '[{source_id}]' does not exist"),
            )
        })?;
    check_name(cx, r, &name)?;
    if cx.dry_run {
        return Err(dry_run());
    }
    let image_id = cx.new_id("ami");
    let mut devices = Vec::with_capacity(source.block_devices.len());
    for b in &source.block_devices {
        let snapshot = b
            .snapshot_id
            .as_ref()
            .map(|_| fresh_snapshot(cx, r, b.volume_size, &image_id, "i-00000000"));
        devices.push(BlockDevice {
            snapshot_id: snapshot,
            ..b.clone()
        });
    }
    let copy = Ec2Image {
        image_id: image_id.clone(),
        owner_id: cx.account.to_owned(),
        owner_alias: None,
        name,
        description: p
            .get("Description")
            .map(str::to_owned)
            .or(source.description.clone()),
        state: "available".to_owned(),
        public: false,
        launch_permissions: Vec::new(),
        creation_date: cx.now,
        block_devices: devices,
        tags: if p.flag("CopyImageTags")? {
            source.tags.clone()
        } else {
            Vec::new()
        },
        deprecation_time: None,
        deregistration_protection: Some("disabled".to_owned()),
        last_launched_time: None,
        source_image_id: Some(source_id),
        source_image_region: Some(source_region),
        ..source
    };
    r.insert_image(copy);
    Ok(format!("<imageId>{image_id}</imageId>"))
}

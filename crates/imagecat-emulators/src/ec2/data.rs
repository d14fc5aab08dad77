//! What the EC2 emulator holds, one [`RegionState`] a region (as moto and
//! AWS keep them apart), and the seeded catalog: AMIs in families with
//! their EBS snapshots (two of them sharing one), deprecated, disabled,
//! protected and public ones, Amazon's public AMIs, instances in every
//! state, launch templates (one version through `resolve:ssm:`), an SSM
//! parameter, a launch configuration and an Auto Scaling group with a
//! mixed-instances override.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::seed::splitmix64;

/// The account Amazon's public AMIs belong to (as on AWS).
pub const AMAZON_ACCOUNT: &str = "137112412989";

/// One AMI.
#[derive(Debug, Clone, PartialEq)]
pub struct Ec2Image {
    /// `ami-…`.
    pub image_id: String,
    /// The owning account.
    pub owner_id: String,
    /// `amazon`, `aws-marketplace`, … for those owners.
    pub owner_alias: Option<String>,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// `available`, `pending`, `failed`, `disabled`, ….
    pub state: String,
    /// Public launch permission (`Group=all`).
    pub public: bool,
    /// The other launch permissions, in the order granted: (`userId`,
    /// `organizationArn` or `organizationalUnitArn`, the value), as
    /// DescribeImageAttribute writes them.
    pub launch_permissions: Vec<(String, String)>,
    /// `x86_64`, `arm64`, ….
    pub architecture: String,
    /// When it was registered.
    pub creation_date: DateTime<Utc>,
    /// `windows`, or none.
    pub platform: Option<String>,
    /// `/dev/xvda`.
    pub root_device_name: String,
    /// `ebs` or `instance-store`.
    pub root_device_type: String,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: String,
    /// `uefi`, `legacy-bios`, ….
    pub boot_mode: Option<String>,
    /// The block device mappings.
    pub block_devices: Vec<BlockDevice>,
    /// The tags, in the order set.
    pub tags: Vec<(String, String)>,
    /// When it becomes (or became) deprecated.
    pub deprecation_time: Option<DateTime<Utc>>,
    /// Deregistration protection: `disabled`, `enabled`,
    /// `enabled-with-cooldown` (None: never set, not written).
    pub deregistration_protection: Option<String>,
    /// The last launch.
    pub last_launched_time: Option<DateTime<Utc>>,
    /// Copy lineage: the source AMI.
    pub source_image_id: Option<String>,
    /// Copy lineage: the source region.
    pub source_image_region: Option<String>,
}

/// One block device mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// `/dev/xvda`.
    pub device_name: String,
    /// The EBS snapshot, for EBS mappings.
    pub snapshot_id: Option<String>,
    /// GiB.
    pub volume_size: u64,
    /// `gp3`, ….
    pub volume_type: String,
    /// Whether the volume goes with the instance.
    pub delete_on_termination: bool,
}

impl Ec2Image {
    /// Whether `account` may launch it: its owner, anyone when public,
    /// an account granted by `userId` (organization and OU grants name no
    /// account the emulator can place, so they grant nobody here).
    pub fn launchable_by(&self, account: &str) -> bool {
        self.public
            || self.owner_id == account
            || self
                .launch_permissions
                .iter()
                .any(|(kind, value)| kind == "userId" && value == account)
    }

    /// An available private x86_64 EBS AMI of `owner` created now, with
    /// one 8 GiB root snapshot `snapshot_id`.
    pub fn new(
        image_id: impl Into<String>,
        owner: impl Into<String>,
        name: impl Into<String>,
        snapshot_id: impl Into<String>,
    ) -> Self {
        Ec2Image {
            image_id: image_id.into(),
            owner_id: owner.into(),
            owner_alias: None,
            name: name.into(),
            description: None,
            state: "available".to_owned(),
            public: false,
            launch_permissions: Vec::new(),
            architecture: "x86_64".to_owned(),
            creation_date: Utc::now(),
            platform: None,
            root_device_name: "/dev/xvda".to_owned(),
            root_device_type: "ebs".to_owned(),
            virtualization_type: "hvm".to_owned(),
            boot_mode: None,
            block_devices: vec![BlockDevice {
                device_name: "/dev/xvda".to_owned(),
                snapshot_id: Some(snapshot_id.into()),
                volume_size: 8,
                volume_type: "gp3".to_owned(),
                delete_on_termination: true,
            }],
            tags: Vec::new(),
            deprecation_time: None,
            deregistration_protection: None,
            last_launched_time: None,
            source_image_id: None,
            source_image_region: None,
        }
    }

    /// The snapshots of its EBS mappings.
    pub fn snapshot_ids(&self) -> impl Iterator<Item = &str> {
        self.block_devices
            .iter()
            .filter_map(|b| b.snapshot_id.as_deref())
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Deprecated at `now`.
    pub fn deprecated(&self, now: DateTime<Utc>) -> bool {
        self.deprecation_time.is_some_and(|t| t <= now)
    }

    /// Whether deregistration protection refuses a deregister.
    pub fn protected(&self) -> bool {
        matches!(
            self.deregistration_protection.as_deref(),
            Some(p) if p.starts_with("enabled")
        )
    }
}

/// One EBS snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Snapshot {
    /// `snap-…`.
    pub snapshot_id: String,
    /// The owning account.
    pub owner_id: String,
    /// The volume it was taken from.
    pub volume_id: String,
    /// GiB.
    pub volume_size: u64,
    /// When it was started.
    pub start_time: DateTime<Utc>,
    /// Its description.
    pub description: String,
    /// The tags.
    pub tags: Vec<(String, String)>,
}

/// One instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Instance {
    /// `i-…`.
    pub instance_id: String,
    /// The reservation it was launched in (`r-…`).
    pub reservation_id: String,
    /// The owning account.
    pub owner_id: String,
    /// The AMI it was launched from.
    pub image_id: String,
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`,
    /// `stopped`.
    pub state: String,
    /// `t3.micro`, ….
    pub instance_type: String,
    /// When it was launched.
    pub launch_time: DateTime<Utc>,
    /// The tags.
    pub tags: Vec<(String, String)>,
}

impl Ec2Instance {
    /// EC2's state code for its state.
    pub fn state_code(&self) -> u16 {
        match self.state.as_str() {
            "pending" => 0,
            "running" => 16,
            "shutting-down" => 32,
            "terminated" => 48,
            "stopping" => 64,
            _ => 80,
        }
    }
}

/// One launch template and its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplate {
    /// `lt-…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The owning account.
    pub owner_id: String,
    /// The default version number.
    pub default_version: u64,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// The versions, oldest first (numbers 1, 2, …).
    pub versions: Vec<LaunchTemplateVersion>,
    /// The tags.
    pub tags: Vec<(String, String)>,
}

impl LaunchTemplate {
    /// The newest version number.
    pub fn latest_version(&self) -> u64 {
        self.versions.last().map_or(0, |v| v.number)
    }
}

/// One launch template version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplateVersion {
    /// 1, 2, ….
    pub number: u64,
    /// Its description.
    pub description: Option<String>,
    /// `LaunchTemplateData.ImageId`: an AMI id or `resolve:ssm:…`, kept
    /// verbatim.
    pub image_id: Option<String>,
    /// `LaunchTemplateData.InstanceType`.
    pub instance_type: Option<String>,
    /// When it was created.
    pub create_time: DateTime<Utc>,
}

/// One Auto Scaling launch configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchConfiguration {
    /// Its name.
    pub name: String,
    /// The owning account.
    pub owner_id: String,
    /// The AMI.
    pub image_id: String,
    /// The instance type.
    pub instance_type: String,
    /// When it was created.
    pub created_time: DateTime<Utc>,
}

/// A launch template as an Auto Scaling group names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateSpec {
    /// `lt-…`.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// A number, `$Latest` or `$Default`.
    pub version: Option<String>,
}

/// One override of a mixed-instances policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Override {
    /// The instance type.
    pub instance_type: Option<String>,
    /// An AMI set on the override itself.
    pub image_id: Option<String>,
    /// A template of its own.
    pub template: Option<TemplateSpec>,
}

/// One Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoScalingGroup {
    /// Its name.
    pub name: String,
    /// The owning account.
    pub owner_id: String,
    /// A launch configuration.
    pub launch_configuration: Option<String>,
    /// A launch template.
    pub launch_template: Option<TemplateSpec>,
    /// `MixedInstancesPolicy.LaunchTemplate`: the template and overrides.
    pub mixed: Option<(TemplateSpec, Vec<Override>)>,
    /// Sizes: min, max, desired.
    pub sizes: (u64, u64, u64),
    /// Availability zones.
    pub zones: Vec<String>,
    /// When it was created.
    pub created_time: DateTime<Utc>,
}

/// One SSM parameter (its history: version 1 first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmParameter {
    /// `/path/name` or `name`.
    pub name: String,
    /// The owning account.
    pub owner_id: String,
    /// `String`, `StringList`, `SecureString`.
    pub kind: String,
    /// `text` or `aws:ec2:image`.
    pub data_type: String,
    /// Every value, version 1 first.
    pub values: Vec<(String, DateTime<Utc>)>,
}

/// Everything of one region.
#[derive(Debug, Default, Clone)]
pub struct RegionState {
    pub(crate) images: BTreeMap<String, Ec2Image>,
    pub(crate) deregistered: HashSet<String>,
    pub(crate) snapshots: BTreeMap<String, Ec2Snapshot>,
    pub(crate) instances: BTreeMap<String, Ec2Instance>,
    pub(crate) templates: BTreeMap<String, LaunchTemplate>,
    pub(crate) configurations: BTreeMap<String, LaunchConfiguration>,
    pub(crate) groups: BTreeMap<String, AutoScalingGroup>,
    pub(crate) parameters: BTreeMap<String, SsmParameter>,
}

impl RegionState {
    /// The registered AMIs other than `except` that use `snapshot`.
    pub(crate) fn snapshot_users<'a>(
        &'a self,
        snapshot: &'a str,
        except: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Ec2Image> {
        self.images.values().filter(move |i| {
            Some(i.image_id.as_str()) != except && i.snapshot_ids().any(|s| s == snapshot)
        })
    }

    /// Inserts an AMI and creates the snapshots it names that do not exist.
    pub(crate) fn insert_image(&mut self, image: Ec2Image) {
        for b in &image.block_devices {
            if let Some(snap) = &b.snapshot_id {
                self.snapshots
                    .entry(snap.clone())
                    .or_insert_with(|| Ec2Snapshot {
                        snapshot_id: snap.clone(),
                        owner_id: image.owner_id.clone(),
                        volume_id: format!("vol-{}", &snap[snap.len().min(5)..]),
                        volume_size: b.volume_size,
                        start_time: image.creation_date,
                        description: format!(
                            "Created by CreateImage(i-0000000000000000) for {}",
                            image.image_id
                        ),
                        tags: Vec::new(),
                    });
            }
        }
        self.deregistered.remove(&image.image_id);
        self.images.insert(image.image_id.clone(), image);
    }
}

/// An EC2 id: `prefix-` and 17 hex digits, from the seed, a kind and a
/// counter (collisions are as unlikely as on AWS).
pub(crate) fn make_id(prefix: &str, seed: u64, kind: u64, n: u64) -> String {
    let a = splitmix64(seed ^ kind.wrapping_mul(0x9E37) ^ n.wrapping_mul(0x1000_0001));
    format!("{prefix}-{:01x}{:016x}", (a >> 60) & 0xf, splitmix64(a))
}

/// The seed's base time: image `i` of a region is `i` × 10 minutes later.
pub(crate) fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// The families seeded AMIs are named in.
pub(crate) const FAMILIES: [&str; 4] = ["web", "api", "db", "batch"];

/// What a region is seeded with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedPlan<'a> {
    pub(crate) seed: u64,
    pub(crate) account: &'a str,
    pub(crate) images: usize,
    pub(crate) instances: usize,
    pub(crate) public_amazon: usize,
    pub(crate) usage: bool,
}

/// Seeds one region; the region salts the ids, so no two regions share one.
pub(crate) fn seed_region(plan: SeedPlan<'_>, region: &str) -> RegionState {
    let salt = region
        .bytes()
        .fold(plan.seed, |h, b| splitmix64(h ^ u64::from(b)));
    let mut r = RegionState::default();
    let base = base_time();
    let mut ids = Vec::with_capacity(plan.images);
    for i in 0..plan.images {
        let n = i as u64;
        let family = FAMILIES[i % FAMILIES.len()];
        let image_id = make_id("ami", salt, 1, n);
        // Images 1 and 2 share one snapshot (a copy in the same region).
        let snap_n = if i == 2 { 1 } else { n };
        let snapshot = make_id("snap", salt, 2, snap_n);
        let mut image = Ec2Image::new(
            image_id.clone(),
            plan.account,
            format!("{family}-{:05}", i / FAMILIES.len()),
            snapshot,
        );
        image.creation_date = base + Duration::minutes(10 * i as i64);
        image.description = Some(format!("{family} image {i}"));
        image.architecture = if i % 5 == 4 { "arm64" } else { "x86_64" }.to_owned();
        image.boot_mode = Some(if i % 2 == 0 { "uefi" } else { "legacy-bios" }.to_owned());
        image.tags = vec![
            ("family".to_owned(), family.to_owned()),
            (
                "env".to_owned(),
                if i % 3 == 0 { "prod" } else { "dev" }.to_owned(),
            ),
        ];
        image.deregistration_protection = Some("disabled".to_owned());
        if i % 7 == 3 {
            image.deprecation_time = Some(base + Duration::days(30));
        }
        if i % 11 == 5 {
            image.state = "disabled".to_owned();
        }
        if i % 13 == 6 {
            image.deregistration_protection = Some("enabled".to_owned());
        }
        if i % 17 == 8 {
            image.public = true;
        }
        if i % 4 == 1 {
            image.last_launched_time = Some(image.creation_date + Duration::days(2));
        }
        if i == 2 {
            image.source_image_id = ids.get(1).cloned();
            image.source_image_region = Some(region.to_owned());
        }
        r.insert_image(image);
        ids.push(image_id);
    }
    for j in 0..plan.public_amazon {
        let n = j as u64;
        let mut image = Ec2Image::new(
            make_id("ami", salt, 3, n),
            AMAZON_ACCOUNT,
            format!("al2023-ami-2023.{j}.20261201.0-kernel-6.1-x86_64"),
            make_id("snap", salt, 4, n),
        );
        image.owner_alias = Some("amazon".to_owned());
        image.public = true;
        image.description = Some("Amazon Linux 2023 AMI".to_owned());
        image.creation_date = base - Duration::days(30 + n as i64);
        r.insert_image(image);
    }
    let states = [
        "running",
        "stopped",
        "pending",
        "stopping",
        "shutting-down",
        "terminated",
    ];
    for k in 0..plan.instances {
        if ids.is_empty() {
            break;
        }
        let n = k as u64;
        let instance = Ec2Instance {
            instance_id: make_id("i", salt, 5, n),
            reservation_id: make_id("r", salt, 6, n),
            owner_id: plan.account.to_owned(),
            // Every third image is in use; terminated ones do not count.
            image_id: ids[(3 * k) % ids.len()].clone(),
            state: states[k % states.len()].to_owned(),
            instance_type: "t3.micro".to_owned(),
            launch_time: base + Duration::hours(k as i64),
            tags: vec![("Name".to_owned(), format!("seed-{k}"))],
        };
        r.instances.insert(instance.instance_id.clone(), instance);
    }
    if plan.usage && ids.len() >= 12 {
        let when = base + Duration::days(1);
        let param = SsmParameter {
            name: "/imagecat/golden/web".to_owned(),
            owner_id: plan.account.to_owned(),
            kind: "String".to_owned(),
            data_type: "aws:ec2:image".to_owned(),
            values: vec![(ids[8].clone(), when)],
        };
        r.parameters.insert(param.name.clone(), param);
        let version = |number: u64, image: &str| LaunchTemplateVersion {
            number,
            description: Some(format!("version {number}")),
            image_id: Some(image.to_owned()),
            instance_type: Some("t3.small".to_owned()),
            create_time: when + Duration::minutes(number as i64),
        };
        let web = LaunchTemplate {
            id: make_id("lt", salt, 7, 0),
            name: "web".to_owned(),
            owner_id: plan.account.to_owned(),
            default_version: 1,
            create_time: when,
            versions: vec![
                version(1, &ids[3]),
                version(2, &ids[5]),
                version(3, "resolve:ssm:/imagecat/golden/web"),
            ],
            tags: Vec::new(),
        };
        let api = LaunchTemplate {
            id: make_id("lt", salt, 7, 1),
            name: "api".to_owned(),
            owner_id: plan.account.to_owned(),
            default_version: 1,
            create_time: when,
            versions: vec![version(1, &ids[7])],
            tags: Vec::new(),
        };
        let lc = LaunchConfiguration {
            name: "legacy-db".to_owned(),
            owner_id: plan.account.to_owned(),
            image_id: ids[10].clone(),
            instance_type: "t3.micro".to_owned(),
            created_time: when,
        };
        let group = AutoScalingGroup {
            name: "web-asg".to_owned(),
            owner_id: plan.account.to_owned(),
            launch_configuration: None,
            launch_template: None,
            mixed: Some((
                TemplateSpec {
                    id: Some(api.id.clone()),
                    name: None,
                    version: Some("$Latest".to_owned()),
                },
                vec![Override {
                    instance_type: Some("m7g.large".to_owned()),
                    image_id: Some(ids[11].clone()),
                    template: None,
                }],
            )),
            sizes: (1, 3, 2),
            zones: vec![format!("{region}a")],
            created_time: when,
        };
        r.templates.insert(web.id.clone(), web);
        r.templates.insert(api.id.clone(), api);
        r.configurations.insert(lc.name.clone(), lc);
        r.groups.insert(group.name.clone(), group);
    }
    r
}

//! Emulator of the AWS APIs the EC2 backend calls, on one loopback port
//! as moto and LocalStack serve them (see `reference/aws-ec2-api.md`
//! and `docs/fidelity/ec2.md` for what differs from AWS and from moto):
//!
//! - EC2's Query API (`POST /` form body or `GET /?Action=…`,
//!   `Version=2016-11-15`), XML in EC2's namespace with `requestId`,
//!   errors as `<Response><Errors><Error><Code>…</Code>` with
//!   `RequestID` ([`handlers`](self) dispatch, `wire`):
//!   DescribeImages (Owners `self`/account/`amazon`, ImageIds,
//!   ExecutableBy, filters with `*`/`?`, IncludeDeprecated/
//!   IncludeDisabled, `MaxResults` 5–1000 and an opaque `NextToken`),
//!   DeregisterImage (+`DeleteAssociatedSnapshots`), RegisterImage,
//!   CreateImage, CopyImage (across regions), Enable/DisableImage,
//!   Enable/DisableImageDeprecation, Enable/DisableImage­Deregistration­
//!   Protection (a protected AMI is refused), DescribeImageAttribute and ModifyImageAttribute (launch permissions),
//!   Create/DeleteTags, Describe/DeleteSnapshot(s)
//!   (`InvalidSnapshot.InUse`), DescribeRegions, DescribeInstances,
//!   Run/TerminateInstances, launch templates and versions,
//!   DescribeImageReferences;
//! - Auto Scaling (`Version=2011-01-01`, `member` lists) launch
//!   configurations and groups; STS GetCallerIdentity; SSM parameters
//!   over JSON 1.1 (`X-Amz-Target`);
//! - a SigV4 `Authorization` header is required on every call; its
//!   credential scope picks the region (each region its own state, as on
//!   moto) and the service; with [`Ec2EmulatorConfig::keys`] the signature
//!   is recomputed and a wrong one is `AuthFailure`;
//! - throttling: [`Ec2Emulator::throttle_next`] and
//!   [`Ec2EmulatorConfig::throttle_every`] answer `RequestLimitExceeded`
//!   (503); the shared fault modes come from [`ServeOptions`], and the
//!   DELETE faults ([`EmulatorServer::delete_faults`]) apply to
//!   DeregisterImage and DeleteSnapshot, the instance-listing faults
//!   ([`ServeOptions::instance_faults`]) to DescribeInstances;
//! - every call is logged with its decoded parameters ([`Ec2Emulator::calls`]).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::any;

use crate::faults::InstanceFaults;
use crate::server::{EmulatorServer, ServeOptions};

mod autoscaling;
pub mod data;
mod handlers;
mod images;
mod page;
mod query;
mod register;
mod sigv4;
mod ssm;
mod usage;
mod wire;

pub use self::data::{
    AMAZON_ACCOUNT, AutoScalingGroup, BlockDevice, Ec2Image, Ec2Instance, Ec2Snapshot,
    LaunchConfiguration, LaunchTemplate, LaunchTemplateVersion, Override, RegionState,
    SsmParameter, TemplateSpec,
};
use self::data::{SeedPlan, make_id, seed_region};
use self::page::Tokens;

/// The account the emulator answers for by default (moto's too).
pub const ACCOUNT: &str = "123456789012";
/// The access key id of the default key pair ([`Ec2Key::default`]).
pub const ACCESS_KEY_ID: &str = "AKIAEMULATOREXAMPLE1";
/// The secret of the default key pair (a test secret, for the emulator only).
pub const SECRET_ACCESS_KEY: &str = "emulator/secret/key/for/tests/only/0000";
/// The region seeded by default.
pub const REGION: &str = "us-east-1";

/// The 17 regions DescribeRegions lists by default (those enabled by
/// default on a new account).
pub const DEFAULT_REGIONS: [&str; 17] = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// One key pair the emulator accepts, and the account it stands for.
#[derive(Clone)]
pub struct Ec2Key {
    /// The access key id.
    pub access_key_id: String,
    /// The secret (never printed by `Debug`).
    pub secret_access_key: String,
    /// The session token requests must carry, for temporary credentials.
    pub session_token: Option<String>,
    /// The account.
    pub account: String,
}

impl Default for Ec2Key {
    fn default() -> Self {
        Ec2Key {
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
            session_token: None,
            account: ACCOUNT.to_owned(),
        }
    }
}

impl std::fmt::Debug for Ec2Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Key")
            .field("access_key_id", &self.access_key_id)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// How the EC2 emulator behaves and what it holds.
#[derive(Debug, Clone)]
pub struct Ec2EmulatorConfig {
    /// Seeded AMIs a seeded region (families `web`, `api`, `db`, `batch`).
    /// Default 50.
    pub images: usize,
    /// Seed of the data. Default 0.
    pub seed: u64,
    /// The account of unsigned-checked callers. Default `123456789012`.
    pub account: String,
    /// The regions seeded (each with its own ids). Default `us-east-1`.
    pub regions: Vec<String>,
    /// The regions DescribeRegions lists. Default [`DEFAULT_REGIONS`].
    pub regions_listed: Vec<String>,
    /// The keys whose signatures are checked; empty: any SigV4 header is
    /// accepted (as moto without `INITIAL_NO_AUTH_ACTION_COUNT`), for
    /// [`Ec2EmulatorConfig::account`]. Default empty.
    pub keys: Vec<Ec2Key>,
    /// Seeded instances a seeded region. Default 12.
    pub instances: usize,
    /// Amazon-owned public AMIs a seeded region (what a listing without
    /// `Owners` sweeps in). Default 3.
    pub public_amazon: usize,
    /// Seed the launch templates, SSM parameter, launch configuration and
    /// Auto Scaling group (needs 12 images). Default true.
    pub usage: bool,
    /// `ImageId.N` together with `MaxResults` is
    /// `InvalidParameterCombination` (as for DescribeInstances). Default true.
    pub strict_image_ids: bool,
    /// Every Nth call is throttled (`RequestLimitExceeded`). Default none.
    pub throttle_every: Option<u32>,
    /// A paged listing whose last page is full still answers a `NextToken`,
    /// which leads to an empty page without one (EC2 has been seen to do
    /// so: aws-sdk-js #939). Default false.
    pub token_at_end: bool,
}

impl Default for Ec2EmulatorConfig {
    fn default() -> Self {
        Ec2EmulatorConfig {
            images: 50,
            seed: 0,
            account: ACCOUNT.to_owned(),
            regions: vec![REGION.to_owned()],
            regions_listed: DEFAULT_REGIONS.iter().map(|r| (*r).to_owned()).collect(),
            keys: Vec::new(),
            instances: 12,
            public_amazon: 3,
            usage: true,
            strict_image_ids: true,
            throttle_every: None,
            token_at_end: false,
        }
    }
}

impl Ec2EmulatorConfig {
    /// Checks signatures with the default key pair ([`Ec2Key::default`]).
    pub fn signed(mut self) -> Self {
        self.keys = vec![Ec2Key::default()];
        self
    }
}

/// One call as the emulator decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Call {
    /// The region of the credential scope.
    pub region: String,
    /// The service of the credential scope (`ec2`, `autoscaling`, …).
    pub service: String,
    /// The action (SSM: the target's operation).
    pub action: String,
    /// The decoded parameters (SSM: `Body` with the JSON).
    pub params: Vec<(String, String)>,
}

impl Ec2Call {
    /// The first value of parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
pub(crate) struct World {
    regions: HashMap<String, RegionState>,
    throttle_next: u32,
    served: u64,
    calls: Vec<Ec2Call>,
    instance_faults: InstanceFaults,
}

impl World {
    /// Region `name`'s state (an empty one the first time).
    pub(crate) fn region(&mut self, name: &str) -> &mut RegionState {
        self.regions.entry(name.to_owned()).or_default()
    }

    /// Region `name`'s state and the armed instance-listing faults.
    pub(crate) fn region_and_faults(
        &mut self,
        name: &str,
    ) -> (&mut RegionState, &mut InstanceFaults) {
        let region = self.regions.entry(name.to_owned()).or_default();
        (region, &mut self.instance_faults)
    }
}

#[derive(Debug)]
pub(crate) struct Emu {
    pub(crate) config: Ec2EmulatorConfig,
    pub(crate) tokens: Tokens,
    pub(crate) counter: AtomicU64,
    world: Mutex<World>,
}

impl Emu {
    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, call: Ec2Call) {
        self.lock().calls.push(call);
    }

    /// Whether this call is throttled.
    pub(crate) fn throttled(&self) -> bool {
        let mut w = self.lock();
        w.served += 1;
        if w.throttle_next > 0 {
            w.throttle_next -= 1;
            return true;
        }
        self.config
            .throttle_every
            .is_some_and(|n| n > 0 && w.served % u64::from(n) == 0)
    }
}

/// EC2 deletes by `POST`: DeregisterImage and DeleteSnapshot get the
/// shared DELETE faults ([`EmulatorServer::delete_faults`]), and a
/// DeregisterImage's `ImageId` is the request log's
/// [`deleted_image_id`](crate::server::RecordedRequest::deleted_image_id).
fn is_delete(
    _: &axum::http::Method,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Option<crate::server::OtherDelete> {
    let params = query::Params::parse(uri.query(), body);
    match params.get("Action") {
        Some("DeregisterImage") => Some(crate::server::OtherDelete {
            image_id: params.get("ImageId").map(str::to_owned),
        }),
        Some("DeleteSnapshot") => Some(crate::server::OtherDelete { image_id: None }),
        _ => None,
    }
}

/// A running EC2 emulator; stops when dropped.
#[derive(Debug)]
pub struct Ec2Emulator {
    server: EmulatorServer,
    emu: Arc<Emu>,
}

impl Ec2Emulator {
    /// Starts the emulator on 127.0.0.1 (or `options.listen`).
    pub async fn start(config: Ec2EmulatorConfig, options: ServeOptions) -> std::io::Result<Self> {
        let mut world = World {
            instance_faults: options.instance_faults,
            ..World::default()
        };
        for region in &config.regions {
            let plan = SeedPlan {
                seed: config.seed,
                account: &config.account,
                images: config.images,
                instances: config.instances,
                public_amazon: config.public_amazon,
                usage: config.usage,
            };
            world
                .regions
                .insert(region.clone(), seed_region(plan, region));
        }
        if let Some(h) = options.hostile {
            let region = config
                .regions
                .first()
                .cloned()
                .unwrap_or_else(|| REGION.to_owned());
            for (n, record) in h.records().into_iter().enumerate() {
                let mut image = Ec2Image::new(
                    make_id("ami", config.seed, 66, n as u64),
                    &config.account,
                    record.name,
                    make_id("snap", config.seed, 66, n as u64),
                );
                image.description = Some(record.text.clone());
                image.tags = vec![("hostile".to_owned(), record.text)];
                world.region(&region).insert_image(image);
            }
        }
        let emu = Arc::new(Emu {
            tokens: Tokens {
                secret: crate::seed::splitmix64(config.seed ^ 0x0EC2_70CE),
            },
            config,
            counter: AtomicU64::new(0),
            world: Mutex::new(world),
        });
        let router = Router::new()
            .route("/", any(handlers::dispatch))
            .with_state(Arc::clone(&emu));
        let server = EmulatorServer::start_classified(router, options, Some(is_delete)).await?;
        Ok(Ec2Emulator { server, emu })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Ec2EmulatorConfig {
        &self.emu.config
    }

    /// The endpoint of every service: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// The catalog URL of `region`: `ec2+http://127.0.0.1:PORT?region=R`.
    pub fn region_url(&self, region: &str) -> String {
        format!("ec2+http://{}?region={region}", self.server.addr())
    }

    /// The catalog URL of the first seeded region.
    pub fn catalog_url(&self) -> String {
        self.region_url(self.first_region())
    }

    fn first_region(&self) -> &str {
        self.emu
            .config
            .regions
            .first()
            .map_or(REGION, String::as_str)
    }

    /// Runs `f` on region `region`'s state.
    fn with_region<T>(&self, region: &str, f: impl FnOnce(&mut RegionState) -> T) -> T {
        f(self.emu.lock().region(region))
    }

    /// Every registered AMI of `region` (any owner), in id order.
    pub fn images(&self, region: &str) -> Vec<Ec2Image> {
        self.with_region(region, |r| r.images.values().cloned().collect())
    }

    /// AMI `id` of `region`, if registered.
    pub fn image(&self, region: &str, id: &str) -> Option<Ec2Image> {
        self.with_region(region, |r| r.images.get(id).cloned())
    }

    /// The ids of the caller's own AMIs in `region`, in id order.
    pub fn own_image_ids(&self, region: &str) -> Vec<String> {
        let account = self.emu.config.account.clone();
        self.with_region(region, |r| {
            r.images
                .values()
                .filter(|i| i.owner_id == account)
                .map(|i| i.image_id.clone())
                .collect()
        })
    }

    /// Up to `n` of the caller's AMIs in `region` a DeregisterImage
    /// accepts (available or disabled, not protected), in id order.
    pub fn deletable_ids(&self, region: &str, n: usize) -> Vec<String> {
        let account = self.emu.config.account.clone();
        self.with_region(region, |r| {
            r.images
                .values()
                .filter(|i| i.owner_id == account && !i.protected())
                .take(n)
                .map(|i| i.image_id.clone())
                .collect()
        })
    }

    /// A protected AMI of the caller in `region`, if any.
    pub fn protected_id(&self, region: &str) -> Option<String> {
        let account = self.emu.config.account.clone();
        self.with_region(region, |r| {
            r.images
                .values()
                .find(|i| i.owner_id == account && i.protected())
                .map(|i| i.image_id.clone())
        })
    }

    /// A well-formed AMI id no region holds or held.
    pub fn missing_id(&self) -> String {
        let w = self.emu.lock();
        (0u64..)
            .map(|n| make_id("ami", self.emu.config.seed ^ 0xDEAD, 77, n))
            .find(|id| {
                w.regions
                    .values()
                    .all(|r| !r.images.contains_key(id) && !r.deregistered.contains(id))
            })
            .unwrap_or_default()
    }

    /// The caller's AMIs in `region` that nothing in the region uses: no
    /// instance but terminated ones, no launch template version (its
    /// `resolve:ssm:` parameter resolved), no launch configuration, no
    /// Auto Scaling override, no SSM parameter. In id order.
    pub fn unused_ids(&self, region: &str) -> Vec<String> {
        let account = self.emu.config.account.clone();
        self.with_region(region, |r| {
            let resolve = |v: &str| match v.strip_prefix("resolve:ssm:") {
                Some(name) => r
                    .parameters
                    .get(name)
                    .and_then(|p| p.values.last())
                    .map(|(v, _)| v.clone()),
                None => Some(v.to_owned()),
            };
            let mut used: std::collections::HashSet<String> = r
                .instances
                .values()
                .filter(|i| i.state != "terminated")
                .map(|i| i.image_id.clone())
                .collect();
            used.extend(
                r.templates
                    .values()
                    .flat_map(|t| t.versions.iter())
                    .filter_map(|v| v.image_id.as_deref().and_then(resolve)),
            );
            used.extend(r.configurations.values().map(|c| c.image_id.clone()));
            used.extend(r.groups.values().flat_map(|g| {
                g.mixed
                    .iter()
                    .flat_map(|(_, o)| o.iter().filter_map(|o| o.image_id.clone()))
            }));
            used.extend(
                r.parameters
                    .values()
                    .filter_map(|p| p.values.last().map(|(v, _)| v.clone())),
            );
            r.images
                .values()
                .filter(|i| i.owner_id == account && !used.contains(&i.image_id))
                .map(|i| i.image_id.clone())
                .collect()
        })
    }

    /// Registers (or replaces) an AMI, creating the snapshots it names.
    pub fn insert_image(&self, region: &str, image: Ec2Image) {
        self.with_region(region, |r| r.insert_image(image));
    }

    /// Changes AMI `id`; false when it is not registered.
    pub fn update_image(&self, region: &str, id: &str, change: impl FnOnce(&mut Ec2Image)) -> bool {
        self.with_region(region, |r| r.images.get_mut(id).map(change).is_some())
    }

    /// The AMIs deregistered so far in `region`.
    pub fn deregistered(&self, region: &str) -> Vec<String> {
        let mut ids: Vec<String> =
            self.with_region(region, |r| r.deregistered.iter().cloned().collect());
        ids.sort();
        ids
    }

    /// Every snapshot of `region`.
    pub fn snapshots(&self, region: &str) -> Vec<Ec2Snapshot> {
        self.with_region(region, |r| r.snapshots.values().cloned().collect())
    }

    /// Every instance of `region`.
    pub fn instances(&self, region: &str) -> Vec<Ec2Instance> {
        self.with_region(region, |r| r.instances.values().cloned().collect())
    }

    /// Adds (or replaces) an instance.
    pub fn insert_instance(&self, region: &str, instance: Ec2Instance) {
        self.with_region(region, |r| {
            r.instances.insert(instance.instance_id.clone(), instance);
        });
    }

    /// Every launch template of `region`.
    pub fn launch_templates(&self, region: &str) -> Vec<LaunchTemplate> {
        self.with_region(region, |r| r.templates.values().cloned().collect())
    }

    /// Adds (or replaces) a launch template.
    pub fn insert_launch_template(&self, region: &str, template: LaunchTemplate) {
        self.with_region(region, |r| {
            r.templates.insert(template.id.clone(), template);
        });
    }

    /// Every launch configuration of `region`.
    pub fn launch_configurations(&self, region: &str) -> Vec<LaunchConfiguration> {
        self.with_region(region, |r| r.configurations.values().cloned().collect())
    }

    /// Adds (or replaces) a launch configuration.
    pub fn insert_launch_configuration(&self, region: &str, lc: LaunchConfiguration) {
        self.with_region(region, |r| {
            r.configurations.insert(lc.name.clone(), lc);
        });
    }

    /// Every Auto Scaling group of `region`.
    pub fn auto_scaling_groups(&self, region: &str) -> Vec<AutoScalingGroup> {
        self.with_region(region, |r| r.groups.values().cloned().collect())
    }

    /// Adds (or replaces) an Auto Scaling group.
    pub fn insert_auto_scaling_group(&self, region: &str, group: AutoScalingGroup) {
        self.with_region(region, |r| {
            r.groups.insert(group.name.clone(), group);
        });
    }

    /// Every SSM parameter of `region`.
    pub fn parameters(&self, region: &str) -> Vec<SsmParameter> {
        self.with_region(region, |r| r.parameters.values().cloned().collect())
    }

    /// Adds (or replaces) an SSM parameter.
    pub fn insert_parameter(&self, region: &str, parameter: SsmParameter) {
        self.with_region(region, |r| {
            r.parameters.insert(parameter.name.clone(), parameter);
        });
    }

    /// Arms the faults of DescribeInstances (replacing those armed before):
    /// a page reaching past row `past_row` comes back empty with a token
    /// that serves it again (`empty_pages` times), or is preceded by a
    /// shift (`shifts` times: the first live instance in id order is
    /// terminated and one of the same AMI is launched in a reservation that
    /// sorts last).
    pub fn instance_faults(&self, faults: InstanceFaults) {
        self.emu.lock().instance_faults = faults;
    }

    /// Throttles the next `n` calls (`RequestLimitExceeded`, 503).
    pub fn throttle_next(&self, n: u32) {
        self.emu.lock().throttle_next = n;
    }

    /// Every call received so far (past the signature check), in order.
    pub fn calls(&self) -> Vec<Ec2Call> {
        self.emu.lock().calls.clone()
    }

    /// The calls of `action` received so far.
    pub fn calls_of(&self, action: &str) -> Vec<Ec2Call> {
        self.emu
            .lock()
            .calls
            .iter()
            .filter(|c| c.action == action)
            .cloned()
            .collect()
    }

    /// Forgets the calls received so far (and the server's request log).
    pub fn clear_calls(&self) {
        self.emu.lock().calls.clear();
        self.server.clear_requests();
    }
}

crate::impl_emulator!(Ec2Emulator, "ec2", |this| this.catalog_url());

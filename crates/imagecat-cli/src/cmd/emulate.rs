//! `imagecat emulate`: one emulator in the foreground, its catalog URL as
//! the first line of stdout.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use imagecat_emulators::churn::Churn;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig, Layout};
use imagecat_emulators::delete_faults::DeleteFault;
use imagecat_emulators::faults::{FaultKind, FaultPlan, InstanceFaults};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig};
use imagecat_emulators::glance::{
    GlanceCaller, GlanceEmulator, GlanceEmulatorConfig, KeystoneUser, MEMBER_TOKEN, VolumeFault,
};
use imagecat_emulators::hostile::Hostile;
use imagecat_emulators::instances::RefSpelling;
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig};

use crate::exit::CliError;
use crate::session::Session;

/// Which API to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// NHN Cloud (TOAST) Compute Image API v1.0.
    Toast,
    /// Wakame-vdc DCMGR images API.
    Dcmgr,
    /// OpenStack Image v2 (Glance).
    Glance,
    /// Google Compute Engine v1 images, disks, instances, templates, groups.
    Gce,
}

/// TOAST marker semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MarkerArg {
    /// The marker image starts the next page (as the TOAST docs say).
    Inclusive,
    /// The next page starts after the marker (as Glance does).
    Exclusive,
}

/// DCMGR API layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayoutArg {
    /// Current servers: /api/12.03, array-wrapped `results` and `total`.
    V1203,
    /// The older wiki layout: /api, `result` and `owner_total`.
    Legacy,
}

/// Arguments of `emulate`.
#[derive(Debug, Args)]
pub(crate) struct EmulateArgs {
    /// The API to emulate.
    #[arg(value_enum)]
    backend: Backend,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// How many generated images the catalog holds.
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many seeded instances (every state, terminated ones included)
    /// the instance API serves, for `imagecat usage` (Glance: Nova servers,
    /// some booted from Cinder volumes).
    #[arg(long, default_value_t = 12)]
    instances: usize,
    /// TOAST: marker semantics.
    #[arg(long, value_enum, default_value_t = MarkerArg::Exclusive)]
    marker: MarkerArg,
    /// DCMGR: API layout.
    #[arg(long, value_enum, default_value_t = LayoutArg::V1203)]
    layout: LayoutArg,
    /// GCE: the own project (also the catalog URL's `?project=`).
    #[arg(long, default_value = imagecat_emulators::gce::PROJECT)]
    project: String,
    /// GCE: public image projects served read-only (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "debian-cloud")]
    public_projects: Vec<String>,
    /// GCE: how many reads see an Operation RUNNING before it is DONE.
    #[arg(long, default_value_t = 0)]
    operation_polls: u32,
    /// DCMGR: the account put in the printed catalog URL.
    #[arg(long, default_value = "a-shpoolxx")]
    account: String,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability (0..1) that a request gets a fault.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Fault kinds drawn from: 500, 502, 503, 429, reset, truncate, slow, shape.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "500,502,503,429,reset,truncate,slow,shape"
    )]
    faults: Vec<String>,
    /// Seed of the fault draws (the same seed replays the same faults).
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// How long a `slow` fault waits, in milliseconds.
    #[arg(long, default_value_t = 40_000)]
    slow_ms: u64,
    /// TOAST, DCMGR: catalog churn; after each list request, create this many
    /// images (the newest, listed first) and delete as many random existing
    /// ones (DCMGR: soft deletes).
    #[arg(long, default_value_t = 0)]
    churn_per_request: usize,
    /// Seed of the churn draws (the same seed replays the same changes).
    #[arg(long, default_value_t = 0)]
    churn_seed: u64,
    /// Hostile mode: an image whose texts carry terminal controls, and
    /// error messages that quote the request back (credentials included).
    #[arg(long)]
    hostile: bool,
    /// With --hostile: an image with a 10 MB name too.
    #[arg(long, requires = "hostile")]
    huge_name: bool,
    /// DCMGR: this many instance pages reaching past row
    /// --instance-fault-row come back empty (with the real total).
    #[arg(long, default_value_t = 0)]
    empty_instance_pages: u32,
    /// DCMGR: before this many instance pages reaching past row
    /// --instance-fault-row, the listing shifts (the first instance ends,
    /// one of the same image is launched last; the total stays).
    #[arg(long, default_value_t = 0)]
    shift_instances: u32,
    /// The row the instance faults start past (the page size: every page
    /// but the first).
    #[arg(long, default_value_t = 0)]
    instance_fault_row: u64,
    /// How instances name their image: canonical, upper, padded, link,
    /// link-object (Glance's Nova: `{links}` without `id`).
    #[arg(long, default_value = "canonical", value_parser = parse_spelling)]
    ref_spelling: RefSpelling,
    /// Glance: how Cinder volume reads misbehave: none, hidden-metadata
    /// (bootable volumes without image metadata), forbidden (403).
    #[arg(long, default_value = "none", value_parser = parse_volume_fault)]
    volume_fault: VolumeFault,
    /// What every DELETE meets: `drop` (performed, then the connection
    /// breaks), `hang` (performed, never answered), `bare404` (a proxy's
    /// HTML 404, not performed), `hold` (held until the emulator stops).
    #[arg(long, value_name = "KIND", value_parser = ["drop", "hang", "bare404", "hold"])]
    delete_fault: Option<String>,
}

fn parse_spelling(name: &str) -> Result<RefSpelling, String> {
    RefSpelling::parse(name).ok_or_else(|| {
        let known: Vec<_> = RefSpelling::NAMES.iter().map(|(n, _)| *n).collect();
        format!("known: {}", known.join(", "))
    })
}

fn parse_volume_fault(name: &str) -> Result<VolumeFault, String> {
    VolumeFault::parse(name).ok_or_else(|| {
        let known: Vec<_> = VolumeFault::NAMES.iter().map(|(n, _)| *n).collect();
        format!("known: {}", known.join(", "))
    })
}

impl EmulateArgs {
    /// The churn, if `--churn-per-request` is above 0.
    fn churn(&self) -> Option<Churn> {
        (self.churn_per_request > 0).then(|| Churn::new(self.churn_per_request, self.churn_seed))
    }

    /// The `--delete-fault`.
    fn delete_fault(&self) -> Option<DeleteFault> {
        self.delete_fault.as_deref().and_then(DeleteFault::parse)
    }

    fn serve_options(&self) -> Result<ServeOptions, CliError> {
        let kinds = self
            .faults
            .iter()
            .map(|name| {
                FaultKind::parse(name).ok_or_else(|| {
                    CliError::usage(&format!(
                        "unknown fault kind {name:?}; known: 500, 502, 503, 429, reset, truncate, slow, shape"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(CliError::usage("--fault-rate must be between 0 and 1"));
        }
        Ok(ServeOptions {
            listen: Some(self.listen),
            latency: Duration::from_millis(self.latency_ms),
            faults: FaultPlan::new(self.fault_rate, &kinds, self.fault_seed)
                .slow_delay(Duration::from_millis(self.slow_ms)),
            hostile: self
                .hostile
                .then(|| Hostile::default().huge_name(self.huge_name)),
            instance_faults: InstanceFaults {
                past_row: self.instance_fault_row,
                empty_pages: self.empty_instance_pages,
                shifts: self.shift_instances,
            },
        })
    }
}

/// Runs the emulator until Ctrl-C.
pub(crate) async fn run(_session: &Session, args: EmulateArgs) -> Result<(), CliError> {
    let args = &args;
    let serve = args.serve_options()?;
    if args.backend != Backend::Glance && args.volume_fault != VolumeFault::None {
        return Err(CliError::usage("--volume-fault needs the glance backend"));
    }
    if matches!(args.backend, Backend::Glance | Backend::Gce) && args.churn().is_some() {
        return Err(CliError::usage(
            "--churn-per-request is emulated by the toast and dcmgr emulators only",
        ));
    }
    let bind_error =
        |e: std::io::Error| CliError::usage(&format!("cannot listen on {}: {e}", args.listen));
    // Keep the emulator alive until Ctrl-C; it stops when dropped.
    let _running: Box<dyn std::any::Any> = match args.backend {
        Backend::Toast => {
            let config = ToastEmulatorConfig {
                images: args.images,
                seed: args.seed,
                marker: match args.marker {
                    MarkerArg::Inclusive => MarkerMode::Inclusive,
                    MarkerArg::Exclusive => MarkerMode::Exclusive,
                },
                churn: args.churn(),
                instances: args.instances,
                ..ToastEmulatorConfig::default()
            };
            let emulator = ToastEmulator::start(config.clone(), serve)
                .await
                .map_err(bind_error)?;
            emulator.set_ref_spelling(args.ref_spelling);
            emulator.server().delete_faults().set(args.delete_fault());
            announce(&emulator.catalog_url())?;
            eprintln!(
                "TOAST emulator with {} images; credentials: IMAGECAT_TOAST_TOKEN={} or IMAGECAT_TOAST_USERNAME={} IMAGECAT_TOAST_PASSWORD={}",
                args.images, config.token, config.username, config.password
            );
            Box::new(emulator)
        }
        Backend::Dcmgr => {
            let config = DcmgrEmulatorConfig {
                layout: match args.layout {
                    LayoutArg::V1203 => Layout::V1203,
                    LayoutArg::Legacy => Layout::Legacy,
                },
                images: args.images,
                seed: args.seed,
                churn: args.churn(),
                instances: args.instances,
                ..DcmgrEmulatorConfig::default()
            };
            let emulator = DcmgrEmulator::start(config, serve)
                .await
                .map_err(bind_error)?;
            emulator.set_ref_spelling(args.ref_spelling);
            emulator.server().delete_faults().set(args.delete_fault());
            announce(&emulator.catalog_url(Some(&args.account)))?;
            eprintln!(
                "DCMGR emulator with {} images (no credentials needed)",
                args.images
            );
            Box::new(emulator)
        }
        Backend::Glance => {
            let config = glance_config(args);
            let token = config.token.clone().unwrap_or_default();
            let project = config.project_id.clone().unwrap_or_default();
            let users: Vec<KeystoneUser> = config.keystone_users().cloned().collect();
            let emulator = GlanceEmulator::start(config, serve)
                .await
                .map_err(bind_error)?;
            // An admin: usage sees every project's servers (all_tenants).
            emulator.set_admin(true);
            emulator.set_ref_spelling(args.ref_spelling);
            emulator.set_volume_fault(args.volume_fault);
            emulator.server().delete_faults().set(args.delete_fault());
            announce(&emulator.usage_catalog_url())?;
            eprintln!(
                "Glance emulator with {} images and {} servers (Nova {}); credentials: OS_TOKEN={token}",
                args.images,
                args.instances,
                emulator.compute_endpoint()
            );
            eprintln!("admin: OS_TOKEN={token} (role admin: sees every project's images)");
            eprintln!(
                "member: OS_TOKEN={MEMBER_TOKEN} (roles member, reader of project {project}: \
                 public images, the project's own, shared ones it accepted, community when asked)"
            );
            for user in &users {
                eprintln!(
                    "keystone: OS_AUTH_URL={} OS_USERNAME={} OS_PASSWORD={} OS_PROJECT_ID={} (roles {})",
                    emulator.identity_v3_url(),
                    user.username,
                    user.password,
                    user.project_id,
                    user.roles().join(", ")
                );
            }
            Box::new(emulator)
        }
        Backend::Gce => {
            let emulator = GceEmulator::start(gce_config(args), serve)
                .await
                .map_err(bind_error)?;
            emulator.server().delete_faults().set(args.delete_fault());
            announce(&emulator.catalog_url())?;
            eprintln!(
                "GCE emulator with {} images in project {} (public: {}) and {} disks, {} instances; credentials: GOOGLE_OAUTH_ACCESS_TOKEN={}",
                args.images,
                args.project,
                args.public_projects.join(", "),
                args.instances * 2,
                args.instances,
                imagecat_emulators::gce::TOKEN
            );
            eprintln!(
                "gcloud: CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE={} CLOUDSDK_AUTH_ACCESS_TOKEN={} CLOUDSDK_CORE_PROJECT={}",
                emulator.endpoint(),
                imagecat_emulators::gce::TOKEN,
                args.project
            );
            Box::new(emulator)
        }
    };
    eprintln!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await.map_err(|e| {
        CliError::new(
            crate::exit::ExitCode::Failure,
            format!("cannot wait for Ctrl-C: {e}"),
        )
    })?;
    Ok(())
}

/// The Glance emulator `emulate glance` serves: the static admin token, a
/// member's token of the same project, and two Keystone users (`admin`
/// with the admin role, `member` without), whose issued tokens carry their
/// roles.
fn glance_config(args: &EmulateArgs) -> GlanceEmulatorConfig {
    let base = GlanceEmulatorConfig::default();
    let project = base.project_id.clone().unwrap_or_default();
    let user = |name: &str, admin: bool| KeystoneUser {
        username: name.to_owned(),
        password: format!("emulator-{name}-password"),
        project_id: project.clone(),
        admin,
        ..KeystoneUser::default()
    };
    base.images(args.images as u64)
        .instances(args.instances as u64)
        .project_token(MEMBER_TOKEN, GlanceCaller::member(project.clone()))
        .keystone(user("admin", true))
        .keystone_user(user("member", false))
}

/// The GCE emulator `emulate gce` serves: the images, twice as many disks
/// as instances (half of them unattached), four templates (two naming a
/// family) and two group managers.
fn gce_config(args: &EmulateArgs) -> GceEmulatorConfig {
    let n = args.instances as u64;
    GceEmulatorConfig {
        project: args.project.clone(),
        public_projects: args.public_projects.clone(),
        images: args.images as u64,
        seed: args.seed,
        operation_polls: args.operation_polls,
        ..GceEmulatorConfig::default()
    }
    .usage(2 * n, n, 4, 2)
}

fn announce(url: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{url}")?;
    stdout.flush()?;
    Ok(())
}

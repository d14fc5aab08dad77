//! Section 10: a GCE usage scan over 10,000 disks in 20 zones (plus
//! instances, templates and groups) in the GCE emulator, timed, with the
//! requests it sent: about one aggregated listing per kind of user (20
//! pages of 500 disks), never one request per zone.

use std::time::{Duration, Instant};

use imagecat_core::{ImageCatalogExt, InstanceQuery};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, TOKEN};
use imagecat_emulators::server::ServeOptions;
use imagecat_gce::GceBuilder;
use imagecat_http::SecretString;

use crate::report::{Goal, Table, median, ms, thousands};
use crate::{Ctx, Res};

/// Disks of the scan.
const DISKS: u64 = 10_000;
/// Zones they spread over.
const ZONES: usize = 20;

/// Section 10 (see the module docs); pushes its goal.
pub(crate) fn section(ctx: &mut Ctx) -> Res<()> {
    let mut table = Table::new(
        format!(
            "10. GCE usage scan: {} disks in {ZONES} zones, {} instances, 200 templates, 100 groups, 100 images, emulator, median of {} runs",
            thousands(DISKS as f64),
            thousands(2_000.0),
            ctx.rounds
        ),
        &[
            "users listed",
            "requests",
            "of which aggregated/disks",
            "per zone",
            "time ms",
            "users/s",
        ],
    );
    let config = GceEmulatorConfig {
        images: 100,
        zones: (0..ZONES).map(|z| format!("zone-{z:02}-a")).collect(),
        ..GceEmulatorConfig::default()
    }
    .usage(DISKS, 2_000, 200, 100);
    let emu = ctx
        .emu_rt
        .block_on(GceEmulator::start(config, ServeOptions::default()))?;
    let catalog = GceBuilder::new()
        .project(emu.project())
        .endpoint(emu.endpoint())
        .access_token(SecretString::new(TOKEN))
        .build()?;
    let mut runs = Vec::new();
    let mut users = 0;
    let mut requests = 0;
    let mut disks = 0;
    let mut complete = true;
    for _ in 0..ctx.rounds {
        emu.server().clear_requests();
        let started = Instant::now();
        let scan = ctx.rt.block_on(catalog.usage_scan(InstanceQuery::new()));
        runs.push(started.elapsed());
        complete &= scan.is_complete();
        users = scan.instance_count();
        requests = emu.server().request_count();
        disks = emu
            .server()
            .count_requests(|r| r.path.ends_with("/aggregated/disks"));
    }
    let took: Duration = median(runs);
    table.row(vec![
        thousands(users as f64),
        requests.to_string(),
        disks.to_string(),
        format!("{:.2}", requests as f64 / ZONES as f64),
        ms(took),
        thousands(users as f64 / took.as_secs_f64().max(1e-9)),
    ]);
    table.note(
        "requests: every request the scan sent (aggregated lists of disks, instances, templates and groups at 500 a page, getFromFamily once per family); a scan of one request per zone would send at least 20 per kind",
    );
    table.print();
    let pages = DISKS.div_ceil(500) as usize;
    ctx.goals.push(Goal::new(
        "GCE usage scan: one aggregated listing, not one per zone",
        format!("complete, aggregated/disks = {pages} pages (+1 empty)"),
        format!("complete = {complete}, aggregated/disks = {disks}, {requests} requests"),
        Some(complete && (pages..=pages + 1).contains(&disks)),
    ));
    Ok(())
}

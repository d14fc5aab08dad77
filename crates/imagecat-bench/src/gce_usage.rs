//! Section 10: a GCE usage scan over 10,000 disks in 20 zones (plus
//! instances, templates and groups) in the GCE emulator, timed, with the
//! requests it sent: about one aggregated listing per kind of user (20
//! pages of 500 disks), never one request per zone. Against it, the
//! bytes-only loop: the same four aggregated listings fetched with a plain
//! reqwest client, reading only `nextPageToken` from the bytes (the
//! emulator's and the transport's cost, which no scan can go below).

use std::time::{Duration, Instant};

use imagecat_core::{ImageCatalogExt, InstanceQuery};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, TOKEN};
use imagecat_emulators::server::ServeOptions;
use imagecat_gce::GceBuilder;
use imagecat_http::SecretString;
use imagecat_http::Url;
use imagecat_http::reqwest::Client;

use crate::report::{Goal, Table, median, ms, thousands};
use crate::setup::plain_client;
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
            "way",
            "users listed",
            "requests",
            "of which aggregated/disks",
            "per zone",
            "time ms",
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
        "imagecat usage_scan".into(),
        thousands(users as f64),
        requests.to_string(),
        disks.to_string(),
        format!("{:.2}", requests as f64 / ZONES as f64),
        ms(took),
    ]);
    let client = plain_client()?;
    let mut loops = Vec::new();
    let mut fetched = 0;
    for _ in 0..ctx.rounds {
        let started = Instant::now();
        fetched = ctx
            .rt
            .block_on(bytes_only(&client, &emu.endpoint(), emu.project()))?;
        loops.push(started.elapsed());
    }
    let floor = median(loops);
    table.row(vec![
        "bytes-only loop".into(),
        "-".into(),
        fetched.to_string(),
        "-".into(),
        "-".into(),
        ms(floor),
    ]);
    table.note(format!(
        "the scan's own cost over the bytes-only loop: {} ms ({:.1} µs per user listed)",
        ms(took.saturating_sub(floor)),
        took.saturating_sub(floor).as_secs_f64() * 1e6 / (users.max(1) as f64)
    ));
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

/// The four aggregated listings, every page fetched (`maxResults=500`,
/// the bearer token), only `nextPageToken` read from the bytes; the
/// requests sent.
async fn bytes_only(client: &Client, endpoint: &str, project: &str) -> Res<usize> {
    const KEY: &[u8] = b"\"nextPageToken\":\"";
    let mut requests = 0;
    for kind in [
        "disks",
        "instances",
        "instanceTemplates",
        "instanceGroupManagers",
    ] {
        let mut token: Option<String> = None;
        loop {
            let mut url = Url::parse(&format!("{endpoint}projects/{project}/aggregated/{kind}"))?;
            url.query_pairs_mut().append_pair("maxResults", "500");
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("pageToken", t);
            }
            let body = client
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            requests += 1;
            let at = body.windows(KEY.len()).position(|w| w == KEY);
            token = at.and_then(|at| {
                let rest = &body[at + KEY.len()..];
                let end = rest.iter().position(|b| *b == b'"')?;
                String::from_utf8(rest[..end].to_vec()).ok()
            });
            if token.is_none() {
                break;
            }
        }
    }
    Ok(requests)
}

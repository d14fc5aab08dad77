//! Section 2, latency hiding: DCMGR with latency added to every request,
//! imagecat's read-ahead against a strictly sequential pager.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use imagecat_core::{ImageCatalog, ImageId, ListQuery, PagingOptions};

use crate::limits;
use crate::report::{Goal, Table, median, rate, secs, thousands};
use crate::setup::{Backend, Emulator, plain_client};
use crate::{Ctx, Res};

/// Latency added to every request.
const LATENCY: Duration = Duration::from_millis(20);
/// Images per request.
const PAGE_SIZE: u32 = 500;

/// One pager's runs.
struct Pager {
    read_ahead: usize,
    catalog: Arc<dyn ImageCatalog>,
    times: Vec<Duration>,
    requests: usize,
    /// Whether every run listed exactly the emulator's ids, in its order.
    same: bool,
    listed: usize,
}

/// Runs the section; pushes its goal.
pub(crate) fn section(ctx: &mut Ctx) -> Res<()> {
    if !ctx.backends.contains(&Backend::Dcmgr) {
        return Ok(());
    }
    let images = ctx.sizes.latency;
    let emulator = Emulator::start(&ctx.emu_rt, Backend::Dcmgr, images, LATENCY)?;
    // What the listing must be: the emulator's own order of the default query.
    let truth: Vec<String> = match &emulator {
        Emulator::Dcmgr(e) => e.default_listing(None),
        Emulator::Toast(_) | Emulator::Glance(_) | Emulator::Gce(_) => Vec::new(),
    };
    let query = ListQuery::new().page_size(PAGE_SIZE);
    let mut pagers = Vec::new();
    for read_ahead in [1usize, PagingOptions::default().read_ahead] {
        pagers.push(Pager {
            read_ahead,
            catalog: emulator.catalog(PagingOptions::default().read_ahead(read_ahead))?,
            times: Vec::new(),
            requests: 0,
            same: true,
            listed: 0,
        });
    }
    // The floor of any sequential pager: the same requests, bytes only.
    let listing = emulator.listing(PAGE_SIZE)?;
    let client = plain_client()?;
    let mut urls = Vec::new();
    ctx.rt
        .block_on(limits::value_sequential(&client, &listing, Some(&mut urls)))?;
    let mut floor = Vec::new();
    for _ in 0..ctx.rounds {
        for pager in &mut pagers {
            let before = emulator.requests();
            let (took, ids) = ctx.rt.block_on(async {
                let started = Instant::now();
                let ids: Vec<ImageId> = pager
                    .catalog
                    .list(query.clone())
                    .map_ok(|image| image.id)
                    .try_collect()
                    .await?;
                Res::Ok((started.elapsed(), ids))
            })?;
            pager.times.push(took);
            pager.requests = emulator.requests() - before;
            pager.listed = ids.len();
            pager.same &=
                ids.len() == truth.len() && ids.iter().zip(&truth).all(|(a, b)| a.as_str() == b);
        }
        let started = Instant::now();
        ctx.rt
            .block_on(limits::bytes_sequential(&client, &listing, &urls))?;
        floor.push(started.elapsed());
    }
    let mut table = Table::new(
        format!(
            "2. Latency hiding: DCMGR, {} catalog images, page size {PAGE_SIZE}, {} ms added to every request, median of {} runs",
            thousands(images as f64),
            LATENCY.as_millis(),
            ctx.rounds
        ),
        &[
            "pager",
            "requests",
            "time s",
            "images/s",
            "speed-up",
            "same ids, same order",
        ],
    );
    let times: Vec<Duration> = pagers.iter().map(|p| median(p.times.clone())).collect();
    let sequential = times[0];
    let floor = median(floor);
    table.row(vec![
        "limit: bytes only, sequential (no decoding)".to_owned(),
        urls.len().to_string(),
        secs(floor),
        thousands(rate(truth.len() as u64, floor)),
        format!("{:.1}x", sequential.as_secs_f64() / floor.as_secs_f64()),
        "-".to_owned(),
    ]);
    for (pager, took) in pagers.iter().zip(&times) {
        table.row(vec![
            if pager.read_ahead == 1 {
                "imagecat, strictly sequential (read_ahead 1)".to_owned()
            } else {
                format!(
                    "imagecat, read-ahead (default, read_ahead {})",
                    pager.read_ahead
                )
            },
            pager.requests.to_string(),
            secs(*took),
            thousands(rate(pager.listed as u64, *took)),
            format!("{:.1}x", sequential.as_secs_f64() / took.as_secs_f64()),
            format!(
                "{} ({} ids)",
                if pager.same { "yes" } else { "NO" },
                thousands(pager.listed as f64)
            ),
        ]);
    }
    let ideal =
        LATENCY * (1 + (urls.len().saturating_sub(1)).div_ceil(pagers[1].read_ahead)) as u32;
    table.note(format!(
        "No sequential pager beats requests x latency = {:.2} s; read-ahead 8 waits at least (1 + {} / 8) x latency = {:.2} s (the first page alone, for the total).",
        (LATENCY * urls.len() as u32).as_secs_f64(),
        urls.len().saturating_sub(1),
        ideal.as_secs_f64()
    ));
    table.note("Every run is compared id by id with the emulator's own listing of the same query.");
    table.print();
    let speedup = sequential.as_secs_f64() / times[1].as_secs_f64();
    let same = pagers.iter().all(|p| p.same);
    ctx.goals.push(Goal::new(
        "DCMGR latency hiding (read-ahead vs sequential, 20 ms)",
        ">= 5x, same ids in the same order",
        format!(
            "{speedup:.1}x, {}",
            if same { "same order" } else { "ORDER DIFFERS" }
        ),
        Some(speedup >= 5.0 && same),
    ));
    Ok(())
}

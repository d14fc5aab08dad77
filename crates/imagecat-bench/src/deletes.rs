//! Section 6, parallel deletes (issue 18 item 3): a 200-delete plan
//! applied through the clean-up executor against DCMGR with 20 ms added
//! to every request, concurrency 1 against 8.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use imagecat_core::retention::{self, Action, ApplyOptions, PlanTarget, RetentionPolicy};
use imagecat_core::{DynImageCatalog, ImageCatalogExt, ListQuery, PagingOptions};

use crate::report::{Goal, Table, secs};
use crate::setup::{Backend, Emulator};
use crate::{Ctx, Res};

/// Latency added to every request.
const LATENCY: Duration = Duration::from_millis(20);
/// Deletes in the plan.
const DELETES: usize = 200;
/// Images seeded (enough for one owner to have 200).
const IMAGES: usize = 1_200;

/// One apply of a fresh 200-delete plan: (time, requests, deleted).
fn one_apply(ctx: &Ctx, concurrency: usize) -> Res<(Duration, usize, usize)> {
    let emulator = Emulator::start(&ctx.emu_rt, Backend::Dcmgr, IMAGES, LATENCY)?;
    let catalog: DynImageCatalog = emulator.catalog(PagingOptions::default())?;
    ctx.rt.block_on(async {
        // The owner with the most images is the caller.
        let images = catalog.collect(ListQuery::new().page_size(1000)).await?;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for owner in images.iter().filter_map(|i| i.owner.clone()) {
            *counts.entry(owner).or_default() += 1;
        }
        let (owner, _) = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .ok_or("no owner")?;
        let policy = RetentionPolicy::default()
            .group_by("regex:^()".parse()?)
            .keep(0)
            .older_than("0s")
            .allow_unknown_usage(true);
        let target = PlanTarget::new("dcmgr", catalog.clone()).caller(owner);
        let mut plan = retention::plan(&policy, &[target], chrono_now()).await?;
        plan.entries.retain(|e| e.action == Action::Delete);
        if plan.entries.len() < DELETES {
            return Err(format!("only {} deletable images", plan.entries.len()).into());
        }
        plan.entries.truncate(DELETES);
        let catalogs = HashMap::from([("dcmgr".to_owned(), catalog.clone())]);
        let options = ApplyOptions::default().concurrency(concurrency);
        let before = emulator.requests();
        let started = Instant::now();
        let (_, summary) = retention::apply(plan, &catalogs, &options, &|_| {}).await;
        let took = started.elapsed();
        Res::Ok((took, emulator.requests() - before, summary.deleted))
    })
}

fn chrono_now() -> imagecat_core::chrono::DateTime<imagecat_core::chrono::Utc> {
    imagecat_core::chrono::Utc::now()
}

/// Runs the section; pushes its goal.
pub(crate) fn section(ctx: &mut Ctx) -> Res<()> {
    if !ctx.backends.contains(&Backend::Dcmgr) {
        return Ok(());
    }
    let mut table = Table::new(
        format!(
            "9. Parallel deletes: a {DELETES}-delete plan applied on DCMGR, {} ms added to every request (re-check get + usage scan + delete per image), one run each",
            LATENCY.as_millis()
        ),
        &[
            "concurrency",
            "requests",
            "deleted",
            "time s",
            "deletes/s",
            "speed-up",
        ],
    );
    let mut times = Vec::new();
    for concurrency in [1usize, 8] {
        let (took, requests, deleted) = one_apply(ctx, concurrency)?;
        times.push(took);
        table.row(vec![
            concurrency.to_string(),
            requests.to_string(),
            deleted.to_string(),
            secs(took),
            format!("{:.0}", deleted as f64 / took.as_secs_f64()),
            format!("{:.1}x", times[0].as_secs_f64() / took.as_secs_f64()),
        ]);
    }
    table.note("Sequential floor: requests x latency; concurrency 8 can at best divide it by 8.");
    table.print();
    let speedup = times[0].as_secs_f64() / times[1].as_secs_f64();
    ctx.goals.push(Goal::new(
        "Parallel deletes (concurrency 8 vs 1, 20 ms)",
        ">= 5x",
        format!("{speedup:.1}x"),
        Some(speedup >= 5.0),
    ));
    Ok(())
}

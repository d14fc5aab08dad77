//! Sections 6 and 7: the newest-image lookup (`latest`) on a Glance
//! emulator, one sorted request against listing everything; and fan-out,
//! 20 emulated catalogs listed one after another against all at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use imagecat::{NamedCatalog, list_all};
use imagecat_core::{DynImageCatalog, Image, ImageCatalog, ImageCatalogExt, ListQuery};
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::GlanceCatalog;
use imagecat_http::{HttpOptions, SecretString};

use crate::report::{Goal, Table, median, ms, thousands};
use crate::setup::{Backend, Emulator};
use crate::{Ctx, Res};

/// Latency added to every request of the fan-out's emulators.
const LATENCY: Duration = Duration::from_millis(20);
/// Catalogs listed by the fan-out section.
const CATALOGS: usize = 20;
/// Images per fan-out catalog, listed in pages of [`FANOUT_PAGE`] (5 full
/// pages and the empty one: latency dominates, as on a real cloud).
const FANOUT_IMAGES: usize = 500;
/// The fan-out's page size.
const FANOUT_PAGE: u32 = 100;

/// The newest of a full listing, as a client without server-side sort
/// finds it (images without a date rank last, as in `latest`).
async fn newest_by_listing(catalog: &dyn ImageCatalog) -> Res<Option<Image>> {
    let images: Vec<Image> = catalog.list(ListQuery::new()).try_collect().await?;
    Ok(images
        .into_iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(b.id.cmp(&a.id))))
}

/// Section 6: `latest` against the list-everything way on Glance emulators
/// of 3,000 and 30,000 images; pushes its goal.
pub(crate) fn latest(ctx: &mut Ctx) -> Res<()> {
    let mut table = Table::new(
        format!(
            "6. Newest image: `latest` (one sorted request) vs listing everything, Glance emulator, median of {} runs",
            ctx.rounds
        ),
        &[
            "catalog images",
            "way",
            "requests",
            "time ms",
            "same image",
            "speed-up",
        ],
    );
    let mut all_one_request = true;
    for images in [3_000u64, 30_000] {
        let emu = ctx.emu_rt.block_on(GlanceEmulator::start(
            GlanceEmulatorConfig::default().images(images),
            ServeOptions::default(),
        ))?;
        let catalog: DynImageCatalog = Arc::new(
            GlanceCatalog::builder()
                .endpoint(emu.endpoint())
                .token(SecretString::new(
                    emu.config().token.clone().unwrap_or_default(),
                ))
                .http_options(HttpOptions::default())
                .build()?,
        );
        let (mut sorted, mut listed) = (Vec::new(), Vec::new());
        let (mut sorted_requests, mut listed_requests) = (0, 0);
        let mut same = true;
        for _ in 0..ctx.rounds {
            let before = emu.server().request_count();
            let started = Instant::now();
            let newest = ctx.rt.block_on(catalog.latest(ListQuery::new()))?;
            sorted.push(started.elapsed());
            sorted_requests = emu.server().request_count() - before;
            let before = emu.server().request_count();
            let started = Instant::now();
            let by_listing = ctx.rt.block_on(newest_by_listing(catalog.as_ref()))?;
            listed.push(started.elapsed());
            listed_requests = emu.server().request_count() - before;
            same &= by_listing.is_some_and(|i| i.id == newest.id);
        }
        all_one_request &= sorted_requests == 1;
        let (sorted, listed) = (median(sorted), median(listed));
        let n = thousands(images as f64);
        table.row(vec![
            n.clone(),
            "list everything, newest on the client".to_owned(),
            listed_requests.to_string(),
            ms(listed),
            "-".to_owned(),
            "1.0x".to_owned(),
        ]);
        table.row(vec![
            n,
            "imagecat latest (sort_key=created_at, limit=1)".to_owned(),
            sorted_requests.to_string(),
            ms(sorted),
            if same { "yes" } else { "NO" }.to_owned(),
            format!("{:.0}x", listed.as_secs_f64() / sorted.as_secs_f64()),
        ]);
    }
    table.note("Both ways run at the default page size (1000); `latest` asks Glance for sort_key=created_at&sort_dir=desc&limit=1 (crates/imagecat-core/src/ext.rs); backends that cannot sort (TOAST, DCMGR) list once, as the first way.");
    table.print();
    ctx.goals.push(Goal::new(
        "Glance latest, 3,000 and 30,000 images",
        "one request",
        if all_one_request {
            "1 request".to_owned()
        } else {
            "MORE THAN ONE".to_owned()
        },
        Some(all_one_request),
    ));
    Ok(())
}

/// Section 7: 20 TOAST emulators at 20 ms per request, listed one after
/// another and through `imagecat::fanout::list_all`; pushes its goal.
pub(crate) fn fanout(ctx: &mut Ctx) -> Res<()> {
    let mut emulators = Vec::new();
    let mut catalogs = Vec::new();
    for n in 0..CATALOGS {
        let emu = Emulator::start(&ctx.emu_rt, Backend::Toast, FANOUT_IMAGES, LATENCY)?;
        catalogs.push(NamedCatalog::new(
            format!("toast-{n}"),
            emu.catalog(Default::default())?,
        ));
        emulators.push(emu);
    }
    let requests = |emus: &[Emulator]| emus.iter().map(Emulator::requests).sum::<usize>();
    let query = ListQuery::new().page_size(FANOUT_PAGE);
    let (mut one_by_one, mut at_once, mut slowest) = (Vec::new(), Vec::new(), Vec::new());
    let (mut counts, mut reqs) = ([0usize; 2], [0usize; 2]);
    for _ in 0..ctx.rounds {
        let before = requests(&emulators);
        let started = Instant::now();
        let mut count = 0;
        let mut longest = Duration::ZERO;
        for named in &catalogs {
            let one = Instant::now();
            count += ctx.rt.block_on(async {
                let n = named
                    .catalog
                    .list(query.clone())
                    .try_fold(0usize, |n, _| async move { Ok(n + 1) });
                n.await
            })?;
            longest = longest.max(one.elapsed());
        }
        one_by_one.push(started.elapsed());
        slowest.push(longest);
        (counts[0], reqs[0]) = (count, requests(&emulators) - before);
        let before = requests(&emulators);
        let started = Instant::now();
        let count = ctx.rt.block_on(async {
            list_all(&catalogs, &query)
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
        })?;
        at_once.push(started.elapsed());
        (counts[1], reqs[1]) = (count, requests(&emulators) - before);
    }
    let (one_by_one, at_once, slowest) = (median(one_by_one), median(at_once), median(slowest));
    let mut table = Table::new(
        format!(
            "7. Fan-out: {CATALOGS} TOAST emulators of {} images, page size {FANOUT_PAGE}, {} ms added to every request, median of {} runs",
            thousands(FANOUT_IMAGES as f64),
            LATENCY.as_millis(),
            ctx.rounds
        ),
        &["way", "requests", "images", "time ms", "speed-up"],
    );
    table.row(vec![
        "one catalog after another".to_owned(),
        reqs[0].to_string(),
        thousands(counts[0] as f64),
        ms(one_by_one),
        "1.0x".to_owned(),
    ]);
    table.row(vec![
        "imagecat::fanout::list_all (all at once)".to_owned(),
        reqs[1].to_string(),
        thousands(counts[1] as f64),
        ms(at_once),
        format!("{:.1}x", one_by_one.as_secs_f64() / at_once.as_secs_f64()),
    ]);
    let ratio = at_once.as_secs_f64() / slowest.as_secs_f64();
    table.note(format!(
        "The slowest single catalog took {} ms alone: all at once costs {ratio:.1}x the slowest, against {:.1}x for one after another.",
        ms(slowest),
        one_by_one.as_secs_f64() / slowest.as_secs_f64()
    ));
    table.note("Latency dominates here; with large catalogs a fan-out is bound by the CPU time of decoding every catalog (the sum over catalogs, on the cores there are), not by the slowest catalog.");
    table.print();
    ctx.goals.push(Goal::new(
        "Fan-out, 20 catalogs at 20 ms (all at once vs the slowest catalog)",
        "about the slowest (<= 2x), same images",
        format!("{ratio:.1}x the slowest"),
        Some(ratio <= 2.0 && counts[0] == counts[1]),
    ));
    Ok(())
}

/// Section 8: the real-Glance comparison, `scripts/real-glance/bench.sh`
/// over 3,000 images (it installs Glance and the OpenStack tools, pinned,
/// into `target/real-glance`), its figures printed as they come.
pub(crate) fn real_glance(ctx: &mut Ctx) -> Res<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!(
        "\n## 8. A real Glance: imagecat vs a bytes-only loop, openstacksdk and `openstack image list`, 3,000 images\n"
    );
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/real-glance/bench.sh"))
        .args(["target/real-glance", "3000", &ctx.rounds.min(3).to_string()])
        .current_dir(&root)
        .status()?;
    let ok = status.success();
    ctx.goals.push(Goal::new(
        "Real Glance comparison (scripts/real-glance/bench.sh)",
        "runs, every client lists every image",
        if ok {
            "ran".to_owned()
        } else {
            format!("failed: {status}")
        },
        None,
    ));
    Ok(())
}

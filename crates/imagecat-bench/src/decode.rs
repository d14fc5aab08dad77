//! Section 5, decoding: one 1,000-image page per backend through the public
//! decoders into `Image`, against `serde_json::from_slice::<Value>` on the
//! same bytes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::alloc::Allocs;
use crate::limits;
use crate::report::{Goal, Table, percent, thousands};
use crate::setup::{Backend, Emulator, plain_client};
use crate::{Ctx, Res};

/// Images on the decoded page.
const PAGE: u32 = 1000;

/// Time per call of `f`: the median of 5 samples, each running `f` for
/// about `budget / 5` (after a warm-up).
fn per_call(budget: Duration, mut f: impl FnMut() -> usize) -> Duration {
    let sample = budget / 5;
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < sample / 2 || calls < 3 {
        black_box(f());
        calls += 1;
    }
    let per_sample = ((calls as f64 * 2.0) as u32).max(3);
    let mut samples: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_sample {
                black_box(f());
            }
            t.elapsed() / per_sample
        })
        .collect();
    samples.sort();
    samples[2]
}

/// Runs the section; pushes its goals.
pub(crate) fn section(ctx: &mut Ctx) -> Res<()> {
    let budget = ctx.sizes.decode_budget;
    let mut table = Table::new(
        format!(
            "5. Decoding one {PAGE}-image page (median of 5 samples of ~{} ms each)",
            (budget / 5).as_millis()
        ),
        &[
            "backend / decoder",
            "page KB",
            "µs/page",
            "MB/s",
            "images/s",
            "allocs/image",
            "alloc B/image",
            "% of Value speed",
        ],
    );
    for backend in ctx.backends.clone() {
        // GCE pages at most 500 images
        let page = if backend == Backend::Gce {
            imagecat_gce::MAX_PAGE_SIZE
        } else {
            PAGE
        };
        let emulator = Emulator::start(&ctx.emu_rt, backend, 2 * page as usize, Duration::ZERO)?;
        let listing = emulator.listing(page)?;
        let body = ctx.rt.block_on(async {
            let client = plain_client()?;
            limits::fetch(&client, &listing, listing.page_url(None, 0)).await
        })?;
        drop(emulator);
        let decode = |body: &[u8]| -> Res<usize> {
            Ok(match backend {
                Backend::Toast => imagecat_toast::decode_page_body(body, None)?.items.len(),
                Backend::Dcmgr => imagecat_dcmgr::decode_page_body(body, None)?.items.len(),
                Backend::Glance => imagecat_glance::decode_page_body(body, None)?.items.len(),
                Backend::Gce => imagecat_gce::decode_page_body(body, None)?.items.len(),
            })
        };
        let images = decode(&body)?;
        if images != page as usize {
            eprintln!(
                "warning: the {} page holds {images} images, not {page}",
                backend.name()
            );
        }
        let value = per_call(budget, || {
            serde_json::from_slice::<serde_json::Value>(&body)
                .map(|v| usize::from(v.is_null()))
                .unwrap_or(0)
        });
        let ours = per_call(budget, || decode(&body).unwrap_or(0));
        // One call of each, counted (the main thread's allocations).
        let counted = |f: &dyn Fn() -> usize| {
            let before = Allocs::now();
            black_box(f());
            let made = Allocs::now().since(before);
            let n = images.max(1) as f64;
            (
                format!("{:.1}", made.calls as f64 / n),
                thousands(made.bytes as f64 / n),
            )
        };
        let value_allocs = counted(&|| {
            serde_json::from_slice::<serde_json::Value>(&body)
                .map(|v| usize::from(v.is_null()))
                .unwrap_or(0)
        });
        let our_allocs = counted(&|| decode(&body).unwrap_or(0));
        let mb = body.len() as f64 / 1e6;
        for (label, took, allocs) in [
            ("serde_json::from_slice::<Value>", value, value_allocs),
            (
                match backend {
                    Backend::Toast => "imagecat_toast::decode_page_body -> Page",
                    Backend::Dcmgr => "imagecat_dcmgr::decode_page_body -> Page",
                    Backend::Glance => "imagecat_glance::decode_page_body -> Page",
                    Backend::Gce => "imagecat_gce::decode_page_body -> Page",
                },
                ours,
                our_allocs,
            ),
        ] {
            table.row(vec![
                format!("{} {label}", backend.name()),
                format!("{:.0}", body.len() as f64 / 1e3),
                format!("{:.0}", took.as_secs_f64() * 1e6),
                format!("{:.0}", mb / took.as_secs_f64()),
                thousands(images as f64 / took.as_secs_f64()),
                allocs.0,
                allocs.1,
                percent(value.as_secs_f64() / took.as_secs_f64()),
            ]);
        }
        ctx.goals.push(Goal::new(
            format!("{} decoding into Image vs into Value", backend.name()),
            "MB/s side by side (no goal set)",
            format!(
                "{:.0} vs {:.0} MB/s ({})",
                mb / ours.as_secs_f64(),
                mb / value.as_secs_f64(),
                percent(value.as_secs_f64() / ours.as_secs_f64())
            ),
            None,
        ));
    }
    table.note("The public decoders copy the body once (the catalog does not), check the envelope, map every field into Image and keep each record's raw JSON as its native record; the Value parse only builds the tree.");
    table.print();
    Ok(())
}

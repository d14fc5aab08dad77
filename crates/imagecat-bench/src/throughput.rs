//! Section 1, listing throughput: imagecat's stream against the limit
//! loops over the same pages, per backend, at the default page size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use imagecat_core::{ImageCatalog, ListQuery, PagingOptions};
use imagecat_http::Url;
use imagecat_http::reqwest::Client;

use crate::alloc::Allocs;
use crate::limits::{self, Parsed, Seen};
use crate::report::{Cpu, Goal, Table, median, ms, percent, rate, thousands};
use crate::setup::{Backend, Emulator, Listing, plain_client};
use crate::{Ctx, Res};

/// imagecat's default read-ahead depth, used for the concurrent limit loops.
const DEPTH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    BytesSequential,
    ValueSequential,
    ImagecatSequential,
    BytesConcurrent,
    ValueConcurrent,
    ValueInTasks,
    ImagecatDefault,
}

impl Variant {
    fn label(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Variant::BytesSequential, _) => "bytes only (emulator ceiling)",
            (Variant::ValueSequential, _) => "fetch + serde_json::Value",
            (Variant::ImagecatSequential, Backend::Dcmgr) => "imagecat, read_ahead 1",
            (Variant::ImagecatSequential, Backend::Toast | Backend::Glance | Backend::Gce) => {
                "imagecat (default)"
            }
            (Variant::BytesConcurrent, _) => "bytes only (emulator ceiling)",
            (Variant::ValueConcurrent, _) => "fetch + serde_json::Value, handed over",
            (Variant::ValueInTasks, _) => "fetch + serde_json::Value, dropped in its task",
            (Variant::ImagecatDefault, _) => "imagecat (default, read_ahead 8)",
        }
    }

    fn in_flight(self) -> usize {
        match self {
            Variant::BytesSequential | Variant::ValueSequential | Variant::ImagecatSequential => 1,
            _ => DEPTH,
        }
    }

    fn baseline(self) -> Option<Variant> {
        match self {
            Variant::ImagecatSequential => Some(Variant::ValueSequential),
            Variant::ImagecatDefault | Variant::ValueInTasks => Some(Variant::ValueConcurrent),
            _ => None,
        }
    }

    fn bytes_loop(self) -> Variant {
        if self.in_flight() == 1 {
            Variant::BytesSequential
        } else {
            Variant::BytesConcurrent
        }
    }
}

/// Client-side cost per image on the wire, per run.
#[derive(Debug, Clone, Copy)]
struct PerImage {
    cpu_us: f64,
    allocs: f64,
    bytes: f64,
}

struct Subject {
    listing: Listing,
    client: Client,
    urls: Vec<Url>,
    sequential: Arc<dyn ImageCatalog>,
    default: Arc<dyn ImageCatalog>,
}

async fn count(catalog: &Arc<dyn ImageCatalog>) -> Res<u64> {
    Ok(catalog
        .list(ListQuery::new())
        .try_fold(0u64, |n, _image| futures::future::ready(Ok(n + 1)))
        .await?)
}

/// One timed run: how long, and what it saw (imagecat: the images yielded).
async fn run(subject: &Subject, variant: Variant) -> Res<(Duration, Seen)> {
    let Subject {
        listing,
        client,
        urls,
        ..
    } = subject;
    let started = Instant::now();
    let seen = match variant {
        Variant::BytesSequential => limits::bytes_sequential(client, listing, urls).await?,
        Variant::ValueSequential => limits::value_sequential(client, listing, None).await?,
        Variant::BytesConcurrent => limits::bytes_concurrent(client, listing, urls, DEPTH).await?,
        Variant::ValueConcurrent => {
            limits::value_concurrent(client, listing, DEPTH, Parsed::HandedOver).await?
        }
        Variant::ValueInTasks => {
            limits::value_concurrent(client, listing, DEPTH, Parsed::DroppedInTask).await?
        }
        Variant::ImagecatSequential => Seen {
            images: count(&subject.sequential).await?,
            ..Seen::default()
        },
        Variant::ImagecatDefault => Seen {
            images: count(&subject.default).await?,
            ..Seen::default()
        },
    };
    Ok((started.elapsed(), seen))
}

/// Runs the section; pushes its goals.
pub(crate) fn section(ctx: &mut Ctx) -> Res<()> {
    let images = ctx.sizes.throughput;
    let mut table = Table::new(
        format!(
            "1. Listing throughput: {} catalog images per backend, default page size, median of {} runs",
            thousands(images as f64),
            ctx.rounds
        ),
        &[
            "backend / loop",
            "in flight",
            "time ms",
            "CPU ms client",
            "CPU ms emulator",
            "CPU µs/image client",
            "allocs/image",
            "alloc B/image",
            "images/s",
            "MB/s",
            "% of Value loop",
            "% of bytes loop",
        ],
    );
    for backend in ctx.backends.clone() {
        let emulator = Emulator::start(&ctx.emu_rt, backend, images, Duration::ZERO)?;
        let page_size = backend.default_page_size();
        let listing = emulator.listing(page_size)?;
        let variants: &[Variant] = match backend {
            // Marker paging is sequential by nature: imagecat's default
            // pages one after the other.
            Backend::Toast | Backend::Glance | Backend::Gce => &[
                Variant::BytesSequential,
                Variant::ValueSequential,
                Variant::ImagecatSequential,
            ],
            Backend::Dcmgr => &[
                Variant::BytesSequential,
                Variant::ValueSequential,
                Variant::ImagecatSequential,
                Variant::BytesConcurrent,
                Variant::ValueConcurrent,
                Variant::ValueInTasks,
                Variant::ImagecatDefault,
            ],
        };
        let rounds = ctx.rounds;
        let (subject, wire, times, cpu, allocs, yielded) = ctx.rt.block_on(async {
            let client = plain_client()?;
            // Discovery (and warm-up): the pages, as the Value loop finds them.
            let mut urls = Vec::new();
            let wire = limits::value_sequential(&client, &listing, Some(&mut urls)).await?;
            let subject = Subject {
                listing: listing.clone(),
                client,
                urls,
                sequential: emulator.catalog(PagingOptions::default().read_ahead(1))?,
                default: emulator.catalog(PagingOptions::default())?,
            };
            // One unmeasured run of each (connections, caches), then the
            // rounds, interleaved so that drift hits every loop alike.
            let mut yielded = 0;
            for &v in variants {
                let (_, seen) = run(&subject, v).await?;
                if matches!(v, Variant::ImagecatSequential | Variant::ImagecatDefault) {
                    yielded = seen.images;
                }
            }
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
            let mut cpu: Vec<Cpu> = vec![Cpu::default(); variants.len()];
            let mut allocs: Vec<Allocs> = vec![Allocs::default(); variants.len()];
            for _ in 0..rounds {
                for (i, &v) in variants.iter().enumerate() {
                    let before = Cpu::now();
                    let allocs_before = Allocs::now();
                    let (took, seen) = run(&subject, v).await?;
                    let made = Allocs::now().since(allocs_before);
                    let used = Cpu::now().since(before);
                    cpu[i].client += used.client;
                    cpu[i].emulator += used.emulator;
                    allocs[i].calls += made.calls;
                    allocs[i].bytes += made.bytes;
                    let expected =
                        if matches!(v, Variant::ImagecatSequential | Variant::ImagecatDefault) {
                            yielded
                        } else if matches!(v, Variant::BytesSequential | Variant::BytesConcurrent) {
                            0
                        } else {
                            wire.images
                        };
                    if seen.images != expected {
                        eprintln!(
                            "warning: {} {:?} saw {} images, expected {expected}",
                            backend.name(),
                            v,
                            seen.images
                        );
                    }
                    times[i].push(took);
                }
            }
            Res::Ok((subject, wire, times, cpu, allocs, yielded))
        })?;
        drop(subject);
        let medians: Vec<Duration> = times.into_iter().map(median).collect();
        let time_of = |v: Variant| {
            variants
                .iter()
                .position(|&x| x == v)
                .map(|i| medians[i])
                .unwrap_or_default()
        };
        let cpu_of = |v: Variant| {
            variants
                .iter()
                .position(|&x| x == v)
                .map(|i| cpu[i])
                .unwrap_or_default()
        };
        // Per image on the wire, per run: client CPU µs, allocations, bytes.
        let per_image = |v: Variant| {
            let i = variants.iter().position(|&x| x == v).unwrap_or(0);
            let n = (wire.images.max(1) * rounds as u64) as f64;
            PerImage {
                cpu_us: cpu[i].client.as_secs_f64() * 1e6 / n,
                allocs: allocs[i].calls as f64 / n,
                bytes: allocs[i].bytes as f64 / n,
            }
        };
        for &v in variants {
            let took = time_of(v);
            let vs_value = match v.baseline() {
                Some(b) => percent(time_of(b).as_secs_f64() / took.as_secs_f64()),
                None if matches!(v, Variant::ValueSequential | Variant::ValueConcurrent) => {
                    "100%".to_owned()
                }
                None => "-".to_owned(),
            };
            let vs_bytes = percent(time_of(v.bytes_loop()).as_secs_f64() / took.as_secs_f64());
            table.row(vec![
                format!("{} {}", backend.name(), v.label(backend)),
                v.in_flight().to_string(),
                ms(took),
                ms(cpu_of(v).client / rounds as u32),
                ms(cpu_of(v).emulator / rounds as u32),
                format!("{:.2}", per_image(v).cpu_us),
                format!("{:.1}", per_image(v).allocs),
                thousands(per_image(v).bytes),
                thousands(rate(wire.images, took)),
                format!("{:.1}", wire.bytes as f64 / 1e6 / took.as_secs_f64()),
                vs_value,
                vs_bytes,
            ]);
        }
        let pages = wire.pages;
        table.note(format!(
            "{}: {} pages of {page_size}, {} images and {:.1} MB on the wire ({} B/image); imagecat yields {} (ListQuery::new() drops deleted images{})",
            backend.name(),
            pages,
            thousands(wire.images as f64),
            wire.bytes as f64 / 1e6,
            wire.bytes / wire.images.max(1),
            thousands(yielded as f64),
            match backend {
                Backend::Toast => ", filtered on the client",
                Backend::Dcmgr => "; the server filters them with state=alive",
                Backend::Glance => "; Glance v2 lists none",
                Backend::Gce => "; GCE lists an image deprecated DELETED, filtered on the client",
            }
        ));
        if variants.contains(&Variant::ValueInTasks) {
            table.note(format!(
                "{}: imagecat (default) is {} of the Value loop that drops each page in the task that parsed it (nothing handed over): the consumer drops every Image it is handed",
                backend.name(),
                percent(
                    time_of(Variant::ValueInTasks).as_secs_f64()
                        / time_of(Variant::ImagecatDefault).as_secs_f64()
                )
            ));
        }
        // Where the time goes: the bytes loop is the emulator and the
        // transport; what a loop adds over it is its client-side work.
        for seq in [true, false] {
            let (ic, value) = if seq {
                (Variant::ImagecatSequential, Variant::ValueSequential)
            } else {
                (Variant::ImagecatDefault, Variant::ValueConcurrent)
            };
            if !variants.contains(&ic) {
                continue;
            }
            let bytes = time_of(ic.bytes_loop());
            let per_image = |t: Duration| {
                t.saturating_sub(bytes).as_secs_f64() * 1e6 / wire.images.max(1) as f64
            };
            // The bytes loop serves `headroom` times imagecat's rate: near 1
            // the emulator (and the transport) would cap imagecat's figure.
            let headroom = time_of(ic).as_secs_f64() / bytes.as_secs_f64();
            table.note(format!(
                "{} {}: the bytes loop (emulator + transport) runs {headroom:.1}x imagecat's rate{}; client-side work over it: imagecat {:.2} µs/image, Value loop {:.2} µs/image",
                backend.name(),
                if seq { "sequential" } else { "8 in flight" },
                if headroom < 1.25 {
                    ": the EMULATOR IS THE BOTTLENECK of this figure"
                } else {
                    ", so the emulator is not the bottleneck"
                },
                per_image(time_of(ic)),
                per_image(time_of(value)),
            ));
        }
        // Issue 18: client-side work per image, net of the bytes loop's,
        // in CPU time (load moves wall-clock figures, CPU time less).
        for ic in [Variant::ImagecatSequential, Variant::ImagecatDefault] {
            if !variants.contains(&ic) {
                continue;
            }
            let ours = per_image(ic);
            let floor = per_image(ic.bytes_loop());
            let net = ours.cpu_us - floor.cpu_us;
            ctx.goals.push(Goal::new(
                format!(
                    "{} client CPU per image over the bytes loop (imagecat {}), allocations beside",
                    backend.name(),
                    match (ic, backend) {
                        (Variant::ImagecatDefault, _) => "default, read_ahead 8",
                        (_, Backend::Dcmgr) => "read_ahead 1",
                        _ => "default",
                    }
                ),
                "<= 1.4 µs",
                format!(
                    "{net:.2} µs; {:.1} allocs, {} B net",
                    ours.allocs - floor.allocs,
                    thousands(ours.bytes - floor.bytes)
                ),
                Some(net <= 1.4),
            ));
        }
        let seq_pct = time_of(Variant::ValueSequential).as_secs_f64()
            / time_of(Variant::ImagecatSequential).as_secs_f64();
        ctx.goals.push(Goal::new(
            format!(
                "{} throughput, sequential (imagecat {} vs Value loop)",
                backend.name(),
                match backend {
                    Backend::Toast | Backend::Glance | Backend::Gce => "default",
                    Backend::Dcmgr => "read_ahead 1",
                }
            ),
            ">= 90% of Value loop",
            percent(seq_pct),
            Some(seq_pct >= 0.9),
        ));
        if backend == Backend::Dcmgr {
            let pct = time_of(Variant::ValueConcurrent).as_secs_f64()
                / time_of(Variant::ImagecatDefault).as_secs_f64();
            ctx.goals.push(Goal::new(
                "DCMGR throughput, 8 in flight (imagecat default vs Value loop, handed over)",
                ">= 90% of Value loop",
                percent(pct),
                Some(pct >= 0.9),
            ));
            let pct = time_of(Variant::ValueInTasks).as_secs_f64()
                / time_of(Variant::ImagecatDefault).as_secs_f64();
            ctx.goals.push(Goal::new(
                "DCMGR throughput, 8 in flight (imagecat default vs Value loop, dropped in tasks)",
                ">= 90% of Value loop",
                percent(pct),
                Some(pct >= 0.9),
            ));
        }
        drop(emulator);
    }
    table.note(
        "Every loop uses a reqwest client with imagecat's settings over the same URLs; images/s counts the images on the wire.",
    );
    table.note(
        "CPU ms: the mean per run of this process's CPU time (1/100 s ticks), client side (main thread and `client` runtime) and emulator side (`emulator` runtime).",
    );
    table.note(
        "Per image on the wire, client side only: CPU µs (the CPU ms column / the images), allocations (alloc, alloc_zeroed and realloc calls) and the bytes they asked for, counted by the benchmark's #[global_allocator] on every thread but the emulators'.",
    );
    table.print();
    Ok(())
}

//! `imagecat-bench`: imagecat against the limit and against what users
//! would run instead, over the emulators on loopback, figures printed side
//! by side (never asserted).
//!
//! ```sh
//! cargo run --release -p imagecat-bench -- all          # a few minutes on 2 cores
//! cargo run --release -p imagecat-bench -- all --quick  # smaller catalogs
//! ```
//!
//! Sections (any subset, in this order): `throughput` (1), `latency` (2),
//! `memory` (3), `script` (4), `decode` (5), `latest` (6), `fanout` (7),
//! `glance` (8, a real Glance), `deletes` (9), `gce-usage` (10).
//! See docs/benchmarks.md.

mod alloc;
mod children;
mod decode;
mod deletes;
mod gce_usage;
mod latency;
mod limits;
mod lookups;
mod report;
mod setup;
mod throughput;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use tokio::runtime::{Builder, Runtime};

use crate::report::Goal;
use crate::setup::Backend;

/// Counts the client side's allocations (sections 1 and 5).
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// What the sections return.
pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A section of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Section {
    /// Every section.
    All,
    /// 1. Listing throughput against the bytes-only and Value loops.
    Throughput,
    /// 2. Latency hiding: read-ahead against a sequential pager.
    Latency,
    /// 3. Peak RSS of `imagecat -o ndjson list`.
    Memory,
    /// 4. imagecat's CLI against bench/naive_list.py.
    Script,
    /// 5. Decoding a 1,000-image page.
    Decode,
    /// 6. `latest` on Glance: one sorted request vs listing everything.
    Latest,
    /// 7. Fan-out: 20 catalogs at 20 ms, one after another vs all at once.
    Fanout,
    /// 8. A real Glance (scripts/real-glance/bench.sh, 3,000 images).
    Glance,
    /// 9. Parallel deletes: a 200-delete plan, concurrency 8 against 1.
    Deletes,
    /// 10. A GCE usage scan: 10,000 disks in 20 zones, the requests counted.
    GceUsage,
}

/// Benchmarks of imagecat against the emulators on loopback.
#[derive(Debug, Parser)]
#[command(name = "imagecat-bench")]
struct Args {
    /// Sections to run (default: all).
    #[arg(value_enum)]
    sections: Vec<Section>,
    /// Smaller catalogs and shorter samples (about a minute).
    #[arg(long)]
    quick: bool,
    /// Runs per measurement (the median is printed).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// The imagecat binary (default: built with `cargo build --release -p
    /// imagecat-cli` next to this binary).
    #[arg(long)]
    imagecat: Option<PathBuf>,
    /// Only these backends (default: all three).
    #[arg(long, value_enum)]
    backend: Vec<BackendArg>,
    /// The Python interpreter for bench/naive_list.py.
    #[arg(long, default_value = "python3")]
    python: String,
}

/// A backend on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// NHN Cloud (TOAST), marker paging.
    Toast,
    /// Wakame-vdc DCMGR, offset paging.
    Dcmgr,
    /// OpenStack Glance v2, `next` links (sections 1 and 5 only).
    Glance,
    /// Google Compute Engine, opaque `pageToken` at 500 a page (sections
    /// 1 and 5 only).
    Gce,
}

/// Catalog sizes and sample lengths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) throughput: usize,
    pub(crate) latency: usize,
    pub(crate) memory: [usize; 2],
    pub(crate) script: usize,
    pub(crate) decode_budget: Duration,
}

impl Sizes {
    fn full() -> Self {
        Sizes {
            throughput: 100_000,
            latency: 50_000,
            memory: [100_000, 1_000_000],
            script: 100_000,
            decode_budget: Duration::from_secs(2),
        }
    }

    fn quick() -> Self {
        Sizes {
            throughput: 20_000,
            latency: 50_000,
            memory: [20_000, 200_000],
            script: 20_000,
            decode_budget: Duration::from_millis(500),
        }
    }
}

/// What every section shares.
pub(crate) struct Ctx {
    /// The emulators' runtime (their own threads).
    pub(crate) emu_rt: Runtime,
    /// The client's runtime (imagecat and the limit loops).
    pub(crate) rt: Runtime,
    pub(crate) sizes: Sizes,
    pub(crate) rounds: usize,
    pub(crate) python: String,
    pub(crate) goals: Vec<Goal>,
    /// The backends measured.
    pub(crate) backends: Vec<Backend>,
    imagecat: Option<PathBuf>,
    imagecat_ready: bool,
}

impl Ctx {
    /// The backends measured that the CLI sections (3, 4) cover.
    pub(crate) fn cli_backends(&self) -> Vec<Backend> {
        self.backends
            .iter()
            .copied()
            .filter(|b| b.in_cli_sections())
            .collect()
    }

    /// The release `imagecat` binary, built first when not given.
    pub(crate) fn imagecat(&mut self) -> Res<PathBuf> {
        if let Some(path) = &self.imagecat {
            if self.imagecat_ready || path.is_file() {
                self.imagecat_ready = true;
                return Ok(path.clone());
            }
            return Err(format!("--imagecat {}: no such file", path.display()).into());
        }
        // target/<profile>/imagecat-bench -> target/release/imagecat
        let exe = std::env::current_exe()?;
        let target = exe
            .parent()
            .and_then(|p| p.parent())
            .ok_or("cannot find the target directory")?
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        eprintln!("building the release imagecat binary: {cargo} build --release -p imagecat-cli");
        let status = Command::new(&cargo)
            .args(["build", "--release", "--quiet", "-p", "imagecat-cli"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .env("CARGO_TARGET_DIR", &target)
            .status()?;
        if !status.success() {
            return Err(format!("cargo build --release -p imagecat-cli failed: {status}").into());
        }
        let path = target.join("release").join("imagecat");
        if !path.is_file() {
            return Err(format!("no {} after the build", path.display()).into());
        }
        self.imagecat = Some(path.clone());
        self.imagecat_ready = true;
        Ok(path)
    }
}

fn runtime(name: &str, threads: usize, counted: bool) -> std::io::Result<Runtime> {
    let mut builder = Builder::new_multi_thread();
    builder
        .worker_threads(threads)
        .thread_name(name)
        .enable_all();
    if !counted {
        builder.on_thread_start(alloc::exclude_this_thread);
    }
    builder.build()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imagecat-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Res<()> {
    let mut sections = args.sections.clone();
    if sections.is_empty() || sections.contains(&Section::All) {
        sections = vec![
            Section::Throughput,
            Section::Latency,
            Section::Memory,
            Section::Script,
            Section::Decode,
            Section::Latest,
            Section::Fanout,
            Section::Glance,
            Section::Deletes,
            Section::GceUsage,
        ];
    }
    sections.sort();
    sections.dedup();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut ctx = Ctx {
        // Two runtimes, as two processes would be: serving never runs on
        // the client's worker threads.
        emu_rt: runtime("emulator", cores, false)?,
        rt: runtime("client", cores, true)?,
        sizes: if args.quick {
            Sizes::quick()
        } else {
            Sizes::full()
        },
        rounds: args.rounds.max(1),
        python: args.python.clone(),
        goals: Vec::new(),
        backends: Backend::ALL
            .into_iter()
            .filter(|b| {
                args.backend.is_empty()
                    || args.backend.contains(&match b {
                        Backend::Toast => BackendArg::Toast,
                        Backend::Dcmgr => BackendArg::Dcmgr,
                        Backend::Glance => BackendArg::Glance,
                        Backend::Gce => BackendArg::Gce,
                    })
            })
            .collect(),
        imagecat_ready: false,
        imagecat: args.imagecat.clone(),
    };
    let names: Vec<String> = sections
        .iter()
        .filter_map(|s| s.to_possible_value().map(|v| v.get_name().to_owned()))
        .collect();
    println!("# imagecat benchmarks");
    println!();
    println!(
        "command: cargo run --release -p imagecat-bench -- {}{}",
        if names.len() == 10 {
            "all".to_owned()
        } else {
            names.join(" ")
        },
        if args.quick { " --quick" } else { "" }
    );
    println!("machine: {}", report::machine());
    println!(
        "load:    {} (1, 5, 15 min) at the start",
        report::load_average()
    );
    println!(
        "build:   {}; emulators in-process on their own {cores}-thread runtime, clients on another; loopback",
        if cfg!(debug_assertions) {
            "DEBUG (figures are meaningless: use --release)"
        } else {
            "release"
        }
    );
    let started = Instant::now();
    for section in sections {
        let result = match section {
            Section::All => Ok(()),
            Section::Throughput => throughput::section(&mut ctx),
            Section::Latency => latency::section(&mut ctx),
            Section::Memory => children::memory(&mut ctx),
            Section::Script => children::script(&mut ctx),
            Section::Decode => decode::section(&mut ctx),
            Section::Latest => lookups::latest(&mut ctx),
            Section::Fanout => lookups::fanout(&mut ctx),
            Section::Glance => lookups::real_glance(&mut ctx),
            Section::Deletes => deletes::section(&mut ctx),
            Section::GceUsage => gce_usage::section(&mut ctx),
        };
        if let Err(e) = result {
            eprintln!("imagecat-bench: section {section:?} failed: {e}");
            ctx.goals.push(Goal::new(
                format!("{section:?}"),
                "-",
                format!("failed: {e}"),
                Some(false),
            ));
        }
    }
    report::print_goals(&ctx.goals);
    println!(
        "\n(total {:.0} s; load {} at the end)",
        started.elapsed().as_secs_f64(),
        report::load_average()
    );
    Ok(())
}

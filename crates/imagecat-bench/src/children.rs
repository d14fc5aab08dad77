//! Sections 3 (memory) and 4 (the naive script): `imagecat -o ndjson list`
//! (the release binary) and `bench/naive_list.py` as child processes against
//! in-process emulators, output to /dev/null; wall time and peak RSS
//! (`VmHWM` of /proc/PID/status, polled until the child exits).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::limits;
use crate::report::{Goal, Table, median, mib, rate, secs, thousands};
use crate::setup::{Backend, Emulator, plain_client, toast_credentials};
use crate::{Ctx, Res};

/// How a child ran.
#[derive(Debug)]
struct ChildRun {
    wall: Duration,
    /// The last `VmHWM` read, in KiB.
    peak_kib: u64,
}

/// Runs a child to the end, stdout to `stdout` (/dev/null when `None`),
/// polling its peak RSS. A failing child is an error carrying its stderr.
fn run_child(mut command: Command, stdout: Option<&Path>) -> Res<ChildRun> {
    command.stdin(Stdio::null()).stderr(Stdio::piped());
    match stdout {
        Some(path) => command.stdout(std::fs::File::create(path)?),
        None => command.stdout(Stdio::null()),
    };
    let started = Instant::now();
    let mut child = command.spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_string(&mut text);
        }
        text
    });
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = vm_hwm(&text) {
                peak_kib = peak_kib.max(kib);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("{command:?} failed ({status}): {}", stderr.trim()).into());
    }
    Ok(ChildRun { wall, peak_kib })
}

/// `VmHWM:   12345 kB` → 12345.
fn vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `imagecat --catalog URL -o ndjson list`, with the TOAST token in the
/// environment.
fn imagecat_list(binary: &Path, emulator: &Emulator) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--catalog")
        .arg(emulator.catalog_url())
        .args(["-o", "ndjson", "list"])
        .env_remove("IMAGECAT_CATALOG")
        .env_remove("RUST_LOG");
    if emulator.backend() == Backend::Toast {
        command.env("IMAGECAT_TOAST_TOKEN", toast_credentials().1);
    }
    command
}

/// `python3 bench/naive_list.py dcmgr ENDPOINT` or `… toast ENDPOINT APPKEY`.
fn script_list(python: &Path, emulator: &Emulator) -> Command {
    let mut command = Command::new(python);
    command.arg(script_path()).arg(match emulator.backend() {
        Backend::Toast => "toast",
        Backend::Dcmgr => "dcmgr",
        Backend::Glance => "glance",
        Backend::Gce => "gce",
    });
    command.arg(emulator.endpoint());
    if emulator.backend() == Backend::Toast {
        let (appkey, token) = toast_credentials();
        command.arg(appkey).env("IMAGECAT_TOAST_TOKEN", token);
    }
    command
}

/// `bench/naive_list.py` of this workspace.
pub(crate) fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/naive_list.py")
}

/// How many ids the engine remembers in a full default listing: every image
/// on the wire (TOAST: all, deleted ones are filtered after; DCMGR: the
/// images the server lists with `state=alive`, its reported total).
fn ids_on_wire(ctx: &Ctx, emulator: &Emulator, images: usize) -> Res<u64> {
    match emulator.backend() {
        Backend::Toast | Backend::Glance | Backend::Gce => Ok(images as u64),
        Backend::Dcmgr => {
            let listing = emulator.listing(1)?;
            let body = ctx.rt.block_on(async {
                let client = plain_client()?;
                limits::fetch(&client, &listing, listing.page_url(None, 0)).await
            })?;
            let page: serde_json::Value = serde_json::from_slice(&body)?;
            Ok(page[0]["total"].as_u64().ok_or("no total")?)
        }
    }
}

/// The engine's bound on recent ids kept in its hash set before a merge
/// (`IdSet::MERGE_AT` in imagecat-core's paging engine).
const RECENT_IDS: u64 = 1 << 15;

/// The bytes of the engine's id set for `n` ids: a sorted vector of 64-bit
/// hashes (8 bytes an id) plus a hash set of at most [`RECENT_IDS`] recent
/// ones (a hashbrown table: the smallest power-of-two bucket count whose
/// 7/8 holds them, 9 bytes a bucket).
fn id_set_peak_bytes(n: u64) -> u64 {
    let recent = n.min(RECENT_IDS);
    let mut buckets = 8u64;
    while buckets * 7 / 8 < recent {
        buckets *= 2;
    }
    8 * n.saturating_sub(recent) + buckets * 9 + 16
}

/// 3. Peak RSS of `imagecat -o ndjson list` as the catalog grows.
pub(crate) fn memory(ctx: &mut Ctx) -> Res<()> {
    let binary = ctx.imagecat()?;
    let sizes = ctx.sizes.memory;
    let mut table = Table::new(
        "3. Memory: peak RSS of `imagecat -o ndjson list > /dev/null` (release binary, a child process)",
        &[
            "backend",
            "catalog images",
            "requests",
            "time s",
            "images/s",
            "peak RSS MiB",
            "of which id set MiB",
        ],
    );
    for backend in ctx.cli_backends() {
        let mut peaks = Vec::new();
        let mut id_sets = Vec::new();
        for images in sizes {
            let emulator = Emulator::start(&ctx.emu_rt, backend, images, Duration::ZERO)?;
            let before = emulator.requests();
            let run = run_child(imagecat_list(&binary, &emulator), None)?;
            let requests = emulator.requests() - before;
            let id_set = id_set_peak_bytes(ids_on_wire(ctx, &emulator, images)?);
            table.row(vec![
                backend.name().to_owned(),
                thousands(images as f64),
                requests.to_string(),
                secs(run.wall),
                thousands(rate(images as u64, run.wall)),
                mib(run.peak_kib),
                mib(id_set / 1024),
            ]);
            peaks.push(run.peak_kib);
            id_sets.push(id_set);
        }
        let (small, large) = (peaks[0], peaks[1]);
        let growth = large.saturating_sub(small) as f64 / 1024.0;
        let set_growth = id_sets[1].saturating_sub(id_sets[0]) as f64 / (1024.0 * 1024.0);
        table.note(format!(
            "{}: {} -> {} images: {growth:+.1} MiB RSS, of which the id set {set_growth:+.1} MiB; everything else {:+.1} MiB",
            backend.name(),
            thousands(sizes[0] as f64),
            thousands(sizes[1] as f64),
            growth - set_growth
        ));
        let flat = growth <= 4.0;
        ctx.goals.push(Goal::new(
            format!(
                "{} peak RSS, {} and {} images",
                backend.name(),
                thousands(sizes[0] as f64),
                thousands(sizes[1] as f64)
            ),
            "< 64 MiB, flat (growth <= 4 MiB)",
            format!(
                "{} / {} MiB ({growth:+.1}, id set {set_growth:+.1})",
                mib(small),
                mib(large)
            ),
            Some(large < 64 * 1024 && flat),
        ));
    }
    table.note("Images/s counts the catalog's images (the listing yields those not deleted); the time includes the process start.");
    table.note("The id set is the pagination engine's memory of the ids yielded (\"never a duplicate\", docs/reliability.md): 64-bit hashes, 8 bytes an id in a sorted vector plus a bounded hash set of recent ones; it is the only part that grows with the catalog.");
    table.print();
    Ok(())
}

/// 4. imagecat's CLI against the naive Python script.
pub(crate) fn script(ctx: &mut Ctx) -> Res<()> {
    let binary = ctx.imagecat()?;
    let python = PathBuf::from(&ctx.python);
    let images = ctx.sizes.script;
    let rounds = ctx.rounds;
    let mut table = Table::new(
        format!(
            "4. What a user would write instead: bench/naive_list.py (urllib + json) vs `imagecat -o ndjson list`, {} catalog images, median of {rounds} runs",
            thousands(images as f64)
        ),
        &[
            "backend / program",
            "time s",
            "images/s",
            "peak RSS MiB",
            "imagecat speed vs script",
        ],
    );
    for backend in ctx.cli_backends() {
        // Same output first: both print to files over a small catalog.
        let same = {
            let emulator = Emulator::start(&ctx.emu_rt, backend, 3_000, Duration::ZERO)?;
            let dir = std::env::temp_dir();
            let ours = dir.join(format!(
                "imagecat-bench-{}-imagecat.ndjson",
                std::process::id()
            ));
            let theirs = dir.join(format!(
                "imagecat-bench-{}-script.ndjson",
                std::process::id()
            ));
            run_child(imagecat_list(&binary, &emulator), Some(&ours))?;
            run_child(script_list(&python, &emulator), Some(&theirs))?;
            let a = std::fs::read(&ours)?;
            let b = std::fs::read(&theirs)?;
            let _ = std::fs::remove_file(&ours);
            let _ = std::fs::remove_file(&theirs);
            (a == b, a.iter().filter(|&&c| c == b'\n').count())
        };
        let emulator = Emulator::start(&ctx.emu_rt, backend, images, Duration::ZERO)?;
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let (mut ours_peak, mut theirs_peak) = (0, 0);
        for _ in 0..rounds {
            let run = run_child(imagecat_list(&binary, &emulator), None)?;
            ours.push(run.wall);
            ours_peak = ours_peak.max(run.peak_kib);
            let run = run_child(script_list(&python, &emulator), None)?;
            theirs.push(run.wall);
            theirs_peak = theirs_peak.max(run.peak_kib);
        }
        let (ours, theirs) = (median(ours), median(theirs));
        let speed = theirs.as_secs_f64() / ours.as_secs_f64();
        table.row(vec![
            format!("{} naive_list.py", backend.name()),
            secs(theirs),
            thousands(rate(images as u64, theirs)),
            mib(theirs_peak),
            "1.0x".to_owned(),
        ]);
        table.row(vec![
            format!("{} imagecat", backend.name()),
            secs(ours),
            thousands(rate(images as u64, ours)),
            mib(ours_peak),
            format!("{speed:.1}x"),
        ]);
        table.note(format!(
            "{}: same output: {} (both printed to files over a 3,000-image catalog: {} lines{})",
            backend.name(),
            if same.0 { "yes" } else { "NO" },
            thousands(same.1 as f64),
            if same.0 {
                ", byte for byte"
            } else {
                "; they differ"
            }
        ));
        ctx.goals.push(Goal::new(
            format!(
                "{} `imagecat -o ndjson list` vs naive Python script, same output",
                backend.name()
            ),
            ">= 3x faster (issue 18)",
            format!("{speed:.1}x faster"),
            Some(speed >= 3.0 && same.0),
        ));
    }
    table.note("Both are child processes paging the same emulator at the same page size (DCMGR 250, TOAST 1000); the time includes the process start.");
    table.print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status = "Name:\timagecat\nVmPeak:\t  100 kB\nVmHWM:\t    4242 kB\nVmRSS:\t 10 kB\n";
        assert_eq!(vm_hwm(status), Some(4242));
        assert_eq!(vm_hwm("Name: x\n"), None);
    }

    #[test]
    fn id_set_sizes() {
        // 1,000,000 ids: 8 bytes each in the vector, 2^16 buckets of recent ones.
        assert_eq!(
            id_set_peak_bytes(1_000_000),
            8 * (1_000_000 - (1 << 15)) + (1 << 16) * 9 + 16
        );
        assert_eq!(id_set_peak_bytes(3), 8 * 9 + 16);
    }

    #[test]
    fn the_script_is_in_the_workspace() {
        assert!(script_path().is_file(), "{}", script_path().display());
    }
}

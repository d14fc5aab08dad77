//! "What is printed is what happened", end to end against the DCMGR
//! emulator and its DELETE faults: a real SIGINT/SIGTERM during an apply
//! (no new DELETE, the one in flight recorded, the summary, 130/143), the
//! audit log written ahead (intent before outcome; /dev/full sends nothing),
//! a lost answer printed as "may have happened" and looked up, never
//! retried, a bare 404 never taken for "already deleted", `delete X X` one
//! DELETE, and the summary on stderr when stdout is closed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use imagecat_emulators::dcmgr::DcmgrEmulator;
use imagecat_emulators::delete_faults::{DeleteFault, DeleteFaults};
use serde_json::Value;

use crate::support::{
    command, dcmgr, entries, ids_where, keep_newest_args, run, std_command, strings,
};

/// An emulator and a saved plan with at least two deletes.
struct Fixture {
    emu: DcmgrEmulator,
    url: String,
    dir: tempfile::TempDir,
    planned: HashSet<String>,
}

impl Fixture {
    async fn new() -> Self {
        let emu = dcmgr(60).await;
        let account = emu.own_account().to_owned();
        let url = emu.catalog_url(Some(&account));
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.json");
        let out = run(&mut command(&keep_newest_args(
            &url,
            &account,
            "2",
            &["--plan-out", plan.to_str().unwrap()],
        )))
        .await;
        let entries = entries(&out);
        let planned = ids_where(&entries, "action", "delete");
        assert!(planned.len() >= 3, "{entries:?}");
        Fixture {
            emu,
            url,
            dir,
            planned,
        }
    }

    fn audit(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.ndjson")
    }

    fn apply_args(&self, audit: &Path, extra: &[&str]) -> Vec<String> {
        let plan = self.dir.path().join("plan.json");
        let mut args = strings(&[
            "-c",
            &self.url,
            "-o",
            "json",
            "apply",
            plan.to_str().unwrap(),
            "--yes",
            "--audit-log",
            audit.to_str().unwrap(),
        ]);
        args.extend(strings(extra));
        args
    }

    fn deletes_sent(&self) -> Vec<String> {
        self.emu
            .server()
            .requests()
            .iter()
            .filter_map(|r| r.deleted_image_id())
            .collect()
    }
}

fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Reads the child's stderr line by line on a thread until a line
/// containing `needle` came; the rest is collected and returned by the
/// thread's handle.
fn stderr_until(
    child: &mut Child,
    needle: &'static str,
) -> (
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<String>,
) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains(needle) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (rx, reader)
}

/// Runs `imagecat ARGS` with stdout and stderr piped; once the first
/// DELETE is held by the emulator, sends `signal` (`-INT`, `-TERM`), waits
/// until the CLI said it saw it (before the held DELETE is answered), then
/// releases the DELETE. Returns the exit status, stdout and stderr.
async fn signal_while_held(
    args: &[String],
    signal: &str,
    faults: &DeleteFaults,
) -> (ExitStatus, String, String) {
    let mut child = std_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first DELETE reached the emulator and is held there.
    faults.wait_held(1).await;
    let (signalled, stderr) = stderr_until(&mut child, "no further delete is sent");
    let kill = Command::new("kill")
        .args([signal.to_owned(), child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The CLI saw the signal before the held DELETE is answered.
    tokio::task::spawn_blocking(move || signalled.recv().unwrap())
        .await
        .unwrap();
    faults.release();
    let (status, stdout) = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (child.wait().unwrap(), out)
    })
    .await
    .unwrap();
    (status, stdout, stderr.join().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_an_apply_sends_no_new_delete_records_the_one_in_flight_and_exits_130_or_143()
 {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let fx = Fixture::new().await;
        let faults = fx.emu.server().delete_faults();
        faults.set(Some(DeleteFault::Hold));
        let audit = fx.audit();
        let (status, stdout, stderr) = signal_while_held(
            &fx.apply_args(&audit, &["--concurrency", "1"]),
            &format!("-{signal}"),
            faults,
        )
        .await;
        assert_eq!(status.code(), Some(code), "{stderr}");
        let sent = fx.deletes_sent();
        assert_eq!(sent.len(), 1, "a DELETE after the signal: {sent:?}");
        let first = &sent[0];
        assert!(stderr.contains("1 deleted, 0 already deleted"), "{stderr}");
        assert!(stderr.contains("cancelled"), "{stderr}");
        let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
        let result_of = |id: &str| {
            results
                .iter()
                .find(|e| e["id"] == id)
                .map(|e| e["result"].clone())
                .unwrap()
        };
        assert_eq!(result_of(first), "deleted");
        let lines = audit_lines(&audit);
        let intent = lines
            .iter()
            .position(|l| l["record"] == "intent" && l["id"] == first.as_str())
            .unwrap();
        let outcome = lines
            .iter()
            .position(|l| l["record"] == "outcome" && l["id"] == first.as_str())
            .unwrap();
        assert!(intent < outcome);
        assert_eq!(lines[outcome]["result"], "deleted");
        for id in fx.planned.iter().filter(|id| *id != first) {
            assert_eq!(result_of(id), "skipped");
            let record = lines
                .iter()
                .find(|l| l["record"] == "outcome" && l["id"] == id.as_str())
                .unwrap();
            assert_eq!(record["reason"], "stopped", "{record}");
            assert!(
                !lines
                    .iter()
                    .any(|l| l["record"] == "intent" && l["id"] == id.as_str())
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_audit_log_sends_no_delete() {
    let fx = Fixture::new().await;
    let out = run(&mut command(&fx.apply_args(Path::new("/dev/full"), &[]))).await;
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stderr}");
    assert!(fx.deletes_sent().is_empty());
    assert!(stderr.contains("0 deleted"), "{stderr}");
    assert!(stderr.contains("audit log"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_unknown_looked_up_and_never_retried() {
    let fx = Fixture::new().await;
    fx.emu
        .server()
        .delete_faults()
        .set(Some(DeleteFault::PerformThenDrop));
    let audit = fx.audit();
    let out = run(&mut command(&fx.apply_args(&audit, &[]))).await;
    let stderr = &out.stderr;
    assert_eq!(out.code, 6, "{stderr}");
    let mut sent = fx.deletes_sent();
    sent.sort();
    let mut planned: Vec<String> = fx.planned.iter().cloned().collect();
    planned.sort();
    assert_eq!(sent, planned, "one DELETE per planned image, none retried");
    assert!(stderr.contains("0 deleted"), "{stderr}");
    assert!(
        stderr.contains(&format!("{} unknown (may have happened)", planned.len())),
        "{stderr}"
    );
    let results: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    for e in results.iter().filter(|e| e["action"] == "delete") {
        assert_eq!(
            (&e["result"], &e["lookup"]),
            (&"unknown".into(), &"gone".into()),
            "{e}"
        );
    }
    let lines = audit_lines(&audit);
    assert!(
        lines
            .iter()
            .filter(|l| l["record"] == "outcome" && l["result"] == "unknown")
            .all(|l| l["lookup"] == "gone")
    );
    // The CLI's `delete ID` says the same, once.
    let mut fresh = Fixture::new().await;
    fresh
        .emu
        .server()
        .delete_faults()
        .set(Some(DeleteFault::PerformThenDrop));
    let id = fresh.planned.drain().next().unwrap();
    let out = run(&mut command(&strings(&[
        "-c",
        &fresh.url,
        "delete",
        &id,
        "--yes",
        "--force-in-use",
    ])))
    .await;
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stderr}");
    assert!(stderr.contains("may have happened"), "{stderr}");
    assert!(stderr.contains("look-up afterwards: gone"), "{stderr}");
    assert_eq!(fresh.deletes_sent(), [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxys_bare_404_on_delete_is_a_failure_not_already_deleted() {
    let fx = Fixture::new().await;
    fx.emu
        .server()
        .delete_faults()
        .set(Some(DeleteFault::Bare404));
    let out = run(&mut command(&fx.apply_args(&fx.audit(), &[]))).await;
    let stderr = &out.stderr;
    assert_eq!(out.code, 6, "{stderr}");
    let results: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    for e in results.iter().filter(|e| e["action"] == "delete") {
        assert_eq!(e["result"], "failed", "{e}");
    }
    assert!(stderr.contains("0 already deleted"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_x_x_is_one_delete_reported_once() {
    let mut fx = Fixture::new().await;
    let id = fx.planned.drain().next().unwrap();
    let out = run(&mut command(&strings(&[
        "-c",
        &fx.url,
        "delete",
        &id,
        &id,
        "--yes",
        "--force-in-use",
    ])))
    .await;
    let stdout = &out.stdout;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fx.deletes_sent(), [id]);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("deleted")).count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_reaches_stderr_when_stdout_is_closed() {
    let fx = Fixture::new().await;
    let faults = fx.emu.server().delete_faults();
    faults.set(Some(DeleteFault::Hold));
    let mut child = std_command(&fx.apply_args(&fx.audit(), &["--concurrency", "1"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    faults.wait_held(1).await;
    // Nothing is printed to stdout before the apply ends: the reader goes
    // away now, while the first DELETE is held.
    drop(child.stdout.take());
    faults.release();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} deleted, 0 already deleted", fx.planned.len())),
        "{stderr}"
    );
    assert_eq!(fx.deletes_sent().len(), fx.planned.len());
    // Every delete done and only the reader gone: a success, as for `list`.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_multi_id_delete_sends_no_new_delete_and_exits_143() {
    let fx = Fixture::new().await;
    let faults = fx.emu.server().delete_faults();
    faults.set(Some(DeleteFault::Hold));
    let mut ids: Vec<String> = fx.planned.iter().take(3).cloned().collect();
    ids.sort();
    let mut args = strings(&["-c", &fx.url, "delete", "--yes", "--force-in-use"]);
    args.extend(strings(&["--concurrency", "1"]));
    args.extend(ids.iter().cloned());
    let (status, stdout, stderr) = signal_while_held(&args, "-TERM", faults).await;
    assert_eq!(status.code(), Some(143), "{stderr}");
    let sent = fx.deletes_sent();
    assert_eq!(sent.len(), 1, "a DELETE after the signal: {sent:?}");
    // The one in flight finished and is reported; the rest were not sent.
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("deleted {}", sent[0])),
        "{stdout}"
    );
    assert!(
        stderr.contains("interrupted: 2 confirmed deletes not sent"),
        "{stderr}"
    );
}

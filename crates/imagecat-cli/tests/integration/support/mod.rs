//! What the CLI's tests share: running the built `imagecat` binary in one
//! clean environment, the emulators they start, terminal-control checks.

use std::collections::HashSet;
use std::process::Stdio;

use serde_json::Value;

pub(crate) use imagecat_emulators::glance::TOKEN as GLANCE_TOKEN;
pub(crate) use imagecat_testkit::start::{dcmgr, glance, toast};

use imagecat_emulators::instances::EmulatedInstance;
use imagecat_emulators::toast::ToastEmulator;

/// A TOAST emulator with `images` images and one ACTIVE instance that uses
/// a deletable one, whose id is returned.
pub(crate) async fn toast_in_use(images: usize) -> (ToastEmulator, String) {
    let emu = toast(images).await;
    let used = emu.deletable_ids(1).remove(0);
    emu.insert_instance(EmulatedInstance::new(
        "00000000-0000-4000-8000-0000000000aa",
        "ACTIVE",
        Some(&used),
        "any",
    ));
    (emu, used)
}

/// The `imagecat` binary cargo built for this test binary (the current
/// sources, with the package's features).
pub(crate) const IMAGECAT: &str = env!("CARGO_BIN_EXE_imagecat");

/// The variables a test must not inherit from the shell that runs it.
const INHERITED: [&str; 19] = [
    "IMAGECAT_CATALOG",
    "RUST_LOG",
    "IMAGECAT_TOAST_ENDPOINT",
    "IMAGECAT_TOAST_APPKEY",
    "IMAGECAT_TOAST_TOKEN",
    "IMAGECAT_TOAST_USERNAME",
    "IMAGECAT_TOAST_PASSWORD",
    "IMAGECAT_DCMGR_ENDPOINT",
    "IMAGECAT_DCMGR_ACCOUNT",
    "OS_TOKEN",
    "OS_AUTH_TOKEN",
    "OS_AUTH_URL",
    "OS_CLOUD",
    "NO_COLOR",
    "IMAGECAT_CONFIG",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCE_METADATA_HOST",
    "CLOUDSDK_CONFIG",
];

/// The one environment every run of the CLI in these tests gets (also
/// through a wrapper such as `script`): none of imagecat's or OpenStack's
/// variables from the calling shell, and a config path that does not exist.
pub(crate) fn clean_env(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    clean_std_env(cmd.as_std_mut());
    cmd
}

/// [`clean_env`] for a `std::process::Command` (the one list of variables).
pub(crate) fn clean_std_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd.env("IMAGECAT_CONFIG", "/nonexistent/imagecat-e2e.toml")
}

/// `imagecat ARGS` with [`clean_env`] as a blocking `std::process::Command`,
/// stdio left to the caller: for tests that signal the child or read its
/// output while it runs.
pub(crate) fn std_command<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Command {
    let mut cmd = std::process::Command::new(IMAGECAT);
    clean_std_env(&mut cmd).args(args);
    cmd
}

/// `imagecat ARGS` with [`clean_env`], stdin empty (not a terminal),
/// stdout and stderr piped.
pub(crate) fn command<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(IMAGECAT);
    clean_env(&mut cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What one run of the CLI produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// `key` of every object in stdout's JSON array, in order, as strings.
    pub(crate) fn column(&self, key: &str) -> Vec<String> {
        self.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i[key].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Runs `imagecat ARGS` as [`command`] does, with `envs` set.
pub(crate) async fn imagecat(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = command(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd).await
}

/// Runs a [`command`] (as the caller changed it) to its end.
pub(crate) async fn run(cmd: &mut tokio::process::Command) -> Run {
    let out = cmd.output().await.expect("the imagecat binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `args` as owned strings, for argument lists built up in steps.
pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// `prune` keeping nothing by age or rank (`--keep 0`, every image is a
/// candidate: only the never-delete rules keep one), JSON out, with
/// `--apply --yes` when `apply`, and `--owner` when given.
pub(crate) fn prune_args<'a>(url: &'a str, owner: Option<&'a str>, apply: bool) -> Vec<&'a str> {
    let mut args = vec![
        "-c",
        url,
        "-o",
        "json",
        "prune",
        "--family",
        "^()",
        "--keep",
        "0",
        "--older-than",
        "0s",
    ];
    if apply {
        args.extend(["--apply", "--yes"]);
    }
    if let Some(owner) = owner {
        args.extend(["--owner", owner]);
    }
    args
}

/// `-o json prune` of one family (`^()`) that keeps the newest `keep`
/// and nothing by age, as `owner`; account-scoped public images are of
/// unknown usage, so it allows that (these tests are about plan and apply;
/// the usage rules are the cli_prune_usage module's). `extra` follows.
pub(crate) fn keep_newest_args(url: &str, owner: &str, keep: &str, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "-c",
        url,
        "-o",
        "json",
        "prune",
        "--owner",
        owner,
        "--family",
        "^()",
        "--keep",
        keep,
        "--older-than",
        "0s",
        "--allow-unknown-usage",
    ]);
    args.extend(strings(extra));
    args
}

/// The entries of a `prune`/`apply -o json` run, which must have exited 0.
pub(crate) fn entries(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json().as_array().expect("a JSON array").clone()
}

/// The entry of image `id`; fails if there is none.
pub(crate) fn entry<'a>(entries: &'a [Value], id: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the plan: {entries:?}"))
}

/// Whether `entry`'s `reasons` hold `reason`.
pub(crate) fn has_reason(entry: &Value, reason: &str) -> bool {
    entry["reasons"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == reason))
}

/// The ids of the entries whose `key` is `value`.
pub(crate) fn ids_where(entries: &[Value], key: &str, value: &str) -> HashSet<String> {
    entries
        .iter()
        .filter(|e| e[key] == value)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether a character must never reach a terminal from a server: C0
/// controls but the line end, DEL, C1, and the invisible format characters
/// (bidi overrides and isolates, zero-width marks, separators, BOM).
pub(crate) fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}')
}

/// Fails, showing where, if `text` holds a character of
/// [`is_terminal_control`].
pub(crate) fn assert_no_control(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| is_terminal_control(c)) {
        let around: String = text[at..].chars().take(60).collect();
        panic!(
            "{what}: control character U+{:04X} at byte {at}, before {:?}",
            c as u32, around
        );
    }
}

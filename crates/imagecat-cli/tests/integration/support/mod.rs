//! What the end-to-end tests share: the built `imagecat` binary, running
//! it, and starting the emulators.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use imagecat_testkit::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_testkit::glance::{GlanceEmulator, GlanceEmulatorConfig};
use imagecat_testkit::server::ServeOptions;
use imagecat_testkit::toast::{ToastEmulator, ToastEmulatorConfig};

/// The `imagecat` binary, built once per test process by cargo itself (so
/// these tests always run the binary of the current sources).
pub fn imagecat_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("IMAGECAT_BIN") {
            return PathBuf::from(path);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "imagecat-cli",
                "--bin",
                "imagecat",
                "--message-format=json",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo can be run");
        assert!(out.status.success(), "building the imagecat binary failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|msg| msg["target"]["name"] == "imagecat")
            .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the imagecat executable")
    })
    .clone()
}

/// What one run of the CLI produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `imagecat ARGS` with `envs`, stdin empty (not a terminal), a clean
/// environment for imagecat's own variables, and an empty config path.
pub async fn imagecat(args: &[&str], envs: &[(&str, &str)]) -> Run {
    // The first call may build the binary: off the runtime's threads, so
    // that requests other futures of the same task have in flight (a
    // `join_all` of cases) are not starved into timeouts meanwhile.
    let bin = tokio::task::spawn_blocking(imagecat_bin)
        .await
        .expect("finding the imagecat binary does not panic");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("IMAGECAT_CONFIG", "/nonexistent/imagecat-e2e.toml")
        .env_remove("IMAGECAT_CATALOG")
        .env_remove("RUST_LOG");
    for var in [
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
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("the imagecat binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A DCMGR 12.03 emulator with `images` seeded images.
pub async fn dcmgr(images: usize) -> DcmgrEmulator {
    DcmgrEmulator::start(
        DcmgrEmulatorConfig::v1203().images(images),
        ServeOptions::default(),
    )
    .await
    .expect("the DCMGR emulator starts")
}

/// A TOAST emulator with `images` seeded images.
pub async fn toast(images: usize) -> ToastEmulator {
    ToastEmulator::start(
        ToastEmulatorConfig {
            images,
            ..ToastEmulatorConfig::default()
        },
        ServeOptions::default(),
    )
    .await
    .expect("the TOAST emulator starts")
}

/// A Glance emulator with `images` seeded images (token in [`GLANCE_TOKEN`]).
pub async fn glance(images: u64) -> GlanceEmulator {
    GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(images),
        ServeOptions::default(),
    )
    .await
    .expect("the Glance emulator starts")
}

/// The static token the Glance emulator accepts by default.
pub const GLANCE_TOKEN: &str = "glance-emulator-token";

/// Whether a character must never reach a terminal from a server: C0
/// controls but the line end, DEL, C1, and the invisible format characters
/// (bidi overrides and isolates, zero-width marks, separators, BOM).
pub fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}')
}

/// Fails, showing where, if `text` holds a character of
/// [`is_terminal_control`].
pub fn assert_no_control(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| is_terminal_control(c)) {
        let around: String = text[at..].chars().take(60).collect();
        panic!(
            "{what}: control character U+{:04X} at byte {at}, before {:?}",
            c as u32, around
        );
    }
}

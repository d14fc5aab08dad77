//! What the CLI's tests share: running the built `imagecat` binary in one
//! clean environment, the emulators they start, terminal-control checks.

use std::process::Stdio;

pub(crate) use imagecat_emulators::glance::TOKEN as GLANCE_TOKEN;
pub(crate) use imagecat_testkit::start::{dcmgr, glance, toast};

/// The `imagecat` binary cargo built for this test binary (the current
/// sources, with the package's features).
pub(crate) const IMAGECAT: &str = env!("CARGO_BIN_EXE_imagecat");

/// The variables a test must not inherit from the shell that runs it.
const INHERITED: [&str; 15] = [
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
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `imagecat ARGS` as [`command`] does, with `envs` set.
pub(crate) async fn imagecat(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = command(args);
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

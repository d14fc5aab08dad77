//! What the process was asked about the terminal once, read anywhere:
//! `--quiet`, `-v` and whether stderr gets colour.

use std::io::IsTerminal;
use std::sync::OnceLock;

static VERBOSITY: OnceLock<u8> = OnceLock::new();
static QUIET: OnceLock<bool> = OnceLock::new();

/// Records `--quiet` and the number of `-v` (once, at start).
pub(crate) fn set(quiet: bool, verbose: u8) {
    let _ = QUIET.set(quiet);
    let _ = VERBOSITY.set(verbose);
}

/// Whether `--quiet` was given (no progress line).
pub(crate) fn quiet() -> bool {
    QUIET.get().copied().unwrap_or(false)
}

/// How many `-v` were given.
pub(crate) fn verbosity() -> u8 {
    VERBOSITY.get().copied().unwrap_or(0)
}

/// Whether stderr gets colour: only on a terminal, never with `NO_COLOR`.
pub(crate) fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

//! The progress line of long commands (list now; prune, apply and diff as
//! they come), drawn on stderr by indicatif.
//!
//! Use it like this in any long command:
//!
//! ```ignore
//! let progress = Progress::new(view.format, "images", None); // or Some(total) for a bar
//! for page in pages {
//!     progress.page();          // one more page fetched
//!     progress.inc(page.len()); // images done so far
//! }
//! progress.suspend(|| confirm("Delete…? [y/N] ")); // prompts and prints in between
//! progress.finish();            // clears the line
//! ```
//!
//! It is drawn only for people: stderr and stdout both terminals, the table
//! format (machine formats on a terminal are the output itself, and pipes or
//! files never get it), and no `--quiet`. Otherwise every call is a no-op.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::output::Format;

/// A progress line: images (or any unit) so far, pages, rate, and a bar
/// when the total is known.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    #[allow(dead_code, reason = "read by `page`")]
    pages: AtomicU64,
    #[allow(dead_code, reason = "read by `page`")]
    unit: &'static str,
}

impl Progress {
    /// Whether a command writing `format` to stdout shows progress.
    pub(crate) fn wanted(format: Format) -> bool {
        !crate::term::quiet()
            && format == Format::Table
            && std::io::stderr().is_terminal()
            && std::io::stdout().is_terminal()
    }

    /// A progress line counting `unit` (`"images"`), with a bar when
    /// `total` is known; hidden unless [`Progress::wanted`].
    pub(crate) fn new(format: Format, unit: &'static str, total: Option<u64>) -> Self {
        let target = if Self::wanted(format) {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let template = match total {
            Some(_) => "{bar:30} {pos}/{len} {msg} ({rate}, {elapsed}, eta {eta})",
            None => "{spinner} {pos} {msg} ({rate}, {elapsed})",
        };
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        let style = style.with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        );
        let bar = ProgressBar::with_draw_target(total, target).with_style(style);
        bar.set_message(unit);
        Progress {
            bar,
            pages: AtomicU64::new(0),
            unit,
        }
    }

    /// `n` more units done.
    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// One more page (request) done; shown next to the count.
    #[allow(dead_code, reason = "for the page-wise commands (prune, apply, diff)")]
    pub(crate) fn page(&self) {
        let pages = self.pages.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.set_message(format!(
            "{}, {pages} page{}",
            self.unit,
            if pages == 1 { "" } else { "s" }
        ));
    }

    /// Runs `f` (a prompt, a line of output) with the line hidden.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Clears the line.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

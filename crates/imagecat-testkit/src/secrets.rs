//! Proving that secrets never show (feature `secrets`): a capture of
//! everything a test binary logs (tracing at TRACE, and the `log` records
//! reqwest writes), a collector of what errors and values print, and the
//! check that no secret is in either.
//!
//! The capture is global: a test binary that uses it installs it once
//! ([`capture_logs`]) and every test in it runs under it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use imagecat_core::Error;

/// Installs the capture (once per binary) and returns its buffer.
pub fn capture_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_target(true)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .try_init()
            .expect("the capture is the only subscriber of this binary");
        log::set_logger(Box::leak(Box::new(LogCapture(Arc::clone(&buffer)))))
            .expect("the capture is the only logger of this binary");
        log::set_max_level(log::LevelFilter::Trace);
        buffer
    })
}

/// Everything logged so far by this binary.
pub fn captured_text() -> String {
    String::from_utf8_lossy(&capture_logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The `log` records (reqwest logs through `log`, not `tracing`).
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!(
            "LOG {} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(line.as_bytes());
    }

    fn flush(&self) {}
}

/// What a test printed: errors (Display and Debug) and values (Debug).
#[derive(Debug, Default)]
pub struct Shown(Vec<String>);

impl Shown {
    /// Records an error's Display, Debug and pretty Debug.
    pub fn error(&mut self, e: &Error) {
        self.0.push(format!("{e} {e:?} {e:#?}"));
    }

    /// Records a value's Debug and pretty Debug.
    pub fn debug(&mut self, value: &impl std::fmt::Debug) {
        self.0.push(format!("{value:?} {value:#?}"));
    }
}

/// Asserts that no secret is in what was shown or logged.
pub fn assert_hidden(secrets: &[String], shown: &Shown) {
    let logs = captured_text();
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret.as_str()), "{secret} in the logs");
        for text in &shown.0 {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    }
}

//! Exit codes and the one-line error report.

use std::error::Error as _;

use imagecat::{Error, ErrorKind};

use crate::sanitize::for_terminal;

/// The process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCode {
    /// 0: success (also when the reader of our output went away).
    Success = 0,
    /// 1: any other failure.
    Failure = 1,
    /// 2: usage or configuration.
    Usage = 2,
    /// 3: not found.
    NotFound = 3,
    /// 4: unauthenticated or permission denied (a protected image included).
    Denied = 4,
    /// 5: invalid input (a bad id).
    InvalidInput = 5,
    /// 6: a fan-out in which some catalogs failed, or an apply in which
    /// some deletes failed.
    PartialFanOut = 6,
    /// 10: `diff` found differences, `golden` found drift or an unknown
    /// build (not a failure).
    Differences = 10,
    /// 130: a run that deletes stopped on SIGINT (after its summary).
    Interrupted = 130,
    /// 143: a run that deletes stopped on SIGTERM (after its summary).
    Terminated = 143,
}

impl ExitCode {
    /// The code for an error kind.
    pub(crate) fn for_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NotFound => ExitCode::NotFound,
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => ExitCode::Denied,
            ErrorKind::InvalidInput => ExitCode::InvalidInput,
            ErrorKind::Config | ErrorKind::NotSupported => ExitCode::Usage,
            _ => ExitCode::Failure,
        }
    }
}

/// A failure of the CLI: a code, one line, and the cause chain for `-v`.
#[derive(Debug)]
pub(crate) struct CliError {
    code: ExitCode,
    line: String,
    causes: Vec<String>,
    reported: bool,
    closed_pipe: bool,
}

impl CliError {
    /// A failure with a code and a line.
    pub(crate) fn new(code: ExitCode, line: String) -> Self {
        CliError {
            code,
            line,
            causes: Vec::new(),
            reported: false,
            closed_pipe: false,
        }
    }

    /// A usage error (exit 2).
    pub(crate) fn usage(line: &str) -> Self {
        Self::new(ExitCode::Usage, line.to_owned())
    }

    /// A catalog error: the line names the catalog, the backend and carries
    /// the backend's code and message (the error's `Display` does).
    pub(crate) fn from_error(catalog: Option<&str>, error: Error) -> Self {
        let line = match catalog {
            Some(name) => format!("{name}: {error}"),
            None => error.to_string(),
        };
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        CliError {
            code: ExitCode::for_kind(error.kind()),
            line,
            causes,
            reported: false,
            closed_pipe: false,
        }
    }

    /// The same failure with another line (the causes stay for `-v`).
    pub(crate) fn reworded(mut self, line: String) -> Self {
        self.causes
            .insert(0, std::mem::replace(&mut self.line, line));
        self
    }

    /// The exit code.
    pub(crate) fn code(&self) -> ExitCode {
        self.code
    }

    /// The one line (unescaped: escape it before printing).
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    /// Whether this is the reader of our output going away (a closed pipe).
    pub(crate) fn is_closed_pipe(&self) -> bool {
        self.closed_pipe
    }

    /// Prints the error now (fan-out: the others go on).
    pub(crate) fn report_now(&self) {
        // Error lines carry a server's messages and body snippets: they go
        // out escaped, one line each.
        eprintln!("imagecat: {}", for_terminal(&self.line));
        if crate::term::verbosity() > 0 {
            for cause in &self.causes {
                eprintln!("  caused by: {}", for_terminal(cause));
            }
        }
    }

    /// Marks the error as printed already.
    pub(crate) fn already_reported(mut self) -> Self {
        self.reported = true;
        self
    }

    /// Prints the error unless it was printed already.
    pub(crate) fn report(&self) {
        if !self.reported {
            self.report_now();
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // `imagecat list | head`: the reader has what it wanted.
            let mut closed = CliError::new(ExitCode::Success, e.to_string()).already_reported();
            closed.closed_pipe = true;
            return closed;
        }
        CliError::new(ExitCode::Failure, format!("output failed: {e}"))
    }
}

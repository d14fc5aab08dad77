//! The audit log, written ahead: the executor records an `intent` before
//! each DELETE is sent and its `outcome` after, and stops sending DELETEs
//! when a record cannot be written. [`AuditLog`] writes NDJSON to any
//! writer (a file opened for append); any [`AuditSink`] can stand in.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

use chrono::Utc;

use super::plan::PlanEntry;

/// Which record of an entry is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditStage {
    /// Before the DELETE is sent (the entry has no result yet).
    Intent,
    /// Once the entry's result is set (also for entries never sent).
    Outcome,
}

impl AuditStage {
    /// The `record` field of the NDJSON line (`intent`, `outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStage::Intent => "intent",
            AuditStage::Outcome => "outcome",
        }
    }
}

/// Where the executor writes its audit records. A record that cannot be
/// written is an error: the executor then sends no further DELETE.
pub trait AuditSink: fmt::Debug + Send + Sync {
    /// Writes one record of `entry` durably (flushed) before returning.
    fn record(&self, stage: AuditStage, entry: &PlanEntry) -> io::Result<()>;
}

/// The NDJSON audit log: one line per record, flushed as it is written.
/// After the first failed write every further record fails too (a log
/// with a hole in it is not written to).
pub struct AuditLog<W> {
    out: Mutex<(W, bool)>,
}

impl<W> fmt::Debug for AuditLog<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl<W: Write + Send> AuditLog<W> {
    /// An audit log writing to `out`.
    pub fn new(out: W) -> Self {
        AuditLog {
            out: Mutex::new((out, false)),
        }
    }
}

/// The JSON of one record: `time`, `record` (intent or outcome), the
/// entry's catalog, backend, id, name and family, and for an outcome its
/// `result`, `reason` (comma-separated), `error`, `lookup` and, when the
/// delete touched other resources, `details` (each `kind`, `id`, `result`,
/// `message`).
pub fn audit_record(stage: AuditStage, e: &PlanEntry) -> serde_json::Value {
    let reasons: Vec<&str> = e
        .skip_reasons
        .iter()
        .chain(if e.skip_reasons.is_empty() {
            &e.reasons[..]
        } else {
            &[]
        })
        .map(|r| r.as_str())
        .collect();
    let mut record = serde_json::json!({
        "time": Utc::now(),
        "record": stage.as_str(),
        "catalog": e.catalog,
        "backend": e.backend,
        "id": e.id,
        "name": e.name,
        "family": e.family,
        "action": e.action.as_str(),
        "result": e.result.map(|r| r.as_str()),
        "reason": reasons.join(","),
        "error": e.error,
        "lookup": e.lookup.map(|l| l.as_str()),
    });
    // Every other resource the delete touched (EC2's snapshots), each with
    // what happened to it; absent when there were none.
    if !e.details.is_empty() {
        if let Some(object) = record.as_object_mut() {
            object.insert("details".to_owned(), serde_json::json!(e.details));
        }
    }
    record
}

impl<W: Write + Send> AuditSink for AuditLog<W> {
    fn record(&self, stage: AuditStage, entry: &PlanEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(&audit_record(stage, entry))?;
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out.1 {
            return Err(io::Error::other("an earlier audit record was not written"));
        }
        let written = out.0.write_all(&line).and_then(|()| out.0.flush());
        if written.is_err() {
            out.1 = true;
        }
        written
    }
}

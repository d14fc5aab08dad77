//! Global Operations: what every image write answers, read by
//! `globalOperations.get` and `wait`. An operation is DONE at once unless
//! the emulator was told how many reads see it RUNNING first; what it does
//! (removing the deleted image) happens when it is DONE; a scripted
//! failure ends it DONE with `error`, `httpErrorStatusCode` and
//! `httpErrorMessage`, the image untouched.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::data::{Links, State};
use super::wire::timestamp;

/// An operation's error: the HTTP status it stands for, a reason and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpError {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) message: String,
}

impl OpError {
    pub(crate) fn new(status: u16, reason: &str, message: &str) -> Self {
        OpError {
            status,
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// What happens to the target when the operation is DONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing more (already done).
    None,
    /// The image of this name and id is removed.
    RemoveImage { name: String, id: u64 },
}

/// One operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) project: String,
    pub(crate) kind: String,
    pub(crate) target_link: String,
    pub(crate) target_id: u64,
    pub(crate) reads_left: u32,
    pub(crate) effect: Effect,
    pub(crate) error: Option<OpError>,
    pub(crate) inserted: DateTime<Utc>,
    pub(crate) ended: Option<DateTime<Utc>>,
    pub(crate) request_id: Option<String>,
}

impl Operation {
    /// The operation document (`compute#operation`).
    pub(crate) fn doc(&self, links: &Links) -> Value {
        let done = self.reads_left == 0;
        let mut doc = Map::new();
        doc.insert("kind".into(), json!("compute#operation"));
        doc.insert("id".into(), json!(self.id.to_string()));
        doc.insert("name".into(), json!(self.name));
        doc.insert("operationType".into(), json!(self.kind));
        doc.insert("targetLink".into(), json!(self.target_link));
        doc.insert("targetId".into(), json!(self.target_id.to_string()));
        doc.insert(
            "status".into(),
            json!(if done { "DONE" } else { "RUNNING" }),
        );
        doc.insert(
            "user".into(),
            json!(format!("emulator@{}.iam.gserviceaccount.com", self.project)),
        );
        doc.insert("progress".into(), json!(if done { 100 } else { 0 }));
        doc.insert("insertTime".into(), json!(timestamp(self.inserted)));
        doc.insert("startTime".into(), json!(timestamp(self.inserted)));
        if let (true, Some(ended)) = (done, self.ended) {
            doc.insert("endTime".into(), json!(timestamp(ended)));
        }
        if let Some(id) = &self.request_id {
            doc.insert("clientOperationId".into(), json!(id));
        }
        if let (true, Some(e)) = (done, &self.error) {
            doc.insert(
                "error".into(),
                json!({"errors": [{"code": upper_snake(&e.reason), "message": e.message}]}),
            );
            doc.insert("httpErrorStatusCode".into(), json!(e.status));
            doc.insert("httpErrorMessage".into(), json!(http_reason(e.status)));
        }
        doc.insert(
            "selfLink".into(),
            json!(links.project(&self.project, &format!("global/operations/{}", self.name))),
        );
        Value::Object(doc)
    }
}

/// An operation error's `code` as GCE writes them: the reason in upper
/// snake case (`resourceInUseByAnotherResource` →
/// `RESOURCE_IN_USE_BY_ANOTHER_RESOURCE`).
fn upper_snake(reason: &str) -> String {
    let mut out = String::new();
    for (i, c) in reason.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The reason phrase GCE puts in `httpErrorMessage`.
fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "BAD REQUEST",
        403 => "FORBIDDEN",
        404 => "NOT FOUND",
        409 => "CONFLICT",
        412 => "PRECONDITION FAILED",
        429 => "TOO MANY REQUESTS",
        503 => "SERVICE UNAVAILABLE",
        _ => "INTERNAL SERVER ERROR",
    }
}

impl State {
    /// Starts an operation on `target` (an image of `project`): DONE at
    /// once (its effect applied) or RUNNING for the configured reads.
    /// Returns its name.
    pub(crate) fn start_operation(
        &mut self,
        project: &str,
        kind: &str,
        target: (&str, u64),
        effect: Effect,
        error: Option<OpError>,
        request_id: Option<String>,
    ) -> String {
        let id = self.next_id();
        let now = Utc::now();
        let name = format!(
            "operation-{}-{:012x}-{:08x}-{:08x}",
            now.timestamp_millis(),
            id & 0xffff_ffff_ffff,
            (id >> 16) as u32,
            (id >> 32) as u32 ^ 0x5eed
        );
        let operation = Operation {
            id,
            name: name.clone(),
            project: project.to_owned(),
            kind: kind.to_owned(),
            target_link: self.links.image(project, target.0),
            target_id: target.1,
            reads_left: self.operation_polls,
            effect,
            error,
            inserted: now,
            ended: None,
            request_id: request_id.clone(),
        };
        let p = self.project_mut(project);
        if let Some(request_id) = request_id {
            p.request_ids.insert(request_id, name.clone());
        }
        p.operations.insert(name.clone(), operation);
        if self.operation_polls == 0 {
            self.finish(project, &name);
        }
        name
    }

    /// One read of an operation: RUNNING ones come closer to DONE.
    pub(crate) fn read_operation(&mut self, project: &str, name: &str) -> Option<Value> {
        let op = self.projects.get_mut(project)?.operations.get_mut(name)?;
        if op.reads_left > 0 {
            op.reads_left -= 1;
            if op.reads_left == 0 {
                self.finish(project, name);
            }
        }
        let op = self.projects.get(project)?.operations.get(name)?;
        Some(op.doc(&self.links))
    }

    /// The operation's document as it stands.
    pub(crate) fn operation_doc(&self, project: &str, name: &str) -> Option<Value> {
        let op = self.projects.get(project)?.operations.get(name)?;
        Some(op.doc(&self.links))
    }

    /// Marks the operation DONE and applies its effect (none when it failed).
    fn finish(&mut self, project: &str, name: &str) {
        let Some(p) = self.projects.get_mut(project) else {
            return;
        };
        let Some(op) = p.operations.get_mut(name) else {
            return;
        };
        op.reads_left = 0;
        op.ended = Some(Utc::now());
        let effect = std::mem::replace(&mut op.effect, Effect::None);
        let failed = op.error.is_some();
        match effect {
            Effect::RemoveImage { name, id } => {
                let same = p.images.get(&name).is_some_and(|i| i.id == id);
                if same && !failed {
                    p.images.remove(&name);
                } else if let (true, Some(image)) = (same, p.images.get_mut(&name)) {
                    image.spec.status = "READY".into();
                }
            }
            Effect::None => {}
        }
    }
}

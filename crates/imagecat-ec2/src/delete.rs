//! Deleting an AMI as users mean it: deregister it, then delete the EBS
//! snapshots it was made of that no remaining AMI uses; the outcome names
//! every snapshot and what happened to it.
//!
//! 1. `DescribeImages ImageId.1=…` first, to remember the snapshot ids of
//!    its block-device mappings (they are gone from every answer once the
//!    AMI is deregistered). A failure other than EC2's own not-found stops
//!    the delete before anything is sent.
//! 2. `DeregisterImage ImageId=… [DeleteAssociatedSnapshots=true]`: the
//!    flag is sent when the AMI has snapshots and they are not kept. Where
//!    the server honours it, its `deleteSnapshotResultSet` says per snapshot
//!    `success` (deleted) or `skipped` (another AMI uses it: kept); any other
//!    code, and every snapshot the set does not name (moto ignores the flag
//!    and sends no set), falls back to step 3. A refusal (deregistration
//!    protection: `PermissionDenied`) fails the delete and no snapshot is
//!    touched.
//! 3. `DeleteSnapshot SnapshotId=…` one by one: success is deleted,
//!    `InvalidSnapshot.InUse` (EC2 refuses to delete a snapshot a registered
//!    AMI still uses) is kept and said so, `InvalidSnapshot.NotFound` is
//!    already deleted, anything else failed (the image itself stays
//!    deregistered: the outcome says which snapshot is left).
//!
//! Whether a snapshot is still in use is EC2's own answer, never a guess of
//! ours: the server refuses `DeleteSnapshot` on a snapshot a registered AMI
//! names. With `keep_snapshots` (the URL option or
//! [`DeleteOptions::keep_snapshots`], the CLI's `--keep-snapshots`) no
//! snapshot is deleted and each is named as kept.

use imagecat_core::{
    DeleteDetail, DeleteOptions, DeleteOutcome, Deleted, DetailResult, Error, ErrorKind, Image,
    ImageId, Result,
};
use imagecat_http::{HttpResponse, Idempotency};

use crate::config::{BACKEND, validate_image_id};
use crate::error;
use crate::protocol::{self, Form};
use crate::source::{Ec2Source, deregister_outcome};
use crate::wire::xml::{self, Element};

/// The kind every detail of an EC2 delete names.
pub const SNAPSHOT: &str = "snapshot";

/// What `DeregisterImage` said: the image's outcome and the per-snapshot
/// codes of its `deleteSnapshotResultSet` (empty when the server sent none).
#[derive(Debug)]
pub(crate) struct Deregistered {
    pub(crate) deleted: Deleted,
    pub(crate) results: Vec<(String, String)>,
}

/// The snapshot ids of an AMI's EBS block-device mappings, in their order,
/// each once (from the native record `get` keeps).
pub fn snapshot_ids(image: &Image) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let Some(native) = image.native.as_ref().map(|n| n.to_value()) else {
        return ids;
    };
    let mappings = match native.get("blockDeviceMapping") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    for mapping in mappings {
        let id = mapping
            .get("ebs")
            .and_then(|ebs| ebs.get("snapshotId"))
            .and_then(|id| id.as_str())
            .filter(|id| !id.is_empty());
        if let Some(id) = id {
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// Whether a snapshot id is one EC2 would give (`snap-` and 8 or 17
/// hexadecimal digits): anything else is never sent.
pub fn valid_snapshot_id(id: &str) -> bool {
    id.strip_prefix("snap-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

impl Ec2Source {
    /// Deregisters an AMI and deletes its snapshots (see the module docs).
    pub(crate) async fn delete_ami(
        &self,
        id: &ImageId,
        options: &DeleteOptions,
    ) -> Result<DeleteOutcome> {
        let id = validate_image_id(id)?;
        let keep = options.keep_snapshots || self.keeps_snapshots();
        let snapshots = match imagecat_core::raw::PageSource::get(self, &id).await {
            Ok(image) => snapshot_ids(&image),
            // Gone already: DeregisterImage says so in its own words.
            Err(e) if e.proves_absence() => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut form = Form::new("DeregisterImage", protocol::EC2_VERSION);
        form.param("ImageId", id.as_str());
        if !keep && !snapshots.is_empty() {
            form.flag("DeleteAssociatedSnapshots", true);
        }
        let deregistered = self
            .send_signed(
                "delete image",
                Idempotency::NotIdempotent,
                &form,
                |response, key_id| deregistered(response, &id, key_id),
            )
            .await?;
        let mut details = Vec::new();
        for snapshot in &snapshots {
            let said = deregistered
                .results
                .iter()
                .find(|(s, _)| s == snapshot)
                .map(|(_, code)| code.as_str());
            let detail = match said {
                _ if keep => DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Kept)
                    .message("kept as asked (keep_snapshots)"),
                Some("success") => DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Deleted)
                    .message("deleted by DeregisterImage"),
                Some("skipped") => DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Kept)
                    .message("another AMI uses it (DeregisterImage skipped it)"),
                _ => self.delete_snapshot(snapshot, said).await,
            };
            details.push(detail);
        }
        // A snapshot the server reports that the describe did not show (the
        // AMI changed in between): said as the server said it.
        for (snapshot, code) in &deregistered.results {
            if snapshots.contains(snapshot) {
                continue;
            }
            let result = match code.as_str() {
                "success" => DetailResult::Deleted,
                "skipped" => DetailResult::Kept,
                _ => DetailResult::Failed,
            };
            details.push(
                DeleteDetail::new(SNAPSHOT, snapshot, result)
                    .message(format!("DeregisterImage returned {code}")),
            );
        }
        Ok(DeleteOutcome::new(deregistered.deleted, details))
    }

    /// `DeleteSnapshot` of one snapshot, as a detail. `earlier` is the code
    /// DeregisterImage's result set gave it, when it gave one.
    async fn delete_snapshot(&self, snapshot: &str, earlier: Option<&str>) -> DeleteDetail {
        if !valid_snapshot_id(snapshot) {
            return DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Failed)
                .message("not a snapshot id: never sent");
        }
        let mut form = Form::new("DeleteSnapshot", protocol::EC2_VERSION);
        form.param("SnapshotId", snapshot);
        let answer = self
            .send_signed(
                "delete snapshot",
                Idempotency::NotIdempotent,
                &form,
                snapshot_deleted,
            )
            .await;
        let detail = match answer {
            Ok(()) => DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Deleted),
            Err(e) if e.code() == Some("InvalidSnapshot.InUse") => {
                DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Kept)
                    .message(format!("still in use: {}", e.message()))
            }
            Err(e) if e.proves_absence() => {
                DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::AlreadyDeleted)
            }
            Err(e) => {
                DeleteDetail::new(SNAPSHOT, snapshot, DetailResult::Failed).message(e.to_string())
            }
        };
        match earlier {
            Some(code) if detail.result == DetailResult::Failed => {
                let message = detail.message.clone().unwrap_or_default();
                detail.message(format!("DeregisterImage returned {code}; {message}"))
            }
            _ => detail,
        }
    }
}

/// A DeregisterImage answer: the image's outcome (as
/// [`deregister_outcome`] reads it) and its `deleteSnapshotResultSet`.
fn deregistered(response: &HttpResponse, id: &ImageId, key_id: &str) -> Result<Deregistered> {
    let deleted = deregister_outcome(response, id, key_id)?;
    let mut results = Vec::new();
    if response.status.is_success() {
        let root = xml::parse(&response.body)
            .map_err(|e| response.invalid(format!("DeregisterImage {id}: {e}")))?;
        if let Some(set) = root
            .one("deleteSnapshotResultSet")
            .map_err(|e| response.invalid(format!("DeregisterImage {id}: {e}")))?
        {
            for item in set.all("item") {
                let text = |name: &str| -> Result<String> {
                    field(item, name)
                        .ok_or_else(|| response.invalid(format!("DeregisterImage {id}: an item of deleteSnapshotResultSet has no <{name}>")))
                };
                results.push((text("snapshotId")?, text("returnCode")?));
            }
        }
    }
    Ok(Deregistered { deleted, results })
}

fn field(element: &Element, name: &str) -> Option<String> {
    element
        .text_of(name)
        .ok()
        .flatten()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// A DeleteSnapshot answer: `<return>true</return>` done, and so is a
/// `DeleteSnapshotResponse` without `<return>` (moto sends none);
/// `<return>false</return>` is not; a failure is EC2's error document, its
/// code kept (the caller reads `InUse`).
fn snapshot_deleted(response: &HttpResponse, key_id: &str) -> Result<()> {
    if !response.status.is_success() {
        return Err(error::decode_error(response, Some(key_id)));
    }
    let root =
        xml::parse(&response.body).map_err(|e| response.invalid(format!("DeleteSnapshot: {e}")))?;
    if root.name != "DeleteSnapshotResponse" {
        return Err(response.invalid(format!(
            "DeleteSnapshot: expected <DeleteSnapshotResponse>, got <{}>",
            root.name
        )));
    }
    match root
        .text_of("return")
        .map_err(|e| response.invalid(format!("DeleteSnapshot: {e}")))?
    {
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(()),
        Some(text) => Err(Error::new(
            ErrorKind::Api,
            format!("DeleteSnapshot answered <return>{text}</return>"),
        )
        .with_backend(BACKEND)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::NativeRecord;

    #[test]
    fn snapshot_ids_come_from_the_ebs_mappings_once_each() {
        let mut image = Image::new(
            "ami-12345678",
            BACKEND,
            imagecat_core::ImageStatus::Active,
            "available",
        );
        assert!(snapshot_ids(&image).is_empty());
        image.native = Some(NativeRecord::from_value(&serde_json::json!({
            "blockDeviceMapping": [
                {"deviceName": "/dev/xvda", "ebs": {"snapshotId": "snap-11111111"}},
                {"deviceName": "/dev/xvdb", "virtualName": "ephemeral0"},
                {"deviceName": "/dev/xvdc", "ebs": {"snapshotId": "snap-22222222"}},
                {"deviceName": "/dev/xvdd", "ebs": {"snapshotId": "snap-11111111"}},
                {"deviceName": "/dev/xvde", "ebs": {"snapshotId": ""}},
            ]
        })));
        assert_eq!(snapshot_ids(&image), ["snap-11111111", "snap-22222222"]);
    }

    #[test]
    fn only_snapshot_ids_are_sent() {
        for ok in ["snap-12345678", "snap-0123456789abcdef0"] {
            assert!(valid_snapshot_id(ok), "{ok}");
        }
        for bad in [
            "",
            "snap-",
            "snap-1234",
            "ami-12345678",
            "snap-1234567g",
            "snap-12345678&Action=x",
        ] {
            assert!(!valid_snapshot_id(bad), "{bad}");
        }
    }
}

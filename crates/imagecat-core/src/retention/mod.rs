//! Clean-up: a [`RetentionPolicy`] as data, a planner ([`plan()`]) that
//! lists each catalog once and returns a [`Plan`] (the single source of
//! truth, serde JSON), and an executor ([`apply`]) that deletes exactly the
//! plan's deletes, each re-checked right before it runs.
//!
//! Never deleted, whatever the policy, each with a [`Reason`]: protected
//! images, images not owned by the caller, images in use, images whose
//! usage is unknown (unless the policy allows it) and images already
//! deleted.

mod audit;
mod cancel;
mod execute;
mod gate;
mod identity;
mod plan;
mod policy;
mod revalidate;
mod sizes;

pub use audit::{AuditLog, AuditSink, AuditStage, audit_record};
pub use cancel::Cancel;
pub use execute::{ApplyOptions, ApplySummary, Sent, apply, send_delete, send_delete_with};
pub use gate::RateGate;
pub use identity::{CatalogIdentity, identify};
pub use plan::{
    Action, Lookup, Outcome, PLAN_VERSION, Plan, PlanEntry, PlanError, PlanTarget,
    RETIRE_PLAN_VERSION, Reason, owned_by_caller, plan,
};
pub use policy::{Mode, PolicyError, RetentionPolicy};
pub use revalidate::check_identities;
pub(crate) use sizes::only_unknown_usage;
pub use sizes::{PlanSizes, SizeTally, Tally, human_bytes};

use crate::catalog::{DynImageCatalog, InstanceQuery};
use crate::ext::ImageCatalogExt;
use crate::model::ImageId;
use crate::usage::UsageScan;

/// A fresh usage scan of a catalog (never cached), for every image or
/// filtered to one.
async fn usage_scan(catalog: &DynImageCatalog, image: Option<&ImageId>) -> UsageScan {
    let query = match image {
        Some(id) => InstanceQuery::new().image(id.clone()),
        None => InstanceQuery::new(),
    };
    catalog.usage_scan(query).await
}

#[cfg(test)]
mod exec_tests;
#[cfg(test)]
mod retire_tests;
#[cfg(test)]
mod tests;

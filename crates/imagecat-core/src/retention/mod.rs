//! Clean-up: a [`RetentionPolicy`] as data, a planner ([`plan()`]) that
//! lists each catalog once and returns a [`Plan`] (the single source of
//! truth, serde JSON), and an executor ([`apply`]) that deletes exactly the
//! plan's deletes, each re-checked right before it runs.
//!
//! Never deleted, whatever the policy, each with a [`Reason`]: protected
//! images, images not owned by the caller, images in use, images whose
//! usage is unknown (unless the policy allows it) and images already
//! deleted.

mod execute;
mod plan;
mod policy;

pub use execute::{ApplyOptions, ApplySummary, apply};
pub use plan::{
    Action, Outcome, PLAN_VERSION, Plan, PlanEntry, PlanError, PlanTarget, Reason, plan,
};
pub use policy::{PolicyError, RetentionPolicy};

use crate::catalog::DynImageCatalog;
use crate::model::ImageId;
use crate::usage::{UnknownReason, UsageScan};

/// A fresh usage scan of a catalog, for every image or one.
async fn usage_scan(_catalog: &DynImageCatalog, _image: Option<&ImageId>) -> UsageScan {
    UsageScan::unavailable(UnknownReason::NotSupported {
        message: "instance listing is not wired yet".into(),
    })
}

#[cfg(test)]
mod tests;

//! A retention policy as data: which images are candidates, how they are
//! grouped into families, and how many (and how young) are kept.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::duration::parse_age;
use crate::family::GroupBy;
use crate::model::ImageStatus;
use crate::query::ListQuery;

/// A retention policy: the list filters, the grouping, `keep` and
/// `older_than`. Serde, so it can live in a TOML or YAML file:
///
/// ```
/// use imagecat_core::retention::RetentionPolicy;
///
/// let policy: RetentionPolicy = serde_json::from_str(
///     r#"{"name": "web-*", "group_by": "regex:^(.+)-\\d{8}$", "keep": 2, "older_than": "30d"}"#,
/// ).unwrap();
/// policy.validate().unwrap();
/// assert_eq!(policy.statuses.len(), 2); // active and deactivated by default
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Only images whose name matches (exact, or a glob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only images of this owner. It is also who the caller is: an image is
    /// owned by the caller when its owner equals this (see
    /// [`PlanTarget::caller`](super::PlanTarget)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Only images having every one of these properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Only images in these statuses (default active and deactivated, so
    /// images being built are never candidates unless asked for).
    #[serde(default = "default_statuses")]
    pub statuses: Vec<ImageStatus>,
    /// How images are grouped into families (default: by exact name).
    #[serde(default)]
    pub group_by: GroupBy,
    /// The newest N of each family (by created time) are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
    /// Images younger than this age (`30d`, `12h`, `2w`) are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<String>,
    /// Delete images whose usage is unknown (default false: unknown is
    /// never unused).
    #[serde(default)]
    pub allow_unknown_usage: bool,
    /// Phase one of retire-then-delete: retire the selected images instead
    /// of deleting them (see [`crate::retire`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retire: bool,
    /// The backend's way to retire (`deactivate`, `hide`…; default: the
    /// backend's first). Only with `retire`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_method: Option<String>,
    /// Phase two: delete only images retired at least this long ago
    /// (`14d`), still retired, unused and not launched since; every other
    /// image is kept with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_retired_after: Option<String>,
}

/// What a policy does with the images it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Deletes them.
    Delete,
    /// Retires them (phase one).
    Retire,
    /// Deletes those retired at least this long ago (phase two).
    DeleteRetired(Duration),
}

fn default_statuses() -> Vec<ImageStatus> {
    vec![ImageStatus::Active, ImageStatus::Deactivated]
}

/// A policy that cannot be applied, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retention policy: {0}")]
pub struct PolicyError(String);

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            name: None,
            owner: None,
            properties: BTreeMap::new(),
            statuses: default_statuses(),
            group_by: GroupBy::Name,
            keep: None,
            older_than: None,
            allow_unknown_usage: false,
            retire: false,
            retire_method: None,
            delete_retired_after: None,
        }
    }
}

impl RetentionPolicy {
    /// Keeps the newest `n` of each family.
    pub fn keep(mut self, n: u32) -> Self {
        self.keep = Some(n);
        self
    }

    /// Keeps images younger than `age` (`30d`).
    pub fn older_than(mut self, age: impl Into<String>) -> Self {
        self.older_than = Some(age.into());
        self
    }

    /// Groups families this way.
    pub fn group_by(mut self, group: GroupBy) -> Self {
        self.group_by = group;
        self
    }

    /// Only images of this owner, who is also the caller.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Only images whose name matches (exact or glob).
    pub fn name(mut self, pattern: impl Into<String>) -> Self {
        self.name = Some(pattern.into());
        self
    }

    /// Also deletes images whose usage is unknown.
    pub fn allow_unknown_usage(mut self, yes: bool) -> Self {
        self.allow_unknown_usage = yes;
        self
    }

    /// Retires instead of deleting (phase one), by `method` (`None`: the
    /// backend's default).
    pub fn retire(mut self, method: Option<&str>) -> Self {
        self.retire = true;
        self.retire_method = method.map(str::to_owned);
        self
    }

    /// Deletes only images retired at least `age` ago (phase two).
    pub fn delete_retired_after(mut self, age: impl Into<String>) -> Self {
        self.delete_retired_after = Some(age.into());
        self
    }

    /// What the policy does with the images it selects.
    pub fn mode(&self) -> Result<Mode, PolicyError> {
        match (&self.delete_retired_after, self.retire) {
            (Some(_), true) => Err(PolicyError(
                "retire and delete_retired_after are the two phases: give one".into(),
            )),
            (Some(text), false) => {
                let age = parse_age(text).map_err(|e| PolicyError(e.to_string()))?;
                if Utc::now().checked_sub_signed(age).is_none() {
                    return Err(PolicyError(format!(
                        "delete_retired_after {text:?} reaches before the earliest representable date"
                    )));
                }
                Ok(Mode::DeleteRetired(age))
            }
            (None, true) => Ok(Mode::Retire),
            (None, false) if self.retire_method.is_some() => {
                Err(PolicyError("retire_method is only for retire".into()))
            }
            (None, false) => Ok(Mode::Delete),
        }
    }

    /// Checks the policy says something: `keep`, `older_than` or both
    /// (or `delete_retired_after`, which is a rule of its own);
    /// `keep 0` only with `older_than`; a readable age whose
    /// cutoff is a representable date; some status; one phase at most.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let age = self.age()?;
        self.cutoff(Utc::now())?;
        let phase_two = matches!(self.mode()?, Mode::DeleteRetired(_));
        match (self.keep, age) {
            _ if self.statuses.is_empty() => Err(PolicyError("no status selected".into())),
            (None | Some(0), None) if phase_two => Ok(()),
            (None, None) => Err(PolicyError(
                "give keep N, older_than AGE or both: nothing says what to keep".into(),
            )),
            (Some(0), None) => Err(PolicyError(
                "keep 0 deletes every image of a family: it needs older_than too".into(),
            )),
            _ => Ok(()),
        }
    }

    /// `older_than` as a duration.
    pub fn age(&self) -> Result<Option<Duration>, PolicyError> {
        self.older_than
            .as_deref()
            .map(|text| parse_age(text).map_err(|e| PolicyError(e.to_string())))
            .transpose()
    }

    /// The cutoff at `now`: images created after it are younger than
    /// `older_than`. An age that reaches before the earliest representable
    /// date is an error, never a dropped cutoff.
    pub fn cutoff(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, PolicyError> {
        let Some(age) = self.age()? else {
            return Ok(None);
        };
        now.checked_sub_signed(age).map(Some).ok_or_else(|| {
            PolicyError(format!(
                "older_than {:?} reaches before the earliest representable date",
                self.older_than.as_deref().unwrap_or_default()
            ))
        })
    }

    /// The listing the planner runs: the filters of the policy.
    pub fn query(&self) -> ListQuery {
        let mut query = ListQuery::new();
        if let Some(name) = &self.name {
            query = query.name(name);
        }
        if let Some(owner) = &self.owner {
            query = query.owner(owner.clone());
        }
        for (key, value) in &self.properties {
            query = query.property(key.clone(), value.clone());
        }
        query.statuses.clone_from(&self.statuses);
        // Retired images a backend hides (EC2 disabled AMIs) are listed in
        // both retire phases.
        query.include_retired = self.retire || self.delete_retired_after.is_some();
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let p = RetentionPolicy::default();
        assert_eq!(p.statuses, default_statuses());
        assert!(p.validate().is_err(), "neither keep nor older_than");
        assert!(p.clone().keep(0).validate().is_err());
        assert!(p.clone().keep(0).older_than("30d").validate().is_ok());
        assert!(p.clone().keep(2).validate().is_ok());
        let e = p.clone().older_than("soon").validate().unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
        assert_eq!(p.older_than("2w").age().unwrap(), Some(Duration::weeks(2)));
    }

    #[test]
    fn an_age_past_the_earliest_date_or_a_negative_value_is_refused() {
        // 200,000 weeks parse (3,835 years) and have a cutoff; 20 million
        // weeks parse too, but reach before the earliest representable
        // date: an error, never a dropped cutoff that would keep nothing young.
        let p = RetentionPolicy::default().keep(1);
        assert!(p.clone().older_than("200000w").validate().is_ok());
        let far = p.clone().older_than("20000000w");
        assert!(far.age().unwrap().is_some());
        let e = far.validate().unwrap_err();
        assert!(e.to_string().contains("earliest representable"), "{e}");
        let e = far.cutoff(Utc::now()).unwrap_err();
        assert!(e.to_string().contains("20000000w"), "{e}");
        // Negative and overflowing values never parse.
        assert!(p.clone().older_than("-1d").validate().is_err());
        assert!(p.older_than("9223372036854775807w").validate().is_err());
        assert!(serde_json::from_str::<RetentionPolicy>(r#"{"keep": -1}"#).is_err());
    }

    #[test]
    fn json_round_trip_and_unknown_fields_refused() {
        let p = RetentionPolicy::default()
            .keep(3)
            .group_by("property:os_distro".parse().unwrap())
            .owner("p1");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RetentionPolicy>(&json).unwrap(), p);
        assert!(serde_json::from_str::<RetentionPolicy>(r#"{"kepp": 2}"#).is_err());
    }

    #[test]
    fn the_query_carries_the_filters() {
        let mut p = RetentionPolicy::default().name("web-*").owner("p1");
        p.properties.insert("role".into(), "web".into());
        let q = p.query();
        assert_eq!(q.name.as_ref().map(|n| n.as_str()), Some("web-*"));
        assert_eq!(q.owner.as_deref(), Some("p1"));
        assert_eq!(q.properties.get("role").map(String::as_str), Some("web"));
        assert_eq!(q.statuses, default_statuses());
    }
}

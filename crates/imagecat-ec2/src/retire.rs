//! Retire on EC2: `disable` (the default) or `deprecate`, the retired-at
//! time in the tag `imagecat:retired-at`; restore undoes the method in
//! effect and removes the tag.
//!
//! | method | retire sends | launches | restore sends |
//! |---|---|---|---|
//! | `disable` | `CreateTags`, then `DisableImage` (state `disabled`; every launch permission removed) | refused to everyone | `EnableImage`, then `DeleteTags` |
//! | `deprecate` | `CreateTags`, then `EnableImageDeprecation DeprecateAt=` the stamp rounded up to the next minute, at least 10 s ahead (EC2 refuses a time in the past) | still allowed by id; hidden from other accounts' listings | `DisableImageDeprecation`, then `DeleteTags` |
//!
//! Who may: the AMI's owner only (EC2 answers `AuthFailure` or
//! `InvalidAMIID.Unavailable` to anyone else), with the IAM actions
//! `ec2:CreateTags` and `ec2:DisableImage` / `ec2:EnableImageDeprecation`
//! to retire, `ec2:EnableImage` / `ec2:DisableImageDeprecation` and
//! `ec2:DeleteTags` to restore.
//!
//! Last launched: DescribeImages' own `lastLaunchedTime` (the same field as
//! `DescribeImageAttribute Attribute=lastLaunchedTime`; AWS updates it up
//! to 24 hours late), decoded into the property `lastLaunchedTime` by the
//! listing and by `get`, so phase two and its re-check read it with no
//! extra call.
//!
//! Disabled AMIs are hidden from DescribeImages unless `IncludeDisabled`:
//! `get` always asks for them; `prune`'s default statuses (active and
//! deactivated) send `IncludeDisabled=true` ([`crate::query`]); `list
//! --retired` sets [`ListQuery::include_retired`](imagecat_core::ListQuery),
//! which sends it too.
//!
//! Restore undoes only what a retire did: `EnableImage` when the AMI is
//! disabled; `DisableImageDeprecation` when its `deprecationTime` is the
//! one a deprecate retire set (within [`DEPRECATE_WINDOW`] after the
//! stamp), so a deprecation scheduled by someone else is left alone.

use chrono::{DateTime, Duration, DurationRound, Utc};
use imagecat_core::raw::PageSource as _;
use imagecat_core::retire::{
    Blocks, InEffect, RetireMethod, RetireRequest, RetireStamp, RetireSupport, StampFormat,
};
use imagecat_core::{Error, ErrorKind, Image, ImageId, ImageStatus, Result};
use imagecat_http::{HttpResponse, Idempotency};

use crate::config::{BACKEND, validate_image_id};
use crate::protocol::{EC2_VERSION, Form};
use crate::source::Ec2Source;
use crate::wire::xml;

/// The tag holding the retired-at time (RFC 3339, UTC).
pub const RETIRED_AT_TAG: &str = "imagecat:retired-at";

/// The same tag as the image's property (`tag:KEY`, see [`crate::wire`]).
pub const RETIRED_AT: &str = "tag:imagecat:retired-at";

/// The property holding when the AMI was last launched.
pub const LAST_LAUNCHED: &str = "lastLaunchedTime";

/// The property holding the AMI's deprecation time.
pub const DEPRECATION_TIME: &str = "deprecationTime";

/// How long after the stamp a deprecate retire's `deprecationTime` lies at
/// most (at least 10 s ahead, rounded up to the minute).
pub const DEPRECATE_WINDOW: Duration = Duration::seconds(70);

/// What retiring means on EC2.
pub(crate) const SUPPORT: RetireSupport = RetireSupport::new(
    &[
        RetireMethod::new(
            "disable",
            "CreateTags imagecat:retired-at, then DisableImage (state disabled, launch permissions removed)",
            Blocks::Everyone,
            "the AMI's owner, with IAM ec2:CreateTags and ec2:DisableImage",
            "EnableImage (shares removed by the disable are not given back), then DeleteTags imagecat:retired-at",
            InEffect::Deactivated,
        ),
        RetireMethod::new(
            "deprecate",
            "CreateTags imagecat:retired-at, then EnableImageDeprecation at the next minute (hidden from other accounts' listings)",
            Blocks::No,
            "the AMI's owner, with IAM ec2:CreateTags and ec2:EnableImageDeprecation",
            "DisableImageDeprecation, then DeleteTags imagecat:retired-at",
            InEffect::Since {
                key: DEPRECATION_TIME,
            },
        ),
    ],
    RetireStamp::new(RETIRED_AT, StampFormat::Rfc3339),
)
.last_launched(LAST_LAUNCHED);

/// The `DeprecateAt` of a deprecate retire stamped at `stamped`: at least
/// 10 s ahead, rounded up to the whole minute (EC2 rounds to the minute and
/// refuses a time in the past).
pub fn deprecate_at(stamped: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = stamped + Duration::seconds(10);
    let minute = Duration::minutes(1);
    let floor = ahead.duration_trunc(minute).unwrap_or(ahead);
    if floor == ahead {
        floor
    } else {
        floor + minute
    }
}

/// Stamps the retired-at tag, then disables or deprecates.
pub(crate) async fn retire(
    source: &Ec2Source,
    id: &ImageId,
    request: &RetireRequest,
) -> Result<()> {
    let id = validate_image_id(id)?;
    let value = SUPPORT.stamp.write(request.at);
    let mut form = Form::new("CreateTags", EC2_VERSION);
    form.param("ResourceId.1", id.as_str())
        .param("Tag.1.Key", RETIRED_AT_TAG)
        .param("Tag.1.Value", value.as_str());
    send(source, "stamp retired image", &form).await?;
    match request.method.name {
        "disable" => action(source, "DisableImage", &id, None).await,
        "deprecate" => {
            let stamped = SUPPORT.stamp.read(&value).unwrap_or(request.at);
            let at = deprecate_at(stamped).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            action(source, "EnableImageDeprecation", &id, Some(&at)).await
        }
        other => Err(Error::invalid_input(
            BACKEND,
            format!("{BACKEND} cannot retire by {other:?}: its ways are disable, deprecate"),
        )),
    }
}

/// Whether the AMI's deprecation is the one a deprecate retire set: its
/// `deprecationTime` within [`DEPRECATE_WINDOW`] after the stamp.
pub fn deprecated_by_retire(image: &Image) -> bool {
    let time = |key: &str| {
        image
            .properties
            .get(key)
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match (time(RETIRED_AT), time(DEPRECATION_TIME)) {
        (Some(stamped), Some(deprecated)) => {
            deprecated >= stamped && deprecated - stamped <= DEPRECATE_WINDOW
        }
        _ => false,
    }
}

/// Enables a disabled AMI, undoes a retire's deprecation, then removes the
/// tag (each only when needed).
pub(crate) async fn restore(source: &Ec2Source, id: &ImageId) -> Result<()> {
    let id = validate_image_id(id)?;
    let image = source.get(&id).await?;
    if image.status == ImageStatus::Deactivated {
        action(source, "EnableImage", &id, None).await?;
    }
    if deprecated_by_retire(&image) {
        action(source, "DisableImageDeprecation", &id, None).await?;
    }
    if image.properties.contains_key(RETIRED_AT) {
        let mut form = Form::new("DeleteTags", EC2_VERSION);
        form.param("ResourceId.1", id.as_str())
            .param("Tag.1.Key", RETIRED_AT_TAG);
        send(source, "unstamp restored image", &form).await?;
    }
    Ok(())
}

/// One `ImageId=` action (with `DeprecateAt=` where given) answering
/// `<return>true</return>`. Each is idempotent on EC2 (disabling a
/// disabled AMI, or enabling an enabled one, succeeds), so a retry is safe.
async fn action(source: &Ec2Source, name: &str, id: &ImageId, at: Option<&str>) -> Result<()> {
    let mut form = Form::new(name, EC2_VERSION);
    form.param("ImageId", id.as_str());
    if let Some(at) = at {
        form.param("DeprecateAt", at);
    }
    send(source, name, &form).await
}

/// Sends a form whose success is `<…Response><return>true</return>`.
async fn send(source: &Ec2Source, what: &str, form: &Form) -> Result<()> {
    let action = form
        .params()
        .first()
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    source
        .call(what, Idempotency::Idempotent, form, |response| {
            returned_true(response, &action)
        })
        .await
}

/// Reads `<{action}Response><return>true</return>`; anything else is an
/// error (`false` an `Api` error, another document `InvalidResponse`).
/// `CreateTags` and `DeleteTags` have no output in AWS's API model (the
/// SDKs read nothing; moto sends no `<return>`): for them the response
/// document alone is success, and a `<return>` other than `true` still an
/// error.
pub(crate) fn returned_true(response: &HttpResponse, action: &str) -> Result<()> {
    let invalid = |message: String| response.invalid(format!("{action}: {message}"));
    let root = xml::parse(&response.body).map_err(|e| invalid(e.to_string()))?;
    let expected = format!("{action}Response");
    if root.name != expected {
        return Err(invalid(format!(
            "expected <{expected}>, got <{}>",
            root.name
        )));
    }
    match root.text_of("return").map_err(|e| invalid(e.to_string()))? {
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(()),
        Some(text) => Err(Error::new(
            ErrorKind::Api,
            format!("{action} answered <return>{text}</return>"),
        )
        .with_backend(BACKEND)
        .with_status(response.status.as_u16())),
        None if matches!(action, "CreateTags" | "DeleteTags") => Ok(()),
        None => Err(invalid("no <return>".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn deprecate_at_is_ahead_and_on_the_minute() {
        assert_eq!(
            deprecate_at(at("2026-12-07T15:00:00Z")),
            at("2026-12-07T15:01:00Z")
        );
        assert_eq!(
            deprecate_at(at("2026-12-07T15:00:50Z")),
            at("2026-12-07T15:01:00Z")
        );
        assert_eq!(
            deprecate_at(at("2026-12-07T15:00:51Z")),
            at("2026-12-07T15:02:00Z")
        );
        for s in 0..120 {
            let t = at("2026-12-07T15:00:00Z") + Duration::seconds(s);
            let d = deprecate_at(t);
            assert!(d - t >= Duration::seconds(10) && d - t <= DEPRECATE_WINDOW);
        }
    }

    #[test]
    fn only_a_retires_deprecation_is_undone() {
        let mut image = Image::new("ami-12345678", BACKEND, ImageStatus::Active, "available");
        assert!(!deprecated_by_retire(&image));
        image.properties.insert(RETIRED_AT, "2026-12-07T15:00:30Z");
        image
            .properties
            .insert(DEPRECATION_TIME, "2026-12-07T15:01:00Z");
        assert!(deprecated_by_retire(&image));
        // Scheduled by someone else: a year later, or before the retire.
        image
            .properties
            .insert(DEPRECATION_TIME, "2027-12-07T15:01:00Z");
        assert!(!deprecated_by_retire(&image));
        image
            .properties
            .insert(DEPRECATION_TIME, "2026-12-01T00:00:00Z");
        assert!(!deprecated_by_retire(&image));
    }

    #[test]
    fn return_answers() {
        let ok = |body: &str| {
            returned_true(
                &HttpResponse::from_body(BACKEND, 200, body.to_owned()),
                "DisableImage",
            )
        };
        ok("<DisableImageResponse xmlns=\"x\"><requestId>r</requestId><return>true</return></DisableImageResponse>").unwrap();
        assert_eq!(
            ok("<DisableImageResponse><return>false</return></DisableImageResponse>")
                .unwrap_err()
                .kind(),
            ErrorKind::Api
        );
        assert_eq!(
            ok("<EnableImageResponse><return>true</return></EnableImageResponse>")
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidResponse
        );
        assert_eq!(
            ok("<html/>").unwrap_err().kind(),
            ErrorKind::InvalidResponse
        );
    }
}

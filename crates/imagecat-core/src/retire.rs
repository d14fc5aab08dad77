//! Retire before delete: a reversible first phase of clean-up.
//!
//! Where a backend can make an image unusable and undo it (Glance
//! deactivate, EC2 disable or deprecate, GCE deprecate to `OBSOLETE`), its
//! [`Capabilities::retire`](crate::Capabilities) says, as data, what
//! retiring does there ([`RetireSupport`]): the ways to retire (the default
//! first), whether each blocks new launches, who may do it, how it is
//! undone, and where the retired-at time is kept on the image
//! ([`RetireStamp`]). Backends without it answer
//! [`ErrorKind::NotSupported`](crate::ErrorKind) naming themselves.
//!
//! The adapter hooks are [`PageSource::retire`](crate::raw::PageSource)
//! and `restore`; [`retirement`] reads an image's retired state back from
//! the image itself, the same way on every backend.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::Capabilities;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{BackendKind, Image, ImageId, ImageStatus};

/// What retiring an image means on a backend, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetireSupport {
    /// The ways to retire; the first is the default.
    pub methods: &'static [RetireMethod],
    /// Where the retired-at time is kept on the image.
    pub stamp: RetireStamp,
    /// The property (as the adapter maps it into [`Image::properties`],
    /// RFC 3339) holding when the image was last launched, where the
    /// backend tells it (EC2 `lastLaunchedTime`); `None`: it does not.
    pub last_launched: Option<&'static str>,
    /// Whether a retired image can name its replacement (GCE
    /// `deprecated.replacement`); the planner then points each retired
    /// image of a family to the family's newest.
    pub replacement: bool,
}

impl RetireSupport {
    /// Retire support with these methods (the default first) and stamp.
    pub const fn new(methods: &'static [RetireMethod], stamp: RetireStamp) -> Self {
        RetireSupport {
            methods,
            stamp,
            last_launched: None,
            replacement: false,
        }
    }

    /// Sets the last-launched property (builder style).
    pub const fn last_launched(mut self, key: &'static str) -> Self {
        self.last_launched = Some(key);
        self
    }

    /// Sets whether retired images name a replacement (builder style).
    pub const fn replacement(mut self, yes: bool) -> Self {
        self.replacement = yes;
        self
    }

    /// The method called `name`, or the default one for `None`; an
    /// unknown name is `InvalidInput` naming the backend and its methods.
    pub fn method(
        &self,
        backend: BackendKind,
        name: Option<&str>,
    ) -> Result<&'static RetireMethod> {
        let methods = self.methods;
        let found = match name {
            None => methods.first(),
            Some(n) => methods
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(n.trim())),
        };
        found.ok_or_else(|| {
            let known: Vec<&str> = methods.iter().map(|m| m.name).collect();
            Error::invalid_input(
                backend,
                format!(
                    "{backend} cannot retire by {:?}: its ways are {}",
                    name.unwrap_or(""),
                    known.join(", ")
                ),
            )
        })
    }
}

/// One way to retire an image on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetireMethod {
    /// Its name, as the CLI and the policy spell it (`deactivate`).
    pub name: &'static str,
    /// What it does, in one line (the requests it sends).
    pub does: &'static str,
    /// Whether it blocks new launches.
    pub blocks_launches: Blocks,
    /// Who may do it (the server's default policy).
    pub who: &'static str,
    /// How it is undone (what `restore` sends).
    pub undo: &'static str,
    /// How a retired image shows it (checked before a retired image is
    /// deleted: an image whose retire was undone by hand is kept).
    pub in_effect: InEffect,
}

impl RetireMethod {
    /// A way to retire: name, what it does, whether it blocks launches,
    /// who may do it, how it is undone and how it shows.
    pub const fn new(
        name: &'static str,
        does: &'static str,
        blocks_launches: Blocks,
        who: &'static str,
        undo: &'static str,
        in_effect: InEffect,
    ) -> Self {
        RetireMethod {
            name,
            does,
            blocks_launches,
            who,
            undo,
            in_effect,
        }
    }
}

/// Whether a retired image can still be launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Blocks {
    /// Nobody can launch it.
    Everyone,
    /// Nobody but an administrator can launch it (Glance deactivate).
    AllButAdmins,
    /// It can still be launched by id; it is only hidden or marked.
    No,
}

/// How a retired image shows that its retire is in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "by")]
#[non_exhaustive]
pub enum InEffect {
    /// Its unified status is [`ImageStatus::Deactivated`].
    Deactivated,
    /// This property has this value.
    Property {
        /// The property key.
        key: &'static str,
        /// Its value while retired.
        value: &'static str,
    },
    /// This property holds an RFC 3339 time that has come (EC2
    /// `deprecationTime`: a deprecation scheduled later is not in effect
    /// yet).
    Since {
        /// The property key.
        key: &'static str,
    },
}

impl InEffect {
    fn holds(self, image: &Image) -> bool {
        match self {
            InEffect::Deactivated => image.status == ImageStatus::Deactivated,
            InEffect::Property { key, value } => image.properties.get(key) == Some(value),
            InEffect::Since { key } => image
                .properties
                .get(key)
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .is_some_and(|t| t <= Utc::now()),
        }
    }
}

/// Where the retired-at time is kept on the image: a property, tag or
/// label the adapter maps into [`Image::properties`] under `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetireStamp {
    /// The key (`imagecat_retired_at`).
    pub key: &'static str,
    /// How the time is written.
    pub format: StampFormat,
}

impl RetireStamp {
    /// A stamp under `key` in `format`.
    pub const fn new(key: &'static str, format: StampFormat) -> Self {
        RetireStamp { key, format }
    }

    /// The stamp's value for a time.
    pub fn write(&self, at: DateTime<Utc>) -> String {
        match self.format {
            StampFormat::Rfc3339 => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            StampFormat::UnixSeconds => at.timestamp().to_string(),
        }
    }

    /// The time of a stamp's value; `None` when it cannot be read.
    pub fn read(&self, text: &str) -> Option<DateTime<Utc>> {
        match self.format {
            StampFormat::Rfc3339 => DateTime::parse_from_rfc3339(text.trim())
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            StampFormat::UnixSeconds => text
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0)),
        }
    }
}

/// How a retired-at time is written on the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StampFormat {
    /// RFC 3339 in UTC, whole seconds (`2026-12-07T14:00:00Z`): Glance
    /// properties, EC2 tags.
    Rfc3339,
    /// Seconds since the epoch (`1796652000`): GCE labels, whose values
    /// allow only lower-case letters, digits, `-` and `_`.
    UnixSeconds,
}

/// What a retire asks of the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetireRequest {
    /// The method (one of the backend's [`RetireSupport::methods`]).
    pub method: &'static RetireMethod,
    /// The retired-at time to stamp on the image.
    pub at: DateTime<Utc>,
    /// The image that replaces it, where the backend records one.
    pub replacement: Option<ImageId>,
}

impl RetireRequest {
    /// A retire by `method` at `at`.
    pub fn new(method: &'static RetireMethod, at: DateTime<Utc>) -> Self {
        RetireRequest {
            method,
            at,
            replacement: None,
        }
    }

    /// Sets the replacement (builder style).
    pub fn replacement(mut self, id: Option<ImageId>) -> Self {
        self.replacement = id;
        self
    }
}

/// An image's retired state, as read from the image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retirement {
    /// The backend cannot retire images.
    NotSupported,
    /// It carries no retired-at stamp.
    NotRetired,
    /// It carries a stamp that cannot be read.
    Unreadable(String),
    /// Retired at `at`; `in_effect` says whether one of the backend's
    /// retire methods still shows (false: undone by hand since).
    Retired {
        /// The stamped time.
        at: DateTime<Utc>,
        /// Whether the retire still holds.
        in_effect: bool,
    },
}

impl Retirement {
    /// The retired-at time, when retired.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            Retirement::Retired { at, .. } => Some(*at),
            _ => None,
        }
    }
}

/// An image's retired state on a catalog with these capabilities.
pub fn retirement(capabilities: &Capabilities, image: &Image) -> Retirement {
    let Some(support) = capabilities.retire else {
        return Retirement::NotSupported;
    };
    let Some(text) = image.properties.get(support.stamp.key) else {
        return Retirement::NotRetired;
    };
    match support.stamp.read(text) {
        None => Retirement::Unreadable(text.to_owned()),
        Some(at) => Retirement::Retired {
            at,
            in_effect: support.methods.iter().any(|m| m.in_effect.holds(image)),
        },
    }
}

/// When the image was last launched, where the backend tells it:
/// `Ok(None)` when it does not say (or never launched it); an error text
/// when the value cannot be read.
pub fn last_launched(
    capabilities: &Capabilities,
    image: &Image,
) -> std::result::Result<Option<DateTime<Utc>>, String> {
    let Some(key) = capabilities.retire.and_then(|r| r.last_launched) else {
        return Ok(None);
    };
    match image.properties.get(key) {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{key} {text:?} is not a time")),
    }
}

/// The error of a backend that cannot retire images.
pub fn not_supported(backend: BackendKind) -> Error {
    Error::new(
        ErrorKind::NotSupported,
        format!("{backend} cannot retire images: its API has no reversible way to make an image unusable"),
    )
    .with_backend(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::PagingStyle;
    use crate::sample_image;

    const METHODS: &[RetireMethod] = &[RetireMethod::new(
        "deactivate",
        "status deactivated",
        Blocks::AllButAdmins,
        "admin or member",
        "reactivate",
        InEffect::Deactivated,
    )];

    #[test]
    fn the_state_is_read_from_the_stamp_and_the_status() {
        let caps = Capabilities::new(PagingStyle::Marker, 10, 10);
        let mut image = sample_image(1);
        assert_eq!(retirement(&caps, &image), Retirement::NotSupported);
        let caps = caps.retire(Some(RetireSupport::new(
            METHODS,
            RetireStamp::new("retired_at", StampFormat::Rfc3339),
        )));
        assert_eq!(retirement(&caps, &image), Retirement::NotRetired);
        image
            .properties
            .insert("retired_at", "2026-12-01T10:00:00Z");
        let at = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(
            retirement(&caps, &image),
            Retirement::Retired {
                at,
                in_effect: false
            }
        );
        image.status = ImageStatus::Deactivated;
        assert_eq!(
            retirement(&caps, &image),
            Retirement::Retired {
                at,
                in_effect: true
            }
        );
        image.properties.insert("retired_at", "last week");
        assert_eq!(
            retirement(&caps, &image),
            Retirement::Unreadable("last week".into())
        );
    }

    #[test]
    fn a_time_in_effect_holds_once_it_has_come() {
        let since = InEffect::Since { key: "deprecated" };
        let mut image = sample_image(1);
        assert!(!since.holds(&image), "no time");
        let past = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        image.properties.insert("deprecated", past);
        assert!(since.holds(&image));
        let later = (Utc::now() + chrono::Duration::days(30)).to_rfc3339();
        image.properties.insert("deprecated", later);
        assert!(!since.holds(&image), "scheduled, not yet");
        image.properties.insert("deprecated", "soon");
        assert!(!since.holds(&image), "not a time");
    }

    #[test]
    fn stamps_round_trip_in_both_formats_and_methods_are_named() {
        let at: DateTime<Utc> = "2026-12-07T14:00:00Z".parse().unwrap();
        for format in [StampFormat::Rfc3339, StampFormat::UnixSeconds] {
            let stamp = RetireStamp::new("k", format);
            assert_eq!(stamp.read(&stamp.write(at)), Some(at));
        }
        assert_eq!(
            RetireStamp::new("k", StampFormat::UnixSeconds).write(at),
            "1796652000"
        );
        let support = RetireSupport::new(METHODS, RetireStamp::new("k", StampFormat::Rfc3339));
        let b = BackendKind::Memory;
        assert_eq!(support.method(b, None).unwrap().name, "deactivate");
        assert_eq!(
            support.method(b, Some("Deactivate")).unwrap().name,
            "deactivate"
        );
        let e = support.method(b, Some("hide")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains("memory") && e.to_string().contains("deactivate"),
            "{e}"
        );
    }
}

//! Usage on EC2: every user of an AMI in the caller's account and region,
//! listed as [`InstanceRef`]s through [`PageSource::instance_page`](imagecat_core::raw::PageSource::instance_page), so the
//! core's engine (tokens, de-duplication, the scan rules of
//! `paging/walk.rs`) judges the walk like any other backend's.
//!
//! The listing goes through phases, one after the other; its page token is
//! a [`PageToken::Link`] `PHASE` (the phase's first page) or
//! `PHASE:NEXTTOKEN` (the server's own token of that phase):
//!
//! 1. `instances`: `DescribeInstances MaxResults=5…1000`, reservations
//!    flattened, every state but `terminated` ([`FoundVia::ImageField`]);
//! 2. `templates`: a `DescribeLaunchTemplates` page, and for each template
//!    *every* version (`DescribeLaunchTemplateVersions LaunchTemplateId=…`,
//!    paged to its end inside the page), each version that names an image
//!    as `lt-… version N` ([`FoundVia::LaunchTemplate`]); a
//!    `resolve:ssm:` image resolved through SSM (`ssm.rs`,
//!    [`FoundVia::Parameter`]) or unresolved;
//! 3. `configurations`: Auto Scaling `DescribeLaunchConfigurations`
//!    ([`FoundVia::LaunchConfiguration`]);
//! 4. `groups`: Auto Scaling `DescribeAutoScalingGroups`, the images of
//!    mixed instances policy overrides ([`FoundVia::InstanceGroup`]; a
//!    group's launch configuration or template is covered by 2 and 3);
//! 5. `references`: `DescribeImageReferences` for the scanned image (or,
//!    in a scan of every image, for the catalog's own AMIs ten at a time)
//!    ([`FoundVia::ServerReference`]), asked only for what the phases
//!    above do not cover: SSM parameters and Image Builder recipes. A
//!    server without the call (`references.rs`) ends the phase without
//!    failing the scan.
//!
//! Every page says [`UsageScope::OwnTenant`]: the calls see the caller's
//! account only, so an AMI other accounts can launch stays unknown.
//!
//! Paging needs no overlapping reads: every phase pages by the server's
//! `NextToken`, a cursor into the server's own listing (a keyset to the
//! engine, as `paging/walk.rs` says), not an offset that a launch or a
//! termination could shift.
//!
//! Launch templates are paged with `MaxResults` and `NextToken`
//! explicitly, and a server that truncates silently (moto answers at most
//! `MaxResults` templates or versions, default 15, and never a token) is
//! caught: a full page without a token is asked again with the largest
//! `MaxResults` (200), and if that page is full too the scan fails
//! (unknown) rather than trust it; a template whose versions do not
//! include its default and latest version numbers fails it too.

pub(crate) mod references;
pub(crate) mod ssm;
pub(crate) mod wire;

use imagecat_core::raw::{Page, PageToken};
use imagecat_core::usage::{BootSource, FoundVia, InstanceRef, UsageScope};
use imagecat_core::{Error, InstanceQuery, Result};
use imagecat_http::{HttpResponse, Idempotency};

use crate::config::{BACKEND, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use crate::error;
use crate::protocol::{self, CONTENT_TYPE as FORM_CONTENT_TYPE, Form};
use crate::source::{Call, Ec2Source};
use wire::Listed;

/// The largest `MaxResults` of the launch-template calls (EC2 refuses
/// more).
pub const MAX_TEMPLATE_RESULTS: u32 = 200;
/// The largest `MaxRecords` of the Auto Scaling calls.
pub const MAX_AUTOSCALING_RECORDS: u32 = 100;

/// The phases of the usage listing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Instances,
    Templates,
    Configurations,
    Groups,
    References,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Instances,
        Phase::Templates,
        Phase::Configurations,
        Phase::Groups,
        Phase::References,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Instances => "instances",
            Phase::Templates => "templates",
            Phase::Configurations => "configurations",
            Phase::Groups => "groups",
            Phase::References => "references",
        }
    }

    fn after(self) -> Option<Phase> {
        let at = Phase::ALL.iter().position(|p| *p == self)?;
        Phase::ALL.get(at + 1).copied()
    }
}

/// Where a page starts: a phase and the server's token within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) phase: Phase,
    pub(crate) next: Option<String>,
}

impl Cursor {
    /// The cursor of a page token (none: the first page of the first
    /// phase).
    pub(crate) fn parse(token: Option<&PageToken>) -> Result<Cursor> {
        let text = match token {
            None => {
                return Ok(Cursor {
                    phase: Phase::Instances,
                    next: None,
                });
            }
            Some(PageToken::Link(text)) => text,
            Some(other) => {
                return Err(Error::invalid_input(
                    BACKEND,
                    format!("EC2's usage listing pages by its own tokens; {other} is not one"),
                ));
            }
        };
        let (name, next) = match text.split_once(':') {
            Some((name, next)) => (name, Some(next.to_owned()).filter(|n| !n.is_empty())),
            None => (text.as_str(), None),
        };
        let phase = Phase::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                Error::invalid_input(
                    BACKEND,
                    format!("not a token of EC2's usage listing: {text:?}"),
                )
            })?;
        Ok(Cursor { phase, next })
    }

    /// The page token of this cursor.
    pub(crate) fn token(&self) -> PageToken {
        PageToken::Link(match &self.next {
            Some(next) => format!("{}:{next}", self.phase.name()),
            None => self.phase.name().to_owned(),
        })
    }

    /// The cursor after a page of this phase that answered `next`: the
    /// same phase on, the next phase's start, or the end.
    fn then(&self, next: Option<String>) -> Option<Cursor> {
        match next {
            Some(next) => Some(Cursor {
                phase: self.phase,
                next: Some(next),
            }),
            None => self.phase.after().map(|phase| Cursor { phase, next: None }),
        }
    }
}

/// One page of the usage listing (see the module docs).
pub(crate) async fn instance_page(
    source: &Ec2Source,
    query: &InstanceQuery,
    token: Option<PageToken>,
) -> Result<Page<InstanceRef>> {
    let cursor = Cursor::parse(token.as_ref())?;
    let size = query.page_size.unwrap_or(MAX_PAGE_SIZE);
    let next = cursor.next.clone();
    let Listed { items, next } = match cursor.phase {
        Phase::Instances => instances(source, size, next).await?,
        Phase::Templates => templates(source, size, next).await?,
        Phase::Configurations => configurations(source, size, next).await?,
        Phase::Groups => groups(source, size, next).await?,
        Phase::References => references::page(source, query, size, next).await?,
    };
    let next = cursor.then(next).map(|c| c.token());
    Ok(Page::new(items, next).with_scope(UsageScope::OwnTenant))
}

/// Sends a Query-protocol form to `service` (`ec2` or `autoscaling`) and
/// decodes a success with `decode`; a failure is the service's error
/// document.
pub(crate) async fn query<T>(
    source: &Ec2Source,
    what: &str,
    service: &'static str,
    form: &Form,
    decode: impl Fn(&[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let call = Call {
        service,
        target: None,
        content_type: FORM_CONTENT_TYPE,
        body: form.encode(),
    };
    source
        .send_to(
            what,
            Idempotency::Idempotent,
            &call,
            |response: &HttpResponse, key_id| {
                if !response.status.is_success() {
                    return Err(error::decode_error(response, Some(key_id)));
                }
                decode(&response.body).map_err(|e| response.invalid(format!("{what}: {e}")))
            },
        )
        .await
}

fn paged(form: &mut Form, max_key: &str, max: u32, next: Option<&str>) {
    form.param(max_key, max.to_string());
    if let Some(next) = next {
        form.param("NextToken", next);
    }
}

async fn instances(
    source: &Ec2Source,
    size: u32,
    next: Option<String>,
) -> Result<Listed<InstanceRef>> {
    let mut form = Form::new("DescribeInstances", protocol::EC2_VERSION);
    let max = size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE);
    paged(&mut form, "MaxResults", max, next.as_deref());
    query(source, "list instances", "ec2", &form, wire::instances).await
}

/// Whether a launch-template answer of `len` items for `MaxResults=max`
/// without a token may have been cut: a full page without a token.
fn maybe_cut(len: usize, max: u32, next: &Option<String>) -> bool {
    next.is_none() && len >= max as usize
}

/// A launch-template call, paged explicitly and checked for silent
/// truncation: a full page without a token is asked again with
/// [`MAX_TEMPLATE_RESULTS`]; full again, the scan fails.
async fn template_call<T>(
    source: &Ec2Source,
    what: &str,
    form: &Form,
    size: u32,
    next: Option<&str>,
    decode: fn(&[u8]) -> std::result::Result<Listed<T>, String>,
) -> Result<Listed<T>> {
    let mut max = size.clamp(1, MAX_TEMPLATE_RESULTS);
    loop {
        let mut asked = form.clone();
        paged(&mut asked, "MaxResults", max, next);
        let page = query(source, what, "ec2", &asked, decode).await?;
        if !maybe_cut(page.items.len(), max, &page.next) {
            return Ok(page);
        }
        if max == MAX_TEMPLATE_RESULTS {
            return Err(Error::invalid_response(
                BACKEND,
                None,
                None,
                format!(
                    "{what}: a full page of {max} without a next token: the server may have \
                     cut the answer silently, so the listing cannot be proved complete"
                ),
                "",
            ));
        }
        max = MAX_TEMPLATE_RESULTS;
    }
}

async fn templates(
    source: &Ec2Source,
    size: u32,
    next: Option<String>,
) -> Result<Listed<InstanceRef>> {
    let form = Form::new("DescribeLaunchTemplates", protocol::EC2_VERSION);
    let page = template_call(
        source,
        "list launch templates",
        &form,
        size,
        next.as_deref(),
        wire::templates,
    )
    .await?;
    let mut resolver = ssm::Resolver::default();
    let mut items = Vec::new();
    for template in &page.items {
        for version in template_versions(source, template, size).await? {
            if let Some(user) = version_user(source, template, version, &mut resolver).await {
                items.push(user);
            }
        }
    }
    Ok(Listed {
        items,
        next: page.next,
    })
}

/// Every version of one template, paged to its end, checked to hold the
/// template's default and latest version.
async fn template_versions(
    source: &Ec2Source,
    template: &wire::Template,
    size: u32,
) -> Result<Vec<wire::Version>> {
    let mut form = Form::new("DescribeLaunchTemplateVersions", protocol::EC2_VERSION);
    form.param("LaunchTemplateId", &template.id);
    let what = format!("list the versions of launch template {}", template.id);
    let mut versions: Vec<wire::Version> = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page =
            template_call(source, &what, &form, size, next.as_deref(), wire::versions).await?;
        if let Some(other) = page.items.iter().find(|v| v.template != template.id) {
            return Err(Error::invalid_response(
                BACKEND,
                None,
                None,
                format!("{what}: the answer holds a version of {}", other.template),
                "",
            ));
        }
        versions.extend(page.items);
        match page.next {
            Some(token) if next.as_deref() != Some(token.as_str()) => next = Some(token),
            Some(_) => {
                return Err(Error::invalid_response(
                    BACKEND,
                    None,
                    None,
                    format!("{what}: the server repeated its next token"),
                    "",
                ));
            }
            None => break,
        }
    }
    for (which, number) in [
        ("default", template.default_version),
        ("latest", template.latest_version),
    ] {
        if let Some(number) = number.filter(|n| !versions.iter().any(|v| v.number == *n)) {
            return Err(Error::invalid_response(
                BACKEND,
                None,
                None,
                format!(
                    "{what}: the {which} version {number} is not among the {} versions listed, \
                     so the listing is incomplete",
                    versions.len()
                ),
                "",
            ));
        }
    }
    Ok(versions)
}

/// The user a template version is: none when it names no image (the
/// launcher must give one).
async fn version_user(
    source: &Ec2Source,
    template: &wire::Template,
    version: wire::Version,
    resolver: &mut ssm::Resolver,
) -> Option<InstanceRef> {
    let image = version.image?;
    let mut name = template.name.clone().unwrap_or_default();
    let boot = match image.strip_prefix(ssm::PREFIX) {
        Some(parameter) => {
            name = format!("{name} ({image})").trim_start().to_owned();
            resolver.resolve(source, parameter).await
        }
        None => BootSource::Image {
            id: image.into(),
            via: FoundVia::LaunchTemplate,
        },
    };
    let status = if version.default {
        "default version"
    } else {
        "version"
    };
    let user = InstanceRef::new(
        format!("{} version {}", template.id, version.number),
        status,
        boot,
    );
    Some(if name.is_empty() {
        user
    } else {
        user.with_name(name)
    })
}

async fn configurations(
    source: &Ec2Source,
    size: u32,
    next: Option<String>,
) -> Result<Listed<InstanceRef>> {
    let mut form = Form::new(
        "DescribeLaunchConfigurations",
        protocol::AUTOSCALING_VERSION,
    );
    paged(
        &mut form,
        "MaxRecords",
        size.clamp(1, MAX_AUTOSCALING_RECORDS),
        next.as_deref(),
    );
    let page = query(
        source,
        "list launch configurations",
        "autoscaling",
        &form,
        wire::launch_configurations,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|(name, image)| {
            let boot = match image {
                Some(image) => BootSource::Image {
                    id: image.into(),
                    via: FoundVia::LaunchConfiguration,
                },
                None => BootSource::Unresolved {
                    reason: "the launch configuration names no image".into(),
                },
            };
            InstanceRef::new(
                format!("launch configuration {name}"),
                "launch configuration",
                boot,
            )
        })
        .collect();
    Ok(Listed {
        items,
        next: page.next,
    })
}

async fn groups(
    source: &Ec2Source,
    size: u32,
    next: Option<String>,
) -> Result<Listed<InstanceRef>> {
    let mut form = Form::new("DescribeAutoScalingGroups", protocol::AUTOSCALING_VERSION);
    paged(
        &mut form,
        "MaxRecords",
        size.clamp(1, MAX_AUTOSCALING_RECORDS),
        next.as_deref(),
    );
    let page = query(
        source,
        "list Auto Scaling groups",
        "autoscaling",
        &form,
        wire::group_images,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|g| {
            InstanceRef::new(
                format!("auto scaling group {} override {}", g.group, g.index),
                "auto scaling group",
                BootSource::Image {
                    id: g.image.into(),
                    via: FoundVia::InstanceGroup,
                },
            )
        })
        .collect();
    Ok(Listed {
        items,
        next: page.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_phase_and_the_servers_token() {
        let first = Cursor::parse(None).unwrap();
        assert_eq!(first.phase, Phase::Instances);
        let on = first.then(Some("abc:def".into())).unwrap();
        assert_eq!(on.token(), PageToken::Link("instances:abc:def".into()));
        assert_eq!(Cursor::parse(Some(&on.token())).unwrap(), on);
        let next_phase = on.then(None).unwrap();
        assert_eq!(next_phase.token(), PageToken::Link("templates".into()));
        assert_eq!(
            Cursor::parse(Some(&next_phase.token())).unwrap(),
            next_phase
        );
        let last = Cursor {
            phase: Phase::References,
            next: None,
        };
        assert_eq!(last.then(None), None);
        for bad in [
            PageToken::Link("nonsense:x".into()),
            PageToken::Offset(3),
            PageToken::Marker("i-1".into()),
        ] {
            assert!(Cursor::parse(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_page_without_a_token_may_be_cut() {
        assert!(maybe_cut(15, 15, &None));
        assert!(!maybe_cut(14, 15, &None));
        assert!(!maybe_cut(15, 15, &Some("t".into())));
    }
}

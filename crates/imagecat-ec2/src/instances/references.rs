//! `DescribeImageReferences`: the server's own answer to "what references
//! this AMI" (instances, launch templates, SSM parameters, Image Builder
//! recipes; not Auto Scaling), asked for the resource types no other phase
//! covers ([`RESOURCE_TYPES`]: SSM parameters, Image Builder recipes) for
//! at most ten AMIs a call: the scanned image, or, in a scan of every
//! image, the catalog's own AMIs (`DescribeImages` with the catalog's
//! owners, one page of them a usage page).
//!
//! A server without the call answers in one of these ways, and only these
//! mean "not supported" (the phase ends and the scan goes on without it;
//! the other phases cover instances, every template version and Auto
//! Scaling on their own):
//!
//! - HTTP 501;
//! - an error document with the code `InvalidAction` (EC2's answer to an
//!   action it does not know, as in a partition without the call),
//!   `UnsupportedOperation` or `NotImplemented`;
//! - HTTP 500 whose body is not an EC2 error document (moto 5.2.6 answers
//!   every call it lacks with Werkzeug's HTML "Internal Server Error"
//!   page; its log says "The describe_image_references action has not been
//!   implemented"). Asked once, not retried. EC2 itself answers its own
//!   500s with an `InternalError` document, which is an error.
//!
//! Any other failure (throttling past the retries, access denied,
//! `InternalError`) fails the scan: unknown, never unused. Ending the phase
//! loses only what the call adds over the other phases (SSM parameters
//! that hold the AMI, Image Builder recipes), which the scan does not
//! claim to cover without it.

use imagecat_core::raw::PageToken;
use imagecat_core::usage::{BootSource, FoundVia, InstanceRef};
use imagecat_core::{ImageId, InstanceQuery, Result};
use imagecat_http::{HttpResponse, Idempotency};

use super::wire::{self, Listed, Reference};
use crate::config::{MAX_PAGE_SIZE, MIN_PAGE_SIZE, validate_image_id};
use crate::error;
use crate::protocol::{self, CONTENT_TYPE as FORM_CONTENT_TYPE, DescribeImages, Form};
use crate::source::{Call, Ec2Source};

/// The most AMIs one `DescribeImageReferences` call may name.
pub(crate) const IDS_PER_CALL: usize = 10;

/// The resource types asked for: those no other phase covers. Instances
/// and launch templates are listed by their own phases (every state but
/// `terminated`, every version), where this call would count terminated
/// instances (its `state-name` default is every state) and only the
/// newest ten versions (`version-depth`).
const RESOURCE_TYPES: [&str; 3] = [
    "ssm:Parameter",
    "imagebuilder:ImageRecipe",
    "imagebuilder:ContainerRecipe",
];

/// The error codes that say the server has no such call.
const UNSUPPORTED_CODES: [&str; 3] = ["InvalidAction", "UnsupportedOperation", "NotImplemented"];

/// Whether a failed answer says the server does not have the call (see the
/// module docs).
pub(crate) fn unsupported(response: &HttpResponse) -> bool {
    let status = response.status.as_u16();
    if status == 501 {
        return true;
    }
    if error::document(&response.body).is_some_and(|d| UNSUPPORTED_CODES.contains(&d.code.as_str()))
    {
        return true;
    }
    status == 500 && error::document(&response.body).is_none()
}

/// One page of the `references` phase; `next` is the phase's own token
/// (the references' `NextToken` for one image, the `DescribeImages`
/// `NextToken` in a scan of every image).
pub(crate) async fn page(
    source: &Ec2Source,
    query: &InstanceQuery,
    size: u32,
    next: Option<String>,
) -> Result<Listed<InstanceRef>> {
    if let Some(image) = &query.image {
        // A reference the catalog cannot read (not an `ami-` id) is
        // nothing the server could answer about.
        let Ok(image) = validate_image_id(image) else {
            return Ok(empty());
        };
        return Ok(match ask(source, &[image], size, next).await? {
            Some(page) => users(page),
            None => empty(),
        });
    }
    let request = DescribeImages {
        owners: source.owners().to_vec(),
        max_results: Some(size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE)),
        next_token: next,
        ..DescribeImages::default()
    };
    let images = super::query(
        source,
        "list images for their references",
        "ec2",
        &request.form(),
        |body| crate::wire::decode_describe_images(body).map_err(|e| e.to_string()),
    )
    .await?;
    let ids: Vec<ImageId> = images.items.iter().map(|i| i.id.clone()).collect();
    let mut references = Vec::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let mut token = None;
        loop {
            let Some(page) = ask(source, chunk, size, token.clone()).await? else {
                return Ok(empty());
            };
            references.extend(page.items);
            match page.next {
                Some(next) if token.as_ref() == Some(&next) => {
                    return Err(imagecat_core::Error::invalid_response(
                        crate::config::BACKEND,
                        None,
                        None,
                        "DescribeImageReferences repeated its next token",
                        "",
                    ));
                }
                Some(next) => token = Some(next),
                None => break,
            }
        }
    }
    let next = match images.next {
        Some(PageToken::Link(next)) => Some(next),
        _ => None,
    };
    Ok(Listed {
        items: users(Listed {
            items: references,
            next: None,
        })
        .items,
        next,
    })
}

fn empty() -> Listed<InstanceRef> {
    Listed {
        items: Vec::new(),
        next: None,
    }
}

/// The references as users: one per resource and image, `ARN (ami-…)`
/// (a launch template may reference several AMIs), the resource type as
/// its status.
fn users(page: Listed<Reference>) -> Listed<InstanceRef> {
    let items = page
        .items
        .into_iter()
        .map(|r| {
            InstanceRef::new(
                format!("{} ({})", r.arn, r.image),
                r.resource_type,
                BootSource::Image {
                    id: r.image.into(),
                    via: FoundVia::ServerReference,
                },
            )
        })
        .collect();
    Listed {
        items,
        next: page.next,
    }
}

/// One `DescribeImageReferences` call; `None` when the server does not
/// have it.
async fn ask(
    source: &Ec2Source,
    ids: &[ImageId],
    size: u32,
    next: Option<String>,
) -> Result<Option<Listed<Reference>>> {
    let mut form = Form::new("DescribeImageReferences", protocol::EC2_VERSION);
    let ids: Vec<&str> = ids.iter().map(ImageId::as_str).collect();
    form.list(protocol::ListStyle::Ec2, "ImageId", &ids);
    for (k, kind) in RESOURCE_TYPES.iter().enumerate() {
        form.param(format!("ResourceType.{}.ResourceType", k + 1), *kind);
    }
    form.param(
        "MaxResults",
        size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE).to_string(),
    );
    if let Some(next) = next {
        form.param("NextToken", next);
    }
    let call = Call {
        service: "ec2",
        target: None,
        content_type: FORM_CONTENT_TYPE,
        body: form.encode(),
    };
    source
        .send_to(
            "list image references",
            Idempotency::Idempotent,
            &call,
            |response: &HttpResponse, key_id| {
                if response.status.is_success() {
                    return wire::references(&response.body)
                        .map(Some)
                        .map_err(|e| response.invalid(format!("DescribeImageReferences: {e}")));
                }
                if unsupported(response) {
                    return Ok(None);
                }
                Err(error::decode_error(response, Some(key_id)))
            },
        )
        .await
}

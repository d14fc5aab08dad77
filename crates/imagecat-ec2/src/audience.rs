//! Who besides the owner may launch an AMI: `DescribeImageAttribute
//! Attribute=launchPermission`, asked for a delete candidate only (the
//! core's [`ImageCatalog::audience`](imagecat_core::ImageCatalog::audience)
//! hook).
//!
//! DescribeImages says `isPublic` and nothing about launch permissions
//! granted to accounts, organizations or organizational units, so an AMI
//! shared privately lists as `isPublic=false` exactly like a private one.
//! The launch permission list is the one place that tells them apart:
//!
//! | `launchPermission/item` | visibility |
//! |---|---|
//! | `<group>all</group>` | public |
//! | `<userId>`, `<organizationArn>`, `<organizationalUnitArn>` (any) | shared |
//! | none | private |
//!
//! Anything else in an item (a group other than `all`, an element we do not
//! know) is refused as `InvalidResponse`: an answer we cannot read never
//! proves an AMI private. Errors (not the owner, throttling past retries,
//! a refusal) go back to the core, which answers "unknown".

use imagecat_core::{Error, Image, ImageId, Result, Visibility};
use imagecat_http::Idempotency;

use crate::config::BACKEND;
use crate::protocol::{self, Form};
use crate::source::Ec2Source;
use crate::wire::xml::{self, XmlError};

/// The visibility `image`'s launch permissions prove.
pub(crate) async fn audience(source: &Ec2Source, image: &Image) -> Result<Option<Visibility>> {
    let id: ImageId = crate::config::validate_image_id(&image.id)?;
    let mut form = Form::new("DescribeImageAttribute", protocol::EC2_VERSION);
    form.param("ImageId", id.as_str())
        .param("Attribute", "launchPermission");
    source
        .call(
            "read the image's launch permissions",
            Idempotency::Idempotent,
            &form,
            |response| {
                decode_launch_permission(&response.body, id.as_str())
                    .map(Some)
                    .map_err(|e| response.attach(e))
            },
        )
        .await
}

/// Decodes a `DescribeImageAttributeResponse` for `launchPermission` of
/// `id` into the visibility it proves.
pub fn decode_launch_permission(body: &[u8], id: &str) -> std::result::Result<Visibility, Error> {
    let invalid = |message: String| {
        Error::invalid_response(BACKEND, None, None, message, imagecat_http::snippet(body))
    };
    let root = xml::parse(body)
        .map_err(|e| invalid(format!("cannot read DescribeImageAttribute: {e}")))?;
    if root.name != "DescribeImageAttributeResponse" {
        return Err(invalid(format!(
            "expected <DescribeImageAttributeResponse>, got <{}>",
            root.name
        )));
    }
    let decode = || -> std::result::Result<Visibility, XmlError> {
        match root.text_of("imageId")? {
            Some(echo) if echo == id => {}
            other => {
                return Err(XmlError::new(format!(
                    "asked for {id}, the answer is about {other:?}"
                )));
            }
        }
        let list = root
            .one("launchPermission")?
            .ok_or_else(|| XmlError::new("no <launchPermission>"))?;
        let mut visibility = Visibility::Private;
        for item in list.all("item") {
            if item.children.is_empty() {
                return Err(XmlError::new("an empty launch permission item"));
            }
            for grant in &item.children {
                match (grant.name.as_str(), grant.text.as_str()) {
                    ("group", "all") => visibility = Visibility::Public,
                    ("userId" | "organizationArn" | "organizationalUnitArn", value)
                        if !value.is_empty() =>
                    {
                        if visibility != Visibility::Public {
                            visibility = Visibility::Shared;
                        }
                    }
                    (name, value) => {
                        return Err(XmlError::new(format!(
                            "a launch permission this client cannot read: <{name}>{value}"
                        )));
                    }
                }
            }
        }
        if let Some(other) = list.children.iter().find(|c| c.name != "item") {
            return Err(XmlError::new(format!(
                "<launchPermission> holds <{}>",
                other.name
            )));
        }
        Ok(visibility)
    };
    decode().map_err(|e| invalid(format!("cannot decode launchPermission: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(items: &str) -> String {
        format!(
            "<DescribeImageAttributeResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>r</requestId><imageId>ami-1</imageId>\
             <launchPermission>{items}</launchPermission></DescribeImageAttributeResponse>"
        )
    }

    #[test]
    fn launch_permissions_prove_the_audience() {
        let cases = [
            ("", Visibility::Private),
            (
                "<item><userId>123456789012</userId></item>",
                Visibility::Shared,
            ),
            (
                "<item><organizationArn>arn:aws:organizations::1:organization/o-1</organizationArn></item>",
                Visibility::Shared,
            ),
            (
                "<item><organizationalUnitArn>arn:aws:organizations::1:ou/o-1/ou-1</organizationalUnitArn></item>",
                Visibility::Shared,
            ),
            ("<item><group>all</group></item>", Visibility::Public),
            (
                "<item><userId>123456789012</userId></item><item><group>all</group></item>",
                Visibility::Public,
            ),
        ];
        for (items, want) in cases {
            let body = answer(items);
            assert_eq!(
                decode_launch_permission(body.as_bytes(), "ami-1").unwrap(),
                want,
                "{items}"
            );
        }
    }

    #[test]
    fn unreadable_answers_never_prove_private() {
        for body in [
            answer("<item><group>everyone</group></item>"),
            answer("<item></item>"),
            answer("<item><userId></userId></item>"),
            answer("<item><somethingNew>x</somethingNew></item>"),
            answer("<other/>"),
            "<DescribeImageAttributeResponse><imageId>ami-1</imageId></DescribeImageAttributeResponse>"
                .to_owned(),
            answer("").replace("ami-1", "ami-2"),
            "<Response><Errors/></Response>".to_owned(),
            "not xml <".to_owned(),
        ] {
            let e = decode_launch_permission(body.as_bytes(), "ami-1").unwrap_err();
            assert_eq!(e.kind(), imagecat_core::ErrorKind::InvalidResponse, "{body}");
        }
    }
}

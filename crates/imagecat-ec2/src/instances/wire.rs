//! The usage calls' answers, decoded from the bounded XML tree
//! ([`crate::wire::xml`]): EC2's `…Set/item` lists and Auto Scaling's
//! `…Result/…/member` lists. Elements are found by local name, never by
//! position; a missing list is an empty one only where the service leaves
//! empty lists out, and every decoder refuses a document of another
//! operation (a proxy's page is never "no users").

use imagecat_core::usage::InstanceRef;

use crate::wire::xml::{self, Element};

/// One decoded page of a listing: its items and the next token (absent or
/// empty: the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed<T> {
    /// The page's items, in the server's order.
    pub(crate) items: Vec<T>,
    /// The token of the next page.
    pub(crate) next: Option<String>,
}

/// The root of a document that must answer `operation`.
fn root(body: &[u8], operation: &str) -> Result<Element, String> {
    let root = xml::parse(body).map_err(|e| e.to_string())?;
    let expected = format!("{operation}Response");
    if root.name != expected {
        return Err(format!("expected <{expected}>, got <{}>", root.name));
    }
    Ok(root)
}

/// The text of the one child `name`, or an error naming the parent.
fn text<'a>(element: &'a Element, name: &str) -> Result<Option<&'a str>, String> {
    element.text_of(name).map_err(|e| e.to_string())
}

/// A child `name` that must be there at most once.
fn child<'a>(element: &'a Element, name: &str) -> Result<Option<&'a Element>, String> {
    element.one(name).map_err(|e| e.to_string())
}

/// The non-empty text of `name`, if any.
fn token(element: &Element, name: &str) -> Result<Option<String>, String> {
    Ok(text(element, name)?
        .filter(|t| !t.is_empty())
        .map(str::to_owned))
}

/// The items of an EC2 list (`{name}/item`), none when the list is absent
/// or empty (EC2 writes `<{name}/>`).
fn items<'a>(element: &'a Element, name: &str) -> Result<Vec<&'a Element>, String> {
    Ok(child(element, name)?
        .map(|list| list.all("item").collect())
        .unwrap_or_default())
}

/// The members of a query-protocol list (`{name}/member`).
fn members<'a>(element: &'a Element, name: &str) -> Result<Vec<&'a Element>, String> {
    Ok(child(element, name)?
        .map(|list| list.all("member").collect())
        .unwrap_or_default())
}

/// The `Name` tag of an EC2 resource.
fn name_tag(item: &Element) -> Result<Option<String>, String> {
    for tag in items(item, "tagSet")? {
        if text(tag, "key")? == Some("Name") {
            return Ok(text(tag, "value")?.map(str::to_owned));
        }
    }
    Ok(None)
}

/// A `DescribeInstances` page: every instance of every reservation but the
/// terminated ones (EC2 lists them for up to an hour after), each with
/// its `imageId` (none: unresolved) and its `Name` tag. A page counts
/// reservations, so a short or empty page says nothing about the end: the
/// token does.
pub(crate) fn instances(body: &[u8]) -> Result<Listed<InstanceRef>, String> {
    let root = root(body, "DescribeInstances")?;
    let mut out = Vec::new();
    for reservation in items(&root, "reservationSet")? {
        for instance in items(reservation, "instancesSet")? {
            let state = child(instance, "instanceState")?
                .map(|s| text(s, "name"))
                .transpose()?
                .flatten()
                .map(str::to_owned);
            if state.as_deref() == Some("terminated") {
                continue;
            }
            let record = InstanceRef::from_record(
                text(instance, "instanceId")?.map(str::to_owned),
                name_tag(instance)?,
                Some(state.unwrap_or_else(|| "unknown".to_owned())),
                text(instance, "imageId")?.map(str::to_owned),
            )?;
            out.push(record);
        }
    }
    Ok(Listed {
        items: out,
        next: token(&root, "nextToken")?,
    })
}

/// A launch template as `DescribeLaunchTemplates` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// `launchTemplateId` (`lt-…`).
    pub(crate) id: String,
    /// `launchTemplateName`.
    pub(crate) name: Option<String>,
    /// `defaultVersionNumber`.
    pub(crate) default_version: Option<u64>,
    /// `latestVersionNumber`.
    pub(crate) latest_version: Option<u64>,
}

fn number(element: &Element, name: &str) -> Result<Option<u64>, String> {
    text(element, name)?
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| format!("<{name}> is not a number: {t:?}"))
        })
        .transpose()
}

/// A `DescribeLaunchTemplates` page.
pub(crate) fn templates(body: &[u8]) -> Result<Listed<Template>, String> {
    let root = root(body, "DescribeLaunchTemplates")?;
    let mut out = Vec::new();
    for item in items(&root, "launchTemplates")? {
        let id = text(item, "launchTemplateId")?
            .filter(|id| !id.is_empty())
            .ok_or("a launch template without <launchTemplateId>")?;
        out.push(Template {
            id: id.to_owned(),
            name: text(item, "launchTemplateName")?.map(str::to_owned),
            default_version: number(item, "defaultVersionNumber")?,
            latest_version: number(item, "latestVersionNumber")?,
        });
    }
    Ok(Listed {
        items: out,
        next: token(&root, "nextToken")?,
    })
}

/// One launch-template version as `DescribeLaunchTemplateVersions` lists
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    /// `launchTemplateId`.
    pub(crate) template: String,
    /// `versionNumber`.
    pub(crate) number: u64,
    /// `defaultVersion`.
    pub(crate) default: bool,
    /// `launchTemplateData/imageId`: an AMI id, a `resolve:ssm:` reference,
    /// or none (the launcher must name the image).
    pub(crate) image: Option<String>,
}

/// A `DescribeLaunchTemplateVersions` page.
pub(crate) fn versions(body: &[u8]) -> Result<Listed<Version>, String> {
    let root = root(body, "DescribeLaunchTemplateVersions")?;
    let mut out = Vec::new();
    for item in items(&root, "launchTemplateVersionSet")? {
        let template = text(item, "launchTemplateId")?
            .filter(|id| !id.is_empty())
            .ok_or("a launch template version without <launchTemplateId>")?;
        let number =
            number(item, "versionNumber")?.ok_or("a launch template version without a number")?;
        let image = child(item, "launchTemplateData")?
            .map(|data| text(data, "imageId"))
            .transpose()?
            .flatten()
            .filter(|i| !i.is_empty())
            .map(str::to_owned);
        out.push(Version {
            template: template.to_owned(),
            number,
            default: text(item, "defaultVersion")?.is_some_and(|d| d.eq_ignore_ascii_case("true")),
            image,
        });
    }
    Ok(Listed {
        items: out,
        next: token(&root, "nextToken")?,
    })
}

/// The `…Result` wrapper of a query-protocol answer.
fn result<'a>(root: &'a Element, operation: &str) -> Result<&'a Element, String> {
    child(root, &format!("{operation}Result"))?.ok_or_else(|| format!("no <{operation}Result>"))
}

/// A `DescribeLaunchConfigurations` page: each configuration's name and
/// `ImageId`.
pub(crate) fn launch_configurations(
    body: &[u8],
) -> Result<Listed<(String, Option<String>)>, String> {
    const OP: &str = "DescribeLaunchConfigurations";
    let root = root(body, OP)?;
    let result = result(&root, OP)?;
    let mut out = Vec::new();
    for member in members(result, "LaunchConfigurations")? {
        let name = text(member, "LaunchConfigurationName")?
            .filter(|n| !n.is_empty())
            .ok_or("a launch configuration without <LaunchConfigurationName>")?;
        let image = text(member, "ImageId")?
            .filter(|i| !i.is_empty())
            .map(str::to_owned);
        out.push((name.to_owned(), image));
    }
    Ok(Listed {
        items: out,
        next: token(result, "NextToken")?,
    })
}

/// An image named by an Auto Scaling group's mixed instances policy
/// override (`Overrides/member/ImageId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupImage {
    /// `AutoScalingGroupName`.
    pub(crate) group: String,
    /// The override's place in the list, from 1.
    pub(crate) index: usize,
    /// Its `ImageId`.
    pub(crate) image: String,
}

/// A `DescribeAutoScalingGroups` page: the images the groups' mixed
/// instances policy overrides name. A group's launch configuration and
/// launch template are scanned on their own (every version), so only the
/// overrides' own `ImageId`s are taken here.
pub(crate) fn group_images(body: &[u8]) -> Result<Listed<GroupImage>, String> {
    const OP: &str = "DescribeAutoScalingGroups";
    let root = root(body, OP)?;
    let result = result(&root, OP)?;
    let mut out = Vec::new();
    for member in members(result, "AutoScalingGroups")? {
        let group = text(member, "AutoScalingGroupName")?
            .filter(|n| !n.is_empty())
            .ok_or("an Auto Scaling group without <AutoScalingGroupName>")?;
        let Some(template) = child(member, "MixedInstancesPolicy")?
            .map(|p| child(p, "LaunchTemplate"))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        for (k, over) in members(template, "Overrides")?.into_iter().enumerate() {
            if let Some(image) = text(over, "ImageId")?.filter(|i| !i.is_empty()) {
                out.push(GroupImage {
                    group: group.to_owned(),
                    index: k + 1,
                    image: image.to_owned(),
                });
            }
        }
    }
    Ok(Listed {
        items: out,
        next: token(result, "NextToken")?,
    })
}

/// One answer of `DescribeImageReferences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    /// `imageId`.
    pub(crate) image: String,
    /// `resourceType` (`ec2:Instance`, `ec2:LaunchTemplate`,
    /// `ssm:Parameter`, `imagebuilder:ImageRecipe`…).
    pub(crate) resource_type: String,
    /// `arn` of the resource.
    pub(crate) arn: String,
}

/// A `DescribeImageReferences` page.
pub(crate) fn references(body: &[u8]) -> Result<Listed<Reference>, String> {
    let root = root(body, "DescribeImageReferences")?;
    let mut out = Vec::new();
    for item in items(&root, "imageReferenceSet")? {
        let field = |name: &str| -> Result<String, String> {
            text(item, name)?
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("an image reference without <{name}>"))
        };
        out.push(Reference {
            image: field("imageId")?,
            resource_type: field("resourceType")?,
            arn: field("arn")?,
        });
    }
    Ok(Listed {
        items: out,
        next: token(&root, "nextToken")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::usage::BootSource;

    #[test]
    fn instances_drop_terminated_and_keep_the_rest_with_names() {
        let body = br#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <reservationSet><item><instancesSet>
              <item><instanceId>i-1</instanceId><imageId>ami-1</imageId>
                <instanceState><code>80</code><name>stopped</name></instanceState>
                <tagSet><item><key>env</key><value>x</value></item>
                        <item><key>Name</key><value>web</value></item></tagSet></item>
              <item><instanceId>i-2</instanceId><imageId>ami-2</imageId>
                <instanceState><code>48</code><name>terminated</name></instanceState></item>
              <item><instanceId>i-3</instanceId>
                <instanceState><code>16</code><name>running</name></instanceState></item>
            </instancesSet></item></reservationSet>
            <nextToken>tok</nextToken></DescribeInstancesResponse>"#;
        let page = instances(body).unwrap();
        assert_eq!(page.next.as_deref(), Some("tok"));
        let ids: Vec<_> = page.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["i-1", "i-3"]);
        assert_eq!(page.items[0].name.as_deref(), Some("web"));
        assert_eq!(page.items[0].status, "stopped");
        assert!(matches!(page.items[1].boot, BootSource::Unresolved { .. }));
    }

    #[test]
    fn documents_of_another_operation_or_without_ids_are_refused() {
        for (decode, body) in [
            (
                instances as fn(&[u8]) -> Result<Listed<InstanceRef>, String>,
                &b"<DescribeImagesResponse/>"[..],
            ),
            (instances, b"<html><body>proxy</body></html>"),
            (
                instances,
                b"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\
                  <imageId>ami-1</imageId></item></instancesSet></item></reservationSet>\
                  </DescribeInstancesResponse>",
            ),
        ] {
            assert!(decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert!(templates(b"<DescribeLaunchTemplatesResponse><launchTemplates><item/></launchTemplates></DescribeLaunchTemplatesResponse>").is_err());
        assert!(versions(b"<DescribeLaunchTemplateVersionsResponse><launchTemplateVersionSet><item><launchTemplateId>lt-1</launchTemplateId><versionNumber>x</versionNumber></item></launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>").is_err());
        assert!(launch_configurations(b"<DescribeLaunchConfigurationsResponse/>").is_err());
        assert!(references(b"<DescribeImageReferencesResponse><imageReferenceSet><item><imageId>ami-1</imageId></item></imageReferenceSet></DescribeImageReferencesResponse>").is_err());
    }

    #[test]
    fn auto_scaling_lists_are_members_and_only_override_images_count() {
        let body = b"<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>\
            <AutoScalingGroups><member><AutoScalingGroupName>on-lc</AutoScalingGroupName>\
            <LaunchConfigurationName>lc</LaunchConfigurationName></member>\
            <member><AutoScalingGroupName>mixed</AutoScalingGroupName><MixedInstancesPolicy>\
            <LaunchTemplate><Overrides><member><InstanceType>t3.micro</InstanceType></member>\
            <member><ImageId>ami-9</ImageId></member></Overrides></LaunchTemplate>\
            </MixedInstancesPolicy></member></AutoScalingGroups><NextToken>n</NextToken>\
            </DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>";
        let page = group_images(body).unwrap();
        assert_eq!(
            page.items,
            [GroupImage {
                group: "mixed".into(),
                index: 2,
                image: "ami-9".into()
            }]
        );
        assert_eq!(page.next.as_deref(), Some("n"));
    }
}

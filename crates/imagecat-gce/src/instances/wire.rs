//! The documents a usage scan reads: the aggregated lists of disks,
//! instances, instance templates and managed instance groups (`items` a
//! map from scope — `zones/Z`, `regions/R`, `global` — to that scope's
//! resources or a warning; `unreachables[]` the scopes that could not be
//! read), one instance template, and an image's IAM policy.

use std::collections::BTreeMap;

use imagecat_core::raw::PageToken;
use imagecat_core::{Result, Visibility};
use imagecat_http::HttpResponse;
use serde::Deserialize;

use crate::wire::MAX_BODY_BYTES;

/// One page of an aggregated list, as far as the scan reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AggregatedWire {
    #[serde(default)]
    items: Option<BTreeMap<String, ScopedWire>>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    unreachables: Option<Vec<String>>,
    #[serde(default)]
    warning: Option<WarningWire>,
}

/// One scope's part of an aggregated page: the resources of the kind
/// asked for (the key names the kind), or a warning.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopedWire {
    #[serde(default)]
    disks: Option<Vec<DiskWire>>,
    #[serde(default)]
    instances: Option<Vec<InstanceWire>>,
    #[serde(default)]
    instance_templates: Option<Vec<TemplateWire>>,
    #[serde(default)]
    instance_group_managers: Option<Vec<GroupWire>>,
    #[serde(default)]
    warning: Option<WarningWire>,
}

#[derive(Debug, Default, Deserialize)]
struct WarningWire {
    #[serde(default)]
    code: Option<String>,
}

/// A disk: where it came from, and who has it attached.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DiskWire {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) self_link: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) source_image: Option<String>,
    #[serde(default)]
    pub(super) source_image_id: Option<String>,
    #[serde(default)]
    pub(super) users: Vec<String>,
}

/// An instance and its disks.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InstanceWire {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) self_link: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) disks: Vec<AttachedWire>,
}

/// A disk as an instance lists it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AttachedWire {
    #[serde(default)]
    pub(super) source: Option<String>,
    #[serde(default)]
    pub(super) boot: bool,
}

/// An instance template (global or regional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TemplateWire {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) self_link: Option<String>,
    #[serde(default)]
    pub(super) properties: Option<TemplatePropertiesWire>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TemplatePropertiesWire {
    #[serde(default)]
    pub(super) disks: Vec<TemplateDiskWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TemplateDiskWire {
    #[serde(default)]
    pub(super) initialize_params: Option<InitializeWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InitializeWire {
    #[serde(default)]
    pub(super) source_image: Option<String>,
}

/// A managed instance group and the templates it launches from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupWire {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) self_link: Option<String>,
    #[serde(default)]
    pub(super) instance_template: Option<String>,
    #[serde(default)]
    pub(super) versions: Vec<VersionWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VersionWire {
    #[serde(default)]
    pub(super) instance_template: Option<String>,
}

/// One decoded aggregated page: the resources of every scope (each with
/// its scope key), the scopes that could not be read, the next token.
#[derive(Debug, Default)]
pub(super) struct Aggregated {
    pub(super) disks: Vec<(String, DiskWire)>,
    pub(super) instances: Vec<(String, InstanceWire)>,
    pub(super) templates: Vec<(String, TemplateWire)>,
    pub(super) groups: Vec<(String, GroupWire)>,
    /// Scopes listed in `unreachables[]` or warned `UNREACHABLE` /
    /// `PARTIAL_SUCCESS`: whatever they hold was not seen.
    pub(super) unreachable: Vec<String>,
    pub(super) next: Option<PageToken>,
}

/// The warning codes that say a scope's resources were not all returned.
fn incomplete(warning: Option<&WarningWire>) -> bool {
    matches!(
        warning.and_then(|w| w.code.as_deref()),
        Some("UNREACHABLE" | "PARTIAL_SUCCESS")
    )
}

/// A document that must be a JSON object (serde's derive would also take
/// an array of the fields in order), within the body cap.
fn object<T: serde::de::DeserializeOwned>(response: &HttpResponse, what: &str) -> Result<T> {
    if response.body.len() > MAX_BODY_BYTES {
        return Err(response.invalid(format!(
            "the {what} is {} bytes, over the {MAX_BODY_BYTES}-byte limit",
            response.body.len()
        )));
    }
    if response.body.trim_ascii_start().first() != Some(&b'{') {
        return Err(response.invalid(format!("the {what} is not a JSON object")));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| response.invalid(format!("cannot decode the {what}: {e}")))
}

/// Decodes one page of an aggregated list.
pub(super) fn decode_aggregated(response: &HttpResponse, what: &str) -> Result<Aggregated> {
    let wire: AggregatedWire = object(response, what)?;
    let mut page = Aggregated {
        next: wire
            .next_page_token
            .filter(|t| !t.is_empty())
            .map(PageToken::Link),
        ..Aggregated::default()
    };
    page.unreachable = wire.unreachables.unwrap_or_default();
    if incomplete(wire.warning.as_ref()) {
        page.unreachable.push("(the whole listing)".to_owned());
    }
    for (scope, scoped) in wire.items.unwrap_or_default() {
        if incomplete(scoped.warning.as_ref()) {
            page.unreachable.push(scope.clone());
        }
        scoped_into(&mut page.disks, &scope, scoped.disks);
        scoped_into(&mut page.instances, &scope, scoped.instances);
        scoped_into(&mut page.templates, &scope, scoped.instance_templates);
        scoped_into(&mut page.groups, &scope, scoped.instance_group_managers);
    }
    Ok(page)
}

fn scoped_into<T>(into: &mut Vec<(String, T)>, scope: &str, items: Option<Vec<T>>) {
    into.extend(
        items
            .unwrap_or_default()
            .into_iter()
            .map(|item| (scope.to_owned(), item)),
    );
}

/// Decodes one instance template (`instanceTemplates.get`).
pub(super) fn decode_template(response: &HttpResponse) -> Result<TemplateWire> {
    object(response, "instance template")
}

/// An image's IAM policy, as far as who is granted it.
#[derive(Debug, Default, Deserialize)]
struct PolicyWire {
    #[serde(default)]
    bindings: Vec<BindingWire>,
}

#[derive(Debug, Default, Deserialize)]
struct BindingWire {
    #[serde(default)]
    members: Vec<String>,
}

/// Who an image's IAM policy lets use it besides the project's own
/// principals (who reach it through the project's policy, not the
/// image's): no member in any binding is `Private`; `allUsers` or
/// `allAuthenticatedUsers` in any binding is `Public`; any other member
/// (a user, group, domain or service account — any of them may use it
/// from another project) is `Shared`. Every role counts: a custom role
/// may hold `compute.images.useReadOnly`.
pub(super) fn decode_policy(response: &HttpResponse) -> Result<Visibility> {
    let policy: PolicyWire = object(response, "IAM policy")?;
    let members = policy.bindings.iter().flat_map(|b| b.members.iter());
    let mut visibility = Visibility::Private;
    for member in members {
        match member.trim() {
            "" => {}
            "allUsers" | "allAuthenticatedUsers" => return Ok(Visibility::Public),
            _ => visibility = Visibility::Shared,
        }
    }
    Ok(visibility)
}

/// The resource path of a link or path (`projects/…` to its end, without
/// a query): the stable id of a disk, instance, template or group, the
/// same whichever host the link names. `None` when it holds no
/// `projects/` segment or an unsafe character.
pub(super) fn resource_path(link: &str) -> Option<String> {
    let text = link.trim();
    let text = text.split(['?', '#']).next().unwrap_or_default();
    let at = if text.starts_with("projects/") {
        0
    } else {
        text.find("/projects/")? + 1
    };
    let path = text[at..].trim_end_matches('/');
    let safe = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b':'));
    (safe && path.split('/').count() >= 4 && !path.split('/').any(str::is_empty))
        .then(|| path.to_owned())
}

/// The project of a resource path (`projects/{p}/…`).
pub(super) fn project_of(path: &str) -> Option<&str> {
    path.strip_prefix("projects/")?.split('/').next()
}

/// The last segment of a link (a resource's name).
pub(super) fn last_segment(link: &str) -> &str {
    link.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> HttpResponse {
        HttpResponse::from_body(crate::BACKEND, 200, body.as_bytes().to_vec())
    }

    #[test]
    fn paths_from_links_in_any_spelling() {
        for link in [
            "https://www.googleapis.com/compute/v1/projects/p1/zones/us-central1-a/disks/d1",
            "http://127.0.0.1:9/compute/v1/projects/p1/zones/us-central1-a/disks/d1?alt=json",
            "projects/p1/zones/us-central1-a/disks/d1/",
        ] {
            assert_eq!(
                resource_path(link).as_deref(),
                Some("projects/p1/zones/us-central1-a/disks/d1"),
                "{link}"
            );
        }
        for bad in [
            "",
            "disks/d1",
            "projects/p1",
            "projects/p1//disks/d",
            "projects/p1/zones/z/disks/d 1",
        ] {
            assert_eq!(resource_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            project_of("projects/p1/global/instanceTemplates/t"),
            Some("p1")
        );
    }

    #[test]
    fn unreachable_scopes_and_warnings_are_collected() {
        let page = decode_aggregated(
            &response(
                r#"{"items":{"zones/a":{"disks":[{"name":"d1"}]},
                    "zones/b":{"warning":{"code":"NO_RESULTS_ON_PAGE"}},
                    "zones/c":{"warning":{"code":"UNREACHABLE"}}},
                   "unreachables":["zones/d"],"nextPageToken":"n2"}"#,
            ),
            "disk list",
        )
        .unwrap();
        assert_eq!(page.disks.len(), 1);
        assert_eq!(page.disks[0].0, "zones/a");
        assert_eq!(page.unreachable, ["zones/d", "zones/c"]);
        assert_eq!(page.next, Some(PageToken::Link("n2".into())));
        for bad in [
            "[]",
            "{\"items\":[1]}",
            "nope",
            "{\"items\":{\"zones/a\":{\"disks\":{}}}}",
        ] {
            assert!(
                decode_aggregated(&response(bad), "disk list").is_err(),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// Any bytes, and any JSON value in any field of an aggregated
        /// page, decode or are an `InvalidResponse`: never a panic.
        #[test]
        fn hostile_bodies_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            field in "(items|unreachables|nextPageToken|warning|disks|users|sourceImage|selfLink)",
            value in proptest::prop_oneof![
                proptest::prelude::Just("null".to_owned()),
                proptest::prelude::Just("[]".to_owned()),
                proptest::prelude::Just("{}".to_owned()),
                proptest::prelude::Just("7".to_owned()),
                "\"[ -~]{0,12}\"",
            ],
        ) {
            let bytes = HttpResponse::from_body(crate::BACKEND, 200, body);
            for result in [
                decode_aggregated(&bytes, "list").map(|_| ()),
                decode_template(&bytes).map(|_| ()),
                decode_policy(&bytes).map(|_| ()),
            ] {
                if let Err(e) = result {
                    proptest::prop_assert_eq!(e.kind(), imagecat_core::ErrorKind::InvalidResponse);
                }
            }
            let doc = format!(
                r#"{{"items":{{"zones/a":{{"disks":[{{"{field}":{value}}}],"{field}":{value}}}}},"{field}":{value}}}"#
            );
            let shaped = response(&doc);
            if let Err(e) = decode_aggregated(&shaped, "list") {
                proptest::prop_assert_eq!(e.kind(), imagecat_core::ErrorKind::InvalidResponse);
            }
        }
    }

    #[test]
    fn a_policy_with_any_member_is_shared() {
        let v = |body: &str| decode_policy(&response(body)).unwrap();
        assert_eq!(v(r#"{"etag":"ACAB"}"#), Visibility::Private);
        assert_eq!(
            v(r#"{"bindings":[{"role":"roles/x","members":[]}]}"#),
            Visibility::Private
        );
        assert_eq!(
            v(r#"{"bindings":[{"role":"roles/compute.imageUser","members":["user:a@b.c"]}]}"#),
            Visibility::Shared
        );
        assert_eq!(
            v(
                r#"{"bindings":[{"role":"roles/viewer","members":["serviceAccount:x@p1.iam.gserviceaccount.com"]},{"role":"roles/compute.imageUser","members":["allAuthenticatedUsers"]}]}"#
            ),
            Visibility::Public
        );
        assert!(decode_policy(&response("[]")).is_err());
    }
}

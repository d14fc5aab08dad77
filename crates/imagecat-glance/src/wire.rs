//! The wire format of Glance v2 and Keystone: image documents, list pages,
//! error bodies, token responses and service catalogs.
//!
//! Decoding is strict where it matters (a body that is not JSON, a page
//! without `images`, an image without `id` or `status`, a field of the wrong
//! type: `InvalidResponse` with a snippet) and keeps the server's own record
//! of every image verbatim.

use chrono::{DateTime, NaiveDateTime, Utc};
use imagecat_core::{BackendKind, Error, Image};
use imagecat_http::{HttpResponse, snippet};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

pub(crate) use crate::record::decode_image;

pub(crate) const BACKEND: BackendKind = BackendKind::Glance;

/// The property whose value becomes [`Image::arch`] (NHN and the Glance
/// docs), and the older name some clouds use.
pub(crate) const ARCH_PROPERTIES: [&str; 2] = ["os_architecture", "architecture"];
/// The property whose value becomes [`Image::description`].
pub(crate) const DESCRIPTION_PROPERTY: &str = "description";

/// The keys of Glance's image schema itself; every other top-level key is a
/// custom property.
pub(crate) const BASE_FIELDS: [&str; 25] = [
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "checksum",
    "owner",
    "size",
    "virtual_size",
    "min_ram",
    "min_disk",
    "disk_format",
    "container_format",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
    "locations",
    "direct_url",
    "stores",
];

pub(crate) fn decode_error(what: &str, text: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid_response(
        BACKEND,
        None,
        None,
        format!("{what}: {e}"),
        snippet(text.as_bytes()),
    )
}

/// One page of `GET /v2/images`: the images as raw JSON text, and the
/// `next` link if the server gave one.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) images: Vec<Image>,
    pub(crate) next: Option<String>,
}

#[derive(Deserialize)]
struct ListWire {
    images: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    next: Option<String>,
}

/// Decodes a list page.
pub(crate) fn decode_list(response: &HttpResponse) -> Result<ListPage, Error> {
    let wire: ListWire = response.json()?;
    let Some(raw) = wire.images else {
        return Err(response.invalid("the list answer has no \"images\" array"));
    };
    let images = raw
        .into_iter()
        .map(decode_image)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| response.attach(e))?;
    Ok(ListPage {
        images,
        next: wire.next.filter(|n| !n.is_empty()),
    })
}

/// Decodes the answer of `GET /v2/images/{id}`.
pub(crate) fn decode_show(response: &HttpResponse) -> Result<Image, Error> {
    let raw: Box<RawValue> = response.json()?;
    decode_image(raw).map_err(|e| response.attach(e))
}

/// Whether a key is one of Glance's own image fields (not a property).
pub(crate) fn is_base_field(key: &str) -> bool {
    BASE_FIELDS.contains(&key)
}

/// Parses an ISO 8601 / RFC 3339 timestamp with an optional fraction and an
/// optional zone (no zone means UTC, as Keystone's `issued_at` is written).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// A Glance (webob) or Keystone error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorDoc {
    /// `code`, a string such as `"404 Not Found"` (webob) or a number
    /// (Keystone), as text.
    pub(crate) code: Option<String>,
    /// The message, without webob's `<br /><br />` tail.
    pub(crate) message: String,
}

/// Reads `{"message","code","title"}` or `{"error":{…}}` (any single
/// wrapping key, as Nova-style bodies use); `None` for anything else.
pub(crate) fn error_doc(body: &[u8]) -> Option<ErrorDoc> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let doc = if object.contains_key("message") {
        object
    } else if object.len() == 1 {
        object.values().next()?.as_object()?
    } else {
        return None;
    };
    let message = doc.get("message")?.as_str()?;
    let code = match doc.get("code") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut message = clean_message(message);
    if message.is_empty() {
        message = doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("the server gave no message")
            .to_owned();
    }
    Some(ErrorDoc { code, message })
}

/// Webob's `explanation<br /><br />detail` as one line: the `<br />`
/// markers dropped, the parts trimmed and joined by a space.
pub(crate) fn clean_message(message: &str) -> String {
    message
        .split("<br />")
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An endpoint of a service catalog, as both Keystone versions list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogEndpoint {
    pub(crate) region: Option<String>,
    pub(crate) url: String,
}

/// A token as a Keystone answer carries it.
#[derive(Debug)]
pub(crate) struct IssuedToken {
    pub(crate) id: String,
    pub(crate) expires: Option<DateTime<Utc>>,
    /// The public endpoints of type `image`.
    pub(crate) image_endpoints: Vec<CatalogEndpoint>,
    /// The public endpoints of type `compute` (Nova).
    pub(crate) compute_endpoints: Vec<CatalogEndpoint>,
    /// The public block-storage endpoints (Cinder), of the first of
    /// [`VOLUME_TYPES`] the catalog has.
    pub(crate) volume_endpoints: Vec<CatalogEndpoint>,
    /// The project (v3) or tenant (v2.0) id the token is scoped to.
    pub(crate) project: Option<String>,
}

/// The catalog types of the block-storage API, best first (Cinder v3,
/// the generic name, NHN Cloud's v2).
pub(crate) const VOLUME_TYPES: [&str; 3] = ["volumev3", "block-storage", "volumev2"];

/// The public endpoints of each type the token answer's catalog lists,
/// split into image, compute and block storage.
fn split_catalog(
    services: impl Iterator<Item = (Option<String>, Vec<CatalogEndpoint>)>,
) -> [Vec<CatalogEndpoint>; 3] {
    let mut by_kind: Vec<(String, Vec<CatalogEndpoint>)> = services
        .filter_map(|(kind, eps)| kind.map(|k| (k, eps)))
        .collect();
    let mut take = |kind: &str| -> Vec<CatalogEndpoint> {
        by_kind
            .iter_mut()
            .filter(|(k, _)| k == kind)
            .flat_map(|(_, eps)| std::mem::take(eps))
            .collect()
    };
    let image = take("image");
    let compute = take("compute");
    let volume = VOLUME_TYPES
        .iter()
        .map(|kind| take(kind))
        .find(|eps| !eps.is_empty())
        .unwrap_or_default();
    [image, compute, volume]
}

#[derive(Deserialize)]
struct V2Wire {
    access: V2Access,
}

#[derive(Deserialize)]
struct V2Access {
    token: V2Token,
    #[serde(default, rename = "serviceCatalog")]
    service_catalog: Option<Vec<V2Service>>,
}

#[derive(Deserialize)]
struct V2Token {
    id: String,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    tenant: Option<ScopeWire>,
}

/// The `tenant` (v2.0) or `project` (v3) of a token answer: its id.
#[derive(Deserialize)]
struct ScopeWire {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct V2Service {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    endpoints: Vec<V2Endpoint>,
}

#[derive(Deserialize)]
struct V2Endpoint {
    #[serde(default)]
    region: Option<String>,
    #[serde(default, rename = "publicURL")]
    public_url: Option<String>,
}

/// Decodes a Keystone v2.0 `POST /tokens` answer, whose body holds the
/// token: an
/// answer that cannot be decoded shows neither its body nor the decoder's
/// message.
pub(crate) fn decode_v2_token(response: &HttpResponse) -> Result<IssuedToken, Error> {
    response.hide_secret_answer("the token answer", decode_v2_token_body(response))
}

fn decode_v2_token_body(response: &HttpResponse) -> Result<IssuedToken, Error> {
    let wire: V2Wire = response.json()?;
    let expires = expires(response, wire.access.token.expires.as_deref())?;
    let services = wire
        .access
        .service_catalog
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let eps = s.endpoints.into_iter().filter_map(|e| {
                e.public_url.map(|url| CatalogEndpoint {
                    region: e.region,
                    url,
                })
            });
            (s.kind, eps.collect())
        });
    let [image_endpoints, compute_endpoints, volume_endpoints] = split_catalog(services);
    Ok(IssuedToken {
        id: wire.access.token.id,
        expires,
        image_endpoints,
        compute_endpoints,
        volume_endpoints,
        project: wire.access.token.tenant.and_then(|t| t.id),
    })
}

#[derive(Deserialize)]
struct V3Wire {
    token: V3Token,
}

#[derive(Deserialize)]
struct V3Token {
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    catalog: Option<Vec<V3Service>>,
    #[serde(default)]
    project: Option<ScopeWire>,
}

#[derive(Deserialize)]
struct V3Service {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    endpoints: Vec<V3Endpoint>,
}

#[derive(Deserialize)]
struct V3Endpoint {
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// Decodes a Keystone v3 `POST /auth/tokens` answer: the token is the
/// `X-Subject-Token` header.
pub(crate) fn decode_v3_token(response: &HttpResponse) -> Result<IssuedToken, Error> {
    let id = response
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| response.invalid("the token answer has no X-Subject-Token header"))?
        .to_owned();
    let wire: V3Wire = response.json()?;
    let expires = expires(response, wire.token.expires_at.as_deref())?;
    let project = wire.token.project.and_then(|p| p.id);
    let services = wire.token.catalog.unwrap_or_default().into_iter().map(|s| {
        let eps = s
            .endpoints
            .into_iter()
            .filter(|e| e.interface.as_deref() == Some("public"))
            .map(|e| CatalogEndpoint {
                region: e.region.or(e.region_id),
                url: e.url,
            });
        (s.kind, eps.collect())
    });
    let [image_endpoints, compute_endpoints, volume_endpoints] = split_catalog(services);
    Ok(IssuedToken {
        id,
        expires,
        image_endpoints,
        compute_endpoints,
        volume_endpoints,
        project,
    })
}

fn expires(response: &HttpResponse, text: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    match text {
        None => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| response.invalid(format!("the token expiry {text:?} is no timestamp"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::{ErrorKind, ImageStatus, Visibility};

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    const NHN_IMAGE: &str = r#"{"id": "1c868787-6207-4ff2-a1e7-ae1331d6829b", "name": "CentOS 6.10 (2018.10.23)", "status": "active",
      "visibility": "public", "protected": true, "min_disk": 20, "min_ram": 0, "size": 1778843648, "virtual_size": null,
      "disk_format": "qcow2", "container_format": "bare", "owner": "c289b99209ca4e189095cdecebbd092d",
      "created_at": "2018-10-23T02:17:43Z", "updated_at": "2018-12-11T01:01:35Z", "tags": [],
      "checksum": "f803c5c15bcf9a75935980a900a04584", "os_type": "linux", "login_username": "centos",
      "os_architecture": "amd64", "description": "CentOS 6.10", "hypervisor_type": "qemu",
      "self": "/v2/images/1c868787-6207-4ff2-a1e7-ae1331d6829b", "file": "/v2/images/1c868787-6207-4ff2-a1e7-ae1331d6829b/file",
      "schema": "/v2/schemas/image"}"#;

    #[test]
    fn an_undecodable_v2_token_answer_shows_neither_its_body_nor_the_token() {
        let secret = "gAAAAAB-v2-token-in-a-broken-answer";
        let body = format!(r#"{{"access":{{"token":{{"id":"{secret}","expires":17}}}}}}"#);
        let answer = HttpResponse::from_body(BackendKind::Glance, 200, body);
        let Err(e) = decode_v2_token(&answer) else {
            panic!("a number is no expiry")
        };
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(
            e.to_string().contains("the token answer cannot be decoded"),
            "{e}"
        );
        // A refusal (not a success) keeps its body: it holds no token.
        let refused = HttpResponse::from_body(BackendKind::Glance, 500, "{oops");
        assert!(
            decode_v2_token(&refused)
                .err()
                .unwrap()
                .to_string()
                .contains("{oops")
        );
    }

    #[test]
    fn an_nhn_image_decodes_field_by_field() {
        let image = decode_image(raw(NHN_IMAGE)).unwrap();
        assert_eq!(image.id.as_str(), "1c868787-6207-4ff2-a1e7-ae1331d6829b");
        assert_eq!(image.name.as_deref(), Some("CentOS 6.10 (2018.10.23)"));
        assert_eq!(image.status, ImageStatus::Active);
        assert_eq!(image.native_status, "active");
        assert_eq!(image.visibility, Some(Visibility::Public));
        assert_eq!(image.protected, Some(true));
        assert_eq!(image.min_disk_gb, Some(20));
        assert_eq!(image.min_ram_mb, Some(0));
        assert_eq!(image.size_bytes, Some(1_778_843_648));
        assert_eq!(image.disk_format.as_deref(), Some("qcow2"));
        assert_eq!(
            image.owner.as_deref(),
            Some("c289b99209ca4e189095cdecebbd092d")
        );
        assert_eq!(
            image.checksum.as_deref(),
            Some("f803c5c15bcf9a75935980a900a04584")
        );
        assert_eq!(
            image.created_at.unwrap().to_rfc3339(),
            "2018-10-23T02:17:43+00:00"
        );
        assert_eq!(image.arch.as_deref(), Some("amd64"));
        assert_eq!(image.description.as_deref(), Some("CentOS 6.10"));
        let keys: Vec<_> = image.properties.keys().collect();
        assert_eq!(
            keys,
            [
                "description",
                "hypervisor_type",
                "login_username",
                "os_architecture",
                "os_type"
            ]
        );
        assert_eq!(image.backend, BackendKind::Glance);
        assert_eq!(image.native.unwrap().as_str(), NHN_IMAGE);
    }

    #[test]
    fn multihash_and_tags_are_kept_apart_and_arch_falls_back_to_architecture() {
        let image = decode_image(raw(
            r#"{"id":"a","status":"queued","checksum":null,"os_hash_algo":"sha512","os_hash_value":"abc",
               "tags":["golden","lts"],"architecture":"x86_64",
               "properties":{"os_type":"linux","architecture":"ignored"},"min_disk":null,"extra":7,"flag":true}"#,
        ))
        .unwrap();
        assert_eq!(image.checksum, None);
        assert_eq!(image.os_hash_algo.as_deref(), Some("sha512"));
        assert_eq!(image.os_hash_value.as_deref(), Some("abc"));
        assert_eq!(image.tags, ["golden", "lts"]);
        assert!(
            decode_image(raw(r#"{"id":"a","status":"active","tags":["x",1]}"#))
                .unwrap_err()
                .to_string()
                .contains("tags")
        );
        assert_eq!(image.arch.as_deref(), Some("x86_64"));
        assert_eq!(image.min_disk_gb, None);
        assert_eq!(image.status, ImageStatus::Queued);
        assert_eq!(image.properties["os_type"], "linux");
        assert_eq!(image.properties["extra"], "7");
        assert_eq!(image.properties["flag"], "true");
        assert_eq!(image.properties["architecture"], "x86_64");
    }

    #[test]
    fn unknown_words_are_kept() {
        let image = decode_image(raw(
            r#"{"id":"a","status":"frozen","visibility":"galactic"}"#,
        ))
        .unwrap();
        assert_eq!(image.status, ImageStatus::Unknown("frozen".into()));
        assert_eq!(image.native_status, "frozen");
        assert_eq!(image.visibility, None);
    }

    #[test]
    fn bad_images_are_invalid_responses() {
        for text in [
            r#"{"name":"x","status":"active"}"#,
            r#"{"id":"","status":"active"}"#,
            r#"{"id":"a"}"#,
            r#"{"id":7,"status":"active"}"#,
            r#"{"id":"a","status":"active","size":-1}"#,
            r#"{"id":"a","status":"active","size":1.5}"#,
            r#"{"id":"a","status":"active","size":123456789012345678901234567890}"#,
            r#"{"id":"a","status":"active","size":"12"}"#,
            r#"{"id":"a","status":"active","protected":"yes"}"#,
            r#"{"id":"a","status":"active","created_at":"yesterday"}"#,
            r#"["id"]"#,
        ] {
            let e = decode_image(raw(text)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{text}");
            assert!(e.to_string().starts_with("glance: "), "{e}");
        }
    }

    #[test]
    fn timestamps_with_and_without_zone_and_fraction() {
        for (text, want) in [
            ("2018-12-11T01:01:35Z", "2018-12-11T01:01:35+00:00"),
            (
                "2020-04-29T03:32:28.000405",
                "2020-04-29T03:32:28.000405+00:00",
            ),
            (
                "2015-11-06T15:32:17.893769Z",
                "2015-11-06T15:32:17.893769+00:00",
            ),
            ("2020-04-29T12:00:00+09:00", "2020-04-29T03:00:00+00:00"),
        ] {
            assert_eq!(parse_time(text).unwrap().to_rfc3339(), want, "{text}");
        }
        assert!(parse_time("soon").is_none());
    }

    #[test]
    fn webob_and_keystone_error_documents() {
        let doc = error_doc(
            br#"{"message": "Image 1c86 is protected and cannot be deleted.<br /><br />\n\n\n", "code": "403 Forbidden", "title": "Forbidden"}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "Image 1c86 is protected and cannot be deleted."
        );
        assert_eq!(doc.code.as_deref(), Some("403 Forbidden"));
        let doc = error_doc(
            br#"{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "The request you have made requires authentication."
        );
        assert_eq!(doc.code.as_deref(), Some("401"));
        let doc = error_doc(
            br#"{"message": "The request media type application/octet-stream is not supported by this server.\n<br /><br />\nImage disk_format qcow2 does not match stream data raw", "code": "415 Unsupported Media Type", "title": "Unsupported Media Type"}"#,
        )
        .unwrap();
        assert_eq!(
            doc.message,
            "The request media type application/octet-stream is not supported by this server. Image disk_format qcow2 does not match stream data raw"
        );
        let doc = error_doc(br#"{"message":"<br /><br />","title":"Conflict"}"#).unwrap();
        assert_eq!(doc.message, "Conflict");
        for body in [
            &b"<html>403 Forbidden</html>"[..],
            b"{}",
            b"[]",
            br#"{"a":1,"b":2}"#,
            br#"{"message":7}"#,
        ] {
            assert_eq!(error_doc(body), None, "{}", String::from_utf8_lossy(body));
        }
    }
}

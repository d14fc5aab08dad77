//! The Compute Instance API v1.0 listing behind usage:
//! `GET {compute}/v1.0/appkeys/{appkey}/instances-detail`, the same token
//! and `header` envelope as the image API, one call (no paging), `image` a
//! plain string. Every listed status counts as a use (`DELETING`
//! included: v1 has no final state in its list).

use imagecat_core::raw::lenient;
use imagecat_core::{Error, InstanceRef};
use imagecat_http::{HttpResponse, snippet};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::BACKEND;
use crate::wire::{Header, decode_enveloped};

/// An `instances-detail` answer.
#[derive(Debug, Deserialize)]
struct InstancesBody {
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    instances: Option<Vec<Box<RawValue>>>,
}

/// The fields of one instance that usage reads.
#[derive(Debug, Deserialize)]
struct WireInstance {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    image: Option<String>,
}

/// Decodes an `instances-detail` answer: a failure envelope is the typed
/// error of its `resultCode`; a success without `instances`, or an instance
/// without an `id`, is `InvalidResponse`. An instance without an `image`
/// string is kept, unresolved (it may use any image).
pub(crate) fn decode_instances(response: &HttpResponse) -> Result<Vec<InstanceRef>, Error> {
    let body = decode_enveloped::<InstancesBody>(response, |b| b.header.as_ref())?;
    let Some(raw) = body.instances else {
        return Err(response.invalid("a successful answer without `instances`"));
    };
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            decode_instance(&raw).map_err(|m| {
                response.attach(Error::invalid_response(
                    BACKEND,
                    None,
                    None,
                    format!("instance #{index}: {m}"),
                    snippet(raw.get().as_bytes()),
                ))
            })
        })
        .collect()
}

fn decode_instance(raw: &RawValue) -> Result<InstanceRef, String> {
    let wire: WireInstance =
        serde_json::from_str(raw.get()).map_err(|e| format!("cannot decode instance: {e}"))?;
    InstanceRef::from_record(wire.id, wire.name, wire.status, wire.image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;
    use imagecat_core::usage::BootSource;

    fn decode(body: &str) -> Result<Vec<InstanceRef>, Error> {
        decode_instances(&HttpResponse::from_body(
            BACKEND,
            200,
            body.as_bytes().to_vec(),
        ))
    }

    #[test]
    fn the_reference_document_decodes_with_every_status_kept() {
        let body = r#"{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"},
          "instances":[
            {"id":"i-1","name":"web","status":"ACTIVE","image":"img-a","flavor":{"id":"f"},"volumes":{"root":{"size":20}}},
            {"id":"i-2","name":"old","status":"DELETING","image":"img-a"},
            {"id":"i-3","status":"STOP","image":""}]}"#;
        let got = decode(body).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].image_id().map(|i| i.as_str()), Some("img-a"));
        assert_eq!(got[0].name.as_deref(), Some("web"));
        assert_eq!(got[1].status, "DELETING");
        assert!(matches!(got[2].boot, BootSource::Unresolved { .. }));
    }

    #[test]
    fn bad_answers_are_typed_errors() {
        let fail =
            r#"{"header":{"isSuccessful":false,"resultCode":-5,"resultMessage":"Nonexistent"}}"#;
        assert_eq!(decode(fail).unwrap_err().kind(), ErrorKind::NotFound);
        for body in [
            r#"{"header":{"isSuccessful":true,"resultCode":0}}"#,
            r#"{"header":{"isSuccessful":true,"resultCode":0},"instances":[{"name":"x"}]}"#,
            r#"{"header":{"isSuccessful":true,"resultCode":0},"instances":[{"id":7}]}"#,
            r#"{"header":{"isSuccessful":true,"resultCode":0},"instances":{"id":"i"}}"#,
            "not json",
        ] {
            let e = decode(body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{body}: {e}");
            assert!(e.to_string().contains("toast"), "{e}");
        }
    }
}

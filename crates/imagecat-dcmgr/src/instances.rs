//! The instance index behind usage: `GET {base}/instances?state=alive&
//! sort_by=id.asc&start=S&limit=L`, the same `[{total,start,limit,results}]`
//! document as the image index. `state=alive` is every state but
//! `terminated`; a `terminated` row that shows up anyway is dropped. Every
//! instance has an `image_id` (DCMGR has no boot-from-volume variant); one
//! without it is kept as unresolved.

use imagecat_core::raw::Page;
use imagecat_core::raw::lenient;
use imagecat_core::{InstanceRef, Result, UsageScope};
use imagecat_http::{HttpResponse, Url, endpoint};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::BACKEND;
use crate::source::index_of;

/// The final state: the only one that no longer uses its image.
pub(crate) const TERMINATED: &str = "terminated";

/// The index URL of one page of live instances, in id order (so that an
/// instance created during the walk cannot push another out of reach).
pub(crate) fn index_url(base: &Url, start: u64, limit: u32) -> Result<Url> {
    let mut url = endpoint::join_segments(BACKEND, base, &["instances"])?;
    url.query_pairs_mut()
        .append_pair("state", "alive")
        .append_pair("sort_by", "id.asc")
        .append_pair("start", &start.to_string())
        .append_pair("limit", &limit.to_string());
    Ok(url)
}

/// The fields of one instance that usage reads.
#[derive(Debug, Deserialize)]
struct WireInstance {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    image_id: Option<String>,
}

/// One instance document; `None` for a terminated one.
fn decode_instance(raw: &RawValue) -> std::result::Result<Option<InstanceRef>, String> {
    let wire: WireInstance =
        serde_json::from_str(raw.get()).map_err(|e| format!("cannot decode instance: {e}"))?;
    if wire.state.as_deref() == Some(TERMINATED) {
        return Ok(None);
    }
    InstanceRef::from_record(wire.id, wire.display_name, wire.state, wire.image_id).map(Some)
}

/// Builds the instance page from a decoded index answering `start`.
pub(crate) fn page_of(
    response: &HttpResponse,
    start: u64,
    scope: UsageScope,
) -> Result<Page<InstanceRef>> {
    let (items, next, total) = index_of(response, start, "instance", |raw| decode_instance(&raw))?;
    let page = Page::new(items.into_iter().flatten().collect(), next).with_scope(scope);
    Ok(match total {
        Some(total) => page.with_total(total),
        None => page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;
    use imagecat_core::raw::PageToken;
    use imagecat_core::usage::BootSource;

    fn page(body: &str, start: u64) -> Result<Page<InstanceRef>> {
        page_of(
            &HttpResponse::from_body(BACKEND, 200, body.as_bytes().to_vec()),
            start,
            UsageScope::AllTenants,
        )
    }

    #[test]
    fn the_reference_document_decodes_and_terminated_rows_are_dropped() {
        let body = r#"[{"total":4,"start":0,"limit":3,"results":[
          {"id":"i-aaaa","account_id":"a-x","image_id":"wmi-a","state":"running","status":"online","display_name":"web","volume":[{"vol_id":"vol-1"}],"boot_volume_id":"vol-1"},
          {"id":"i-bbbb","image_id":"wmi-a","state":"halting","display_name":""},
          {"id":"i-cccc","image_id":"wmi-b","state":"terminated"}]}]"#;
        let p = page(body, 0).unwrap();
        let ids: Vec<_> = p.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["i-aaaa", "i-bbbb"]);
        assert_eq!(p.items[0].name.as_deref(), Some("web"));
        assert_eq!(p.items[1].name, None);
        assert_eq!(p.items[1].status, "halting");
        assert_eq!(p.next, Some(PageToken::Offset(3)));
        assert_eq!(p.total, Some(4));
    }

    #[test]
    fn bad_documents_are_typed_errors_naming_the_instance() {
        for body in [
            r#"[{"total":1,"start":0,"results":[{"image_id":"wmi-a"}]}]"#,
            r#"[{"total":1,"start":0,"results":[{"id":["i-1"]}]}]"#,
            r#"[{"total":1,"start":0,"results":"nope"}]"#,
            "<html>",
        ] {
            let e = page(body, 0).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{body}: {e}");
            assert!(e.to_string().contains("dcmgr"), "{e}");
        }
        let no_image = page(
            r#"[{"total":1,"start":0,"results":[{"id":"i-1","state":"running"}]}]"#,
            0,
        )
        .unwrap();
        assert!(matches!(
            no_image.items[0].boot,
            BootSource::Unresolved { .. }
        ));
    }

    #[test]
    fn the_url_asks_for_live_instances_in_id_order() {
        let base = Url::parse("http://h:9001/api/12.03").unwrap();
        assert_eq!(
            index_url(&base, 250, 250).unwrap().as_str(),
            "http://h:9001/api/12.03/instances?state=alive&sort_by=id.asc&start=250&limit=250"
        );
    }
}

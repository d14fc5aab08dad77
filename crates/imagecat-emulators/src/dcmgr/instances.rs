//! The DCMGR emulator's instance index, as WV `endpoints/12.03/instances.rb`
//! serves it: `GET {base}/instances[.json]` with `state` (an exact state,
//! or `alive`, `alive_with_terminated`, `without_terminated`; anything else
//! 400 `"143"`), `start`/`limit` (digits only, else 400; `limit` 250 when
//! absent or 0), `sort_by` (`id`, `id.asc`, `id.desc`; default `id DESC`),
//! `account_id` (overwritten by `X-VDC-Account-UUID`), unknown parameters
//! ignored (there is no `image_id` filter), the `[{total,start,limit,
//! results}]` document, and terminated rows kept forever (soft delete).

use axum::routing::get;

use super::*;
pub(super) use crate::instances::InstanceSet;
use crate::instances::{EmulatedInstance, seed};

/// The states served, in seeding order: every one but `terminated` uses
/// the image.
pub const STATES: [&str; 12] = [
    "running",
    "stopped",
    "terminated",
    "pending",
    "halted",
    "shuttingdown",
    "initializing",
    "terminated",
    "stopping",
    "starting",
    "scheduling",
    "halting",
];

/// The final state.
pub const TERMINATED: &str = "terminated";

/// The instance routes (their own state next to the emulator's), with the
/// request id stamped as on every DCMGR answer.
pub(super) fn routes(base: &str, inner: Arc<Inner>, set: Arc<InstanceSet>) -> Router {
    Router::new()
        .route(&format!("{base}/instances"), get(list_instances))
        .route(&format!("{base}/instances.json"), get(list_instances))
        .with_state((Arc::clone(&inner), set))
        .layer(map_response_with_state(inner, with_request_id))
}

/// Seeds `n` instances over these images (the listing's order), accounts
/// cycling through the configured ones, ids `i-` plus 8 base-36 digits.
pub(super) fn seeded(config: &DcmgrEmulatorConfig, images: &[String]) -> Vec<EmulatedInstance> {
    let seed_value = config.seed;
    seed(config.instances, images, &STATES, &config.accounts, |k| {
        format!(
            "i-{}",
            base36_8(splitmix64(seed_value ^ 0x1_2003 ^ k as u64) % ID_SPACE)
        )
    })
}

/// Which states a `state` value selects; `None` for an invalid one.
fn selects(state: Option<&str>) -> Option<fn(&str) -> bool> {
    Some(match state {
        None | Some("") => |_| true,
        Some("alive") => |s| s != TERMINATED,
        // Rows terminated within the recent period: the emulator keeps
        // none recent, so this is `alive` plus nothing.
        Some("alive_with_terminated") => |s| s != TERMINATED,
        Some("without_terminated") => |s| matches!(s, "running" | "stopped" | "halted"),
        Some("running") => |s| s == "running",
        Some("stopped") => |s| s == "stopped",
        Some("halted") => |s| s == "halted",
        Some("terminated") => |s| s == TERMINATED,
        Some(_) => return None,
    })
}

async fn list_instances(
    State((inner, set)): State<(Arc<Inner>, Arc<InstanceSet>)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(canned) = set.next_canned() {
        return canned;
    }
    let account = match account_of(&inner, &headers) {
        Ok(account) => account,
        Err(refused) => return *refused,
    };
    let params = query_params(&uri);
    let Some(keep) = selects(params.get("state").map(String::as_str)) else {
        return invalid_parameter("state");
    };
    let number = |key: &str| match params.get(key) {
        None => Ok(0),
        Some(text) => digits(text).ok_or(key.to_owned()),
    };
    let (start, limit) = match (number("start"), number("limit")) {
        (Ok(start), Ok(limit)) => (start, if limit == 0 { 250 } else { limit }),
        (Err(key), _) | (_, Err(key)) => return invalid_parameter(&key),
    };
    let ascending = match params.get("sort_by").map(String::as_str) {
        None | Some("id.desc") => false,
        Some("id" | "id.asc") => true,
        Some(_) => return invalid_parameter("sort_by"),
    };
    let owner = account.or_else(|| params.get("account_id").cloned());
    let empty = set.before_page(start, limit, |i| {
        keep(&i.status) && owner.as_ref().is_none_or(|o| *o == i.account_id)
    });
    let mut rows: Vec<EmulatedInstance> = set
        .served("http://dcmgr.invalid/api/12.03")
        .into_iter()
        .filter(|i| keep(&i.status))
        .filter(|i| owner.as_ref().is_none_or(|o| *o == i.account_id))
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    if !ascending {
        rows.reverse();
    }
    let total = rows.len() as u64;
    let page: Vec<serde_json::Value> = rows
        .iter()
        .filter(|_| !empty)
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(wire_instance)
        .collect();
    let body =
        serde_json::json!([{"total": total, "start": start, "limit": limit, "results": page}]);
    json_bytes(200, serde_json::to_vec(&body).unwrap_or_default())
}

/// One instance document (WV `responses/instance.rb`).
fn wire_instance(i: &EmulatedInstance) -> serde_json::Value {
    let at = "2013-02-01T00:00:00Z";
    let terminated = (i.status == TERMINATED).then_some(at);
    let online = matches!(
        i.status.as_str(),
        "running" | "starting" | "stopping" | "shuttingdown" | "halting"
    );
    let volume = format!("vol-{}", i.id.trim_start_matches("i-"));
    serde_json::json!({
        "id": i.id,
        "account_id": i.account_id,
        "host_node": "hn-demo1",
        "cpu_cores": 1,
        "memory_size": 512,
        "arch": "x86_64",
        "image_id": i.image_id,
        "created_at": at,
        "updated_at": at,
        "terminated_at": terminated,
        "deleted_at": terminated,
        "state": i.status,
        "status": if online { "online" } else { "offline" },
        "ssh_key_pair": null,
        "volume": [{"vol_id": volume, "state": "attached"}],
        "vif": [],
        "hostname": i.id.trim_start_matches("i-"),
        "ha_enabled": 0,
        "hypervisor": "kvm",
        "display_name": i.name,
        "service_type": "std",
        "monitoring": {"enabled": false, "mail_address": [], "items": {}},
        "labels": [],
        "boot_volume_id": volume,
    })
}

crate::instances::instance_methods!(DcmgrEmulator, set_instance_state, "state", |path| path
    .contains("/instances"));

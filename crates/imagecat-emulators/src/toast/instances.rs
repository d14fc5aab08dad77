//! The TOAST emulator's Compute Instance API v1.0 listing:
//! `GET {base}/v1.0/appkeys/{appkey}/instances-detail[?id=]`, the same
//! token check and `header` envelope as the image API (HTTP 200 always), no
//! paging, `image` a plain string, and an `instances` array even for one
//! `id`. v1 lists every status (`DELETING` included); it has no final one.

use axum::routing::get;

use super::*;
pub(super) use crate::instances::InstanceSet;
use crate::instances::{EmulatedInstance, seed};

/// The status words served, in seeding order (all of them use the image).
pub const STATUSES: [&str; 8] = [
    "ACTIVE",
    "STOP",
    "BUILD",
    "ERROR",
    "DELETING",
    "REBOOTING",
    "POWERING_OFF",
    "RESIZING",
];

/// The instance routes, with their own state next to the emulator's.
pub(super) fn routes(base: &str, emu: Arc<Emu>, set: Arc<InstanceSet>) -> Router {
    Router::new()
        .route(
            &format!("{base}/v1.0/appkeys/{{appkey}}/instances-detail"),
            get(list_instances),
        )
        .with_state((emu, set))
}

/// The seeded instances of an emulator: over its first images, statuses
/// cycling through [`STATUSES`], ids UUIDs derived from the seed.
pub(super) fn seeded(emu: &Emu) -> Vec<EmulatedInstance> {
    let images: Vec<String> = (0..emu.seeded_len().min(20))
        .map(|i| emu.ids.id(i))
        .collect();
    let seed_value = emu.config.seed;
    seed(
        emu.config.instances,
        &images,
        &STATUSES,
        std::slice::from_ref(&emu.config.appkey),
        |k| {
            let bits = u128::from(splitmix64(seed_value ^ 0x1157_u64 ^ (k as u64)))
                | (u128::from(splitmix64(k as u64 + 1)) << 64);
            uuid::Uuid::from_u128(bits).hyphenated().to_string()
        },
    )
}

async fn list_instances(
    State((emu, set)): State<(Arc<Emu>, Arc<InstanceSet>)>,
    path: PathArg,
    query: QueryArg,
    headers: HeaderMap,
) -> Response {
    if let Some(canned) = set.next_canned() {
        return canned;
    }
    let Ok(Path(appkey)) = path else {
        return failure(-3, "Permission denied : invalid appkey");
    };
    if let Some(refused) = emu.check_auth(&emu.lock(), &appkey, &headers) {
        return refused;
    }
    let Ok(Query(pairs)) = query else {
        return failure(-4, "Invalid parameters : query");
    };
    let Ok(id) = single(&pairs, "id") else {
        return failure(-4, "Invalid parameters : id");
    };
    let listed: Vec<serde_json::Value> = set
        .served("https://api-image.cloud.toast.com/image/v2")
        .iter()
        .filter(|i| id.is_none_or(|id| id.is_empty() || id == i.id))
        .map(wire_instance)
        .collect();
    let body = serde_json::json!({
        "header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
        "instances": listed,
    });
    json_bytes_response(200, serde_json::to_vec(&body).unwrap_or_default())
}

/// One instance as the detail list writes it (CINST `en/old/api-guide.md`).
fn wire_instance(i: &EmulatedInstance) -> serde_json::Value {
    let at = "2017-05-16T02:17:50.166563";
    serde_json::json!({
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "image": i.image_id.clone().unwrap_or_default(),
        "flavor": {"id": "f3d6b6d8-4a5c-4a4e-9a31-2d0d0e7ba1a1", "name": "t2.c1m1", "cpu": 1, "ram": 1024},
        "volumes": {"root": {"size": 20, "type": "General HDD"}, "attachments": []},
        "launchedAt": at,
        "createdAt": at,
        "updatedAt": at,
        "availabilityZone": "kr-pub-a",
        "keyName": "emulator-key",
        "metadata": {},
        "addresses": [{"macAddress": "fa:16:3e:00:00:01", "ipAddress": "192.168.0.10", "version": 4, "floatingIpAddress": null}],
        "securityGroups": [{"name": "default"}],
    })
}

crate::instances::instance_methods!(ToastEmulator, set_instance_status, "status", |path| path
    .ends_with("/instances-detail"));

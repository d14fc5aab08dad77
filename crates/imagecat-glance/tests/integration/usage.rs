//! Usage on the Glance backend against the emulator's Nova and Cinder:
//! the exact in-use set over several `servers_links` pages (every
//! non-final status counted, `DELETED` not), volume-booted servers
//! resolved through `volume_image_metadata`, an unreadable volume making
//! every other image unknown, the `all_tenants` 403 fallback to the own
//! project, a failing or lying page, and a catalog without a compute
//! endpoint.

use std::collections::BTreeSet;

use crate::support::TOKEN;
use imagecat_core::raw::PageSource as _;
use imagecat_core::usage::{FoundVia, ImageUsage, UnknownReason, UsageScan, UsageScope};
use imagecat_core::{ErrorKind, Image, ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery};
use imagecat_emulators::glance::{
    CinderVolume, GlanceEmulator, GlanceEmulatorConfig, KeystoneUser, NovaServer, ServerBoot,
    seeded_id,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::{GlanceBuilder, GlanceCatalog};
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::conformance::usage::{in_use_ids, is_unknown_for_lack_of_support};
use imagecat_testkit::listing::test_http;

fn http() -> HttpOptions {
    test_http(2)
}

async fn emulator() -> GlanceEmulator {
    let config = GlanceEmulatorConfig::default().keystone(KeystoneUser::default());
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    emu.clear_servers();
    emu
}

/// Keystone v3: every endpoint from the token's catalog.
fn keystone(emu: &GlanceEmulator) -> GlanceCatalog {
    keystone_with(emu, http())
}

fn keystone_with(emu: &GlanceEmulator, http: HttpOptions) -> GlanceCatalog {
    crate::support::keystone_v3(emu, KeystoneUser::default())
        .http_options(http)
        .build()
        .expect("the catalog builds")
}

fn static_token(emu: &GlanceEmulator) -> GlanceBuilder {
    GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new(TOKEN))
        .http_options(http())
}

fn id(i: u64) -> String {
    seeded_id(i)
}

async fn image(catalog: &GlanceCatalog, i: u64) -> Image {
    catalog.get(&ImageId::new(id(i))).await.expect("get")
}

fn server(n: u64, image: u64) -> NovaServer {
    NovaServer::new(format!("5e7e0000-0000-4000-8000-{n:012x}"), id(image))
}

fn volume_id(n: u64) -> String {
    format!("0b0e0000-0000-4000-8000-{n:012x}")
}

/// A server booted from volume `n`, made from `image` (or blank).
fn volume_booted(emu: &GlanceEmulator, n: u64, image: Option<u64>) -> NovaServer {
    let s = server(n, 0).boot(ServerBoot::Volume(volume_id(n)));
    let mut v = CinderVolume::new(volume_id(n), image.map(id).as_deref());
    v.server_id = Some(s.id.clone());
    emu.insert_volume(v);
    s
}

/// Private images (seeded index % 7 in {1, 4, 6}): 1 4 6 8 11 13 15 18 20.
const A: u64 = 1;
const B: u64 = 4;
const C: u64 = 6;
const D: u64 = 8;
const E: u64 = 15;
const F: u64 = 18;
const UNUSED: u64 = 20;
const PUBLIC_UNUSED: u64 = 0;

/// Servers of every status, one of another project, two volume-booted.
fn seed(emu: &GlanceEmulator) {
    emu.insert_server(server(1, A));
    emu.insert_server(server(2, B).status("SHUTOFF").tenant("project-b"));
    emu.insert_server(server(3, C).status("SHELVED_OFFLOADED"));
    emu.insert_server(server(4, D).status("ERROR"));
    emu.insert_server(server(5, E).status("DELETED"));
    let by_volume = volume_booted(emu, 6, Some(F));
    emu.insert_server(by_volume);
    let blank = volume_booted(emu, 7, None);
    emu.insert_server(blank);
}

/// The query strings of the `servers/detail` requests, in order.
fn server_queries(emu: &GlanceEmulator) -> Vec<String> {
    emu.server()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/servers/detail"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect()
}

fn used(scan: &UsageScan) -> BTreeSet<String> {
    scan.used_images().map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn an_admin_scan_finds_exactly_the_seeded_users_over_several_pages() {
    let emu = emulator().await;
    emu.set_admin(true);
    seed(&emu);
    let catalog = keystone(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new().page_size(2)).await;
    assert!(scan.is_complete(), "{scan:?}");
    assert_eq!(scan.scope(), UsageScope::AllTenants);
    let used = used(&scan);
    let want: BTreeSet<String> = [A, B, C, D, F].into_iter().map(id).collect();
    assert_eq!(used, want);
    // The DELETED server is not counted; six live servers were seen.
    assert_eq!(scan.instance_count(), 6);
    assert_eq!(
        scan.usage_of(&image(&catalog, E).await),
        ImageUsage::NotInUse
    );
    assert_eq!(
        scan.usage_of(&image(&catalog, UNUSED).await),
        ImageUsage::NotInUse
    );
    assert_eq!(
        scan.usage_of(&image(&catalog, PUBLIC_UNUSED).await),
        ImageUsage::NotInUse
    );
    match scan.usage_of(&image(&catalog, F).await) {
        ImageUsage::InUse { instances } => {
            assert_eq!(instances.len(), 1);
            assert_eq!(instances[0].via, FoundVia::RootVolume);
            assert_eq!(instances[0].instance_id, server(6, 0).id);
        }
        other => panic!("expected in use, got {other:?}"),
    }
    let b = scan.usage_of(&image(&catalog, B).await);
    assert_eq!(in_use_ids(&b), [server(2, 0).id]);
    // Four pages of two (the last one empty after a full one), all with
    // all_tenants, each after the previous page's last server.
    let pages = server_queries(&emu);
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert!(
        pages.iter().all(|q| q.contains("all_tenants=True")),
        "{pages:?}"
    );
}

#[tokio::test]
async fn a_scan_for_one_image_keeps_its_users_and_says_unknown_for_others() {
    let emu = emulator().await;
    emu.set_admin(true);
    seed(&emu);
    let catalog = keystone(&emu);
    let f = image(&catalog, F).await;
    let a = image(&catalog, A).await;
    let usage = catalog.usage_of(std::slice::from_ref(&f)).await;
    assert_eq!(in_use_ids(&usage[0]), [server(6, 0).id]);
    let scan = catalog
        .usage_scan(InstanceQuery::new().image(f.id.clone()))
        .await;
    assert_eq!(scan.usage_of(&f).as_str(), "in_use");
    assert_eq!(scan.usage_of(&a).as_str(), "unknown");
    // `?image=` is never sent: it would hide volume-booted users like F's.
    assert!(
        emu.server()
            .requests()
            .iter()
            .filter_map(|r| r.query.as_deref())
            .all(|q| !q.contains("image=")),
    );
}

#[tokio::test]
async fn an_unreadable_root_volume_makes_every_other_image_unknown() {
    let emu = emulator().await;
    emu.set_admin(true);
    seed(&emu);
    let lost = volume_booted(&emu, 8, Some(UNUSED));
    emu.insert_server(lost);
    assert!(emu.remove_volume(&volume_id(8)));
    let catalog = keystone(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    for i in [UNUSED, E, PUBLIC_UNUSED] {
        match scan.usage_of(&image(&catalog, i).await) {
            ImageUsage::Unknown {
                reason: UnknownReason::UnresolvedInstances { instances, count },
            } => {
                assert_eq!(instances, [server(8, 0).id]);
                assert_eq!(count, 1);
            }
            other => panic!("image {i}: expected unknown, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_server_without_an_image_field_is_unresolved_not_absent() {
    let emu = emulator().await;
    emu.set_admin(true);
    emu.insert_server(server(1, A));
    emu.insert_server(server(9, 0).boot(ServerBoot::Missing));
    let catalog = keystone(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    assert!(matches!(
        scan.usage_of(&image(&catalog, UNUSED).await),
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { .. }
        }
    ));
}

#[tokio::test]
async fn a_refused_all_tenants_falls_back_to_the_own_project() {
    let emu = emulator().await;
    seed(&emu);
    let catalog = keystone(&emu);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete(), "{scan:?}");
    assert_eq!(scan.scope(), UsageScope::OwnTenant);
    // B's only user is another project's: not seen, and B is private, so
    // the own project's answer is complete for it.
    let used = used(&scan);
    let want: BTreeSet<String> = [A, C, D, F].into_iter().map(id).collect();
    assert_eq!(used, want);
    assert_eq!(
        scan.usage_of(&image(&catalog, UNUSED).await),
        ImageUsage::NotInUse
    );
    assert_eq!(
        scan.usage_of(&image(&catalog, PUBLIC_UNUSED).await),
        ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope {
                scope: UsageScope::OwnTenant
            }
        }
    );
    let queries = server_queries(&emu);
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(queries[0].contains("all_tenants=True") && !queries[1].contains("all_tenants"));
    assert_eq!(
        catalog.info().capabilities.usage,
        Some(UsageScope::OwnTenant)
    );
}

#[tokio::test]
async fn a_failing_page_makes_unrecorded_images_unknown() {
    let emu = emulator().await;
    let catalog = keystone(&emu);
    let compute = emu.compute_endpoint();
    let first = serde_json::json!({
        "servers": [{"id": server(1, 0).id, "name": "web", "status": "ACTIVE",
                     "image": {"id": id(A), "links": []}}],
        "servers_links": [{"rel": "next",
                           "href": format!("{compute}/servers/detail?limit=1&marker={}", server(1, 0).id)}],
    });
    emu.push_compute_response(200, "application/json", first.to_string());
    emu.push_compute_response(200, "application/json", "{\"servers\": [{\"id\": 7}]}");
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(!scan.is_complete());
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    match scan.usage_of(&image(&catalog, UNUSED).await) {
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => assert!(message.contains("glance"), "{message}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_next_link_off_the_compute_endpoint_is_refused() {
    let emu = emulator().await;
    let catalog = keystone(&emu);
    let page = serde_json::json!({
        "servers": [{"id": server(1, 0).id, "status": "ACTIVE", "image": {"id": id(A)}}],
        "servers_links": [{"rel": "next", "href": "http://evil.example/v2.1/servers/detail?marker=x"}],
    });
    emu.push_compute_response(200, "application/json", page.to_string());
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(!scan.is_complete());
    assert_eq!(
        scan.usage_of(&image(&catalog, UNUSED).await).as_str(),
        "unknown"
    );
    assert!(
        emu.server()
            .requests()
            .iter()
            .all(|r| r.query.as_deref().is_none_or(|q| !q.contains("marker=x")))
    );
}

#[tokio::test]
async fn configured_endpoints_work_with_a_static_token() {
    let emu = emulator().await;
    emu.set_admin(true);
    seed(&emu);
    let catalog = static_token(&emu)
        .compute_endpoint(emu.compute_endpoint())
        .volume_endpoint(emu.volume_endpoint())
        .build()
        .unwrap();
    assert_eq!(
        catalog.info().capabilities.usage,
        Some(UsageScope::AllTenants)
    );
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    let used = used(&scan);
    let want: BTreeSet<String> = [A, B, C, D, F].into_iter().map(id).collect();
    assert_eq!(used, want);
    // Without a volume endpoint the volume-booted servers are unresolved.
    let catalog = static_token(&emu)
        .compute_endpoint(emu.compute_endpoint())
        .build()
        .unwrap();
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    match scan.usage_of(&image(&catalog, F).await) {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { count, .. },
        } => assert_eq!(count, 2),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn no_compute_endpoint_means_no_usage_and_says_what_is_missing() {
    let emu = emulator().await;
    seed(&emu);
    let catalog = static_token(&emu).build().unwrap();
    assert_eq!(catalog.info().capabilities.usage, None);
    let usage = catalog.usage_of(&[image(&catalog, UNUSED).await]).await;
    assert!(is_unknown_for_lack_of_support(&usage[0]), "{usage:?}");
    let e = catalog
        .source()
        .instance_page(&InstanceQuery::new(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    assert!(e.to_string().contains("compute endpoint"), "{e}");
    assert_eq!(emu.compute_request_count(), 0);
}

#[tokio::test]
async fn the_emulator_serves_nova_as_nova_does() {
    let emu = emulator().await;
    seed(&emu);
    let http = imagecat_http::reqwest::Client::new();
    let get = |query: &str| {
        let url = format!("{}/servers/detail?{query}", emu.compute_endpoint());
        let request = http.get(url).header("x-auth-token", TOKEN);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        }
    };
    let (status, body) = get("all_tenants=1").await;
    assert_eq!(status, 403);
    assert!(
        body["forbidden"]["message"]
            .as_str()
            .unwrap()
            .contains("get_all_tenants")
    );
    let (_, own) = get("").await;
    let statuses: Vec<&str> = own["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        !statuses.contains(&"DELETED") && statuses.len() == 5,
        "{statuses:?}"
    );
    let (_, since) = get("changes-since=2000-01-01T00:00:00Z").await;
    assert!(
        since["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "DELETED")
    );
    let (_, by_image) = get(&format!("image={}", id(A))).await;
    assert_eq!(by_image["servers"].as_array().unwrap().len(), 1);
    let (_, by_volume) = get(&format!("image={}", id(F))).await;
    assert_eq!(by_volume["servers"].as_array().unwrap().len(), 0);
    let (_, page) = get("limit=2").await;
    let next = page["servers_links"][0]["href"].as_str().unwrap();
    assert!(
        next.starts_with(&emu.compute_endpoint()) && next.contains("marker="),
        "{next}"
    );
    let (status, _) = get("limit=x").await;
    assert_eq!(status, 400);
    let (status, body) = get("marker=5e7e0000-0000-4000-8000-0000000000ff").await;
    assert_eq!(status, 400);
    assert!(
        body["badRequest"]["message"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
}

#[tokio::test]
async fn deleted_servers_that_are_listed_anyway_are_not_users() {
    let emu = emulator().await;
    let catalog = keystone(&emu);
    let page = serde_json::json!({"servers": [
        {"id": server(1, 0).id, "status": "ACTIVE", "image": {"id": id(A)}},
        {"id": server(2, 0).id, "status": "DELETED", "image": {"id": id(E)}},
        {"id": server(3, 0).id, "status": "SOFT_DELETED", "image": {"id": id(C)}},
    ]});
    emu.push_compute_response(200, "application/json", page.to_string());
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    assert_eq!(
        scan.usage_of(&image(&catalog, E).await),
        ImageUsage::NotInUse
    );
    assert_eq!(scan.usage_of(&image(&catalog, C).await).as_str(), "in_use");
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
}

/// The answers of a scan over seeded images `0..n`, as strings.
async fn answers(catalog: &GlanceCatalog, n: u64) -> Vec<String> {
    let mut images = Vec::new();
    for i in 0..n {
        images.push(image(catalog, i).await);
    }
    catalog
        .usage_of(&images)
        .await
        .iter()
        .map(|u| format!("{u:?}"))
        .collect()
}

async fn seeded_emulator(faults: imagecat_emulators::faults::FaultPlan) -> GlanceEmulator {
    let config = GlanceEmulatorConfig::default()
        .instances(120)
        .keystone(KeystoneUser::default());
    let options = ServeOptions::with_faults(faults);
    let emu = GlanceEmulator::start(config, options).await.unwrap();
    emu.set_admin(true);
    emu
}

#[tokio::test]
async fn seeded_servers_give_the_same_answers_under_transient_faults() {
    use imagecat_emulators::faults::{FaultKind, FaultPlan};
    let calm = seeded_emulator(FaultPlan::none()).await;
    let calm_catalog = keystone(&calm);
    let want = answers(&calm_catalog, 30).await;
    // The seeded set has users found both ways, unresolved-free (every
    // volume exists), so some images are in use and some not.
    assert!(want.iter().any(|a| a.contains("RootVolume")), "{want:?}");
    assert!(want.iter().any(|a| a == "NotInUse"), "{want:?}");
    let transient = [
        FaultKind::Status500,
        FaultKind::Status503,
        FaultKind::RateLimited,
        FaultKind::Reset,
    ];
    let stormy = seeded_emulator(FaultPlan::new(0.3, &transient, 11).retry_after_secs(0)).await;
    let catalog = keystone_with(&stormy, test_http(12));
    assert_eq!(answers(&catalog, 30).await, want);
    assert!(!stormy.server().injected_faults().is_empty());
}

#[tokio::test]
async fn a_wrong_shaped_volume_answer_leaves_its_server_unresolved() {
    let emu = emulator().await;
    let catalog = keystone(&emu);
    let page = serde_json::json!({"servers": [
        {"id": server(1, 0).id, "status": "ACTIVE", "image": {"id": id(A)}},
        {"id": server(2, 0).id, "status": "ACTIVE", "image": "",
         "os-extended-volumes:volumes_attached": [{"id": volume_id(2)}]},
    ]});
    emu.push_compute_response(200, "application/json", page.to_string());
    emu.push_compute_response(200, "application/json", r#"{"volume": {"id": 7}}"#);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    assert_eq!(scan.usage_of(&image(&catalog, A).await).as_str(), "in_use");
    assert!(matches!(
        scan.usage_of(&image(&catalog, UNUSED).await),
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { count: 1, .. }
        }
    ));
}

#[tokio::test]
async fn a_hostile_volume_id_is_never_sent_and_leaves_its_server_unresolved() {
    let emu = emulator().await;
    let catalog = keystone(&emu);
    let page = serde_json::json!({"servers": [
        {"id": "\u{1b}]0;pwned\u{7}", "name": "\u{1b}[2J", "status": "ACTIVE", "image": "",
         "os-extended-volumes:volumes_attached": [{"id": "../../../v2/images"}]},
    ]});
    emu.push_compute_response(200, "application/json", page.to_string());
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    assert!(matches!(
        scan.usage_of(&image(&catalog, UNUSED).await),
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { count: 1, .. }
        }
    ));
    assert!(
        emu.server()
            .requests()
            .iter()
            .all(|r| !r.path.contains("volumes")),
        "a volume request was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_conformance() {
    use imagecat_testkit::conformance::usage::{UsageFixture, run_usage};
    use std::collections::HashMap;
    use std::sync::Arc;
    let emu = Arc::new(seeded_emulator(imagecat_emulators::faults::FaultPlan::none()).await);
    let mut instances = Vec::new();
    let mut users: HashMap<ImageId, Vec<String>> = HashMap::new();
    for s in emu.servers().into_iter().filter(|s| s.status != "DELETED") {
        instances.push(s.id.clone());
        let image = match &s.boot {
            ServerBoot::Image(i) => Some(i.clone()),
            ServerBoot::Volume(v) => emu.volume(v).and_then(|v| v.image_id),
            ServerBoot::Missing => None,
        };
        if let Some(image) = image {
            users
                .entry(ImageId::new(image))
                .or_default()
                .push(s.id.clone());
        }
    }
    assert!(users.len() >= 10 && instances.len() >= 80, "a useful seed");
    let failing = Arc::clone(&emu);
    let counting = Arc::clone(&emu);
    let fx = UsageFixture {
        catalog: Arc::new(keystone(&emu)),
        instances,
        users,
        scope: UsageScope::AllTenants,
        fail_next_page: Arc::new(move || {
            failing.push_compute_response(
                400,
                "application/json",
                r#"{"badRequest": {"code": 400, "message": "injected"}}"#,
            )
        }),
        instance_requests: Arc::new(move || counting.compute_request_count() as u64),
    };
    let report = run_usage(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

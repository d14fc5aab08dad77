//! The Glance adapter against the Glance v2 emulator: the conformance
//! suite (static token, Keystone v2.0 and v3 with the endpoint from the
//! service catalog), large catalogs, `next` links, vanished markers, the
//! filters sent to the server, the error mapping, hostile ids, tokens
//! (proactive renewal, single flight, re-authentication after a 401) and
//! faults.

use imagecat_core::raw::PageSource as _;
use std::sync::Arc;
use std::time::Duration;

use crate::support::TOKEN;
use futures::{StreamExt, TryStreamExt};
use imagecat_core::raw::PageToken;
use imagecat_core::{
    Deleted, ErrorKind, ImageCatalog, ImageCatalogExt, ImageId, ImageStatus, ListQuery, Visibility,
};
use imagecat_emulators::faults::{FaultKind, FaultPlan};
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, GlanceImage, KEYSTONE_USERNAME, KeystoneUser, PROJECT_ID,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::{GlanceBuilder, GlanceCatalog};
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete, run_all};
use imagecat_testkit::listing::test_http;

async fn emulator(config: GlanceEmulatorConfig) -> GlanceEmulator {
    GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

fn static_catalog(emu: &GlanceEmulator, http: HttpOptions) -> GlanceCatalog {
    GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new(TOKEN))
        .http_options(http)
        .build()
        .expect("the catalog builds")
}

fn keystone_user() -> KeystoneUser {
    KeystoneUser {
        password: "keystone-secret-password".into(),
        ..KeystoneUser::default()
    }
}

fn v2_builder(emu: &GlanceEmulator) -> GlanceBuilder {
    let user = keystone_user();
    GlanceCatalog::builder()
        .keystone_v2(
            emu.identity_v2_url(),
            user.project_id,
            user.username,
            SecretString::new(user.password),
        )
        .region("RegionOne")
        .http_options(test_http(6))
}

fn v3_builder(emu: &GlanceEmulator) -> GlanceBuilder {
    crate::support::keystone_v3(emu, keystone_user()).http_options(test_http(6))
}

/// A conformance fixture over `emu` (which gets one image with an unknown
/// status), with a lying twin emulator for the repeated-pages case.
async fn fixture(
    emu: &GlanceEmulator,
    catalog: GlanceCatalog,
    secrets: Vec<String>,
) -> (Fixture, GlanceEmulator) {
    let mut odd = GlanceImage::new("0dd0dd00-0000-4000-8000-000000000001", "odd-status");
    odd.status = "frozen".into();
    odd.created_at = emu.seeded_image(30).created_at + chrono::Duration::milliseconds(500);
    emu.insert(odd);
    let lying_emu = emulator(GlanceEmulatorConfig::default().ignore_marker(true)).await;
    let lying = static_catalog(&lying_emu, test_http(6));
    let fixture = Fixture {
        catalog: Arc::new(catalog),
        requests: Arc::new(emu.image_request_counter()),
        expected: emu.listed_ids().into_iter().map(ImageId::new).collect(),
        deletable: emu.deletable_ids(2).into_iter().map(ImageId::new).collect(),
        missing: ImageId::new(emu.missing_id()),
        invalid: [
            "",
            "../etc",
            "a?b=c",
            "not-a-uuid",
            "9a1ace00-0000-4000-8000-000000000001/file",
            "9a1ace00-0000-4000-8000-000000000001%2F..",
        ]
        .into_iter()
        .map(ImageId::new)
        .collect(),
        unknown_status: Some((
            ImageId::new("0dd0dd00-0000-4000-8000-000000000001"),
            "frozen".into(),
        )),
        after_delete: AfterDelete::NotFound,
        second_delete: SecondDelete::NotFound,
        lying: Some(Arc::new(lying)),
        secrets,
    };
    (fixture, lying_emu)
}

/// The suite with a static token, one test per case.
mod conformance_with_a_static_token {
    use super::*;

    async fn with_a_static_token() -> ((GlanceEmulator, GlanceEmulator), Fixture) {
        let emu = emulator(GlanceEmulatorConfig::default()).await;
        let catalog = static_catalog(&emu, test_http(6));
        let (fx, lying) = fixture(&emu, catalog, vec![TOKEN.into()]).await;
        ((emu, lying), fx)
    }

    imagecat_testkit::conformance_tests!(listing, with_a_static_token().await);
}

#[tokio::test]
async fn conformance_with_keystone_v2_and_the_catalog_endpoint_under_a_base_path() {
    let emu = emulator(
        GlanceEmulatorConfig::default()
            .base_path("/image")
            .keystone(keystone_user()),
    )
    .await;
    let catalog = v2_builder(&emu).build().unwrap();
    let (fx, _lying) = fixture(&emu, catalog, vec![keystone_user().password]).await;
    let report = run_all(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
    // Every image request went under the base path, with an issued token.
    let requests = emu.server().requests();
    let images: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("/v2/images"))
        .collect();
    assert!(!images.is_empty());
    assert!(
        images
            .iter()
            .all(|r| r.path.starts_with("/image/v2/images"))
    );
    assert!(images.iter().all(|r| {
        r.header("x-auth-token")
            .is_some_and(|t| t.starts_with("gAAAA"))
    }));
    assert_eq!(emu.token_request_count(), 1, "one token for the whole run");
}

#[tokio::test]
async fn conformance_with_keystone_v3() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(keystone_user())).await;
    let catalog = v3_builder(&emu).build().unwrap();
    let (fx, _lying) = fixture(&emu, catalog, vec![keystone_user().password]).await;
    let report = run_all(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
    assert_eq!(emu.token_request_count(), 1);
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_large_catalog_pages_by_next_links() {
    let emu = emulator(GlanceEmulatorConfig::default().images(2_500)).await;
    let catalog = static_catalog(&emu, test_http(6));
    let got: Vec<String> = catalog
        .list(ListQuery::new().page_size(100))
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, emu.listed_ids());
    assert!(got.len() > 2_000, "{}", got.len());
    let lists: Vec<_> = emu
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/images")
        .collect();
    // Full pages until the listing runs out; Glance's next link after a
    // full last page leads to one more (short or empty) page.
    assert_eq!(lists.len(), got.len() / 100 + 1);
    let mut previous_last: Option<&str> = None;
    for (n, r) in lists.iter().enumerate() {
        let q = r.query_pairs();
        assert_eq!(param(&q, "limit"), Some("100"), "page {n}");
        assert_eq!(param(&q, "marker"), previous_last, "page {n}");
        previous_last = got.get((n + 1) * 100 - 1).map(String::as_str);
    }
}

#[tokio::test]
async fn the_default_page_size_is_sent_and_capped() {
    let emu = emulator(GlanceEmulatorConfig::default().images(30)).await;
    let catalog = static_catalog(&emu, test_http(6));
    let _ = catalog.collect(ListQuery::new()).await.unwrap();
    let _ = catalog
        .collect(ListQuery::new().page_size(50_000))
        .await
        .unwrap();
    let _ = catalog
        .collect(ListQuery::new().page_size(100))
        .await
        .unwrap();
    let limits: Vec<_> = emu
        .server()
        .requests()
        .iter()
        .map(|r| param(&r.query_pairs(), "limit").map(str::to_owned))
        .collect();
    // The default is the largest page Glance serves.
    assert_eq!(
        limits,
        [Some("1000".into()), Some("1000".into()), Some("100".into())]
    );
}

#[tokio::test]
async fn list_page_returns_the_next_links_marker_and_accepts_link_tokens() {
    let emu = emulator(GlanceEmulatorConfig::default().base_path("/image")).await;
    let catalog = static_catalog(&emu, test_http(6));
    let q = ListQuery::new().page_size(5).name_exact("image-00007");
    let page = catalog
        .source()
        .page(&ListQuery::new().page_size(5), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    let last = page.items[4].id.to_string();
    assert_eq!(page.next, Some(PageToken::Marker(last.clone())));
    // A link token, as Glance writes it (relative, other parameters kept).
    let link = format!("/v2/images?limit=5&marker={last}");
    let second = catalog
        .source()
        .page(&ListQuery::new().page_size(5), Some(PageToken::Link(link)))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 5);
    assert_ne!(second.items[0].id.as_str(), last);
    // A link that leaves the endpoint is refused before any request.
    let before = emu.image_request_count();
    let e = catalog
        .source()
        .page(
            &q,
            Some(PageToken::Link(format!(
                "http://evil.example/v2/images?marker={last}"
            ))),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert_eq!(emu.image_request_count(), before);
    // The last page: no next link, no next token.
    let only = catalog.source().page(&q, None).await.unwrap();
    assert_eq!(only.items.len(), 1);
    assert_eq!(only.next, None);
}

#[tokio::test]
async fn a_vanished_marker_resumes_from_the_image_before_it() {
    let emu = emulator(GlanceEmulatorConfig::default().images(40)).await;
    let catalog = static_catalog(&emu, test_http(6));
    let want = emu.listed_ids();
    let mut stream = catalog.list(ListQuery::new().page_size(10));
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(stream.try_next().await.unwrap().unwrap().id.to_string());
    }
    // The next marker is the 10th image: delete it and the 9th.
    assert!(emu.delete(&got[9]));
    assert!(emu.delete(&got[8]));
    while let Some(image) = stream.try_next().await.unwrap() {
        got.push(image.id.to_string());
    }
    assert_eq!(got, want, "nothing lost, nothing repeated");
    let markers: Vec<_> = emu
        .server()
        .requests()
        .iter()
        .map(|r| param(&r.query_pairs(), "marker").map(str::to_owned))
        .collect();
    assert_eq!(
        &markers[..4],
        [
            None,
            Some(want[9].clone()),
            Some(want[8].clone()),
            Some(want[7].clone())
        ]
    );
}

#[tokio::test]
async fn a_size_range_is_sent_to_glance_and_gives_the_filtered_full_list() {
    let emu = emulator(GlanceEmulatorConfig::default().images(120)).await;
    let catalog = static_catalog(&emu, test_http(6));
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    let mut sizes: Vec<u64> = all.iter().filter_map(|i| i.size_bytes).collect();
    sizes.sort_unstable();
    let (min, max) = (sizes[sizes.len() / 4], sizes[sizes.len() * 3 / 4]);
    emu.server().clear_requests();
    let q = ListQuery::new().size_range(Some(min), Some(max));
    let got: Vec<_> = catalog
        .collect(q.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    let want: Vec<_> = all
        .iter()
        .filter(|i| q.matches(i))
        .map(|i| i.id.clone())
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(got, want);
    let first = emu.server().requests()[0].query_pairs();
    assert_eq!(param(&first, "size_min"), Some(min.to_string().as_str()));
    assert_eq!(param(&first, "size_max"), Some(max.to_string().as_str()));
}

#[tokio::test]
async fn filters_glance_applies_are_sent_to_it() {
    let emu = emulator(GlanceEmulatorConfig::default().images(200)).await;
    let catalog = static_catalog(&emu, test_http(6));
    let q = ListQuery::new()
        .name_exact("image-00042")
        .status(ImageStatus::Active)
        .visibility(Visibility::Private)
        .owner(PROJECT_ID);
    let got = catalog.collect(q.clone()).await.unwrap();
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    let want: Vec<_> = all
        .iter()
        .filter(|i| q.matches(i))
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(got.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), want);
    let first = emu.server().requests()[0].query_pairs();
    assert_eq!(param(&first, "name"), Some("image-00042"));
    assert_eq!(param(&first, "status"), Some("active"));
    assert_eq!(param(&first, "visibility"), Some("private"));
    assert_eq!(param(&first, "owner"), Some(PROJECT_ID));
    // Failed is sent as Glance's word; globs and several statuses are not sent.
    emu.server().clear_requests();
    let failed = catalog
        .collect(ListQuery::new().status(ImageStatus::Failed))
        .await
        .unwrap();
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|i| i.native_status == "killed"));
    let _ = catalog
        .collect(
            ListQuery::new()
                .name("image-0004*")
                .status(ImageStatus::Queued)
                .status(ImageStatus::Saving),
        )
        .await
        .unwrap();
    let sent: Vec<_> = emu
        .server()
        .requests()
        .iter()
        .map(|r| r.query_pairs())
        .collect();
    assert_eq!(param(&sent[0], "status"), Some("killed"));
    let last = sent.last().unwrap();
    assert_eq!(param(last, "name"), None);
    assert_eq!(param(last, "status"), None);
}

#[tokio::test]
async fn the_model_is_decoded_from_glance_documents() {
    let emu = emulator(GlanceEmulatorConfig::default()).await;
    let catalog = static_catalog(&emu, test_http(6));
    let id = emu.seeded_id(10);
    let image = catalog.get(&ImageId::new(id.to_uppercase())).await.unwrap();
    let seeded = emu.seeded_image(10);
    assert_eq!(image.id.as_str(), id);
    assert_eq!(image.name.as_deref(), Some("image-00010"));
    assert_eq!(image.status, ImageStatus::Active);
    assert_eq!(image.visibility, Some(Visibility::Public));
    assert_eq!(image.owner, seeded.owner);
    assert_eq!(image.size_bytes, seeded.size);
    assert_eq!(image.checksum, seeded.checksum);
    assert_eq!(image.min_disk_gb, Some(seeded.min_disk));
    assert_eq!(image.min_ram_mb, Some(seeded.min_ram));
    assert_eq!(image.disk_format, seeded.disk_format);
    assert_eq!(image.protected, Some(seeded.protected));
    assert_eq!(image.created_at, Some(seeded.created_at));
    assert_eq!(image.arch.as_deref(), Some("aarch64"));
    assert_eq!(image.description.as_deref(), Some("Seeded image 10"));
    assert_eq!(image.properties["os_distro"], "centos");
    assert!(!image.properties.contains_key("schema"));
    let native = image.native.unwrap().to_value();
    assert_eq!(native["self"], format!("/v2/images/{id}"));
    // Community images: listed when owned by the caller's project.
    let community = catalog
        .collect(ListQuery::new().visibility(Visibility::Community))
        .await
        .unwrap();
    assert!(!community.is_empty());
    let killed = catalog.get(&ImageId::new(emu.seeded_id(13))).await.unwrap();
    assert_eq!(killed.status, ImageStatus::Failed);
    assert_eq!(killed.size_bytes, None);
}

#[tokio::test]
async fn hostile_ids_are_refused_before_any_request() {
    let emu = emulator(GlanceEmulatorConfig::default()).await;
    let catalog = static_catalog(&emu, test_http(6));
    for id in [
        "",
        "..",
        "../../v2/images",
        "9a1ace00-0000-4000-8000-000000000001/file",
        "9a1ace00-0000-4000-8000-000000000001?limit=1",
        "9a1ace00-0000-4000-8000-000000000001#x",
        "%39a1ace00-0000-4000-8000-000000000001",
        "9a1ace00-0000-4000-8000-0000000000011",
        "\u{0}",
    ] {
        let e = catalog.get(&ImageId::new(id)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{id:?}");
        let e = catalog.delete(&ImageId::new(id)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{id:?}");
    }
    assert_eq!(emu.server().request_count(), 0);
}

#[tokio::test]
async fn glance_errors_map_to_kinds_with_their_messages() {
    let emu = emulator(GlanceEmulatorConfig::default()).await;
    let catalog = static_catalog(&emu, test_http(1));
    // A protected image, for real.
    let protected = ImageId::new(emu.protected_id().unwrap());
    let e = catalog.delete(&protected).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        format!(
            "glance: permission denied [403 Forbidden]: Image {protected} is protected and cannot be deleted."
        )
    );
    // A missing image, for real.
    let missing = ImageId::new(emu.missing_id());
    let e = catalog.get(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        e.to_string()
            .ends_with(&format!("No image found with ID {missing}")),
        "{e}"
    );
    let e = catalog.delete(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("Failed to find image"), "{e}");
    // Every status, from canned answers.
    let webob = |status: u16, title: &str, message: &str| {
        format!(
            r#"{{"message": "{message}<br /><br />\n\n\n", "code": "{status} {title}", "title": "{title}"}}"#
        )
    };
    let any = ImageId::new(emu.seeded_id(1));
    let cases: Vec<(u16, &str, String, ErrorKind, &str)> = vec![
        (400, "application/json", webob(400, "Bad Request", "Invalid visibility value: x"), ErrorKind::InvalidInput, "Invalid visibility value: x"),
        (401, "application/json", r#"{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}"#.into(), ErrorKind::Unauthenticated, "requires authentication"),
        (401, "text/html", "<html><body>401 Unauthorized</body></html>".into(), ErrorKind::Unauthenticated, "401 Unauthorized"),
        (403, "application/json", webob(403, "Forbidden", "You are not authorized to complete delete_image action."), ErrorKind::PermissionDenied, "not authorized to complete delete_image"),
        (404, "application/json", webob(404, "Not Found", "No image found with ID x"), ErrorKind::NotFound, "No image found with ID x"),
        (409, "application/json", webob(409, "Conflict", "Image status transition from uploading to deleted is not allowed"), ErrorKind::Api, "[409 Conflict] (HTTP 409): Image status transition"),
        (429, "text/plain", "Too Many Requests".into(), ErrorKind::RateLimited, "Too Many Requests"),
        (500, "application/json", webob(500, "Internal Server Error", "boom"), ErrorKind::Api, "boom"),
        (404, "text/html", "<html><h1>404 Not Found</h1></html>".into(), ErrorKind::NotFound, "without a glance error document (text/html; body starts: <html>"),
        (403, "text/html", "<html>Forbidden by proxy</html>".into(), ErrorKind::PermissionDenied, "body starts: <html>Forbidden by proxy"),
        (502, "text/html", "<h1>Bad Gateway</h1>".into(), ErrorKind::InvalidResponse, "HTTP 502"),
        (200, "application/json", r#"{"id": 7}"#.into(), ErrorKind::InvalidResponse, "not a string"),
        (200, "text/plain", "not json".into(), ErrorKind::InvalidResponse, "cannot decode"),
    ];
    for (status, ctype, body, kind, text) in cases {
        emu.push_response(status, ctype, body.clone());
        let e = catalog.get(&any).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{status} {body}: {e}");
        // Only Glance's own (webob) 404 document proves absence.
        let documented = status == 404 && ctype == "application/json";
        assert_eq!(e.proves_absence(), documented, "{status} {body}: {e:?}");
        let shown = e.to_string();
        assert!(shown.starts_with("glance: "), "{shown}");
        assert!(shown.contains(text), "{status}: {shown}");
        assert!(!shown.contains("<br />"), "{shown}");
    }
    // The same on the list and delete paths.
    emu.push_response(403, "application/json", webob(403, "Forbidden", "nope"));
    let e = catalog.collect(ListQuery::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    emu.push_response(409, "application/json", webob(409, "Conflict", "busy"));
    let e = catalog.delete(&any).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    // A 400 on a list with a marker that is not about the marker stays InvalidInput.
    emu.push_response(
        400,
        "application/json",
        webob(400, "Bad Request", "limit param must be an integer"),
    );
    let e = catalog
        .source()
        .page(&ListQuery::new(), Some(PageToken::Marker(emu.seeded_id(3))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A vanished marker is a stale marker.
    let e = catalog
        .source()
        .page(&ListQuery::new(), Some(PageToken::Marker(emu.missing_id())))
        .await
        .unwrap_err();
    assert!(e.stale_marker() == Some(emu.missing_id().as_str()), "{e}");
}

#[tokio::test]
async fn a_static_token_refused_is_unauthenticated_without_renewal() {
    let emu = emulator(GlanceEmulatorConfig::default()).await;
    let catalog = GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new("wrong-token"))
        .http_options(test_http(6))
        .build()
        .unwrap();
    let e = catalog.collect(ListQuery::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(emu.server().request_count(), 1, "no retry, no renewal");
    assert!(!format!("{e} {e:?} {catalog:?}").contains("wrong-token"));
}

async fn token_lifecycle(emu: &GlanceEmulator, builder: GlanceBuilder) {
    let catalog = builder.build().unwrap();
    let id = ImageId::new(emu.seeded_id(1));
    // Single flight: concurrent first calls share one token request.
    let calls: Vec<_> = (0..8).map(|_| catalog.get(&id)).collect();
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(emu.token_request_count(), 1);
    // The token expired server-side: one 401, one new token, then success.
    emu.expire_tokens();
    catalog.get(&id).await.unwrap();
    assert_eq!(emu.token_request_count(), 2);
    // Refused twice: Unauthenticated, after exactly one more token request.
    let refusal = r#"{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}"#;
    emu.push_response(401, "application/json", refusal);
    emu.push_response(401, "application/json", refusal);
    let e = catalog.get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(
        e.to_string()
            .contains("refused again after re-authentication"),
        "{e}"
    );
    assert_eq!(emu.token_request_count(), 3);
    // The Debug output holds neither the password nor a token.
    let shown = format!("{catalog:?} {:?}", catalog.info());
    assert!(!shown.contains(&keystone_user().password), "{shown}");
    assert!(!shown.contains("gAAAA"), "{shown}");
    assert!(shown.contains(&emu.endpoint()), "{shown}");
}

#[tokio::test]
async fn keystone_v2_tokens_are_cached_shared_and_renewed_after_a_401() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(keystone_user())).await;
    token_lifecycle(&emu, v2_builder(&emu)).await;
    let body = &emu
        .server()
        .requests()
        .into_iter()
        .find(|r| r.path == "/identity/v2.0/tokens");
    assert!(body.is_some());
}

#[tokio::test]
async fn keystone_v3_tokens_are_cached_shared_and_renewed_after_a_401() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(keystone_user())).await;
    token_lifecycle(&emu, v3_builder(&emu)).await;
    assert!(
        emu.server()
            .requests()
            .iter()
            .any(|r| r.path == "/identity/v3/auth/tokens")
    );
}

/// An emulator whose Keystone tokens live 30 s, and a v3 (or v2) builder for it.
async fn short_lived_tokens(v3: bool) -> (GlanceEmulator, GlanceBuilder) {
    let emu = emulator(
        GlanceEmulatorConfig::default()
            .keystone(keystone_user())
            .token_ttl(Duration::from_secs(30)),
    )
    .await;
    let builder = if v3 {
        v3_builder(&emu)
    } else {
        v2_builder(&emu)
    };
    (emu, builder)
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    for v3 in [false, true] {
        // Tokens live 30 s and are renewed 60 s before expiry: every call
        // needs a new one, and none is ever refused.
        let (emu, builder) = short_lived_tokens(v3).await;
        let catalog = builder.build().unwrap();
        let id = ImageId::new(emu.seeded_id(1));
        for _ in 0..3 {
            catalog.get(&id).await.unwrap();
        }
        assert_eq!(emu.token_request_count(), 3, "v3={v3}");
        assert_eq!(emu.image_request_count(), 3, "no request was refused");
        // With a margin shorter than the lifetime, one token serves all.
        let (emu, builder) = short_lived_tokens(v3).await;
        let catalog = builder
            .token_renew_margin(Duration::from_secs(5))
            .build()
            .unwrap();
        for _ in 0..3 {
            catalog.get(&id).await.unwrap();
        }
        assert_eq!(emu.token_request_count(), 1, "v3={v3}");
    }
}

#[tokio::test]
async fn keystone_refusals_and_catalog_regions() {
    let emu = emulator(GlanceEmulatorConfig::default().keystone(keystone_user())).await;
    let id = ImageId::new(emu.seeded_id(1));
    // A wrong password: Keystone's message, Unauthenticated, no image request.
    let catalog = GlanceCatalog::builder()
        .keystone_v2(
            emu.identity_v2_url(),
            PROJECT_ID,
            KEYSTONE_USERNAME,
            SecretString::new("wrong-password"),
        )
        .region("RegionOne")
        .http_options(test_http(6))
        .build()
        .unwrap();
    let e = catalog.get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(
        e.to_string().contains("Keystone refused the credentials"),
        "{e}"
    );
    assert!(!e.to_string().contains("wrong-password"));
    assert_eq!(emu.image_request_count(), 0);
    // Without a region, a catalog with two regions is a configuration error.
    let e = GlanceCatalog::builder()
        .keystone_v3(
            emu.identity_v3_url(),
            KEYSTONE_USERNAME,
            "Default",
            "demo-project",
            "Default",
            SecretString::new(keystone_user().password),
        )
        .http_options(test_http(6))
        .build()
        .unwrap()
        .get(&id)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("OtherRegion"), "{e}");
    // The region picks the endpoint: the other region's is unreachable.
    let e = v2_builder(&emu)
        .region("OtherRegion")
        .http_options(test_http(1))
        .build()
        .unwrap()
        .get(&id)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    // An explicit endpoint wins over the catalog; a stale static token is
    // replaced through Keystone.
    let catalog = v3_builder(&emu)
        .endpoint(emu.endpoint())
        .token(SecretString::new("stale-static-token"))
        .build()
        .unwrap();
    catalog.get(&id).await.unwrap();
    let tokens: Vec<_> = emu
        .server()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/images/"))
        .map(|r| r.header("x-auth-token").unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        tokens.first().map(String::as_str),
        Some("stale-static-token")
    );
    assert!(tokens.last().unwrap().starts_with("gAAAA"));
}

#[tokio::test]
async fn listings_survive_faults() {
    let kinds = FaultKind::all_but_slow();
    let options = ServeOptions::with_faults(FaultPlan::new(0.3, &kinds, 7).retry_after_secs(0));
    let emu = GlanceEmulator::start(
        GlanceEmulatorConfig::default()
            .images(1_000)
            .keystone(keystone_user()),
        options,
    )
    .await
    .unwrap();
    let catalog = v2_builder(&emu)
        .http_options(test_http(12))
        .build()
        .unwrap();
    let got: Vec<String> = catalog
        .list(ListQuery::new().page_size(50))
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, emu.listed_ids());
    let mut ids = got.iter();
    let image = catalog
        .get(&ImageId::new(ids.next().unwrap().clone()))
        .await
        .unwrap();
    assert_eq!(image.backend, imagecat_core::BackendKind::Glance);
    // Faults were injected (the run is deterministic for the seed).
    assert!(emu.server().request_count() > got.len() / 50 + 2);
}

#[tokio::test]
async fn a_deleted_image_is_gone_and_a_second_delete_is_not_found() {
    let emu = emulator(GlanceEmulatorConfig::default()).await;
    let catalog = static_catalog(&emu, test_http(6));
    let id = ImageId::new(emu.deletable_ids(1).remove(0));
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::Deleted);
    assert_eq!(
        catalog.get(&id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        catalog.delete(&id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let listed: Vec<_> = catalog
        .list(ListQuery::new())
        .map(|r| r.unwrap().id)
        .collect()
        .await;
    assert!(!listed.contains(&id));
}

#[test]
fn info_shows_the_configured_endpoint_and_page_size() {
    let info = GlanceCatalog::builder()
        .endpoint("https://kr1-api-image-infrastructure.nhncloudservice.com")
        .token(SecretString::new("t"))
        .build()
        .unwrap()
        .info();
    assert_eq!(
        info.endpoint,
        "https://kr1-api-image-infrastructure.nhncloudservice.com"
    );
    assert_eq!(info.capabilities.default_page_size, 1000);
}

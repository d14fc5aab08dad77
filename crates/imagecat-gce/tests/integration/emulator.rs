//! The GCE adapter against `imagecat emulate gce` (the emulators crate's
//! Compute v1 images API): the shared conformance suite, the reliability
//! and hostile-server scenarios, the prune cases with the DELETEs on the
//! request log, getFromFamily and the filter expression as the server
//! reads them, and public image projects.

use std::collections::HashSet;
use std::sync::Arc;

use futures::TryStreamExt;
use imagecat_core::{
    ErrorKind, ImageCatalog, ImageCatalogExt, ImageId, ImageStatus, ListQuery, Visibility,
};
use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, GceImage, PROJECT, TOKEN};
use imagecat_emulators::server::ServeOptions;
use imagecat_gce::{GceBuilder, GceCatalog};
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete};
use imagecat_testkit::listing::test_http;
use imagecat_testkit::scenarios::{Outcome, Rig, Skip};

pub(crate) async fn emulator(config: GceEmulatorConfig) -> GceEmulator {
    GceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

pub(crate) fn builder(emu: &GceEmulator, project: &str, http: HttpOptions) -> GceBuilder {
    GceBuilder::new()
        .project(project)
        .endpoint(emu.endpoint())
        .access_token(SecretString::new(TOKEN))
        .http_options(http)
}

pub(crate) fn catalog(emu: &GceEmulator) -> GceCatalog {
    builder(emu, PROJECT, test_http(6))
        .build()
        .expect("the catalog builds")
}

fn id(project: &str, name: &str) -> ImageId {
    ImageId::new(format!("projects/{project}/global/images/{name}"))
}

/// The ids a default listing yields: name order, without the images whose
/// deprecation state is DELETED (status deleted).
fn expected(emu: &GceEmulator) -> Vec<ImageId> {
    emu.image_names(PROJECT)
        .into_iter()
        .filter(|name| {
            let image = emu.image_json(PROJECT, name).unwrap();
            image["status"] != "DELETING" && image["deprecated"]["state"] != "DELETED"
        })
        .map(|name| id(PROJECT, &name))
        .collect()
}

async fn fixture() -> (GceEmulator, Fixture) {
    let emu = emulator(GceEmulatorConfig::default()).await;
    emu.add_image(
        PROJECT,
        GceImage::at_hour("odd-status", 30).status("FROZEN"),
    );
    let catalog = catalog(&emu);
    let names = emu.image_names(PROJECT);
    let fixture = Fixture {
        catalog: Arc::new(catalog),
        requests: Arc::new(emu.server().request_counter()),
        expected: expected(&emu),
        deletable: names[..2].iter().map(|n| id(PROJECT, n)).collect(),
        missing: id(PROJECT, "no-such-image"),
        invalid: [
            "",
            "../etc",
            "a?b=c",
            "Upper",
            "1abc",
            "image-000001/x",
            "projects/emu-project/global/images/a/b",
            "projects/emu-project/global/images/a%2F..",
        ]
        .into_iter()
        .map(ImageId::new)
        .collect(),
        unknown_status: Some((id(PROJECT, "odd-status"), "FROZEN".into())),
        after_delete: AfterDelete::NotFound,
        second_delete: SecondDelete::NotFound,
        lying: None,
        secrets: vec![TOKEN.into()],
    };
    (emu, fixture)
}

mod conformance {
    use super::*;
    imagecat_testkit::conformance_tests!(listing, fixture().await, may_skip: [LyingServer]);
}

/// The GCE emulator for the scenarios; GCE's `pageToken` is opaque.
struct Gce<const IMAGES: usize, const SEED: u64>;

const OPAQUE: Skip = Skip("GCE pages by an opaque pageToken: no id goes into a request");

impl<const IMAGES: usize, const SEED: u64> Rig for Gce<IMAGES, SEED> {
    type Emu = GceEmulator;

    const EVERY_KIND: (usize, u64) = (IMAGES, SEED);

    async fn start(images: usize, options: ServeOptions) -> GceEmulator {
        GceEmulator::start(GceEmulatorConfig::default().images(images as u64), options)
            .await
            .expect("the emulator starts")
    }

    fn catalog(emu: &GceEmulator, http: HttpOptions) -> Arc<dyn ImageCatalog> {
        Arc::new(
            builder(emu, PROJECT, http)
                .build()
                .expect("the catalog builds"),
        )
    }

    fn listed_ids(emu: &GceEmulator) -> Vec<String> {
        emu.image_names(PROJECT)
            .into_iter()
            .map(|n| id(PROJECT, &n).to_string())
            .collect()
    }

    fn push_page(_: &GceEmulator, _: &[&str]) -> Outcome {
        Err(OPAQUE)
    }

    fn marker_key() -> Result<&'static str, Skip> {
        Err(OPAQUE)
    }
}

mod scenarios {
    imagecat_testkit::scenario_tests!(super::Gce<170, 3>);
}

#[tokio::test]
async fn prune_deletes_exactly_the_plan_on_the_request_log() {
    let (emu, fx) = fixture().await;
    let ids = |images: Vec<imagecat_core::Image>| -> HashSet<String> {
        images.into_iter().map(|i| i.id.to_string()).collect()
    };
    let before = ids(fx.catalog.collect(ListQuery::new()).await.unwrap());
    emu.server().clear_requests();
    imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan(&fx)
        .await
        .unwrap();
    let after = ids(fx.catalog.collect(ListQuery::new()).await.unwrap());
    let gone: HashSet<String> = before.difference(&after).cloned().collect();
    assert!(!gone.is_empty(), "the case deleted nothing");
    let deletes: HashSet<String> = emu
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.trim_start_matches("/compute/v1/").to_owned())
        .collect();
    assert_eq!(deletes, gone, "DELETE requests differ from the images gone");
}

#[tokio::test]
async fn the_newest_of_each_family_is_one_request_each() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let catalog = catalog(&emu);
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    for family in ["family-0", "family-1", "family-2", "family-3"] {
        emu.server().clear_requests();
        let head = catalog.family_latest(family).await.unwrap();
        let requests = emu.server().requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert_eq!(
            requests[0].path,
            format!("/compute/v1/projects/{PROJECT}/global/images/family/{family}")
        );
        // by hand: the newest READY image of the family not deprecated
        let want = all
            .iter()
            .filter(|i| i.properties.get("family") == Some(family))
            .filter(|i| i.native_status == "READY")
            .filter(|i| matches!(i.properties.get("deprecated.state"), None | Some("ACTIVE")))
            .max_by_key(|i| i.created_at)
            .unwrap();
        assert_eq!(head.id, want.id, "{family}");
    }
    let e = catalog.family_latest("no-such-family").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn the_filter_is_what_the_server_keeps_and_the_engine_agrees() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let catalog = catalog(&emu);
    let all = catalog.collect(ListQuery::new()).await.unwrap();
    for q in [
        ListQuery::new().property("label.env", "prod"),
        ListQuery::new().property("family", "family-2"),
        ListQuery::new()
            .property("family", "family-1")
            .property("label.team", "web"),
        ListQuery::new().name("image-000005"),
        ListQuery::new().status(ImageStatus::Active),
        ListQuery::new().status(ImageStatus::Deactivated),
        ListQuery::new().status(ImageStatus::Queued),
    ] {
        emu.server().clear_requests();
        let got: Vec<ImageId> = catalog
            .list(q.clone())
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        let want: Vec<ImageId> = all
            .iter()
            .filter(|i| q.matches(i))
            .map(|i| i.id.clone())
            .collect();
        assert!(!want.is_empty(), "{q:?}");
        assert_eq!(got, want, "{q:?}");
        let requests = emu.server().requests();
        assert!(
            requests
                .iter()
                .all(|r| r.query_pairs().iter().any(|(k, _)| k == "filter")),
            "{q:?}: {requests:?}"
        );
    }
}

#[tokio::test]
async fn a_public_image_project_lists_read_only() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let public = builder(&emu, "debian-cloud", test_http(2)).build().unwrap();
    let images = public.collect(ListQuery::new()).await.unwrap();
    assert!(!images.is_empty());
    assert!(
        images
            .iter()
            .all(|i| i.visibility == Some(Visibility::Public)
                && i.protected == Some(true)
                && i.owner.as_deref() == Some("debian-cloud"))
    );
    emu.server().clear_requests();
    let e = public.delete(&images[0].id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(emu.server().request_count(), 0, "a request was sent");
    // the family head of a public project, by getFromFamily
    let family = images[0].properties.get("family").unwrap().to_owned();
    let head = public.family_latest(&family).await.unwrap();
    assert_eq!(head.owner.as_deref(), Some("debian-cloud"));
}

#[tokio::test]
async fn a_delete_waits_for_its_operation_and_maps_its_error() {
    let emu = emulator(GceEmulatorConfig::default()).await;
    let catalog = catalog(&emu);
    let names = emu.image_names(PROJECT);
    emu.set_operation_polls(2);
    catalog.delete(&id(PROJECT, &names[0])).await.unwrap();
    assert!(emu.image_json(PROJECT, &names[0]).is_none());
    emu.fail_next_delete(
        403,
        "forbidden",
        "Required 'compute.images.delete' permission",
    );
    let e = catalog.delete(&id(PROJECT, &names[1])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(emu.image_json(PROJECT, &names[1]).is_some());
}

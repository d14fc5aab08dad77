//! Who uses a GCE image: the usage listing (disks, instances, global and
//! regional templates, families, managed instance groups) and the IAM
//! check of delete candidates, against the Compute API fake of the
//! testkit (real document shapes: links on www.googleapis.com, aggregated
//! scope maps, `NO_RESULTS_ON_PAGE` warnings, `unreachables[]`).

use imagecat_core::{
    FoundVia, Image, ImageCatalog, ImageCatalogExt, ImageId, ImageUsage, InstanceQuery,
    UnknownReason, UsageScan,
};
use imagecat_gce::{GceBuilder, GceCatalog};
use imagecat_http::{HttpOptions, RetryPolicy, SecretString};
use imagecat_testkit::gce_fake::{GceFake, GceWorld, TOKEN, link};
use serde_json::json;

const P: &str = "projects/p1/global/images";

fn catalog(fake: &GceFake) -> GceCatalog {
    let fast = RetryPolicy::default().max_attempts(1).backoff(
        std::time::Duration::from_millis(1),
        std::time::Duration::from_millis(5),
    );
    GceBuilder::new()
        .project("p1")
        .endpoint(fake.endpoint())
        .access_token(SecretString::new(TOKEN))
        .http_options(HttpOptions::default().retry(fast))
        .build()
        .unwrap()
}

fn world() -> GceWorld {
    let mut w = GceWorld::new("p1");
    w.zones = (0..4)
        .map(|z| format!("zones/us-central1-{}", (b'a' + z) as char))
        .collect();
    w
}

async fn image(catalog: &GceCatalog, name: &str) -> Image {
    catalog
        .get(&ImageId::from(format!("{P}/{name}")))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// How each user of an answer was found, and its id.
fn users(usage: &ImageUsage) -> Vec<(String, FoundVia)> {
    match usage {
        ImageUsage::InUse { instances } => instances
            .iter()
            .map(|u| (u.instance_id.clone(), u.via))
            .collect(),
        other => panic!("expected in use, got {other:?}"),
    }
}

async fn scan(catalog: &GceCatalog, page_size: Option<u32>) -> UsageScan {
    let query = match page_size {
        Some(n) => InstanceQuery::new().page_size(n),
        None => InstanceQuery::new(),
    };
    catalog.usage_scan(query).await
}

/// The world of the first tests: one image per kind of user, in every
/// spelling GCE accepts, and one image nobody uses.
fn every_kind() -> GceWorld {
    let mut w = world();
    let t = "2026-10-01T09:12:07.183-07:00";
    for name in [
        "a-detached",
        "b-booted",
        "c-template",
        "d-regional",
        "e-group",
        "f-unused",
    ] {
        w.image(name, t, None, None);
    }
    let g = w.image("g-by-id", t, None, None);
    // a detached disk, its image as a full link
    w.disk(
        "zones/us-central1-a",
        "spare",
        Some(&link(&format!("{P}/a-detached"))),
        None,
        &[],
    );
    // a boot disk (regional) and the instance on it, partial path
    w.disk(
        "zones/us-central1-b",
        "web-1",
        Some(&format!("{P}/b-booted")),
        None,
        &["web-1"],
    );
    w.instance("zones/us-central1-b", "web-1", "web-1", "TERMINATED");
    // a disk that names only the numeric id (GCE cleared sourceImage)
    w.disk("regions/us-central1", "old", None, Some(&g), &[]);
    // a blank disk uses nothing
    w.disk("zones/us-central1-c", "scratch", None, None, &[]);
    // templates: global with a partial path, regional with global/images/N
    w.template("global", "tpl-c", &[&format!("{P}/c-template")]);
    w.template("regions/us-east1", "tpl-d", &["global/images/d-regional"]);
    // a group's template, in an endpoint override's spelling
    w.template(
        "global",
        "tpl-e",
        &[&format!("http://127.0.0.1:1/compute/v1/{P}/e-group")],
    );
    w.group(
        "zones/us-central1-a",
        "mig-e",
        &["projects/p1/global/instanceTemplates/tpl-e"],
    );
    // another project's image is another catalog's business
    w.template(
        "global",
        "tpl-debian",
        &["projects/debian-cloud/global/images/debian-12-v1"],
    );
    w
}

#[tokio::test]
async fn every_kind_of_user_in_every_spelling_is_found() {
    let fake = GceFake::start(every_kind()).await.unwrap();
    let catalog = catalog(&fake);
    let scan = scan(&catalog, None).await;
    assert!(scan.is_complete());
    let disk = |zone: &str, d: &str| format!("projects/p1/{zone}/disks/{d}");
    let expect: [(&str, Vec<(String, FoundVia)>); 5] = [
        (
            "a-detached",
            vec![(disk("zones/us-central1-a", "spare"), FoundVia::Disk)],
        ),
        (
            "b-booted",
            vec![
                (disk("zones/us-central1-b", "web-1"), FoundVia::Disk),
                (
                    "projects/p1/zones/us-central1-b/instances/web-1".into(),
                    FoundVia::RootVolume,
                ),
            ],
        ),
        (
            "c-template",
            vec![(
                "projects/p1/global/instanceTemplates/tpl-c".into(),
                FoundVia::InstanceTemplate,
            )],
        ),
        (
            "d-regional",
            vec![(
                "projects/p1/regions/us-east1/instanceTemplates/tpl-d".into(),
                FoundVia::InstanceTemplate,
            )],
        ),
        (
            "e-group",
            vec![
                (
                    "projects/p1/global/instanceTemplates/tpl-e".into(),
                    FoundVia::InstanceTemplate,
                ),
                (
                    "projects/p1/zones/us-central1-a/instanceGroupManagers/mig-e".into(),
                    FoundVia::InstanceGroup,
                ),
            ],
        ),
    ];
    for (name, want) in expect {
        let usage = scan.usage_of(&image(&catalog, name).await);
        assert_eq!(users(&usage), want, "{name}");
    }
    let by_id = scan.usage_of(&image(&catalog, "g-by-id").await);
    assert_eq!(
        users(&by_id),
        [(disk("regions/us-central1", "old"), FoundVia::Disk)]
    );
    // names say what the user is
    if let ImageUsage::InUse { instances } = scan.usage_of(&image(&catalog, "b-booted").await) {
        assert_eq!(
            instances[0].name.as_deref(),
            Some("disk web-1 (attached to web-1)")
        );
        assert_eq!(instances[1].status, "TERMINATED");
    }
    // nobody uses f; the own-project scan alone cannot say so (GCE images
    // carry no visibility) — the candidate check of its IAM policy can
    let f = image(&catalog, "f-unused").await;
    assert!(matches!(
        scan.usage_of(&f),
        ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope { .. }
        }
    ));
    assert_eq!(
        catalog.candidate_usage(&scan, &f).await,
        ImageUsage::NotInUse
    );
    // one aggregated listing per kind of user, not one per zone
    for collection in [
        "disks",
        "instances",
        "instanceTemplates",
        "instanceGroupManagers",
    ] {
        assert_eq!(
            fake.requests_to(&format!("aggregated/{collection}")),
            1,
            "{collection}"
        );
    }
    assert_eq!(fake.requests_to("/getIamPolicy"), 1);
    // the id look-up listed the images once
    assert_eq!(fake.requests_to("/global/images"), 1);
}

#[tokio::test]
async fn small_pages_give_the_same_answers() {
    let fake = GceFake::start(every_kind()).await.unwrap();
    let catalog = catalog(&fake);
    let whole = scan(&catalog, None).await;
    let paged = scan(&catalog, Some(1)).await;
    assert!(paged.is_complete());
    for name in [
        "a-detached",
        "b-booted",
        "c-template",
        "d-regional",
        "e-group",
        "g-by-id",
        "f-unused",
    ] {
        let i = image(&catalog, name).await;
        assert_eq!(paged.usage_of(&i), whole.usage_of(&i), "{name}");
    }
    // four disks a page each, and the page after the last
    assert_eq!(fake.requests_to("aggregated/disks"), 1 + 4);
}

#[tokio::test]
async fn a_family_template_protects_the_current_image_only() {
    let mut w = world();
    w.image(
        "golden-v1",
        "2026-09-01T00:00:00.000-07:00",
        Some("golden"),
        None,
    );
    w.image(
        "golden-v2",
        "2026-10-01T00:00:00.000-07:00",
        Some("golden"),
        None,
    );
    // newest, but deprecated: not the family's current image
    w.image(
        "golden-v3",
        "2026-11-01T00:00:00.000-07:00",
        Some("golden"),
        Some("DEPRECATED"),
    );
    w.image(
        "other-v1",
        "2026-11-01T00:00:00.000-07:00",
        Some("other"),
        None,
    );
    w.template("global", "web", &["global/images/family/golden"]);
    w.template(
        "regions/us-east1",
        "web-east",
        &[&link("projects/p1/global/images/family/golden")],
    );
    // a family with no current image launches nothing
    w.template(
        "global",
        "gone",
        &["projects/p1/global/images/family/retired"],
    );
    let fake = GceFake::start(w).await.unwrap();
    let catalog = catalog(&fake);
    let scan = scan(&catalog, None).await;
    assert!(scan.is_complete());
    let current = scan.usage_of(&image(&catalog, "golden-v2").await);
    assert_eq!(users(&current).len(), 2);
    assert!(
        users(&current)
            .iter()
            .all(|(_, via)| *via == FoundVia::InstanceTemplate)
    );
    for older in ["golden-v1", "golden-v3", "other-v1"] {
        let i = image(&catalog, older).await;
        assert_eq!(
            catalog.candidate_usage(&scan, &i).await,
            ImageUsage::NotInUse,
            "{older}"
        );
    }
    // asked once per family per scan
    assert_eq!(fake.requests_to("images/family/golden"), 1);
    assert_eq!(fake.requests_to("images/family/retired"), 1);

    // deprecate v2: v1 becomes current, and the next scan protects it
    fake.world
        .lock()
        .unwrap()
        .images
        .get_mut("golden-v2")
        .unwrap()["deprecated"] = json!({"state": "DEPRECATED"});
    let again = scan_of(&catalog).await;
    assert_eq!(
        users(&again.usage_of(&image(&catalog, "golden-v1").await)).len(),
        2
    );
    assert_eq!(fake.requests_to("images/family/golden"), 2);
}

async fn scan_of(catalog: &GceCatalog) -> UsageScan {
    scan(catalog, None).await
}

#[tokio::test]
async fn an_unreachable_zone_is_unknown_never_unused() {
    let mut w = every_kind();
    w.unreachable = vec!["zones/us-east1-b".into()];
    let fake = GceFake::start(w).await.unwrap();
    let catalog = catalog(&fake);
    let scan = scan(&catalog, None).await;
    assert!(!scan.is_complete());
    // what was seen in the reachable zones stays in use
    assert_eq!(
        scan.usage_of(&image(&catalog, "a-detached").await).as_str(),
        "in_use"
    );
    assert_eq!(
        scan.usage_of(&image(&catalog, "e-group").await).as_str(),
        "in_use"
    );
    let f = image(&catalog, "f-unused").await;
    match catalog.candidate_usage(&scan, &f).await {
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => {
            assert!(message.contains("zones/us-east1-b"), "{message}")
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    // every page was still read
    assert_eq!(fake.requests_to("aggregated/instanceGroupManagers"), 1);
}

#[tokio::test]
async fn a_scope_warned_unreachable_is_unknown_too() {
    let fake = GceFake::start(every_kind()).await.unwrap();
    let catalog = catalog(&fake);
    // empty zones are warned NO_RESULTS_ON_PAGE: that is complete
    assert!(scan_of(&catalog).await.is_complete());
    fake.world
        .lock()
        .unwrap()
        .warned_unreachable
        .push("zones/europe-west1-b".into());
    let scan = scan_of(&catalog).await;
    assert!(!scan.is_complete());
    let f = image(&catalog, "f-unused").await;
    match catalog.candidate_usage(&scan, &f).await {
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => {
            assert!(message.contains("zones/europe-west1-b"), "{message}")
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failing_page_is_unknown_never_unused() {
    for (collection, page) in [
        ("disks", 2),
        ("instances", 0),
        ("instanceTemplates", 1),
        ("instanceGroupManagers", 0),
    ] {
        let mut w = every_kind();
        w.forbidden_page = Some((collection.into(), page));
        let fake = GceFake::start(w).await.unwrap();
        let catalog = catalog(&fake);
        let scan = scan(&catalog, Some(1)).await;
        assert!(!scan.is_complete(), "{collection}");
        let f = image(&catalog, "f-unused").await;
        let usage = catalog.candidate_usage(&scan, &f).await;
        assert!(
            matches!(&usage, ImageUsage::Unknown { reason: UnknownReason::ListingFailed { message } } if message.contains("permission")),
            "{collection}: {usage:?}"
        );
        // a user seen before the failure stays in use
        assert_eq!(
            scan.usage_of(&image(&catalog, "a-detached").await).as_str(),
            "in_use"
        );
    }
}

#[tokio::test]
async fn a_shared_image_is_unknown_and_an_unreadable_policy_too() {
    let fake = GceFake::start(every_kind()).await.unwrap();
    let catalog = catalog(&fake);
    let scan = scan_of(&catalog).await;
    let f = image(&catalog, "f-unused").await;
    for (members, shown) in [
        (json!(["user:alice@example.com"]), "shared"),
        (
            json!(["serviceAccount:ci@p1.iam.gserviceaccount.com"]),
            "shared",
        ),
        (json!(["allAuthenticatedUsers"]), "public"),
    ] {
        fake.world.lock().unwrap().policies.insert(
            "f-unused".into(),
            json!({"version": 1, "etag": "BwU", "bindings": [{"role": "roles/compute.imageUser", "members": members}]}),
        );
        let usage = catalog.candidate_usage(&scan, &f).await;
        assert!(
            matches!(
                usage,
                ImageUsage::Unknown {
                    reason: UnknownReason::OutOfScope { .. }
                }
            ),
            "{shown}: {usage:?}"
        );
    }
    // a binding without members grants nobody
    fake.world.lock().unwrap().policies.insert(
        "f-unused".into(),
        json!({"bindings": [{"role": "roles/compute.imageUser", "members": []}]}),
    );
    assert_eq!(
        catalog.candidate_usage(&scan, &f).await,
        ImageUsage::NotInUse
    );
    // the policy cannot be read: unknown, saying why
    fake.world.lock().unwrap().images.remove("f-unused");
    match catalog.candidate_usage(&scan, &f).await {
        ImageUsage::Unknown {
            reason: UnknownReason::AudienceUnknown { message },
        } => {
            assert!(message.contains("not found"), "{message}")
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    // an image in use is never asked about
    let before = fake.requests_to("/getIamPolicy");
    let a = image(&catalog, "a-detached").await;
    assert_eq!(catalog.candidate_usage(&scan, &a).await.as_str(), "in_use");
    assert_eq!(fake.requests_to("/getIamPolicy"), before);
}

#[tokio::test]
async fn what_cannot_be_resolved_is_unknown() {
    // a group naming a template that cannot be read
    let mut w = every_kind();
    w.group(
        "regions/us-central1",
        "mig-x",
        &["projects/p1/global/instanceTemplates/hidden"],
    );
    w.unreadable_templates
        .insert("projects/p1/global/instanceTemplates/hidden".into());
    assert_unresolved(w, "mig-x").await;
    // an instance whose boot disk the disk listing did not show
    let mut w = every_kind();
    w.instance("zones/us-central1-d", "late", "late-disk", "RUNNING");
    assert_unresolved(w, "instances/late").await;
    // a template naming something that is no image path
    let mut w = every_kind();
    w.template("global", "odd", &["projects/p1/global/snapshots/s1"]);
    assert_unresolved(w, "instanceTemplates/odd").await;
    // a family whose current image cannot be read (403, not a notFound)
    let mut w = every_kind();
    w.template("global", "fam", &["projects/locked/global/images/family/f"]);
    assert_unresolved(w, "instanceTemplates/fam").await;
}

async fn assert_unresolved(world: GceWorld, who: &str) {
    let fake = GceFake::start(world).await.unwrap();
    let catalog = catalog(&fake);
    let scan = scan_of(&catalog).await;
    let f = image(&catalog, "f-unused").await;
    match catalog.candidate_usage(&scan, &f).await {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { instances, count },
        } => {
            assert_eq!(count, 1, "{who}: {instances:?}");
            assert!(instances[0].contains(who), "{who}: {instances:?}");
        }
        other => panic!("{who}: expected unknown, got {other:?}"),
    }
    // the users that were resolved stay in use
    assert_eq!(
        scan.usage_of(&image(&catalog, "c-template").await).as_str(),
        "in_use"
    );
}

#[tokio::test]
async fn scans_at_once_on_one_catalog_keep_their_own_walks() {
    let fake = GceFake::start(every_kind()).await.unwrap();
    let catalog = catalog(&fake);
    let (a, b, c) = tokio::join!(
        scan(&catalog, Some(1)),
        scan(&catalog, Some(2)),
        scan(&catalog, None)
    );
    for name in ["a-detached", "b-booted", "c-template", "e-group", "g-by-id"] {
        let i = image(&catalog, name).await;
        let want = c.usage_of(&i);
        assert_eq!(want.as_str(), "in_use", "{name}");
        assert_eq!(a.usage_of(&i), want, "{name}");
        assert_eq!(b.usage_of(&i), want, "{name}");
    }
    assert!(a.is_complete() && b.is_complete() && c.is_complete());
}

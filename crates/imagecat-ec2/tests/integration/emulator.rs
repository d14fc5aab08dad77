//! The conformance suite and the prune case against `imagecat emulate ec2`
//! (the emulators crate's EC2 Query API, signatures checked with its key
//! pair), with the delete side asserted on the emulator's call log: exactly
//! one DeregisterImage per image gone, and a DeleteSnapshot (or the
//! server's own DeleteAssociatedSnapshots) for exactly their snapshots.

use std::collections::BTreeSet;
use std::sync::Arc;

use imagecat_core::{DynImageCatalog, ImageCatalogExt, ImageId, ListQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Env};
use imagecat_emulators::ec2::{ACCESS_KEY_ID, Ec2Emulator, Ec2EmulatorConfig, SECRET_ACCESS_KEY};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::SecretString;
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete, run_all};
use imagecat_testkit::listing::test_http;
use imagecat_testkit::prune_cases::prune_apply_deletes_exactly_the_plan;

const REGION: &str = "us-east-1";

async fn emulator() -> Arc<Ec2Emulator> {
    let config = Ec2EmulatorConfig {
        images: 30,
        ..Ec2EmulatorConfig::default()
    }
    .signed();
    Arc::new(
        Ec2Emulator::start(config, ServeOptions::default())
            .await
            .expect("the emulator starts"),
    )
}

/// A catalog of the emulator's region; `with_disabled`: its listings ask
/// for disabled AMIs too (`include_disabled=true`).
fn catalog(emu: &Ec2Emulator, with_disabled: bool) -> DynImageCatalog {
    let provider = StaticProvider::new(Credentials::new(
        ACCESS_KEY_ID,
        SecretString::new(SECRET_ACCESS_KEY),
        None,
        None,
    ));
    Arc::new(
        Ec2Builder::from_url(
            &format!(
                "{}&include_disabled={with_disabled}",
                emu.region_url(REGION)
            )
            .parse()
            .unwrap(),
            &Default::default(),
        )
        .unwrap()
        .env(Env::default())
        .credentials_provider(Arc::new(provider))
        .http_options(test_http(3))
        .build()
        .unwrap(),
    )
}

/// The caller's own AMIs a default listing shows (not disabled), in the
/// emulator's order (by id), and two deletable ones (unprotected).
fn own(emu: &Ec2Emulator) -> (Vec<ImageId>, Vec<ImageId>) {
    let account = emu.config().account.clone();
    let images: Vec<_> = emu
        .images(REGION)
        .into_iter()
        .filter(|i| i.owner_id == account && i.state != "disabled")
        .collect();
    let expected = images
        .iter()
        .map(|i| ImageId::new(i.image_id.clone()))
        .collect();
    let deletable = images
        .iter()
        .filter(|i| !i.protected() && i.state == "available")
        .take(2)
        .map(|i| ImageId::new(i.image_id.clone()))
        .collect();
    (expected, deletable)
}

fn fixture(emu: &Arc<Ec2Emulator>) -> Fixture {
    let (expected, deletable) = own(emu);
    let counted = Arc::clone(emu);
    Fixture {
        catalog: catalog(emu, false),
        requests: Arc::new(move || counted.calls().len() as u64),
        expected,
        deletable,
        missing: ImageId::new("ami-0fffffffffffffff0"),
        invalid: [
            "",
            "ami-",
            "../etc",
            "snap-12345678",
            "ami-1234/678",
            "ami-0abcdef1234567890&Action=DeleteSnapshot",
        ]
        .into_iter()
        .map(ImageId::new)
        .collect(),
        unknown_status: None,
        after_delete: AfterDelete::NotFound,
        // A deregistered AMI is InvalidAMIID.Unavailable: already deleted.
        second_delete: SecondDelete::AlreadyDeleted,
        lying: None,
        secrets: vec![SECRET_ACCESS_KEY.to_owned()],
    }
}

/// Each call of `action`, by the parameter naming its target.
fn targets(emu: &Ec2Emulator, action: &str, key: &str) -> Vec<String> {
    emu.calls_of(action)
        .iter()
        .filter_map(|c| c.param(key).map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_against_the_emulator() {
    let emu = emulator().await;
    // An image with a state no mapping knows, as a server may send one.
    let odd = own(&emu).0[5].clone();
    assert!(emu.update_image(REGION, odd.as_str(), |i| i.state = "frozen".into()));
    let mut fixture = fixture(&emu);
    fixture.unknown_status = Some((odd, "frozen".to_owned()));
    let report = run_all(&fixture).await;
    report.assert_passed();
    let skipped: Vec<_> = report.skipped.iter().map(|(name, _)| *name).collect();
    assert_eq!(skipped, ["repeated_pages_end_in_an_error"]);
    // The deletes of the suite: one DeregisterImage per deletable image
    // and its retries of the second delete, never another image.
    let deregistered: BTreeSet<String> = targets(&emu, "DeregisterImage", "ImageId")
        .into_iter()
        .collect();
    let deletable: BTreeSet<String> = fixture
        .deletable
        .iter()
        .map(|i| i.as_str().to_owned())
        .collect();
    assert_eq!(deregistered, deletable);
}

/// The prune case: the apply deletes exactly the planned AMIs, one
/// DeregisterImage each, and their snapshots (the emulator honours
/// DeleteAssociatedSnapshots and answers per snapshot; no snapshot of a
/// kept AMI is touched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_exactly_the_plan_and_its_snapshots() {
    let emu = emulator().await;
    // A prune's default statuses take disabled AMIs too (EC2's
    // `disabled` is `deactivated`, and the policy asks for them with
    // IncludeDisabled): the case compares with the default listing, so
    // this catalog lists them by default as well.
    let mut fixture = fixture(&emu);
    fixture.catalog = catalog(&emu, true);
    let ids = |images: Vec<imagecat_core::Image>| -> BTreeSet<String> {
        images.into_iter().map(|i| i.id.to_string()).collect()
    };
    let before = ids(fixture.catalog.collect(ListQuery::new()).await.unwrap());
    let snapshots_before: BTreeSet<String> = emu
        .snapshots(REGION)
        .into_iter()
        .map(|s| s.snapshot_id)
        .collect();
    let snapshots_of = |ids: &BTreeSet<String>| -> BTreeSet<String> {
        emu.images(REGION)
            .into_iter()
            .filter(|i| ids.contains(&i.image_id))
            .flat_map(|i| i.block_devices.into_iter().filter_map(|b| b.snapshot_id))
            .collect()
    };
    let all_snapshots_of_listed = snapshots_of(&before);
    prune_apply_deletes_exactly_the_plan(&fixture)
        .await
        .unwrap();
    let after = ids(fixture.catalog.collect(ListQuery::new()).await.unwrap());
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert!(!gone.is_empty(), "the case deleted nothing");
    let deregistered: Vec<String> = targets(&emu, "DeregisterImage", "ImageId");
    assert_eq!(
        deregistered.len(),
        gone.len(),
        "one DeregisterImage per image gone: {deregistered:?}"
    );
    assert_eq!(deregistered.into_iter().collect::<BTreeSet<_>>(), gone);
    for call in emu.calls_of("DeregisterImage") {
        assert_eq!(call.param("DeleteAssociatedSnapshots"), Some("true"));
    }
    // The snapshots gone are snapshots of the AMIs gone, and no snapshot
    // of a kept AMI went.
    let snapshots_after: BTreeSet<String> = emu
        .snapshots(REGION)
        .into_iter()
        .map(|s| s.snapshot_id)
        .collect();
    let snapshots_gone: BTreeSet<String> = snapshots_before
        .difference(&snapshots_after)
        .cloned()
        .collect();
    let kept_snapshots = snapshots_of(&after);
    assert!(!snapshots_gone.is_empty(), "no snapshot was deleted");
    assert!(
        snapshots_gone.is_disjoint(&kept_snapshots),
        "a kept AMI's snapshot went: {:?}",
        snapshots_gone
            .intersection(&kept_snapshots)
            .collect::<Vec<_>>()
    );
    assert!(
        snapshots_gone.is_subset(&all_snapshots_of_listed),
        "{snapshots_gone:?}"
    );
}

/// A deregistration-protected AMI: the server's refusal is
/// `PermissionDenied`, and no snapshot request follows it.
#[tokio::test]
async fn a_protected_ami_is_refused_and_its_snapshots_untouched() {
    let emu = emulator().await;
    let (_, deletable) = own(&emu);
    let id = deletable[0].clone();
    assert!(emu.update_image(REGION, id.as_str(), |i| {
        i.deregistration_protection = Some("enabled".into());
    }));
    let snapshots = emu.snapshots(REGION).len();
    let catalog = catalog(&emu, false);
    let shown = catalog.get(&id).await.unwrap();
    assert_eq!(shown.protected, Some(true));
    let e = catalog.delete(&id).await.unwrap_err();
    assert_eq!(e.kind(), imagecat_core::ErrorKind::PermissionDenied, "{e}");
    assert!(emu.calls_of("DeleteSnapshot").is_empty());
    assert_eq!(emu.snapshots(REGION).len(), snapshots);
    assert!(emu.image(REGION, id.as_str()).is_some());
}

/// Disabled AMIs: hidden by EC2 unless asked; `include_disabled=true` or
/// `--status deactivated` asks (IncludeDisabled=true on the wire).
#[tokio::test]
async fn disabled_amis_are_listed_only_when_asked() {
    let emu = emulator().await;
    let (_, deletable) = own(&emu);
    let id = deletable[0].clone();
    assert!(emu.update_image(REGION, id.as_str(), |i| i.state = "disabled".into()));
    let listed = |catalog: DynImageCatalog, query: ListQuery| async move {
        catalog
            .collect(query)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert!(
        !listed(catalog(&emu, false), ListQuery::new())
            .await
            .contains(&id)
    );
    assert!(
        listed(catalog(&emu, true), ListQuery::new())
            .await
            .contains(&id)
    );
    let deactivated = listed(
        catalog(&emu, false),
        ListQuery::new().status(imagecat_core::ImageStatus::Deactivated),
    )
    .await;
    assert!(deactivated.contains(&id), "{deactivated:?}");
    let disabled: Vec<ImageId> = emu
        .images(REGION)
        .into_iter()
        .filter(|i| i.state == "disabled" && i.owner_id == emu.config().account)
        .map(|i| ImageId::new(i.image_id))
        .collect();
    assert_eq!(deactivated, disabled, "exactly the disabled ones");
    let last = emu.calls_of("DescribeImages").pop().unwrap();
    assert_eq!(last.param("IncludeDisabled"), Some("true"));
    assert_eq!(last.param("Filter.1.Name"), Some("state"));
}

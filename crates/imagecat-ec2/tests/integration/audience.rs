//! Who may launch an AMI (the core `audience` hook): against
//! `imagecat emulate ec2` (signatures checked), a delete candidate's
//! `launchPermission` decides between "unused" and "unknown": an AMI
//! shared with an account, an organization or an OU, or public, is never
//! unused; a private one nobody uses is; a check that fails is
//! `audience_unknown`. The grants are made with ModifyImageAttribute's
//! own parameters where the emulator is driven through the wire
//! (`usage_moto.rs` and the CLI test do it with boto3 and awscli shapes).

use std::sync::Arc;

use imagecat_core::usage::{ImageUsage, UnknownReason};
use imagecat_core::{ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery, Visibility};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, Ec2Emulator, Ec2EmulatorConfig, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;

fn catalog(emu: &Ec2Emulator, attempts: u32) -> Ec2Catalog {
    let credentials = Credentials::new(
        ACCESS_KEY_ID,
        SecretString::new(SECRET_ACCESS_KEY),
        None,
        None,
    );
    Ec2Builder::from_url(&emu.catalog_url().parse().unwrap(), &Default::default())
        .unwrap()
        .env(Env::default())
        .credentials_provider(Arc::new(StaticProvider::new(credentials)))
        .http_options(test_http(attempts))
        .build()
        .unwrap()
}

async fn emulator() -> Ec2Emulator {
    Ec2Emulator::start(
        Ec2EmulatorConfig::default().signed(),
        ServeOptions::default(),
    )
    .await
    .expect("the emulator starts")
}

fn is_out_of_scope(usage: &ImageUsage) -> bool {
    matches!(
        usage,
        ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope { .. }
        }
    )
}

#[tokio::test]
async fn launch_permissions_decide_between_unused_and_unknown() {
    let emu = emulator().await;
    let catalog = catalog(&emu, 4);
    let unused = emu.unused_ids(REGION);
    let private: Vec<String> = emu
        .images(REGION)
        .into_iter()
        .filter(|i| unused.contains(&i.image_id) && !i.public)
        .map(|i| i.image_id)
        .collect();
    assert!(private.len() >= 5, "{private:?}");
    let grants = [
        ("userId", "210987654321"),
        (
            "organizationArn",
            "arn:aws:organizations::210987654321:organization/o-abc",
        ),
        (
            "organizationalUnitArn",
            "arn:aws:organizations::210987654321:ou/o-abc/ou-abc-def",
        ),
    ];
    for (id, (kind, value)) in private.iter().zip(grants) {
        assert!(emu.update_image(REGION, id, |i| {
            i.launch_permissions
                .push((kind.to_owned(), value.to_owned()));
        }));
    }
    let public = &private[3];
    assert!(emu.update_image(REGION, public, |i| i.public = true));
    let plain = &private[4];

    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete(), "{scan:?}");
    emu.clear_calls();
    for (id, want) in [
        (&private[0], Visibility::Shared),
        (&private[1], Visibility::Shared),
        (&private[2], Visibility::Shared),
        (public, Visibility::Public),
        (plain, Visibility::Private),
    ] {
        let image = catalog.get(&ImageId::new(id)).await.expect("get");
        // the listing alone cannot tell a shared AMI from a private one
        if id != public {
            assert_eq!(image.visibility, Some(Visibility::Private), "{id}");
        }
        assert_eq!(catalog.audience(&image).await.unwrap(), Some(want), "{id}");
        let usage = catalog.candidate_usage(&scan, &image).await;
        match want {
            Visibility::Private => assert_eq!(usage, ImageUsage::NotInUse, "{id}"),
            _ => assert!(is_out_of_scope(&usage), "{id}: {usage:?}"),
        }
    }
    // one DescribeImageAttribute launchPermission per question, nothing else
    let asked = emu.calls_of("DescribeImageAttribute");
    assert_eq!(asked.len(), 10, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|c| c.param("Attribute") == Some("launchPermission"))
    );
}

#[tokio::test]
async fn a_check_that_fails_is_audience_unknown_never_unused() {
    let emu = emulator().await;
    let catalog = catalog(&emu, 2);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete(), "{scan:?}");
    let id = emu
        .unused_ids(REGION)
        .into_iter()
        .find(|id| emu.image(REGION, id).is_some_and(|i| !i.public))
        .expect("an unused private AMI");
    let image = catalog.get(&ImageId::new(&id)).await.expect("get");
    assert_eq!(scan.usage_of(&image), ImageUsage::NotInUse);
    // throttled past the retries
    emu.throttle_next(10);
    let usage = catalog.candidate_usage(&scan, &image).await;
    emu.throttle_next(0);
    match usage {
        ImageUsage::Unknown {
            reason: UnknownReason::AudienceUnknown { message },
        } => assert!(message.contains("RequestLimitExceeded"), "{message}"),
        other => panic!("{other:?}"),
    }
    // the same check answering afterwards proves it unused
    assert_eq!(
        catalog.candidate_usage(&scan, &image).await,
        ImageUsage::NotInUse
    );
    // an AMI of another account (the caller cannot read its permissions)
    let foreign = emu
        .images(REGION)
        .into_iter()
        .find(|i| i.owner_id != imagecat_emulators::ec2::ACCOUNT)
        .expect("a foreign AMI");
    let image = catalog
        .get(&ImageId::new(&foreign.image_id))
        .await
        .expect("get");
    assert!(matches!(
        catalog.candidate_usage(&scan, &image).await,
        ImageUsage::Unknown {
            reason: UnknownReason::AudienceUnknown { .. }
        }
    ));
}

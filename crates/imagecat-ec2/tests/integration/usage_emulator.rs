//! Usage against `imagecat emulate ec2` (signatures checked): the scan's
//! answer for every AMI of the region equals the truth computed from the
//! emulator's own state (instances but terminated ones, every
//! launch-template version with `resolve:ssm:` through its parameters,
//! launch configurations, mixed-instances overrides, and the parameters
//! `DescribeImageReferences` reports), also while every fourth call is
//! throttled.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use imagecat_core::usage::{FoundVia, ImageUsage, UnknownReason};
use imagecat_core::{ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, Ec2Emulator, Ec2EmulatorConfig, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;

fn catalog(emu: &Ec2Emulator) -> Ec2Catalog {
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
        .http_options(test_http(6))
        .build()
        .unwrap()
}

/// The users every AMI has, from the emulator's state: image to the ways
/// it is used.
fn truth(emu: &Ec2Emulator) -> BTreeMap<String, HashSet<FoundVia>> {
    let mut users: BTreeMap<String, HashSet<FoundVia>> = BTreeMap::new();
    let mut add = |image: &str, via| {
        users.entry(image.to_owned()).or_default().insert(via);
    };
    let parameters: BTreeMap<String, String> = emu
        .parameters(REGION)
        .into_iter()
        .map(|p| (p.name, p.values.last().unwrap().0.clone()))
        .collect();
    for instance in emu.instances(REGION) {
        if instance.state != "terminated" {
            add(&instance.image_id, FoundVia::ImageField);
        }
    }
    for template in emu.launch_templates(REGION) {
        for version in template.versions {
            if let Some(image) = version.image_id.as_deref() {
                match image.strip_prefix("resolve:ssm:") {
                    Some(name) => add(&parameters[name], FoundVia::Parameter),
                    None => add(image, FoundVia::LaunchTemplate),
                }
            }
        }
    }
    for lc in emu.launch_configurations(REGION) {
        add(&lc.image_id, FoundVia::LaunchConfiguration);
    }
    for group in emu.auto_scaling_groups(REGION) {
        for over in group.mixed.map(|m| m.1).unwrap_or_default() {
            if let Some(image) = over.image_id {
                add(&image, FoundVia::InstanceGroup);
            }
        }
    }
    users
}

#[tokio::test]
async fn the_scan_equals_the_emulators_truth_also_when_throttled() {
    for throttle_every in [None, Some(4)] {
        let config = Ec2EmulatorConfig {
            throttle_every,
            ..Ec2EmulatorConfig::default().signed()
        };
        let emu = Ec2Emulator::start(config, ServeOptions::default())
            .await
            .expect("the emulator starts");
        let catalog = catalog(&emu);
        let scan = catalog.usage_scan(InstanceQuery::new().page_size(5)).await;
        assert!(scan.is_complete(), "{throttle_every:?}: {scan:?}");
        let truth = truth(&emu);
        assert!(truth.values().any(|v| v.contains(&FoundVia::Parameter)));
        let mut server_said = 0;
        for id in emu.own_image_ids(REGION) {
            let image = catalog.get(&ImageId::new(&id)).await.expect("get");
            match (scan.usage_of(&image), truth.get(&id)) {
                (ImageUsage::InUse { instances }, Some(want)) => {
                    let got: HashSet<FoundVia> = instances
                        .iter()
                        .map(|u| u.via)
                        .filter(|v| *v != FoundVia::ServerReference)
                        .collect();
                    assert_eq!(&got, want, "{id}");
                    server_said +=
                        usize::from(instances.iter().any(|u| u.via == FoundVia::ServerReference));
                }
                (ImageUsage::NotInUse, None) => {
                    assert_eq!(image.visibility, Some(imagecat_core::Visibility::Private))
                }
                (
                    ImageUsage::Unknown {
                        reason: UnknownReason::OutOfScope { .. },
                    },
                    None,
                ) => assert_ne!(image.visibility, Some(imagecat_core::Visibility::Private)),
                (got, want) => panic!("{throttle_every:?} {id}: scan {got:?}, truth {want:?}"),
            }
        }
        assert!(
            server_said > 0,
            "DescribeImageReferences reported no user: {:?}",
            emu.calls_of("DescribeImageReferences").len()
        );
        let versions = emu.calls_of("DescribeLaunchTemplateVersions");
        assert!(
            versions
                .iter()
                .all(|c| c.param("LaunchTemplateId").is_some() && c.param("MaxResults").is_some()),
            "{versions:?}"
        );
    }
}

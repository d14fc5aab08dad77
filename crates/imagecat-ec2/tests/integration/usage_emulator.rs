//! Usage against `imagecat emulate ec2` (signatures checked): the scan's
//! answer for every AMI of the region equals the truth computed from the
//! emulator's own state (instances but terminated ones, every
//! launch-template version with `resolve:ssm:` through its parameters,
//! launch configurations, mixed-instances overrides, and the parameters
//! `DescribeImageReferences` reports), also while every fourth call is
//! throttled; and the conformance suite's usage cases on it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use imagecat_core::usage::{FoundVia, ImageUsage, UnknownReason, UsageScope};
use imagecat_core::{Image, ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery, ListQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::SecretString;
use imagecat_testkit::conformance::usage::{UsageFixture, run_usage};
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

/// Every user the usage listing must yield, by the id the adapter gives
/// it, with the AMI it names: computed from the emulator's state alone.
async fn expected_users(emu: &Ec2Emulator, catalog: &Ec2Catalog) -> Vec<(String, String)> {
    let mut users = Vec::new();
    let parameters: BTreeMap<String, String> = emu
        .parameters(REGION)
        .into_iter()
        .map(|p| (p.name, p.values.last().unwrap().0.clone()))
        .collect();
    for i in emu.instances(REGION) {
        if i.state != "terminated" {
            users.push((i.instance_id, i.image_id));
        }
    }
    for lt in emu.launch_templates(REGION) {
        for v in &lt.versions {
            if let Some(image) = &v.image_id {
                let image = match image.strip_prefix("resolve:ssm:") {
                    Some(name) => parameters[name].clone(),
                    None => image.clone(),
                };
                users.push((format!("{} version {}", lt.id, v.number), image));
            }
        }
    }
    for lc in emu.launch_configurations(REGION) {
        users.push((format!("launch configuration {}", lc.name), lc.image_id));
    }
    for g in emu.auto_scaling_groups(REGION) {
        for (k, o) in g
            .mixed
            .map(|m| m.1)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if let Some(image) = o.image_id {
                users.push((
                    format!("auto scaling group {} override {}", g.name, k + 1),
                    image,
                ));
            }
        }
    }
    // DescribeImageReferences, asked for the listed own AMIs: the
    // parameters that hold one.
    let listed: Vec<Image> = catalog.collect(ListQuery::new()).await.unwrap();
    for (name, image) in &parameters {
        if listed.iter().any(|i| i.id.as_str() == image) {
            let arn = format!(
                "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{}",
                name.trim_start_matches('/')
            );
            users.push((format!("{arn} ({image})"), image.clone()));
        }
    }
    users
}

#[tokio::test]
async fn the_usage_conformance_suite_passes_on_the_emulator() {
    let emu = Arc::new(
        Ec2Emulator::start(
            Ec2EmulatorConfig::default().signed(),
            ServeOptions::default(),
        )
        .await
        .expect("the emulator starts"),
    );
    let catalog = catalog(&emu);
    let expected = expected_users(&emu, &catalog).await;
    let mut users: HashMap<ImageId, Vec<String>> = HashMap::new();
    for (user, image) in &expected {
        users
            .entry(ImageId::new(image))
            .or_default()
            .push(user.clone());
    }
    let failing = Arc::clone(&emu);
    let counting = Arc::clone(&emu);
    let fx = UsageFixture {
        catalog: Arc::new(catalog),
        instances: expected.into_iter().map(|(user, _)| user).collect(),
        users,
        scope: UsageScope::OwnTenant,
        // more throttled answers than the catalog's attempts: the next
        // call fails for good
        fail_next_page: Arc::new(move || failing.throttle_next(6)),
        instance_requests: Arc::new(move || counting.calls_of("DescribeInstances").len() as u64),
    };
    let report = run_usage(&fx).await;
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

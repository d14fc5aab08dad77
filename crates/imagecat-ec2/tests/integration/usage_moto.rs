//! Usage against moto (the real AWS mock from PyPI, signature checking on:
//! every request is signed with the IAM key `bootstrap.py` made and checked
//! by moto's own code). One moto for the whole module; each scenario seeds
//! its own region (`scripts/moto/seed_usage.py`, boto3), where moto keeps
//! EC2, SSM and Auto Scaling state apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use imagecat_core::usage::{FoundVia, ImageUsage, UnknownReason, UsageScan};
use imagecat_core::{ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;
use imagecat_testkit::moto::{self, Moto};

/// Seeds `scenario` in `region` (`scripts/moto/seed_usage.py`): name to
/// id.
fn seed(moto: &Moto, scenario: &str, region: &str) -> BTreeMap<String, String> {
    serde_json::from_value(moto.seed("seed_usage.py", &[scenario, region]))
        .expect("seed_usage.py prints names and ids")
}

fn catalog(moto: &Moto, region: &str) -> Ec2Catalog {
    let url = format!(
        "ec2+http://{}?region={region}",
        moto.url.trim_start_matches("http://")
    );
    let credentials = Credentials::new(
        moto.access_key_id.clone(),
        SecretString::new(moto.secret_access_key.clone()),
        None,
        None,
    );
    Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
        .unwrap()
        .env(Env::default())
        .credentials_provider(Arc::new(StaticProvider::new(credentials)))
        .http_options(test_http(3))
        .build()
        .unwrap()
}

async fn usage(catalog: &Ec2Catalog, scan: &UsageScan, id: &str) -> ImageUsage {
    let image = catalog
        .get(&ImageId::new(id))
        .await
        .expect("the AMI exists");
    scan.usage_of(&image)
}

/// The users of an in-use answer as (id, via, status).
fn users(usage: &ImageUsage) -> Vec<(String, FoundVia, String)> {
    match usage {
        ImageUsage::InUse { instances } => instances
            .iter()
            .map(|u| (u.instance_id.clone(), u.via, u.status.clone()))
            .collect(),
        other => panic!("expected in use, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_user_of_an_ami_is_found_on_moto() {
    if moto::skip() {
        return;
    }
    let moto = Moto::start().await;
    let region = "eu-west-1";
    let ids = seed(&moto, "full", region);
    let catalog = catalog(&moto, region);
    let id = |name: &str| ids[name].clone();

    // Page size 10: moto cuts launch templates (18) and versions (20) at
    // MaxResults without a token; the adapter asks again at 200. The
    // default page size asks 200 from the start.
    for page_size in [Some(10), None] {
        let query = match page_size {
            Some(n) => InstanceQuery::new().page_size(n),
            None => InstanceQuery::new(),
        };
        let scan = catalog.usage_scan(query).await;
        assert!(scan.is_complete(), "page size {page_size:?}: {scan:?}");

        let running = users(&usage(&catalog, &scan, &id("running")).await);
        assert!(
            running.contains(&(
                id("instance_running"),
                FoundVia::ImageField,
                "running".into()
            )),
            "{running:?}"
        );
        let stopped = users(&usage(&catalog, &scan, &id("stopped")).await);
        assert_eq!(
            stopped,
            [(
                id("instance_stopped"),
                FoundVia::ImageField,
                "stopped".into()
            )]
        );
        assert_eq!(
            usage(&catalog, &scan, &id("terminated")).await,
            ImageUsage::NotInUse,
            "a terminated instance is no user"
        );
        let lt = id("many_versions");
        for (name, version) in [("lt_version_3", 3), ("lt_version_18", 18)] {
            assert_eq!(
                users(&usage(&catalog, &scan, &id(name)).await),
                [(
                    format!("{lt} version {version}"),
                    FoundVia::LaunchTemplate,
                    "version".into()
                )],
                "{name}"
            );
        }
        let seventeenth = users(&usage(&catalog, &scan, &id("template_17")).await);
        assert_eq!(
            seventeenth,
            [(
                format!("{} version 1", id("template_17_id")),
                FoundVia::LaunchTemplate,
                "default version".into()
            )]
        );
        assert_eq!(
            users(&usage(&catalog, &scan, &id("ssm")).await),
            [(
                format!("{} version 1", id("ssm_template")),
                FoundVia::Parameter,
                "default version".into()
            )]
        );
        assert_eq!(
            users(&usage(&catalog, &scan, &id("launch_configuration")).await),
            [(
                "launch configuration lc-only".into(),
                FoundVia::LaunchConfiguration,
                "launch configuration".into()
            )]
        );
        assert_eq!(
            users(&usage(&catalog, &scan, &id("group_override")).await),
            [(
                "auto scaling group mixed override 2".into(),
                FoundVia::InstanceGroup,
                "auto scaling group".into()
            )]
        );
        assert_eq!(
            usage(&catalog, &scan, &id("unused")).await,
            ImageUsage::NotInUse
        );
        assert!(
            matches!(
                usage(&catalog, &scan, &id("public")).await,
                ImageUsage::Unknown {
                    reason: UnknownReason::OutOfScope { .. }
                }
            ),
            "a public AMI may be used by other accounts"
        );
    }

    // A scan for one image (moto has no DescribeImageReferences: the
    // phase ends, the scan does not fail).
    let scan = catalog
        .usage_scan(InstanceQuery::new().image(id("lt_version_18")))
        .await;
    assert!(scan.is_complete(), "{scan:?}");
    assert_eq!(
        users(&usage(&catalog, &scan, &id("lt_version_18")).await).len(),
        1
    );

    // A template naming an SSM parameter that does not exist: it may
    // launch any AMI, so no AMI of the account is known to be unused.
    let region = "us-west-2";
    let ids = seed(&moto, "ssm-missing", region);
    let catalog = self::catalog(&moto, region);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    match usage(&catalog, &scan, &ids["unused"]).await {
        ImageUsage::Unknown {
            reason: UnknownReason::UnresolvedInstances { instances, count },
        } => {
            assert_eq!(count, 1);
            assert_eq!(instances, [format!("{} version 1", ids["template"])]);
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_amis_are_never_unused_on_moto() {
    if moto::skip() {
        return;
    }
    // moto's DescribeImages says isPublic=false for all but the public
    // one; its DescribeImageAttribute launchPermission tells them apart.
    let moto = Moto::start().await;
    let region = "eu-north-1";
    let ids = seed(&moto, "shared", region);
    let catalog = self::catalog(&moto, region);
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete(), "{scan:?}");
    for (name, want) in [
        ("private", Some(imagecat_core::Visibility::Private)),
        ("to_account", Some(imagecat_core::Visibility::Shared)),
        ("to_org", Some(imagecat_core::Visibility::Shared)),
        ("to_ou", Some(imagecat_core::Visibility::Shared)),
        ("public", Some(imagecat_core::Visibility::Public)),
    ] {
        let image = catalog
            .get(&ImageId::new(&ids[name]))
            .await
            .expect("the AMI exists");
        assert_eq!(catalog.audience(&image).await.unwrap(), want, "{name}");
        let usage = catalog.candidate_usage(&scan, &image).await;
        if name == "private" {
            assert_eq!(usage, ImageUsage::NotInUse);
        } else {
            assert!(
                matches!(
                    usage,
                    ImageUsage::Unknown {
                        reason: UnknownReason::OutOfScope { .. }
                    }
                ),
                "{name}: {usage:?}"
            );
        }
    }
}

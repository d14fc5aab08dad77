//! Issue 24: the EC2 emulator's Query API as EC2 documents it and as the
//! reference found it (`reference/aws-ec2-api.md`): real paging, filters,
//! owners, deprecated/disabled visibility, deregistration with its
//! snapshots, protection, snapshots in use, regions kept apart, errors in
//! EC2's document, throttling, and the call log. Requests carry a SigV4
//! header whose signature is not checked here (the emulator holds no
//! keys); signatures are checked with the real clients in `ec2_clients`.
#![cfg(feature = "ec2")]

use std::collections::HashSet;

use imagecat_emulators::ec2::{ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, Ec2Image};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest;

use crate::ec2_support::*;

/// Every own image id, walking pages of `size`.
async fn walk(emu: &Ec2Emulator, size: &str, extra: &[(&str, &str)]) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("MaxResults", size),
        ];
        params.extend_from_slice(extra);
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let (status, body) = call(emu, "us-east-1", &params).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let page = all(&body, "imageId");
        assert!(page.len() <= size.parse().unwrap());
        ids.extend(page);
        token = one(&body, "nextToken");
        if token.is_none() {
            return (ids, pages);
        }
        assert!(pages < 1000, "paging does not end");
    }
}

#[tokio::test]
async fn describe_images_pages_by_opaque_token_and_serves_each_image_once() {
    let emu = start().await;
    let (ids, pages) = walk(&emu, "5", &[]).await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an image served twice");
    // 50 seeded, minus the disabled ones (hidden without IncludeDisabled).
    let disabled = emu
        .images("us-east-1")
        .iter()
        .filter(|i| i.owner_id == ACCOUNT && i.state == "disabled")
        .count();
    assert!(disabled > 0);
    assert_eq!(ids.len(), 50 - disabled);
    assert_eq!(pages, (50 - disabled).div_ceil(5));
    let (with_disabled, _) = walk(&emu, "7", &[("IncludeDisabled", "true")]).await;
    assert_eq!(with_disabled.len(), 50);
    // The token is opaque: no id in it.
    let (_, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("MaxResults", "5"),
        ],
    )
    .await;
    let token = one(&body, "nextToken").unwrap();
    assert!(!token.contains("ami-"), "{token}");
}

#[tokio::test]
async fn page_sizes_tokens_and_id_lists_are_validated_as_ec2_does() {
    let emu = start().await;
    for (size, code) in [
        ("4", "InvalidParameterValue"),
        ("1001", "InvalidParameterValue"),
        ("x", "InvalidParameterValue"),
    ] {
        let (status, body) = call(
            &emu,
            "us-east-1",
            &[
                ("Action", "DescribeImages"),
                ("Owner.1", "self"),
                ("MaxResults", size),
            ],
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (400, code.to_owned()),
            "{body}"
        );
        assert!(
            body.starts_with("<?xml")
                && body.contains("<Response><Errors><Error>")
                && body.contains("<RequestID>"),
            "{body}"
        );
    }
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("NextToken", "not-a-token")],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidPaginationToken")
    );
    let id = emu.own_image_ids("us-east-1")[0].clone();
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("ImageId.1", &id),
            ("MaxResults", "5"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidParameterCombination")
    );
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("ImageId.1", "ami-00000000000000000"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidAMIID.NotFound")
    );
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("ImageId.1", "image-1")],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidAMIID.Malformed")
    );
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("Filter.1.Name", "no-such-filter"),
            ("Filter.1.Value.1", "x"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidParameterValue")
    );
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("ImageId.1", &id)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(all(&body, "imageId"), [id]);
}

#[tokio::test]
async fn filters_match_with_wildcards_and_combine_as_ec2_says() {
    let emu = start().await;
    let own: Vec<Ec2Image> = emu
        .images("us-east-1")
        .into_iter()
        .filter(|i| i.owner_id == ACCOUNT && i.state != "disabled")
        .collect();
    let expect = |f: &dyn Fn(&Ec2Image) -> bool| -> Vec<String> {
        own.iter()
            .filter(|i| f(i))
            .map(|i| i.image_id.clone())
            .collect()
    };
    let cases: Vec<(Params, Vec<String>)> = vec![
        (
            vec![("Filter.1.Name", "name"), ("Filter.1.Value.1", "web-*")],
            expect(&|i| i.name.starts_with("web-")),
        ),
        (
            // `?` is one character: the two-letter family only.
            vec![("Filter.1.Name", "name"), ("Filter.1.Value.1", "??-0000?")],
            expect(&|i| i.name.starts_with("db-0000") && i.name.len() == 8),
        ),
        (
            vec![
                ("Filter.1.Name", "tag:family"),
                ("Filter.1.Value.1", "api"),
                ("Filter.1.Value.2", "batch"),
            ],
            expect(&|i| matches!(i.tag("family"), Some("api" | "batch"))),
        ),
        (
            vec![
                ("Filter.1.Name", "tag:family"),
                ("Filter.1.Value.1", "web"),
                ("Filter.2.Name", "tag:env"),
                ("Filter.2.Value.1", "prod"),
            ],
            expect(&|i| i.tag("family") == Some("web") && i.tag("env") == Some("prod")),
        ),
        (
            vec![("Filter.1.Name", "tag-key"), ("Filter.1.Value.1", "fam*")],
            expect(&|_| true),
        ),
        (
            vec![("Filter.1.Name", "is-public"), ("Filter.1.Value.1", "true")],
            expect(&|i| i.public),
        ),
        (
            vec![
                ("Filter.1.Name", "architecture"),
                ("Filter.1.Value.1", "arm64"),
            ],
            expect(&|i| i.architecture == "arm64"),
        ),
        (
            vec![
                ("Filter.1.Name", "state"),
                ("Filter.1.Value.1", "available"),
            ],
            expect(&|i| i.state == "available"),
        ),
        (
            vec![("Filter.1.Name", "owner-id"), ("Filter.1.Value.1", ACCOUNT)],
            expect(&|_| true),
        ),
        (
            vec![
                ("Filter.1.Name", "image-id"),
                ("Filter.1.Value.1", &own[3].image_id),
            ],
            vec![own[3].image_id.clone()],
        ),
    ];
    for (filters, want) in cases {
        assert!(
            !want.is_empty(),
            "{filters:?} selects nothing: a vacuous case"
        );
        let mut params = vec![("Action", "DescribeImages"), ("Owner.1", "self")];
        params.extend(filters.iter().copied());
        let (status, body) = call(&emu, "us-east-1", &params).await;
        assert_eq!(status, 200, "{body}");
        let mut got = all(&body, "imageId");
        got.sort();
        assert_eq!(got, want, "{filters:?}");
    }
}

#[tokio::test]
async fn owners_decide_whose_images_and_no_owner_sweeps_in_public_ones() {
    let emu = start().await;
    let owners = |body: &str| {
        all(body, "imageOwnerId")
            .into_iter()
            .collect::<HashSet<_>>()
    };
    let (_, body) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("Owner.1", "amazon")],
    )
    .await;
    assert_eq!(all(&body, "imageId").len(), 3);
    assert_eq!(owners(&body), HashSet::from(["137112412989".to_owned()]));
    assert!(body.contains("<imageOwnerAlias>amazon</imageOwnerAlias>"));
    let (_, body) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("Owner.1", ACCOUNT)],
    )
    .await;
    assert_eq!(owners(&body), HashSet::from([ACCOUNT.to_owned()]));
    let (_, body) = call(&emu, "us-east-1", &[("Action", "DescribeImages")]).await;
    assert_eq!(
        owners(&body).len(),
        2,
        "no Owners lists the public AMIs of others too"
    );
}

#[tokio::test]
async fn deregistering_deletes_unshared_snapshots_and_keeps_a_shared_one() {
    let emu = start().await;
    let region = "us-east-1";
    // Seeded images 1 and 2 share one snapshot.
    let images = emu.images(region);
    let shared: Vec<&Ec2Image> = images
        .iter()
        .filter(|i| {
            images.iter().any(|j| {
                j.image_id != i.image_id && j.snapshot_ids().next() == i.snapshot_ids().next()
            })
        })
        .collect();
    assert_eq!(shared.len(), 2);
    let (a, b) = (shared[0].image_id.clone(), shared[1].image_id.clone());
    let snap = shared[0].snapshot_ids().next().unwrap().to_owned();
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DeleteSnapshot"), ("SnapshotId", &snap)],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidSnapshot.InUse")
    );
    assert!(body.contains(&snap));
    let (status, body) = call(
        &emu,
        region,
        &[
            ("Action", "DeregisterImage"),
            ("ImageId", &a),
            ("DeleteAssociatedSnapshots", "true"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(one(&body, "returnCode").as_deref(), Some("skipped"));
    assert_eq!(one(&body, "snapshotId"), Some(snap.clone()));
    let (_, body) = call(
        &emu,
        region,
        &[
            ("Action", "DeregisterImage"),
            ("ImageId", &b),
            ("DeleteAssociatedSnapshots", "true"),
        ],
    )
    .await;
    assert_eq!(one(&body, "returnCode").as_deref(), Some("success"));
    assert!(!emu.snapshots(region).iter().any(|s| s.snapshot_id == snap));
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", &a)],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidAMIID.Unavailable")
    );
    let (status, body) = call(
        &emu,
        region,
        &[
            ("Action", "DeregisterImage"),
            ("ImageId", "ami-0123456789abcdef0"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidAMIID.NotFound")
    );
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DeleteSnapshot"), ("SnapshotId", &snap)],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidSnapshot.NotFound")
    );
    // A deregistered id is an empty answer, not an error.
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("ImageId.1", &a)],
    )
    .await;
    assert_eq!((status, all(&body, "imageId").len()), (200, 0));
    assert_eq!(emu.deregistered(region), {
        let mut v = vec![a, b];
        v.sort();
        v
    });
    assert_eq!(emu.calls_of("DeregisterImage").len(), 4);
}

#[tokio::test]
async fn a_protected_image_is_refused_until_protection_is_disabled() {
    let emu = start().await;
    let region = "us-east-1";
    let id = emu.own_image_ids(region)[0].clone();
    let (status, body) = call(
        &emu,
        region,
        &[
            ("Action", "EnableImageDeregistrationProtection"),
            ("ImageId", &id),
            ("WithCooldown", "true"),
        ],
    )
    .await;
    assert_eq!(
        (status, one(&body, "return").as_deref()),
        (200, Some("enabled"))
    );
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", &id)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        one(&body, "Message")
            .unwrap()
            .contains("deregistration protection"),
        "{body}"
    );
    assert!(emu.image(region, &id).is_some());
    let (_, body) = call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("ImageId.1", &id)],
    )
    .await;
    assert_eq!(
        one(&body, "deregistrationProtection").as_deref(),
        Some("enabled-with-cooldown")
    );
    call(
        &emu,
        region,
        &[
            ("Action", "DisableImageDeregistrationProtection"),
            ("ImageId", &id),
        ],
    )
    .await;
    let (status, _) = call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", &id)],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn deprecated_and_disabled_images_are_shown_as_ec2_shows_them() {
    let emu = start().await;
    let region = "us-east-1";
    let id = emu.own_image_ids(region)[0].clone();
    let (status, body) = call(
        &emu,
        region,
        &[
            ("Action", "EnableImageDeprecation"),
            ("ImageId", &id),
            ("DeprecateAt", "2099-01-01T10:17:33Z"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("ImageId.1", &id)],
    )
    .await;
    assert_eq!(
        one(&body, "deprecationTime").as_deref(),
        Some("2099-01-01T10:17:00Z")
    );
    let (status, body) = call(
        &emu,
        region,
        &[
            ("Action", "EnableImageDeprecation"),
            ("ImageId", &id),
            ("DeprecateAt", "2001-01-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "InvalidParameterValue")
    );
    call(
        &emu,
        region,
        &[("Action", "DisableImage"), ("ImageId", &id)],
    )
    .await;
    let (_, body) = call(
        &emu,
        region,
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("Filter.1.Name", "image-id"),
            ("Filter.1.Value.1", &id),
        ],
    )
    .await;
    assert!(
        all(&body, "imageId").is_empty(),
        "a disabled AMI is hidden by default"
    );
    let (_, body) = call(
        &emu,
        region,
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("IncludeDisabled", "true"),
            ("Filter.1.Name", "image-id"),
            ("Filter.1.Value.1", &id),
        ],
    )
    .await;
    assert_eq!(one(&body, "imageState").as_deref(), Some("disabled"));
    call(&emu, region, &[("Action", "EnableImage"), ("ImageId", &id)]).await;
    assert_eq!(emu.image(region, &id).unwrap().state, "available");
    // Another account's deprecated public AMI is hidden unless asked for.
    emu.update_image(
        region,
        &emu.images(region)
            .iter()
            .find(|i| i.owner_alias.is_some())
            .unwrap()
            .image_id
            .clone(),
        |i| {
            i.deprecation_time = Some(chrono::Utc::now() - chrono::Duration::days(1));
        },
    );
    let (_, body) = call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("Owner.1", "amazon")],
    )
    .await;
    assert_eq!(all(&body, "imageId").len(), 2);
    let (_, body) = call(
        &emu,
        region,
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "amazon"),
            ("IncludeDeprecated", "true"),
        ],
    )
    .await;
    assert_eq!(all(&body, "imageId").len(), 3);
}

#[tokio::test]
async fn regions_are_apart_and_the_scope_picks_one() {
    let config = Ec2EmulatorConfig {
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        ..Ec2EmulatorConfig::default()
    };
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    let (_, east) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("IncludeDisabled", "true"),
        ],
    )
    .await;
    let (_, west) = call(
        &emu,
        "eu-west-1",
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("IncludeDisabled", "true"),
        ],
    )
    .await;
    let (_, empty) = call(
        &emu,
        "ap-south-1",
        &[("Action", "DescribeImages"), ("Owner.1", "self")],
    )
    .await;
    let east: HashSet<String> = all(&east, "imageId").into_iter().collect();
    let west: HashSet<String> = all(&west, "imageId").into_iter().collect();
    assert_eq!((east.len(), west.len()), (50, 50));
    assert!(east.is_disjoint(&west));
    assert!(all(&empty, "imageId").is_empty());
    let (_, regions) = call(&emu, "us-east-1", &[("Action", "DescribeRegions")]).await;
    assert_eq!(all(&regions, "regionName").len(), 17);
    let (_, regions) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeRegions"),
            ("Filter.1.Name", "region-name"),
            ("Filter.1.Value.1", "eu-*"),
        ],
    )
    .await;
    assert_eq!(all(&regions, "regionName").len(), 5);
}

#[tokio::test]
async fn the_caller_throttling_and_unsigned_requests_answer_as_aws_does() {
    let emu = start().await;
    let (status, body) =
        call_service(&emu, "us-east-1", "sts", &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<GetCallerIdentityResult>")
            && body.contains(&format!("<Account>{ACCOUNT}</Account>")),
        "{body}"
    );
    emu.throttle_next(2);
    for _ in 0..2 {
        let (status, body) = call(
            &emu,
            "us-east-1",
            &[("Action", "DescribeImages"), ("Owner.1", "self")],
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (503, "RequestLimitExceeded")
        );
    }
    let (status, _) = call(
        &emu,
        "us-east-1",
        &[("Action", "DescribeImages"), ("Owner.1", "self")],
    )
    .await;
    assert_eq!(status, 200);
    let response = reqwest::Client::new()
        .post(format!("{}/", emu.endpoint()))
        .form(&[("Action", "DescribeImages"), ("Version", "2016-11-15")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let (status, body) = call(&emu, "us-east-1", &[("Action", "NoSuchThing")]).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "InvalidAction"));
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DeregisterImage"),
            ("ImageId", &emu.own_image_ids("us-east-1")[0]),
            ("DryRun", "true"),
        ],
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (412, "DryRunOperation")
    );
    assert_eq!(emu.deregistered("us-east-1").len(), 0);
}

#[tokio::test]
async fn snapshots_are_listed_by_owner_and_paged() {
    let emu = start().await;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Action", "DescribeSnapshots"),
            ("Owner.1", "self"),
            ("MaxResults", "6"),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let (status, body) = call(&emu, "us-east-1", &params).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(all(&body, "snapshotId"));
        token = one(&body, "nextToken");
        if token.is_none() {
            break;
        }
    }
    // 50 images, two sharing one snapshot.
    assert_eq!(seen.len(), 49);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 49);
}

#[tokio::test]
async fn a_get_with_the_parameters_in_the_query_is_served_as_a_post() {
    let emu = start().await;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/?Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=web-0000%2A",
            emu.endpoint()
        ))
        .header("authorization", authorization("us-east-1", "ec2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.unwrap();
    let names = all(&body, "name");
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("web-0000")),
        "{names:?}"
    );
    assert!(body.contains(
        "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"
    ));
}

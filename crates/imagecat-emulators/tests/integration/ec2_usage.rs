//! Issue 24: what uses an AMI, as the EC2 emulator serves it: instances by
//! reservation and paged, launch templates and versions paged (more than
//! moto's silent 15), `resolve:ssm:` kept and resolved, Auto Scaling's
//! `member` lists and paging, SSM over JSON 1.1, DescribeImageReferences.
#![cfg(feature = "ec2")]

use std::collections::HashSet;

use chrono::Utc;
use imagecat_emulators::ec2::{
    ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, LaunchConfiguration, LaunchTemplate,
    LaunchTemplateVersion,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest;

use crate::ec2_support::{all, call_service};

const REGION: &str = "us-east-1";

/// A call to `service` in `REGION`.
async fn call(emu: &Ec2Emulator, service: &str, params: &[(&str, &str)]) -> (u16, String) {
    call_service(emu, REGION, service, params).await
}

/// Every page of a listing: the `item` texts of `element`, the pages.
async fn pages(
    emu: &Ec2Emulator,
    service: &str,
    params: &[(&str, &str)],
    element: &str,
    token: &str,
) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    let mut n = 0;
    loop {
        let mut p = params.to_vec();
        if let Some(t) = &next {
            p.push(("NextToken", t));
        }
        let (status, body) = call(emu, service, &p).await;
        assert_eq!(status, 200, "{body}");
        n += 1;
        out.extend(all(&body, element));
        next = all(&body, token).into_iter().next();
        if next.is_none() {
            return (out, n);
        }
    }
}

async fn start(instances: usize) -> Ec2Emulator {
    let config = Ec2EmulatorConfig {
        instances,
        ..Ec2EmulatorConfig::default()
    };
    Ec2Emulator::start(config, ServeOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn instances_page_by_reservation_and_filter_by_image_and_state() {
    let emu = start(23).await;
    let (ids, n) = pages(
        &emu,
        "ec2",
        &[("Action", "DescribeInstances"), ("MaxResults", "5")],
        "instanceId",
        "nextToken",
    )
    .await;
    assert_eq!(ids.len(), 23);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 23);
    assert_eq!(n, 5);
    let image = emu.instances(REGION)[0].image_id.clone();
    let want: HashSet<String> = emu
        .instances(REGION)
        .into_iter()
        .filter(|i| i.image_id == image && i.state != "terminated")
        .map(|i| i.instance_id)
        .collect();
    let (got, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeInstances"),
            ("Filter.1.Name", "image-id"),
            ("Filter.1.Value.1", &image),
            ("Filter.2.Name", "instance-state-name"),
            ("Filter.2.Value.1", "pending"),
            ("Filter.2.Value.2", "running"),
            ("Filter.2.Value.3", "stopping"),
            ("Filter.2.Value.4", "stopped"),
            ("Filter.2.Value.5", "shutting-down"),
        ],
        "instanceId",
        "nextToken",
    )
    .await;
    assert!(!want.is_empty());
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), want);
    let id = emu.instances(REGION)[0].instance_id.clone();
    let (status, body) = call(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeInstances"),
            ("InstanceId.1", &id),
            ("MaxResults", "5"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidParameterCombination</Code>"));
    let running = emu
        .instances(REGION)
        .into_iter()
        .find(|i| i.state == "running")
        .unwrap()
        .instance_id;
    let (_, body) = call(
        &emu,
        "ec2",
        &[("Action", "TerminateInstances"), ("InstanceId.1", &running)],
    )
    .await;
    assert!(body.contains("<currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name>"), "{body}");
    assert_eq!(
        emu.instances(REGION)
            .into_iter()
            .find(|i| i.instance_id == running)
            .unwrap()
            .state,
        "terminated"
    );
}

#[tokio::test]
async fn launch_templates_and_versions_page_past_moto_s_fifteen() {
    let emu = start(0).await;
    let image = emu.own_image_ids(REGION)[0].clone();
    for n in 0..20 {
        emu.insert_launch_template(
            REGION,
            LaunchTemplate {
                id: format!("lt-{n:017x}"),
                name: format!("many-{n:02}"),
                owner_id: ACCOUNT.to_owned(),
                default_version: 1,
                create_time: Utc::now(),
                versions: (1..=3)
                    .map(|v| LaunchTemplateVersion {
                        number: v,
                        description: None,
                        image_id: Some(if v == 3 {
                            "resolve:ssm:/imagecat/golden/web".to_owned()
                        } else {
                            image.clone()
                        }),
                        instance_type: None,
                        create_time: Utc::now(),
                    })
                    .collect(),
                tags: Vec::new(),
            },
        );
    }
    let (names, n) = pages(
        &emu,
        "ec2",
        &[("Action", "DescribeLaunchTemplates"), ("MaxResults", "6")],
        "launchTemplateName",
        "nextToken",
    )
    .await;
    assert_eq!(names.len(), 22, "20 inserted, 2 seeded");
    assert_eq!(n, 4);
    let (status, body) = call(
        &emu,
        "ec2",
        &[("Action", "DescribeLaunchTemplates"), ("MaxResults", "201")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Every version of one template, 2 a page; $Latest of all, resolved.
    let (versions, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeLaunchTemplateVersions"),
            ("LaunchTemplateName", "many-07"),
            ("MaxResults", "2"),
        ],
        "versionNumber",
        "nextToken",
    )
    .await;
    assert_eq!(versions, ["1", "2", "3"]);
    let (latest, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeLaunchTemplateVersions"),
            ("LaunchTemplateVersion.1", "$Latest"),
            ("ResolveAlias", "true"),
            ("MaxResults", "7"),
        ],
        "imageId",
        "nextToken",
    )
    .await;
    let target = emu.parameters(REGION)[0].values.last().unwrap().0.clone();
    assert_eq!(
        latest.iter().filter(|i| **i == target).count(),
        21,
        "{latest:?}"
    );
    let (verbatim, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeLaunchTemplateVersions"),
            ("LaunchTemplateVersion.1", "$Latest"),
        ],
        "imageId",
        "nextToken",
    )
    .await;
    assert_eq!(
        verbatim
            .iter()
            .filter(|i| i.starts_with("resolve:ssm:"))
            .count(),
        21
    );
    let (status, body) = call(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeLaunchTemplateVersions"),
            ("LaunchTemplateVersion.1", "2"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn auto_scaling_lists_members_paged_with_its_own_errors() {
    let emu = start(0).await;
    let image = emu.own_image_ids(REGION)[0].clone();
    for n in 0..60 {
        emu.insert_launch_configuration(
            REGION,
            LaunchConfiguration {
                name: format!("lc-{n:02}"),
                owner_id: ACCOUNT.to_owned(),
                image_id: image.clone(),
                instance_type: "t3.micro".to_owned(),
                created_time: Utc::now(),
            },
        );
    }
    let (names, n) = pages(
        &emu,
        "autoscaling",
        &[("Action", "DescribeLaunchConfigurations")],
        "LaunchConfigurationName",
        "NextToken",
    )
    .await;
    assert_eq!((names.len(), n), (61, 2), "the default page is 50");
    let (status, body) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "DescribeLaunchConfigurations"),
            ("MaxRecords", "101"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("<ErrorResponse") && body.contains("<Type>Sender</Type>"),
        "{body}"
    );
    let (status, body) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "DescribeLaunchConfigurations"),
            ("NextToken", "zz"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidNextToken</Code>"));
    let (_, body) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "DescribeLaunchConfigurations"),
            ("LaunchConfigurationNames.member.1", "lc-07"),
            ("LaunchConfigurationNames.member.2", "legacy-db"),
        ],
    )
    .await;
    assert_eq!(
        all(&body, "LaunchConfigurationName"),
        ["legacy-db", "lc-07"]
            .map(str::to_owned)
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
    );
    assert!(
        body.contains("<DescribeLaunchConfigurationsResult>")
            && body.contains("xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"")
    );
    let (status, _) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "CreateAutoScalingGroup"),
            ("AutoScalingGroupName", "g2"),
            ("MinSize", "0"),
            ("MaxSize", "1"),
            ("LaunchConfigurationName", "lc-01"),
            ("AvailabilityZones.member.1", "us-east-1a"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "DeleteLaunchConfiguration"),
            ("LaunchConfigurationName", "lc-01"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>ResourceInUse</Code>"));
    let (_, body) = call(
        &emu,
        "autoscaling",
        &[
            ("Action", "DescribeAutoScalingGroups"),
            ("AutoScalingGroupNames.member.1", "g2"),
        ],
    )
    .await;
    assert_eq!(all(&body, "LaunchConfigurationName"), ["lc-01"]);
}

#[tokio::test]
async fn image_references_name_every_kind_and_validate_their_input() {
    let emu = start(12).await;
    let by_name = |n: &str| {
        emu.images(REGION)
            .into_iter()
            .find(|i| i.name == n)
            .unwrap()
            .image_id
    };
    let (image, via_ssm) = (by_name("batch-00000"), by_name("web-00002"));
    let (refs, n) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeImageReferences"),
            ("ImageId.1", &image),
            ("ImageId.2", &via_ssm),
            ("IncludeAllResourceTypes", "true"),
            ("MaxResults", "5"),
        ],
        "arn",
        "nextToken",
    )
    .await;
    let kinds: HashSet<&str> = refs
        .iter()
        .map(|a| a.split(':').nth(5).unwrap().split('/').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        HashSet::from(["instance", "launch-template", "parameter"]),
        "{refs:?}"
    );
    assert!(n >= 1);
    // Only stopped instances, no templates.
    let (stopped, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeImageReferences"),
            ("ImageId.1", &image),
            ("ResourceType.1.ResourceType", "ec2:Instance"),
            (
                "ResourceType.1.ResourceTypeOption.1.OptionName",
                "state-name",
            ),
            (
                "ResourceType.1.ResourceTypeOption.1.OptionValue.1",
                "stopped",
            ),
        ],
        "arn",
        "nextToken",
    )
    .await;
    let want: Vec<String> = emu
        .instances(REGION)
        .into_iter()
        .filter(|i| i.image_id == image && i.state == "stopped")
        .map(|i| format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{}", i.instance_id))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(stopped, want);
    // version-depth 1: only the newest version of `web` (the SSM one).
    let (depth, _) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeImageReferences"),
            ("ImageId.1", &image),
            ("ResourceType.1.ResourceType", "ec2:LaunchTemplate"),
            (
                "ResourceType.1.ResourceTypeOption.1.OptionName",
                "version-depth",
            ),
            ("ResourceType.1.ResourceTypeOption.1.OptionValue.1", "1"),
        ],
        "arn",
        "nextToken",
    )
    .await;
    assert!(depth.is_empty(), "{depth:?}");
    for bad in [
        vec![
            ("Action", "DescribeImageReferences"),
            ("ImageId.1", image.as_str()),
        ],
        vec![
            ("Action", "DescribeImageReferences"),
            ("IncludeAllResourceTypes", "true"),
        ],
    ] {
        let (status, _) = call(&emu, "ec2", &bad).await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn ssm_answers_json_with_its_error_types() {
    let emu = start(0).await;
    let client = reqwest::Client::new();
    let ssm = |target: &'static str, body: &'static str| {
        client
            .post(format!("{}/", emu.endpoint()))
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential=AK/20261207/{REGION}/ssm/aws4_request, SignedHeaders=host, Signature=00"))
            .header("x-amz-target", format!("AmazonSSM.{target}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body)
            .send()
    };
    let r = ssm("GetParameter", r#"{"Name":"/imagecat/golden/web"}"#)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["Parameter"]["Version"], 1);
    assert!(
        v["Parameter"]["Value"]
            .as_str()
            .unwrap()
            .starts_with("ami-")
    );
    assert!(v["Parameter"].get("Selector").is_none());
    let r = ssm("GetParameter", r#"{"Name":"/imagecat/golden/web:2"}"#)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.text().await.unwrap()).unwrap()["__type"],
        "ParameterVersionNotFound"
    );
    let r = ssm("GetParameter", r#"{"Name":"/nope"}"#).await.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.text().await.unwrap()).unwrap()["__type"],
        "ParameterNotFound"
    );
    let r = ssm("GetParameter", "not json").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn a_full_last_page_can_carry_a_token_to_an_empty_one() {
    let config = Ec2EmulatorConfig {
        instances: 10,
        token_at_end: true,
        ..Ec2EmulatorConfig::default()
    };
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    let (ids, n) = pages(
        &emu,
        "ec2",
        &[("Action", "DescribeInstances"), ("MaxResults", "5")],
        "instanceId",
        "nextToken",
    )
    .await;
    assert_eq!(
        (ids.len(), n),
        (10, 3),
        "two full pages, then an empty one without a token"
    );
    let (images, n) = pages(
        &emu,
        "ec2",
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("IncludeDisabled", "true"),
            ("MaxResults", "10"),
        ],
        "imageId",
        "nextToken",
    )
    .await;
    assert_eq!((images.len(), n), (50, 6));
    // Unpaged answers never carry one.
    let (_, body) = call(
        &emu,
        "ec2",
        &[("Action", "DescribeImages"), ("Owner.1", "self")],
    )
    .await;
    assert!(!body.contains("<nextToken>"));
}

#[tokio::test]
async fn instance_faults_empty_pages_and_shifts_keep_every_instance_reachable() {
    use imagecat_emulators::faults::InstanceFaults;
    let emu = start(12).await;
    emu.instance_faults(InstanceFaults {
        past_row: 5,
        empty_pages: 2,
        shifts: 0,
    });
    let (ids, n) = pages(
        &emu,
        "ec2",
        &[("Action", "DescribeInstances"), ("MaxResults", "5")],
        "instanceId",
        "nextToken",
    )
    .await;
    assert_eq!(ids.len(), 12);
    assert_eq!(n, 3 + 2, "two empty pages that carry their token again");
    emu.instance_faults(InstanceFaults {
        past_row: 5,
        empty_pages: 0,
        shifts: 1,
    });
    let before: HashSet<String> = emu
        .instances(REGION)
        .into_iter()
        .map(|i| i.instance_id)
        .collect();
    let (ids, _) = pages(
        &emu,
        "ec2",
        &[("Action", "DescribeInstances"), ("MaxResults", "5")],
        "instanceId",
        "nextToken",
    )
    .await;
    let after = emu.instances(REGION);
    assert_eq!(after.len(), 13, "one launched by the shift");
    let launched: Vec<_> = after
        .iter()
        .filter(|i| !before.contains(&i.instance_id))
        .collect();
    assert_eq!(launched.len(), 1);
    assert_eq!(
        after.iter().filter(|i| i.state == "terminated").count(),
        3,
        "two seeded terminated, one ended by the shift"
    );
    // The walk saw every instance, the launched one included, once.
    assert_eq!(ids.len(), 13);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 13);
}

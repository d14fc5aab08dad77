//! Issue 24: the real AWS clients against `imagecat emulate ec2`'s
//! emulator, with its signature checking on: awscli 1.46.3 (`aws ec2 …`,
//! `aws autoscaling …`, `aws sts …`, `aws ssm …` with `--endpoint-url`)
//! and boto3 1.44.18 (its DescribeImages paginator among others), both
//! installed by `scripts/moto/install.sh` into `target/moto/clients`.
//! The tests assert on what the clients print. `IMAGECAT_SKIP_MOTO=1`
//! skips them (visibly), as it skips every test of that install.
#![cfg(all(feature = "ec2", unix))]

use std::collections::HashSet;
use std::process::{Command, Stdio};

use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_testkit::moto;
use serde_json::Value;

const REGION: &str = "us-east-1";

/// What a client run printed.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "the client failed: {self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs a program of the clients' virtualenv against `emu` with `secret`.
async fn client(
    emu: &Ec2Emulator,
    program: &str,
    args: Vec<String>,
    secret: &str,
    env: &[(&str, String)],
) -> Run {
    let bin = moto::clients_bin().join(program);
    let endpoint = emu.endpoint();
    let secret = secret.to_owned();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&bin)
            .args(&args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", std::env::temp_dir())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("IMAGECAT_ENDPOINT", endpoint)
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

async fn aws(emu: &Ec2Emulator, args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend([
        "--endpoint-url".to_owned(),
        emu.endpoint(),
        "--output".to_owned(),
        "json".to_owned(),
    ]);
    client(emu, "aws", all, SECRET_ACCESS_KEY, &[]).await
}

/// Installs the clients (quick when installed); false when skipped.
async fn clients_ready() -> bool {
    if moto::skip() {
        return false;
    }
    tokio::task::spawn_blocking(|| moto::moto().install("install.sh"))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    true
}

async fn signed_emulator() -> Ec2Emulator {
    Ec2Emulator::start(
        Ec2EmulatorConfig::default().signed(),
        ServeOptions::default(),
    )
    .await
    .expect("start")
}

fn strings(v: &Value, pointer_each: &str, items: &str) -> Vec<String> {
    v[items]
        .as_array()
        .unwrap_or_else(|| panic!("no {items} in {v}"))
        .iter()
        .map(|i| {
            i.pointer(pointer_each)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn awscli_lists_pages_filters_and_deregisters_as_against_aws() {
    if !clients_ready().await {
        return;
    }
    let emu = signed_emulator().await;
    let own: Vec<_> = emu
        .images(REGION)
        .into_iter()
        .filter(|i| i.owner_id == ACCOUNT && i.state != "disabled")
        .collect();
    // One call, then the CLI's own paging at 7 a page.
    let listed = aws(&emu, &["ec2", "describe-images", "--owners", "self"])
        .await
        .json();
    let mut ids = strings(&listed, "/ImageId", "Images");
    ids.sort();
    let want: Vec<String> = own.iter().map(|i| i.image_id.clone()).collect();
    assert_eq!(ids, want);
    emu.clear_calls();
    let paged = aws(
        &emu,
        &[
            "ec2",
            "describe-images",
            "--owners",
            "self",
            "--page-size",
            "7",
        ],
    )
    .await
    .json();
    let mut paged_ids = strings(&paged, "/ImageId", "Images");
    paged_ids.sort();
    assert_eq!(paged_ids, want);
    let calls = emu.calls_of("DescribeImages");
    assert_eq!(calls.len(), want.len().div_ceil(7));
    assert!(calls.iter().all(|c| c.param("MaxResults") == Some("7")));
    // A filter with a wildcard, and one image by id with its fields.
    let web = aws(
        &emu,
        &[
            "ec2",
            "describe-images",
            "--owners",
            "self",
            "--filters",
            "Name=name,Values=web-*",
            "Name=tag:env,Values=prod",
        ],
    )
    .await
    .json();
    let expected = own
        .iter()
        .filter(|i| i.name.starts_with("web-") && i.tag("env") == Some("prod"))
        .count();
    assert!(expected > 0);
    assert_eq!(strings(&web, "/Name", "Images").len(), expected);
    let first = &own[0];
    let shown = aws(
        &emu,
        &["ec2", "describe-images", "--image-ids", &first.image_id],
    )
    .await
    .json();
    let image = &shown["Images"][0];
    assert_eq!(image["Name"], first.name.as_str());
    assert_eq!(image["OwnerId"], ACCOUNT);
    assert_eq!(image["State"], "available");
    assert_eq!(image["Public"], first.public);
    assert_eq!(
        image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"],
        first.snapshot_ids().next().unwrap()
    );
    assert_eq!(image["DeregistrationProtection"], "disabled");
    let tags: HashSet<String> = image["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t["Key"].as_str().unwrap(),
                t["Value"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        tags.contains(&format!("family={}", first.tag("family").unwrap())),
        "{tags:?}"
    );
    // Deregister with its snapshots, then again.
    let gone = aws(
        &emu,
        &[
            "ec2",
            "deregister-image",
            "--image-id",
            &first.image_id,
            "--delete-associated-snapshots",
        ],
    )
    .await
    .json();
    assert_eq!(gone["Return"], true);
    assert_eq!(gone["DeleteSnapshotResults"][0]["ReturnCode"], "success");
    assert_eq!(
        gone["DeleteSnapshotResults"][0]["SnapshotId"],
        first.snapshot_ids().next().unwrap()
    );
    let again = aws(
        &emu,
        &["ec2", "deregister-image", "--image-id", &first.image_id],
    )
    .await;
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("(InvalidAMIID.Unavailable)"),
        "{again:?}"
    );
    // The snapshot of a registered AMI cannot go.
    let used = own[5].snapshot_ids().next().unwrap().to_owned();
    let in_use = aws(&emu, &["ec2", "delete-snapshot", "--snapshot-id", &used]).await;
    assert!(
        in_use.stderr.contains("(InvalidSnapshot.InUse)")
            && in_use.stderr.contains(&own[5].image_id),
        "{in_use:?}"
    );
}

#[tokio::test]
async fn awscli_reads_usage_the_caller_and_parameters() {
    if !clients_ready().await {
        return;
    }
    let emu = signed_emulator().await;
    let me = aws(&emu, &["sts", "get-caller-identity"]).await.json();
    assert_eq!(me["Account"], ACCOUNT);
    let instances = emu.instances(REGION);
    let image = instances[0].image_id.clone();
    let used = aws(
        &emu,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            &format!("Name=image-id,Values={image}"),
            "Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down",
        ],
    )
    .await
    .json();
    let mut got: Vec<String> = used["Reservations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["Instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["InstanceId"].as_str().unwrap().to_owned())
        })
        .collect();
    got.sort();
    let want: Vec<String> = instances
        .iter()
        .filter(|i| i.image_id == image && i.state != "terminated")
        .map(|i| i.instance_id.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let all = aws(&emu, &["ec2", "describe-instances", "--page-size", "5"])
        .await
        .json();
    let count: usize = all["Reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Instances"].as_array().unwrap().len())
        .sum();
    assert_eq!(count, instances.len());
    let templates = aws(&emu, &["ec2", "describe-launch-templates"])
        .await
        .json();
    let mut names = strings(&templates, "/LaunchTemplateName", "LaunchTemplates");
    names.sort();
    assert_eq!(names, ["api", "web"]);
    let web = emu
        .launch_templates(REGION)
        .into_iter()
        .find(|t| t.name == "web")
        .unwrap();
    let versions = aws(
        &emu,
        &[
            "ec2",
            "describe-launch-template-versions",
            "--launch-template-id",
            &web.id,
        ],
    )
    .await
    .json();
    let images = strings(
        &versions,
        "/LaunchTemplateData/ImageId",
        "LaunchTemplateVersions",
    );
    assert!(
        images.contains(&"resolve:ssm:/imagecat/golden/web".to_owned()),
        "{images:?}"
    );
    let resolved = aws(
        &emu,
        &[
            "ec2",
            "describe-launch-template-versions",
            "--launch-template-id",
            &web.id,
            "--versions",
            "$Latest",
            "--resolve-alias",
        ],
    )
    .await
    .json();
    let parameter = aws(
        &emu,
        &["ssm", "get-parameter", "--name", "/imagecat/golden/web"],
    )
    .await
    .json();
    let target = parameter["Parameter"]["Value"].as_str().unwrap().to_owned();
    assert!(target.starts_with("ami-"));
    assert_eq!(parameter["Parameter"]["DataType"], "aws:ec2:image");
    assert_eq!(
        resolved["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"],
        target.as_str()
    );
    let missing = aws(&emu, &["ssm", "get-parameter", "--name", "/no/such"]).await;
    assert!(
        missing.stderr.contains("(ParameterNotFound)"),
        "{missing:?}"
    );
    let lcs = aws(&emu, &["autoscaling", "describe-launch-configurations"])
        .await
        .json();
    let lc = emu.launch_configurations(REGION).remove(0);
    assert_eq!(
        lcs["LaunchConfigurations"][0]["ImageId"],
        lc.image_id.as_str()
    );
    let groups = aws(&emu, &["autoscaling", "describe-auto-scaling-groups"])
        .await
        .json();
    let group = &groups["AutoScalingGroups"][0];
    let override_image = emu.auto_scaling_groups(REGION)[0].mixed.as_ref().unwrap().1[0]
        .image_id
        .clone()
        .unwrap();
    assert_eq!(
        group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"][0]["ImageId"],
        override_image.as_str()
    );
    assert_eq!(
        group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateName"],
        "api"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_throttling_is_what_botocore_retries() {
    if !clients_ready().await {
        return;
    }
    let emu = signed_emulator().await;
    let args: Vec<String> = [
        "ec2",
        "describe-images",
        "--owners",
        "self",
        "--endpoint-url",
        &emu.endpoint(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let refused = client(&emu, "aws", args, "not-the-secret", &[]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("(AuthFailure)"), "{refused:?}");
    assert!(emu.calls().is_empty(), "a refused call reached a handler");
    emu.throttle_next(1);
    let throttled = aws(&emu, &["ec2", "describe-regions"]).await;
    assert!(
        throttled.stderr.contains("(RequestLimitExceeded)"),
        "{throttled:?}"
    );
    // With retries on, botocore takes the 503 for throttling and retries.
    emu.throttle_next(1);
    emu.clear_calls();
    let args: Vec<String> = [
        "ec2",
        "describe-regions",
        "--endpoint-url",
        &emu.endpoint(),
        "--output",
        "json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let retried = client(
        &emu,
        "aws",
        args,
        SECRET_ACCESS_KEY,
        &[("AWS_MAX_ATTEMPTS", "3".to_owned())],
    )
    .await
    .json();
    assert_eq!(retried["Regions"].as_array().unwrap().len(), 17);
    assert_eq!(emu.calls_of("DescribeRegions").len(), 2);
}

/// boto3: DescribeImages through its paginator, DescribeImageReferences,
/// GetParameters, and an error code as `ClientError` carries it.
const BOTO3_SCRIPT: &str = r#"
import json, os, boto3, botocore
kw = dict(endpoint_url=os.environ["IMAGECAT_ENDPOINT"], region_name="us-east-1")
ec2 = boto3.client("ec2", **kw)
ids, pages = [], 0
for page in ec2.get_paginator("describe_images").paginate(Owners=["self"], IncludeDisabled=True, PaginationConfig={"PageSize": 5}):
    pages += 1
    ids += [i["ImageId"] for i in page["Images"]]
refs = ec2.describe_image_references(ImageIds=os.environ["IMAGES"].split(","), IncludeAllResourceTypes=True)["ImageReferences"]
ssm = boto3.client("ssm", **kw)
params = ssm.get_parameters(Names=["/imagecat/golden/web", "/nope"])
try:
    ec2.describe_images(ImageIds=["ami-0123456789abcdef0"])
    code = None
except botocore.exceptions.ClientError as e:
    code = e.response["Error"]["Code"]
print(json.dumps({"ids": ids, "pages": pages, "refs": refs, "invalid": params["InvalidParameters"],
                  "value": params["Parameters"][0]["Value"], "code": code}))
"#;

#[tokio::test]
async fn boto3_pages_with_its_paginator_and_reads_image_references() {
    if !clients_ready().await {
        return;
    }
    let emu = signed_emulator().await;
    // Seeded image 3 (`batch-00000`) has an instance and is version 1 of
    // template `web`; image 8 (`web-00002`) is the SSM parameter's value,
    // which version 3 of `web` names as `resolve:ssm:`.
    let by_name = |name: &str| {
        emu.images(REGION)
            .into_iter()
            .find(|i| i.name == name)
            .map(|i| i.image_id)
            .unwrap()
    };
    let asked = [by_name("batch-00000"), by_name("web-00002")];
    let images = asked.join(",");
    let out = client(
        &emu,
        "python",
        vec!["-c".to_owned(), BOTO3_SCRIPT.to_owned()],
        SECRET_ACCESS_KEY,
        &[("IMAGES", images)],
    )
    .await
    .json();
    let ids: Vec<String> = out["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 50);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 50);
    assert_eq!(out["pages"], 10);
    assert_eq!(out["code"], "InvalidAMIID.NotFound");
    assert_eq!(out["invalid"], serde_json::json!(["/nope"]));
    assert_eq!(out["value"], asked[1].as_str());
    let web = emu
        .launch_templates(REGION)
        .into_iter()
        .find(|t| t.name == "web")
        .unwrap();
    let mut want: Vec<String> = emu
        .instances(REGION)
        .iter()
        .filter(|i| i.image_id == asked[0])
        .map(|i| {
            format!(
                "{} ec2:Instance arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{}",
                asked[0], i.instance_id
            )
        })
        .collect();
    assert!(!want.is_empty());
    for image in &asked {
        want.push(format!(
            "{image} ec2:LaunchTemplate arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/{}",
            web.id
        ));
    }
    want.push(format!(
        "{} ssm:Parameter arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/imagecat/golden/web",
        asked[1]
    ));
    let mut got: Vec<String> = out["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["ImageId"].as_str().unwrap(),
                r["ResourceType"].as_str().unwrap(),
                r["Arn"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// Temporary credentials must carry their session token, a second account
/// sees only the first one's public AMIs and cannot deregister them, and
/// each service refuses a wrong signature or key in its own words.
const ACCOUNTS_SCRIPT: &str = r#"
import json, os, boto3, botocore
kw = dict(endpoint_url=os.environ["IMAGECAT_ENDPOINT"], region_name="us-east-1")
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
temp = dict(aws_access_key_id="ASIATEMPORARY", aws_secret_access_key="temp-secret")
with_token = boto3.client("sts", aws_session_token="the-token", **temp, **kw)
without = boto3.client("sts", **temp, **kw)
other = boto3.client("ec2", aws_access_key_id="AKIAOTHERACCOUNT", aws_secret_access_key="other-secret", **kw)
mine = boto3.client("ec2", **kw)
public = [i["ImageId"] for i in mine.describe_images(Owners=["self"], Filters=[{"Name": "is-public", "Values": ["true"]}])["Images"]]
seen = other.describe_images(Owners=["123456789012"])["Images"]
print(json.dumps({
    "with_token": with_token.get_caller_identity()["Account"],
    "without_token": code(without.get_caller_identity),
    "other_account": other.get_paginator("describe_images").paginate(Owners=["self"]).build_full_result()["Images"],
    "public": sorted(public),
    "seen": sorted(i["ImageId"] for i in seen),
    "deregister_theirs": code(lambda: other.deregister_image(ImageId=public[0])),
    "sts_wrong_secret": code(boto3.client("sts", aws_access_key_id="AKIAOTHERACCOUNT", aws_secret_access_key="x", **kw).get_caller_identity),
    "sts_unknown_key": code(boto3.client("sts", aws_access_key_id="AKIANOBODY", aws_secret_access_key="x", **kw).get_caller_identity),
    "ssm_wrong_secret": code(lambda: boto3.client("ssm", aws_access_key_id="AKIAOTHERACCOUNT", aws_secret_access_key="x", **kw).get_parameter(Name="/x")),
    "asg_wrong_secret": code(boto3.client("autoscaling", aws_access_key_id="AKIAOTHERACCOUNT", aws_secret_access_key="x", **kw).describe_launch_configurations),
}))
"#;

#[tokio::test]
async fn session_tokens_are_required_and_accounts_see_only_what_is_theirs_or_public() {
    use imagecat_emulators::ec2::Ec2Key;
    if !clients_ready().await {
        return;
    }
    let mut config = Ec2EmulatorConfig::default().signed();
    config.keys.push(Ec2Key {
        access_key_id: "ASIATEMPORARY".into(),
        secret_access_key: "temp-secret".into(),
        session_token: Some("the-token".into()),
        account: "210987654321".into(),
    });
    config.keys.push(Ec2Key {
        access_key_id: "AKIAOTHERACCOUNT".into(),
        secret_access_key: "other-secret".into(),
        session_token: None,
        account: "555555555555".into(),
    });
    let emu = Ec2Emulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    let out = client(
        &emu,
        "python",
        vec!["-c".to_owned(), ACCOUNTS_SCRIPT.to_owned()],
        SECRET_ACCESS_KEY,
        &[],
    )
    .await
    .json();
    assert_eq!(out["with_token"], "210987654321");
    assert_eq!(out["without_token"], "InvalidClientTokenId");
    assert_eq!(out["other_account"], serde_json::json!([]));
    assert!(!out["public"].as_array().unwrap().is_empty());
    assert_eq!(out["seen"], out["public"]);
    assert_eq!(out["deregister_theirs"], "AuthFailure");
    assert_eq!(out["sts_wrong_secret"], "SignatureDoesNotMatch");
    assert_eq!(out["sts_unknown_key"], "InvalidClientTokenId");
    assert_eq!(out["ssm_wrong_secret"], "InvalidSignatureException");
    assert_eq!(out["asg_wrong_secret"], "SignatureDoesNotMatch");
}

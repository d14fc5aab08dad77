"""Seeds a moto (started by imagecat_testkit::moto) with the users of AMIs
that imagecat's EC2 usage scan must find, signed with the IAM key
bootstrap.py made, and prints what it made as one JSON object: scenario
name -> AMI id (plus a few resource ids). Run with the clients
virtualenv's python (boto3).

Scenarios (each in its own region: moto keeps EC2, SSM and Auto Scaling
state per region):
  full      instances in several states, 18 launch templates (one with 20
            versions), resolve:ssm:, a launch configuration, an Auto
            Scaling group with mixed-instances overrides, an unused AMI;
  ssm-missing  a template naming a parameter that does not exist;
  cli       one AMI used only by a launch template, one only by a launch
            configuration, two unused ones (the CLI's prune/delete tests);
  shared    unused AMIs: one private, one shared with an account, one with
            an organization, one with an OU, one public (ModifyImageAttribute
            LaunchPermission.Add, as boto3 sends it).

Usage: seed_usage.py ENDPOINT KEY SECRET SCENARIO REGION
"""
import json
import sys

import boto3

endpoint, key, secret, scenario, region = sys.argv[1:6]
kw = dict(endpoint_url=endpoint, region_name=region,
          aws_access_key_id=key, aws_secret_access_key=secret)
ec2 = boto3.client("ec2", **kw)
ssm = boto3.client("ssm", **kw)
asg = boto3.client("autoscaling", **kw)
out = {}


def ami(name):
    out[name] = ec2.register_image(Name=f"usage-{name}")["ImageId"]
    return out[name]


def instance(image, state):
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "Name", "Value": f"vm-{state}"}]}])["Instances"][0]["InstanceId"]
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[iid])
    elif state == "terminated":
        ec2.terminate_instances(InstanceIds=[iid])
    out[f"instance_{state}"] = iid
    return iid


def template(name, image):
    data = {"ImageId": image} if image else {}
    lt = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
    return lt["LaunchTemplate"]["LaunchTemplateId"]


if scenario == "full":
    running, stopped, terminated = ami("running"), ami("stopped"), ami("terminated")
    instance(running, "running")
    instance(stopped, "stopped")
    instance(terminated, "terminated")
    # One template with 20 versions: version 3 and version 18 name AMIs
    # nothing else uses (both beyond moto's silent cut at 15 when the
    # listing is not paged explicitly: 18 is).
    v3, v18 = ami("lt_version_3"), ami("lt_version_18")
    lt = template("many-versions", running)
    for n in range(2, 21):
        image = {3: v3, 18: v18}.get(n, running)
        ec2.create_launch_template_version(LaunchTemplateId=lt,
                                           LaunchTemplateData={"ImageId": image})
    out["many_versions"] = lt
    # 17 more templates (18 in all, over moto's 15); the last names an AMI.
    for n in range(1, 17):
        template(f"filler-{n:02}", None)
    out["template_17_id"] = template("filler-17", ami("template_17"))
    # resolve:ssm:
    by_ssm = ami("ssm")
    ssm.put_parameter(Name="/golden/web", Type="String", Value=by_ssm,
                      DataType="aws:ec2:image")
    out["ssm_template"] = template("from-ssm", "resolve:ssm:/golden/web")
    # Auto Scaling: a launch configuration, a group on it, and a group with
    # mixed-instances overrides naming their own AMI.
    lc_image = ami("launch_configuration")
    asg.create_launch_configuration(LaunchConfigurationName="lc-only",
                                    ImageId=lc_image, InstanceType="t2.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="on-lc", LaunchConfigurationName="lc-only",
                                  MinSize=0, MaxSize=0, AvailabilityZones=[f"{region}a"])
    override = ami("group_override")
    base = template("mixed-base", None)
    asg.create_auto_scaling_group(
        AutoScalingGroupName="mixed", MinSize=0, MaxSize=0,
        AvailabilityZones=[f"{region}a"],
        MixedInstancesPolicy={"LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateId": base, "Version": "$Default"},
            "Overrides": [{"InstanceType": "t2.micro"},
                          {"InstanceType": "t3.micro", "ImageId": override}]}})
    ami("unused")
    public = ami("public")
    ec2.modify_image_attribute(ImageId=public,
                               LaunchPermission={"Add": [{"Group": "all"}]})
elif scenario == "ssm-missing":
    ami("unused")
    out["template"] = template("from-missing", "resolve:ssm:/no/such/parameter")
elif scenario == "cli":
    out["lt_only"] = ami("lt_only")
    template("keeps-it", out["lt_only"])
    out["lc_only"] = ami("lc_only")
    asg.create_launch_configuration(LaunchConfigurationName="keeps-it-too",
                                    ImageId=out["lc_only"], InstanceType="t2.micro")
    ami("unused_a")
    ami("unused_b")
elif scenario == "shared":
    ami("private")
    for name, grant in [
        ("to_account", {"UserId": "210987654321"}),
        ("to_org", {"OrganizationArn":
                    "arn:aws:organizations::210987654321:organization/o-abc"}),
        ("to_ou", {"OrganizationalUnitArn":
                   "arn:aws:organizations::210987654321:ou/o-abc/ou-abc-def"}),
        ("public", {"Group": "all"}),
    ]:
        ec2.modify_image_attribute(ImageId=ami(name),
                                   LaunchPermission={"Add": [grant]})
else:
    sys.exit(f"unknown scenario {scenario}")

print(json.dumps(out))

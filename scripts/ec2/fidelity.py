"""Sends one request script to moto and to imagecat's EC2 emulator and
compares the answers, step by step, after normalising what legitimately
differs between two servers (ids they pick are replaced by the names of
the resources, dates and request ids are left out). Every step whose
answers still differ must be explained in docs/fidelity/ec2.md; the Rust
test `ec2_fidelity` (crates/imagecat-emulators) runs this script and holds
the list of the known differences.

Run with the clients virtualenv's python (scripts/moto/install.sh):

  MOTO_URL=… MOTO_KEY_ID=… MOTO_SECRET=… EMU_URL=… EMU_KEY_ID=… EMU_SECRET=… \
      target/moto/clients/bin/python scripts/ec2/fidelity.py

Prints one JSON document: {"steps": [{"name", "moto", "emulator", "same"}]}.
Both servers must start empty (moto with its default AMIs off; the
emulator with no seeded data).
"""
import json
import os
import sys

import boto3
import botocore
import botocore.parsers
from botocore.config import Config

REGION = "us-east-1"


class Server:
    """One server: its clients and the ids it picked, by name."""

    def __init__(self, url, key_id, secret):
        kw = dict(
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        self.kw = kw
        self.ec2 = boto3.client("ec2", **kw)
        self.asg = boto3.client("autoscaling", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.sts = boto3.client("sts", **kw)
        self.ids = {}  # name -> id
        self.names = {}  # id -> name

    def name(self, ident):
        return self.names.get(ident, ident)

    def remember(self, name, ident):
        self.ids[name] = ident
        self.names[ident] = name


def attempt(fn):
    """The step's normalised answer, or the error as a client sees it."""
    try:
        return fn()
    except botocore.exceptions.ClientError as e:
        code = e.response.get("Error", {}).get("Code") or "?"
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return {"error": code, "status": status}
    except (botocore.exceptions.BotoCoreError, botocore.parsers.ResponseParserError) as e:
        # Not an AWS answer at all (moto's HTML 500 pages).
        return {"unparsable": type(e).__name__}
    except (KeyError, IndexError, TypeError) as e:
        # A field a client reads is missing from the answer.
        return {"missing": f"{type(e).__name__}: {e}"}


def images(s, **kw):
    out = s.ec2.describe_images(**kw)
    return sorted(s.name(i["ImageId"]) for i in out["Images"])


def script():
    """(name, fn(server)) in order; fns return JSON-able values."""
    steps = []

    def step(name):
        def add(fn):
            steps.append((name, fn))
            return fn
        return add

    @step("caller account")
    def _(s):
        return s.sts.get_caller_identity()["Account"]

    @step("register images")
    def _(s):
        out = []
        for name in ["fid-web-001", "fid-web-002", "fid-web-003", "fid-web-004",
                     "fid-db-001", "fid-db-002", "fid-db-003"]:
            r = s.ec2.register_image(Name=name, Description=name.upper(),
                                     Architecture="x86_64", RootDeviceName="/dev/xvda")
            s.remember(name, r["ImageId"])
            out.append(r["ImageId"].startswith("ami-"))
        return out

    @step("create tags")
    def _(s):
        for name, ident in s.ids.items():
            family = name.split("-")[1]
            s.ec2.create_tags(Resources=[ident], Tags=[{"Key": "family", "Value": family},
                                                      {"Key": "env", "Value": "prod"}])
        return "ok"

    @step("list own images")
    def _(s):
        out = s.ec2.describe_images(Owners=["self"])["Images"]
        return sorted([s.name(i["ImageId"]), i["Name"], i.get("Description"), i["State"],
                       i["Public"], i["ImageType"], i["OwnerId"],
                       sorted((t["Key"], t["Value"]) for t in i.get("Tags", [])),
                       len(i["BlockDeviceMappings"]),
                       i["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"].startswith("snap-")]
                      for i in out)

    @step("architecture of a registered image")
    def _(s):
        return sorted({str(i.get("Architecture")) for i in s.ec2.describe_images(Owners=["self"])["Images"]})

    @step("root device type")
    def _(s):
        return sorted({i["RootDeviceType"] for i in s.ec2.describe_images(Owners=["self"])["Images"]})

    @step("filter name with *")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "name", "Values": ["fid-web-*"]}])

    @step("filter name with ?")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "name", "Values": ["fid-db-00?"]}])

    @step("filter tag and state")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "tag:family", "Values": ["db"]},
                                                   {"Name": "state", "Values": ["available"]}])

    @step("filter tag-key and is-public")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["env"]},
                                                   {"Name": "is-public", "Values": ["false"]}])

    @step("filter owner-id and image-id")
    def _(s):
        me = s.sts.get_caller_identity()["Account"]
        return images(s, Filters=[{"Name": "owner-id", "Values": [me]},
                                  {"Name": "image-id", "Values": [s.ids["fid-web-002"]]}])

    @step("by id")
    def _(s):
        return images(s, ImageIds=[s.ids["fid-web-003"]])

    @step("unknown id")
    def _(s):
        return images(s, ImageIds=["ami-0123456789abcdef0"])

    @step("malformed id")
    def _(s):
        return images(s, ImageIds=["bogus"])

    @step("paginator at 5 a page")
    def _(s):
        names = []
        for page in s.ec2.get_paginator("describe_images").paginate(
                Owners=["self"], PaginationConfig={"PageSize": 5}):
            names += [s.name(i["ImageId"]) for i in page["Images"]]
        return sorted(names)

    @step("pages at 5 a page")
    def _(s):
        pages = s.ec2.get_paginator("describe_images").paginate(
            Owners=["self"], PaginationConfig={"PageSize": 5})
        return len(list(pages))

    @step("MaxResults 4")
    def _(s):
        return images(s, Owners=["self"], MaxResults=4)

    @step("a bogus NextToken")
    def _(s):
        return images(s, Owners=["self"], MaxResults=5, NextToken="garbage")

    @step("an unknown filter")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    @step("run an instance")
    def _(s):
        r = s.ec2.run_instances(ImageId=s.ids["fid-web-001"], MinCount=1, MaxCount=1,
                                InstanceType="t3.micro")
        i = r["Instances"][0]
        s.remember("instance-1", i["InstanceId"])
        return [s.name(i["ImageId"]), i["State"]["Name"], len(r["Instances"])]

    @step("instances of an image")
    def _(s):
        r = s.ec2.describe_instances(Filters=[
            {"Name": "image-id", "Values": [s.ids["fid-web-001"]]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
        return sorted(s.name(i["InstanceId"]) for res in r["Reservations"] for i in res["Instances"])

    @step("create an image of the instance")
    def _(s):
        r = s.ec2.create_image(InstanceId=s.ids["instance-1"], Name="fid-from-instance")
        s.remember("fid-from-instance", r["ImageId"])
        return images(s, ImageIds=[r["ImageId"]])

    @step("create a launch template")
    def _(s):
        r = s.ec2.create_launch_template(LaunchTemplateName="lt-fid", LaunchTemplateData={
            "ImageId": s.ids["fid-web-002"], "InstanceType": "t3.micro"})["LaunchTemplate"]
        s.remember("lt-fid", r["LaunchTemplateId"])
        return [r["LaunchTemplateName"], r["DefaultVersionNumber"], r["LatestVersionNumber"]]

    @step("a version through resolve:ssm")
    def _(s):
        r = s.ec2.create_launch_template_version(
            LaunchTemplateName="lt-fid",
            LaunchTemplateData={"ImageId": "resolve:ssm:/fid/golden"})["LaunchTemplateVersion"]
        return [r["VersionNumber"], r["LaunchTemplateData"].get("ImageId")]

    @step("launch templates")
    def _(s):
        r = s.ec2.describe_launch_templates()["LaunchTemplates"]
        return sorted([t["LaunchTemplateName"], t["LatestVersionNumber"]] for t in r)

    @step("launch template versions")
    def _(s):
        r = s.ec2.describe_launch_template_versions(LaunchTemplateName="lt-fid")
        return sorted([v["VersionNumber"], s.name(v["LaunchTemplateData"].get("ImageId"))]
                      for v in r["LaunchTemplateVersions"])

    @step("an SSM parameter")
    def _(s):
        put = s.ssm.put_parameter(Name="/fid/golden", Value=s.ids["fid-web-003"],
                                  Type="String", DataType="aws:ec2:image")
        got = s.ssm.get_parameter(Name="/fid/golden")["Parameter"]
        return [put["Version"], s.name(got["Value"]), got["Type"], got["DataType"], got["Version"]]

    @step("a missing SSM parameter")
    def _(s):
        return s.ssm.get_parameter(Name="/fid/none")["Parameter"]["Value"]

    @step("ResolveAlias")
    def _(s):
        r = s.ec2.describe_launch_template_versions(LaunchTemplateName="lt-fid", Versions=["2"],
                                                    ResolveAlias=True)
        return [s.name(v["LaunchTemplateData"].get("ImageId")) for v in r["LaunchTemplateVersions"]]

    @step("a launch configuration")
    def _(s):
        s.asg.create_launch_configuration(LaunchConfigurationName="lc-fid",
                                          ImageId=s.ids["fid-db-001"], InstanceType="t3.micro")
        r = s.asg.describe_launch_configurations()["LaunchConfigurations"]
        return [[c["LaunchConfigurationName"], s.name(c["ImageId"]), c["InstanceType"]] for c in r]

    @step("an Auto Scaling group with overrides")
    def _(s):
        s.asg.create_auto_scaling_group(
            AutoScalingGroupName="asg-fid", MinSize=0, MaxSize=1, DesiredCapacity=0,
            AvailabilityZones=[REGION + "a"],
            MixedInstancesPolicy={"LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateName": "lt-fid", "Version": "$Latest"},
                "Overrides": [{"InstanceType": "m5.large", "ImageId": s.ids["fid-db-002"]}]}})
        g = s.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["asg-fid"])["AutoScalingGroups"][0]
        lt = g["MixedInstancesPolicy"]["LaunchTemplate"]
        return [g["AutoScalingGroupName"], lt["LaunchTemplateSpecification"].get("LaunchTemplateName"),
                lt["LaunchTemplateSpecification"].get("Version"),
                [s.name(o.get("ImageId")) for o in lt["Overrides"]], g["MinSize"], g["MaxSize"]]

    @step("a parameter version by selector")
    def _(s):
        s.ssm.put_parameter(Name="/fid/golden", Value=s.ids["fid-web-004"], Type="String",
                            DataType="aws:ec2:image", Overwrite=True)
        old = s.ssm.get_parameter(Name="/fid/golden:1")["Parameter"]
        new = s.ssm.get_parameter(Name="/fid/golden")["Parameter"]
        return [s.name(old["Value"]), old["Version"], s.name(new["Value"]), new["Version"]]

    @step("parameters with an unknown name")
    def _(s):
        r = s.ssm.get_parameters(Names=["/fid/golden", "/fid/none"])
        return [[p["Name"] for p in r["Parameters"]], r["InvalidParameters"]]

    @step("launch configurations one a page")
    def _(s):
        s.asg.create_launch_configuration(LaunchConfigurationName="lc-fid-2",
                                          ImageId=s.ids["fid-db-002"], InstanceType="t3.micro")
        names = []
        for page in s.asg.get_paginator("describe_launch_configurations").paginate(
                PaginationConfig={"PageSize": 1}):
            names += [c["LaunchConfigurationName"] for c in page["LaunchConfigurations"]]
        return sorted(names)

    @step("a launch configuration by name")
    def _(s):
        r = s.asg.describe_launch_configurations(LaunchConfigurationNames=["lc-fid-2"])
        return [c["LaunchConfigurationName"] for c in r["LaunchConfigurations"]]

    @step("an image attribute")
    def _(s):
        return s.ec2.describe_image_attribute(ImageId=s.ids["fid-web-001"],
                                              Attribute="description")["Description"].get("Value")

    @step("launch permissions granted and revoked")
    def _(s):
        image = s.ids["fid-web-001"]

        def grants():
            r = s.ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")
            return sorted(sorted(g.items()) for g in r["LaunchPermissions"])

        seen = [grants()]
        s.ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [
            {"UserId": "210987654321"},
            {"OrganizationArn": "arn:aws:organizations::210987654321:organization/o-abc"},
            {"OrganizationalUnitArn": "arn:aws:organizations::210987654321:ou/o-abc/ou-abc-def"},
        ]})
        seen.append(grants())
        s.ec2.modify_image_attribute(ImageId=image, LaunchPermission={
            "Add": [{"Group": "all"}], "Remove": [{"UserId": "210987654321"}]})
        seen.append(grants())
        public = s.ec2.describe_images(ImageIds=[image])["Images"][0]["Public"]
        s.ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Remove": [
            {"Group": "all"},
            {"OrganizationArn": "arn:aws:organizations::210987654321:organization/o-abc"},
            {"OrganizationalUnitArn": "arn:aws:organizations::210987654321:ou/o-abc/ou-abc-def"},
        ]})
        seen.append(grants())
        return [seen, public]

    @step("snapshots of the account")
    def _(s):
        snaps = s.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        return len(snaps)

    @step("tags deleted")
    def _(s):
        s.ec2.delete_tags(Resources=[s.ids["fid-web-001"]], Tags=[{"Key": "env"}])
        i = s.ec2.describe_images(ImageIds=[s.ids["fid-web-001"]])["Images"][0]
        return sorted(t["Key"] for t in i.get("Tags", []))

    @step("instances one a page")
    def _(s):
        s.ec2.run_instances(ImageId=s.ids["fid-web-002"], MinCount=2, MaxCount=2,
                            InstanceType="t3.micro")
        count = 0
        for page in s.ec2.get_paginator("describe_instances").paginate(
                PaginationConfig={"PageSize": 5}):
            count += sum(len(r["Instances"]) for r in page["Reservations"])
        return count

    @step("copy an image to another region")
    def _(s):
        west = boto3.client("ec2", **dict(s.kw, region_name="eu-west-1"))
        r = west.copy_image(SourceRegion=REGION, SourceImageId=s.ids["fid-web-002"],
                            Name="fid-web-002-copy")
        i = west.describe_images(ImageIds=[r["ImageId"]])["Images"][0]
        return [i["Name"], i["State"], len(i["BlockDeviceMappings"])]

    @step("the copy's lineage")
    def _(s):
        west = boto3.client("ec2", **dict(s.kw, region_name="eu-west-1"))
        i = west.describe_images(Owners=["self"])["Images"][0]
        return [s.name(i.get("SourceImageId")), i.get("SourceImageRegion")]

    @step("the copy stays in its region")
    def _(s):
        return images(s, Owners=["self"], Filters=[{"Name": "name", "Values": ["*-copy"]}])

    @step("DescribeImageReferences")
    def _(s):
        r = s.ec2.describe_image_references(ImageIds=[s.ids["fid-web-001"]],
                                            IncludeAllResourceTypes=True)
        return sorted(x["ResourceType"] for x in r["ImageReferences"])

    @step("deregistration protection")
    def _(s):
        return s.ec2.enable_image_deregistration_protection(ImageId=s.ids["fid-web-004"])["Return"]

    @step("a snapshot in use")
    def _(s):
        snap = s.ec2.describe_images(ImageIds=[s.ids["fid-db-002"]])["Images"][0][
            "BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        s.remember("snap-db-002", snap)
        return s.ec2.delete_snapshot(SnapshotId=snap)

    @step("deregister")
    def _(s):
        return s.ec2.deregister_image(ImageId=s.ids["fid-db-002"]).get("Return")

    @step("deregister again")
    def _(s):
        return s.ec2.deregister_image(ImageId=s.ids["fid-db-002"]).get("Return")

    @step("a deregistered id")
    def _(s):
        return images(s, ImageIds=[s.ids["fid-db-002"]])

    @step("the snapshot after deregister")
    def _(s):
        return s.ec2.delete_snapshot(SnapshotId=s.ids["snap-db-002"])["ResponseMetadata"]["HTTPStatusCode"]

    @step("the snapshot again")
    def _(s):
        return s.ec2.delete_snapshot(SnapshotId=s.ids["snap-db-002"])["ResponseMetadata"]["HTTPStatusCode"]

    @step("deregister with its snapshots")
    def _(s):
        r = s.ec2.deregister_image(ImageId=s.ids["fid-db-003"], DeleteAssociatedSnapshots=True)
        return [r.get("Return"), [x["ReturnCode"] for x in r.get("DeleteSnapshotResults", [])]]

    @step("a dry run")
    def _(s):
        return s.ec2.deregister_image(ImageId=s.ids["fid-web-003"], DryRun=True)

    @step("disable an image")
    def _(s):
        s.ec2.disable_image(ImageId=s.ids["fid-web-003"])
        return images(s, Owners=["self"], Filters=[{"Name": "name", "Values": ["fid-web-003"]}])

    @step("a disabled image with IncludeDisabled")
    def _(s):
        r = s.ec2.describe_images(Owners=["self"], IncludeDisabled=True,
                                  Filters=[{"Name": "name", "Values": ["fid-web-003"]}])
        return [i["State"] for i in r["Images"]]

    @step("enable it again")
    def _(s):
        s.ec2.enable_image(ImageId=s.ids["fid-web-003"])
        return images(s, Owners=["self"], Filters=[{"Name": "state", "Values": ["available"]}])

    @step("regions")
    def _(s):
        names = {r["RegionName"] for r in s.ec2.describe_regions()["Regions"]}
        return sorted(n for n in names if n in ("us-east-1", "eu-west-1", "ap-northeast-2"))

    @step("terminate the instance")
    def _(s):
        r = s.ec2.terminate_instances(InstanceIds=[s.ids["instance-1"]])["TerminatingInstances"][0]
        return [r["PreviousState"]["Name"], r["CurrentState"]["Name"]]

    @step("a wrong secret")
    def _(s):
        kw = dict(s.kw, aws_secret_access_key="not-the-secret")
        return boto3.client("ec2", **kw).describe_images(Owners=["self"])["Images"]

    return steps


def main():
    env = os.environ
    servers = {
        "moto": Server(env["MOTO_URL"], env["MOTO_KEY_ID"], env["MOTO_SECRET"]),
        "emulator": Server(env["EMU_URL"], env["EMU_KEY_ID"], env["EMU_SECRET"]),
    }
    report = []
    for name, fn in script():
        answers = {k: attempt(lambda s=s: fn(s)) for k, s in servers.items()}
        # A dry run and other bodiless answers: keep what a client can see.
        for k, v in answers.items():
            if isinstance(v, dict) and "ResponseMetadata" in v:
                answers[k] = {"status": v["ResponseMetadata"]["HTTPStatusCode"]}
        report.append({"name": name, "moto": answers["moto"], "emulator": answers["emulator"],
                       "same": answers["moto"] == answers["emulator"]})
    json.dump({"steps": report}, sys.stdout, default=str)
    print()


if __name__ == "__main__":
    main()

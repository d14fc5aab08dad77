"""Seeds moto and reads its state for the EC2 tests against moto
(crates/imagecat-cli/tests/integration/ec2_moto.rs and
crates/imagecat-ec2/tests/integration/moto.rs), with boto3 from the clients
virtualenv (scripts/moto/install.sh), signed with the test's IAM key (moto
checks every signature).

Usage:
  ec2_fixture.py ENDPOINT REGION seed NAME[,KEY=VALUE...]...
      registers one AMI per argument, in order, one a second (moto's
      creation times have whole seconds; each image is newer than the one
      before), each with its own snapshot (moto's RegisterImage makes one),
      tags it, and prints
      {"NAME": {"id": "ami-…", "snapshots": ["snap-…"], "created": "…"}}
  ec2_fixture.py ENDPOINT REGION state
      prints {"images": {"ami-…": "NAME"}, "snapshots": ["snap-…"]}: every
      AMI and snapshot the account owns in REGION.
  ec2_fixture.py ENDPOINT REGION describe
      prints {"ami-…": {"state": "available", "tags": {"KEY": "VALUE"}}}
      for every AMI the account owns, disabled ones included
  ec2_fixture.py ENDPOINT REGION tag AMI KEY VALUE
      sets one tag on AMI, then prints what describe prints

The key comes from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
"""
import json
import sys
import time

import boto3


def client(endpoint, region):
    return boto3.client("ec2", endpoint_url=endpoint, region_name=region)


def seed(ec2, specs):
    out = {}
    last = None
    for spec in specs:
        name, *tags = spec.split(",")
        if last is not None:
            # moto's creation times have whole seconds: the next image is
            # registered in the next second, so each is newer than the last.
            time.sleep(1.02 - time.time() % 1)
        image_id = ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]
        if tags:
            ec2.create_tags(Resources=[image_id], Tags=[
                {"Key": k, "Value": v} for k, v in (t.split("=", 1) for t in tags)])
        image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
        created = image["CreationDate"]
        # The tests order images by creation time: two equal times would
        # make that order a guess, so say so rather than seed it.
        if last is not None and created <= last:
            sys.exit(f"moto gave {name} the creation time {created}, not after {last}")
        last = created
        snapshots = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", [])
                     if "Ebs" in m and "SnapshotId" in m["Ebs"]]
        out[name] = {"id": image_id, "snapshots": snapshots, "created": created}
    return out


def state(ec2):
    images = {i["ImageId"]: i.get("Name", "") for i in ec2.describe_images(Owners=["self"])["Images"]}
    snapshots = sorted(s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"])
    return {"images": images, "snapshots": snapshots}


def describe(ec2):
    # Disabled AMIs too: AWS hides them unless asked (moto lists them anyway).
    images = ec2.describe_images(Owners=["self"], IncludeDisabled=True)["Images"]
    return {i["ImageId"]: {"state": i["State"],
                           "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])}}
            for i in images}


def main():
    endpoint, region, command, *rest = sys.argv[1:]
    ec2 = client(endpoint, region)
    if command == "seed":
        print(json.dumps(seed(ec2, rest)))
    elif command == "state":
        print(json.dumps(state(ec2)))
    elif command == "describe":
        print(json.dumps(describe(ec2)))
    elif command == "tag":
        resource, key, value = rest
        ec2.create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])
        print(json.dumps(describe(ec2)))
    else:
        sys.exit(f"unknown command {command}")


main()

"""The fixture of scripts/ec2/amicleaner-vs-imagecat.sh, with boto3 (moto's
clients virtualenv) against moto, signed with the key in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY.

Usage:
  amicleaner_fixture.py ENDPOINT REGION seed
      registers 11 AMIs one a second (moto's creation times have whole
      seconds): web-0..web-5 tagged environment=prod role=web, db-0..db-2
      tagged environment=dev role=db, misc-0 and misc-1 untagged; then an
      instance running web-0, a launch template (lt-web) naming web-1, a
      launch configuration attached to no group naming db-0, and an Auto
      Scaling group of capacity 1 whose launch configuration names db-1.
      Prints {"NAME": "ami-…"} and what uses each, as JSON.
  amicleaner_fixture.py ENDPOINT REGION state
      prints the names of the AMIs the account owns in REGION and the
      number of its snapshots, as JSON.
"""
import json
import sys
import time

import boto3


def clients(endpoint, region):
    kw = dict(endpoint_url=endpoint, region_name=region)
    return boto3.client("ec2", **kw), boto3.client("autoscaling", **kw)


def seed(ec2, asg):
    specs = ([(f"web-{n}", {"environment": "prod", "role": "web"}) for n in range(6)]
             + [(f"db-{n}", {"environment": "dev", "role": "db"}) for n in range(3)]
             + [(f"misc-{n}", {}) for n in range(2)])
    ids = {}
    for i, (name, tags) in enumerate(specs):
        if i:
            time.sleep(1.02 - time.time() % 1)
        image_id = ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]
        if tags:
            ec2.create_tags(Resources=[image_id],
                            Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        ids[name] = image_id
    ec2.run_instances(ImageId=ids["web-0"], MinCount=1, MaxCount=1, InstanceType="t3.micro")
    ec2.create_launch_template(LaunchTemplateName="lt-web",
                               LaunchTemplateData={"ImageId": ids["web-1"]})
    asg.create_launch_configuration(LaunchConfigurationName="lc-db-0", ImageId=ids["db-0"],
                                    InstanceType="t3.micro")
    asg.create_launch_configuration(LaunchConfigurationName="lc-db-1", ImageId=ids["db-1"],
                                    InstanceType="t3.micro")
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:1]
    asg.create_auto_scaling_group(AutoScalingGroupName="asg-db",
                                  LaunchConfigurationName="lc-db-1",
                                  MinSize=1, MaxSize=1, DesiredCapacity=1,
                                  AvailabilityZones=zones)
    used = {"web-0": "a running instance", "web-1": "launch template lt-web",
            "db-0": "launch configuration lc-db-0 (no group)",
            "db-1": "Auto Scaling group asg-db (launch configuration lc-db-1, capacity 1)"}
    return {"ids": ids, "used": used}


def state(ec2):
    images = sorted(i.get("Name", "") for i in ec2.describe_images(Owners=["self"])["Images"])
    snapshots = len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"])
    return {"images": images, "snapshots": snapshots}


def main():
    endpoint, region, command = sys.argv[1:4]
    ec2, asg = clients(endpoint, region)
    if command == "seed":
        print(json.dumps(seed(ec2, asg)))
    elif command == "state":
        print(json.dumps(state(ec2)))
    else:
        sys.exit(f"unknown command {command}")


main()

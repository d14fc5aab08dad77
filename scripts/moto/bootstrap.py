"""Spends moto's unauthenticated requests (INITIAL_NO_AUTH_ACTION_COUNT=3,
scripts/moto/serve.sh) on an IAM user, its access key and an allow-all
inline policy, then prints the key as JSON on one line:
{"access_key_id": "...", "secret_access_key": "...", "account": "..."}.
Every later request to that moto must be signed with this key (SigV4 is
checked by moto's own code). Run with the clients virtualenv's python.

Usage: bootstrap.py ENDPOINT_URL
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
boot = dict(endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **boot)
iam.create_user(UserName="imagecat-tests")
key = iam.create_access_key(UserName="imagecat-tests")["AccessKey"]
iam.put_user_policy(
    UserName="imagecat-tests",
    PolicyName="allow-all",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
)
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=key["AccessKeyId"],
                   aws_secret_access_key=key["SecretAccessKey"])
account = sts.get_caller_identity()["Account"]
print(json.dumps({"access_key_id": key["AccessKeyId"],
                  "secret_access_key": key["SecretAccessKey"],
                  "account": account}))

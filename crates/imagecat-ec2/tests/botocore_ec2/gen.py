# Generates the EC2-shaped signatures that tests/integration/botocore_ec2.rs
# pins: botocore (1.43.11 here) signs the Query-protocol requests imagecat
# will send, at a fixed time. Run: python3 gen.py
import datetime
from unittest import mock
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

body = "Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=golden-%2A&Filter.2.Name=tag%3Afamily&Filter.2.Value.1=web&Filter.2.Value.2=api&IncludeDeprecated=true&MaxResults=500&NextToken=tok"
for token in [None, "FwoGZXIvYXdzEExampleSessionToken+/=="]:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    req = AWSRequest(method="POST", url="https://ec2.eu-west-1.amazonaws.com/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    class FakeDT(datetime.datetime):
        @classmethod
        def utcnow(cls): return datetime.datetime(2026, 12, 7, 5, 51, 15)
        @classmethod
        def now(cls, tz=None): return datetime.datetime(2026, 12, 7, 5, 51, 15, tzinfo=tz)
    with mock.patch.object(botocore.auth.datetime, "datetime", FakeDT):
        auth = botocore.auth.SigV4Auth(creds, "ec2", "eu-west-1")
        auth.add_auth(req)
    print(repr(token), req.headers["X-Amz-Date"], req.headers["Authorization"])
# and a GET with a query, as the Query protocol also allows
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
req = AWSRequest(method="GET", url="https://ec2.eu-west-1.amazonaws.com/", params={"Action": "DescribeImages", "Version": "2016-11-15", "Owner.1": "self", "Filter.1.Value.1": "golden-* x"})
with mock.patch.object(botocore.auth.datetime, "datetime", FakeDT):
    botocore.auth.SigV4Auth(creds, "ec2", "eu-west-1").add_auth(req)
print("GET", req.url, req.headers["Authorization"])

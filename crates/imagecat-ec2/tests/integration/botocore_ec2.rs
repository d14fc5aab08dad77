//! The requests the EC2 backend will send, signed by botocore
//! (`tests/botocore_ec2/gen.py`, botocore 1.43.11, its output pinned here):
//! a Query-protocol `POST /` with its form body and
//! `Content-Type: …; charset=utf-8`, with and without a session token, and
//! the same call as a `GET` with the query in the URL.

use chrono::{TimeZone, Utc};
use imagecat_ec2::credentials::Credentials;
use imagecat_ec2::sign::{Request, Scope, sign};
use imagecat_http::SecretString;

const BODY: &str = "Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=golden-%2A&Filter.2.Name=tag%3Afamily&Filter.2.Value.1=web&Filter.2.Value.2=api&IncludeDeprecated=true&MaxResults=500&NextToken=tok";

const SCOPE: Scope<'static> = Scope {
    region: "eu-west-1",
    service: "ec2",
};

fn credentials(token: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        SecretString::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        token.map(SecretString::new),
        None,
    )
}

fn time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 5, 51, 15).unwrap()
}

#[test]
fn a_query_protocol_post_signs_as_botocore_signs_it() {
    let headers = [
        ("Host".to_owned(), "ec2.eu-west-1.amazonaws.com".to_owned()),
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
    ];
    let request = Request {
        method: "POST",
        path: "/",
        query: &[],
        headers: &headers,
        body: BODY.as_bytes(),
    };
    for (token, expected) in [
        (
            None,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=25daddf104a0e99f098dd6222488c5c757d38920357cf53346bba343b3d5e81c",
        ),
        (
            Some("FwoGZXIvYXdzEExampleSessionToken+/=="),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=dc19ae8fb65b7cc9f5f50b68c97c5fe126d2b356aaf04988ceecdfc5256b8714",
        ),
    ] {
        let signature = sign(&request, &credentials(token), SCOPE, time());
        assert_eq!(signature.authorization(), expected);
        assert_eq!(signature.amz_date(), "20261207T055115Z");
    }
}

#[test]
fn a_query_protocol_get_signs_as_botocore_signs_it() {
    let query: Vec<(String, String)> = [
        ("Action", "DescribeImages"),
        ("Version", "2016-11-15"),
        ("Owner.1", "self"),
        ("Filter.1.Value.1", "golden-* x"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let headers = [("host".to_owned(), "ec2.eu-west-1.amazonaws.com".to_owned())];
    let request = Request {
        method: "GET",
        path: "/",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let signature = sign(&request, &credentials(None), SCOPE, time());
    assert_eq!(
        signature.authorization(),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=1da7d308a413dd352fb82f715d71d1c26099ff09ea6f299dd3b1a12565cee7f6"
    );
    assert!(
        signature
            .canonical_request()
            .contains("\nAction=DescribeImages&Filter.1.Value.1=golden-%2A%20x&Owner.1=self&Version=2016-11-15\n"),
        "{}",
        signature.canonical_request()
    );
}

//! Assume-role against moto's own STS (signature checking on): roles made
//! through moto's IAM with a signed Query request, a profile whose
//! `source_profile` holds moto's key, a chained profile, and the
//! catalog's caller and listing with the assumed credentials.

use chrono::Utc;
use futures::TryStreamExt;
use imagecat_core::{ImageCatalog, ListQuery};
use imagecat_ec2::Ec2Builder;
use imagecat_ec2::credentials::{ChainEndpoints, CredentialChain, Credentials, Source};
use imagecat_ec2::protocol::{CONTENT_TYPE, Form};
use imagecat_ec2::sign::{self, Scope};
use imagecat_ec2::sts::{self, StsTarget};
use imagecat_http::{HttpClient, HttpOptions, OpenOptions, SecretString, Url};
use imagecat_testkit::moto::{self, Moto};

use crate::credentials::Home;

/// One IAM call to moto, signed with its key.
async fn iam(moto: &Moto, params: &[(&str, &str)]) {
    let mut form = Form::new(params[0].1, "2010-05-08");
    for (k, v) in &params[1..] {
        form.param(*k, *v);
    }
    let body = form.encode();
    let url = Url::parse(&moto.url).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let headers = [
        ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
        ("host".to_owned(), host.clone()),
    ];
    let credentials = Credentials::new(
        moto.access_key_id.clone(),
        SecretString::new(moto.secret_access_key.clone()),
        None,
        None,
    );
    let signature = sign::sign(
        &sign::Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body: body.as_bytes(),
        },
        &credentials,
        Scope {
            region: "us-east-1",
            service: "iam",
        },
        Utc::now(),
    );
    let client = imagecat_http::reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("host", host)
        .header("content-type", CONTENT_TYPE);
    for (name, value) in signature.headers() {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "IAM {}: {status} {text}", params[0].1);
}

async fn make_role(moto: &Moto, name: &str) {
    // moto checks the trust policy's principal against the caller's ARN
    // exactly (no account-root expansion): any AWS principal here.
    let trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\
         \"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}";
    iam(
        moto,
        &[
            ("Action", "CreateRole"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", trust),
        ],
    )
    .await;
    iam(
        moto,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", name),
            ("PolicyName", "allow-all"),
            (
                "PolicyDocument",
                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\
                 \"Action\":\"*\",\"Resource\":\"*\"}]}",
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_assumed_and_chained_at_motos_sts_and_sign_the_catalogs_requests() {
    if moto::skip() {
        return;
    }
    let moto = Moto::start().await;
    make_role(&moto, "imagecat-role").await;
    make_role(&moto, "imagecat-role2").await;
    let account = &moto.account;
    let home = Home::new();
    home.config(&format!(
        "[profile src]\naws_access_key_id = {}\naws_secret_access_key = {}\n\
         [profile role]\nrole_arn = arn:aws:iam::{account}:role/imagecat-role\nsource_profile = src\n\
         role_session_name = itest\nexternal_id = ext-1\nduration_seconds = 900\n\
         [profile chained]\nrole_arn = arn:aws:iam::{account}:role/imagecat-role2\nsource_profile = role\n\
         role_session_name = hop2\n",
        moto.access_key_id, moto.secret_access_key
    ));
    let target = StsTarget::new(moto.url.parse().unwrap(), "us-east-1");
    let http = HttpClient::new(
        imagecat_ec2::BACKEND,
        HttpOptions::default().allow_http(true),
    )
    .unwrap();
    for (profile, role, session) in [
        ("role", "imagecat-role", "itest"),
        ("chained", "imagecat-role2", "hop2"),
    ] {
        let credentials = CredentialChain::new(home.env(&[]))
            .with_profile(profile)
            .with_endpoints(ChainEndpoints::new().sts(target.clone()))
            .resolve()
            .await
            .unwrap();
        assert_eq!(credentials.source(), Source::AssumeRole);
        assert!(
            credentials.access_key_id().starts_with("ASIA"),
            "{credentials:?}"
        );
        assert!(credentials.session_token().is_some());
        let identity = sts::get_caller_identity(&http, &target, &credentials)
            .await
            .unwrap();
        assert_eq!(&identity.account, account);
        assert!(
            identity
                .arn
                .ends_with(&format!("assumed-role/{role}/{session}")),
            "{profile}: {}",
            identity.arn
        );
    }
    // The catalog over the same moto: its STS is the one endpoint; the
    // assumed credentials sign GetCallerIdentity and DescribeImages.
    let url = format!(
        "ec2+http://{}?region=us-east-1&profile=chained",
        moto.url.trim_start_matches("http://")
    );
    let catalog = Ec2Builder::from_url(&Url::parse(&url).unwrap(), &OpenOptions::new())
        .unwrap()
        .env(home.env(&[]))
        .build()
        .unwrap();
    assert_eq!(catalog.caller().await.unwrap().as_ref(), Some(account));
    let images: Vec<_> = catalog.list(ListQuery::new()).try_collect().await.unwrap();
    assert!(images.is_empty(), "a fresh moto has no AMIs of ours");
}

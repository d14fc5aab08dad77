//! The AWS EC2 AMI backend for imagecat: the foundations first.
//!
//! What is here now, each tested on its own and not yet wired into the
//! facade or the CLI:
//!
//! - [`sign`], AWS Signature Version 4 written once (it passes the AWS
//!   SigV4 test suite that botocore ships);
//! - [`credentials`], the [`CredentialProvider`] trait with the AWS CLI's
//!   chain (environment, assume-role, web identity, SSO, the shared
//!   `config` and `credentials` files, `credential_process`, container
//!   credentials, IMDSv2), refreshed before expiry on the shared token
//!   machinery;
//! - [`sts`], STS's `AssumeRole`, `AssumeRoleWithWebIdentity` and
//!   `GetCallerIdentity` (the catalog's caller: the account);
//! - [`protocol`], the request side of the Query protocol: form bodies with
//!   EC2's list flattening and the query protocol's (Auto Scaling, STS);
//! - [`wire`], the response side: a bounded quick-xml reader and the
//!   `DescribeImages` decoder into [`Image`](imagecat_core::Image) and
//!   [`Page`](imagecat_core::raw::Page);
//! - [`error`], EC2's error document mapped into the workspace's error
//!   kinds, with echoed secrets scrubbed.
//!
//! - [`config`] and [`source`], the catalog on the adapter template of
//!   `docs/architecture.md`: [`Ec2Builder`] (`ec2://REGION`,
//!   `ec2+http://HOST:PORT?region=R`) and [`Ec2Source`], whose signed
//!   `DescribeImages` pages go through the core's engine, `get` by
//!   `ImageId.1` and `delete` by `DeregisterImage`.
//!
//! - [`query`], the query's filters EC2 has sent as DescribeImages
//!   filters (the engine re-checks them), and the `include_deprecated` /
//!   `include_disabled` options;
//! - [`delete`], delete as users mean it: deregister, then the AMI's
//!   snapshots no remaining AMI uses, each named in the outcome;
//! - [`regions`], `ec2://all`: one catalog URL per enabled region.
//!
//! - [`instances`], usage: every user of an AMI (instances, launch templates with
//!   SSM-resolved images, Auto Scaling, the server's image references);
//! - [`sts`], the caller and the chain's role calls.
//!
//! A request travels: the chain (or the user's provider) gives
//! [`Credentials`]; [`sign::sign`] signs the request as it will go on the
//! wire and gives the `X-Amz-Date`, `X-Amz-Security-Token` and
//! `Authorization` headers to add.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use imagecat_ec2::credentials::Credentials;
//! use imagecat_ec2::sign::{Request, Scope, sign};
//! use imagecat_http::SecretString;
//!
//! let credentials = Credentials::new(
//!     "AKIDEXAMPLE",
//!     SecretString::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
//!     None,
//!     None,
//! );
//! let headers = [
//!     ("host".to_owned(), "ec2.eu-west-1.amazonaws.com".to_owned()),
//!     (
//!         "content-type".to_owned(),
//!         "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
//!     ),
//! ];
//! let request = Request {
//!     method: "POST",
//!     path: "/",
//!     query: &[],
//!     headers: &headers,
//!     body: b"Action=DescribeImages&Version=2016-11-15&Owner.1=self",
//! };
//! let time = Utc.with_ymd_and_hms(2026, 12, 7, 5, 51, 15).unwrap();
//! let scope = Scope { region: "eu-west-1", service: "ec2" };
//! let signature = sign(&request, &credentials, scope, time);
//! assert!(signature.authorization().starts_with(
//!     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/ec2/aws4_request, \
//!      SignedHeaders=content-type;host;x-amz-date, Signature="
//! ));
//! ```

pub mod audience;
pub mod config;
pub mod credentials;
pub mod delete;
pub mod error;
pub mod instances;
pub mod protocol;
pub mod query;
pub mod regions;
pub mod retire;
pub mod sign;
pub mod source;
pub mod sts;
pub mod wire;

pub use config::{BACKEND, Ec2Builder, SCHEMES};
pub use credentials::{CredentialChain, CredentialProvider, Credentials, Env};
pub use source::{Ec2Catalog, Ec2Source};

/// Decodes one `DescribeImages` body into the page `page` makes from it
/// (fixtures, fuzzing, the bench). EC2's token is opaque, so the page does
/// not depend on the token it answers.
pub fn decode_page_body(
    body: &[u8],
    token: Option<imagecat_core::raw::PageToken>,
) -> imagecat_core::Result<imagecat_core::raw::Page<imagecat_core::Image>> {
    let _ = token;
    wire::decode_describe_images(body)
}

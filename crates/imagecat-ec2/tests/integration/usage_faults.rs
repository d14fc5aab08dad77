//! The usage scan's unknown paths against a small EC2, Auto Scaling and
//! SSM on loopback whose answers each test chooses: a phase failing after
//! the instances were read, a launch-template listing that may have been
//! cut silently, and every answer of `DescribeImageReferences` (the ones
//! that mean "not supported" end the phase; the others fail the scan).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use imagecat_core::usage::{FoundVia, ImageUsage, UnknownReason, UsageScan};
use imagecat_core::{ImageCatalog, ImageCatalogExt, ImageId, InstanceQuery};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_emulators::server::EmulatorServer;
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;

const USED: &str = "ami-0000000000000000a";
const OTHER: &str = "ami-0000000000000000b";

/// How the server answers the calls a test varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Templates {
    /// No templates.
    None,
    /// `UnauthorizedOperation` (after the instances page was read).
    Refused,
    /// A full page of `MaxResults` templates and no token, whatever is
    /// asked (a server that cuts silently).
    CutAtMax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum References {
    NotImplemented501,
    InvalidAction,
    MotoHtml500,
    InternalError500,
    Refused,
    Found,
}

#[derive(Debug)]
struct Config {
    templates: Templates,
    references: References,
    actions: Vec<String>,
}

type Shared = Arc<Mutex<Config>>;

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml;charset=UTF-8")], body).into_response()
}

fn error(status: StatusCode, code: &str) -> Response {
    xml(
        status,
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{code}!</Message></Error>\
             </Errors><RequestID>r</RequestID></Response>"
        ),
    )
}

fn ok(action: &str, inner: &str) -> Response {
    xml(
        StatusCode::OK,
        format!("<{action}Response>{inner}<requestId>r</requestId></{action}Response>"),
    )
}

fn autoscaling(action: &str, list: &str) -> Response {
    ok(
        action,
        &format!("<{action}Result><{list}/></{action}Result>"),
    )
}

async fn handle(State(state): State<Shared>, body: Bytes) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let action = param("Action").unwrap_or_default();
    let mut state = state.lock().unwrap();
    state.actions.push(action.clone());
    match action.as_str() {
        "DescribeInstances" => ok(
            &action,
            &format!(
                "<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>\
                 <imageId>{USED}</imageId><instanceState><code>16</code><name>running</name>\
                 </instanceState></item></instancesSet></item></reservationSet>"
            ),
        ),
        "DescribeLaunchTemplates" => match state.templates {
            Templates::None => ok(&action, "<launchTemplates/>"),
            Templates::Refused => error(StatusCode::FORBIDDEN, "UnauthorizedOperation"),
            Templates::CutAtMax => {
                let max: usize = param("MaxResults")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(15);
                let items: String = (0..max)
                    .map(|k| {
                        format!(
                            "<item><launchTemplateId>lt-{k:017x}</launchTemplateId>\
                             <defaultVersionNumber>1</defaultVersionNumber>\
                             <latestVersionNumber>1</latestVersionNumber></item>"
                        )
                    })
                    .collect();
                ok(
                    &action,
                    &format!("<launchTemplates>{items}</launchTemplates>"),
                )
            }
        },
        "DescribeLaunchTemplateVersions" => {
            let id = param("LaunchTemplateId").unwrap_or_default();
            ok(
                &action,
                &format!(
                    "<launchTemplateVersionSet><item><launchTemplateId>{id}</launchTemplateId>\
                     <versionNumber>1</versionNumber><defaultVersion>true</defaultVersion>\
                     <launchTemplateData/></item></launchTemplateVersionSet>"
                ),
            )
        }
        "DescribeLaunchConfigurations" => autoscaling(&action, "LaunchConfigurations"),
        "DescribeAutoScalingGroups" => autoscaling(&action, "AutoScalingGroups"),
        // The listing holds OTHER; a get is answered for the id asked.
        "DescribeImages" => ok(
            &action,
            &format!(
                "<imagesSet><item><imageId>{}</imageId><imageState>available</imageState>\
                 <isPublic>false</isPublic></item></imagesSet>",
                param("ImageId.1").unwrap_or_else(|| OTHER.to_owned())
            ),
        ),
        "DescribeImageReferences" => match state.references {
            References::NotImplemented501 => (StatusCode::NOT_IMPLEMENTED, "").into_response(),
            References::InvalidAction => error(StatusCode::BAD_REQUEST, "InvalidAction"),
            References::MotoHtml500 => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("content-type", "text/html; charset=utf-8")],
                "<!doctype html>\n<title>500 Internal Server Error</title>",
            )
                .into_response(),
            References::InternalError500 => {
                error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
            }
            References::Refused => error(StatusCode::FORBIDDEN, "UnauthorizedOperation"),
            References::Found => ok(
                &action,
                &format!(
                    "<imageReferenceSet><item><imageId>{OTHER}</imageId>\
                     <resourceType>ssm:Parameter</resourceType>\
                     <arn>arn:aws:ssm:us-east-1:123456789012:parameter/golden</arn></item>\
                     </imageReferenceSet>"
                ),
            ),
        },
        _ => error(StatusCode::BAD_REQUEST, "InvalidAction"),
    }
}

struct Rig {
    server: EmulatorServer,
    state: Shared,
}

impl Rig {
    async fn start(templates: Templates, references: References) -> Rig {
        let state = Arc::new(Mutex::new(Config {
            templates,
            references,
            actions: Vec::new(),
        }));
        let router = Router::new()
            .route("/", post(handle))
            .with_state(Arc::clone(&state));
        let server = EmulatorServer::start(router).await.expect("server starts");
        Rig { server, state }
    }

    fn catalog(&self) -> Ec2Catalog {
        let url = format!(
            "ec2+http://{}?region=us-east-1",
            self.server.base_url().trim_start_matches("http://")
        );
        let credentials = Credentials::new("AKIDEXAMPLE", SecretString::new("s3cr3t"), None, None);
        Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
            .unwrap()
            .env(Env::default())
            .credentials_provider(Arc::new(StaticProvider::new(credentials)))
            .http_options(test_http(2))
            .build()
            .unwrap()
    }

    fn count(&self, action: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.actions.iter().filter(|a| *a == action).count()
    }
}

async fn scan(rig: &Rig) -> (Ec2Catalog, UsageScan) {
    let catalog = rig.catalog();
    let scan = catalog.usage_scan(InstanceQuery::new()).await;
    (catalog, scan)
}

async fn usage(catalog: &Ec2Catalog, scan: &UsageScan, id: &str) -> ImageUsage {
    scan.usage_of(&catalog.get(&ImageId::new(id)).await.expect("get"))
}

fn failed_with(usage: &ImageUsage, words: &str) {
    match usage {
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => assert!(message.contains(words), "{message}"),
        other => panic!("expected unknown for a failed listing, got {other:?}"),
    }
}

#[tokio::test]
async fn a_phase_failing_after_the_instances_makes_the_rest_unknown() {
    let rig = Rig::start(Templates::Refused, References::Found).await;
    let (catalog, scan) = scan(&rig).await;
    assert!(!scan.is_complete());
    assert_eq!(usage(&catalog, &scan, USED).await.as_str(), "in_use");
    failed_with(
        &usage(&catalog, &scan, OTHER).await,
        "UnauthorizedOperation",
    );
}

#[tokio::test]
async fn a_full_template_page_without_a_token_is_never_trusted() {
    let rig = Rig::start(Templates::CutAtMax, References::Found).await;
    let catalog = rig.catalog();
    let scan = catalog.usage_scan(InstanceQuery::new().page_size(10)).await;
    failed_with(
        &usage(&catalog, &scan, OTHER).await,
        "cannot be proved complete",
    );
    // asked at 10, then again at the largest page, 200, which was full too
    assert_eq!(rig.count("DescribeLaunchTemplates"), 2);
}

#[tokio::test]
async fn references_that_mean_not_supported_end_the_phase_only() {
    for answer in [
        References::NotImplemented501,
        References::InvalidAction,
        References::MotoHtml500,
    ] {
        let rig = Rig::start(Templates::None, answer).await;
        let (catalog, scan) = scan(&rig).await;
        assert!(scan.is_complete(), "{answer:?}: {scan:?}");
        assert_eq!(
            usage(&catalog, &scan, OTHER).await,
            ImageUsage::NotInUse,
            "{answer:?}"
        );
        assert_eq!(
            rig.count("DescribeImageReferences"),
            1,
            "{answer:?} is asked once, not retried"
        );
    }
}

#[tokio::test]
async fn references_that_fail_make_the_scan_unknown() {
    for (answer, words) in [
        (References::InternalError500, "InternalError"),
        (References::Refused, "UnauthorizedOperation"),
    ] {
        let rig = Rig::start(Templates::None, answer).await;
        let (catalog, scan) = scan(&rig).await;
        assert!(!scan.is_complete(), "{answer:?}");
        failed_with(&usage(&catalog, &scan, OTHER).await, words);
    }
}

#[tokio::test]
async fn a_reference_the_server_reports_is_a_use() {
    let rig = Rig::start(Templates::None, References::Found).await;
    let (catalog, scan) = scan(&rig).await;
    assert!(scan.is_complete());
    match usage(&catalog, &scan, OTHER).await {
        ImageUsage::InUse { instances } => {
            assert_eq!(instances.len(), 1);
            assert_eq!(instances[0].via, FoundVia::ServerReference);
            assert_eq!(instances[0].status, "ssm:Parameter");
            assert!(instances[0].instance_id.contains("parameter/golden"));
        }
        other => panic!("expected in use, got {other:?}"),
    }
}

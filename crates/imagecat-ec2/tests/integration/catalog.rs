//! The catalog end to end against a small EC2 Query API on loopback: every
//! request's SigV4 `Authorization` is checked by recomputing it on the
//! server side (the session token header included), pages come with
//! `nextToken`, and the answers are EC2's documents.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{NaiveDateTime, TimeZone, Utc};
use futures::TryStreamExt;
use imagecat_core::{
    DeleteOptions, DeleteOutcome, Deleted, DetailResult, ErrorKind, ImageCatalog, ImageId,
    ListQuery,
};
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::sign::{self, Scope};
use imagecat_ec2::{Ec2Builder, Ec2Catalog, Env};
use imagecat_emulators::server::EmulatorServer;
use imagecat_http::SecretString;
use imagecat_testkit::listing::test_http;

const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "FQoGZXIvYXdzEXAMPLEsessionTOKEN";
const REGION: &str = "us-east-1";
const PER_PAGE: usize = 3;
const PAGES: usize = 3;

fn ami(n: usize) -> String {
    format!("ami-0{n:016x}")
}

/// The snapshot of image `n`'s root volume; images 4 and 5 share one (as
/// two AMIs registered from one snapshot do), and image 6 has two.
fn snapshots_of(n: usize) -> Vec<String> {
    match n {
        4 | 5 => vec!["snap-000000aa".to_owned()],
        6 => vec!["snap-00000006".to_owned(), "snap-00000066".to_owned()],
        n => vec![format!("snap-{n:08x}")],
    }
}

/// What one request asked for, as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    params: Vec<(String, String)>,
    signed: bool,
}

impl Seen {
    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Ec2State {
    deregistered: BTreeSet<String>,
    /// The snapshots deleted.
    deleted_snapshots: BTreeSet<String>,
    /// Whether DeregisterImage honours DeleteAssociatedSnapshots (EC2
    /// does; moto ignores it).
    honours_associated: bool,
    /// How many of the next requests answer a throttling 503.
    throttle: u32,
    /// How many of the next DeregisterImage requests answer one.
    throttle_deregister: u32,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Ec2State>>;

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml;charset=UTF-8")], body).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    xml(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>"
        ),
    )
}

/// Recomputes the request's signature with the known secret: the
/// `Authorization` header must be well formed and exactly the one
/// `sign::sign` gives for what arrived.
fn check_signature(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let amz_date = header("x-amz-date")?;
    let host = header("host")?;
    let content_type = header("content-type")?;
    if header("x-amz-security-token")? != SESSION_TOKEN {
        return Err("wrong session token".into());
    }
    let date = &amz_date.get(..8).ok_or("short x-amz-date")?;
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{date}/{REGION}/ec2/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
    );
    let signature = authorization
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("malformed Authorization: {authorization}"))?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("the signature is not 64 hex digits: {signature}"));
    }
    let time = NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|e| format!("x-amz-date {amz_date}: {e}"))?;
    let signed_headers = [
        ("content-type".to_owned(), content_type),
        ("host".to_owned(), host),
    ];
    let request = sign::Request {
        method: "POST",
        path: "/",
        query: &[],
        headers: &signed_headers,
        body,
    };
    let expected = sign::sign(
        &request,
        &credentials(SECRET),
        Scope {
            region: REGION,
            service: "ec2",
        },
        Utc.from_utc_datetime(&time),
    );
    if expected.authorization() == authorization {
        Ok(())
    } else {
        Err("SignatureDoesNotMatch".into())
    }
}

fn item(id: &str) -> String {
    let n = (0..PER_PAGE * PAGES).find(|n| ami(*n) == id).unwrap_or(0);
    let mappings: String = snapshots_of(n)
        .iter()
        .enumerate()
        .map(|(i, snap)| {
            format!(
                "<item><deviceName>/dev/xvd{}</deviceName><ebs><snapshotId>{snap}</snapshotId>\
                 <volumeSize>8</volumeSize></ebs></item>",
                char::from(b'a' + i as u8)
            )
        })
        .collect();
    format!(
        "<item><imageId>{id}</imageId><imageState>available</imageState>\
         <imageOwnerId>123456789012</imageOwnerId><isPublic>false</isPublic>\
         <name>golden-{id}</name><creationDate>2026-12-07T05:48:42.000Z</creationDate>\
         <blockDeviceMapping>{mappings}</blockDeviceMapping></item>"
    )
}

/// Whether a registered image other than `but` uses the snapshot.
fn in_use(state: &Ec2State, snapshot: &str, but: &str) -> bool {
    (0..PER_PAGE * PAGES).any(|n| {
        let id = ami(n);
        id != but
            && !state.deregistered.contains(&id)
            && snapshots_of(n).iter().any(|s| s == snapshot)
    })
}

/// EC2's DeleteSnapshot: InUse while a registered AMI names it, NotFound
/// once gone.
fn delete_snapshot(state: &mut Ec2State, snapshot: &str) -> Response {
    let known = (0..PER_PAGE * PAGES).any(|n| snapshots_of(n).iter().any(|s| s == snapshot));
    if !known || state.deleted_snapshots.contains(snapshot) {
        return error(StatusCode::BAD_REQUEST, "InvalidSnapshot.NotFound", "");
    }
    if in_use(state, snapshot, "") {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidSnapshot.InUse",
            &format!("The snapshot {snapshot} is currently in use by an AMI"),
        );
    }
    state.deleted_snapshots.insert(snapshot.to_owned());
    xml(
        StatusCode::OK,
        "<DeleteSnapshotResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
         <requestId>r</requestId><return>true</return></DeleteSnapshotResponse>"
            .to_owned(),
    )
}

fn images_response(ids: &[String], next: Option<&str>) -> Response {
    let items: String = ids.iter().map(|id| item(id)).collect();
    let next = match next {
        Some(token) => format!("<nextToken>{token}</nextToken>"),
        // The last page: an empty element, as some servers send it.
        None => "<nextToken/>".to_owned(),
    };
    xml(
        StatusCode::OK,
        format!(
            "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>r</requestId><imagesSet>{items}</imagesSet>{next}</DescribeImagesResponse>"
        ),
    )
}

async fn handle(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let signed = check_signature(&headers, &body);
    let seen = Seen {
        params,
        signed: signed.is_ok(),
    };
    let mut state = state.lock().unwrap();
    state.seen.push(seen.clone());
    if let Err(why) = signed {
        // moto's and EC2's answer; the message quotes the key id, as AWS's
        // signature errors do.
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthFailure",
            &format!("{why} for {ACCESS_KEY_ID}"),
        );
    }
    if state.throttle > 0 {
        state.throttle -= 1;
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        );
    }
    let alive = |state: &Ec2State, id: &str| {
        (0..PER_PAGE * PAGES).any(|n| ami(n) == id) && !state.deregistered.contains(id)
    };
    match (seen.get("Action"), seen.get("Version")) {
        (_, Some(v)) if v != "2016-11-15" => {
            error(StatusCode::BAD_REQUEST, "InvalidAction", "bad version")
        }
        (Some("DescribeImages"), _) => {
            if let Some(id) = seen.get("ImageId.1") {
                if seen.get("MaxResults").is_some() {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterCombination",
                        "The parameter imageIdsSet cannot be used with the parameter maxResults",
                    );
                }
                return if alive(&state, id) {
                    images_response(&[id.to_owned()], None)
                } else {
                    error(
                        StatusCode::BAD_REQUEST,
                        "InvalidAMIID.NotFound",
                        &format!("The image id '[{id}]' does not exist"),
                    )
                };
            }
            if seen.get("Owner.1") != Some("self") {
                return error(StatusCode::BAD_REQUEST, "InvalidParameterValue", "owner");
            }
            match seen.get("MaxResults").and_then(|m| m.parse::<u32>().ok()) {
                Some(5..=1000) => {}
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterValue",
                        "Value for parameter maxResults is invalid",
                    );
                }
            }
            let page = match seen.get("NextToken") {
                None => 0,
                Some(token) => match token.strip_prefix("tok/").and_then(|n| n.parse().ok()) {
                    Some(n) if n < PAGES => n,
                    _ => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "InvalidPaginationToken",
                            "The specified pagination token is not valid or is expired",
                        );
                    }
                },
            };
            let ids: Vec<String> = (page * PER_PAGE..(page + 1) * PER_PAGE)
                .map(ami)
                .filter(|id| !state.deregistered.contains(id))
                .collect();
            let next = (page + 1 < PAGES).then(|| format!("tok/{}", page + 1));
            images_response(&ids, next.as_deref())
        }
        (Some("DeregisterImage"), _) if state.throttle_deregister > 0 => {
            state.throttle_deregister -= 1;
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "RequestLimitExceeded",
                "Request limit exceeded.",
            )
        }
        (Some("DeregisterImage"), _) => {
            let id = seen.get("ImageId").unwrap_or_default().to_owned();
            if state.deregistered.contains(&id) {
                error(
                    StatusCode::BAD_REQUEST,
                    "InvalidAMIID.Unavailable",
                    "The image is no longer available",
                )
            } else if alive(&state, &id) {
                state.deregistered.insert(id.clone());
                let mut set = String::new();
                if state.honours_associated && seen.get("DeleteAssociatedSnapshots") == Some("true")
                {
                    let n = (0..PER_PAGE * PAGES).find(|n| ami(*n) == id).unwrap_or(0);
                    for snap in snapshots_of(n) {
                        let code = if in_use(&state, &snap, &id) {
                            "skipped"
                        } else {
                            state.deleted_snapshots.insert(snap.clone());
                            "success"
                        };
                        set.push_str(&format!(
                            "<item><snapshotId>{snap}</snapshotId><returnCode>{code}</returnCode></item>"
                        ));
                    }
                    set = format!("<deleteSnapshotResultSet>{set}</deleteSnapshotResultSet>");
                }
                xml(
                    StatusCode::OK,
                    format!(
                        "<DeregisterImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                         <requestId>r</requestId><return>true</return>{set}</DeregisterImageResponse>"
                    ),
                )
            } else {
                error(
                    StatusCode::BAD_REQUEST,
                    "InvalidAMIID.NotFound",
                    &format!("The image id '[{id}]' does not exist"),
                )
            }
        }
        (Some("DeleteSnapshot"), _) => {
            let snapshot = seen.get("SnapshotId").unwrap_or_default().to_owned();
            delete_snapshot(&mut state, &snapshot)
        }
        _ => error(StatusCode::BAD_REQUEST, "InvalidAction", "unknown action"),
    }
}

fn credentials(secret: &str) -> Credentials {
    Credentials::new(
        ACCESS_KEY_ID,
        SecretString::new(secret),
        Some(SecretString::new(SESSION_TOKEN)),
        None,
    )
}

struct Rig {
    server: EmulatorServer,
    state: Shared,
}

impl Rig {
    async fn start() -> Rig {
        let state = Shared::default();
        let router = Router::new()
            .route("/", post(handle))
            .with_state(Arc::clone(&state));
        let server = EmulatorServer::start(router).await.expect("server starts");
        Rig { server, state }
    }

    fn catalog_with(&self, secret: &str, attempts: u32) -> Ec2Catalog {
        let url = format!(
            "ec2+http://{}?region={REGION}",
            self.server.base_url().trim_start_matches("http://")
        );
        Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
            .unwrap()
            .env(Env::default())
            .credentials_provider(Arc::new(StaticProvider::new(credentials(secret))))
            .http_options(test_http(attempts))
            .build()
            .unwrap()
    }

    fn catalog(&self) -> Ec2Catalog {
        self.catalog_with(SECRET, 5)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn throttle(&self, n: u32) {
        self.state.lock().unwrap().throttle = n;
    }
}

async fn list(catalog: &Ec2Catalog) -> Vec<String> {
    catalog
        .list(ListQuery::new())
        .map_ok(|i| i.id.as_str().to_owned())
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn three_pages_through_the_engine_yield_every_image_once() {
    let rig = Rig::start().await;
    let ids = list(&rig.catalog()).await;
    let want: Vec<String> = (0..PER_PAGE * PAGES).map(ami).collect();
    assert_eq!(ids, want);
    let seen = rig.seen();
    assert_eq!(seen.len(), PAGES, "one request a page");
    assert!(seen.iter().all(|s| s.signed), "every request signed");
    let tokens: Vec<Option<&str>> = seen.iter().map(|s| s.get("NextToken")).collect();
    assert_eq!(tokens, [None, Some("tok/1"), Some("tok/2")]);
    for s in &seen {
        assert_eq!(s.get("Action"), Some("DescribeImages"));
        assert_eq!(s.get("Owner.1"), Some("self"));
        assert_eq!(s.get("MaxResults"), Some("1000"));
        assert_eq!(s.get("ImageId.1"), None);
    }
}

#[tokio::test]
async fn a_small_page_size_is_raised_to_five() {
    let rig = Rig::start().await;
    let catalog = rig.catalog();
    let ids: Vec<_> = catalog
        .list(ListQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), PER_PAGE * PAGES);
    assert!(rig.seen().iter().all(|s| s.get("MaxResults") == Some("5")));
}

#[tokio::test]
async fn get_sends_the_id_alone() {
    let rig = Rig::start().await;
    let catalog = rig.catalog();
    let image = catalog.get(&ImageId::new(ami(4))).await.unwrap();
    assert_eq!(image.id.as_str(), ami(4));
    assert_eq!(image.owner.as_deref(), Some("123456789012"));
    let seen = rig.seen();
    assert_eq!(seen[0].get("ImageId.1"), Some(ami(4).as_str()));
    assert_eq!(seen[0].get("MaxResults"), None, "never with ImageIds");
    assert_eq!(seen[0].get("Owner.1"), None);
    assert_eq!(
        seen[0].get("IncludeDisabled"),
        Some("true"),
        "nothing hidden"
    );
    assert_eq!(seen[0].get("IncludeDeprecated"), Some("true"));

    let missing = catalog.get(&ImageId::new(ami(999))).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.proves_absence(), "{missing}");
    assert_eq!(missing.code(), Some("InvalidAMIID.NotFound"));

    let before = rig.seen().len();
    let bad = catalog
        .get(&ImageId::new("ami-x&Action=DeregisterImage"))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert_eq!(rig.seen().len(), before, "refused before any request");
}

#[tokio::test]
async fn delete_deregisters_and_maps_not_found() {
    let rig = Rig::start().await;
    let catalog = rig.catalog();
    let id = ImageId::new(ami(1));
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::Deleted);
    let seen = rig.seen();
    // The snapshots are read first, then the AMI deregistered.
    assert_eq!(seen[0].get("Action"), Some("DescribeImages"));
    assert_eq!(seen[1].get("Action"), Some("DeregisterImage"));
    assert_eq!(seen[1].get("ImageId"), Some(ami(1).as_str()));
    assert!(seen.iter().all(|s| s.signed));
    assert!(
        !list(&catalog).await.contains(&ami(1)),
        "gone from the listing"
    );

    // EC2's InvalidAMIID.Unavailable: it was deregistered already.
    assert_eq!(catalog.delete(&id).await.unwrap(), Deleted::AlreadyDeleted);

    // InvalidAMIID.NotFound: never there, and EC2's own word proves it.
    let e = catalog.delete(&ImageId::new(ami(999))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.proves_absence(), "{e}");

    let before = rig.seen().len();
    let e = catalog
        .delete(&ImageId::new("snap-12345678"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(rig.seen().len(), before, "refused before any request");
}

#[tokio::test]
async fn a_throttling_503_is_retried() {
    let rig = Rig::start().await;
    rig.throttle(2);
    let ids = list(&rig.catalog()).await;
    assert_eq!(ids.len(), PER_PAGE * PAGES);
    assert_eq!(
        rig.seen().len(),
        PAGES + 2,
        "two throttled attempts, then the pages"
    );

    // More throttling than attempts: RateLimited, after every attempt.
    let rig = Rig::start().await;
    rig.throttle(10);
    let e = rig
        .catalog_with(SECRET, 3)
        .list(ListQuery::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.code(), Some("RequestLimitExceeded"));
    assert_eq!(rig.seen().len(), 3);

    // A deregister is not idempotent: a throttled one is not sent again
    // (the describe before it was answered), and no snapshot is touched.
    let rig = Rig::start().await;
    rig.state.lock().unwrap().throttle_deregister = 1;
    let e = rig
        .catalog()
        .delete(&ImageId::new(ami(0)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(
        actions(&rig, 0),
        [
            format!("DescribeImages {}", ami(0)),
            format!("DeregisterImage {}", ami(0)),
        ]
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_no_secret_shows() {
    let rig = Rig::start().await;
    let wrong = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGSECRET";
    let e = rig
        .catalog_with(wrong, 5)
        .list(ListQuery::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(e.code(), Some("AuthFailure"));
    assert_eq!(
        rig.seen().len(),
        1,
        "an authentication failure is not retried"
    );
    let shown = format!("{e} {e:?}");
    for secret in [wrong, SESSION_TOKEN, ACCESS_KEY_ID] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

/// Counts its calls; its credentials expire `expires_in` from now.
#[derive(Debug)]
struct Counting {
    calls: std::sync::atomic::AtomicUsize,
    expires_in: Option<chrono::TimeDelta>,
}

#[imagecat_core::async_trait]
impl imagecat_ec2::CredentialProvider for Counting {
    async fn credentials(&self) -> imagecat_core::Result<Credentials> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Credentials::new(
            ACCESS_KEY_ID,
            SecretString::new(SECRET),
            Some(SecretString::new(SESSION_TOKEN)),
            self.expires_in.map(|d| Utc::now() + d),
        ))
    }
}

#[tokio::test]
async fn credentials_are_asked_for_once_until_they_near_expiry() {
    let rig = Rig::start().await;
    for (expires_in, calls) in [
        (None, 1),
        (Some(chrono::TimeDelta::hours(1)), 1),
        // Within the renewal margin: asked again for every operation.
        (Some(chrono::TimeDelta::minutes(2)), PAGES + 2),
    ] {
        let provider = Arc::new(Counting {
            calls: Default::default(),
            expires_in,
        });
        let url = format!(
            "{}?region={REGION}",
            rig.server.base_url().replace("http://", "ec2+http://")
        );
        let catalog = Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
            .unwrap()
            .env(Env::default())
            .credentials_provider(provider.clone())
            .http_options(test_http(5))
            .build()
            .unwrap();
        assert_eq!(list(&catalog).await.len(), PER_PAGE * PAGES);
        catalog.get(&ImageId::new(ami(2))).await.unwrap();
        catalog.get(&ImageId::new(ami(3))).await.unwrap();
        assert_eq!(
            provider.calls.load(std::sync::atomic::Ordering::SeqCst),
            calls,
            "{expires_in:?}"
        );
    }
}

/// The actions the server saw, with the parameter that names their target.
fn actions(rig: &Rig, from: usize) -> Vec<String> {
    rig.seen()[from..]
        .iter()
        .map(|s| {
            let action = s.get("Action").unwrap_or_default();
            let target = s
                .get("SnapshotId")
                .or_else(|| s.get("ImageId"))
                .or_else(|| s.get("ImageId.1"))
                .unwrap_or_default();
            format!("{action} {target}")
        })
        .collect()
}

fn details(outcome: &DeleteOutcome) -> Vec<(String, DetailResult)> {
    outcome
        .details
        .iter()
        .map(|d| (d.id.clone(), d.result))
        .collect()
}

/// Where the server ignores DeleteAssociatedSnapshots (moto), each
/// snapshot is deleted one by one after the deregister; one another AMI
/// still uses is kept (EC2's InvalidSnapshot.InUse) and said so, and is
/// deleted with the last AMI that used it.
#[tokio::test]
async fn delete_falls_back_to_delete_snapshot_and_keeps_one_in_use() {
    let rig = Rig::start().await;
    let catalog = rig.catalog();
    let outcome = catalog
        .delete_with(&ImageId::new(ami(6)), &DeleteOptions::new())
        .await
        .unwrap();
    assert_eq!(outcome.deleted, Deleted::Deleted);
    assert_eq!(
        details(&outcome),
        [
            ("snap-00000006".to_owned(), DetailResult::Deleted),
            ("snap-00000066".to_owned(), DetailResult::Deleted),
        ]
    );
    let seen = rig.seen();
    assert_eq!(seen[1].get("DeleteAssociatedSnapshots"), Some("true"));
    assert_eq!(
        actions(&rig, 0),
        [
            format!("DescribeImages {}", ami(6)),
            format!("DeregisterImage {}", ami(6)),
            "DeleteSnapshot snap-00000006".to_owned(),
            "DeleteSnapshot snap-00000066".to_owned(),
        ]
    );

    // Images 4 and 5 share a snapshot: kept with the first, deleted with
    // the second.
    let first = catalog
        .delete_with(&ImageId::new(ami(4)), &DeleteOptions::new())
        .await
        .unwrap();
    assert_eq!(
        details(&first),
        [("snap-000000aa".to_owned(), DetailResult::Kept)]
    );
    let message = first.details[0].message.as_deref().unwrap_or_default();
    assert!(message.contains("in use"), "{message}");
    let second = catalog
        .delete_with(&ImageId::new(ami(5)), &DeleteOptions::new())
        .await
        .unwrap();
    assert_eq!(
        details(&second),
        [("snap-000000aa".to_owned(), DetailResult::Deleted)]
    );
    assert!(
        rig.state
            .lock()
            .unwrap()
            .deleted_snapshots
            .contains("snap-000000aa")
    );
}

/// Where the server honours DeleteAssociatedSnapshots (EC2), its
/// deleteSnapshotResultSet is read: success is deleted, skipped is kept,
/// and no DeleteSnapshot follows for either.
#[tokio::test]
async fn delete_reads_the_servers_snapshot_results() {
    let rig = Rig::start().await;
    rig.state.lock().unwrap().honours_associated = true;
    let catalog = rig.catalog();
    let first = catalog
        .delete_with(&ImageId::new(ami(4)), &DeleteOptions::new())
        .await
        .unwrap();
    assert_eq!(
        details(&first),
        [("snap-000000aa".to_owned(), DetailResult::Kept)]
    );
    let second = catalog
        .delete_with(&ImageId::new(ami(5)), &DeleteOptions::new())
        .await
        .unwrap();
    assert_eq!(
        details(&second),
        [("snap-000000aa".to_owned(), DetailResult::Deleted)]
    );
    assert!(
        actions(&rig, 0)
            .iter()
            .all(|a| !a.starts_with("DeleteSnapshot")),
        "{:?}",
        actions(&rig, 0)
    );
}

/// keep_snapshots (the option, or the URL's) deregisters only: each
/// snapshot is named as kept and no snapshot request is sent.
#[tokio::test]
async fn keep_snapshots_deregisters_only() {
    let rig = Rig::start().await;
    let catalog = rig.catalog();
    let outcome = catalog
        .delete_with(
            &ImageId::new(ami(6)),
            &DeleteOptions::new().keep_snapshots(true),
        )
        .await
        .unwrap();
    assert_eq!(
        details(&outcome),
        [
            ("snap-00000006".to_owned(), DetailResult::Kept),
            ("snap-00000066".to_owned(), DetailResult::Kept),
        ]
    );
    assert_eq!(rig.seen()[1].get("DeleteAssociatedSnapshots"), None);
    assert!(rig.state.lock().unwrap().deleted_snapshots.is_empty());

    let url = format!(
        "ec2+http://{}?region={REGION}&keep_snapshots=true",
        rig.server.base_url().trim_start_matches("http://")
    );
    let keeping = Ec2Builder::from_url(&url.parse().unwrap(), &Default::default())
        .unwrap()
        .env(Env::default())
        .credentials_provider(Arc::new(StaticProvider::new(credentials(SECRET))))
        .http_options(test_http(1))
        .build()
        .unwrap();
    // The plain delete (as every tool calls it) keeps them too.
    assert_eq!(
        keeping.delete(&ImageId::new(ami(7))).await.unwrap(),
        Deleted::Deleted
    );
    assert!(rig.state.lock().unwrap().deleted_snapshots.is_empty());
    assert!(
        actions(&rig, 0)
            .iter()
            .all(|a| !a.starts_with("DeleteSnapshot")),
        "{:?}",
        actions(&rig, 0)
    );
}

//! Endpoints the credential tests serve on loopback: every request is
//! recorded (body included) and answered by the test's closure; STS's
//! answers and SigV4 checking, written once for the modules beside.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use imagecat_ec2::credentials::Credentials;
use imagecat_ec2::sign::{self, Scope};
use imagecat_emulators::server::EmulatorServer;
use imagecat_http::SecretString;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The form body's parameter `key`.
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The query string's parameter `key`.
    pub(crate) fn query_param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

type Answer = dyn Fn(&Seen) -> Response + Send + Sync;

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Answer>,
}

/// A served endpoint; stops when dropped.
pub(crate) struct Served {
    server: EmulatorServer,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    (shared.answer)(&seen)
}

impl Served {
    /// Serves `answer` on an ephemeral loopback port.
    pub(crate) async fn start(answer: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            seen: Arc::clone(&seen),
            answer: Arc::new(answer),
        };
        let router = Router::new().fallback(handle).with_state(shared);
        let server = EmulatorServer::start(router).await.unwrap();
        Served { server, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        self.server.base_url()
    }

    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub(crate) fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml")], body).into_response()
}

pub(crate) fn json(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// STS's `<ErrorResponse>`.
pub(crate) fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>req-1</RequestId></ErrorResponse>"
        ),
    )
}

/// An `AssumeRole*Response` with these credentials.
pub(crate) fn role_answer(
    action: &str,
    access_key_id: &str,
    secret: &str,
    token: &str,
    expiration: DateTime<Utc>,
) -> Response {
    xml(
        StatusCode::OK,
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <{action}Result><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>\
             <AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser><Credentials>\
             <AccessKeyId>{access_key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
             <SessionToken>{token}</SessionToken><Expiration>{}</Expiration></Credentials>\
             </{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\
             </{action}Response>",
            expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )
}

/// A `GetCallerIdentityResponse`.
pub(crate) fn caller_answer(account: &str, arn: &str) -> Response {
    xml(
        StatusCode::OK,
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE</UserId>\
             <Account>{account}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        ),
    )
}

/// Whether `seen` carries exactly the SigV4 `Authorization` that
/// `access_key_id`/`secret` (and `token`) give for it, for `service` in
/// `region`; `Err` says why not.
pub(crate) fn check_sigv4(
    seen: &Seen,
    access_key_id: &str,
    secret: &str,
    token: Option<&str>,
    region: &str,
    service: &str,
) -> Result<(), String> {
    let header = |name: &str| {
        seen.header(name)
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let amz_date = header("x-amz-date")?;
    if seen.header("x-amz-security-token") != token {
        return Err("wrong or missing session token".into());
    }
    let date = amz_date.get(..8).ok_or("short x-amz-date")?;
    let scope = format!("Credential={access_key_id}/{date}/{region}/{service}/aws4_request");
    if !authorization.contains(&scope) {
        return Err(format!("wrong scope: {authorization}"));
    }
    let time = NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|e| format!("x-amz-date {amz_date}: {e}"))?;
    let headers = [
        ("content-type".to_owned(), header("content-type")?),
        ("host".to_owned(), header("host")?),
    ];
    let request = sign::Request {
        method: seen.method.as_str(),
        path: &seen.path,
        query: &[],
        headers: &headers,
        body: &seen.body,
    };
    let credentials = Credentials::new(
        access_key_id,
        SecretString::new(secret),
        token.map(SecretString::new),
        None,
    );
    let expected = sign::sign(
        &request,
        &credentials,
        Scope { region, service },
        Utc.from_utc_datetime(&time),
    );
    if expected.authorization() == authorization {
        Ok(())
    } else {
        Err("SignatureDoesNotMatch".into())
    }
}

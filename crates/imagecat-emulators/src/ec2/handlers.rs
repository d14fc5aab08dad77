//! The one route every service shares (`POST /` and `GET /`, as on AWS's
//! endpoints and moto's single port): SigV4 `Authorization` required and
//! read for the region and the service, the signature checked when the
//! emulator holds keys, throttling, the call log, then dispatch on
//! `Action` (EC2, Auto Scaling, STS) or on `X-Amz-Target` (SSM's JSON
//! protocol), each answer in its service's document shape.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::data::{RegionState, make_id};
use super::page::Tokens;
use super::query::{ApiError, ApiResult, Params};
use super::sigv4::{self, Received};
use super::wire::{self, ASG_NS, Protocol, STS_NS};
use super::{Ec2Call, Emu, autoscaling, images, register, ssm, usage};
use crate::faults::InstanceFaults;

/// What one request's handler knows besides its parameters.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// The caller's account.
    pub(crate) account: &'a str,
    /// The region of the credential scope.
    pub(crate) region: &'a str,
    /// Now (deprecation, new resources).
    pub(crate) now: DateTime<Utc>,
    /// The paging tokens.
    pub(crate) tokens: Tokens,
    /// `ImageId.N` with `MaxResults` is `InvalidParameterCombination`.
    pub(crate) strict_image_ids: bool,
    /// `DryRun=true`.
    pub(crate) dry_run: bool,
    /// A full last page carries a token ([`Ec2EmulatorConfig::token_at_end`](super::Ec2EmulatorConfig::token_at_end)).
    pub(crate) token_at_end: bool,
    pub(crate) seed: u64,
    pub(crate) counter: &'a std::sync::atomic::AtomicU64,
}

impl Ctx<'_> {
    /// A fresh id `prefix-…`.
    pub(crate) fn new_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        make_id(prefix, self.seed ^ 0xC0FF_EE00, 99, n)
    }

    /// `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub(crate) fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
}

/// The service a request is for, from its credential scope (or, without
/// one, from its `Version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Ec2,
    AutoScaling,
    Sts,
    Ssm,
}

impl Service {
    fn protocol(self) -> Protocol {
        match self {
            Service::Ec2 => Protocol::Ec2,
            Service::AutoScaling => Protocol::Query(ASG_NS),
            Service::Sts => Protocol::Query(STS_NS),
            Service::Ssm => Protocol::Json,
        }
    }

    fn guess(headers: &HeaderMap, params: &Params) -> Self {
        if headers.contains_key("x-amz-target") {
            return Service::Ssm;
        }
        match params.get("Version") {
            Some("2011-01-01") => Service::AutoScaling,
            Some("2011-06-15") => Service::Sts,
            _ => Service::Ec2,
        }
    }
}

/// Every request.
pub(crate) async fn dispatch(
    State(emu): State<Arc<Emu>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let json = headers.contains_key("x-amz-target");
    let params = if json {
        Params::parse(uri.query(), b"")
    } else {
        Params::parse(uri.query(), &body)
    };
    let guessed = Service::guess(&headers, &params);
    let header = headers
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let fail = |service: Service, e: ApiError| {
        wire::error(
            service.protocol(),
            e.status,
            &e.code,
            &e.message,
            &request_id,
        )
    };
    let Some(header) = header else {
        return fail(
            guessed,
            ApiError::new(
                401,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
        );
    };
    let Some(auth) = sigv4::parse_authorization(&header) else {
        return fail(
            guessed,
            ApiError::bad(
                "IncompleteSignature",
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters in the AWS4-HMAC-SHA256 form.",
            ),
        );
    };
    let service = match auth.service.as_str() {
        "autoscaling" => Service::AutoScaling,
        "sts" => Service::Sts,
        "ssm" => Service::Ssm,
        _ => guessed,
    };
    let account = match emu.authenticate(&auth, &method, &uri, &headers, &body) {
        Ok(account) => account,
        Err(e) => return fail(service, sign_error(service, e)),
    };
    let action = if service == Service::Ssm {
        headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned()
    } else {
        params.get("Action").unwrap_or("").to_owned()
    };
    emu.record(Ec2Call {
        region: auth.region.clone(),
        service: auth.service.clone(),
        action: action.clone(),
        params: if service == Service::Ssm {
            vec![(
                "Body".to_owned(),
                String::from_utf8_lossy(&body).into_owned(),
            )]
        } else {
            params.pairs().to_vec()
        },
    });
    if emu.throttled() {
        let e = match service {
            Service::Ec2 => ApiError::new(503, "RequestLimitExceeded", "Request limit exceeded."),
            Service::Ssm => ApiError::bad("ThrottlingException", "Rate exceeded"),
            _ => ApiError::bad("Throttling", "Rate exceeded"),
        };
        return fail(service, e);
    }
    let mut world = emu.lock();
    let now = Utc::now();
    let dry_run = params.flag("DryRun").unwrap_or(false);
    let cx = Ctx {
        account: &account,
        region: &auth.region,
        now,
        tokens: emu.tokens,
        strict_image_ids: emu.config.strict_image_ids,
        dry_run,
        token_at_end: emu.config.token_at_end,
        seed: emu.config.seed,
        counter: &emu.counter,
    };
    let regions = emu.config.regions_listed.clone();
    // CopyImage reads another region: the source, as it is now.
    let source = (service == Service::Ec2 && action == "CopyImage")
        .then(|| {
            let region = params.get("SourceRegion")?;
            let id = params.get("SourceImageId")?;
            world.regions.get(region)?.images.get(id).cloned()
        })
        .flatten();
    let (r, instance_faults) = world.region_and_faults(&auth.region);
    let result = match service {
        Service::Ec2 if action == "CopyImage" => register::copy_image(&cx, r, &params, source),
        Service::Ec2 if action == "DescribeInstances" && !dry_run => {
            usage::describe_instances(&cx, r, &params, instance_faults)
        }
        Service::Ec2 => ec2(&cx, r, &params, &action, &regions),
        Service::AutoScaling => autoscaling::dispatch(&cx, r, &params, &action),
        Service::Sts => match action.as_str() {
            "GetCallerIdentity" => Ok(ssm::caller_identity(&cx)),
            _ => Err(invalid_action(&action)),
        },
        Service::Ssm => ssm::dispatch(&cx, r, &action, &body),
    };
    drop(world);
    match result {
        Ok(inner) => wire::success(service.protocol(), &action, &inner, &request_id),
        Err(e) => fail(service, e),
    }
}

/// Why a signed request is refused, said as each service says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No such access key.
    UnknownKey,
    /// The key's session token is missing, wrong, or not signed.
    BadToken,
    /// The signature is not the key's.
    BadSignature,
}

fn sign_error(service: Service, refusal: Refusal) -> ApiError {
    const CREDENTIALS: &str = "AWS was not able to validate the provided access credentials";
    const TOKEN: &str = "The security token included in the request is invalid.";
    const SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.";
    match (service, refusal) {
        (Service::Ec2, _) => ApiError::new(401, "AuthFailure", CREDENTIALS),
        (Service::Ssm, Refusal::BadSignature) => {
            ApiError::bad("InvalidSignatureException", SIGNATURE)
        }
        (Service::Ssm, _) => ApiError::bad("UnrecognizedClientException", TOKEN),
        (_, Refusal::BadSignature) => ApiError::new(403, "SignatureDoesNotMatch", SIGNATURE),
        (_, _) => ApiError::new(403, "InvalidClientTokenId", TOKEN),
    }
}

fn invalid_action(action: &str) -> ApiError {
    ApiError::bad(
        "InvalidAction",
        format!("The action {action} is not valid for this web service."),
    )
}

/// The EC2 actions.
fn ec2(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    p: &Params,
    action: &str,
    regions: &[String],
) -> ApiResult<String> {
    if cx.dry_run && action.starts_with("Describe") {
        return Err(images::dry_run());
    }
    match action {
        "DescribeImages" => images::describe_images(cx, r, p),
        "DeregisterImage" => images::deregister_image(cx, r, p),
        "RegisterImage" => register::register_image(cx, r, p),
        "CreateImage" => register::create_image(cx, r, p),
        "EnableImage" => images::set_enabled(cx, r, p, true),
        "DisableImage" => images::set_enabled(cx, r, p, false),
        "EnableImageDeprecation" => images::set_deprecation(cx, r, p, true),
        "DisableImageDeprecation" => images::set_deprecation(cx, r, p, false),
        "EnableImageDeregistrationProtection" => images::set_protection(cx, r, p, true),
        "DisableImageDeregistrationProtection" => images::set_protection(cx, r, p, false),
        "DescribeImageAttribute" => images::describe_image_attribute(cx, r, p),
        "ModifyImageAttribute" => images::modify_image_attribute(cx, r, p),
        "CreateTags" => images::tags(cx, r, p, true),
        "DeleteTags" => images::tags(cx, r, p, false),
        "DescribeSnapshots" => images::describe_snapshots(cx, r, p),
        "DeleteSnapshot" => images::delete_snapshot(cx, r, p),
        "DescribeRegions" => describe_regions(p, regions),
        "DescribeInstances" => usage::describe_instances(cx, r, p, &mut InstanceFaults::default()),
        "RunInstances" => usage::run_instances(cx, r, p),
        "TerminateInstances" => usage::terminate_instances(cx, r, p),
        "CreateLaunchTemplate" => usage::create_launch_template(cx, r, p),
        "CreateLaunchTemplateVersion" => usage::create_launch_template_version(cx, r, p),
        "DescribeLaunchTemplates" => usage::describe_launch_templates(cx, r, p),
        "DescribeLaunchTemplateVersions" => usage::describe_launch_template_versions(cx, r, p),
        "DeleteLaunchTemplate" => usage::delete_launch_template(cx, r, p),
        "DescribeImageReferences" => usage::describe_image_references(cx, r, p),
        "" => Err(ApiError::bad(
            "MissingAction",
            "The request must contain the parameter Action",
        )),
        other => Err(invalid_action(other)),
    }
}

/// DescribeRegions: the regions the account has enabled (`RegionName.N`,
/// filter `region-name`; `AllRegions` changes nothing: all are enabled).
fn describe_regions(p: &Params, regions: &[String]) -> ApiResult<String> {
    let names = p.list("RegionName");
    let filters = p.filters()?;
    images::check_filters(&filters, &["region-name", "endpoint", "opt-in-status"])?;
    for n in &names {
        if !regions.contains(n) {
            return Err(ApiError::bad(
                "InvalidParameterValue",
                format!("Invalid region: {n}"),
            ));
        }
    }
    let mut x = wire::Xml::default();
    x.open("regionInfo");
    for region in regions {
        let endpoint = format!("ec2.{region}.amazonaws.com");
        let keep = (names.is_empty() || names.contains(region))
            && filters.iter().all(|f| match f.name.as_str() {
                "region-name" => f.matches(region),
                "endpoint" => f.matches(&endpoint),
                _ => f.matches("opt-in-not-required"),
            });
        if keep {
            x.open("item")
                .el("regionName", region)
                .el("regionEndpoint", &endpoint)
                .el("optInStatus", "opt-in-not-required")
                .close("item");
        }
    }
    x.close("regionInfo");
    Ok(x.0)
}

impl Emu {
    /// The caller's account, or why the request is refused.
    fn authenticate(
        &self,
        auth: &sigv4::Authorization,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, Refusal> {
        if self.config.keys.is_empty() {
            return Ok(self.config.account.clone());
        }
        let Some(key) = self
            .config
            .keys
            .iter()
            .find(|k| k.access_key_id == auth.access_key_id)
        else {
            return Err(Refusal::UnknownKey);
        };
        let received = Received {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            headers,
            body,
        };
        let token = headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok());
        let token_ok = key.session_token.as_deref() == token
            && (token.is_none()
                || auth
                    .signed_headers
                    .iter()
                    .any(|h| h == "x-amz-security-token"));
        if !token_ok {
            return Err(Refusal::BadToken);
        }
        if !sigv4::verify(auth, &key.secret_access_key, &received) {
            return Err(Refusal::BadSignature);
        }
        Ok(key.account.clone())
    }
}

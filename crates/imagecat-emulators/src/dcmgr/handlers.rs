//! The DCMGR emulator's HTTP side: errors as DCMGR writes them, query
//! parsing, routing and the index, show and destroy handlers.

use super::*;

pub(super) fn api_error(status: u16, class: &str, message: &str, code: &str) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        error: String,
        message: &'a str,
        code: &'a str,
    }
    let body = Body {
        error: format!("Dcmgr::Endpoints::Errors::{class}"),
        message,
        code,
    };
    json_bytes(status, serde_json::to_vec(&body).unwrap_or_default())
}

pub(super) fn invalid_parameter(message: &str) -> Response {
    api_error(400, "InvalidParameter", message, "143")
}

pub(super) fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// Sinatra's route miss: an HTML body under the JSON content type the
/// before filter already set.
pub(super) fn route_miss() -> Response {
    Response::builder()
        .status(404)
        .header("content-type", "application/json")
        .body(Body::from("<h1>Not Found</h1>"))
        .unwrap_or_default()
}

/// A raw path segment, percent-decoded (`+` stays `+`).
pub(super) fn decode_segment(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Every value of a repeatable array parameter (`name` and `name[]`).
pub(super) fn query_list(uri: &Uri, name: &str) -> Vec<String> {
    let array = format!("{name}[]");
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == name || *k == array)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// Rack's view of the query: the last value of each key wins.
pub(super) fn query_params(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The account the header names (`None` without the header), or the error answer.
pub(super) fn account_of(
    inner: &Inner,
    headers: &HeaderMap,
) -> Result<Option<String>, Box<Response>> {
    let value = headers
        .get("x-vdc-account-uuid")
        .or_else(|| headers.get("x_vdc_account_uuid"));
    let Some(value) = value else {
        if inner.config().require_account {
            return Err(Box::new(api_error(
                400,
                "InvalidRequestCredentials",
                "Dcmgr::Endpoints::Errors::InvalidRequestCredentials",
                "103",
            )));
        }
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let well_formed = text
        .strip_prefix("a-")
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(Box::new(api_error(
            400,
            "InvalidRequestCredentials",
            &format!("Invalid uuid or unsupported uuid: {text} in Dcmgr::Models::Account"),
            "103",
        )));
    }
    if inner.config().disabled_accounts.iter().any(|a| a == &text) {
        return Err(Box::new(api_error(403, "DisabledAccount", &text, "104")));
    }
    Ok(Some(text))
}

/// The routes: `{base}/images[.json|.yml]` (GET: index),
/// `{base}/images/{id}[.json|.yml]` (GET: show, DELETE: destroy, and on
/// 12.03 PUT: update) and on 12.03 the labels of an image; every other path
/// or method is Sinatra's route miss. The extension picks the format; every
/// answer carries a request id.
pub(super) fn routes(base: &str, inner: Arc<Inner>) -> Router {
    let index = get(index_route).head(wrong_method).fallback(wrong_method);
    let mut one = get(show).delete(destroy);
    if inner.config().layout == Layout::V1203 {
        one = one.put(update);
    }
    let one = one.head(wrong_method_on_one).fallback(wrong_method_on_one);
    let mut router = Router::new()
        .route(&format!("{base}/images"), index.clone())
        .route(&format!("{base}/images.json"), index.clone())
        .route(&format!("{base}/images.yml"), index)
        .route(&format!("{base}/images/{{id}}"), one);
    if inner.config().layout == Layout::V1203 {
        router = label_routes(router, base);
    }
    router
        .fallback(|| async { route_miss() })
        .layer(axum::middleware::from_fn(by_extension))
        .layer(map_response_with_state(Arc::clone(&inner), with_request_id))
        .with_state(inner)
}

/// Stamps the next request id on an answer.
pub(super) async fn with_request_id(
    State(inner): State<Arc<Inner>>,
    mut response: Response,
) -> Response {
    let id = inner.request_ids.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = format!("{id:016x}").parse() {
        response.headers_mut().insert("x-vdc-request-id", value);
    }
    response
}

/// The id a `{base}/images/{id}[.json|.yml]` path names, decoded, if any.
pub(super) fn target(params: &RawPathParams) -> Option<String> {
    let raw = params.iter().next().map(|(_, v)| v).unwrap_or("");
    let raw = strip_extension(raw).0;
    (!raw.is_empty()).then(|| decode_segment(raw))
}

async fn index_route(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap) -> Response {
    let account = match account_of(&inner, &headers) {
        Ok(account) => account,
        Err(response) => return *response,
    };
    let filters = query_list(&uri, "filter");
    let response = index(&inner, &account, &query_params(&uri), &filters);
    if let Some(churn) = inner.config().churn {
        inner.churn(&mut inner.lock(), churn);
    }
    response
}

async fn show(
    State(inner): State<Arc<Inner>>,
    params: RawPathParams,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    one(&inner, &params, &uri, &headers, false)
}

async fn destroy(
    State(inner): State<Arc<Inner>>,
    params: RawPathParams,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    one(&inner, &params, &uri, &headers, true)
}

fn one(
    inner: &Inner,
    params: &RawPathParams,
    uri: &Uri,
    headers: &HeaderMap,
    destroy: bool,
) -> Response {
    let Some(id) = target(params) else {
        return route_miss();
    };
    match account_of(inner, headers) {
        Ok(account) => show_or_destroy(inner, &account, &id, &query_params(uri), destroy),
        Err(response) => *response,
    }
}

/// A method no route has: the account is checked first, as DCMGR's before
/// filter does, then the route miss.
async fn wrong_method(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    match account_of(&inner, &headers) {
        Ok(_) => route_miss(),
        Err(response) => *response,
    }
}

/// [`wrong_method`] on `{base}/images/{id}`: an empty id is a route miss first.
async fn wrong_method_on_one(
    State(inner): State<Arc<Inner>>,
    params: RawPathParams,
    headers: HeaderMap,
) -> Response {
    if target(&params).is_none() {
        return route_miss();
    }
    wrong_method(State(inner), headers).await
}

/// `/^\d+$/`, read as a saturating u64.
pub(super) fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

/// Ruby's `String#to_i`: optional sign and leading digits, 0 otherwise.
pub(super) fn ruby_to_i(text: &str) -> i64 {
    let t = text.trim_start();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let end = body
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    body[..end]
        .parse::<i64>()
        .map(|v| sign * v)
        .unwrap_or(if end == 0 { 0 } else { sign * i64::MAX })
}

pub(super) fn index(
    inner: &Inner,
    account: &Option<String>,
    params: &HashMap<String, String>,
    filters: &[String],
) -> Response {
    let config = inner.config();
    let legacy = config.layout == Layout::Legacy;
    let me = account.clone();
    let (start, limit, key) = if legacy {
        let start = params
            .get("start")
            .map(|s| ruby_to_i(s).max(0) as u64)
            .unwrap_or(0);
        let limit = params
            .get("limit")
            .map(|s| ruby_to_i(s))
            .filter(|&l| l > 0)
            .map(|l| l as u64);
        let key = ScopeKey {
            account: me,
            public: None,
            state: StateFilter::Any,
        };
        (start, limit, key)
    } else {
        let start = match params.get("start") {
            None => 0,
            Some(s) => match digits(s) {
                Some(v) => v,
                None => return invalid_parameter("start"),
            },
        };
        let limit = match params.get("limit") {
            None => 250,
            Some(s) => match digits(s) {
                Some(0) => 250,
                Some(v) => v,
                None => return invalid_parameter("limit"),
            },
        };
        let public = match params.get("is_public").map(String::as_str) {
            None | Some("") => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(_) => return invalid_parameter("is_public"),
        };
        let state = match params.get("state").map(String::as_str) {
            None => StateFilter::Any,
            Some("alive") => StateFilter::Alive,
            Some("alive_with_deleted") => StateFilter::AliveWithDeleted,
            Some("available") => StateFilter::Available,
            Some("deleted") => StateFilter::Deleted,
            Some(_) => return invalid_parameter("state"),
        };
        // The header overwrites the `account_id` parameter.
        let account = me.or_else(|| params.get("account_id").cloned());
        let key = ScopeKey {
            account,
            public,
            state,
        };
        (start, Some(limit), key)
    };
    let limit = match (limit, config.max_limit) {
        (Some(l), Some(cap)) => Some(l.min(cap as u64)),
        (None, Some(cap)) => Some(cap as u64),
        (l, None) => l,
    };
    let (total, images) = {
        let mut data = inner.lock();
        let scope = inner.scope(&mut data, key);
        let from = if config.ignore_start { 0 } else { start };
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(scope.len());
        let to = match limit {
            Some(l) => from
                .saturating_add(usize::try_from(l).unwrap_or(usize::MAX))
                .min(scope.len()),
            None => scope.len(),
        };
        let golden = if legacy {
            None
        } else {
            match golden_select(
                params,
                filters,
                &config.service_types,
                scope.iter().map(|&i| inner.image_at(&data, i)),
            ) {
                Ok(selected) => selected,
                Err(refused) => return *refused,
            }
        };
        match golden {
            // Date bounds or a sort: the whole scope, filtered and sorted.
            Some(selected) => {
                let from = from.min(selected.len());
                let to = match limit {
                    Some(l) => from
                        .saturating_add(usize::try_from(l).unwrap_or(usize::MAX))
                        .min(selected.len()),
                    None => selected.len(),
                };
                let total = selected.len() as u64;
                (
                    config.wrong_total.unwrap_or(total),
                    selected[from..to].to_vec(),
                )
            }
            None => {
                let images: Vec<EmulatedImage> = scope[from..to]
                    .iter()
                    .map(|&i| inner.image_at(&data, i))
                    .collect();
                (config.wrong_total.unwrap_or(scope.len() as u64), images)
            }
        }
    };
    let total = match config.shrinking_total {
        Some(shrunk) if start > 0 => shrunk,
        _ => total,
    };
    let body = if legacy {
        let index = LegacyIndex {
            owner_total: total,
            start,
            limit,
            results: &images,
            wrapped: config.legacy_wrapped,
        };
        if config.legacy_wrapped {
            serde_json::to_vec(&[index])
        } else {
            serde_json::to_vec(&index)
        }
    } else {
        serde_json::to_vec(&[V1203Index {
            total,
            start,
            limit: limit.unwrap_or(250),
            results: &images,
        }])
    };
    json_bytes(200, body.unwrap_or_default())
}

/// `/^wmi-[\w]+/`: the prefix and one word character; no end anchor.
pub(super) fn valid_uuid_syntax(id: &str) -> bool {
    id.strip_prefix("wmi-")
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The image an id names as show, update and destroy find it: a bad id is
/// 400 `"143"`, an unknown one 404 `"100"`; with the account header another
/// account's image is 404 `"100"` on 12.03 (403 `"105"` on the legacy
/// layout, except showing a public one); on 12.03 a `service_type` the
/// image does not have is 404 `"100"`.
pub(super) fn find(
    inner: &Inner,
    data: &Data,
    account: &Option<String>,
    id: &str,
    params: &HashMap<String, String>,
    destroy: bool,
) -> Result<(u32, EmulatedImage), Box<Response>> {
    let legacy = inner.config().layout == Layout::Legacy;
    if !valid_uuid_syntax(id) {
        return Err(Box::new(invalid_parameter(&format!(
            "Invalid UUID Syntax: {id}"
        ))));
    }
    let unknown = || Box::new(api_error(404, "UnknownUUIDResource", id, "100"));
    let i = inner.lookup(data, id).ok_or_else(unknown)?;
    let image = inner.image_at(data, i);
    if let Some(me) = account {
        let owner = &image.account_id == me;
        if legacy {
            let admin = me == "a-00000000";
            let allowed = owner || admin || (!destroy && image.is_public);
            if !allowed {
                return Err(Box::new(api_error(403, "OperationNotPermitted", id, "105")));
            }
        } else if !owner {
            return Err(unknown());
        }
    }
    if !legacy
        && params
            .get("service_type")
            .is_some_and(|t| t != &image.service_type)
    {
        return Err(unknown());
    }
    Ok((i, image))
}

pub(super) fn show_or_destroy(
    inner: &Inner,
    account: &Option<String>,
    id: &str,
    params: &HashMap<String, String>,
    destroy: bool,
) -> Response {
    let legacy = inner.config().layout == Layout::Legacy;
    let mut data = inner.lock();
    let (i, mut image) = match find(inner, &data, account, id, params, destroy) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    if destroy {
        soft_delete(&mut image);
        let id = image.id.clone();
        data.overlay.insert(i, image);
        inner.changed(&mut data, i);
        drop(data);
        return json_bytes(200, serde_json::to_vec(&[id]).unwrap_or_default());
    }
    drop(data);
    let body = if legacy {
        serde_json::to_vec(&LegacyDoc(&image))
    } else {
        serde_json::to_vec(&V1203Doc(&image))
    };
    json_bytes(200, body.unwrap_or_default())
}

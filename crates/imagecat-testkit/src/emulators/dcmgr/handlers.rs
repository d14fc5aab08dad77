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

pub(super) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rack's view of the query: the last value of each key wins.
pub(super) fn query_params(uri: &Uri) -> HashMap<String, String> {
    let mut params = HashMap::new();
    if let Some(query) = uri.query() {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(percent_decode(k, true), percent_decode(v, true));
        }
    }
    params
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

pub(super) async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut response = route(&inner, &method, &uri, &headers);
    let id = inner.request_ids.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = format!("{id:016x}").parse() {
        response.headers_mut().insert("x-vdc-request-id", value);
    }
    response
}

pub(super) fn route(inner: &Inner, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let base = inner.config().layout.base();
    let Some(rest) = uri
        .path()
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return route_miss();
    };
    let rest = rest.strip_suffix(".json").unwrap_or(rest);
    let target = if rest == "images" {
        None
    } else if let Some(id) = rest
        .strip_prefix("images/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
    {
        Some(percent_decode(id, false))
    } else {
        return route_miss();
    };
    let account = match account_of(inner, headers) {
        Ok(account) => account,
        Err(response) => return *response,
    };
    let params = query_params(uri);
    match (method, target) {
        (&Method::GET, None) => {
            let response = index(inner, &account, &params);
            if let Some(churn) = inner.config().churn {
                inner.churn(&mut inner.lock(), churn);
            }
            response
        }
        (&Method::GET, Some(id)) => show_or_destroy(inner, &account, &id, false),
        (&Method::DELETE, Some(id)) => show_or_destroy(inner, &account, &id, true),
        _ => route_miss(),
    }
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
        let images: Vec<EmulatedImage> = scope[from..to]
            .iter()
            .map(|&i| inner.image_at(&data, i))
            .collect();
        (config.wrong_total.unwrap_or(scope.len() as u64), images)
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

pub(super) fn show_or_destroy(
    inner: &Inner,
    account: &Option<String>,
    id: &str,
    destroy: bool,
) -> Response {
    let legacy = inner.config().layout == Layout::Legacy;
    if !valid_uuid_syntax(id) {
        return invalid_parameter(&format!("Invalid UUID Syntax: {id}"));
    }
    let mut data = inner.lock();
    let Some(i) = inner.lookup(&data, id) else {
        return api_error(404, "UnknownUUIDResource", id, "100");
    };
    let mut image = inner.image_at(&data, i);
    if let Some(me) = account {
        let owner = &image.account_id == me;
        if legacy {
            let admin = me == "a-00000000";
            let allowed = owner || admin || (!destroy && image.is_public);
            if !allowed {
                return api_error(403, "OperationNotPermitted", id, "105");
            }
        } else if !owner {
            return api_error(404, "UnknownUUIDResource", id, "100");
        }
    }
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

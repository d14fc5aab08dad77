//! Where Google's clients get their tokens, served by the emulator so the
//! flows run on loopback (the adapter's key file `token_uri`, gcloud's
//! `auth/token_host`, `GCE_METADATA_HOST`):
//!
//! - `POST /token`: the JWT-bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
//!   `assertion` an RS256 JWT whose header and claims must be well formed:
//!   `alg` RS256, `iss`, `scope` or `target_audience`, `aud`, `iat`, `exp`
//!   after `iat`; the signature is **not** verified, the emulator holds no
//!   keys) and the refresh-token grant (`grant_type=refresh_token` with
//!   [`super::REFRESH_TOKEN`], as an authorized-user file has). Either
//!   answers `{"access_token","expires_in":3599,"token_type":"Bearer"}`
//!   with a new token the API then accepts; a refusal is OAuth2's
//!   `{"error":"invalid_grant","error_description":…}` with 400.
//! - a self-signed service-account JWT used directly as the bearer token
//!   (google-cloud-compute's default with a key file) is accepted when it
//!   is well formed and unexpired ([`super::GceEmulatorConfig::self_signed_jwt`]);
//!   its signature is not verified either;
//! - the metadata server: `GET /` and `GET /computeMetadata/v1/…` answer
//!   with `Metadata-Flavor: Google` and refuse (403) a request without
//!   that header; `…/instance/service-accounts/default/token` issues a
//!   token, `…/project/project-id` names the own project,
//!   `…/instance/service-accounts/default/email` the account.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::data::State;
use crate::server::json_response;

/// The JWT-bearer grant type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Decodes unpadded base64url.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Whether a bearer token is a self-signed service-account JWT as Google's
/// generated clients send one instead of an access token: RS256, `iss`,
/// and `aud` the Compute service (`https://compute.googleapis.com/`) or a
/// `scope`, unexpired (`exp` after `now`, at most an hour after `iat`).
/// The signature is not verified.
pub(crate) fn self_signed_ok(jwt: &str, now: i64) -> bool {
    if check_assertion(jwt).is_err() {
        return false;
    }
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or_default();
    let for_compute = claims["aud"]
        .as_str()
        .is_some_and(|a| a.starts_with("https://compute.googleapis.com"))
        || claims["scope"].is_string();
    for_compute && claims["exp"].as_i64().is_some_and(|exp| exp > now)
}

/// Why a JWT assertion is refused, if it is.
fn check_assertion(jwt: &str) -> Result<(), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("the assertion is not a JWT (three dot-separated parts)".into());
    };
    let decode = |part: &str, what: &str| -> Result<Value, String> {
        let bytes = base64url(part).ok_or_else(|| format!("the JWT {what} is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| format!("the JWT {what} is not JSON"))
    };
    let header = decode(header, "header")?;
    if header["alg"] != "RS256" {
        return Err("the JWT must be signed with RS256".into());
    }
    if signature.is_empty() || base64url(signature).is_none() {
        return Err("the JWT has no signature".into());
    }
    let claims = decode(claims, "claims")?;
    for claim in ["iss", "aud"] {
        if !claims[claim].is_string() {
            return Err(format!("the JWT claim {claim} is missing"));
        }
    }
    let audience_only = claims["aud"]
        .as_str()
        .is_some_and(|a| a.starts_with("https://compute.googleapis.com"));
    if !claims["scope"].is_string() && !claims["target_audience"].is_string() && !audience_only {
        return Err("the JWT has neither scope nor target_audience".into());
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err("the JWT claims iat and exp must be numbers".into());
    };
    if exp <= iat || exp - iat > 3600 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.".into());
    }
    Ok(())
}

fn oauth_refusal(error: &str, description: &str) -> Response {
    json_response(
        400,
        &json!({"error": error, "error_description": description}),
    )
}

/// A fresh token, now accepted by the API.
fn issue(state: &mut State) -> Value {
    let n = state.next_id();
    let token = format!("ya29.emulated-{n:x}");
    state.tokens.push(token.clone());
    json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
}

/// `POST /token`.
pub(crate) fn token(state: &mut State, body: &Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER) => {
            let Some(assertion) = form.get("assertion") else {
                return oauth_refusal("invalid_request", "Missing required parameter: assertion");
            };
            if let Err(why) = check_assertion(assertion) {
                return oauth_refusal("invalid_grant", &why);
            }
            json_response(200, &issue(state))
        }
        Some("refresh_token") => {
            let given = form.get("refresh_token").map(String::as_str);
            if given != Some(super::REFRESH_TOKEN) || !form.contains_key("client_id") {
                return oauth_refusal("invalid_grant", "Bad Request");
            }
            json_response(200, &issue(state))
        }
        Some(other) => oauth_refusal(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => oauth_refusal("unsupported_grant_type", "Invalid grant_type: "),
    }
}

fn metadata_answer(status: u16, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("metadata-flavor", "Google")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap_or_default()
}

/// `GET /` and `GET /computeMetadata/v1/…` of the metadata server.
pub(crate) fn metadata(state: &mut State, path: &str, headers: &HeaderMap) -> Response {
    let flavored = headers
        .get("metadata-flavor")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "Google");
    if path == "/" {
        return metadata_answer(200, "application/text", "computeMetadata/\n".into());
    }
    if !flavored {
        return metadata_answer(
            403,
            "text/html; charset=UTF-8",
            "Missing required header: Metadata-Flavor\n".into(),
        );
    }
    let rest = path.trim_start_matches("/computeMetadata/v1/");
    let account = format!("emulator@{}.iam.gserviceaccount.com", state.own_project);
    match rest.trim_end_matches('/') {
        "project/project-id" => metadata_answer(200, "application/text", state.own_project.clone()),
        "instance/service-accounts/default/email" => {
            metadata_answer(200, "application/text", account)
        }
        "instance/service-accounts/default" => {
            let doc = json!({"aliases": ["default"], "email": account, "scopes": [
                "https://www.googleapis.com/auth/cloud-platform"]});
            metadata_answer(200, "application/json", doc.to_string())
        }
        "instance/service-accounts/default/token" => {
            metadata_answer(200, "application/json", issue(state).to_string())
        }
        _ => metadata_answer(404, "text/html; charset=UTF-8", "Not Found\n".into()),
    }
}

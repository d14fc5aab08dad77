//! What the GCE emulator's HTTP tests share: requests with its token,
//! pages followed to the end, the emulator started.
#![cfg(feature = "gce")]

use imagecat_emulators::gce::{GceEmulator, GceEmulatorConfig, TOKEN};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest::{Client, Method};
use serde_json::Value;

/// Sends a request with the emulator's token; returns status and JSON body.
pub(crate) async fn call(
    emu: &GceEmulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(emu, Some(TOKEN), method, path, body).await
}

/// Sends a request with this token (or none); returns status and JSON body.
pub(crate) async fn call_as(
    emu: &GceEmulator,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", emu.endpoint());
    let mut request = Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the emulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) async fn get(emu: &GceEmulator, path: &str) -> (u16, Value) {
    call(emu, Method::GET, path, None).await
}

pub(crate) fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every page of a list, following `nextPageToken` with the same query.
pub(crate) async fn all_pages(emu: &GceEmulator, path_and_query: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let path = match &token {
            Some(t) => format!("{path_and_query}{sep}pageToken={t}"),
            None => path_and_query.to_owned(),
        };
        let (status, page) = get(emu, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        pages += 1;
        out.extend(names(&page));
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return (out, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) async fn start(config: GceEmulatorConfig) -> GceEmulator {
    GceEmulator::start(config, ServeOptions::default())
        .await
        .expect("starts")
}

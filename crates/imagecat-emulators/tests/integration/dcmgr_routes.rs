//! The DCMGR emulator's routing, as Sinatra's: which paths and methods are
//! routes, what is checked first (the path, then the account, then the
//! method), and a request id on every answer.

#![cfg(feature = "dcmgr")]

use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest::{Client, Method};

/// Status, body and request id of one request, with an optional account header.
async fn send(
    emu: &DcmgrEmulator,
    method: Method,
    path: &str,
    account: Option<&str>,
) -> (u16, String, Option<String>) {
    let url = format!("{}{path}", emu.endpoint());
    let mut request = Client::new().request(method, url);
    if let Some(account) = account {
        request = request.header("x-vdc-account-uuid", account);
    }
    let response = request.send().await.expect("the emulator answers");
    let id = response
        .headers()
        .get("x-vdc-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default(), id)
}

const MISS: &str = "<h1>Not Found</h1>";

#[tokio::test]
async fn paths_methods_and_accounts_are_checked_in_sinatras_order() {
    let config = DcmgrEmulatorConfig::v1203().images(5);
    let emu = DcmgrEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts");
    let id = emu.listing(None, true)[0].clone();

    let (status, body, _) = send(&emu, Method::GET, "/images.json?limit=1", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&id), "{body}");
    let (status, body, _) = send(&emu, Method::GET, &format!("/images/{id}.json"), None).await;
    assert_eq!((status, body.contains(&id)), (200, true), "{body}");
    // An id is decoded from its path segment ('+' stays '+').
    let (status, body, _) = send(&emu, Method::GET, "/images/wmi-a%2Bb", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("wmi-a+b") && body.contains("\"code\""),
        "{body}"
    );

    for (method, path) in [
        (Method::POST, format!("/images/{id}")),
        (Method::POST, "/images".to_owned()),
        (Method::HEAD, "/images".to_owned()),
        (Method::GET, "/images/".to_owned()),
        (Method::GET, "/images/.json".to_owned()),
        (Method::GET, "/imagez".to_owned()),
        (Method::DELETE, format!("/images/{id}/x")),
    ] {
        let (status, body, _) = send(&emu, method.clone(), &path, None).await;
        assert_eq!(status, 404, "{method} {path}");
        if method != Method::HEAD {
            assert_eq!(body, MISS, "{method} {path}");
        }
    }
    // The account is checked before the method, after the path.
    let (status, body, _) = send(&emu, Method::DELETE, "/images", Some("b-x")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"103\""), "{body}");
    let (status, body, _) = send(&emu, Method::GET, "/images/.json", Some("b-x")).await;
    assert_eq!((status, body.as_str()), (404, MISS));

    // Every answer, route miss or not, carries the next request id.
    let ids: Vec<Option<String>> = [
        send(&emu, Method::GET, "/images", None).await.2,
        send(&emu, Method::GET, "/nowhere", None).await.2,
        send(&emu, Method::PATCH, "/images", None).await.2,
    ]
    .into();
    let numbers: Vec<u64> = ids
        .iter()
        .map(|id| u64::from_str_radix(id.as_deref().expect("a request id"), 16).unwrap())
        .collect();
    assert_eq!(numbers[1], numbers[0] + 1, "{ids:?}");
    assert_eq!(numbers[2], numbers[1] + 1, "{ids:?}");
}

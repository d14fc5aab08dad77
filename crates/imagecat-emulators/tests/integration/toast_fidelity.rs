//! The TOAST emulator against what the v1.0 docs and Glance v1 say
//! (issue 16): the token look-up, queued images as Glance v1 serves them,
//! only documented statuses. See docs/fidelity/toast.md.

#![cfg(feature = "toast")]

use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};
use imagecat_http::reqwest::Client;
use serde_json::{Value, json};

async fn emulator(images: usize) -> ToastEmulator {
    let config = ToastEmulatorConfig {
        images,
        ..ToastEmulatorConfig::default()
    };
    ToastEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

fn tokens_url(emu: &ToastEmulator, appkey: &str) -> String {
    format!("{}/v1.0/appkeys/{appkey}/tokens", emu.endpoint())
}

async fn body(request: imagecat_http::reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("the emulator answers");
    assert_eq!(response.status().as_u16(), 200, "v1.0 always answers 200");
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).expect("JSON")
}

fn result_code(doc: &Value) -> i64 {
    doc["header"]["resultCode"].as_i64().expect("a resultCode")
}

#[tokio::test]
async fn a_token_is_looked_up_by_id_while_it_lives() {
    let emu = emulator(5).await;
    let config = emu.config().clone();
    let client = Client::new();
    let issued = body(
        client
            .post(tokens_url(&emu, &config.appkey))
            .header("content-type", "application/json;charset=UTF-8")
            .body(
                json!({"auth": {"username": config.username, "password": config.password}})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(issued["header"]["isSuccessful"], true, "{issued}");
    let id = issued["access"]["token"]["id"].as_str().unwrap().to_owned();

    let url = tokens_url(&emu, &config.appkey);
    let found = body(client.get(&url).query(&[("id", id.as_str())])).await;
    assert_eq!(found["header"], issued["header"]);
    assert_eq!(
        found["access"], issued["access"],
        "the same shape and values"
    );

    let unknown = body(client.get(&url).query(&[("id", "0".repeat(32))])).await;
    assert_eq!(result_code(&unknown), 50404, "{unknown}");
    assert!(
        !unknown.to_string().contains(&"0".repeat(32)),
        "no id echoed"
    );
    let missing = body(client.get(&url)).await;
    assert_eq!(result_code(&missing), -4, "{missing}");
    let wrong_key = body(
        client
            .get(tokens_url(&emu, "other"))
            .query(&[("id", id.as_str())]),
    )
    .await;
    assert_eq!(result_code(&wrong_key), -3, "{wrong_key}");

    emu.expire_tokens();
    let expired = body(client.get(&url).query(&[("id", id.as_str())])).await;
    assert_eq!(result_code(&expired), 50404, "{expired}");
    assert_eq!(expired["header"]["isSuccessful"], false);
}

#[tokio::test]
async fn queued_images_and_statuses_are_glance_v1s() {
    let emu = emulator(300).await;
    let config = emu.config().clone();
    let list = body(
        Client::new()
            .get(format!(
                "{}/v1.0/appkeys/{}/images",
                emu.endpoint(),
                config.appkey
            ))
            .header("x-auth-token", &config.token)
            .query(&[("limit", "300")]),
    )
    .await;
    let images = list["images"].as_array().expect("images");
    assert_eq!(images.len(), 300);
    let documented = [
        "queued",
        "saving",
        "active",
        "killed",
        "deleted",
        "pending_delete",
        "deactivated",
    ];
    let mut queued = 0;
    for image in images {
        let status = image["status"].as_str().unwrap();
        assert!(documented.contains(&status), "{status}: {image}");
        if status == "queued" {
            queued += 1;
            assert_eq!(image["size"], 0, "{image}");
            assert!(image["updatedAt"].is_string(), "{image}");
        }
    }
    assert!(queued >= 2, "{queued} queued images");
    let blank = images
        .iter()
        .find(|i| i["id"] == emu.seeded_id(3).as_str())
        .expect("the reserved image is listed");
    assert_eq!(blank["status"], "queued");
    assert_eq!(blank["updatedAt"], blank["createdAt"]);
    assert!(
        blank["name"].is_null() && blank["diskFormat"].is_null(),
        "{blank}"
    );
}

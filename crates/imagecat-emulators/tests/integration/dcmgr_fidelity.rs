//! The DCMGR emulator against what the real server does (issue 16):
//! YAML by extension as mussel asks for it, update, labels, the index
//! filters and their errors. See docs/fidelity/dcmgr.md.

#![cfg(feature = "dcmgr")]

use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use serde_norway::Value as Yaml;

const ME: &str = "a-shpoolxx";

async fn emulator(config: DcmgrEmulatorConfig) -> DcmgrEmulator {
    DcmgrEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

/// A request as mussel's `curl -fsSkL` sends it: curl's user agent and
/// accept header, and the account header spelt with underscores.
fn mussel(emu: &DcmgrEmulator, method: Method, path: &str) -> RequestBuilder {
    Client::new()
        .request(method, format!("{}{path}", emu.endpoint()))
        .header("user-agent", "curl/7.29.0")
        .header("accept", "*/*")
        .header("X_VDC_ACCOUNT_UUID", ME)
}

/// Status, content type and body.
async fn answer(request: RequestBuilder) -> (u16, String, String) {
    let response = request.send().await.expect("the emulator answers");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, response.text().await.unwrap_or_default())
}

async fn json(emu: &DcmgrEmulator, method: Method, path: &str) -> (u16, Value) {
    let (status, _, body) = answer(mussel(emu, method, path)).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn key<'a>(map: &'a Yaml, name: &str) -> &'a Yaml {
    &map[Yaml::String(format!(":{name}"))]
}

/// A Psych time (`2015-04-07 12:36:11.000000000 Z`) as JSON writes it.
fn json_time(psych: &str) -> String {
    let (date, rest) = psych.split_once(' ').expect("date and time");
    let time = rest.strip_suffix(".000000000 Z").expect("Psych's UTC form");
    format!("{date}T{time}Z")
}

#[tokio::test]
async fn mussel_reads_the_index_and_an_image_as_symbol_keyed_yaml() {
    let emu = emulator(DcmgrEmulatorConfig::v1203().images(30)).await;
    let query = "?is_public=true&service_type=std&state=alive_with_deleted&limit=5";
    let (status, kind, body) =
        answer(mussel(&emu, Method::GET, &format!("/images.yml{query}"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("text/yaml"), "{kind}");
    assert!(body.starts_with("---\n- :total: "), "{body}");
    let doc: Yaml = serde_norway::from_str(&body).expect("YAML");
    let (_, same) = json(&emu, Method::GET, &format!("/images.json{query}")).await;
    let page = &doc.as_sequence().expect("an array of one index")[0];
    let keys: Vec<&str> = page
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, [":total", ":start", ":limit", ":results"]);
    assert_eq!(key(page, "total").as_u64(), same[0]["total"].as_u64());
    assert_eq!(key(page, "limit").as_u64(), Some(5));
    let results = key(page, "results").as_sequence().unwrap();
    let want = same[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), want.len());
    assert!(!results.is_empty());
    for (yaml, json) in results.iter().zip(want) {
        assert_eq!(key(yaml, "id").as_str(), json["id"].as_str());
        assert_eq!(key(yaml, "service_type").as_str(), Some("std"));
        assert_eq!(
            key(yaml, "is_public").as_bool(),
            json["is_public"].as_bool()
        );
        assert_eq!(
            key(yaml, "boot_dev_type").as_u64(),
            json["boot_dev_type"].as_u64()
        );
        let created = key(yaml, "created_at").as_str().expect("a plain time");
        assert_eq!(
            Some(json_time(created).as_str()),
            json["created_at"].as_str()
        );
        // nil is an empty value, read back as null.
        assert_eq!(
            key(yaml, "parent_image_id").is_null(),
            json["parent_image_id"].is_null()
        );
        assert_eq!(
            key(yaml, "description").as_str(),
            json["description"].as_str()
        );
    }

    // `mussel image index` with no option: `…/images.yml?`, own images only.
    let (status, _, body) = answer(mussel(&emu, Method::GET, "/images.yml?")).await;
    assert_eq!(status, 200, "{body}");
    let plain: Yaml = serde_norway::from_str(&body).unwrap();
    let own = key(&plain[0], "results").as_sequence().unwrap();
    assert_eq!(
        own.len(),
        emu.listing(Some(ME), true)
            .iter()
            .filter(|id| emu.image(id).unwrap().account_id == ME)
            .count()
    );
    assert!(
        own.iter()
            .all(|i| key(i, "account_id").as_str() == Some(ME))
    );

    // Show: the 24 keys in the server's order, symbol-keyed.
    let id = want[0]["id"].as_str().unwrap();
    let (status, _, body) = answer(mussel(&emu, Method::GET, &format!("/images/{id}.yml"))).await;
    assert_eq!(status, 200, "{body}");
    let image: Yaml = serde_norway::from_str(&body).unwrap();
    let (_, shown) = json(&emu, Method::GET, &format!("/images/{id}")).await;
    let yaml_keys: Vec<String> = image
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let json_keys: Vec<String> = shown
        .as_object()
        .unwrap()
        .keys()
        .map(|k| format!(":{k}"))
        .collect();
    let mut sorted = yaml_keys.clone();
    sorted.sort();
    assert_eq!(sorted, json_keys, "the same keys");
    assert_eq!(yaml_keys.len(), 24);
    assert_eq!(&yaml_keys[..3], [":id", ":account_id", ":uuid"]);
    assert_eq!(yaml_keys[23], ":labels");

    // Errors come in the format the extension asks for; the code stays a string.
    let missing = emu.missing_id();
    let (status, _, body) =
        answer(mussel(&emu, Method::GET, &format!("/images/{missing}.yml"))).await;
    assert_eq!(status, 404, "{body}");
    let error: Yaml = serde_norway::from_str(&body).unwrap();
    assert_eq!(key(&error, "code").as_str(), Some("100"), "{body}");
    assert_eq!(key(&error, "message").as_str(), Some(missing.as_str()));

    // Destroy as mussel does: `DELETE …/images/ID.yml` answers `- wmi-…`.
    let victim = emu.deletable_ids(Some(ME), 1)[0].clone();
    let (status, _, body) = answer(mussel(
        &emu,
        Method::DELETE,
        &format!("/images/{victim}.yml"),
    ))
    .await;
    assert_eq!((status, body), (200, format!("---\n- {victim}\n")));
}

#[tokio::test]
async fn put_updates_the_name_and_description_of_own_images_only() {
    let emu = emulator(DcmgrEmulatorConfig::v1203().images(20)).await;
    let id = emu.deletable_ids(Some(ME), 1)[0].clone();
    let form = mussel(&emu, Method::PUT, &format!("/images/{id}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("display_name=renamed&description=new+text");
    let (status, _, body) = answer(form).await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["id"], id.as_str());
    assert_eq!(doc["display_name"], "renamed");
    assert_eq!(doc["description"], "new text");
    assert_eq!(doc.as_object().unwrap().len(), 24);
    let (_, shown) = json(&emu, Method::GET, &format!("/images/{id}")).await;
    assert_eq!(shown, doc);

    // A JSON body counts by the value of its first key only.
    let wrapped = mussel(&emu, Method::PUT, &format!("/images/{id}"))
        .header("content-type", "application/json")
        .body(r#"{"image":{"display_name":"wrapped"}}"#);
    let (status, _, body) = answer(wrapped).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emu.image(&id).unwrap().display_name, "wrapped");
    let flat = mussel(&emu, Method::PUT, &format!("/images/{id}"))
        .header("content-type", "application/json")
        .body(r#"{"display_name":"flat"}"#);
    assert_eq!(answer(flat).await.0, 500);
    assert_eq!(emu.image(&id).unwrap().display_name, "wrapped");

    // Another account's image is 404 "100", as show is.
    let theirs = emu
        .listing(None, true)
        .into_iter()
        .find(|i| emu.image(i).unwrap().account_id != ME)
        .unwrap();
    let (status, error) = json(
        &emu,
        Method::PUT,
        &format!("/images/{theirs}?display_name=x"),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("100")));
    assert_ne!(emu.image(&theirs).unwrap().display_name, "x");

    // The legacy layout has no update.
    let legacy = emulator(DcmgrEmulatorConfig::legacy().images(5)).await;
    let own = legacy.listing(Some(ME), true)[0].clone();
    let (status, _, body) = answer(mussel(&legacy, Method::PUT, &format!("/images/{own}"))).await;
    assert_eq!((status, body.as_str()), (404, "<h1>Not Found</h1>"));
}

#[tokio::test]
async fn labels_are_set_listed_shown_and_unset() {
    let emu = emulator(DcmgrEmulatorConfig::v1203().images(20)).await;
    let id = emu.deletable_ids(Some(ME), 1)[0].clone();
    let base = format!("/images/{id}/labels");
    let (status, set) = json(
        &emu,
        Method::PUT,
        &format!("{base}/owner.note?value=nightly"),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let keys: Vec<&str> = set
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6);
    assert_eq!(
        (set["name"].as_str(), set["value"].as_str()),
        (Some("owner.note"), Some("nightly"))
    );
    assert_eq!(
        (set["resource_uuid"].as_str(), set["value_type"].as_u64()),
        (Some(id.as_str()), Some(1))
    );
    let bulk = mussel(&emu, Method::POST, &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name[]=owner.team&value[]=infra&name[]=keep&value[]=yes");
    let (status, _, body) = answer(bulk).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let nested = mussel(&emu, Method::PUT, &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("label[][name]=owner.note&label[][value]=weekly&label[][name]=skipped");
    let (status, _, body) = answer(nested).await;
    assert_eq!(status, 200, "{body}");
    let nested: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        nested.as_array().unwrap().len(),
        1,
        "no value, no label: {nested}"
    );
    assert_eq!(nested[0]["value"], "weekly");

    let (_, all) = json(&emu, Method::GET, &base).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["owner.note", "owner.team", "keep"],
        "set again in place"
    );
    let (_, owners) = json(&emu, Method::GET, &format!("{base}?name=owner")).await;
    assert_eq!(owners.as_array().unwrap().len(), 2, "a name prefix");
    let (_, shown) = json(&emu, Method::GET, &format!("/images/{id}")).await;
    assert_eq!(shown["labels"].as_array().unwrap().len(), 3);

    let (status, _) = json(&emu, Method::DELETE, &format!("{base}/keep")).await;
    assert_eq!(status, 200);
    let (status, missing) = json(&emu, Method::GET, &format!("{base}/keep")).await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("187")));
    assert_eq!(missing["message"].as_str(), Some(id.as_str()));
    let (status, bad) = json(&emu, Method::POST, &base).await;
    assert_eq!(
        (status, bad["message"].as_str()),
        (400, Some("Unknown input parameter"))
    );

    // The label routes find the image without the prefix check show makes.
    let (status, wrong) = json(&emu, Method::GET, "/images/i-12345678/labels").await;
    assert_eq!((status, wrong["code"].as_str()), (400, Some("110")));
    let (status, _, body) = answer(mussel(
        &emu,
        Method::GET,
        &format!("/images/{}/labels", emu.missing_id()),
    ))
    .await;
    assert_eq!((status, body.as_str()), (500, ""));
}

#[tokio::test]
async fn index_filters_narrow_and_refuse_as_the_server_does() {
    let emu = emulator(DcmgrEmulatorConfig::v1203().images(120)).await;
    let all = |path: String| {
        let emu = &emu;
        async move {
            let (status, doc) = json(emu, Method::GET, &path).await;
            assert_eq!(status, 200, "{path}: {doc}");
            let total = doc[0]["total"].as_u64().unwrap();
            let results = doc[0]["results"].as_array().unwrap().clone();
            assert_eq!(total as usize, results.len(), "{path}");
            results
        }
    };
    let everything = all("/images?is_public=true".into()).await;
    let count = |pred: &dyn Fn(&Value) -> bool| everything.iter().filter(|i| pred(i)).count();

    let lb = all("/images?is_public=true&service_type=lb".into()).await;
    assert_eq!(lb.len(), count(&|i| i["service_type"] == "lb"));
    assert!(!lb.is_empty() && lb.len() < everything.len());
    let (status, error) = json(&emu, Method::GET, "/images?service_type=gpu").await;
    assert_eq!(
        (status, error["message"].as_str()),
        (400, Some("service_type"))
    );

    let orphans = all("/images?is_public=true&filter=parent_image_id.nil".into()).await;
    assert_eq!(orphans.len(), count(&|i| i["parent_image_id"].is_null()));
    let both = all(
        "/images?is_public=true&filter[]=parent_image_id.not_nil&filter[]=deleted_at.nil".into(),
    )
    .await;
    assert_eq!(
        both.len(),
        count(&|i| !i["parent_image_id"].is_null() && i["deleted_at"].is_null())
    );
    assert!(!both.is_empty() && !orphans.is_empty());
    let (status, error) = json(&emu, Method::GET, "/images?filter=parent_image_id").await;
    assert_eq!((status, error["message"].as_str()), (400, Some("filter")));
    let (status, error) = json(&emu, Method::GET, "/images?filter=colour.nil").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("110")));

    let deleted: Vec<&str> = everything
        .iter()
        .filter_map(|i| i["deleted_at"].as_str())
        .collect();
    assert!(deleted.len() >= 2);
    let mut times = deleted.clone();
    times.sort();
    let (from, to) = (times[0], times[times.len() - 1]);
    let window = all(format!(
        "/images?is_public=true&deleted_since={from}&deleted_until={to}"
    ))
    .await;
    assert_eq!(
        window.len(),
        deleted.len(),
        "inclusive bounds; alive images have none"
    );
    let later = all(format!("/images?is_public=true&deleted_since={to}")).await;
    assert_eq!(later.len(), times.iter().filter(|t| **t == to).count());
    for (query, word) in [
        ("deleted_since=yesterday", "deleted_since"),
        ("deleted_until=2015-13-01T00:00:00Z", "deleted_until"),
    ] {
        let (status, error) = json(&emu, Method::GET, &format!("/images?{query}")).await;
        assert_eq!(
            (status, error["message"].as_str()),
            (400, Some(word)),
            "{query}"
        );
    }
    let (status, error) = json(
        &emu,
        Method::GET,
        &format!("/images?deleted_since={to}&deleted_until={from}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error["message"],
        "deleted_since is larger than deleted_until"
    );

    // sort_by on any column; `id` is the primary key (the default order is id DESC).
    let by_id = all("/images?is_public=true&sort_by=id.asc".into()).await;
    let mut reversed = everything.clone();
    reversed.reverse();
    assert_eq!(by_id, reversed);
    let by_boot = all("/images?is_public=true&sort_by=boot_dev_type.desc".into()).await;
    let boots: Vec<u64> = by_boot
        .iter()
        .map(|i| i["boot_dev_type"].as_u64().unwrap())
        .collect();
    assert!(boots.windows(2).all(|w| w[0] >= w[1]), "{boots:?}");
    assert!(boots.first() > boots.last(), "both kinds seeded: {boots:?}");
    let by_parent = all("/images?is_public=true&sort_by=parent_image_id.asc".into()).await;
    let nulls = by_parent
        .iter()
        .take_while(|i| i["parent_image_id"].is_null())
        .count();
    assert_eq!(nulls, orphans.len(), "NULL first, as MySQL sorts");

    // sort_by without a direction is Ruby failing on nil: 500, no body.
    let (status, _, body) = answer(mussel(&emu, Method::GET, "/images?sort_by=created_at")).await;
    assert_eq!((status, body.as_str()), (500, ""));

    // Show scoped by service_type.
    let (status, _) = json(&emu, Method::GET, "/images/wmi-centos1d64?service_type=std").await;
    assert_eq!(status, 200);
    let (status, error) = json(&emu, Method::GET, "/images/wmi-centos1d64?service_type=lb").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("100")));

    // Only the server's states (and the column default `init`).
    for image in &everything {
        let state = image["state"].as_str().unwrap();
        assert!(
            ["init", "creating", "pending", "available", "deleted"].contains(&state),
            "{state}"
        );
    }
}

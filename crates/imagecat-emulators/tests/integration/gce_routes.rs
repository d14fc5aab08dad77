//! The GCE emulator over HTTP: what the Compute v1 API answers for the
//! calls emulated (`docs/fidelity/gce.md`), through a plain HTTP client.
#![cfg(feature = "gce")]

use std::collections::BTreeSet;

use imagecat_emulators::gce::{
    GceDisk, GceEmulator, GceEmulatorConfig, GceGroupManager, GceImage, GceInstance, GceScope,
    GceTemplate, TOKEN,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest::{Client, Method};
use serde_json::{Value, json};

/// Sends a request with the emulator's token; returns status and JSON body.
async fn call(emu: &GceEmulator, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call_as(emu, Some(TOKEN), method, path, body).await
}

async fn call_as(
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

async fn get(emu: &GceEmulator, path: &str) -> (u16, Value) {
    call(emu, Method::GET, path, None).await
}

fn names(page: &Value) -> Vec<String> {
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
async fn all_pages(emu: &GceEmulator, path_and_query: &str) -> (Vec<String>, usize) {
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

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn start(config: GceEmulatorConfig) -> GceEmulator {
    GceEmulator::start(config, ServeOptions::default())
        .await
        .expect("starts")
}

#[tokio::test]
async fn list_pages_by_token_in_name_order_and_binds_the_token_to_its_query() {
    let emu = start(GceEmulatorConfig::default().images(23)).await;
    let (all, pages) = all_pages(&emu, "projects/emu-project/global/images?maxResults=5").await;
    assert_eq!(pages, 5);
    assert_eq!(all.len(), 23);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "name order");
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 23, "no repeats");

    // maxResults 0 is the default 500; 501 and words are 400 invalid.
    let (_, page) = get(&emu, "projects/emu-project/global/images?maxResults=0").await;
    assert_eq!(names(&page).len(), 23);
    assert!(page.get("nextPageToken").is_none());
    for bad in ["501", "-1", "x"] {
        let (status, doc) = get(
            &emu,
            &format!("projects/emu-project/global/images?maxResults={bad}"),
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(doc["error"]["errors"][0]["reason"], "invalid");
    }
    // A token made for one filter is refused with another, and garbage too.
    let (_, first) = get(&emu, "projects/emu-project/global/images?maxResults=2").await;
    let token = first["nextPageToken"].as_str().expect("a token");
    let (status, _) = get(
        &emu,
        &format!(
            "projects/emu-project/global/images?maxResults=2&pageToken={token}&filter={}",
            enc("status = READY")
        ),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = get(&emu, "projects/emu-project/global/images?pageToken=zz").await;
    assert_eq!(status, 400);

    // creationTimestamp desc: newest first, paged the same way.
    let (newest, _) = all_pages(
        &emu,
        &format!(
            "projects/emu-project/global/images?maxResults=4&orderBy={}",
            enc("creationTimestamp desc")
        ),
    )
    .await;
    let mut expect = sorted.clone();
    expect.reverse(); // seeded names grow with their creation time
    assert_eq!(newest, expect);
    // Any other order is 400, and so is a filter with an order.
    let (status, _) = get(
        &emu,
        "projects/emu-project/global/images?orderBy=creationTimestamp",
    )
    .await;
    assert_eq!(status, 400);
    let (status, doc) = get(
        &emu,
        &format!(
            "projects/emu-project/global/images?orderBy=name&filter={}",
            enc("status = READY")
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Specifying both a list filter and sort order")
    );
    // returnPartialSuccess and the global parameters are accepted.
    let (status, _) = get(
        &emu,
        "projects/emu-project/global/images?returnPartialSuccess=true&alt=json&prettyPrint=false",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn filters_in_both_dialects_select_what_gce_would() {
    let emu = start(GceEmulatorConfig::default().images(0)).await;
    let p = "emu-project";
    emu.add_image(
        p,
        GceImage::at_hour("golden-v1", 1)
            .family("golden")
            .label("team", "infra"),
    );
    emu.add_image(
        p,
        GceImage::at_hour("golden-v2", 2)
            .family("golden")
            .label("team", "web"),
    );
    emu.add_image(
        p,
        GceImage::at_hour("golden-v10", 3)
            .family("golden")
            .status("FAILED"),
    );
    emu.add_image(p, GceImage::at_hour("base-1", 4).family("base"));
    let q = |f: &str| format!("projects/{p}/global/images?filter={}", enc(f));
    let cases: &[(&str, &[&str])] = &[
        (r#"name eq ".*\bgolden\-v1\b.*""#, &["golden-v1"]),
        (
            r#"name eq ".*(^golden-v[0-9]+$).*""#,
            &["golden-v1", "golden-v10", "golden-v2"],
        ),
        (r#"family ne ".*\bgolden\b.*""#, &["base-1"]),
        ("status eq READY", &["base-1", "golden-v1", "golden-v2"]),
        ("(family eq golden) (status ne READY)", &["golden-v10"]),
        ("labels.team = infra", &["golden-v1"]),
        ("labels.team:*", &["golden-v1", "golden-v2"]),
        (
            "family = golden AND NOT status = FAILED",
            &["golden-v1", "golden-v2"],
        ),
        (
            "(family = base) OR (labels.team = web)",
            &["base-1", "golden-v2"],
        ),
        ("name = \"golden-v1*\"", &["golden-v1", "golden-v10"]),
    ];
    for (filter, expect) in cases {
        let (status, page) = get(&emu, &q(filter)).await;
        assert_eq!(status, 200, "{filter}: {page}");
        assert_eq!(names(&page), *expect, "{filter}");
    }
    let (status, page) = get(&emu, &q("name = nothing")).await;
    assert_eq!(status, 200);
    assert!(
        page.get("items").is_none(),
        "an empty page has no items: {page}"
    );
    assert_eq!(page["warning"]["code"], "NO_RESULTS_ON_PAGE");
    for bad in [
        "name eq a AND status = READY",
        "creationTimestamp > 2026",
        "name =",
    ] {
        let (status, doc) = get(&emu, &q(bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(doc["error"]["errors"][0]["reason"], "invalid", "{bad}");
    }
}

#[tokio::test]
async fn images_are_gce_documents_got_by_name_or_id_and_family_heads_skip_deprecated() {
    let emu = start(GceEmulatorConfig::default().images(0)).await;
    let p = "emu-project";
    emu.add_image(
        p,
        GceImage::at_hour("golden-v1", 1)
            .family("golden")
            .id(1_403_374_394_217_470_035),
    );
    emu.add_image(p, GceImage::at_hour("golden-v2", 2).family("golden"));
    emu.add_image(
        p,
        GceImage::at_hour("golden-v3", 3)
            .family("golden")
            .deprecated("DEPRECATED", None),
    );
    emu.add_image(
        p,
        GceImage::at_hour("golden-v4", 4)
            .family("golden")
            .status("PENDING"),
    );
    let (status, image) = get(&emu, "projects/emu-project/global/images/golden-v1").await;
    assert_eq!(status, 200);
    assert_eq!(image["kind"], "compute#image");
    assert_eq!(image["id"], "1403374394217470035", "uint64 as a string");
    assert_eq!(image["diskSizeGb"], "10", "int64 as a string");
    assert_eq!(image["labelFingerprint"], "42WmSpB8rSM=");
    assert_eq!(
        image["selfLink"],
        "https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v1"
    );
    let created = image["creationTimestamp"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.contains('.'),
        "{created}"
    );
    let (status, by_id) = get(
        &emu,
        "projects/emu-project/global/images/1403374394217470035",
    )
    .await;
    assert_eq!((status, by_id["name"].clone()), (200, json!("golden-v1")));

    let (status, head) = get(&emu, "projects/emu-project/global/images/family/golden").await;
    assert_eq!(status, 200);
    assert_eq!(head["name"], "golden-v2", "v3 is deprecated, v4 not READY");
    let (status, doc) = get(&emu, "projects/emu-project/global/images/family/nope").await;
    assert_eq!(status, 404);
    assert_eq!(
        doc,
        json!({"error": {"code": 404,
            "message": "The resource 'projects/emu-project/global/images/family/nope' was not found",
            "errors": [{"message": "The resource 'projects/emu-project/global/images/family/nope' was not found",
                        "domain": "global", "reason": "notFound"}]}})
    );
    let (status, _) = get(&emu, "projects/no-such-project/global/images").await;
    assert_eq!(status, 404);
    // A public image project: readable, its writes forbidden.
    let (status, page) = get(&emu, "projects/debian-cloud/global/images").await;
    assert_eq!((status, names(&page).len()), (200, 3));
    let (status, head) = get(&emu, "projects/debian-cloud/global/images/family/debian").await;
    assert_eq!(
        (status, head["name"].clone()),
        (200, json!("debian-v20260301"))
    );
    let (status, doc) = call(
        &emu,
        Method::DELETE,
        "projects/debian-cloud/global/images/debian-v20260101",
        None,
    )
    .await;
    assert_eq!(
        (status, doc["error"]["errors"][0]["reason"].clone()),
        (403, json!("forbidden"))
    );
}

#[tokio::test]
async fn the_bearer_token_is_checked_in_google_s_error_document() {
    let emu = start(GceEmulatorConfig::default()).await;
    let (status, doc) = call_as(
        &emu,
        None,
        Method::GET,
        "projects/emu-project/global/images",
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(doc["error"]["code"], 401);
    assert_eq!(doc["error"]["errors"][0]["reason"], "required");
    let (status, doc) = call_as(
        &emu,
        Some("ya29.wrong"),
        Method::GET,
        "projects/emu-project/global/images",
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(doc["error"]["errors"][0]["reason"], "authError");
    assert!(
        !doc.to_string().contains("ya29.wrong"),
        "the token is not echoed"
    );
    // A path no API serves is Google front end's HTML 404, even without a token.
    let (status, body) = call_as(&emu, None, Method::GET, "nothing/here", None).await;
    assert_eq!(status, 404);
    assert!(
        body.as_str()
            .unwrap_or_default()
            .contains("That’s an error")
    );
    // The anonymous mode accepts no token.
    let anon = start(GceEmulatorConfig::default().anonymous()).await;
    let (status, _) = call_as(
        &anon,
        None,
        Method::GET,
        "projects/emu-project/global/images",
        None,
    )
    .await;
    assert_eq!(status, 200);
    // A scripted error answers the next request, then the API answers again.
    emu.push_error(
        403,
        "rateLimitExceeded",
        "Quota exceeded for quota group 'ReadGroup'",
    );
    let (status, doc) = get(&emu, "projects/emu-project/global/images").await;
    assert_eq!(
        (status, doc["error"]["errors"][0]["reason"].clone()),
        (403, json!("rateLimitExceeded"))
    );
    let (status, _) = get(&emu, "projects/emu-project/global/images").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delete_answers_an_operation_that_removes_the_image_when_done() {
    let emu = start(GceEmulatorConfig::default().images(3)).await;
    let (status, op) = call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/image-000000",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(op["kind"], "compute#operation");
    assert_eq!(
        (op["operationType"].clone(), op["status"].clone()),
        (json!("delete"), json!("DONE"))
    );
    assert!(op.get("error").is_none());
    assert_eq!(
        get(&emu, "projects/emu-project/global/images/image-000000")
            .await
            .0,
        404
    );
    let name = op["name"].as_str().expect("a name");
    let (status, again) = get(
        &emu,
        &format!("projects/emu-project/global/operations/{name}"),
    )
    .await;
    assert_eq!((status, again["status"].clone()), (200, json!("DONE")));

    // RUNNING for two reads: the image is DELETING until the op is DONE.
    emu.set_operation_polls(2);
    let (_, op) = call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/image-000001",
        None,
    )
    .await;
    assert_eq!(op["status"], "RUNNING");
    let (_, image) = get(&emu, "projects/emu-project/global/images/image-000001").await;
    assert_eq!(image["status"], "DELETING");
    let path = format!(
        "projects/emu-project/global/operations/{}",
        op["name"].as_str().unwrap_or_default()
    );
    assert_eq!(get(&emu, &path).await.1["status"], "RUNNING");
    let (_, done) = call(&emu, Method::POST, &format!("{path}/wait"), None).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(
        get(&emu, "projects/emu-project/global/images/image-000001")
            .await
            .0,
        404
    );

    // A scripted failure: DONE with error, the image kept.
    emu.set_operation_polls(0);
    emu.fail_next_delete(400, "resourceInUseByAnotherResource", "in use by 'x'");
    let (_, op) = call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/image-000002",
        None,
    )
    .await;
    assert_eq!(op["status"], "DONE");
    assert_eq!(op["httpErrorStatusCode"], 400);
    assert_eq!(op["error"]["errors"][0]["message"], "in use by 'x'");
    assert_eq!(
        op["error"]["errors"][0]["code"],
        "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"
    );
    assert_eq!(
        get(&emu, "projects/emu-project/global/images/image-000002")
            .await
            .0,
        200
    );

    // requestId: a retried delete answers its first operation.
    let (_, first) = call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/image-000002?requestId=r-1",
        None,
    )
    .await;
    let (status, retry) = call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/image-000002?requestId=r-1",
        None,
    )
    .await;
    assert_eq!(
        (status, retry["name"].clone()),
        (200, first["name"].clone())
    );
    assert_eq!(
        get(
            &emu,
            "projects/emu-project/global/operations/operation-nope"
        )
        .await
        .0,
        404
    );
    assert!(emu.server().deleted_image_ids().contains("image-000000"));
}

#[tokio::test]
async fn deprecate_set_labels_and_insert_change_the_image_as_gce_does() {
    let emu = start(GceEmulatorConfig::default().images(0)).await;
    let p = "emu-project";
    emu.add_image(p, GceImage::at_hour("golden-v1", 1).family("golden"));
    emu.add_image(p, GceImage::at_hour("golden-v2", 2).family("golden"));
    let base = "projects/emu-project/global/images";
    let body = json!({"state": "DEPRECATED", "replacement": format!("{}{base}/golden-v1", emu.endpoint()), "obsolete": "2027-01-01T00:00:00Z"});
    let (status, op) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/deprecate"),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, op["operationType"].clone()),
        (200, json!("deprecate"))
    );
    let (_, image) = get(&emu, &format!("{base}/golden-v2")).await;
    assert_eq!(image["deprecated"]["state"], "DEPRECATED");
    assert_eq!(image["deprecated"]["obsolete"], "2027-01-01T00:00:00Z");
    assert_eq!(
        image["deprecated"]["replacement"],
        "https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v1",
        "the replacement is normalised to a selfLink"
    );
    assert_eq!(
        get(&emu, &format!("{base}/family/golden")).await.1["name"],
        "golden-v1"
    );
    // An empty body (or ACTIVE) clears.
    call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/deprecate"),
        None,
    )
    .await;
    let (_, image) = get(&emu, &format!("{base}/golden-v2")).await;
    assert!(image.get("deprecated").is_none(), "{image}");
    assert_eq!(
        get(&emu, &format!("{base}/family/golden")).await.1["name"],
        "golden-v2"
    );
    let (status, _) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/deprecate"),
        Some(json!({"state": "GONE"})),
    )
    .await;
    assert_eq!(status, 400);

    // setLabels: the fingerprint must be current; 412 otherwise.
    let fp = image["labelFingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/setLabels"),
        Some(json!({"labels": {"team": "infra"}, "labelFingerprint": fp})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, image) = get(&emu, &format!("{base}/golden-v2")).await;
    assert_eq!(image["labels"], json!({"team": "infra"}));
    assert_ne!(image["labelFingerprint"], json!(fp));
    let (status, doc) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/setLabels"),
        Some(json!({"labels": {}, "labelFingerprint": fp})),
    )
    .await;
    assert_eq!(status, 412);
    assert_eq!(
        doc["error"]["errors"][0],
        json!({
        "message": "Labels fingerprint either invalid or resource labels have changed",
        "domain": "global", "reason": "conditionNotMet", "location": "If-Match", "locationType": "header"})
    );

    // insert, then a conflict.
    let (status, op) = call(
        &emu,
        Method::POST,
        base,
        Some(json!({"name": "fresh", "family": "golden"})),
    )
    .await;
    assert_eq!(
        (status, op["operationType"].clone()),
        (200, json!("insert"))
    );
    assert_eq!(
        get(&emu, &format!("{base}/family/golden")).await.1["name"],
        "fresh"
    );
    let (status, doc) = call(&emu, Method::POST, base, Some(json!({"name": "fresh"}))).await;
    assert_eq!(
        (status, doc["error"]["errors"][0]["reason"].clone()),
        (409, json!("alreadyExists"))
    );
    let (status, _) = call(&emu, Method::POST, base, Some(json!({"name": "Bad_Name"}))).await;
    assert_eq!(status, 400);

    // getIamPolicy: bindings only when shared.
    emu.add_image(
        p,
        GceImage::at_hour("shared", 5).shared("roles/compute.imageUser", "user:a@example.com"),
    );
    let (_, policy) = get(&emu, &format!("{base}/shared/getIamPolicy")).await;
    assert_eq!(policy["bindings"][0]["members"][0], "user:a@example.com");
    let (_, policy) = get(&emu, &format!("{base}/fresh/getIamPolicy")).await;
    assert!(policy.get("bindings").is_none());
}

#[tokio::test]
async fn usage_resources_list_aggregated_over_scopes_with_gce_s_warnings() {
    let emu = start(GceEmulatorConfig::default().images(0)).await;
    let p = "emu-project";
    emu.add_image(p, GceImage::at_hour("golden-v1", 1).family("golden"));
    emu.add_image(p, GceImage::at_hour("golden-v2", 2).family("golden"));
    emu.add_disk(
        p,
        GceDisk::from_image("d-a", "us-central1-a", p, "golden-v1"),
    );
    emu.add_disk(
        p,
        GceDisk::from_image("d-b", "us-central1-b", p, "golden-v1"),
    );
    let mut regional = GceDisk::from_image("d-r", "unused", p, "golden-v2");
    regional.scope = GceScope::Region("us-central1".into());
    emu.add_disk(p, regional);
    emu.add_instance(
        p,
        GceInstance {
            name: "vm-1".into(),
            zone: "us-central1-a".into(),
            boot_disk: "d-a".into(),
            status: "RUNNING".into(),
        },
    );
    emu.add_template(
        p,
        GceTemplate {
            name: "t-fam".into(),
            region: None,
            source_image: "projects/emu-project/global/images/family/golden".into(),
        },
    );
    emu.add_template(
        p,
        GceTemplate {
            name: "t-reg".into(),
            region: Some("europe-west1".into()),
            source_image: "global/images/golden-v1".into(),
        },
    );
    emu.add_group_manager(p, GceGroupManager { name: "mig".into(), scope: GceScope::Zone("us-central1-a".into()), template: "https://www.googleapis.com/compute/v1/projects/emu-project/global/instanceTemplates/t-fam".into(), target_size: 2 });

    let (status, disks) = get(
        &emu,
        "projects/emu-project/aggregated/disks?returnPartialSuccess=true",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(disks["kind"], "compute#diskAggregatedList");
    let d = &disks["items"]["zones/us-central1-a"]["disks"][0];
    assert_eq!(
        d["sourceImage"],
        "https://www.googleapis.com/compute/v1/projects/emu-project/global/images/golden-v1"
    );
    let v1_id = get(&emu, "projects/emu-project/global/images/golden-v1")
        .await
        .1["id"]
        .clone();
    assert_eq!(d["sourceImageId"], v1_id);
    assert_eq!(
        d["users"][0],
        "https://www.googleapis.com/compute/v1/projects/emu-project/zones/us-central1-a/instances/vm-1"
    );
    assert_eq!(
        disks["items"]["regions/us-central1"]["disks"][0]["name"],
        "d-r"
    );
    assert_eq!(
        disks["items"]["zones/europe-west1-b"]["warning"]["code"],
        "NO_RESULTS_ON_PAGE"
    );

    // Paged across scopes: one disk a page, three pages.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (_, page) = get(
            &emu,
            &format!("projects/emu-project/aggregated/disks?maxResults=1&pageToken={token}"),
        )
        .await;
        for scope in page["items"].as_object().expect("a scope map").values() {
            for disk in scope["disks"].as_array().into_iter().flatten() {
                seen.push(disk["name"].as_str().unwrap_or_default().to_owned());
            }
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["d-a", "d-b", "d-r"]);

    // Deleting the image: the disk keeps sourceImageId only.
    call(
        &emu,
        Method::DELETE,
        "projects/emu-project/global/images/golden-v1",
        None,
    )
    .await;
    let (_, disk) = get(&emu, "projects/emu-project/zones/us-central1-a/disks/d-a").await;
    assert!(disk.get("sourceImage").is_none(), "{disk}");
    assert_eq!(disk["sourceImageId"], v1_id);

    let (_, instances) = get(&emu, "projects/emu-project/aggregated/instances").await;
    let vm = &instances["items"]["zones/us-central1-a"]["instances"][0];
    assert_eq!(vm["disks"][0]["boot"], true);
    assert!(
        vm["disks"][0]["source"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/zones/us-central1-a/disks/d-a")
    );
    let (_, templates) = get(&emu, "projects/emu-project/aggregated/instanceTemplates").await;
    assert_eq!(
        templates["items"]["global"]["instanceTemplates"][0]["properties"]["disks"][0]["initializeParams"]
            ["sourceImage"],
        "projects/emu-project/global/images/family/golden"
    );
    assert_eq!(
        templates["items"]["regions/europe-west1"]["instanceTemplates"][0]["name"],
        "t-reg"
    );
    let (_, regional) = get(
        &emu,
        "projects/emu-project/regions/europe-west1/instanceTemplates",
    )
    .await;
    assert_eq!(names(&regional), ["t-reg"]);
    let (_, global) = get(&emu, "projects/emu-project/global/instanceTemplates").await;
    assert_eq!(names(&global), ["t-fam"]);
    let (_, migs) = get(
        &emu,
        "projects/emu-project/aggregated/instanceGroupManagers",
    )
    .await;
    let mig = &migs["items"]["zones/us-central1-a"]["instanceGroupManagers"][0];
    assert!(
        mig["versions"][0]["instanceTemplate"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/global/instanceTemplates/t-fam")
    );

    // An unreachable scope: named, warned, its items left out.
    emu.set_unreachable(&["zones/us-central1-b"]);
    let (_, disks) = get(&emu, "projects/emu-project/aggregated/disks").await;
    assert_eq!(disks["unreachables"], json!(["zones/us-central1-b"]));
    assert_eq!(
        disks["items"]["zones/us-central1-b"]["warning"]["code"],
        "UNREACHABLE"
    );
    let (_, zones) = get(&emu, "projects/emu-project/zones").await;
    assert_eq!(names(&zones).len(), 3);
    let (_, regions) = get(&emu, "projects/emu-project/regions").await;
    assert_eq!(names(&regions), ["us-central1", "europe-west1"]);
}

#[tokio::test]
async fn generated_usage_names_seeded_images_families_and_templates() {
    let emu = start(GceEmulatorConfig::default().usage(10, 4, 2, 2)).await;
    let (_, disks) = get(&emu, "projects/emu-project/aggregated/disks").await;
    let count: usize = disks["items"]
        .as_object()
        .expect("scopes")
        .values()
        .map(|s| s["disks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(count, 10);
    let (_, migs) = get(
        &emu,
        "projects/emu-project/aggregated/instanceGroupManagers",
    )
    .await;
    assert_eq!(
        migs["items"]["regions/us-central1"]["instanceGroupManagers"][0]["name"],
        "group-0001"
    );
    let (_, templates) = get(&emu, "projects/emu-project/aggregated/instanceTemplates").await;
    assert_eq!(
        templates["items"]["global"]["instanceTemplates"][0]["properties"]["disks"][0]["initializeParams"]
            ["sourceImage"],
        "projects/emu-project/global/images/family/family-0"
    );
}

#[tokio::test]
async fn large_catalogs_page_completely_at_the_largest_page_size() {
    let zones: Vec<String> = (0..20).map(|z| format!("zone-{z:02}")).collect();
    let config = GceEmulatorConfig {
        zones,
        ..GceEmulatorConfig::default()
            .images(10_000)
            .usage(10_000, 0, 0, 0)
    };
    let emu = start(config).await;
    let (images, pages) =
        all_pages(&emu, "projects/emu-project/global/images?maxResults=500").await;
    assert_eq!((images.len(), pages), (10_000, 20));
    assert_eq!(images.iter().collect::<BTreeSet<_>>().len(), 10_000);

    let mut disks = BTreeSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = get(
            &emu,
            &format!("projects/emu-project/aggregated/disks?maxResults=500&pageToken={token}"),
        )
        .await;
        assert_eq!(status, 200);
        pages += 1;
        let scopes = page["items"].as_object().expect("a scope map");
        assert_eq!(scopes.len(), 22, "every zone and region on every page");
        for scope in scopes.values() {
            for disk in scope["disks"].as_array().into_iter().flatten() {
                assert!(disks.insert(disk["name"].as_str().unwrap_or_default().to_owned()));
            }
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        (disks.len(), pages),
        (10_000, 20),
        "one aggregated listing, not one per zone"
    );
}

#[tokio::test]
async fn patch_reassigns_family_and_description_and_family_views_answer_per_zone() {
    let emu = start(GceEmulatorConfig::default().images(0)).await;
    let p = "emu-project";
    emu.add_image(p, GceImage::at_hour("a-1", 1).family("a"));
    emu.add_image(p, GceImage::at_hour("b-1", 2).family("b"));
    let base = "projects/emu-project/global/images";
    let (status, op) = call(
        &emu,
        Method::PATCH,
        &format!("{base}/b-1"),
        Some(json!({"family": "a", "description": "moved", "labels": {"ignored": "x"}})),
    )
    .await;
    assert_eq!((status, op["operationType"].clone()), (200, json!("patch")));
    let (_, image) = get(&emu, &format!("{base}/b-1")).await;
    assert_eq!(
        (image["family"].clone(), image["description"].clone()),
        (json!("a"), json!("moved"))
    );
    assert!(
        image.get("labels").is_none(),
        "patch does not change labels"
    );
    assert_eq!(
        get(&emu, &format!("{base}/family/a")).await.1["name"],
        "b-1"
    );
    assert_eq!(get(&emu, &format!("{base}/family/b")).await.0, 404);
    let (status, _) = call(
        &emu,
        Method::PATCH,
        &format!("{base}/b-1"),
        Some(json!({"family": "Bad"})),
    )
    .await;
    assert_eq!(status, 400);

    let (status, view) = get(
        &emu,
        "projects/emu-project/zones/us-central1-a/imageFamilyViews/a",
    )
    .await;
    assert_eq!((status, view["image"]["name"].clone()), (200, json!("b-1")));
    assert_eq!(
        get(
            &emu,
            "projects/emu-project/zones/nowhere-1/imageFamilyViews/a"
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(
            &emu,
            "projects/emu-project/zones/us-central1-a/imageFamilyViews/zzz"
        )
        .await
        .0,
        404
    );
}

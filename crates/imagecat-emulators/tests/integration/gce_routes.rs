//! The GCE emulator's images over HTTP: what the Compute v1 API answers
//! for the image calls emulated (`docs/fidelity/gce.md`), through a plain
//! HTTP client. Usage resources and tokens: `gce_resources`.
#![cfg(feature = "gce")]

use std::collections::BTreeSet;

use imagecat_emulators::gce::{GceEmulatorConfig, GceImage};
use imagecat_http::reqwest::Method;
use serde_json::json;

use crate::gce_support::*;

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
    // Empty pages with a token (hostile): paging still sees every image once.
    emu.set_empty_pages(3);
    let (again, pages) = all_pages(&emu, "projects/emu-project/global/images?maxResults=5").await;
    assert_eq!((again, pages), (all.clone(), 8));
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
    assert_eq!(
        emu.deleted_images(),
        [
            "projects/emu-project/global/images/image-000000",
            "projects/emu-project/global/images/image-000001",
            "projects/emu-project/global/images/image-000002",
            "projects/emu-project/global/images/image-000002",
            "projects/emu-project/global/images/image-000002",
        ]
    );
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
    // The same fingerprint URL-safe and unpadded, as gcloud re-encodes it.
    let now = image["labelFingerprint"].as_str().unwrap_or_default();
    let url_safe: String = now
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    let (status, _) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/setLabels"),
        Some(json!({"labels": {"team": "infra", "x": "y"}, "labelFingerprint": url_safe})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, image) = get(&emu, &format!("{base}/golden-v2")).await;
    assert_eq!(image["labels"], json!({"team": "infra", "x": "y"}));
    assert_ne!(image["labelFingerprint"], json!(fp));
    let (status, doc) = call(
        &emu,
        Method::POST,
        &format!("{base}/golden-v2/setLabels"),
        Some(json!({"labels": {}, "labelFingerprint": fp.clone()})),
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

#[tokio::test]
async fn more_projects_are_near_copies_of_the_own_for_diffs() {
    let config = GceEmulatorConfig {
        more_projects: vec!["other".into()],
        ..GceEmulatorConfig::default().images(10)
    };
    let emu = start(config).await;
    let (own, _) = all_pages(&emu, "projects/emu-project/global/images").await;
    let (other, _) = all_pages(&emu, "projects/other/global/images").await;
    assert_eq!(own.len(), 10);
    assert_eq!(other.len(), 8, "images 2 and 7 missing");
    assert!(!other.contains(&"image-000002".to_owned()));
    let id = |p: &str, n: &str| emu.image_json(p, n).map(|d| d["id"].clone());
    assert_ne!(
        id("emu-project", "image-000001"),
        id("other", "image-000001"),
        "recreated"
    );
    assert_eq!(
        id("emu-project", "image-000003"),
        id("other", "image-000003")
    );
    let labels = emu.image_json("other", "image-000006").expect("exists")["labels"].clone();
    assert_eq!(labels["env"], "staging");
    assert_eq!(
        emu.catalog_url_for("other"),
        format!("gce+http://{}?project=other", emu.server().addr())
    );
}

//! The GCE emulator's usage resources (disks, instances, templates,
//! group managers; aggregated and per scope), a large catalog paged
//! completely, and where tokens come from (`/token`, the metadata server),
//! over HTTP (`docs/fidelity/gce.md`).
#![cfg(feature = "gce")]

use std::collections::BTreeSet;

use imagecat_emulators::gce::{
    GceDisk, GceEmulator, GceEmulatorConfig, GceGroupManager, GceImage, GceInstance, GceScope,
    GceTemplate,
};
use imagecat_http::reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::gce_support::*;

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
    // Paged one disk a page: only the reachable disks, each page holding one.
    let mut per_page = Vec::new();
    let mut token = String::new();
    loop {
        let (_, page) = get(
            &emu,
            &format!("projects/emu-project/aggregated/disks?maxResults=1&pageToken={token}"),
        )
        .await;
        let on_page: Vec<String> = page["items"]
            .as_object()
            .expect("a scope map")
            .values()
            .flat_map(|scope| scope["disks"].as_array().cloned().unwrap_or_default())
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        per_page.push(on_page);
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    assert_eq!(per_page, [vec!["d-r".to_owned()], vec!["d-a".to_owned()]]);
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

/// Unpadded base64url.
fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn post_form(emu: &GceEmulator, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = Client::new()
        .post(format!("{}{path}", emu.server().base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_token_endpoint_and_metadata_server_issue_tokens_the_api_accepts() {
    let emu = start(GceEmulatorConfig::default().images(1)).await;
    let jwt = |header: Value, claims: Value| {
        format!(
            "{}.{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes()),
            b64url(b"sig")
        )
    };
    let claims = json!({"iss": "sa@emu-project.iam.gserviceaccount.com", "scope": "https://www.googleapis.com/auth/compute",
        "aud": "https://oauth2.googleapis.com/token", "iat": 1_800_000_000, "exp": 1_800_003_600});
    let good = jwt(
        json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}),
        claims.clone(),
    );
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let (status, answer) = post_form(
        &emu,
        "/token",
        &[("grant_type", grant), ("assertion", &good)],
    )
    .await;
    assert_eq!(
        (
            status,
            answer["token_type"].clone(),
            answer["expires_in"].clone()
        ),
        (200, json!("Bearer"), json!(3599))
    );
    let issued = answer["access_token"].as_str().expect("a token").to_owned();
    let list = |token: String| {
        let emu = &emu;
        async move {
            call_as(
                emu,
                Some(&token),
                Method::GET,
                "projects/emu-project/global/images",
                None,
            )
            .await
            .0
        }
    };
    assert_eq!(list(issued).await, 200, "the issued token is accepted");
    // A self-signed JWT as the bearer: accepted while unexpired.
    let now = chrono::Utc::now().timestamp();
    let self_signed = |exp: i64| {
        jwt(
            json!({"alg": "RS256", "typ": "JWT"}),
            json!({"iss": "sa@x", "sub": "sa@x", "aud": "https://compute.googleapis.com/", "iat": exp - 3600, "exp": exp}),
        )
    };
    assert_eq!(list(self_signed(now + 600)).await, 200);
    assert_eq!(list(self_signed(now - 600)).await, 401, "expired");
    let strict = start(GceEmulatorConfig {
        self_signed_jwt: false,
        ..GceEmulatorConfig::default()
    })
    .await;
    let (status, _) = call_as(
        &strict,
        Some(&self_signed(now + 600)),
        Method::GET,
        "projects/emu-project/global/images",
        None,
    )
    .await;
    assert_eq!(status, 401, "refused when the emulator is told to");
    for (bad, why) in [
        (jwt(json!({"alg": "HS256"}), claims.clone()), "alg"),
        (
            jwt(
                json!({"alg": "RS256"}),
                json!({"iss": "x", "aud": "y", "scope": "s", "iat": 1, "exp": 100_000}),
            ),
            "lifetime",
        ),
        ("not-a-jwt".to_owned(), "shape"),
    ] {
        let (status, answer) = post_form(
            &emu,
            "/token",
            &[("grant_type", grant), ("assertion", &bad)],
        )
        .await;
        assert_eq!(
            (status, answer["error"].clone()),
            (400, json!("invalid_grant")),
            "{why}"
        );
    }
    // An authorized user's refresh token.
    let refresh = imagecat_emulators::gce::REFRESH_TOKEN;
    let (status, answer) = post_form(
        &emu,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "c"),
            ("client_secret", "s"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list(
            answer["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        )
        .await,
        200
    );
    let (status, _) = post_form(
        &emu,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "c"),
            ("refresh_token", "stolen"),
        ],
    )
    .await;
    assert_eq!(status, 400);

    // The metadata server: Metadata-Flavor both ways.
    let metadata = |path: &'static str, flavor: bool| {
        let url = format!("{}{path}", emu.server().base_url());
        async move {
            let mut request = Client::new().get(url);
            if flavor {
                request = request.header("Metadata-Flavor", "Google");
            }
            let response = request.send().await.expect("answers");
            let flavor = response
                .headers()
                .get("metadata-flavor")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            (
                response.status().as_u16(),
                flavor,
                response.text().await.unwrap_or_default(),
            )
        }
    };
    let (status, flavor, _) = metadata("/", false).await;
    assert_eq!((status, flavor.as_deref()), (200, Some("Google")));
    let token_path = "/computeMetadata/v1/instance/service-accounts/default/token";
    assert_eq!(metadata(token_path, false).await.0, 403);
    let (status, _, body) = metadata(token_path, true).await;
    assert_eq!(status, 200);
    let token: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        list(
            token["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        )
        .await,
        200
    );
    assert_eq!(
        metadata("/computeMetadata/v1/project/project-id", true)
            .await
            .2,
        "emu-project"
    );
}

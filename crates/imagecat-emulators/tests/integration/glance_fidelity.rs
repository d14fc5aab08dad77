//! Issue 16: a client must not tell the Glance emulator from a real Glance.
//!
//! `the_same_answers_as_a_real_glance` sends one script of requests
//! (create, upload, patch, tags, members, every filter and sort, their
//! 400s, versions) to a real Glance 33 and to the emulator, and then runs
//! python-openstackclient's image commands against both; statuses and
//! bodies must be equal once the values that legitimately differ
//! (timestamps, request ids, ids the servers pick) are normalised. The
//! emulator runs as the real server's unauthenticated context does: an
//! admin without a project.
//!
//! `projects_see_what_glance_lets_them_see` checks the project model (which
//! the real test server, without Keystone, cannot show) against Glance's
//! rules (`is_image_visible`, `_select_images_query`).
//!
//! `IMAGECAT_SKIP_REAL_GLANCE=1` skips the real-server test (visibly).
#![cfg(all(feature = "glance", unix))]

use std::path::Path;
use std::process::Command;

use imagecat_emulators::glance::{GlanceCaller, GlanceEmulator, GlanceEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest;
use imagecat_testkit::real_glance::*;
use serde_json::{Value, json};

const A: &str = "f1de0000-0000-4000-8000-00000000000a";
const B: &str = "f1de0000-0000-4000-8000-00000000000b";
const C: &str = "f1de0000-0000-4000-8000-00000000000c";
const D: &str = "f1de0000-0000-4000-8000-00000000000d";
const MISSING: &str = "f1de0000-0000-4000-8000-0000000000ff";
const PATCH: &str = "application/openstack-images-v2.1-json-patch";
const JSON: &str = "application/json";
const DATA: &str = "application/octet-stream";

/// One request: method, path, content type, body.
type Step = (&'static str, String, &'static str, String);

fn step(
    method: &'static str,
    path: impl Into<String>,
    ct: &'static str,
    body: impl Into<String>,
) -> Step {
    (method, path.into(), ct, body.into())
}

fn get(path: impl Into<String>) -> Step {
    step("GET", path, "", "")
}

/// The script: every request both servers answer.
fn script() -> Vec<Step> {
    let image = |id: &str| format!("/v2/images/{id}");
    let mut s = vec![
        step("POST", "/v2/images", JSON, json!({"id": A, "name": "fid-a", "disk_format": "raw", "container_format": "bare", "visibility": "public", "tags": ["web", "base"], "os_distro": "ubuntu", "min_ram": 512}).to_string()),
        step("POST", "/v2/images", JSON, json!({"id": B, "name": "fid-b", "disk_format": "qcow2", "container_format": "bare", "visibility": "private", "protected": true}).to_string()),
        step("POST", "/v2/images", JSON, json!({"id": C, "name": "fid-c", "disk_format": "raw", "container_format": "ovf"}).to_string()),
        step("POST", "/v2/images", JSON, json!({"id": D, "name": "fid-d"}).to_string()),
        step("POST", "/v2/images", JSON, json!({"id": A}).to_string()),
        step("POST", "/v2/images", JSON, json!({"status": "active"}).to_string()),
        step("POST", "/v2/images", JSON, json!({"disk_format": "bogus"}).to_string()),
        step("POST", "/v2/images", JSON, "not json"),
        step("PUT", format!("{}/file", image(A)), DATA, "hello world"),
        step("PUT", format!("{}/file", image(A)), DATA, "again"),
        step("PUT", format!("{}/file", image(C)), JSON, "{}"),
        step("PATCH", image(C), PATCH, json!([{"op": "add", "path": "/color", "value": "red"}, {"op": "replace", "path": "/name", "value": "fid-c2"}, {"op": "replace", "path": "/tags", "value": ["y", "x"]}]).to_string()),
        step("PATCH", image(C), PATCH, json!([{"op": "replace", "path": "/nope", "value": "v"}]).to_string()),
        step("PATCH", image(C), PATCH, json!([{"op": "remove", "path": "/nope"}]).to_string()),
        step("PATCH", image(C), PATCH, json!([{"op": "replace", "path": "/id", "value": "v"}]).to_string()),
        step("PATCH", image(C), PATCH, json!([{"op": "add", "path": "/tags/-", "value": "v"}]).to_string()),
        step("PATCH", image(C), JSON, "[]"),
        step("PATCH", image(C), PATCH, "not json"),
        step("PATCH", image(C), PATCH, json!([{"op": "remove", "path": "/color"}, {"op": "add", "path": "/min_disk", "value": 3}]).to_string()),
        step("PUT", format!("{}/tags/z", image(C)), "", ""),
        step("DELETE", format!("{}/tags/x", image(C)), "", ""),
        step("DELETE", format!("{}/tags/nope", image(C)), "", ""),
        step("PUT", format!("{}/tags/t", image(MISSING)), "", ""),
        step("POST", format!("{}/members", image(C)), JSON, json!({"member": "proj-b"}).to_string()),
        step("POST", format!("{}/members", image(C)), JSON, json!({"member": "proj-b"}).to_string()),
        step("POST", format!("{}/members", image(A)), JSON, json!({"member": "proj-b"}).to_string()),
        step("POST", format!("{}/members", image(C)), JSON, "{}"),
        get(format!("{}/members", image(C))),
        get(format!("{}/members/proj-x", image(C))),
        step("PUT", format!("{}/members/proj-b", image(C)), JSON, json!({"status": "accepted"}).to_string()),
        step("PUT", format!("{}/members/proj-b", image(C)), JSON, json!({"status": "bogus"}).to_string()),
        get(format!("{}/members/proj-b", image(C))),
        get(image(A)),
        get(image(C)),
        get(image(MISSING)),
    ];
    let queries = [
        "",
        "limit=2",
        "protected=true",
        "protected=false",
        "disk_format=in:raw,qcow2",
        "container_format=ovf",
        "id=in:f1de0000-0000-4000-8000-00000000000a,f1de0000-0000-4000-8000-00000000000b",
        "min_ram=512",
        "min_ram=abc",
        "size=11",
        "created_at=gt:2000-01-01T00:00:00Z",
        "created_at=lt:2000-01-01T00:00:00Z",
        "updated_at=gte:2000-01-01T00:00:00Z",
        "sort=name:asc",
        "sort=name:asc,created_at&limit=2",
        "sort=disk_format,name:asc",
        "sort_key=name&sort_dir=asc&limit=1",
        "sort_key=status&sort_key=name&sort_dir=asc&sort_dir=desc",
        "tag=base",
        "tag=web&tag=nope",
        "os_distro=ubuntu",
        "visibility=public",
        "visibility=shared",
        "member_status=all",
        "name=in:fid-a,fid-b",
        "status=queued",
        // Glance's 400s.
        "protected=bogus",
        "member_status=bogus",
        "created_at=gt:BAD",
        "created_at=zz:2020-01-01T00:00:00Z",
        "sort=bogus:asc",
        "sort=name:sideways",
        "sort_key=name&sort=name",
        "sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc",
        "visibility=x",
        "size_min=x",
        "os_hidden=maybe",
        "limit=-1",
        "limit=x",
        "changes-since=2020-01-01T00:00:00Z",
        "status=zz:queued",
    ];
    s.extend(queries.iter().map(|q| get(format!("/v2/images?{q}"))));
    s.extend([
        step("DELETE", image(B), "", ""),
        step("DELETE", image(D), "", ""),
        step("DELETE", image(D), "", ""),
        get(format!("/v2/images?marker={D}")),
        get(format!("/v2/images?marker={MISSING}")),
        get(format!("/v2/images?limit=1&marker={A}")),
        step("DELETE", format!("{}/members/proj-b", image(C)), "", ""),
        step("DELETE", format!("{}/members/proj-b", image(C)), "", ""),
        get("/"),
        get("/versions"),
        get("/v1/images"),
        get("/images"),
        get("/v2/nowhere"),
    ]);
    s
}

/// Timestamps and tag order (a set in Glance) are equal after this;
/// schema-validation messages keep their first line (the real
/// one goes on with the JSON schema, printed by Python).
fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k.ends_with("_at") && v.is_string() {
                    *v = json!("<time>");
                } else if let (true, Value::Array(tags)) = (k.eq_ignore_ascii_case("tags"), &mut *v)
                {
                    // Glance's tags are a Python set: their order is arbitrary.
                    tags.sort_by_key(|t| t.to_string());
                } else if k == "message" {
                    if let Some(m) = v.as_str() {
                        let first = m.split("\n\nFailed validating").next().unwrap_or(m);
                        *v = json!(first.trim_end_matches("<br /><br />\n\n\n"));
                    }
                } else {
                    normalize(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// The JSON paths where `a` and `b` differ, with both values.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (l, r) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff(l, r, &format!("{path}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                diff(l, r, &format!("{path}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: real {a} emulator {b}")),
        _ => {}
    }
}

/// Status, whether `x-openstack-request-id` is `req-…`, and the normalised body.
async fn send(
    client: &reqwest::Client,
    base: &str,
    (method, path, ct, body): &Step,
) -> (u16, bool, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = client
        .request(method, format!("{base}{path}"))
        .header("accept", "application/json")
        .header("host", "fidelity.example:9292");
    if !ct.is_empty() {
        request = request.header("content-type", *ct);
    }
    let response = request.body(body.clone()).send().await.expect("an answer");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("a body");
    let mut value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    normalize(&mut value);
    (status, id.starts_with("req-"), value)
}

/// Runs `openstack ARGS -f json` (or without `-f` when `json` is false)
/// against `endpoint`; the exit status and the parsed output.
fn openstack(osc: &Path, endpoint: &str, args: &[&str]) -> (bool, Value) {
    let output = Command::new(osc)
        .args(["--os-auth-type", "none", "--os-endpoint", endpoint])
        .args(args)
        .env_remove("OS_CLOUD")
        .output()
        .expect("openstack runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text.trim().to_owned()));
    (output.status.success(), value)
}

/// Replaces the id the server gave `name`'s image, and times, in a client's output.
fn scrub(mut v: Value, id: &str) -> Value {
    normalize(&mut v);
    let text = v.to_string().replace(id, "<osc-id>");
    serde_json::from_str(&text).unwrap_or(v)
}

/// The openstack commands, with their normalised answers.
fn client_session(osc: &Path, endpoint: &str, file: &Path) -> Vec<(bool, Value)> {
    let file = file.to_str().expect("a UTF-8 path");
    let mut out = Vec::new();
    let created = openstack(
        osc,
        endpoint,
        &[
            "image",
            "create",
            "--disk-format",
            "raw",
            "--container-format",
            "bare",
            "--file",
            file,
            "--property",
            "os_distro=debian",
            "--tag",
            "cli",
            "--public",
            "osc-img",
            "-f",
            "json",
        ],
    );
    let id = created.1["id"].as_str().unwrap_or("no id").to_owned();
    out.push(created);
    let commands: [&[&str]; 7] = [
        &[
            "image",
            "set",
            "--property",
            "color=blue",
            "--tag",
            "extra",
            "--min-ram",
            "256",
            "osc-img",
        ],
        &["image", "show", "osc-img", "-f", "json"],
        &[
            "image", "list", "--long", "--sort", "name:asc", "-f", "json",
        ],
        &[
            "image",
            "list",
            "--property",
            "os_distro=debian",
            "--tag",
            "cli",
            "-f",
            "json",
        ],
        &["image", "add", "project", "fid-c2", "proj-z", "-f", "json"],
        &["image", "delete", "osc-img"],
        &["image", "show", "osc-img", "-f", "json"],
    ];
    for args in commands {
        let (ok, v) = openstack(osc, endpoint, args);
        out.push((ok, scrub(v, &id)));
    }
    out[0].1 = scrub(out[0].1.take(), &id);
    out
}

fn install_clients() -> std::path::PathBuf {
    let glance = real_glance();
    glance.install("install-clients.sh");
    glance.dir().join("clients/bin/openstack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_answers_as_a_real_glance() {
    if skip() {
        return;
    }
    let osc = tokio::task::spawn_blocking(install_clients)
        .await
        .expect("install");
    let real = RealGlance::start().await;
    let config = GlanceEmulatorConfig {
        images: 0,
        token: None,
        project_id: None,
        ..GlanceEmulatorConfig::default()
    };
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("emulator");
    let client = reqwest::Client::new();
    let mut differences = Vec::new();
    for s in script() {
        let want = send(&client, &real.url, &s).await;
        let got = send(&client, &emu.endpoint(), &s).await;
        if want != got {
            let mut paths = Vec::new();
            let (w, g) = (
                json!([want.0, want.1, want.2]),
                json!([got.0, got.1, got.2]),
            );
            diff(&w, &g, "", &mut paths);
            differences.push(format!("{} {}: {}", s.0, s.1, paths.join("; ")));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );

    let file = std::env::temp_dir().join(format!("imagecat-fidelity-{}.img", std::process::id()));
    std::fs::write(&file, b"disk image bytes for openstack image create\n").expect("a temp file");
    let (real_url, emu_url) = (real.url.clone(), emu.endpoint());
    let (osc2, file2) = (osc.clone(), file.clone());
    let want = tokio::task::spawn_blocking(move || client_session(&osc2, &real_url, &file2))
        .await
        .expect("osc");
    let got = tokio::task::spawn_blocking(move || client_session(&osc, &emu_url, &file))
        .await
        .expect("osc");
    assert!(
        want[0].0 && want[0].1["checksum"].is_string(),
        "openstack image create failed on the real Glance: {:?}",
        want[0]
    );
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "openstack command {i}: real Glance vs emulator");
    }
    assert!(!want[7].0, "show after delete fails on both");
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let response = client
        .request(method, format!("{base}{path}"))
        .header("x-auth-token", token)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn names(v: &Value) -> Vec<&str> {
    v["images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str())
        .collect()
}

#[tokio::test]
async fn projects_see_what_glance_lets_them_see() {
    let config = GlanceEmulatorConfig::default()
        .images(0)
        .project_token("tok-a", GlanceCaller::member("proj-a"))
        .project_token("tok-b", GlanceCaller::member("proj-b"))
        .project_token("tok-admin", GlanceCaller::admin("proj-admin"));
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("emulator");
    let (c, base) = (reqwest::Client::new(), emu.endpoint());
    let mut ids = std::collections::HashMap::new();
    for (token, name, visibility) in [
        ("tok-a", "a-private", "private"),
        ("tok-a", "a-shared", "shared"),
        ("tok-a", "a-community", "community"),
        ("tok-b", "b-private", "private"),
        ("tok-admin", "b-public", "public"),
    ] {
        let mut body = json!({"name": name, "visibility": visibility});
        if name == "b-public" {
            body["owner"] = json!("proj-b");
        }
        let (status, doc) = call(&c, &base, token, "POST", "/v2/images", body).await;
        assert_eq!(status, 201, "{name}: {doc}");
        ids.insert(name, doc["id"].as_str().expect("an id").to_owned());
    }
    let (status, doc) = call(
        &c,
        &base,
        "tok-a",
        "POST",
        "/v2/images",
        json!({"name": "x", "visibility": "public"}),
    )
    .await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (
            403,
            Some("You are not authorized to complete publicize_image action.<br /><br />\n\n\n")
        )
    );
    let list = |token: &'static str, query: &'static str| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            call(
                &c,
                &base,
                token,
                "GET",
                &format!("/v2/images{query}"),
                Value::Null,
            )
            .await
        }
    };
    // A member sees its own, public and (its own) community images; the
    // invitation to a-shared is pending, so b does not list it yet.
    assert_eq!(
        names(&list("tok-a", "").await.1),
        ["b-public", "a-community", "a-shared", "a-private"]
    );
    assert_eq!(names(&list("tok-b", "").await.1), ["b-public", "b-private"]);
    assert_eq!(
        names(&list("tok-b", "?visibility=community").await.1),
        ["a-community"]
    );
    assert_eq!(
        names(&list("tok-admin", "?visibility=all").await.1).len(),
        5
    );
    let shared = format!("/v2/images/{}", ids["a-shared"]);
    let (status, _) = call(
        &c,
        &base,
        "tok-a",
        "POST",
        &format!("{shared}/members"),
        json!({"member": "proj-b"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&list("tok-b", "").await.1),
        ["b-public", "b-private"],
        "a pending membership is not listed by default"
    );
    assert_eq!(
        names(&list("tok-b", "?member_status=pending").await.1),
        ["b-public", "b-private", "a-shared"]
    );
    assert_eq!(
        call(&c, &base, "tok-b", "GET", &shared, Value::Null)
            .await
            .0,
        200,
        "a pending member may show it"
    );
    let (status, _) = call(
        &c,
        &base,
        "tok-a",
        "PUT",
        &format!("{shared}/members/proj-b"),
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(status, 403, "only the member answers its invitation");
    let (status, _) = call(
        &c,
        &base,
        "tok-b",
        "PUT",
        &format!("{shared}/members/proj-b"),
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&list("tok-b", "").await.1),
        ["b-public", "b-private", "a-shared"]
    );
    // Another project's private image: 404 to show and delete, 403 as a marker.
    let private = format!("/v2/images/{}", ids["a-private"]);
    let (status, doc) = call(&c, &base, "tok-b", "GET", &private, Value::Null).await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (
            404,
            Some(&*format!(
                "No image found with ID {}<br /><br />\n\n\n",
                ids["a-private"]
            ))
        )
    );
    let (status, doc) = call(&c, &base, "tok-b", "DELETE", &private, Value::Null).await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (
            404,
            Some(&*format!(
                "Failed to find image {} to delete<br /><br />\n\n\n",
                ids["a-private"]
            ))
        )
    );
    let marker = format!("/v2/images?marker={}", ids["a-private"]);
    let (status, doc) = call(&c, &base, "tok-b", "GET", &marker, Value::Null).await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (
            403,
            Some(&*format!(
                "Forbidding request, image {} not visible<br /><br />\n\n\n",
                ids["a-private"]
            ))
        )
    );
    // Visible but not owned: 403; the owner deletes it, then it is a 400 marker.
    let public = format!("/v2/images/{}", ids["b-public"]);
    let (status, doc) = call(&c, &base, "tok-a", "DELETE", &public, Value::Null).await;
    assert_eq!(
        (status, doc["message"].as_str()),
        (403, Some("You do not own this image<br /><br />\n\n\n"))
    );
    assert_eq!(
        call(&c, &base, "tok-a", "DELETE", &private, Value::Null)
            .await
            .0,
        204
    );
    assert_eq!(
        call(&c, &base, "tok-a", "GET", &marker, Value::Null)
            .await
            .0,
        400
    );
    assert_eq!(
        call(&c, &base, "tok-unknown", "GET", "/v2/images", Value::Null)
            .await
            .0,
        401
    );
}

/// A token issued by the emulator's Keystone (v3 and v2.0) carries its
/// user's roles, and the image API answers by them: the member of a
/// project does not list another project's private image, the admin does.
#[tokio::test]
async fn keystone_tokens_carry_their_users_roles() {
    use imagecat_emulators::glance::KeystoneUser;
    let user = |name: &str, admin: bool| KeystoneUser {
        username: name.into(),
        password: format!("{name}-password"),
        project_id: "proj-a".into(),
        admin,
        ..KeystoneUser::default()
    };
    let config = GlanceEmulatorConfig::default()
        .images(0)
        .keystone(user("boss", true))
        .keystone_user(user("dev", false))
        .project_token("tok-b", GlanceCaller::member("proj-b"));
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("emulator");
    let (c, base) = (reqwest::Client::new(), emu.endpoint());
    let (status, _) = call(
        &c,
        &base,
        "tok-b",
        "POST",
        "/v2/images",
        json!({"name": "b-private", "visibility": "private"}),
    )
    .await;
    assert_eq!(status, 201);
    for (name, admin) in [("boss", true), ("dev", false)] {
        let v3 = c
            .post(emu.identity_v3_url() + "/auth/tokens")
            .header("content-type", "application/json")
            .body(
                json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": name, "password": format!("{name}-password"),
                    "domain": {"name": "Default"}}}},
                "scope": {"project": {"id": "proj-a"}}}})
                .to_string(),
            )
            .send()
            .await
            .expect("v3 answers");
        assert_eq!(v3.status(), 201, "{name}");
        let token = v3.headers()["x-subject-token"].to_str().unwrap().to_owned();
        let doc: Value = serde_json::from_str(&v3.text().await.unwrap()).unwrap();
        let roles: Vec<&str> = doc["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(roles.contains(&"admin"), admin, "{name}: {roles:?}");
        assert!(roles.contains(&"member"), "{name}: {roles:?}");
        let v2 = c
            .post(emu.identity_v2_url() + "/tokens")
            .header("content-type", "application/json")
            .body(
                json!({"auth": {"tenantId": "proj-a", "passwordCredentials": {
                "username": name, "password": format!("{name}-password")}}})
                .to_string(),
            )
            .send()
            .await
            .expect("v2 answers");
        let v2: Value = serde_json::from_str(&v2.text().await.unwrap()).unwrap();
        assert_eq!(v2["access"]["metadata"]["is_admin"], i32::from(admin));
        let v2_token = v2["access"]["token"]["id"].as_str().unwrap().to_owned();
        for token in [token, v2_token] {
            let (status, list) = call(&c, &base, &token, "GET", "/v2/images", Value::Null).await;
            assert_eq!(status, 200);
            let listed = names(&list).contains(&"b-private");
            assert_eq!(
                listed, admin,
                "{name} lists proj-b's private image: {listed}"
            );
        }
    }
}

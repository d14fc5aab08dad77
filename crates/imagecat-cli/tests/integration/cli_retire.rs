//! Retire, then delete, end to end through the CLI on the Glance emulator
//! with Nova (`prune --retire`, `list --retired`, `restore`, `prune
//! --delete-retired-after`, `latest --retire-older`), every write asserted
//! on the emulator's request log and the audit log; on a fan-out with
//! TOAST, which cannot retire, nothing is planned there and stderr says
//! why; `restore` on DCMGR is `NotSupported` naming the backend.

use std::collections::HashSet;

use imagecat::chrono::{Duration, SecondsFormat, Utc};
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, GlanceImage, KeystoneUser, NovaServer, PROJECT_ID,
};
use imagecat_emulators::server::ServeOptions;
use serde_json::Value;

use crate::support::{GLANCE_TOKEN, dcmgr, entries, glance, ids_where, imagecat, toast};

const STAMP: &str = "imagecat_retired_at";

fn uuid(n: u32) -> String {
    format!("7e71e000-0000-4000-8000-{n:012x}")
}

/// A Glance emulator holding only `web-1` (newest) … `web-4`, active and
/// private to [`PROJECT_ID`], no servers, Nova's admin view.
async fn web_family() -> GlanceEmulator {
    family_on(glance(0).await)
}

/// [`web_family`] on a started emulator.
fn family_on(emu: GlanceEmulator) -> GlanceEmulator {
    emu.clear_servers();
    emu.set_admin(true);
    for n in 1..=4u32 {
        let mut image = GlanceImage::new(uuid(n), format!("web-{n}"));
        image.created_at = Utc::now() - Duration::days(i64::from(n) * 10);
        emu.insert(image);
    }
    emu
}

/// The writes the emulator received since `from`, as `METHOD path`.
fn writes_since(emu: &GlanceEmulator, from: usize) -> Vec<String> {
    emu.server().requests()[from..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn prune<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-c", url, "-o", "json", "prune", "--owner", PROJECT_ID, "--name", "web-*", "--family",
        "^(web)-",
    ];
    args.extend(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_retire_list_restore_and_delete_retired_after() {
    let emu = web_family().await;
    let url = emu.usage_catalog_url();
    let env = [("OS_TOKEN", GLANCE_TOKEN)];
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.ndjson");

    // The dry run: three retires, nothing sent.
    let dry = imagecat(
        &prune(
            &url,
            &[
                "--keep",
                "1",
                "--retire",
                "--plan-out",
                plan_file.to_str().unwrap(),
            ],
        ),
        &env,
    )
    .await;
    let planned = entries(&dry);
    let retires = ids_where(&planned, "action", "retire");
    let expected: HashSet<String> = [2, 3, 4].map(uuid).into();
    assert_eq!(retires, expected, "{planned:?}");
    assert!(dry.stderr.contains("retire = deactivate"), "{}", dry.stderr);
    assert!(
        dry.stderr.contains("3 to retire, 1 kept; nothing retired"),
        "{}",
        dry.stderr
    );
    assert!(writes_since(&emu, 0).is_empty(), "the dry run wrote");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["version"], 3);
    assert_eq!(saved["policy"]["retire"], true);
    // The same plan passed off as version 2 is refused before anything.
    let mut edited = saved.clone();
    edited["version"] = 2.into();
    let edited_file = dir.path().join("edited.json");
    std::fs::write(&edited_file, edited.to_string()).unwrap();
    let refused = imagecat(
        &["-c", &url, "apply", edited_file.to_str().unwrap(), "--yes"],
        &env,
    )
    .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("does not match what it does"),
        "{}",
        refused.stderr
    );
    assert!(writes_since(&emu, 0).is_empty(), "a refused plan wrote");

    // The saved plan applied: a stamp and a deactivate per image.
    let applied = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "apply",
            plan_file.to_str().unwrap(),
            "--yes",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    let done = entries(&applied);
    assert_eq!(ids_where(&done, "result", "retired"), expected);
    assert!(
        applied.stderr.contains("3 retired, 0 deleted"),
        "{}",
        applied.stderr
    );
    let mut sent = writes_since(&emu, 0);
    sent.sort();
    let mut want: Vec<String> = expected
        .iter()
        .flat_map(|id| {
            [
                format!("PATCH /v2/images/{id}"),
                format!("POST /v2/images/{id}/actions/deactivate"),
            ]
        })
        .collect();
    want.sort();
    assert_eq!(sent, want);
    // The audit log: an intent before each retire, an outcome after.
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for id in &expected {
        let of: Vec<&Value> = records.iter().filter(|r| r["id"] == id.as_str()).collect();
        assert_eq!(of.len(), 2, "{of:?}");
        assert_eq!(
            (of[0]["record"].as_str(), of[0]["action"].as_str()),
            (Some("intent"), Some("retire"))
        );
        assert_eq!(of[1]["result"], "retired");
    }

    // list --retired.
    let listed = imagecat(&["-c", &url, "-o", "json", "list", "--retired"], &env).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let ids: HashSet<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected);

    // restore web-2: a reactivate and the stamp removed.
    let from = emu.server().request_count();
    let restored = imagecat(&["-c", &url, "restore", &uuid(2)], &env).await;
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert!(restored.stdout.contains("restored"), "{}", restored.stdout);
    assert_eq!(
        writes_since(&emu, from),
        [
            format!("POST /v2/images/{}/actions/reactivate", uuid(2)),
            format!("PATCH /v2/images/{}", uuid(2)),
        ]
    );
    let again = imagecat(&["-c", &url, "restore", &uuid(1)], &env).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is not retired"), "{}", again.stdout);

    // Twenty days pass for web-3 and web-4; an instance boots web-3.
    let old = (Utc::now() - Duration::days(20)).to_rfc3339_opts(SecondsFormat::Secs, true);
    for n in [3, 4] {
        emu.update(&uuid(n), |img| {
            img.properties.insert(STAMP.to_owned(), old.clone());
        });
    }
    emu.insert_server(NovaServer::new(
        "5e7e0000-0000-4000-8000-0000000000aa",
        uuid(3),
    ));

    // Phase two: web-4 only.
    let from = emu.server().request_count();
    let run = imagecat(
        &prune(&url, &["--delete-retired-after", "14d", "--apply", "--yes"]),
        &env,
    )
    .await;
    let done = entries(&run);
    let reasons = |n: u32| {
        done.iter()
            .find(|e| e["id"] == uuid(n).as_str())
            .map(|e| e["reasons"].clone())
            .unwrap()
    };
    assert_eq!(reasons(1), serde_json::json!(["not-retired"]));
    assert_eq!(reasons(2), serde_json::json!(["not-retired"]));
    assert_eq!(reasons(3), serde_json::json!(["in-use"]));
    assert_eq!(ids_where(&done, "result", "deleted"), [uuid(4)].into());
    assert_eq!(
        writes_since(&emu, from),
        [format!("DELETE /v2/images/{}", uuid(4))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_retire_older_retires_all_but_the_newest_of_each_family() {
    let emu = web_family().await;
    let url = emu.usage_catalog_url();
    let env = [("OS_TOKEN", GLANCE_TOKEN)];
    let refused = imagecat(&["-c", &url, "latest", "--retire-older"], &env).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "latest",
            "--name",
            "web-*",
            "--owner",
            PROJECT_ID,
            "--family",
            "^(web)-",
            "--retire-older",
            "--apply",
            "--yes",
        ],
        &env,
    )
    .await;
    let done = entries(&run);
    let expected: HashSet<String> = [2, 3, 4].map(uuid).into();
    assert_eq!(ids_where(&done, "result", "retired"), expected);
    let sent: HashSet<String> = writes_since(&emu, 0).into_iter().collect();
    for id in &expected {
        assert!(
            sent.contains(&format!("POST /v2/images/{id}/actions/deactivate")),
            "{sent:?}"
        );
    }
    assert!(
        !sent
            .iter()
            .any(|w| w.contains(&uuid(1)) || w.starts_with("DELETE")),
        "{sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_retire_on_a_fan_out_plans_nothing_where_the_backend_cannot_retire() {
    // Glance through Keystone (it says who the caller is, as TOAST does
    // not: no --owner, which would also filter TOAST's owner-less images).
    let user = KeystoneUser::default();
    let config = GlanceEmulatorConfig::default()
        .images(0)
        .keystone(user.clone());
    let glance_emu = family_on(
        GlanceEmulator::start(config, ServeOptions::default())
            .await
            .unwrap(),
    );
    let toast_emu = toast(6).await;
    let token = toast_emu.config().token.clone();
    let (glance_url, toast_url) = (glance_emu.catalog_url(), toast_emu.catalog_url());
    let identity = glance_emu.identity_v3_url();
    let env = [
        ("IMAGECAT_TOAST_TOKEN", token.as_str()),
        ("OS_AUTH_URL", identity.as_str()),
        ("OS_USERNAME", user.username.as_str()),
        ("OS_PASSWORD", user.password.as_str()),
        ("OS_PROJECT_NAME", user.project_name.as_str()),
        ("OS_USER_DOMAIN_NAME", user.user_domain.as_str()),
        ("OS_PROJECT_DOMAIN_NAME", user.project_domain.as_str()),
        ("OS_REGION_NAME", "RegionOne"),
    ];
    let run = imagecat(
        &[
            "-c",
            &toast_url,
            "-c",
            &glance_url,
            "-o",
            "json",
            "prune",
            "--family",
            "^(web)-",
            "--keep",
            "1",
            "--retire",
            "--apply",
            "--yes",
        ],
        &env,
    )
    .await;
    let done = entries(&run);
    assert!(
        run.stderr.contains(&format!(
            "{toast_url}: toast cannot retire images; nothing planned there"
        )),
        "{}",
        run.stderr
    );
    let on_toast: Vec<&Value> = done.iter().filter(|e| e["backend"] == "toast").collect();
    assert!(!on_toast.is_empty(), "{done:?}");
    for e in on_toast {
        assert_eq!(e["action"], "keep");
        assert_eq!(e["reasons"], serde_json::json!(["retire-not-supported"]));
    }
    assert_eq!(
        toast_emu.server().count_requests(|r| r.method != "GET"),
        0,
        "a write reached the backend that cannot retire"
    );
    let expected: HashSet<String> = [2, 3, 4].map(uuid).into();
    assert_eq!(ids_where(&done, "result", "retired"), expected, "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_list_retired_on_backends_without_retire_say_so_by_name() {
    let emu = dcmgr(4).await;
    let account = emu.own_account().to_owned();
    let url = emu.catalog_url(Some(&account));
    let run = imagecat(&["-c", &url, "restore", "wmi-00000001"], &[]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("dcmgr cannot retire images"),
        "{}",
        run.stderr
    );
    let listed = imagecat(&["-c", &url, "-o", "json", "list", "--retired"], &[]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json(), serde_json::json!([]));
    assert!(
        listed.stderr.contains("dcmgr cannot retire images"),
        "{}",
        listed.stderr
    );
}

/// Through the library (the facade's `open`): TOAST and DCMGR catalogs
/// have no retire capability, and `retire`/`restore` are `NotSupported`
/// naming the backend, with no request sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_and_dcmgr_catalogs_cannot_retire_and_say_so_by_name() {
    use imagecat::retire::{Blocks, InEffect, RetireMethod, RetireRequest};
    use imagecat::{Credentials, ErrorKind, ImageId, OpenOptions, SecretString};
    static ANY: RetireMethod = RetireMethod::new(
        "deactivate",
        "-",
        Blocks::Everyone,
        "-",
        "-",
        InEffect::Deactivated,
    );
    let t = toast(3).await;
    let token = Credentials::token(SecretString::new(t.config().token.clone()));
    let toast_catalog =
        imagecat::open_with(&t.catalog_url(), &OpenOptions::new().credentials(token)).unwrap();
    let d = dcmgr(3).await;
    let dcmgr_catalog = imagecat::open(&d.catalog_url(None)).unwrap();
    let request = RetireRequest::new(&ANY, Utc::now());
    for (catalog, name, id) in [
        (
            &toast_catalog,
            "toast",
            "00000000-0000-4000-8000-000000000001",
        ),
        (&dcmgr_catalog, "dcmgr", "wmi-00000001"),
    ] {
        assert!(catalog.info().capabilities.retire.is_none(), "{name}");
        let id = ImageId::new(id);
        for e in [
            catalog.retire(&id, &request).await.unwrap_err(),
            catalog.restore(&id).await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::NotSupported, "{name}: {e}");
            assert!(
                e.to_string()
                    .contains(&format!("{name} cannot retire images")),
                "{e}"
            );
        }
    }
    assert_eq!(t.server().count_requests(|r| r.method != "GET"), 0);
    assert_eq!(d.server().count_requests(|r| r.method != "GET"), 0);
}

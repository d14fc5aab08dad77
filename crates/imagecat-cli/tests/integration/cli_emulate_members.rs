//! `imagecat emulate glance` prints an admin's and a project member's
//! token (and Keystone users of both roles); run as the member, a client
//! sees what Glance shows a member of the project — public images, the
//! project's own, shared ones it accepted, community ones only when asked
//! — and never another project's private image; the admin sees them.
//! Checked with imagecat itself and with the real python-openstackclient
//! (`openstack image list`, installed by
//! `scripts/real-glance/install-clients.sh`; skipped visibly with
//! `IMAGECAT_SKIP_REAL_GLANCE=1`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use imagecat_testkit::real_glance::{real_glance, skip};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{command, imagecat};

/// What `emulate glance` printed: the catalog URL, the tokens by role and
/// the Keystone lines.
struct Printed {
    url: String,
    admin: String,
    member: String,
    keystone: Vec<String>,
}

/// `OS_TOKEN=…` of the stderr line that starts with `role:`.
fn token_of(lines: &[String], role: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{role}: ")))
        .unwrap_or_else(|| panic!("no {role} line in {lines:?}"));
    let at = line.find("OS_TOKEN=").expect("OS_TOKEN=") + "OS_TOKEN=".len();
    line[at..].split_whitespace().next().unwrap().to_owned()
}

/// `KEY=value` of a line.
fn var<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line.find(&format!("{key}=")).unwrap() + key.len() + 1;
    line[at..].split_whitespace().next().unwrap()
}

async fn start() -> (tokio::process::Child, Printed) {
    let mut child = command(&["emulate", "glance", "--images", "42", "--instances", "0"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = out.next_line().await.unwrap().expect("the catalog URL");
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut lines = Vec::new();
    while let Some(line) = err.next_line().await.unwrap() {
        if line.starts_with("serving until") {
            break;
        }
        lines.push(line);
    }
    let printed = Printed {
        url,
        admin: token_of(&lines, "admin"),
        member: token_of(&lines, "member"),
        keystone: lines
            .iter()
            .filter(|l| l.starts_with("keystone: "))
            .cloned()
            .collect(),
    };
    (child, printed)
}

/// `(id, owner, visibility)` of an imagecat JSON listing.
fn rows(run: &crate::support::Run) -> BTreeSet<(String, String, String)> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("id"), s("owner"), s("visibility"))
        })
        .collect()
}

/// What Glance lists by default for a member of `project`, out of the
/// admin's full listing: public images and the project's own (no image is
/// shared with it in the seed).
fn member_view(
    all: &BTreeSet<(String, String, String)>,
    project: &str,
) -> BTreeSet<(String, String, String)> {
    all.iter()
        .filter(|(_, owner, vis)| vis == "public" || owner == project)
        .cloned()
        .collect()
}

fn others_private(rows: &BTreeSet<(String, String, String)>, project: &str) -> usize {
    rows.iter()
        .filter(|(_, owner, vis)| vis == "private" && owner != project)
        .count()
}

const PROJECT: &str = imagecat_emulators::glance::PROJECT_ID;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_token_sees_what_a_glance_member_sees_and_the_admin_everything() {
    let (mut child, printed) = start().await;
    assert_ne!(printed.admin, printed.member);
    let list = |token: String| {
        let url = printed.url.clone();
        async move {
            rows(&imagecat(&["-c", &url, "-o", "json", "list"], &[("OS_TOKEN", &token)]).await)
        }
    };
    let admin = list(printed.admin.clone()).await;
    let member = list(printed.member.clone()).await;
    assert!(
        others_private(&admin, PROJECT) > 0,
        "the admin sees other projects' private images: {admin:?}"
    );
    assert_eq!(others_private(&member, PROJECT), 0, "{member:?}");
    assert_eq!(member, member_view(&admin, PROJECT));

    if !skip() {
        let osc = tokio::task::spawn_blocking(install_clients)
            .await
            .expect("install");
        // A token with a fixed endpoint skips version discovery: the
        // endpoint names the version, as with a real Glance.
        let endpoint = format!("{}/v2", glance_endpoint(&printed.url));
        let by_token = |token: &str| {
            let (osc, endpoint, token) = (osc.clone(), endpoint.clone(), token.to_owned());
            move || {
                openstack(
                    &osc,
                    &[
                        "--os-auth-type",
                        "admin_token",
                        "--os-endpoint",
                        &endpoint,
                        "--os-token",
                        &token,
                    ],
                )
            }
        };
        let admin_osc = tokio::task::spawn_blocking(by_token(&printed.admin))
            .await
            .unwrap();
        let member_osc = tokio::task::spawn_blocking(by_token(&printed.member))
            .await
            .unwrap();
        assert_eq!(admin_osc, admin, "openstack image list as the admin");
        assert_eq!(member_osc, member, "openstack image list as the member");

        // Through the emulator's Keystone: each user's token carries its
        // roles, and the image API answers by them.
        assert_eq!(printed.keystone.len(), 2, "{:?}", printed.keystone);
        for line in &printed.keystone {
            let admin_role = line.contains("roles admin");
            let args: Vec<String> = [
                "--os-auth-type",
                "password",
                "--os-identity-api-version",
                "3",
                "--os-auth-url",
                var(line, "OS_AUTH_URL"),
                "--os-username",
                var(line, "OS_USERNAME"),
                "--os-password",
                var(line, "OS_PASSWORD"),
                "--os-project-id",
                var(line, "OS_PROJECT_ID"),
                "--os-user-domain-name",
                "Default",
                "--os-region-name",
                "RegionOne",
                "--os-interface",
                "public",
            ]
            .map(str::to_owned)
            .into();
            let osc = osc.clone();
            let seen = tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                openstack(&osc, &args)
            })
            .await
            .unwrap();
            let want = if admin_role { &admin } else { &member };
            assert_eq!(&seen, want, "openstack image list via Keystone: {line}");
        }
    }
    child.kill().await.unwrap();
}

/// `http://127.0.0.1:PORT` of `glance+http://127.0.0.1:PORT?…`.
fn glance_endpoint(url: &str) -> String {
    let url = url.strip_prefix("glance+").unwrap_or(url);
    url.split('?').next().unwrap().to_owned()
}

fn install_clients() -> PathBuf {
    let glance = real_glance();
    glance.install("install-clients.sh");
    glance.dir().join("clients/bin/openstack")
}

/// `openstack AUTH… image list --long -f json` as `(id, project, visibility)`.
fn openstack(osc: &Path, auth: &[&str]) -> BTreeSet<(String, String, String)> {
    let output = std::process::Command::new(osc)
        .args(auth)
        .args(["image", "list", "--long", "-f", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .expect("openstack runs");
    assert!(
        output.status.success(),
        "openstack {auth:?} image list failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).expect("JSON from openstack");
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("ID"), s("Project"), s("Visibility"))
        })
        .collect()
}

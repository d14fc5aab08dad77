//! The built `imagecat` binary against the emulators: every command, every
//! output format, the exit codes, named catalogs from a config file, and a
//! fan-out with one failing catalog.

use std::collections::HashSet;
use std::io::Write as _;
use std::process::Stdio;

use crate::support::{command, dcmgr, imagecat, toast};
use tokio::io::{AsyncBufReadExt, BufReader};

const ACCOUNT: &str = "a-shpoolxx";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_in_every_format_matches_the_catalog() {
    let emu = dcmgr(40).await;
    let url = emu.catalog_url(Some(ACCOUNT));
    let want = emu.default_listing(Some(ACCOUNT));
    assert!(want.len() > 10);

    let json = imagecat(&["-c", &url, "-o", "json", "list"], &[]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let ids: Vec<String> = json.column("id");
    assert_eq!(ids, want);
    let first = &json.json()[0];
    for field in [
        "id",
        "name",
        "status",
        "native_status",
        "visibility",
        "owner",
        "created_at",
        "updated_at",
        "size_bytes",
        "min_disk_gb",
        "min_ram_mb",
        "disk_format",
        "arch",
        "checksum",
        "protected",
        "description",
        "properties",
        "backend",
    ] {
        assert!(first.get(field).is_some(), "missing {field} in {first}");
    }
    assert!(first.get("native").is_none());
    assert!(first.get("catalog").is_none());
    assert_eq!(first["backend"], "dcmgr");

    let ndjson = imagecat(&["-c", &url, "-o", "ndjson", "list"], &[]).await;
    let lines: Vec<serde_json::Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), want.len());
    assert_eq!(lines[0]["id"], want[0].as_str());

    let csv = imagecat(&["-c", &url, "-o", "csv", "list"], &[]).await;
    let mut rows = csv.stdout.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("id,name,status,native_status,visibility")
    );
    assert_eq!(rows.count(), want.len());

    let yaml = imagecat(&["-c", &url, "-o", "yaml", "list"], &[]).await;
    let parsed: Vec<serde_json::Value> = serde_norway::from_str(&yaml.stdout).unwrap();
    assert_eq!(parsed.len(), want.len());

    let table = imagecat(&["-c", &url, "list"], &[]).await;
    let mut lines = table.stdout.lines();
    let header = lines.next().unwrap();
    for column in [
        "ID",
        "NAME",
        "STATUS",
        "VISIBILITY",
        "SIZE",
        "CREATED",
        "BACKEND",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(lines.count(), want.len());

    let raw = imagecat(
        &["-c", &url, "-o", "json", "list", "--raw", "--limit", "1"],
        &[],
    )
    .await;
    assert_eq!(raw.json()[0]["native"]["id"], want[0].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_limit_and_sort() {
    let emu = dcmgr(60).await;
    let url = emu.catalog_url(Some(ACCOUNT));
    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "list",
            "--limit",
            "7",
            "--page-size",
            "3",
        ],
        &[],
    )
    .await;
    assert_eq!(run.json().as_array().unwrap().len(), 7);

    let run = imagecat(
        &[
            "-c",
            &url,
            "-o",
            "json",
            "list",
            "--status",
            "active",
            "--visibility",
            "public",
        ],
        &[],
    )
    .await;
    let all = run.json();
    assert!(!all.as_array().unwrap().is_empty());
    for image in all.as_array().unwrap() {
        assert_eq!(image["status"], "active");
        assert_eq!(image["visibility"], "public");
    }

    let run = imagecat(&["-c", &url, "-o", "json", "list", "--sort", "name"], &[]).await;
    let names: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_lines_leave_before_the_last_page_is_fetched() {
    let emu = dcmgr(3000).await;
    let url = emu.catalog_url(None);
    let mut child = command(&["-c", &url, "-o", "ndjson", "list", "--page-size", "10"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("a first line");
    assert!(first.starts_with('{'));
    // We have not read further, so the pipe's backpressure holds the CLI
    // back: the first line was out long before the 300th page.
    let pages_so_far = emu.server().request_count();
    assert!(
        pages_so_far < 300,
        "{pages_so_far} pages were fetched before the first line"
    );
    let mut count = 1;
    while lines.next_line().await.unwrap().is_some() {
        count += 1;
    }
    assert!(child.wait().await.unwrap().success());
    assert_eq!(count, emu.default_listing(None).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_latest_and_info() {
    let emu = dcmgr(30).await;
    let url = emu.catalog_url(Some(ACCOUNT));
    let id = emu.default_listing(Some(ACCOUNT))[3].clone();

    let show = imagecat(&["-c", &url, "-o", "json", "show", &id], &[]).await;
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(show.json()["id"], id.as_str());
    let table = imagecat(&["-c", &url, "show", &id], &[]).await;
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("id") && l.contains(&id)),
        "{}",
        table.stdout
    );

    let latest = imagecat(&["-c", &url, "-o", "json", "latest"], &[]).await;
    assert_eq!(latest.code, 0, "{}", latest.stderr);
    let all = imagecat(&["-c", &url, "-o", "json", "list"], &[])
        .await
        .json();
    let newest = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["created_at"].as_str().unwrap().to_owned())
        .max()
        .unwrap();
    assert_eq!(latest.json()["created_at"], newest.as_str());

    let none = imagecat(&["-c", &url, "latest", "--name", "no-such-image-*"], &[]).await;
    assert_eq!(none.code, 3, "{}", none.stderr);

    let info = imagecat(&["-c", &url, "-o", "json", "info"], &[]).await;
    let info = &info.json()[0];
    assert_eq!(info["backend"], "dcmgr");
    assert!(info["endpoint"].as_str().unwrap().contains("/api/12.03"));
    assert_eq!(info["capabilities"]["paging"], "offset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_never_a_guess() {
    let emu = dcmgr(30).await;
    let url = emu.catalog_url(Some(ACCOUNT));
    // A private image no instance uses: the usage check lets it go (an
    // account-scoped listing cannot vouch for a public one).
    let used: Vec<String> = emu
        .instances()
        .into_iter()
        .filter_map(|i| i.image_id)
        .collect();
    let victims: Vec<String> = emu
        .deletable_ids(Some(ACCOUNT), 30)
        .into_iter()
        .filter(|id| !emu.image(id).unwrap().is_public && !used.contains(id))
        .collect();
    let id = victims[0].as_str();

    // stdin is not a terminal: refused without --yes, nothing sent
    let before = emu.server().request_count();
    let refused = imagecat(&["-c", &url, "delete", id], &[]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(emu.server().request_count(), before);

    let dry = imagecat(&["-c", &url, "delete", id, "--dry-run"], &[]).await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("would delete"), "{}", dry.stdout);
    assert_eq!(emu.image(id).unwrap().state, "available");

    let done = imagecat(&["-c", &url, "delete", id, "--yes"], &[]).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.contains("deleted"), "{}", done.stdout);
    assert_eq!(emu.image(id).unwrap().state, "deleted");

    let again = imagecat(&["-c", &url, "delete", id, "--yes"], &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("already deleted"), "{}", again.stdout);

    let bad = imagecat(&["-c", &url, "delete", "wmi-../../instances", "--yes"], &[]).await;
    assert_eq!(bad.code, 5, "{}", bad.stderr);

    let missing = imagecat(&["-c", &url, "delete", &emu.missing_id(), "--yes"], &[]).await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_image_is_refused_before_any_delete() {
    let emu = toast(20).await;
    let token = emu.config().token.clone();
    let url = emu.catalog_url();
    let protected = emu.protected_id().unwrap();
    let run = imagecat(
        &["-c", &url, "delete", &protected, "--yes"],
        &[("IMAGECAT_TOAST_TOKEN", &token)],
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("protected"), "{}", run.stderr);
    assert!(
        emu.server().requests().iter().all(|r| r.method != "DELETE"),
        "a DELETE was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_name_the_failure() {
    let emu = toast(12).await;
    let url = emu.catalog_url();

    let no_catalog = imagecat(&["list"], &[]).await;
    assert_eq!(no_catalog.code, 2, "{}", no_catalog.stderr);

    let bad_scheme = imagecat(&["-c", "s3://bucket", "list"], &[]).await;
    assert_eq!(bad_scheme.code, 2);
    assert!(bad_scheme.stderr.contains("toast") && bad_scheme.stderr.contains("dcmgr"));

    let bad_key = imagecat(&["-c", &format!("{url}&region=kr1"), "list"], &[]).await;
    assert_eq!(bad_key.code, 2, "{}", bad_key.stderr);
    assert!(bad_key.stderr.contains("appkey"), "{}", bad_key.stderr);

    let denied = imagecat(
        &["-c", &url, "list"],
        &[("IMAGECAT_TOAST_TOKEN", "wrong-token")],
    )
    .await;
    assert_eq!(denied.code, 4, "{}", denied.stderr);
    // one line naming the catalog, the backend and its code
    let line = denied
        .stderr
        .lines()
        .find(|l| l.starts_with("imagecat:"))
        .unwrap();
    assert!(
        line.contains(&url) && line.contains("toast") && line.contains("[-3]"),
        "{line}"
    );

    let token = emu.config().token.clone();
    let invalid = imagecat(
        &["-c", &url, "show", "not-a-uuid"],
        &[("IMAGECAT_TOAST_TOKEN", &token)],
    )
    .await;
    assert_eq!(invalid.code, 5, "{}", invalid.stderr);

    let missing = imagecat(
        &["-c", &url, "show", &emu.missing_id()],
        &[("IMAGECAT_TOAST_TOKEN", &token)],
    )
    .await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_catalogs_from_a_config_file_and_a_partial_fan_out() {
    let d = dcmgr(20).await;
    let t = toast(15).await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"
[catalogs.lab]
url = "{}"

[catalogs.kr1]
url = "{}"
token = {{ env = "E2E_TOAST_TOKEN" }}

[catalogs.broken]
url = "{}"
token = "not-the-token"
"#,
        d.catalog_url(Some(ACCOUNT)),
        t.catalog_url(),
        t.catalog_url()
    )
    .unwrap();
    let config = file.path().to_str().unwrap().to_owned();
    let token = t.config().token.clone();
    let envs = [
        ("IMAGECAT_CONFIG", config.as_str()),
        ("E2E_TOAST_TOKEN", token.as_str()),
    ];

    let both = imagecat(&["-c", "lab", "-c", "kr1", "-o", "json", "list"], &envs).await;
    assert_eq!(both.code, 0, "{}", both.stderr);
    let catalogs: HashSet<String> = both.column("catalog").into_iter().collect();
    assert_eq!(
        catalogs,
        HashSet::from(["lab".to_owned(), "kr1".to_owned()])
    );
    let from_lab = both
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["catalog"] == "lab")
        .count();
    assert_eq!(from_lab, d.default_listing(Some(ACCOUNT)).len());

    let partial = imagecat(&["-c", "lab", "-c", "broken", "-o", "json", "list"], &envs).await;
    assert_eq!(partial.code, 6, "{}", partial.stderr);
    assert_eq!(partial.json().as_array().unwrap().len(), from_lab);
    let errors: Vec<&str> = partial
        .stderr
        .lines()
        .filter(|l| l.starts_with("imagecat: broken"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", partial.stderr);
    assert!(!partial.stderr.contains("not-the-token"));

    let unknown = imagecat(&["-c", "nope", "list"], &envs).await;
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("lab"), "{}", unknown.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_output_even_at_trace_level() {
    let emu = toast(30).await;
    let config = emu.config().clone();
    let url = emu.catalog_url();
    let run = imagecat(
        &["-vvv", "-c", &url, "-o", "json", "list", "--page-size", "7"],
        &[
            ("IMAGECAT_TOAST_USERNAME", &config.username),
            ("IMAGECAT_TOAST_PASSWORD", &config.password),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
        "no logs at -vvv"
    );
    let issued = emu.issued_tokens();
    assert!(!issued.is_empty());
    for secret in issued.iter().chain([&config.password]) {
        assert!(!run.stdout.contains(secret.as_str()), "a secret in stdout");
        assert!(!run.stderr.contains(secret.as_str()), "a secret in stderr");
    }

    // A wrong password: refused, and still never printed.
    let wrong = "wrong-SECRET-api-password";
    let run = imagecat(
        &["-vvv", "-c", &url, "-o", "json", "list"],
        &[
            ("IMAGECAT_TOAST_USERNAME", &config.username),
            ("IMAGECAT_TOAST_PASSWORD", wrong),
        ],
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("[50401]"), "{}", run.stderr);
    assert!(run.stderr.contains("TRACE"), "no logs at -vvv");
    for secret in [wrong, config.password.as_str()] {
        assert!(!run.stdout.contains(secret), "a secret in stdout");
        assert!(!run.stderr.contains(secret), "a secret in stderr");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_prints_its_url_first_and_serves_it() {
    let mut child = command(&["emulate", "dcmgr", "--images", "25"])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next_line().await.unwrap().expect("the catalog URL");
    assert!(url.starts_with("dcmgr+http://127.0.0.1:"), "{url}");
    let run = imagecat(
        &["-c", &url, "-o", "json", "list", "--include-deleted"],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json().as_array().unwrap().len() >= 20);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_end_to_end() {
    let run = imagecat(&["demo"], &[]).await;
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for step in ["1.", "2.", "3.", "4.", "5.", "Done."] {
        assert!(
            run.stdout.contains(step),
            "missing step {step}:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("is gone"), "{}", run.stdout);
    assert!(run.stdout.contains("refused as expected"), "{}", run.stdout);
    // the listing spans the four clouds, each with images of its own
    for cloud in ["toast", "dcmgr", "ec2", "gce"] {
        let said = format!(" from {cloud}");
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains("images:"))
            .unwrap_or_else(|| panic!("no count line:\n{}", run.stdout));
        let count: usize = line
            .split(',')
            .find(|part| part.trim_end().ends_with(&said))
            .and_then(|part| part.split_whitespace().rev().nth(2)?.parse().ok())
            .unwrap_or_else(|| panic!("no count for {cloud}: {line}"));
        assert!(count > 0, "{cloud}: {line}");
        assert!(
            run.stdout
                .lines()
                .any(|l| l.split_whitespace().last() == Some(cloud)),
            "no {cloud} row:\n{}",
            run.stdout
        );
    }
    // no credential is printed
    for secret in [
        imagecat_emulators::ec2::SECRET_ACCESS_KEY,
        imagecat_emulators::ec2::ACCESS_KEY_ID,
        imagecat_emulators::gce::TOKEN,
    ] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
}

//! `imagecat golden`: the matrix of three emulated catalogs seeded with a
//! current, a stale, a missing and an extra build, by name, by checksum,
//! by a version property and by tag; exit 0 when consistent, 10 on drift;
//! unknown builds said; hostile names escaped.

use imagecat::chrono::{TimeZone, Utc};
use imagecat_emulators::glance::{GlanceEmulator, GlanceImage};
use imagecat_emulators::toast::ToastImage;
use serde_json::Value;

use crate::support::{GLANCE_TOKEN, Run, assert_no_control, glance, imagecat, toast};

const FAMILY: &str = r"^(.+)-\d{8}$";

/// One seeded build: a name, created on day `day` of January 2026, its
/// checksum (`sum` repeated), `build_version` property and `v…` tag.
pub(crate) fn build(n: u32, name: &str, day: u32, sum: char, version: &str) -> GlanceImage {
    let mut i = GlanceImage::new(format!("00000000-0000-4000-8000-{n:012}"), name);
    i.created_at = Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap();
    i.updated_at = i.created_at;
    i.checksum = Some(sum.to_string().repeat(32));
    i.properties
        .insert("build_version".into(), version.to_owned());
    i.tags = vec![format!("v{version}"), "golden".into()];
    i
}

/// kr1 holds ubuntu's newest build (current) and rocky; kr2 an older
/// ubuntu (stale), rocky and app-x, which no other catalog has (extra);
/// jp1 rocky only (ubuntu and app-x missing) and a failed newer ubuntu
/// upload, which the default `--status active` leaves out.
pub(crate) async fn three() -> [GlanceEmulator; 3] {
    let (a, b, c) = (glance(0).await, glance(0).await, glance(0).await);
    a.insert(build(1, "ubuntu-24.04-20260101", 1, 'a', "1.0"));
    a.insert(build(2, "ubuntu-24.04-20260301", 20, 'b', "1.1"));
    a.insert(build(3, "rocky-9-20260105", 5, 'c', "9.5"));
    b.insert(build(4, "ubuntu-24.04-20260101", 2, 'a', "1.0"));
    b.insert(build(5, "rocky-9-20260105", 6, 'c', "9.5"));
    b.insert(build(6, "app-x-20260110", 10, 'd', "3.0"));
    c.insert(build(7, "rocky-9-20260105", 7, 'c', "9.5"));
    let mut failed = build(8, "ubuntu-24.04-20260401", 25, 'e', "1.2");
    failed.status = "killed".into();
    c.insert(failed);
    [a, b, c]
}

async fn golden(urls: &[String], extra: &[&str]) -> Run {
    let mut args: Vec<&str> = Vec::new();
    for url in urls {
        args.extend(["-c", url.as_str()]);
    }
    args.extend(["golden", "--family", FAMILY]);
    args.extend(extra);
    imagecat(&args, &[("OS_TOKEN", GLANCE_TOKEN)]).await
}

/// `family: [state per catalog]` of a `-o json` run.
fn states(run: &Run) -> Vec<(String, Vec<String>)> {
    run.json()
        .as_array()
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .iter()
        .map(|f| {
            let cells = f["cells"].as_array().unwrap();
            (
                f["family"].as_str().unwrap().to_owned(),
                cells
                    .iter()
                    .map(|c| c["state"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn want(rows: &[(&str, [&str; 3])]) -> Vec<(String, Vec<String>)> {
    rows.iter()
        .map(|(f, s)| ((*f).to_owned(), s.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

fn family<'a>(json: &'a Value, name: &str) -> &'a Value {
    json.as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {json}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_catalogs_show_current_stale_missing_and_extra_by_every_key() {
    let emus = three().await;
    let urls: Vec<String> = emus.iter().map(GlanceEmulator::catalog_url).collect();
    let expected = want(&[
        ("app-x", ["missing", "extra", "missing"]),
        ("rocky-9", ["current", "current", "current"]),
        ("ubuntu-24.04", ["current", "stale", "missing"]),
    ]);
    for by in ["name", "checksum", "property:build_version", "tag:v*"] {
        let run = golden(&urls, &["--by", by, "-o", "json"]).await;
        assert_eq!(run.code, 10, "--by {by}: {}", run.stderr);
        assert_eq!(states(&run), expected, "--by {by}");
        assert!(run.stderr.contains("2 of 3 families"), "{}", run.stderr);
        let json = run.json();
        let ubuntu = family(&json, "ubuntu-24.04");
        assert_eq!(ubuntu["state"], "drift");
        assert_eq!(ubuntu["newest"]["catalog"], urls[0].as_str());
        assert_eq!(ubuntu["newest"]["image"]["name"], "ubuntu-24.04-20260301");
        assert_eq!(ubuntu["cells"][1]["catalog"], urls[1].as_str());
        assert_eq!(ubuntu["cells"][1]["image"]["name"], "ubuntu-24.04-20260101");
        assert!(ubuntu["cells"][2]["image"].is_null());
    }
    let by_version = golden(&urls, &["--by", "property:build_version", "-o", "json"]).await;
    let json = by_version.json();
    assert_eq!(
        family(&json, "ubuntu-24.04")["newest"]["image"]["build"],
        "1.1"
    );
    assert_eq!(
        family(&json, "ubuntu-24.04")["cells"][1]["image"]["build"],
        "1.0"
    );

    // Only the consistent family: exit 0; the drifting one alone: 10.
    let rocky = golden(&urls, &["--name", "rocky-*", "--by", "checksum"]).await;
    assert_eq!(rocky.code, 0, "{}", rocky.stderr);
    let ubuntu = golden(&urls, &["--name", "ubuntu-*"]).await;
    assert_eq!(ubuntu.code, 10, "{}", ubuntu.stderr);
    // With the failed upload counted, jp1 holds ubuntu's newest "build".
    let all = golden(
        &urls,
        &["--status", "active", "--status", "failed", "-o", "json"],
    )
    .await;
    assert_eq!(
        family(&all.json(), "ubuntu-24.04")["cells"][2]["state"],
        "current"
    );

    // The table: one short column per catalog, a legend naming them.
    let table = golden(&urls, &["--by", "property:build_version"]).await;
    assert_eq!(table.code, 10, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    let cut = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(cut(lines[0]), "FAMILY STATE NEWEST 1 2 3 OLDER");
    assert_eq!(cut(lines[1]), "app-x drift 3.0 - + -");
    assert_eq!(cut(lines[2]), "rocky-9 consistent 9.5 = = =");
    assert_eq!(cut(lines[3]), "ubuntu-24.04 drift 1.1 = < - 1.0 (2)");
    for (n, url) in urls.iter().enumerate() {
        assert!(
            table.stdout.contains(&format!("{:>2}  {url}", n + 1)),
            "{}",
            table.stdout
        );
    }
    assert!(table.stdout.contains("= current"), "{}", table.stdout);
    // csv: exact states and builds.
    let csv = golden(&urls, &["-o", "csv", "--by", "checksum"]).await;
    let row = csv
        .stdout
        .lines()
        .find(|l| l.starts_with("ubuntu"))
        .unwrap();
    let b = "b".repeat(32);
    let a = "a".repeat(32);
    assert_eq!(
        row,
        format!(
            "ubuntu-24.04,drift,{b},{},current:{b},stale:{a},missing,{a} (2)",
            urls[0]
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converted_copy_is_the_same_version_but_other_bits() {
    // jp1 imported kr1's debian later and converted it: other checksum,
    // same name and build_version.
    let (a, b, c) = (glance(0).await, glance(0).await, glance(0).await);
    a.insert(build(1, "debian-12-20260103", 3, 'e', "12.4"));
    b.insert(build(2, "debian-12-20260103", 3, 'e', "12.4"));
    c.insert(build(3, "debian-12-20260103", 4, 'f', "12.4"));
    let urls = [a.catalog_url(), b.catalog_url(), c.catalog_url()];
    for by in ["name", "property:build_version", "tag:v*"] {
        let run = golden(&urls, &["--by", by]).await;
        assert_eq!(run.code, 0, "--by {by}: {}\n{}", run.stderr, run.stdout);
    }
    let run = golden(&urls, &["--by", "checksum", "-o", "json"]).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert_eq!(
        states(&run),
        want(&[("debian-12", ["stale", "stale", "current"])])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_builds_are_said_and_never_consistent() {
    // TOAST has no checksums: by checksum its cell is unknown, not equal.
    let (a, b) = (glance(0).await, glance(0).await);
    let t = toast(0).await;
    a.insert(build(1, "rocky-9-20260105", 5, 'c', "9.5"));
    b.insert(build(2, "rocky-9-20260105", 6, 'c', "9.5"));
    let mut rocky = ToastImage::new("00000000-0000-4000-8000-000000000003", "rocky-9-20260105");
    rocky.created_at = Utc.with_ymd_and_hms(2026, 1, 4, 0, 0, 0).unwrap();
    t.insert_image(rocky);
    let urls = [a.catalog_url(), b.catalog_url(), t.catalog_url()];
    let token = t.config().token.clone();
    let env = [
        ("OS_TOKEN", GLANCE_TOKEN),
        ("IMAGECAT_TOAST_TOKEN", token.as_str()),
    ];
    let mut args = vec![];
    for url in &urls {
        args.extend(["-c", url.as_str()]);
    }
    args.extend(["golden", "--family", FAMILY]);
    let by_name = imagecat(&args, &env).await;
    assert_eq!(by_name.code, 0, "{}\n{}", by_name.stderr, by_name.stdout);
    let mut checksum = args.clone();
    checksum.extend(["--by", "checksum", "-o", "json"]);
    let run = imagecat(&checksum, &env).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert_eq!(
        states(&run),
        want(&[("rocky-9", ["current", "current", "unknown"])])
    );
    let json = run.json();
    assert_eq!(json[0]["state"], "unknown");
    assert!(json[0]["cells"][2]["image"]["build"].is_null());
    assert!(run.stderr.contains("1 unknown"), "{}", run.stderr);
    // No such property anywhere: every cell unknown, exit 10.
    let mut nope = args.clone();
    nope.extend(["--by", "property:nope", "-o", "json"]);
    let run = imagecat(&nope, &env).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert_eq!(
        states(&run),
        want(&[("rocky-9", ["unknown", "unknown", "unknown"])])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_escaped_in_the_table_and_exact_in_json() {
    let (a, b) = (glance(0).await, glance(0).await);
    let evil = "evil\x1b]0;PWNED\x07\u{202e}\r-20260101";
    a.insert(build(1, evil, 1, 'a', "1\x1b[2J"));
    b.insert(build(2, "evil-20260101", 1, 'a', "1"));
    let urls = [a.catalog_url(), b.catalog_url()];
    let mut args: Vec<&str> = vec![];
    for url in &urls {
        args.extend(["-c", url.as_str()]);
    }
    args.extend(["golden", "--family", "^(.+)-\\d{8}$"]);
    let env = [("OS_TOKEN", GLANCE_TOKEN)];
    for by in ["name", "property:build_version"] {
        let mut table = args.clone();
        table.extend(["--by", by]);
        let run = imagecat(&table, &env).await;
        assert_eq!(run.code, 10, "{}", run.stderr);
        assert_no_control("golden table", &run.stdout);
        assert_no_control("golden stderr", &run.stderr);
        assert!(
            run.stdout.contains("evil\\x1b]0;PWNED\\x07\\u202e\\r"),
            "{}",
            run.stdout
        );
    }
    let mut json = args.clone();
    json.extend(["-o", "json"]);
    let run = imagecat(&json, &env).await;
    let families: Vec<String> = run.column("family");
    assert!(
        families.contains(&"evil\x1b]0;PWNED\x07\u{202e}\r".to_owned()),
        "{families:?}"
    );
    // One catalog is a usage error.
    let one = imagecat(&["-c", &urls[0], "golden"], &env).await;
    assert_eq!(one.code, 2, "{}", one.stderr);
    let bad = imagecat(
        &["-c", &urls[0], "-c", &urls[1], "golden", "--by", "size"],
        &env,
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_catalogs_by_fifty_families_fit_a_terminal() {
    let mut emus = Vec::new();
    for _ in 0..10 {
        emus.push(glance(0).await);
    }
    let mut n = 0;
    let mut stale = 0;
    for f in 0..50u32 {
        // (created day, name) of each present cell; by hand: the cells
        // whose name is not the newest one's (ties: the greater name).
        let mut cells = Vec::new();
        for (c, emu) in (0u32..).zip(&emus) {
            n += 1;
            if (f + c) % 7 == 3 {
                continue; // missing
            }
            let day = if (f * c) % 5 == 1 { 1 } else { 2 };
            let name = format!("family-{f:02}-linux-{}", 20260100 + day);
            emu.insert(build(n, &name, day + c, 'a', "1"));
            cells.push((day + c, name));
        }
        let newest = cells.iter().max().unwrap().1.clone();
        stale += cells.iter().filter(|(_, name)| *name != newest).count();
    }
    let urls: Vec<String> = emus.iter().map(GlanceEmulator::catalog_url).collect();
    let run = golden(&urls, &[]).await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("FAMILY"), "{}", run.stdout);
    assert!(lines[0].contains("  10  OLDER"), "{}", lines[0]);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("family-")).count(),
        50
    );
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{}", run.stdout);
    let marks = lines[1..=50].join(" ");
    assert_eq!(marks.matches(" < ").count(), stale, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_catalog_is_named_left_out_and_exits_6() {
    let emus = three().await;
    let urls: Vec<String> = emus.iter().map(GlanceEmulator::catalog_url).collect();
    emus[2].push_response(403, "application/json", r#"{"message": "denied"}"#);
    let run = golden(&urls, &["-o", "json"]).await;
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("imagecat: {}", urls[2])),
        "{}",
        run.stderr
    );
    // The two that answered, compared with each other; no column for jp1.
    assert_eq!(
        states(&run)
            .into_iter()
            .map(|(f, s)| (f, s.join(" ")))
            .collect::<Vec<_>>(),
        [
            ("app-x".to_owned(), "missing extra".to_owned()),
            ("rocky-9".to_owned(), "current current".to_owned()),
            ("ubuntu-24.04".to_owned(), "current stale".to_owned()),
        ]
    );
}

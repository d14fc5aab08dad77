//! The built `imagecat` binary's conveniences: shell completions, the man
//! page, `--column` and `-o value`, `config show` with secrets redacted, and
//! the progress line under a pseudo-terminal (util-linux `script`).

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{IMAGECAT, clean_env, dcmgr, imagecat};
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::server::ServeOptions;

const ACCOUNT: &str = "a-shpoolxx";

const SUBCOMMANDS: [&str; 16] = [
    "list",
    "show",
    "delete",
    "usage",
    "latest",
    "diff",
    "golden",
    "prune",
    "report",
    "apply",
    "info",
    "emulate",
    "demo",
    "completions",
    "man",
    "config",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_parse_and_list_the_subcommands() {
    let bash = imagecat(&["completions", "bash"], &[]).await;
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bash.stdout.as_bytes()).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = imagecat(&["completions", shell], &[]).await;
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell} completions lack {sub}");
        }
        assert!(run.stdout.contains("column"), "{shell}: no --column");
    }
    let bad = imagecat(&["completions", "tcsh"], &[]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// `.ci/run` installs `man` (man-db) when missing, so this asserts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_man_page_renders() {
    let page = imagecat(&["man"], &[]).await;
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(page.stdout.starts_with(".ie") || page.stdout.contains(".TH imagecat"));
    let mut file = tempfile::Builder::new().suffix(".1").tempfile().unwrap();
    file.write_all(page.stdout.as_bytes()).unwrap();
    let man = std::process::Command::new("man")
        .arg("-l")
        .arg(file.path())
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::null())
        .output()
        .expect("man is installed (.ci/run installs man-db)");
    assert!(
        man.status.success(),
        "{}",
        String::from_utf8_lossy(&man.stderr)
    );
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(text.contains("NAME"), "{text}");
    assert!(text.contains("imagecat"), "{text}");
    for sub in SUBCOMMANDS {
        assert!(text.contains(sub), "the man page lacks {sub}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_and_value_output() {
    let emu = dcmgr(40).await;
    let url = emu.catalog_url(Some(ACCOUNT));
    let want = emu.default_listing(Some(ACCOUNT));

    let json = imagecat(&["-c", &url, "-o", "json", "list"], &[]).await;
    let images = json.json();
    let images = images.as_array().unwrap();

    let value = imagecat(
        &["-c", &url, "-o", "value", "-C", "id", "-C", "arch", "list"],
        &[],
    )
    .await;
    assert_eq!(value.code, 0, "{}", value.stderr);
    let lines: Vec<&str> = value.stdout.lines().collect();
    assert_eq!(lines.len(), want.len());
    for (line, image) in lines.iter().zip(images) {
        let expected = format!(
            "{} {}",
            image["id"].as_str().unwrap(),
            image["arch"].as_str().unwrap()
        );
        assert_eq!(*line, expected);
    }

    let table = imagecat(
        &[
            "-c", &url, "-C", "NAME", "--column", "owner", "-C", "id", "list",
        ],
        &[],
    )
    .await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let mut rows = table.stdout.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "OWNER", "ID"]);
    let first: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(
        first,
        [
            images[0]["name"].as_str().unwrap(),
            ACCOUNT,
            images[0]["id"].as_str().unwrap()
        ]
    );

    let csv = imagecat(
        &["-c", &url, "-o", "csv", "-C", "id", "-C", "size", "list"],
        &[],
    )
    .await;
    assert_eq!(csv.stdout.lines().next(), Some("id,size_bytes"));
    assert_eq!(csv.stdout.lines().count(), want.len() + 1);

    let bad = imagecat(&["-c", &url, "-C", "colour", "list"], &[]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("description"),
        "lists the columns: {}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_redacts_every_secret() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"
[catalogs.kr1]
url = "toast://api-compute.cloud.toast.com/compute?appkey=APPKEY-SECRET-1"
username = "me@example.com"
password = {{ env = "E2E_KR1_PASSWORD" }}

[catalogs.static]
url = "toast://api-compute.cloud.toast.com/compute?appkey=k2"
token = "TOKEN-SECRET-2"

[catalogs.lab]
url = "dcmgr+http://10.0.0.5:9001/api/12.03?account=a-shpoolxx"

[catalogs.os]
url = "glance+http://admin:PASSWORD-SECRET-3@10.0.0.6:9292/"
token = {{ env = "E2E_OS_TOKEN" }}
"#
    )
    .unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let envs = [
        ("IMAGECAT_CONFIG", path.as_str()),
        ("E2E_KR1_PASSWORD", "PASSWORD-SECRET-4"),
    ];
    for format in ["table", "json", "yaml"] {
        let run = imagecat(&["-o", format, "config", "show"], &envs).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        for secret in [
            "APPKEY-SECRET-1",
            "TOKEN-SECRET-2",
            "PASSWORD-SECRET-3",
            "PASSWORD-SECRET-4",
            "me@example.com",
        ] {
            assert!(
                !run.stdout.contains(secret),
                "{format} shows {secret}:\n{}",
                run.stdout
            );
        }
        for shown in [
            "kr1",
            "static",
            "lab",
            "os",
            "env E2E_KR1_PASSWORD (set)",
            "env E2E_OS_TOKEN (not set)",
            &path,
        ] {
            assert!(
                run.stdout.contains(shown),
                "{format} lacks {shown}:\n{}",
                run.stdout
            );
        }
    }
    let json = imagecat(&["-o", "json", "config", "show"], &envs)
        .await
        .json();
    assert_eq!(
        json["catalogs"][1]["url"],
        "dcmgr+http://10.0.0.5:9001/api/12.03?account=a-shpoolxx"
    );
}

/// Runs `imagecat ARGS` under a pseudo-terminal (util-linux `script`), so
/// stdout and stderr are terminals; returns what the terminal received.
async fn under_a_terminal(args: &str) -> String {
    let line = format!("{IMAGECAT} {args}");
    let out = clean_env(&mut tokio::process::Command::new("script"))
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("script (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_line_shows_on_a_terminal_only() {
    // Small pages served slowly: the listing takes several redraws.
    let emu = DcmgrEmulator::start(
        DcmgrEmulatorConfig::v1203().images(60),
        ServeOptions {
            latency: Duration::from_millis(40),
            ..ServeOptions::default()
        },
    )
    .await
    .unwrap();
    let url = emu.catalog_url(Some(ACCOUNT));
    let listed = emu.default_listing(Some(ACCOUNT)).len();
    let progress = |text: &str| text.contains(" images (") && text.contains("/s");

    let shown = under_a_terminal(&format!("-c '{url}' list --page-size 3")).await;
    assert!(progress(&shown), "no progress line:\n{shown}");
    assert!(shown.contains(&emu.default_listing(Some(ACCOUNT))[0]));
    let table_lines = shown.lines().filter(|l| l.contains("wmi-")).count();
    assert_eq!(table_lines, listed, "{shown}");

    let quiet = under_a_terminal(&format!("-c '{url}' --quiet list --page-size 3")).await;
    assert!(!progress(&quiet), "--quiet drew progress:\n{quiet}");
    assert!(quiet.contains(&emu.default_listing(Some(ACCOUNT))[0]));

    let piped = under_a_terminal(&format!("-c '{url}' list --page-size 3 | cat")).await;
    assert!(!progress(&piped), "progress on a pipe:\n{piped}");

    let json = under_a_terminal(&format!("-c '{url}' -o json list --page-size 3")).await;
    assert!(!progress(&json), "progress with -o json:\n{json}");
}

/// `-C` works on every command that prints rows, naming that kind of
/// row's columns (field name or header, any case), and is refused with
/// exit 2 and the command's columns where its rows have no such column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_on_every_command_that_prints_rows() {
    let env = [("IMAGECAT_CONFIG", "/nonexistent/imagecat-e2e.toml")];
    let a = "memory:";
    let b = "memory:?images=14";
    let listed = imagecat(&["-c", b, "-o", "json", "list"], &env)
        .await
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let extra: Vec<&str> = ids[12..].to_vec();

    let info = imagecat(
        &[
            "-c", a, "-o", "csv", "-C", "backend", "-C", "CATALOG", "info",
        ],
        &env,
    )
    .await;
    assert_eq!(info.code, 0, "{}", info.stderr);
    assert_eq!(info.stdout, "BACKEND,CATALOG\nmemory,memory:\n");

    let diff = imagecat(
        &[
            "-c", a, "-c", b, "-o", "value", "-C", "kind", "-C", "b-id", "diff",
        ],
        &env,
    )
    .await;
    assert_eq!(diff.code, 10, "{}", diff.stderr);
    let mut lines: Vec<&str> = diff.stdout.lines().collect();
    lines.sort_unstable();
    let want: Vec<String> = extra.iter().map(|id| format!("extra {id}")).collect();
    assert_eq!(lines, want);

    let usage = imagecat(
        &[
            "-c", a, "-o", "csv", "-C", "image", "-C", "how", "usage", ids[3],
        ],
        &env,
    )
    .await;
    assert_eq!(usage.code, 0, "{}", usage.stderr);
    assert_eq!(usage.stdout, format!("IMAGE,HOW\n{},not in use\n", ids[3]));

    let plan = imagecat(
        &[
            "-c", a, "-o", "csv", "-C", "id", "-C", "action", "prune", "--keep", "1",
        ],
        &env,
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let mut plan_lines = plan.stdout.lines();
    assert_eq!(plan_lines.next(), Some("ID,ACTION"));
    let planned: Vec<&str> = plan_lines.collect();
    let json = imagecat(&["-c", a, "-o", "json", "prune", "--keep", "1"], &env)
        .await
        .json();
    let want: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{},{}",
                e["id"].as_str().unwrap(),
                e["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(planned, want);

    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        "[catalogs.lab]\nurl = \"memory:\"\ntoken = \"T-SECRET\"\n"
    )
    .unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let config = imagecat(
        &["-o", "csv", "-C", "token", "-C", "name", "config", "show"],
        &[("IMAGECAT_CONFIG", path.as_str())],
    )
    .await;
    assert_eq!(config.code, 0, "{}", config.stderr);
    assert_eq!(config.stdout, "TOKEN,NAME\n<redacted>,lab\n");

    for (args, columns) in [
        (&["-c", a, "-C", "id", "info"][..], "capabilities"),
        (&["-c", a, "-c", b, "-C", "size", "diff"][..], "b_checksum"),
        (&["-c", a, "-C", "kind", "list"][..], "description"),
        (
            &["-c", a, "-C", "kind", "prune", "--keep", "1"][..],
            "reasons",
        ),
    ] {
        let bad = imagecat(args, &env).await;
        assert_eq!(bad.code, 2, "{args:?}: {}", bad.stderr);
        assert!(bad.stderr.contains(columns), "{args:?}: {}", bad.stderr);
        assert!(bad.stdout.is_empty(), "{args:?}: {}", bad.stdout);
    }
}

/// `prune` takes the list filters a policy holds, parsed as `list` parses
/// them, and refuses the others rather than ignore them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_takes_the_list_filters_a_policy_holds() {
    let env = [("IMAGECAT_CONFIG", "/nonexistent/imagecat-e2e.toml")];
    for filter in [
        &["--visibility", "public"][..],
        &["--tag", "x"],
        &["--newer-than", "2d"],
    ] {
        let mut args = vec!["-c", "memory:", "prune", "--keep", "1"];
        args.extend_from_slice(filter);
        let run = imagecat(&args, &env).await;
        assert_eq!(run.code, 2, "{filter:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{} is not a prune filter", filter[0])),
            "{filter:?}: {}",
            run.stderr
        );
    }
    let list = imagecat(&["-c", "memory:", "list", "--older-than", "3x"], &env).await;
    let prune = imagecat(&["-c", "memory:", "prune", "--older-than", "3x"], &env).await;
    assert_eq!((list.code, prune.code), (2, 2));
    let said = |run: &crate::support::Run| {
        run.stderr
            .lines()
            .next()
            .unwrap_or_default()
            .replace("list", "CMD")
            .replace("prune", "CMD")
    };
    assert_eq!(said(&list), said(&prune));
    let named = imagecat(
        &[
            "-c",
            "memory:",
            "-o",
            "json",
            "prune",
            "--keep",
            "1",
            "--name",
            "none-*",
            "--older-than",
            "1d",
        ],
        &env,
    )
    .await;
    assert_eq!(named.code, 0, "{}", named.stderr);
    assert_eq!(named.json(), serde_json::json!([]));
}

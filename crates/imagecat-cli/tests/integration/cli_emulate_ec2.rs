//! `imagecat emulate ec2` prints its catalog URL, its endpoint and the key
//! pair it checks signatures with; awscli (installed by
//! `scripts/moto/install.sh`; skipped visibly with `IMAGECAT_SKIP_MOTO=1`)
//! signed with that pair reads each seeded region, and a wrong secret is
//! refused. Options it cannot honour are usage errors.

use std::process::Stdio;

use imagecat_testkit::moto;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{command, imagecat};

/// `KEY=value` of a line.
fn var<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len()
        + 1;
    line[at..].split_whitespace().next().unwrap()
}

async fn aws(endpoint: &str, key: &str, secret: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(moto::clients_bin().join("aws"))
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("aws");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn awscli_signed_with_the_printed_key_reads_every_seeded_region() {
    if moto::skip() {
        return;
    }
    tokio::task::spawn_blocking(|| moto::moto().install("install.sh"))
        .await
        .unwrap();
    let mut child = command(&[
        "emulate",
        "ec2",
        "--images",
        "30",
        "--instances",
        "4",
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
    ])
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = out.next_line().await.unwrap().expect("the catalog URL");
    assert!(
        url.starts_with("ec2+http://127.0.0.1:") && url.ends_with("?region=eu-west-1"),
        "{url}"
    );
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = err
        .next_line()
        .await
        .unwrap()
        .expect("the credentials line");
    let endpoint = line
        .split(" at ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .to_owned();
    let (key, secret) = (
        var(&line, "AWS_ACCESS_KEY_ID"),
        var(&line, "AWS_SECRET_ACCESS_KEY"),
    );
    let (ok, me, _) = aws(&endpoint, key, secret, &["sts", "get-caller-identity"]).await;
    assert!(ok);
    let account = serde_json::from_str::<Value>(&me).unwrap()["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(line.contains(&format!("(account {account})")), "{line}");
    let mut seen = Vec::new();
    for region in ["eu-west-1", "us-east-1", "ap-south-1"] {
        let (ok, listed, stderr) = aws(
            &endpoint,
            key,
            secret,
            &[
                "ec2",
                "describe-images",
                "--owners",
                "self",
                "--include-disabled",
                "--region",
                region,
            ],
        )
        .await;
        assert!(ok, "{stderr}");
        let images = serde_json::from_str::<Value>(&listed).unwrap()["Images"]
            .as_array()
            .unwrap()
            .clone();
        seen.push(images.len());
    }
    assert_eq!(seen, [30, 30, 0], "two seeded regions and an empty one");
    let (ok, _, stderr) = aws(&endpoint, key, "wrong", &["ec2", "describe-regions"]).await;
    assert!(!ok && stderr.contains("(AuthFailure)"), "{stderr}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn options_ec2_cannot_honour_are_usage_errors() {
    for extra in [
        ["--churn-per-request", "2"],
        ["--volume-fault", "forbidden"],
    ] {
        let run = imagecat(
            &[
                "emulate",
                "ec2",
                "--listen",
                "127.0.0.1:0",
                extra[0],
                extra[1],
            ],
            &[],
        )
        .await;
        assert_eq!(run.code, 2, "{run:?}");
    }
}

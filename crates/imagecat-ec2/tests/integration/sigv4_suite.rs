//! The AWS SigV4 test suite, as botocore ships it
//! (`tests/unit/auth/aws4_testsuite/`, vendored under
//! `tests/aws4_testsuite/` with its LICENSE and NOTICE): every case's
//! canonical request, string to sign and `Authorization` header must match
//! exactly.
//!
//! Each case is a raw HTTP request (`.req`); this file parses it as a
//! server would (a folded header line continues the one before it, with
//! one space) into a [`Request`]: the query percent-decoded into pairs,
//! `X-Amz-Date` read as the signing time, and the session token, as
//! botocore's runner takes it, from the canonical request's
//! `x-amz-security-token` line (`post-sts-header-before` also sends it in
//! the request; `post-sts-header-after` adds it only after signing, so it
//! is signed without one). No case is skipped: the four botocore skips
//! (`normalize-path/get-space`, a request line its HTTP parser refuses;
//! three cases with a query key given twice, which its SDK's dict of
//! parameters cannot hold) pass here, as query pairs are a list.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use imagecat_ec2::credentials::Credentials;
use imagecat_ec2::sign::{Request, Scope, sign};
use imagecat_http::SecretString;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SCOPE: Scope<'static> = Scope {
    region: "us-east-1",
    service: "service",
};

/// The case whose `.sreq` is not checked (see [`run`]).
const SREQ_CONTRADICTS_AUTHZ: &str = "get-vanilla-with-session-token";

/// Cases that are not run, with the reason (none today).
const SKIPPED: &[(&str, &str)] = &[];

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws4_testsuite")
}

/// Every directory that holds a `.req`, relative to the suite.
fn cases() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "req") {
                let case = dir
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(case);
            }
        }
    }
    let mut out = Vec::new();
    let root = suite_dir();
    walk(&root, &root, &mut out);
    out
}

fn read(case: &str, ext: &str) -> String {
    let name = case.rsplit('/').next().unwrap();
    let path = suite_dir().join(case).join(format!("{name}.{ext}"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace('\r', "")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

struct Parsed {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    time: DateTime<Utc>,
}

fn parse_request(raw: &str) -> Parsed {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (request_line, _version) = request_line.rsplit_once(" HTTP/").unwrap();
    let (method, target) = request_line.split_once(' ').unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    let date = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap();
    let time = NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    Parsed {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: body.as_bytes().to_vec(),
        time,
    }
}

/// Runs one case: `Err` says which part differs.
fn run(case: &str) -> Result<(), String> {
    let parsed = parse_request(&read(case, "req"));
    let creq = read(case, "creq");
    let token = creq
        .lines()
        .find_map(|l| l.strip_prefix("x-amz-security-token:"))
        .map(SecretString::new);
    let credentials = Credentials::new(ACCESS_KEY, SecretString::new(SECRET_KEY), token, None);
    let request = Request {
        method: &parsed.method,
        path: &parsed.path,
        query: &parsed.query,
        headers: &parsed.headers,
        body: &parsed.body,
    };
    let signature = sign(&request, &credentials, SCOPE, parsed.time);
    for (part, ours, theirs) in [
        (
            "canonical request (.creq)",
            signature.canonical_request().to_owned(),
            creq,
        ),
        (
            "string to sign (.sts)",
            signature.string_to_sign().to_owned(),
            read(case, "sts"),
        ),
        (
            "authorization (.authz)",
            signature.authorization().to_owned(),
            read(case, "authz"),
        ),
    ] {
        if ours != theirs {
            return Err(format!(
                "{case}: the {part} differs\n--- ours\n{ours}\n--- suite\n{theirs}"
            ));
        }
    }
    // The signed request (.sreq) carries the same Authorization line, but
    // for one case whose .sreq contradicts its own .authz (upstream: it
    // carries get-vanilla's signature, 5fa00fa3…; botocore reads no .sreq).
    let sreq = read(case, "sreq");
    if case != SREQ_CONTRADICTS_AUTHZ
        && !sreq.contains(&format!("Authorization: {}", signature.authorization()))
    {
        return Err(format!("{case}: the .sreq has another Authorization"));
    }
    Ok(())
}

#[test]
fn every_vendored_case_matches() {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "the suite is vendored: {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in &cases {
        if SKIPPED.iter().any(|(skipped, _)| skipped == case) {
            continue;
        }
        match run(case) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "SigV4 suite: {passed} of {} cases pass, {} skipped",
        cases.len(),
        SKIPPED.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_wrong_secret_changes_only_the_signature() {
    let case = "get-vanilla";
    let parsed = parse_request(&read(case, "req"));
    let credentials = Credentials::new(
        ACCESS_KEY,
        SecretString::new("not-the-secret-key"),
        None,
        None,
    );
    let request = Request {
        method: &parsed.method,
        path: &parsed.path,
        query: &parsed.query,
        headers: &parsed.headers,
        body: &parsed.body,
    };
    let signature = sign(&request, &credentials, SCOPE, parsed.time);
    assert_eq!(signature.canonical_request(), read(case, "creq"));
    assert_eq!(signature.string_to_sign(), read(case, "sts"));
    assert_ne!(signature.authorization(), read(case, "authz"));
}

//! The built `imagecat` binary against the emulators in hostile mode (and a
//! few canned servers), for each backend: names, ids, descriptions,
//! properties and error messages full of terminal controls never reach
//! stdout or stderr raw in the table, show, error and log output (machine
//! formats keep them exactly); a password, secret or token the server
//! echoes back never shows, at any verbosity; a 10 MB name gives a table of
//! bounded size; a delete whose connection breaks says its outcome is
//! unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::support::{GLANCE_TOKEN, assert_no_control, dcmgr, glance, imagecat, toast};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig, EmulatedImage};
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, GlanceImage, KeystoneAppCredential, KeystoneUser,
};
use imagecat_emulators::hostile::{HOSTILE_TEXT, HUGE_NAME_BYTES, Hostile, HostileRecord};
use imagecat_emulators::server::{EmulatorServer, ServeOptions};
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig, ToastImage};

/// What the hostile mode's texts hold (see `HOSTILE_TEXT`).
const HOSTILE: &str = HOSTILE_TEXT;

/// The start of the hostile text as the table shows it, escaped.
const SHOWN: &str = "title\\x1b]0;PWNED\\x07";

const ACCOUNT: &str = "a-shpoolxx";

/// One backend's emulator in hostile mode, and how to reach it.
struct Target {
    url: String,
    envs: Vec<(&'static str, String)>,
    /// The id of the last image the hostile mode added.
    hostile_id: String,
    _emulator: Box<dyn std::any::Any + Send>,
}

impl Target {
    fn envs(&self) -> Vec<(&str, &str)> {
        self.envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    async fn run(&self, args: &[&str]) -> crate::support::Run {
        let mut all = vec!["-c", self.url.as_str()];
        all.extend_from_slice(args);
        imagecat(&all, &self.envs()).await
    }
}

const TOAST_ID: &str = "6f1ab1c2-0000-4000-8000-00000000beef";
const GLANCE_ID: &str = "7e2bc2d3-0000-4000-8000-00000000beef";

/// Serve options of the hostile mode `hostile`.
fn hostile_mode(hostile: Hostile) -> ServeOptions {
    ServeOptions {
        hostile: Some(hostile),
        ..ServeOptions::default()
    }
}

/// The last image `hostile` adds.
fn last_record(hostile: Hostile) -> Option<HostileRecord> {
    hostile.records().pop()
}

/// A TOAST emulator with 5 images, in hostile mode.
async fn toast_target(hostile: Hostile) -> Target {
    let config = ToastEmulatorConfig {
        images: 5,
        ..ToastEmulatorConfig::default()
    };
    let emu = ToastEmulator::start(config, hostile_mode(hostile))
        .await
        .unwrap();
    Target {
        url: emu.catalog_url(),
        envs: vec![("IMAGECAT_TOAST_TOKEN", emu.config().token.clone())],
        hostile_id: last_record(hostile).map(|r| r.uuid).unwrap_or_default(),
        _emulator: Box::new(emu),
    }
}

/// A DCMGR emulator with 5 images, in hostile mode.
async fn dcmgr_target(hostile: Hostile) -> Target {
    let config = DcmgrEmulatorConfig::v1203().images(5);
    let emu = DcmgrEmulator::start(config, hostile_mode(hostile))
        .await
        .unwrap();
    Target {
        url: emu.catalog_url(Some(ACCOUNT)),
        envs: Vec::new(),
        hostile_id: last_record(hostile).map(|r| r.wmi).unwrap_or_default(),
        _emulator: Box::new(emu),
    }
}

/// A Glance emulator with 5 images, in hostile mode.
async fn glance_target(hostile: Hostile) -> Target {
    let config = GlanceEmulatorConfig::default().images(5);
    let emu = GlanceEmulator::start(config, hostile_mode(hostile))
        .await
        .unwrap();
    Target {
        url: emu.catalog_url(),
        envs: vec![("OS_TOKEN", GLANCE_TOKEN.into())],
        hostile_id: last_record(hostile).map(|r| r.uuid).unwrap_or_default(),
        _emulator: Box::new(emu),
    }
}

/// Every human output of a catalog holding a hostile image is free of
/// control characters, shows them escaped, keeps one row per image; json
/// keeps the name exactly.
async fn hostile_data_is_shown_escaped(target: Target) {
    let json = target.run(&["-o", "json", "list"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let listed = json.json();
    let listed = listed.as_array().unwrap();
    let hostile = listed
        .iter()
        .find(|i| i["id"] == target.hostile_id.as_str())
        .unwrap_or_else(|| panic!("the hostile image is listed: {listed:?}"));
    assert_eq!(hostile["name"], HOSTILE, "json keeps the name exactly");

    let table = target.run(&["list"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_no_control("list stdout", &table.stdout);
    assert_no_control("list stderr", &table.stderr);
    assert!(table.stdout.contains(SHOWN), "{}", table.stdout);
    assert_eq!(
        table.stdout.lines().count(),
        listed.len() + 1,
        "one line per image plus the header:\n{}",
        table.stdout
    );

    let columns = target
        .run(&["-C", "id", "-C", "description", "-C", "owner", "list"])
        .await;
    assert_eq!(columns.code, 0, "{}", columns.stderr);
    assert_no_control("list -C stdout", &columns.stdout);
    assert_eq!(columns.stdout.lines().count(), listed.len() + 1);

    let value = target
        .run(&["-o", "value", "-C", "id", "-C", "name", "list"])
        .await;
    assert_no_control("value stdout", &value.stdout);
    assert_eq!(value.stdout.lines().count(), listed.len());

    let show = target.run(&["show", &target.hostile_id, "--raw"]).await;
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_no_control("show stdout", &show.stdout);
    assert_no_control("show stderr", &show.stderr);
    assert!(show.stdout.contains(SHOWN), "{}", show.stdout);

    let logged = target.run(&["-vvv", "list"]).await;
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    assert!(!logged.stderr.is_empty(), "-vvv logs something");
    assert_no_control("trace log", &logged.stderr);
    assert_no_control("list stdout at trace", &logged.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_hostile_data_is_shown_escaped() {
    hostile_data_is_shown_escaped(toast_target(Hostile::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_hostile_data_is_shown_escaped() {
    hostile_data_is_shown_escaped(dcmgr_target(Hostile::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_hostile_data_is_shown_escaped() {
    hostile_data_is_shown_escaped(glance_target(Hostile::default()).await).await;
}

/// A 10 MB name: the table stays a few KiB (cells capped at 60 columns),
/// while json keeps every byte.
async fn a_huge_name_gives_a_bounded_table(target: Target) {
    const HUGE: usize = HUGE_NAME_BYTES;
    let table = target.run(&["list"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let lines = table.stdout.lines().count();
    assert!(lines >= 2, "{}", table.stdout);
    // 7 columns of at most 60 columns (4 bytes a character at most) plus
    // separators, a line.
    let bound = lines * 7 * (60 * 4 + 2);
    assert!(
        table.stdout.len() <= bound,
        "{} bytes for {lines} lines",
        table.stdout.len()
    );
    assert!(table.stdout.contains('…'), "the cut is marked");

    let json = target
        .run(&["-o", "json", "show", &target.hostile_id])
        .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.json()["name"].as_str().map(str::len), Some(HUGE));
}

/// The hostile mode with only the 10 MB name.
fn huge_name() -> Hostile {
    Hostile::echo_only().huge_name(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(toast_target(huge_name()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(dcmgr_target(huge_name()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(glance_target(huge_name()).await).await;
}

/// A server answering every request with `status` and `body`.
async fn answering(status: u16, content_type: &'static str, body: String) -> EmulatorServer {
    let router = Router::new().fallback(move || {
        let body = body.clone();
        async move {
            Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap()
        }
    });
    EmulatorServer::start(router).await.unwrap()
}

/// The catalog URLs of the three backends at one server, with what each
/// needs to try a request.
fn every_backend(server: &EmulatorServer) -> Vec<(String, Vec<(&'static str, String)>)> {
    let addr = server.addr();
    vec![
        (
            format!("toast+http://{addr}/compute?appkey=k"),
            vec![("IMAGECAT_TOAST_TOKEN", "t".to_owned())],
        ),
        (
            format!("dcmgr+http://{addr}/api/12.03?account={ACCOUNT}"),
            Vec::new(),
        ),
        (
            format!("glance+http://{addr}"),
            vec![("OS_TOKEN", "t".to_owned())],
        ),
    ]
}

/// Error messages and body snippets from a server (JSON escapes decoded to
/// real controls, and raw controls in a non-JSON body) come out escaped on
/// one line, for each backend, at every verbosity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_error_messages_are_shown_escaped() {
    let message = serde_json::Value::String(HOSTILE.into());
    let json_body = serde_json::json!({
        "header": { "isSuccessful": false, "resultCode": -4, "resultMessage": message },
        "error": message,
        "message": message,
        "code": "100",
        "badRequest": { "code": 400, "message": message },
        "title": message,
        "explanation": message,
    })
    .to_string();
    assert!(
        json_body.contains("\\u001b"),
        "the controls travel as JSON escapes"
    );
    for (status, content_type, body) in [
        (400, "application/json", json_body),
        (400, "text/html", format!("<html>{HOSTILE}</html>")),
        (
            200,
            "application/json",
            format!("{{\"broken\": \"{HOSTILE}"),
        ),
    ] {
        let server = answering(status, content_type, body).await;
        for (url, envs) in every_backend(&server) {
            let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for verbose in ["-v", "-vvv"] {
                let run = imagecat(&["-c", &url, verbose, "list"], &envs).await;
                let what = format!("{url} {status} {content_type} {verbose}");
                assert_ne!(run.code, 0, "{what}: {}", run.stderr);
                assert_no_control(&what, &run.stderr);
                assert_no_control(&what, &run.stdout);
                assert!(
                    run.stderr.contains("imagecat: "),
                    "{what}: an error line: {}",
                    run.stderr
                );
            }
        }
    }
}

/// A DCMGR server whose DELETE breaks the connection after it arrived: the
/// CLI says the delete may have happened, never a bare transport error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_whose_connection_breaks_says_it_may_have_happened() {
    // The image document a real DCMGR serves, from the emulator.
    let emu = dcmgr(40).await;
    let id = emu.deletable_ids(Some(ACCOUNT), 1).remove(0);
    let shown = imagecat(
        &[
            "-c",
            &emu.catalog_url(Some(ACCOUNT)),
            "-o",
            "json",
            "show",
            &id,
            "--raw",
        ],
        &[],
    )
    .await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let doc = shown.json()["native"].to_string();

    let deletes = Arc::new(AtomicU64::new(0));
    let seen = deletes.clone();
    let router = Router::new().fallback(move |method: Method| {
        let doc = doc.clone();
        let seen = seen.clone();
        async move {
            if method == Method::DELETE {
                seen.fetch_add(1, Ordering::SeqCst);
                // Headers, then the body breaks: the request was received.
                let broken = futures::stream::once(async {
                    Err::<Bytes, _>(std::io::Error::other("connection lost"))
                });
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .body(Body::from_stream(broken))
                    .unwrap();
            }
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from(doc))
                .unwrap()
        }
    });
    let server = EmulatorServer::start(router).await.unwrap();
    let url = format!("dcmgr+http://{}/api/12.03?account={ACCOUNT}", server.addr());
    // This server has no instance API: the usage check is forced past.
    let run = imagecat(&["-c", &url, "delete", &id, "--yes", "--force-in-use"], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(deletes.load(Ordering::SeqCst) >= 1, "the DELETE was sent");
    assert!(
        run.stderr.contains("may have happened")
            && run
                .stderr
                .contains(&format!("`imagecat show {id}` to check")),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("deleted"), "{}", run.stdout);
}

/// A listed id full of controls (the adapters refuse what is not an id of
/// theirs, or list it): whatever the backend does, the terminal gets the id
/// escaped, in a table row or in the error line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_id_never_reaches_the_terminal_raw() {
    let id = "wmi-\x1b]0;PWNED\x07\x1b[2J\r\n";
    let emu = dcmgr(3).await;
    emu.insert(EmulatedImage::new(id, ACCOUNT));
    let t = toast(3).await;
    let mut image = ToastImage::new(TOAST_ID, "x");
    image.id = format!("{TOAST_ID}\x1b]0;PWNED\x07");
    t.insert_image(image);
    let g = glance(3).await;
    g.insert(GlanceImage::new(
        format!("{GLANCE_ID}\x1b]0;PWNED\x07"),
        "x",
    ));
    let targets = [
        (emu.catalog_url(Some(ACCOUNT)), vec![]),
        (
            t.catalog_url(),
            vec![("IMAGECAT_TOAST_TOKEN", t.config().token.clone())],
        ),
        (g.catalog_url(), vec![("OS_TOKEN", GLANCE_TOKEN.to_owned())]),
    ];
    for (url, envs) in &targets {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for args in [vec!["list"], vec!["-vv", "list"]] {
            let mut all = vec!["-c", url.as_str()];
            all.extend(args);
            let run = imagecat(&all, &envs).await;
            assert_no_control(&format!("{url} stdout"), &run.stdout);
            assert_no_control(&format!("{url} stderr"), &run.stderr);
            assert!(
                format!("{}{}", run.stdout, run.stderr)
                    .to_ascii_lowercase()
                    .contains("\\x1b]0;pwned"),
                "{url}: the id is shown escaped somewhere:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}

/// An error answer of each hostile emulator (an unknown image) quotes the
/// request after a string of controls: the error line and the logs show
/// it escaped, at every verbosity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_requests_in_errors_are_shown_escaped() {
    // TOAST has no image GET: a refused token makes its error.
    let mut toast = toast_target(Hostile::echo_only()).await;
    toast.envs = vec![("IMAGECAT_TOAST_TOKEN", "not-the-token".into())];
    let targets = [
        (toast, vec!["list"]),
        (
            dcmgr_target(Hostile::echo_only()).await,
            vec!["show", "wmi-missing1"],
        ),
        (
            glance_target(Hostile::echo_only()).await,
            vec!["show", "0badc0de-0000-4000-8000-0000000000ff"],
        ),
    ];
    for (target, args) in &targets {
        for verbose in ["-q", "-v", "-vvv"] {
            let mut all = vec![verbose];
            all.extend_from_slice(args);
            let run = target.run(&all).await;
            let what = format!("{} {verbose}", target.url);
            assert_ne!(run.code, 0, "{what}: {}", run.stderr);
            assert_no_control(&what, &run.stderr);
            assert_no_control(&what, &run.stdout);
            assert!(
                run.stderr.contains("request was") && run.stderr.contains(SHOWN),
                "{what}: the echo is shown, escaped: {}",
                run.stderr
            );
        }
    }
}

/// A password with characters every encoding changes around a core no
/// encoding changes (so each echoed form would show the core).
const PASSWORD: &str = "Zq8vXk\"pw<é>&/ 42";
const CORE: &str = "Zq8vXk";

/// Runs `args` at every verbosity and checks no secret shows: the run
/// fails, the server's echo was there (scrubbed), no `leak` and no control.
async fn never_shows(what: &str, url: &str, envs: &[(&str, &str)], args: &[&str], leaks: &[&str]) {
    for verbose in ["-q", "-v", "-vv", "-vvv"] {
        let mut all = vec!["-c", url, verbose];
        all.extend_from_slice(args);
        let run = imagecat(&all, envs).await;
        let what = format!("{what} {verbose}");
        assert_ne!(run.code, 0, "{what}: {}", run.stderr);
        let out = format!("{}{}", run.stdout, run.stderr);
        for leak in leaks {
            assert!(!out.contains(leak), "{what}: {leak:?} shows:\n{out}");
        }
        assert_no_control(&what, &out);
        assert!(
            run.stderr.contains("request was") && run.stderr.contains("[redacted]"),
            "{what}: the server echoed the request, scrubbed: {}",
            run.stderr
        );
    }
}

/// The TOAST token API refusing a password quotes the request body back;
/// the image API refusing a token quotes the request headers back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_an_echoed_password_or_token_never_shows() {
    let config = ToastEmulatorConfig {
        images: 5,
        ..ToastEmulatorConfig::default()
    };
    let emu = ToastEmulator::start(config, hostile_mode(Hostile::echo_only()))
        .await
        .unwrap();
    let user = emu.config().username.clone();
    let envs = [
        ("IMAGECAT_TOAST_USERNAME", user.as_str()),
        ("IMAGECAT_TOAST_PASSWORD", PASSWORD),
    ];
    never_shows(
        "toast password",
        &emu.catalog_url(),
        &envs,
        &["list"],
        &[CORE],
    )
    .await;

    // A configured token the server refuses, echoing the request headers.
    let token = format!("{CORE}-static-token");
    let envs = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
    never_shows("toast token", &emu.catalog_url(), &envs, &["list"], &[CORE]).await;
}

/// Keystone v2 and v3 refusing a password or an application credential
/// quote the request body back; an image error echoes the issued token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_an_echoed_password_secret_or_token_never_shows() {
    let user = KeystoneUser {
        app_credential: Some(KeystoneAppCredential {
            id: "ac-id-1".into(),
            name: "ac".into(),
            secret: "the-right-secret".into(),
        }),
        ..KeystoneUser::default()
    };
    let mut config = GlanceEmulatorConfig::default().images(5);
    config.token = None;
    config.keystone = Some(user.clone());
    let emu = GlanceEmulator::start(config, hostile_mode(Hostile::echo_only()))
        .await
        .unwrap();
    let (v2, v3) = (emu.identity_v2_url(), emu.identity_v3_url());
    let password = |url: &str, pw: &str| {
        vec![
            ("OS_AUTH_URL", url.to_owned()),
            ("OS_USERNAME", user.username.clone()),
            ("OS_PASSWORD", pw.to_owned()),
            ("OS_PROJECT_NAME", user.project_name.clone()),
            ("OS_USER_DOMAIN_NAME", user.user_domain.clone()),
            ("OS_PROJECT_DOMAIN_NAME", user.project_domain.clone()),
        ]
    };
    let app_credential = vec![
        ("OS_AUTH_URL", v3.clone()),
        ("OS_AUTH_TYPE", "v3applicationcredential".to_owned()),
        ("OS_APPLICATION_CREDENTIAL_ID", "ac-id-1".to_owned()),
        ("OS_APPLICATION_CREDENTIAL_SECRET", PASSWORD.to_owned()),
    ];
    let url = emu.catalog_url();
    for (what, envs) in [
        ("keystone v2 password", password(&v2, PASSWORD)),
        ("keystone v3 password", password(&v3, PASSWORD)),
        ("keystone v3 application credential", app_credential),
    ] {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        never_shows(what, &url, &envs, &["list"], &[CORE]).await;
    }
    // The right password: a token is issued, and an unknown image's error
    // echoes it in the request headers.
    for (what, auth) in [("keystone v2 token", &v2), ("keystone v3 token", &v3)] {
        let envs = password(auth, &user.password);
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let before = emu.server().requests().len();
        let missing = "0badc0de-0000-4000-8000-0000000000ff";
        imagecat(&["-c", &url, "show", missing], &envs).await;
        let token = emu.server().requests()[before..]
            .iter()
            .find_map(|r| r.header("x-auth-token").map(str::to_owned))
            .expect("an image request carried the issued token");
        never_shows(
            what,
            &url,
            &envs,
            &["show", missing],
            &[&token, &user.password],
        )
        .await;
    }
}

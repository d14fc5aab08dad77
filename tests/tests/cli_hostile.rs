//! The built `imagecat` binary against hostile servers, for each backend:
//! names, ids, descriptions, properties and error messages full of
//! terminal controls never reach stdout or stderr raw in the table, show,
//! error and log output (machine formats keep them exactly); a 10 MB name
//! gives a table of bounded size; a delete whose connection breaks says
//! its outcome is unknown.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use imagecat_testkit::dcmgr::{DcmgrEmulator, EmulatedImage};
use imagecat_testkit::glance::{GlanceEmulator, GlanceImage};
use imagecat_testkit::server::EmulatorServer;
use imagecat_testkit::toast::{ToastEmulator, ToastImage};
use support::{GLANCE_TOKEN, assert_no_control, dcmgr, glance, imagecat, toast};

/// Everything a terminal obeys: a window-title OSC, clear screen, a CSI
/// colour, carriage return and backspaces that hide text, a newline that
/// would split a row, a bidi override, a C1 CSI, DEL, a zero-width space.
const HOSTILE: &str = "title\x1b]0;PWNED\x07 \x1b[2J\x1b[31mred\rhidden\x08\x08 row\nsplit \u{202e}desrever\u{9b}2J\u{7f}\u{200b}end";

/// The start of the hostile text as the table shows it, escaped.
const SHOWN: &str = "title\\x1b]0;PWNED\\x07";

const ACCOUNT: &str = "a-shpoolxx";

/// One backend's emulator holding a hostile image, and how to reach it.
struct Target {
    url: String,
    envs: Vec<(&'static str, String)>,
    hostile_id: String,
    _emulator: Box<dyn std::any::Any + Send>,
}

impl Target {
    fn envs(&self) -> Vec<(&str, &str)> {
        self.envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    async fn run(&self, args: &[&str]) -> support::Run {
        let mut all = vec!["-c", self.url.as_str()];
        all.extend_from_slice(args);
        imagecat(&all, &self.envs()).await
    }
}

const TOAST_ID: &str = "6f1ab1c2-0000-4000-8000-00000000beef";
const GLANCE_ID: &str = "7e2bc2d3-0000-4000-8000-00000000beef";

/// A TOAST emulator with 5 images and one hostile one (`name` as given).
async fn toast_target(name: &str) -> Target {
    let emu: ToastEmulator = toast(5).await;
    let mut image = ToastImage::new(TOAST_ID, name);
    image.properties.insert("note".into(), HOSTILE.into());
    emu.insert_image(image);
    Target {
        url: emu.catalog_url(),
        envs: vec![("IMAGECAT_TOAST_TOKEN", emu.config().token.clone())],
        hostile_id: TOAST_ID.into(),
        _emulator: Box::new(emu),
    }
}

/// A DCMGR emulator with a few images of our account and one hostile one.
async fn dcmgr_target(name: &str) -> Target {
    let emu: DcmgrEmulator = dcmgr(5).await;
    let mut image = EmulatedImage::new("wmi-hostile1", ACCOUNT);
    image.display_name = name.into();
    image.description = HOSTILE.into();
    image.state = HOSTILE.into();
    emu.insert(image);
    Target {
        url: emu.catalog_url(Some(ACCOUNT)),
        envs: Vec::new(),
        hostile_id: "wmi-hostile1".into(),
        _emulator: Box::new(emu),
    }
}

/// A Glance emulator with 5 images and one hostile one.
async fn glance_target(name: &str) -> Target {
    let emu: GlanceEmulator = glance(5).await;
    let mut image = GlanceImage::new(GLANCE_ID, name);
    image.status = HOSTILE.into();
    image.owner = Some(HOSTILE.into());
    image
        .properties
        .insert("description".into(), HOSTILE.into());
    emu.insert(image);
    Target {
        url: emu.catalog_url(),
        envs: vec![("OS_TOKEN", GLANCE_TOKEN.into())],
        hostile_id: GLANCE_ID.into(),
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
    hostile_data_is_shown_escaped(toast_target(HOSTILE).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_hostile_data_is_shown_escaped() {
    hostile_data_is_shown_escaped(dcmgr_target(HOSTILE).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_hostile_data_is_shown_escaped() {
    hostile_data_is_shown_escaped(glance_target(HOSTILE).await).await;
}

/// A 10 MB name: the table stays a few KiB (cells capped at 60 columns),
/// while json keeps every byte.
async fn a_huge_name_gives_a_bounded_table(target: Target) {
    const HUGE: usize = 10 * 1024 * 1024;
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

fn huge_name() -> String {
    "n".repeat(10 * 1024 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(toast_target(&huge_name()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmgr_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(dcmgr_target(&huge_name()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_a_huge_name_gives_a_bounded_table() {
    a_huge_name_gives_a_bounded_table(glance_target(&huge_name()).await).await;
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

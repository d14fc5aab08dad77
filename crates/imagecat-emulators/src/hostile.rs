//! The hostile mode every emulator can be started in
//! ([`ServeOptions::hostile`](crate::server::ServeOptions::hostile)), written
//! once here: images whose names, ids, descriptions and status words carry
//! terminal controls (ESC, OSC, CR, backspace, bidi overrides, newlines),
//! optionally one with a 10 MB name, and error bodies whose messages quote
//! the request back (method, path, every header, the body) after the same
//! controls, as a careless server does. Each emulator only maps
//! [`HostileRecord`]s onto its own image type.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// Everything a terminal obeys: a window-title OSC, clear screen, a CSI
/// colour, carriage return and backspaces that hide text, a newline that
/// would split a row, a bidi override, a C1 CSI, DEL, a zero-width space.
pub const HOSTILE_TEXT: &str = "title\x1b]0;PWNED\x07 \x1b[2J\x1b[31mred\rhidden\x08\x08 row\nsplit \u{202e}desrever\u{9b}2J\u{7f}\u{200b}end";

/// The bytes of the huge name of [`Hostile::huge_name`].
pub const HUGE_NAME_BYTES: usize = 10 * 1024 * 1024;

/// How a TOAST failure document says so.
const TOAST_FAILURE: &[u8] = br#""isSuccessful":false"#;

/// The most request body bytes an echo quotes.
const ECHO_LIMIT: usize = 64 * 1024;

/// How an emulator misbehaves in hostile mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hostile {
    /// Error messages start with [`HOSTILE_TEXT`] and quote the request
    /// (headers and body, credentials included). Default on.
    pub echo_requests: bool,
    /// The catalog holds an image whose texts are [`HOSTILE_TEXT`]. Default on.
    pub hostile_image: bool,
    /// The catalog holds an image with a 10 MB name. Default off.
    pub huge_name: bool,
}

impl Default for Hostile {
    fn default() -> Self {
        Hostile {
            echo_requests: true,
            hostile_image: true,
            huge_name: false,
        }
    }
}

/// An image the hostile mode adds; each emulator maps it onto its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostileRecord {
    /// A UUID (TOAST, Glance) unique to the record.
    pub uuid: String,
    /// A DCMGR id (`wmi-…`) unique to the record.
    pub wmi: String,
    /// The name.
    pub name: String,
    /// Every other text field: description, status word, owner, a property.
    pub text: String,
}

impl Hostile {
    /// Only echoing errors (no extra images).
    pub fn echo_only() -> Self {
        Hostile {
            hostile_image: false,
            ..Self::default()
        }
    }

    /// Sets whether an image has a 10 MB name.
    pub fn huge_name(mut self, yes: bool) -> Self {
        self.huge_name = yes;
        self
    }

    /// The images this mode adds to a catalog.
    pub fn records(&self) -> Vec<HostileRecord> {
        let record = |n: u32, name: String| HostileRecord {
            uuid: format!("0badc0de-0000-4000-8000-{n:012}"),
            wmi: format!("wmi-hostile{n}"),
            name,
            text: HOSTILE_TEXT.to_owned(),
        };
        let mut records = Vec::new();
        if self.hostile_image {
            records.push(record(1, HOSTILE_TEXT.to_owned()));
        }
        if self.huge_name {
            records.push(record(2, "n".repeat(HUGE_NAME_BYTES)));
        }
        records
    }
}

/// The middleware of [`Hostile::echo_requests`]: an error answer (4xx,
/// 5xx, a TOAST `isSuccessful: false`) keeps its status and document, with the echo appended to every
/// message of a JSON document (keys `message`, `resultMessage`, `title`,
/// `explanation`, `detail`, a string `error`), to every `<Message>` of an
/// XML error document (EC2's), or, HTML-escaped, to any other body.
pub(crate) async fn echo_requests(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, ECHO_LIMIT).await.unwrap_or_default();
    let mut echo = format!(
        " {HOSTILE_TEXT} request was: {} {}",
        parts.method, parts.uri
    );
    for (name, value) in &parts.headers {
        echo.push_str(&format!(
            " {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    echo.push_str(&format!(" body: {}", String::from_utf8_lossy(&body)));
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    // TOAST answers its failures with 200 and `"isSuccessful":false`.
    let refused = status.is_client_error()
        || status.is_server_error()
        || body
            .windows(TOAST_FAILURE.len())
            .any(|w| w == TOAST_FAILURE);
    if !refused {
        return Response::from_parts(parts, Body::from(body));
    }
    let html = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let xml_message = !html
        && body
            .windows(XML_MESSAGE_END.len())
            .any(|w| w == XML_MESSAGE_END);
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(mut doc) if !html => {
            append_to_messages(&mut doc, &echo);
            serde_json::to_vec(&doc).unwrap_or_default()
        }
        // An XML error document (EC2, Auto Scaling, STS): the echo goes
        // inside each `<Message>`, so the document still parses.
        _ if xml_message => {
            let text = String::from_utf8_lossy(&body);
            text.replace("</Message>", &format!("{}</Message>", xml_escape(&echo)))
                .into_bytes()
        }
        _ => {
            let mut body = body.to_vec();
            body.extend_from_slice(html_escape(&echo).as_bytes());
            body
        }
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Appends `echo` to every message string of a JSON error document.
fn append_to_messages(doc: &mut Value, echo: &str) {
    match doc {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let message = key.to_ascii_lowercase().contains("message")
                    || matches!(key.as_str(), "title" | "explanation" | "detail" | "error");
                match value {
                    Value::String(text) if message => text.push_str(echo),
                    other => append_to_messages(other, echo),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| append_to_messages(v, echo)),
        _ => {}
    }
}

/// The end of an XML error document's message.
const XML_MESSAGE_END: &[u8] = b"</Message>";

/// `text` as XML 1.0 character data: escaped, and the C0 controls XML
/// cannot carry at all replaced by U+FFFD.
fn xml_escape(text: &str) -> String {
    html_escape(text)
        .chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// `text` escaped for HTML, as a server's error page quotes it.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_messages_get_the_echo() {
        let mut doc = json!({"code": "100", "message": "m", "error": {"code": 401, "title": "t"},
            "header": {"resultCode": -4, "resultMessage": "r"}});
        append_to_messages(&mut doc, "+e");
        assert_eq!(
            doc,
            json!({"code": "100", "message": "m+e", "error": {"code": 401, "title": "t+e"},
                "header": {"resultCode": -4, "resultMessage": "r+e"}})
        );
    }

    #[test]
    fn records_are_unique_and_sized() {
        let records = Hostile::default().huge_name(true).records();
        assert_eq!(records.len(), 2);
        assert_ne!(records[0].uuid, records[1].uuid);
        assert_eq!(records[0].name, HOSTILE_TEXT);
        assert_eq!(records[1].name.len(), HUGE_NAME_BYTES);
        assert!(Hostile::echo_only().records().is_empty());
    }
}

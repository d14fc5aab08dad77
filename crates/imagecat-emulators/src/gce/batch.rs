//! `POST /batch/compute/v1`: Google's batch protocol, which gcloud uses
//! when one command makes several requests (`gcloud compute images list`
//! without `--no-standard-images` lists the public image projects and the
//! user's in one batch). The body is `multipart/mixed`; each part is an
//! `application/http` request (`GET /compute/v1/… HTTP/1.1`, headers, a
//! body) with a `Content-ID`; the answer is `multipart/mixed` too, each
//! part the inner answer (`HTTP/1.1 200 OK`, headers, body) with the
//! `Content-ID` `<response-ID>`. The parts are answered in order by the
//! same routes as direct calls, with the outer `Authorization` when the
//! part has none. The request log records the batch POST, not its parts.

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, Request};
use axum::response::Response;

/// The most parts one batch may hold (Google's limit is 1000).
const MAX_PARTS: usize = 1000;

/// One inner request of a batch.
pub(crate) struct Part {
    pub(crate) content_id: String,
    pub(crate) request: Request<Body>,
}

/// The boundary of a `multipart/mixed` content type.
pub(crate) fn boundary(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get("content-type")?.to_str().ok()?;
    if !ct.to_ascii_lowercase().starts_with("multipart/mixed") {
        return None;
    }
    let at = ct.find("boundary=")?;
    let value = ct[at + "boundary=".len()..].split(';').next()?.trim();
    Some(value.trim_matches('"').to_owned())
}

/// Splits `text` at its first blank line (CRLF or LF).
fn split_head(text: &str) -> (&str, &str) {
    let crlf = text.find("\r\n\r\n").map(|i| (i, 4));
    let lf = text.find("\n\n").map(|i| (i, 2));
    let first = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match first {
        Some((i, n)) => (&text[..i], &text[i + n..]),
        None => (text, ""),
    }
}

fn header_lines(head: &str) -> impl Iterator<Item = (String, String)> + '_ {
    head.lines().filter_map(|line| {
        let (k, v) = line.split_once(':')?;
        Some((k.trim().to_owned(), v.trim().to_owned()))
    })
}

/// The parts of a batch body, or why it cannot be read.
pub(crate) fn parts(body: &Bytes, boundary: &str, outer: &HeaderMap) -> Result<Vec<Part>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the batch body is not UTF-8".to_owned())?;
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    for chunk in text.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        if out.len() == MAX_PARTS {
            return Err(format!("a batch holds at most {MAX_PARTS} requests"));
        }
        let chunk = chunk.trim_start_matches(['\r', '\n']);
        let (mime_head, http) = split_head(chunk);
        let content_id = header_lines(mime_head)
            .find(|(k, _)| k.eq_ignore_ascii_case("content-id"))
            .map(|(_, v)| v)
            .unwrap_or_default();
        let (request_head, inner_body) = split_head(http);
        let mut lines = request_head.lines();
        let request_line = lines.next().unwrap_or_default();
        let mut words = request_line.split_whitespace();
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return Err(format!(
                "a part's request line is not HTTP: {request_line:?}"
            ));
        };
        let mut builder = Request::builder().method(method).uri(target);
        let mut has_auth = false;
        for (k, v) in header_lines(&request_head[request_line.len()..]) {
            has_auth |= k.eq_ignore_ascii_case("authorization");
            builder = builder.header(k, v);
        }
        if !has_auth {
            if let Some(auth) = outer.get("authorization") {
                builder = builder.header("authorization", auth.clone());
            }
        }
        let inner_body = inner_body.trim_end_matches(['\r', '\n']).to_owned();
        let request = builder
            .body(Body::from(inner_body))
            .map_err(|e| format!("a part's request is not valid: {e}"))?;
        out.push(Part {
            content_id,
            request,
        });
    }
    if out.is_empty() {
        return Err("the batch holds no request".to_owned());
    }
    Ok(out)
}

/// The batch answer: each part's answer, in order.
pub(crate) async fn answer(answers: Vec<(String, Response)>) -> Response {
    let boundary = "batch_imagecat_emulator_gce";
    let mut body = String::new();
    for (content_id, response) in answers {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let id = content_id.trim_start_matches('<').trim_end_matches('>');
        body.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{id}>\r\n\r\nHTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\n\r\n{}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            String::from_utf8_lossy(&bytes)
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Response::builder()
        .status(200)
        .header(
            "content-type",
            format!("multipart/mixed; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap_or_default()
}

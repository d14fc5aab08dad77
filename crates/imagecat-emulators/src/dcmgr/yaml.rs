//! The format a DCMGR path's extension picks: `.yml` answers YAML as Ruby's
//! Psych writes it (sinatra-contrib's `respond_with` calls `to_yaml` on the
//! same hash the JSON comes from): symbol keys (`:id: wmi-…`), times as
//! `2015-04-07 12:36:11.000000000 Z`, nil as an empty value, block
//! sequences not indented under their key. The handlers write JSON; a layer
//! turns it into YAML for `.yml` paths, errors included.

use axum::extract::Request;
use axum::middleware::Next;
use serde_norway::Value;

use super::*;

/// The content type of a YAML answer (`Rack::Mime` maps `.yml` to
/// `text/yaml`; Sinatra adds the charset to `text/*` types).
pub(super) const YAML_TYPE: &str = "text/yaml;charset=utf-8";

/// The largest JSON answer turned into YAML (a page of 250 images is far
/// below it); larger ones pass through unchanged.
const MAX_BODY: usize = 64 << 20;

/// The path without a `.json` or `.yml` extension, and whether it was `.yml`.
pub(super) fn strip_extension(path: &str) -> (&str, bool) {
    if let Some(rest) = path.strip_suffix(".yml") {
        return (rest, true);
    }
    (path.strip_suffix(".json").unwrap_or(path), false)
}

/// The layer: answers of `.yml` paths become YAML.
pub(super) async fn by_extension(request: Request, next: Next) -> Response {
    let yaml = strip_extension(request.uri().path()).1;
    let response = next.run(request).await;
    if !yaml {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(doc) => Body::from(psych(&doc)),
        // Sinatra's HTML route miss keeps its body.
        Err(_) => Body::from(bytes),
    };
    parts.headers.remove("content-length");
    if let Ok(value) = YAML_TYPE.parse() {
        parts.headers.insert("content-type", value);
    }
    Response::from_parts(parts, body)
}

/// A JSON document as Psych prints the Ruby hash behind it.
pub(super) fn psych(doc: &Value) -> String {
    let mut out = String::from("---");
    match inline(doc, None) {
        Some(text) if text.is_empty() => out.push('\n'),
        Some(text) => {
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        }
        None => {
            out.push('\n');
            block(&mut out, doc, 0);
        }
    }
    out
}

/// A scalar or an empty collection on one line; `None` for a block.
fn inline(value: &Value, key: Option<&str>) -> Option<String> {
    Some(match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match key
            .filter(|k| k.ends_with("_at"))
            .and_then(|_| ruby_time(s))
        {
            Some(time) => time,
            None => scalar(s),
        },
        Value::Sequence(items) if items.is_empty() => "[]".into(),
        Value::Mapping(map) if map.is_empty() => "{}".into(),
        _ => return None,
    })
}

/// A string as YAML wants it quoted (serde_norway decides, as Psych does,
/// when a plain scalar would read back as something else).
fn scalar(text: &str) -> String {
    let yaml = serde_norway::to_string(text).unwrap_or_else(|_| format!("{text:?}"));
    yaml.trim_end_matches('\n').to_owned()
}

/// `2015-04-07T12:36:11Z` (what JSON gets) as Psych prints a UTC `Time`.
fn ruby_time(text: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    Some(t.format("%Y-%m-%d %H:%M:%S.%f Z").to_string())
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A non-empty mapping or sequence, its lines at `indent`.
fn block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = key
                    .as_str()
                    .map_or_else(|| scalar(&format!("{key:?}")), str::to_owned);
                pad(out, indent);
                out.push(':');
                out.push_str(&key);
                out.push(':');
                match inline(value, Some(&key)) {
                    Some(text) => {
                        if !text.is_empty() {
                            out.push(' ');
                            out.push_str(&reindent(&text, indent + 2));
                        }
                        out.push('\n');
                    }
                    None => {
                        out.push('\n');
                        // Psych does not indent a sequence under its key.
                        let inner = match value {
                            Value::Sequence(_) => indent,
                            _ => indent + 2,
                        };
                        block(out, value, inner);
                    }
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                pad(out, indent);
                out.push_str("- ");
                match inline(item, None) {
                    Some(text) => {
                        out.push_str(&reindent(&text, indent + 2));
                        out.push('\n');
                    }
                    None => {
                        // The item's first line follows the dash.
                        let mut nested = String::new();
                        block(&mut nested, item, indent + 2);
                        out.push_str(&nested[indent + 2..]);
                    }
                }
            }
        }
        other => {
            pad(out, indent);
            out.push_str(&inline(other, None).unwrap_or_default());
            out.push('\n');
        }
    }
}

/// A literal block scalar's continuation lines moved to `indent`.
fn reindent(text: &str, indent: usize) -> String {
    if !text.contains('\n') {
        return text.to_owned();
    }
    let mut lines = text.lines();
    let mut out = lines.next().unwrap_or_default().to_owned();
    for line in lines {
        out.push('\n');
        pad(&mut out, indent);
        out.push_str(line.strip_prefix("  ").unwrap_or(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Ruby 3.1's Psych printed for this document (`JSON.parse` with
    /// symbol names, `*_at` values as UTC `Time`s, then `to_yaml`).
    const PSYCH: &str = r#"---
- :total: 2
  :start: 0
  :limit: 250
  :results:
  - :id: wmi-4yalh576
    :account_id: a-shpoolxx
    :created_at: 2015-04-08 07:06:20.000000000 Z
    :boot_dev_type: 2
    :description: ''
    :is_public: false
    :features:
      :virtio: true
    :root_device: label:root
    :parent_image_id:
    :display_name: 'true'
    :deleted_at:
    :volumes:
    - :backup_object_id: bo-9qz0v2rk
    :vifs: []
    :labels:
    - :resource_uuid: wmi-4yalh576
      :name: owner.note
      :value_type: 1
      :value: '12'
      :created_at: 2015-04-08 07:06:21.000000000 Z
  - :id: wmi-b
    :features: {}
    :description: 'x: y'
    :display_name: 웹서버
    :labels: []
"#;

    #[test]
    fn documents_print_as_psych_prints_them() {
        let json = r#"[{"total":2,"start":0,"limit":250,"results":[{"id":"wmi-4yalh576","account_id":"a-shpoolxx","created_at":"2015-04-08T07:06:20Z","boot_dev_type":2,"description":"","is_public":false,"features":{"virtio":true},"root_device":"label:root","parent_image_id":null,"display_name":"true","deleted_at":null,"volumes":[{"backup_object_id":"bo-9qz0v2rk"}],"vifs":[],"labels":[{"resource_uuid":"wmi-4yalh576","name":"owner.note","value_type":1,"value":"12","created_at":"2015-04-08T07:06:21Z"}]},{"id":"wmi-b","features":{},"description":"x: y","display_name":"웹서버","labels":[]}]}]"#;
        let doc: Value = serde_json::from_str(json).unwrap();
        assert_eq!(psych(&doc), PSYCH);
        let text = |t: &str| psych(&Value::String(t.into()));
        assert_eq!(
            psych(&serde_json::from_str("[\"wmi-x\"]").unwrap()),
            "---\n- wmi-x\n"
        );
        assert_eq!(psych(&serde_json::from_str("[]").unwrap()), "--- []\n");
        assert_eq!(text("x"), "--- x\n");
    }

    #[test]
    fn extensions_pick_the_format() {
        assert_eq!(
            strip_extension("/api/12.03/images.yml"),
            ("/api/12.03/images", true)
        );
        assert_eq!(strip_extension("wmi-a.json"), ("wmi-a", false));
        assert_eq!(strip_extension("wmi-a"), ("wmi-a", false));
    }
}

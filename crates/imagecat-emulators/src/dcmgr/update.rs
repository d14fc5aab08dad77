//! The 12.03 writes besides destroy: `PUT /images/:id` (`display_name`,
//! `description`; answers the image) and the resource labels of an image
//! (`12.03/helpers/resource_label.rb`).

use axum::body::Bytes;
use axum::routing::MethodRouter;

use super::*;

/// What a write handler takes: the state, the raw path parameters, the
/// URI (its query), the headers and the form body.
type Write = (State<Arc<Inner>>, RawPathParams, Uri, HeaderMap, Bytes);

/// A request's parameters as Sinatra merges them: the query, then a
/// form-encoded body, or the value of the first top-level key of a JSON or
/// YAML body (so a flat `{"display_name":"x"}` does not work: Ruby fails
/// merging a string, 500). A body that does not parse is 400 `Invalid
/// request body.`.
pub(super) fn request_params(
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<Response>> {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if body.is_empty() {
        return Ok(pairs);
    }
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let parsed: Option<Result<serde_json::Value, ()>> = match kind.as_str() {
        "application/json" | "text/json" => Some(serde_json::from_slice(body).map_err(|_| ())),
        "application/yaml" | "text/yaml" => Some(serde_norway::from_slice(body).map_err(|_| ())),
        _ => None,
    };
    match parsed {
        None => pairs.extend(form_urlencoded::parse(body).into_owned()),
        Some(Err(())) => {
            return Err(Box::new(
                Response::builder()
                    .status(400)
                    .header("content-type", "application/json")
                    .body(Body::from("Invalid request body."))
                    .unwrap_or_default(),
            ));
        }
        Some(Ok(doc)) => {
            let first = doc.as_object().and_then(|o| o.values().next().cloned());
            let Some(serde_json::Value::Object(inner)) = first else {
                return Err(Box::new(ruby_crash()));
            };
            for (key, value) in inner {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                pairs.push((key, text));
            }
        }
    }
    Ok(pairs)
}

/// The last value of a parameter.
fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `PUT {base}/images/:id`: found as show finds it, then `display_name`
/// and `description` set when given; answers the image.
pub(super) async fn update((State(inner), params, uri, headers, body): Write) -> Response {
    let Some(id) = target(&params) else {
        return route_miss();
    };
    let account = match account_of(&inner, &headers) {
        Ok(account) => account,
        Err(response) => return *response,
    };
    let pairs = match request_params(&uri, &headers, &body) {
        Ok(pairs) => pairs,
        Err(refused) => return *refused,
    };
    let merged: HashMap<String, String> = pairs.iter().cloned().collect();
    let mut data = inner.lock();
    let (i, mut image) = match find(&inner, &data, &account, &id, &merged, false) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    if let Some(name) = last(&pairs, "display_name") {
        image.display_name = name.to_owned();
    }
    if let Some(description) = last(&pairs, "description") {
        image.description = description.to_owned();
    }
    image.updated_at = now_secs();
    let body = serde_json::to_vec(&V1203Doc(&image)).unwrap_or_default();
    data.overlay.insert(i, image);
    inner.changed(&mut data, i);
    json_bytes(200, body)
}

/// The label routes under `{base}/images/:id/labels`.
pub(super) fn label_routes(router: Router<Arc<Inner>>, base: &str) -> Router<Arc<Inner>> {
    let all = || -> MethodRouter<Arc<Inner>> {
        get(labels)
            .post(bulk_set)
            .put(bulk_set)
            .delete(labels)
            .fallback(|| async { route_miss() })
    };
    let one = get(label)
        .post(label)
        .put(label)
        .delete(label)
        .fallback(|| async { route_miss() });
    router
        .route(&format!("{base}/images/{{id}}/labels"), all())
        .route(&format!("{base}/images/{{id}}/labels.json"), all())
        .route(&format!("{base}/images/{{id}}/labels.yml"), all())
        .route(&format!("{base}/images/{{id}}/labels/{{name}}"), one)
}

/// `Image[params['id']]` as the label routes find an image, without the
/// account check show has: a bad prefix is 400 `DatabaseError` `"110"`, an
/// unknown id 500 (the route names an error class that does not exist).
fn labeled(
    inner: &Inner,
    data: &Data,
    params: &RawPathParams,
) -> Result<(u32, EmulatedImage), Box<Response>> {
    let raw = params.iter().next().map(|(_, v)| v).unwrap_or("");
    let id = decode_segment(raw);
    if !valid_uuid_syntax(&id) {
        return Err(Box::new(api_error(
            400,
            "DatabaseError",
            &format!(
                "Dcmgr::Models::InvalidUUIDError: Invalid uuid or unsupported uuid: {id} in Dcmgr::Models::Image"
            ),
            "110",
        )));
    }
    let i = inner
        .lookup(data, &id)
        .ok_or_else(|| Box::new(ruby_crash()))?;
    Ok((i, inner.image_at(data, i)))
}

fn label_list(image: &EmulatedImage, only: impl Fn(&str) -> bool) -> Vec<u8> {
    let docs: Vec<LabelDoc<'_>> = image
        .labels
        .iter()
        .filter(|(n, _)| only(n))
        .map(|(n, v)| LabelDoc::of(image, n, v))
        .collect();
    serde_json::to_vec(&docs).unwrap_or_default()
}

fn set_label(image: &mut EmulatedImage, name: &str, value: &str) {
    match image.labels.iter_mut().find(|(n, _)| n == name) {
        Some(label) => label.1 = value.to_owned(),
        None => image.labels.push((name.to_owned(), value.to_owned())),
    }
}

/// `GET …/labels[?name=prefix]`: the labels (names starting with `name`);
/// `DELETE …/labels`: the real route unsets the label named by the absent
/// `:name`, so nothing changes, and answers as GET does here.
async fn labels(State(inner): State<Arc<Inner>>, params: RawPathParams, uri: Uri) -> Response {
    let data = inner.lock();
    let (_, image) = match labeled(&inner, &data, &params) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let query = query_params(&uri);
    let prefix = query.get("name").map(String::as_str).unwrap_or("");
    json_bytes(200, label_list(&image, |n| n.starts_with(prefix)))
}

/// `POST|PUT …/labels` with `name[]=…&value[]=…` or
/// `label[][name]=…&label[][value]=…` pairs: sets each and answers the
/// labels set; anything else is 400 `Unknown input parameter`.
async fn bulk_set((State(inner), params, uri, headers, body): Write) -> Response {
    let pairs = match request_params(&uri, &headers, &body) {
        Ok(pairs) => pairs,
        Err(refused) => return *refused,
    };
    let values = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (mut names, mut vals) = (values("name[]"), values("value[]"));
    if names.is_empty() {
        // `label[][name]=…&label[][value]=…`: Rack starts an entry at each
        // name; an entry without a value is skipped (the server logs it).
        let mut entries: Vec<(&str, Option<&str>)> = Vec::new();
        for (key, value) in &pairs {
            match key.as_str() {
                "label[][name]" => entries.push((value, None)),
                "label[][value]" => match entries.last_mut() {
                    Some(entry) if entry.1.is_none() => entry.1 = Some(value),
                    _ => entries.push(("", Some(value))),
                },
                _ => {}
            }
        }
        if entries.is_empty() {
            return invalid_parameter("Unknown input parameter");
        }
        for (name, value) in entries {
            if let (false, Some(value)) = (name.is_empty(), value) {
                names.push(name);
                vals.push(value);
            }
        }
    } else if names.len() != vals.len() {
        return invalid_parameter("Dcmgr::Endpoints::Errors::InvalidParameter");
    }
    let mut data = inner.lock();
    let (i, mut image) = match labeled(&inner, &data, &params) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    for (name, value) in names.iter().zip(&vals) {
        set_label(&mut image, name, value);
    }
    let body = label_list(&image, |n| names.contains(&n));
    data.overlay.insert(i, image);
    inner.changed(&mut data, i);
    json_bytes(200, body)
}

/// `…/labels/:name`: GET answers the label (404 `UnknownResourceLabel`
/// `"187"` when absent, message the image id), POST and PUT set it to
/// `value` and answer it, DELETE unsets it (200, empty body).
async fn label(
    State(inner): State<Arc<Inner>>,
    method: axum::http::Method,
    params: RawPathParams,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = params.iter().nth(1).map(|(_, v)| v).unwrap_or("");
    let name = decode_segment(strip_extension(raw).0);
    let pairs = match request_params(&uri, &headers, &body) {
        Ok(pairs) => pairs,
        Err(refused) => return *refused,
    };
    let mut data = inner.lock();
    let (i, mut image) = match labeled(&inner, &data, &params) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let answer = match method.as_str() {
        "GET" => {
            return match image.labels.iter().find(|(n, _)| n == &name) {
                Some((n, v)) => json_bytes(
                    200,
                    serde_json::to_vec(&LabelDoc::of(&image, n, v)).unwrap_or_default(),
                ),
                None => api_error(404, "UnknownResourceLabel", &image.id, "187"),
            };
        }
        "DELETE" => {
            image.labels.retain(|(n, _)| n != &name);
            json_bytes(200, Vec::new())
        }
        _ => {
            let value = last(&pairs, "value").unwrap_or("");
            set_label(&mut image, &name, value);
            json_bytes(
                200,
                serde_json::to_vec(&LabelDoc::of(&image, &name, value)).unwrap_or_default(),
            )
        }
    };
    data.overlay.insert(i, image);
    inner.changed(&mut data, i);
    answer
}

//! Glance's writes: `POST /v2/images`, `PUT …/file`, `PATCH` (JSON patch,
//! `application/openstack-images-v2.1-json-patch`) and tags, with the
//! checks of `glance/api/v2/images.py` (`RequestDeserializer`,
//! `ImagesController.update`) and `image_data.py`, `image_tags.py`.

use md5::Digest as _;

use super::*;

/// Attributes a client may not set (`_readonly_properties` and
/// `_disallowed_properties`).
const READ_ONLY: [&str; 15] = [
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
    "stores",
    "locations",
];
/// `_reserved_properties`.
const RESERVED: [&str; 3] = ["location", "deleted", "deleted_at"];
/// The image schema's `disk_format` enum.
const DISK_FORMATS: [&str; 11] = [
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
/// The image schema's `container_format` enum.
const CONTAINER_FORMATS: [&str; 8] = [
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];
/// The media types `PATCH` accepts.
const PATCH_TYPES: &str =
    "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch";

/// A refusal: status and webob message.
type Refusal = (u16, String);

fn schema_error(detail: String) -> Refusal {
    (
        400,
        format!("Provided object does not match schema 'image': {detail}"),
    )
}

/// Python's `repr` of a JSON value, as jsonschema quotes it.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

fn enum_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    format!("[None, {}]", quoted.join(", "))
}

fn refuse_key(key: &str, creating: bool) -> Result<(), Refusal> {
    if READ_ONLY.contains(&key) && !(creating && key == "id") {
        return Err((403, format!("Attribute '{key}' is read-only.")));
    }
    if RESERVED.contains(&key) || key.starts_with("os_glance") {
        return Err((403, format!("Attribute '{key}' is reserved.")));
    }
    Ok(())
}

/// Sets one attribute as the image schema allows it.
fn set_attribute(image: &mut GlanceImage, key: &str, value: &Value) -> Result<(), Refusal> {
    let text = |v: &Value| match v {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Null => Ok(None),
        other => Err(schema_error(format!(
            "{} is not of type 'null', 'string'",
            py_repr(other)
        ))),
    };
    let boolean = |v: &Value| {
        v.as_bool()
            .ok_or_else(|| schema_error(format!("{} is not of type 'boolean'", py_repr(v))))
    };
    let count = |v: &Value| {
        v.as_u64()
            .ok_or_else(|| schema_error(format!("{} is not of type 'integer'", py_repr(v))))
    };
    let format = |v: &Value, allowed: &[&str]| {
        let chosen = text(v)?;
        match chosen {
            Some(f) if !allowed.contains(&f.as_str()) => Err(schema_error(format!(
                "{} is not one of {}",
                py_repr(v),
                enum_list(allowed)
            ))),
            other => Ok(other),
        }
    };
    match key {
        "name" => image.name = text(value)?,
        "owner" => image.owner = text(value)?,
        "disk_format" => image.disk_format = format(value, &DISK_FORMATS)?,
        "container_format" => image.container_format = format(value, &CONTAINER_FORMATS)?,
        "protected" => image.protected = boolean(value)?,
        "os_hidden" => image.hidden = boolean(value)?,
        "min_ram" => image.min_ram = count(value)?,
        "min_disk" => image.min_disk = count(value)?,
        "visibility" => match value.as_str() {
            Some(v @ ("public" | "private" | "shared" | "community")) => {
                image.visibility = v.to_owned();
            }
            _ => {
                return Err(schema_error(format!(
                    "{} is not one of ['community', 'public', 'private', 'shared']",
                    py_repr(value)
                )));
            }
        },
        "tags" => {
            let tags = value.as_array().ok_or_else(|| {
                schema_error(format!("{} is not of type 'array'", py_repr(value)))
            })?;
            let mut given = Vec::new();
            for tag in tags {
                let tag = tag.as_str().ok_or_else(|| {
                    schema_error(format!("{} is not of type 'string'", py_repr(tag)))
                })?;
                if !given.iter().any(|t| t == tag) {
                    given.push(tag.to_owned());
                }
            }
            // Glance keeps the rows of the tags that stay, then adds the new
            // ones: the kept tags keep their places.
            image.tags.retain(|t| given.contains(t));
            for tag in given {
                if !image.tags.contains(&tag) {
                    image.tags.push(tag);
                }
            }
        }
        _ => match value {
            Value::String(s) => {
                image.properties.insert(key.to_owned(), s.clone());
            }
            other => {
                return Err(schema_error(format!(
                    "{} is not of type 'string'",
                    py_repr(other)
                )));
            }
        },
    }
    Ok(())
}

/// Who may publicize or give images away (`publicize_image`,
/// `check_admin_or_same_owner`).
fn check_policy(image: &GlanceImage, caller: &GlanceCaller) -> Result<(), Refusal> {
    if caller.admin {
        return Ok(());
    }
    if image.visibility == "public" {
        return Err((
            403,
            "You are not authorized to complete publicize_image action.".to_owned(),
        ));
    }
    if image.owner != caller.project {
        let owner = image.owner.clone().unwrap_or_default();
        return Err((
            403,
            format!("You are not permitted to create images owned by '{owner}'."),
        ));
    }
    Ok(())
}

impl Emu {
    /// Changes an image in place (its id and creation time stay); whether
    /// it was there.
    pub(super) fn modify(
        &self,
        state: &mut Store,
        id: &str,
        change: impl FnOnce(&mut GlanceImage),
    ) -> bool {
        if let Some(i) = self.live_seeded(state, id) {
            let mut image = self.seeded(state, i);
            change(&mut image);
            image.id = seeded_id(i);
            image.created_at = seeded_image(i).created_at;
            state.patched.insert(i, image);
            return true;
        }
        let Some(key) = state
            .inserted
            .iter()
            .find(|(_, img)| img.id == id)
            .map(|(k, _)| k.clone())
        else {
            return false;
        };
        if let Some(image) = state.inserted.get_mut(&key) {
            change(image);
            image.id = key.id.clone();
            if let Some(t) = DateTime::from_timestamp_micros(key.micros) {
                image.created_at = t;
            }
        }
        true
    }

    /// The caller, and the image it may change, or the answer refusing it.
    fn writable(
        &self,
        state: &Store,
        headers: &HeaderMap,
        id: &str,
        missing: &str,
    ) -> Result<(GlanceCaller, GlanceImage), Refused> {
        let caller = self.caller(state, headers)?;
        let Some(image) = self.find_visible(state, id, &caller) else {
            return Err(Box::new(webob_error(headers, 404, missing)));
        };
        if !caller.owns(&image) {
            return Err(Box::new(webob_error(
                headers,
                403,
                "You do not own this image",
            )));
        }
        Ok((caller, image))
    }
}

/// The answer to a refusal; a 409 carries its message as webob's detail.
fn refused(headers: &HeaderMap, (status, message): Refusal) -> Response {
    if status == 409 {
        let conflict = "There was a conflict when trying to complete your request.";
        return webob_raw(
            headers,
            409,
            &format!("{conflict}<br /><br />\n{message}\n\n"),
        );
    }
    webob_error(headers, status, &message)
}

fn image_response(status: u16, image: &GlanceImage) -> Response {
    json_bytes_response(
        status,
        serde_json::to_vec(&image.to_json()).unwrap_or_default(),
    )
}

/// `POST /v2/images`: 201 with the queued image (`shared` and owned by the
/// caller's project unless the body says otherwise).
pub(super) async fn create_image(
    State(emu): State<Arc<Emu>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = emu.lock();
    let caller = or_answer!(emu.caller(&state, &headers));
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&body) else {
        return webob_error(&headers, 400, "Malformed JSON in request body.");
    };
    let id = match doc.get("id") {
        None => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(id)) if uuid::Uuid::try_parse(id).is_ok() => id.to_ascii_lowercase(),
        Some(other) => {
            return refused(
                &headers,
                schema_error(format!("{} is not a 'uuid'", py_repr(other))),
            );
        }
    };
    if emu.find(&state, &id).is_some() {
        return webob_error(&headers, 409, &format!("Image ID {id} already exists!"));
    }
    let mut image = GlanceImage::new(id, "");
    image.name = None;
    image.status = "queued".into();
    image.visibility = "shared".into();
    image.owner = caller.project.clone();
    (
        image.size,
        image.checksum,
        image.disk_format,
        image.container_format,
    ) = (None, None, None, None);
    for (key, value) in &doc {
        if let Err(e) = refuse_key(key, true).and_then(|()| {
            if key == "id" {
                Ok(())
            } else {
                set_attribute(&mut image, key, value)
            }
        }) {
            return refused(&headers, e);
        }
    }
    if let Err(e) = check_policy(&image, &caller) {
        return refused(&headers, e);
    }
    state.inserted.insert(image.key(), image.clone());
    drop(state);
    let mut response = image_response(201, &image);
    let location = format!("{}/v2/images/{}", emu.endpoint(), image.id);
    if let Ok(v) = location.parse() {
        response.headers_mut().insert("location", v);
    }
    response
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// webob's 415 with Glance's detail.
fn unsupported(headers: &HeaderMap, given: &str, detail: &str) -> Response {
    webob_raw(
        headers,
        415,
        &format!(
            "The request media type {given} is not supported by this server.\n<br /><br />\n{detail}"
        ),
    )
}

/// `PUT /v2/images/{id}/file`: stores the data of a queued image; size,
/// `checksum` (MD5) and `os_hash_value` (SHA-512) are computed; 204.
pub(super) async fn upload_image((State(emu), Path(id), headers, body): IdWrite) -> Response {
    let given = content_type(&headers);
    if given != "application/octet-stream" {
        return unsupported(&headers, given, &format!("Invalid content type {given}"));
    }
    let mut state = emu.lock();
    let missing = format!("No image found with ID {id}");
    let (_, image) = or_answer!(emu.writable(&state, &headers, &id, &missing));
    if image.status != "queued" {
        let message = format!(
            "Image status transition from {} to saving is not allowed",
            image.status
        );
        return webob_error(&headers, 409, &message);
    }
    let md5 = md5::Md5::digest(&body);
    let sha = sha2::Sha512::digest(&body);
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    emu.modify(&mut state, &image.id, |img| {
        img.status = "active".into();
        img.size = Some(body.len() as u64);
        img.checksum = Some(hex(&md5));
        img.os_hash_value = Some(hex(&sha));
        img.updated_at = Utc::now();
    });
    no_content()
}

/// `PATCH /v2/images/{id}`: `add`, `replace`, `remove` on `/ATTRIBUTE`
/// (core attributes, custom properties, `/tags` as a whole); all or nothing.
pub(super) async fn patch_image((State(emu), Path(id), headers, body): IdWrite) -> Response {
    let given = content_type(&headers);
    if !PATCH_TYPES.split(", ").any(|t| t == given) {
        let detail = format!("Image PATCH expects Content-Type one of: {PATCH_TYPES}");
        return unsupported(&headers, given, &detail);
    }
    let Ok(Value::Array(ops)) = serde_json::from_slice::<Value>(&body) else {
        return webob_error(&headers, 400, "Malformed JSON in request body.");
    };
    let mut state = emu.lock();
    let missing = format!("No image found with ID {id}");
    let (caller, mut image) = or_answer!(emu.writable(&state, &headers, &id, &missing));
    for op in &ops {
        if let Err(e) = apply(&mut image, op) {
            return refused(&headers, e);
        }
    }
    if let Err(e) = check_policy(&image, &caller) {
        return refused(&headers, e);
    }
    image.updated_at = Utc::now();
    let stored = image.clone();
    emu.modify(&mut state, &id, |img| *img = stored);
    image_response(200, &image)
}

/// One JSON-patch operation.
fn apply(image: &mut GlanceImage, op: &Value) -> Result<(), Refusal> {
    let path = op["path"].as_str().unwrap_or("");
    let Some(key) = path
        .strip_prefix('/')
        .filter(|k| !k.is_empty() && !k.contains('/'))
    else {
        return Err((
            400,
            format!("Invalid JSON pointer for this resource: '{path}'"),
        ));
    };
    refuse_key(key, false)?;
    let core = to_json_has(image, key);
    match op["op"].as_str() {
        Some("add") => set_attribute(image, key, &op["value"]),
        Some("replace") if core || image.properties.contains_key(key) => {
            set_attribute(image, key, &op["value"])
        }
        Some("remove") if image.properties.contains_key(key) => {
            image.properties.remove(key);
            Ok(())
        }
        Some("remove") if core => Err((403, format!("Attribute '{key}' is read-only."))),
        Some("replace" | "remove") => Err((
            409,
            format!("Property {key} does not exist."),
        )),
        _ => Err((400, "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".".to_owned())),
    }
}

/// Whether `key` is a core attribute of the image document.
fn to_json_has(image: &GlanceImage, key: &str) -> bool {
    !image.properties.contains_key(key) && image.to_json().get(key).is_some()
}

/// `PUT` and `DELETE /v2/images/{id}/tags/{tag}`: 204.
pub(super) async fn put_tag(
    State(emu): State<Arc<Emu>>,
    Path((id, tag)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    change_tag(&emu, &headers, &id, &tag, true)
}

/// `DELETE /v2/images/{id}/tags/{tag}`: 204, or 404 when it has no such tag.
pub(super) async fn delete_tag(
    State(emu): State<Arc<Emu>>,
    Path((id, tag)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    change_tag(&emu, &headers, &id, &tag, false)
}

fn change_tag(emu: &Emu, headers: &HeaderMap, id: &str, tag: &str, add: bool) -> Response {
    let mut state = emu.lock();
    let missing = format!("Image {id} not found.");
    let (_, mut image) = or_answer!(emu.writable(&state, headers, id, &missing));
    if add {
        if !image.tags.iter().any(|t| t == tag) {
            image.tags.push(tag.to_owned());
        }
    } else if let Some(p) = image.tags.iter().position(|t| t == tag) {
        image.tags.remove(p);
    } else {
        return webob_error(headers, 404, "The resource could not be found.");
    }
    image.updated_at = Utc::now();
    emu.modify(&mut state, id, |img| *img = image);
    no_content()
}

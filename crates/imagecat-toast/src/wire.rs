//! The wire format of the v1.0 API: the `header` envelope, the `resultCode`
//! mapping, and the decoding of image and token documents.
//!
//! Decoding is lenient where the real server is uncertain (see
//! [`imagecat_http::lenient`]) and strict where it matters: a body that is not JSON,
//! a success without `images`, or an image without an `id` is
//! `InvalidResponse` with a snippet.

use chrono::{DateTime, Utc};
use imagecat_core::{
    BackendKind, Error, ErrorKind, Image, ImageStatus, NativeRecord, Properties, Visibility,
};
use imagecat_http::{ErrorDocument, HttpResponse, snippet};
use serde::Deserialize;
use serde_json::value::RawValue;

use imagecat_http::lenient;

const BACKEND: BackendKind = BackendKind::Toast;

/// The `header` of every answer.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Header {
    /// Whether the call succeeded; the only reliable success flag.
    #[serde(
        default,
        rename = "isSuccessful",
        deserialize_with = "lenient::opt_bool"
    )]
    pub(crate) is_successful: Option<bool>,
    /// The result code, a number or a string on the wire, kept as text.
    #[serde(default, rename = "resultCode", deserialize_with = "lenient::opt_code")]
    pub(crate) result_code: Option<String>,
    /// The result message.
    #[serde(
        default,
        rename = "resultMessage",
        deserialize_with = "lenient::opt_text"
    )]
    pub(crate) result_message: Option<String>,
}

impl Header {
    /// Success is judged by `isSuccessful`; only when it is absent does a
    /// `resultCode` of 0 count as success.
    pub(crate) fn succeeded(&self) -> bool {
        match self.is_successful {
            Some(ok) => ok,
            None => self.code_number() == Some(0),
        }
    }

    fn code_number(&self) -> Option<i64> {
        self.result_code.as_deref().and_then(|c| c.parse().ok())
    }

    fn code_text(&self) -> String {
        self.result_code
            .clone()
            .unwrap_or_else(|| "(no resultCode)".to_owned())
    }

    fn message_text(&self) -> String {
        self.result_message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "the server reported a failure without a message".to_owned())
    }
}

/// Only the header; everything else ignored (the error path).
#[derive(Debug, Deserialize)]
struct HeaderOnly {
    #[serde(default)]
    header: Option<Header>,
}

/// A list answer: the header, and each image kept as raw JSON text so that
/// it can be decoded into a typed struct and still be kept verbatim.
#[derive(Debug, Deserialize)]
struct ListBody {
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    images: Option<Vec<Box<RawValue>>>,
}

/// A token answer.
#[derive(Debug, Deserialize)]
struct TokenBody {
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    access: Option<Access>,
}

#[derive(Debug, Deserialize)]
struct Access {
    #[serde(default)]
    token: Option<TokenDoc>,
}

#[derive(Debug, Deserialize)]
struct TokenDoc {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    expires: Option<String>,
}

/// A token as the token API issued it.
pub(crate) struct IssuedToken {
    /// The token id, sent as `X-Auth-Token`.
    pub(crate) id: String,
    /// When it expires, if the server said so in a form we can read.
    pub(crate) expires: Option<DateTime<Utc>>,
}

/// The error for a `header` with `isSuccessful: false`, by `resultCode`.
///
/// | resultCode | kind |
/// |---|---|
/// | -3, 30401, 50401 | Unauthenticated |
/// | -4 | InvalidInput |
/// | -5, 30404 | NotFound |
/// | 30403 | PermissionDenied |
/// | 30429 | RateLimited |
/// | anything else | Api (code and message) |
pub(crate) fn envelope_error(response: &HttpResponse, header: &Header) -> Error {
    let code = header.code_text();
    let message = header.message_text();
    let kind = match header.code_number() {
        Some(-3 | 30401 | 50401) => ErrorKind::Unauthenticated,
        Some(-4) => ErrorKind::InvalidInput,
        Some(-5 | 30404) => ErrorKind::NotFound,
        Some(30403) => ErrorKind::PermissionDenied,
        Some(30429) => ErrorKind::RateLimited,
        _ => ErrorKind::Api,
    };
    let error = Error::new(kind, message)
        .with_backend(BACKEND)
        .with_code(code);
    match kind {
        ErrorKind::RateLimited => error.with_retry_after(response.retry_after()),
        ErrorKind::Api => error.with_status(response.status.as_u16()),
        // TOAST's own envelope said so: proof the image is gone.
        ErrorKind::NotFound => error.proving_absence(),
        _ => error,
    }
}

/// What an error body outside the envelope may look like: Keystone's
/// `{"error":{"code","message","title"}}` or webob's `{"code","message","title"}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient::opt_code")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    title: Option<String>,
}

/// The error for a non-2xx answer: classified by the status, carrying the
/// envelope's (or Keystone's, or webob's) code and message when the body has
/// them; without them, the shared fallback
/// ([`HttpResponse::undocumented_error`]).
pub(crate) fn status_failure(response: &HttpResponse) -> Error {
    response.failure(status_document(response))
}

/// The code and message of a non-2xx answer's body: a TOAST envelope, a
/// Keystone or webob `error`, or a bare `message`.
pub(crate) fn status_document(response: &HttpResponse) -> Option<ErrorDocument> {
    let body = serde_json::from_slice::<ErrorBody>(&response.body).ok()?;
    if let Some(header) = body.header {
        if header.result_code.is_some() || header.result_message.is_some() {
            return Some(ErrorDocument::new(
                header.result_code.clone(),
                header.message_text(),
            ));
        }
    }
    if let Some(detail) = body.error {
        let message = detail.message.or(detail.title);
        if detail.code.is_some() || message.is_some() {
            return Some(ErrorDocument::new(
                detail.code,
                message.unwrap_or_else(|| format!("HTTP {}", response.status)),
            ));
        }
    }
    body.message
        .map(|message| ErrorDocument::new(body.code, message))
}

/// Checks the status and the header of an answer that carries no data (a
/// delete): `Ok(())` on success, the mapped error otherwise.
pub(crate) fn decode_ack(response: &HttpResponse) -> Result<(), Error> {
    if !response.status.is_success() {
        return Err(status_failure(response));
    }
    let body: HeaderOnly = serde_json::from_slice(&response.body).map_err(|e| {
        response
            .invalid(format!("cannot decode body: {e}"))
            .with_source(e)
    })?;
    check_header(response, body.header.as_ref())
}

fn check_header(response: &HttpResponse, header: Option<&Header>) -> Result<(), Error> {
    match header {
        None => Err(response.invalid("the answer has no `header` envelope")),
        Some(h) if h.is_successful.is_none() && h.result_code.is_none() => {
            Err(response.invalid("the `header` has neither `isSuccessful` nor `resultCode`"))
        }
        Some(h) if !h.succeeded() => Err(envelope_error(response, h)),
        Some(_) => Ok(()),
    }
}

/// Decodes `T` after the status check; when `T` does not decode, the header
/// alone is tried so that a failure envelope of an unexpected shape still
/// reports its `resultCode`.
pub(crate) fn decode_enveloped<T: serde::de::DeserializeOwned>(
    response: &HttpResponse,
    header_of: impl Fn(&T) -> Option<&Header>,
) -> Result<T, Error> {
    if !response.status.is_success() {
        return Err(status_failure(response));
    }
    match serde_json::from_slice::<T>(&response.body) {
        Ok(body) => {
            check_header(response, header_of(&body))?;
            Ok(body)
        }
        Err(e) => {
            if let Ok(HeaderOnly {
                header: Some(header),
            }) = serde_json::from_slice::<HeaderOnly>(&response.body)
            {
                if !header.succeeded() {
                    return Err(envelope_error(response, &header));
                }
            }
            Err(response
                .invalid(format!("cannot decode body: {e}"))
                .with_source(e))
        }
    }
}

/// Decodes a list answer into images, in the server's order.
pub(crate) fn decode_list(response: &HttpResponse) -> Result<Vec<Image>, Error> {
    let body = decode_enveloped::<ListBody>(response, |b| b.header.as_ref())?;
    let Some(raw_images) = body.images else {
        return Err(response.invalid("a successful answer without `images`"));
    };
    let mut images = Vec::with_capacity(raw_images.len());
    for (index, raw) in raw_images.into_iter().enumerate() {
        images.push(
            decode_image(raw)
                .map_err(|e| response.attach(e.map_message(|m| format!("image #{index}: {m}"))))?,
        );
    }
    Ok(images)
}

/// Decodes a token answer. A successful answer that cannot be decoded may
/// still hold a token, so its error shows neither the body nor the decoder's
/// message (which can quote a value).
pub(crate) fn decode_token(response: &HttpResponse) -> Result<IssuedToken, Error> {
    response.hide_secret_answer("the token answer", decode_token_body(response))
}

fn decode_token_body(response: &HttpResponse) -> Result<IssuedToken, Error> {
    let body = decode_enveloped::<TokenBody>(response, |b| b.header.as_ref())?;
    let token = body.access.and_then(|a| a.token);
    let Some(token) = token else {
        return Err(response.invalid("a successful token answer without `access.token`"));
    };
    let Some(id) = token.id.filter(|id| !id.is_empty()) else {
        return Err(response.invalid("a successful token answer without `access.token.id`"));
    };
    let expires = token.expires.as_deref().and_then(|text| {
        let parsed = lenient::parse_timestamp(text);
        if parsed.is_none() {
            tracing::warn!(
                expires = text,
                "cannot read the token's expiry; it will be renewed only when refused"
            );
        }
        parsed
    });
    Ok(IssuedToken { id, expires })
}

/// One image as the v1.0 API writes it. Unknown fields are ignored here and
/// kept in the native record.
#[derive(Debug, Deserialize)]
struct WireImage {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    status: Option<String>,
    #[serde(default, rename = "isPublic", deserialize_with = "lenient::opt_bool")]
    is_public: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    protected: Option<bool>,
    #[serde(default, rename = "minDisk", deserialize_with = "lenient::opt_u64")]
    min_disk: Option<u64>,
    #[serde(default, rename = "minRam", deserialize_with = "lenient::opt_u64")]
    min_ram: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    size: Option<u64>,
    #[serde(default, rename = "diskFormat", deserialize_with = "lenient::opt_text")]
    disk_format: Option<String>,
    #[serde(
        default,
        rename = "createdAt",
        deserialize_with = "lenient::opt_timestamp"
    )]
    created_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        rename = "updatedAt",
        deserialize_with = "lenient::opt_timestamp"
    )]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::properties")]
    properties: Properties,
}

/// The property whose value becomes [`Image::arch`].
pub(crate) const ARCH_PROPERTY: &str = "os_architecture";
/// The property whose value becomes [`Image::description`].
pub(crate) const DESCRIPTION_PROPERTY: &str = "description";

/// Decodes one image from its raw JSON text, keeping the text as the
/// native record.
pub(crate) fn decode_image(raw: Box<RawValue>) -> Result<Image, Error> {
    let invalid = |message: String| {
        Error::invalid_response(BACKEND, None, None, message, snippet(raw.get().as_bytes()))
    };
    let wire: WireImage = serde_json::from_str(raw.get())
        .map_err(|e| invalid(format!("cannot decode image: {e}")).with_source(e))?;
    let Some(id) = wire.id.filter(|id| !id.is_empty()) else {
        return Err(invalid("an image without `id`".to_owned()));
    };
    let native_status = wire.status.unwrap_or_default();
    let mut image = Image::new(
        id,
        BACKEND,
        ImageStatus::from_glance(&native_status),
        native_status,
    );
    image.name = wire.name;
    image.visibility = wire.is_public.map(|public| {
        if public {
            Visibility::Public
        } else {
            Visibility::Private
        }
    });
    image.created_at = wire.created_at;
    image.updated_at = wire.updated_at;
    image.size_bytes = wire.size;
    image.min_disk_gb = wire.min_disk;
    image.min_ram_mb = wire.min_ram;
    image.disk_format = wire.disk_format;
    image.protected = wire.protected;
    image.arch = wire.properties.get(ARCH_PROPERTY).map(str::to_owned);
    image.description = wire.properties.get(DESCRIPTION_PROPERTY).map(str::to_owned);
    image.properties = wire.properties;
    image.native = Some(NativeRecord::from_raw(raw));
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn image_fields_map_to_the_model() {
        let image = decode_image(raw(
            r#"{"createdAt":"2018-10-23T02:17:43.000000","diskFormat":"qcow2",
            "id":"1c868787-6207-4ff2-a1e7-ae1331d6829b","isPublic":true,"minDisk":20,"minRam":0,
            "name":"CentOS 6.10 (2018.10.23)","properties":{"description":"CentOS 6.10","os_architecture":"amd64"},
            "protected":true,"size":1778843648,"status":"active","updatedAt":"2018-12-11T01:01:35Z","extra":[1]}"#,
        ))
        .unwrap();
        assert_eq!(image.id.as_str(), "1c868787-6207-4ff2-a1e7-ae1331d6829b");
        assert_eq!(image.visibility, Some(Visibility::Public));
        assert_eq!(image.min_disk_gb, Some(20));
        assert_eq!(image.min_ram_mb, Some(0));
        assert_eq!(image.size_bytes, Some(1_778_843_648));
        assert_eq!(image.arch.as_deref(), Some("amd64"));
        assert_eq!(image.description.as_deref(), Some("CentOS 6.10"));
        assert_eq!(image.properties.len(), 2);
        assert_eq!(image.owner, None);
        assert_eq!(image.checksum, None);
        assert_eq!(image.status, ImageStatus::Active);
        assert_eq!(image.backend, BackendKind::Toast);
        assert!(image.native.unwrap().as_str().contains(r#""extra":[1]"#));
    }

    #[test]
    fn an_image_without_id_is_invalid_response() {
        for text in [r#"{"name":"x"}"#, r#"{"id":""}"#, r#"{"id":null}"#] {
            let e = decode_image(raw(text)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{text}");
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            backend: BACKEND,
            status: imagecat_http::reqwest::StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec().into(),
            attempt: 1,
        }
    }

    /// The v1.0 token response of the reference (§8).
    const TOKEN_DOC: &str = r#"{
      "header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
      "access": {
        "token": {
          "expires": "2019-01-22T09:41:09Z",
          "id": "7d2d4ea0b51c4d3c9a3f1e1e6b2f4a10",
          "issued_at": "2019-01-22T08:41:09.166563"
        },
        "user": {"id": "436f727b7c9142f896ddd56be591dd7f", "roles": [{"name": "project_admin"}]}
      }
    }"#;

    #[test]
    fn the_reference_token_document_decodes() {
        let token = decode_token(&response(200, TOKEN_DOC)).unwrap();
        assert_eq!(token.id, "7d2d4ea0b51c4d3c9a3f1e1e6b2f4a10");
        assert_eq!(
            token.expires,
            Some(
                DateTime::parse_from_rfc3339("2019-01-22T09:41:09Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
        let naive = TOKEN_DOC.replace("09:41:09Z", "09:41:09.5");
        let token = decode_token(&response(200, &naive)).unwrap();
        assert_eq!(
            token.expires.unwrap().to_rfc3339(),
            "2019-01-22T09:41:09.500+00:00"
        );
        let unreadable = TOKEN_DOC.replace("2019-01-22T09:41:09Z", "next tuesday");
        assert_eq!(
            decode_token(&response(200, &unreadable)).unwrap().expires,
            None
        );
    }

    #[test]
    fn bad_token_answers() {
        let cases = [
            (
                200,
                r#"{"header":{"isSuccessful":true,"resultCode":0}}"#,
                ErrorKind::InvalidResponse,
            ),
            (
                200,
                r#"{"header":{"isSuccessful":true},"access":{"token":{"id":""}}}"#,
                ErrorKind::InvalidResponse,
            ),
            (
                200,
                r#"{"access":{"token":{"id":"x"}}}"#,
                ErrorKind::InvalidResponse,
            ),
            (200, "<html>", ErrorKind::InvalidResponse),
            (
                200,
                r#"{"header":{"isSuccessful":false,"resultCode":50401,"resultMessage":"no"}}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                200,
                r#"{"header":{"isSuccessful":false,"resultCode":-3,"resultMessage":"no"},"access":7}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                401,
                r#"{"error":{"message":"The request you have made requires authentication.","code":401,"title":"Unauthorized"}}"#,
                ErrorKind::Unauthenticated,
            ),
            (500, "oops", ErrorKind::InvalidResponse),
        ];
        for (status, body, kind) in cases {
            let e = decode_token(&response(status, body)).err().unwrap();
            assert_eq!(e.kind(), kind, "{body}: {e}");
        }
    }

    #[test]
    fn a_failure_header_wins_over_a_broken_body() {
        let e = decode_list(&response(
            200,
            r#"{"header":{"isSuccessful":false,"resultCode":"30403","resultMessage":"Image is protected"},"images":{"odd":1}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "toast: permission denied [30403]: Image is protected"
        );
    }

    #[test]
    fn missing_status_is_an_unknown_empty_word() {
        let image = decode_image(raw(r#"{"id":"a"}"#)).unwrap();
        assert_eq!(image.native_status, "");
        assert_eq!(image.status, ImageStatus::Unknown(String::new()));
    }
}

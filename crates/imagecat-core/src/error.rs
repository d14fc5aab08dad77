//! The one error type of imagecat.

use std::fmt;
use std::time::Duration;

use crate::model::{BackendKind, ImageId};

/// A boxed error kept as the cause of a transport failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of imagecat.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is; stable across variants' fields, so
/// callers (and the CLI's exit codes) can match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The image (or the named thing) does not exist.
    NotFound,
    /// A name matched several images.
    Ambiguous,
    /// Credentials are missing, wrong or expired.
    Unauthenticated,
    /// Authenticated, but not allowed (a protected image, not the owner…).
    PermissionDenied,
    /// A bad id or option, refused before or by the server.
    InvalidInput,
    /// The backend or this build cannot do it.
    NotSupported,
    /// The server asked us to slow down.
    RateLimited,
    /// A timeout or the time budget ran out.
    Timeout,
    /// The connection failed.
    Transport,
    /// The server answered something we cannot read, or lied about pages.
    InvalidResponse,
    /// The backend reported an error of its own.
    Api,
    /// The configuration is wrong.
    Config,
}

/// The error of every imagecat operation, in the manner of OpenDAL's: a
/// [`kind`](Error::kind) callers match on, the backend, the HTTP status, the
/// backend's code and message, how long to wait, context entries and the
/// underlying error kept as [`source`](std::error::Error::source). Its
/// `Display` always names the backend and carries the backend's code and
/// message where there is one.
pub struct Error(Box<Fields>);

/// The fields of an [`Error`], boxed so that a `Result` stays small.
#[derive(Debug)]
struct Fields {
    kind: ErrorKind,
    backend: Option<BackendKind>,
    message: String,
    status: Option<u16>,
    code: Option<String>,
    retry_after: Option<Duration>,
    context: Vec<(&'static str, String)>,
    source: Option<BoxError>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fields {
            kind,
            backend,
            message,
            status,
            code,
            retry_after,
            context,
            source,
        } = &*self.0;
        f.debug_struct("Error")
            .field("kind", kind)
            .field("backend", backend)
            .field("message", message)
            .field("status", status)
            .field("code", code)
            .field("retry_after", retry_after)
            .field("context", context)
            .field("source", source)
            .finish()
    }
}

/// An underlying error whose text had to be rewritten (an echoed secret
/// scrubbed): its text is kept, the error itself is dropped.
#[derive(Debug)]
struct RewrittenSource(String);

impl fmt::Display for RewrittenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RewrittenSource {}

impl Error {
    /// Context key: the content type of the answer (`InvalidResponse`).
    pub const CONTENT_TYPE: &'static str = "content_type";
    /// Context key: the first 2 KiB of the body at most (`InvalidResponse`).
    pub const BODY: &'static str = "body";
    /// Context key: a paging marker that no longer names an image
    /// (`InvalidInput`; see [`Error::stale_marker`]).
    pub const MARKER: &'static str = "marker";
    /// Context key: the name or pattern looked up (`Ambiguous`).
    pub const NAME: &'static str = "name";
    /// Context key: the ids of the matching images, comma-separated (`Ambiguous`).
    pub const CANDIDATES: &'static str = "candidates";
    /// Context key: set (by [`Error::proving_absence`]) only on a `NotFound`
    /// that an adapter read from its backend's own error document; see
    /// [`Error::proves_absence`].
    pub const ABSENCE_PROVED: &'static str = "absence_proved";

    /// An error of `kind` with a message and nothing else (add the rest with
    /// the `with_*` methods).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Fields {
            kind,
            backend: None,
            message: message.into(),
            status: None,
            code: None,
            retry_after: None,
            context: Vec::new(),
            source: None,
        }))
    }

    /// The same error from `backend`.
    pub fn with_backend(mut self, backend: BackendKind) -> Self {
        self.0.backend = Some(backend);
        self
    }

    /// The same error with the HTTP status (`None`: none).
    pub fn with_status(mut self, status: impl Into<Option<u16>>) -> Self {
        self.0.status = status.into();
        self
    }

    /// The same error with the backend's own code (`None`: none).
    pub fn with_code(mut self, code: impl Into<Option<String>>) -> Self {
        self.0.code = code.into();
        self
    }

    /// The same error with how long the server asked us to wait (`None`: no
    /// wait given).
    pub fn with_retry_after(mut self, retry_after: impl Into<Option<Duration>>) -> Self {
        self.0.retry_after = retry_after.into();
        self
    }

    /// The same error with a context entry; an entry of the same key is
    /// replaced. The keys `Display` shows are the associated constants
    /// ([`Error::CONTENT_TYPE`], [`Error::BODY`], [`Error::MARKER`],
    /// [`Error::NAME`], [`Error::CANDIDATES`]).
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.context.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.context.push((key, value)),
        }
        self
    }

    /// The same error with the underlying error kept as its source.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// The same error marked as proof that the thing is gone: only an
    /// adapter that recognised its backend's own not-found document (never a
    /// bare 404, a proxy's page or an empty body) calls this. A no-op on any
    /// kind but `NotFound`.
    pub fn proving_absence(self) -> Self {
        if self.kind() == ErrorKind::NotFound {
            self.with_context(Self::ABSENCE_PROVED, "true")
        } else {
            self
        }
    }

    /// Whether this error proves that the image (or named thing) does not
    /// exist: a `NotFound` marked by [`Error::proving_absence`]. Every "is it
    /// gone?" decision (the re-check before a delete, a delete's answer, the
    /// look-up after a lost answer) asks this, never the kind alone.
    pub fn proves_absence(&self) -> bool {
        self.kind() == ErrorKind::NotFound && self.context_value(Self::ABSENCE_PROVED).is_some()
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The backend the error comes from, when one is concerned.
    pub fn backend(&self) -> Option<BackendKind> {
        self.0.backend
    }

    /// The HTTP status, when the error is about an answer.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The backend's own error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// What went wrong: the backend's message, or ours.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// How long the server asked us to wait, for a rate limit.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The context entries, in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.0.context
    }

    /// The value of the context entry `key`, if any.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.0
            .context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The answer's content type, for an `InvalidResponse`.
    pub fn content_type(&self) -> Option<&str> {
        self.context_value(Self::CONTENT_TYPE)
    }

    /// The start of the answer's body (2 KiB at most), for an
    /// `InvalidResponse`; empty when there is none.
    pub fn body(&self) -> &str {
        self.context_value(Self::BODY).unwrap_or_default()
    }

    /// The paging marker sent, when the server refused it because it no
    /// longer names an image (deleted during the listing): the pagination
    /// engine resumes from an earlier image. Such an error is `InvalidInput`.
    pub fn stale_marker(&self) -> Option<&str> {
        match self.0.kind {
            ErrorKind::InvalidInput => self.context_value(Self::MARKER),
            _ => None,
        }
    }

    /// Whether the same idempotent request may succeed if sent again:
    /// rate limits, timeouts, transport failures, server-side (5xx) errors
    /// and unreadable answers (a proxy may have garbled them).
    pub fn is_retryable(&self) -> bool {
        match self.0.kind {
            ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::Transport => true,
            ErrorKind::InvalidResponse => self.0.status.is_some_and(|s| !(300..500).contains(&s)),
            ErrorKind::Api => self.0.status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }

    /// The same error with its message rewritten by `f` (to add context:
    /// "image #3: …", "the token request was refused: …"); everything else
    /// is kept.
    pub fn map_message(mut self, f: impl FnOnce(String) -> String) -> Self {
        self.0.message = f(self.0.message);
        self
    }

    /// The same error with every text a server may have supplied (message,
    /// code, every context value, the source's text) rewritten by `f` where
    /// it returns `Some` (to scrub echoed secrets). A source whose text is
    /// rewritten is replaced by its rewritten text; kind, backend, status
    /// and retry-after are kept.
    pub fn map_text(mut self, f: impl Fn(&str) -> Option<String>) -> Self {
        let edit = |text: &mut String| {
            if let Some(new) = f(text) {
                *text = new;
            }
        };
        edit(&mut self.0.message);
        self.0.code.iter_mut().for_each(edit);
        self.0.context.iter_mut().for_each(|(_, value)| edit(value));
        if let Some(source) = &self.0.source {
            let shown = source.to_string();
            let rewritten = f(&shown);
            if rewritten.is_some() || f(&format!("{source:?}")).is_some() {
                self.0.source = Some(Box::new(RewrittenSource(rewritten.unwrap_or(shown))));
            }
        }
        self
    }

    /// A `NotFound` error for an image id, as the authority on the catalog
    /// says it (it [proves absence](Error::proves_absence)).
    pub fn not_found(backend: BackendKind, id: &ImageId) -> Self {
        Error::new(ErrorKind::NotFound, format!("no image with id {id}"))
            .with_backend(backend)
            .proving_absence()
    }

    /// An `Ambiguous` error: `name` matched the `candidates`.
    pub fn ambiguous(backend: BackendKind, name: &str, candidates: &[ImageId]) -> Self {
        let ids = candidates
            .iter()
            .map(ImageId::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        Error::new(
            ErrorKind::Ambiguous,
            format!("{} images match ({ids})", candidates.len()),
        )
        .with_backend(backend)
        .with_context(Self::NAME, name)
        .with_context(Self::CANDIDATES, ids)
    }

    /// An `InvalidInput` error raised on the client, before any request.
    pub fn invalid_input(backend: BackendKind, message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidInput, message.to_string()).with_backend(backend)
    }

    /// An `InvalidInput` error for a paging marker the server refused because
    /// it no longer names an image (see [`Error::stale_marker`]).
    pub fn marker_gone(backend: BackendKind, marker: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
            .with_backend(backend)
            .with_context(Self::MARKER, marker)
    }

    /// An `InvalidResponse` error about an answer: its status and content
    /// type when known, and the start of its body (empty: none).
    pub fn invalid_response(
        backend: BackendKind,
        status: Option<u16>,
        content_type: Option<String>,
        message: impl fmt::Display,
        body: impl Into<String>,
    ) -> Self {
        let mut error = Error::paging(backend, message).with_status(status);
        if let Some(content_type) = content_type {
            error = error.with_context(Self::CONTENT_TYPE, content_type);
        }
        let body = body.into();
        if !body.is_empty() {
            error = error.with_context(Self::BODY, body);
        }
        error
    }

    /// An `InvalidResponse` error about the shape of pages (no HTTP detail).
    pub fn paging(backend: BackendKind, message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidResponse, message.to_string()).with_backend(backend)
    }

    /// A `Transport` error with the failure that caused it.
    pub fn transport(
        backend: BackendKind,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::new(ErrorKind::Transport, message)
            .with_backend(backend)
            .with_source(source)
    }

    /// A `Config` error for a backend.
    pub fn config(backend: Option<BackendKind>, message: impl fmt::Display) -> Self {
        let error = Error::new(ErrorKind::Config, message.to_string());
        match backend {
            Some(backend) => error.with_backend(backend),
            None => error,
        }
    }
}

impl ErrorKind {
    /// How `Display` names the kind (Ambiguous and a stale marker name
    /// their context instead).
    fn phrase(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::NotSupported => "not supported",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Transport => "transport error",
            ErrorKind::InvalidResponse => "invalid response",
            ErrorKind::Api => "API error",
            ErrorKind::Config => "configuration error",
        }
    }
}

/// `backend: phrase [code] (HTTP status, content type): message (retry
/// after 1.0s); body starts: …`, each part only when there is one.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(backend) = self.0.backend {
            write!(f, "{backend}: ")?;
        }
        match (self.0.kind, self.stale_marker()) {
            (_, Some(marker)) => write!(f, "paging marker {marker:?} is gone")?,
            (ErrorKind::Ambiguous, _) => {
                let name = self.context_value(Self::NAME).unwrap_or_default();
                write!(f, "name {name:?} is ambiguous")?;
            }
            (kind, None) => f.write_str(kind.phrase())?,
        }
        if let Some(code) = &self.0.code {
            write!(f, " [{code}]")?;
        }
        match (self.0.status, self.content_type()) {
            (Some(s), Some(ct)) => write!(f, " (HTTP {s}, {ct})")?,
            (Some(s), None) => write!(f, " (HTTP {s})")?,
            (None, Some(ct)) => write!(f, " ({ct})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.0.message)?;
        if let Some(wait) = self.0.retry_after {
            write!(f, " (retry after {:.1}s)", wait.as_secs_f64())?;
        }
        match self.body() {
            "" => Ok(()),
            body => write!(f, "; body starts: {body}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use BackendKind::{Dcmgr, Glance, Toast};

    #[test]
    fn display_of_every_kind_is_pinned() {
        let table = [
            (
                Error::new(ErrorKind::NotFound, "Image with identifier x not found")
                    .with_backend(Toast)
                    .with_code("30404".to_owned()),
                "toast: not found [30404]: Image with identifier x not found",
            ),
            (
                Error::ambiguous(Glance, "x", &["a".into(), "b".into()]),
                "glance: name \"x\" is ambiguous: 2 images match (a, b)",
            ),
            (
                Error::new(ErrorKind::Unauthenticated, "no").with_backend(Toast),
                "toast: unauthenticated: no",
            ),
            (
                Error::new(ErrorKind::PermissionDenied, "protected")
                    .with_backend(Dcmgr)
                    .with_code("104".to_owned()),
                "dcmgr: permission denied [104]: protected",
            ),
            (
                Error::invalid_input(Glance, "bad id"),
                "glance: invalid input: bad id",
            ),
            (
                Error::marker_gone(Toast, "m\"1", "gone").with_code("30400".to_owned()),
                "toast: paging marker \"m\\\"1\" is gone [30400]: gone",
            ),
            (
                Error::new(ErrorKind::NotSupported, "usage"),
                "not supported: usage",
            ),
            (
                Error::new(ErrorKind::RateLimited, "slow down")
                    .with_backend(Toast)
                    .with_code("30429".to_owned())
                    .with_retry_after(Duration::from_secs(1)),
                "toast: rate limited [30429]: slow down (retry after 1.0s)",
            ),
            (
                Error::new(ErrorKind::Timeout, "list: no complete answer").with_backend(Dcmgr),
                "dcmgr: timed out: list: no complete answer",
            ),
            (
                Error::transport(Glance, "cannot connect", std::io::Error::other("refused")),
                "glance: transport error: cannot connect",
            ),
            (
                Error::invalid_response(
                    Dcmgr,
                    Some(502),
                    Some("text/html".into()),
                    "HTTP 502 without a dcmgr error document",
                    "<html>",
                ),
                "dcmgr: invalid response (HTTP 502, text/html): \
                 HTTP 502 without a dcmgr error document; body starts: <html>",
            ),
            (
                Error::invalid_response(Toast, None, Some("text/plain".into()), "odd", ""),
                "toast: invalid response (text/plain): odd",
            ),
            (
                Error::paging(Glance, "the page repeats"),
                "glance: invalid response: the page repeats",
            ),
            (
                Error::new(ErrorKind::Api, "DatabaseError: boom")
                    .with_backend(Dcmgr)
                    .with_status(400)
                    .with_code("110".to_owned()),
                "dcmgr: API error [110] (HTTP 400): DatabaseError: boom",
            ),
            (
                Error::config(Some(Toast), "no tenant"),
                "toast: configuration error: no tenant",
            ),
            (
                Error::config(None, "no catalogs"),
                "configuration error: no catalogs",
            ),
        ];
        for (error, shown) in table {
            assert_eq!(error.to_string(), shown, "{error:?}");
        }
    }

    #[test]
    fn a_stale_marker_is_invalid_input_with_its_marker() {
        let e = Error::marker_gone(Toast, "m1", "gone");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.stale_marker(), Some("m1"));
        assert_eq!(Error::invalid_input(Toast, "bad").stale_marker(), None);
        let ambiguous = Error::ambiguous(Toast, "web-*", &["a".into(), "b".into()]);
        assert_eq!(ambiguous.context_value(Error::CANDIDATES), Some("a, b"));
        assert_eq!(ambiguous.context_value(Error::NAME), Some("web-*"));
    }

    #[test]
    fn map_message_keeps_the_kind_and_the_code() {
        let e = Error::new(ErrorKind::Unauthenticated, "no")
            .with_backend(Toast)
            .with_code("-3".to_owned())
            .map_message(|m| format!("the token request was refused: {m}"));
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.code(), Some("-3"));
        assert_eq!(
            e.to_string(),
            "toast: unauthenticated [-3]: the token request was refused: no"
        );
    }

    #[test]
    fn map_text_reaches_message_code_context_and_source() {
        let scrub = |text: &str| {
            text.contains("s3cret")
                .then(|| text.replace("s3cret", "***"))
        };
        let e = Error::invalid_response(
            Toast,
            Some(500),
            Some("s3cret/type".into()),
            "bad s3cret",
            "{\"t\":\"s3cret\"}",
        )
        .with_code("s3cret".to_owned())
        .with_source(std::io::Error::other("echoed s3cret"))
        .map_text(scrub);
        let everything = format!("{e} {e:?}");
        assert!(!everything.contains("s3cret"), "{everything}");
        let source = std::error::Error::source(&e).expect("the source is kept");
        assert_eq!(source.to_string(), "echoed ***");
        assert_eq!(e.status(), Some(500));
        let untouched = Error::transport(Toast, "x", std::io::Error::other("fine")).map_text(scrub);
        let source = std::error::Error::source(&untouched).expect("the source is kept");
        assert!(source.is::<std::io::Error>());
    }

    #[test]
    fn retryable_kinds() {
        let api = |status: Option<u16>| {
            Error::new(ErrorKind::Api, "")
                .with_backend(Toast)
                .with_status(status)
                .with_code("x".to_owned())
        };
        assert!(api(Some(503)).is_retryable());
        assert!(!api(Some(400)).is_retryable());
        assert!(!Error::not_found(BackendKind::Memory, &"a".into()).is_retryable());
        let ir = |status| Error::invalid_response(Dcmgr, status, None, "", "");
        assert!(ir(Some(502)).is_retryable());
        assert!(ir(Some(200)).is_retryable());
        assert!(!ir(Some(404)).is_retryable());
    }
}

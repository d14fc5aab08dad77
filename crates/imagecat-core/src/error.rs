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

/// The error of every imagecat operation. Its `Display` always names the
/// backend and carries the backend's code and message where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image does not exist (or is not visible to this account).
    #[error("{backend}: not found{}: {message}", code_part(.code))]
    NotFound {
        /// The backend.
        backend: BackendKind,
        /// The backend's error code, if any.
        code: Option<String>,
        /// What was not found, or the backend's message.
        message: String,
    },
    /// A name matched more than one image.
    #[error("{backend}: name {name:?} is ambiguous: {} images match ({})", candidates.len(), join_ids(candidates))]
    Ambiguous {
        /// The backend.
        backend: BackendKind,
        /// The name or pattern looked up.
        name: String,
        /// The ids of the matching images.
        candidates: Vec<ImageId>,
    },
    /// Credentials are missing, wrong or expired.
    #[error("{backend}: unauthenticated{}: {message}", code_part(.code))]
    Unauthenticated {
        /// The backend.
        backend: BackendKind,
        /// The backend's error code, if any.
        code: Option<String>,
        /// The backend's message.
        message: String,
    },
    /// The operation is not allowed (a protected or public image, not the owner).
    #[error("{backend}: permission denied{}: {message}", code_part(.code))]
    PermissionDenied {
        /// The backend.
        backend: BackendKind,
        /// The backend's error code, if any.
        code: Option<String>,
        /// The backend's message.
        message: String,
    },
    /// A bad id or option.
    #[error("{backend}: invalid input{}: {message}", code_part(.code))]
    InvalidInput {
        /// The backend.
        backend: BackendKind,
        /// The backend's error code, if the server refused it.
        code: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A paging marker no longer names an image (it was deleted during the
    /// listing). The pagination engine resumes from an earlier image.
    #[error("{backend}: paging marker {marker:?} is gone{}: {message}", code_part(.code))]
    StaleMarker {
        /// The backend.
        backend: BackendKind,
        /// The marker sent.
        marker: String,
        /// The backend's error code, if any.
        code: Option<String>,
        /// The backend's message.
        message: String,
    },
    /// The capability is missing, or the backend's feature is not compiled in.
    #[error("{}not supported: {message}", backend_part(.backend))]
    NotSupported {
        /// The backend, when one is concerned.
        backend: Option<BackendKind>,
        /// What is not supported.
        message: String,
    },
    /// The server asked us to slow down.
    #[error("{backend}: rate limited{}: {message}{}", code_part(.code), retry_part(.retry_after))]
    RateLimited {
        /// The backend.
        backend: BackendKind,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
        /// The backend's error code, if any.
        code: Option<String>,
        /// The backend's message.
        message: String,
    },
    /// A request or the operation's time budget timed out.
    #[error("{backend}: timed out: {message}")]
    Timeout {
        /// The backend.
        backend: BackendKind,
        /// What timed out, after how many attempts and how long.
        message: String,
    },
    /// The connection failed.
    #[error("{backend}: transport error: {message}")]
    Transport {
        /// The backend.
        backend: BackendKind,
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The server's answer cannot be read, or its pages contradict themselves.
    #[error("{backend}: invalid response{}: {message}{}", status_part(.status, .content_type), snippet_part(.snippet))]
    InvalidResponse {
        /// The backend.
        backend: BackendKind,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// The response's content type.
        content_type: Option<String>,
        /// What is wrong with it.
        message: String,
        /// The first 2 KiB of the body at most.
        snippet: String,
    },
    /// The backend reported an error imagecat has no better kind for.
    #[error("{backend}: API error [{code}]{}: {message}", http_part(.status))]
    Api {
        /// The backend.
        backend: BackendKind,
        /// The HTTP status, when known.
        status: Option<u16>,
        /// The backend's error code.
        code: String,
        /// The backend's message.
        message: String,
    },
    /// The configuration is wrong.
    #[error("{}configuration error: {message}", backend_part(.backend))]
    Config {
        /// The backend, when one is concerned.
        backend: Option<BackendKind>,
        /// What is wrong.
        message: String,
    },
}

fn code_part(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default()
}

fn http_part(status: &Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn backend_part(backend: &Option<BackendKind>) -> String {
    backend.map(|b| format!("{b}: ")).unwrap_or_default()
}

fn retry_part(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default()
}

fn status_part(status: &Option<u16>, content_type: &Option<String>) -> String {
    match (status, content_type) {
        (Some(s), Some(ct)) => format!(" (HTTP {s}, {ct})"),
        (Some(s), None) => format!(" (HTTP {s})"),
        (None, Some(ct)) => format!(" ({ct})"),
        (None, None) => String::new(),
    }
}

fn snippet_part(snippet: &str) -> String {
    if snippet.is_empty() {
        String::new()
    } else {
        format!("; body starts: {snippet}")
    }
}

fn join_ids(ids: &[ImageId]) -> String {
    ids.iter()
        .map(ImageId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Ambiguous { .. } => ErrorKind::Ambiguous,
            Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::InvalidInput { .. } | Error::StaleMarker { .. } => ErrorKind::InvalidInput,
            Error::NotSupported { .. } => ErrorKind::NotSupported,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::InvalidResponse { .. } => ErrorKind::InvalidResponse,
            Error::Api { .. } => ErrorKind::Api,
            Error::Config { .. } => ErrorKind::Config,
        }
    }

    /// Whether the same idempotent request may succeed if sent again:
    /// rate limits, timeouts, transport failures, server-side (5xx) errors
    /// and unreadable answers (a proxy may have garbled them).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::InvalidResponse { status, .. } => {
                status.is_some_and(|s| !(300..500).contains(&s))
            }
            Error::Api { status, .. } => status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }

    /// The backend the error comes from, when one is concerned.
    pub fn backend(&self) -> Option<BackendKind> {
        match self {
            Error::NotFound { backend, .. }
            | Error::Ambiguous { backend, .. }
            | Error::Unauthenticated { backend, .. }
            | Error::PermissionDenied { backend, .. }
            | Error::InvalidInput { backend, .. }
            | Error::StaleMarker { backend, .. }
            | Error::RateLimited { backend, .. }
            | Error::Timeout { backend, .. }
            | Error::Transport { backend, .. }
            | Error::InvalidResponse { backend, .. }
            | Error::Api { backend, .. } => Some(*backend),
            Error::NotSupported { backend, .. } | Error::Config { backend, .. } => *backend,
        }
    }

    /// How long the server asked us to wait, for a rate limit.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The same error with its message rewritten by `f` (to add context:
    /// "image #3: …", "the token request was refused: …"); kind, backend,
    /// code, status and source are kept.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Error::NotFound {
                backend,
                code,
                message,
            } => Error::NotFound {
                backend,
                code,
                message: f(message),
            },
            Error::Unauthenticated {
                backend,
                code,
                message,
            } => Error::Unauthenticated {
                backend,
                code,
                message: f(message),
            },
            Error::PermissionDenied {
                backend,
                code,
                message,
            } => Error::PermissionDenied {
                backend,
                code,
                message: f(message),
            },
            Error::InvalidInput {
                backend,
                code,
                message,
            } => Error::InvalidInput {
                backend,
                code,
                message: f(message),
            },
            Error::RateLimited {
                backend,
                retry_after,
                code,
                message,
            } => Error::RateLimited {
                backend,
                retry_after,
                code,
                message: f(message),
            },
            Error::Timeout { backend, message } => Error::Timeout {
                backend,
                message: f(message),
            },
            Error::Transport {
                backend,
                message,
                source,
            } => Error::Transport {
                backend,
                message: f(message),
                source,
            },
            Error::InvalidResponse {
                backend,
                status,
                content_type,
                message,
                snippet,
            } => Error::InvalidResponse {
                backend,
                status,
                content_type,
                message: f(message),
                snippet,
            },
            Error::Api {
                backend,
                status,
                code,
                message,
            } => Error::Api {
                backend,
                status,
                code,
                message: f(message),
            },
            other => other,
        }
    }

    /// The same error with every text a server may have supplied (messages,
    /// codes, snippets, markers, names, content types) rewritten by `f`
    /// where it returns `Some` (to scrub echoed secrets); kind, backend,
    /// status and source are kept.
    pub fn map_text(mut self, f: impl Fn(&str) -> Option<String>) -> Self {
        let edit = |text: &mut String| {
            if let Some(new) = f(text) {
                *text = new;
            }
        };
        match &mut self {
            Error::NotFound { code, message, .. }
            | Error::Unauthenticated { code, message, .. }
            | Error::PermissionDenied { code, message, .. }
            | Error::InvalidInput { code, message, .. }
            | Error::RateLimited { code, message, .. } => {
                code.iter_mut().for_each(edit);
                edit(message);
            }
            Error::StaleMarker {
                marker,
                code,
                message,
                ..
            } => {
                edit(marker);
                code.iter_mut().for_each(edit);
                edit(message);
            }
            Error::Ambiguous { name, .. } => edit(name),
            Error::NotSupported { message, .. }
            | Error::Timeout { message, .. }
            | Error::Transport { message, .. }
            | Error::Config { message, .. } => edit(message),
            Error::InvalidResponse {
                content_type,
                message,
                snippet,
                ..
            } => {
                content_type.iter_mut().for_each(edit);
                edit(message);
                edit(snippet);
            }
            Error::Api { code, message, .. } => {
                edit(code);
                edit(message);
            }
        }
        self
    }

    /// A `NotFound` error for an image id.
    pub fn not_found(backend: BackendKind, id: &ImageId) -> Self {
        Error::NotFound {
            backend,
            code: None,
            message: format!("no image with id {id}"),
        }
    }

    /// An `InvalidInput` error raised on the client, before any request.
    pub fn invalid_input(backend: BackendKind, message: impl fmt::Display) -> Self {
        Error::InvalidInput {
            backend,
            code: None,
            message: message.to_string(),
        }
    }

    /// An `InvalidResponse` error about the shape of pages (no HTTP detail).
    pub fn paging(backend: BackendKind, message: impl fmt::Display) -> Self {
        Error::InvalidResponse {
            backend,
            status: None,
            content_type: None,
            message: message.to_string(),
            snippet: String::new(),
        }
    }

    /// A `Config` error for a backend.
    pub fn config(backend: Option<BackendKind>, message: impl fmt::Display) -> Self {
        Error::Config {
            backend,
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_backend_code_and_message() {
        let e = Error::NotFound {
            backend: BackendKind::Toast,
            code: Some("30404".into()),
            message: "Image with identifier x not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "toast: not found [30404]: Image with identifier x not found"
        );
        let e = Error::Api {
            backend: BackendKind::Dcmgr,
            status: Some(400),
            code: "110".into(),
            message: "DatabaseError: boom".into(),
        };
        assert_eq!(
            e.to_string(),
            "dcmgr: API error [110] (HTTP 400): DatabaseError: boom"
        );
        assert_eq!(e.kind(), ErrorKind::Api);
    }

    #[test]
    fn map_message_keeps_the_kind_and_the_code() {
        let e = Error::Unauthenticated {
            backend: BackendKind::Toast,
            code: Some("-3".into()),
            message: "no".into(),
        }
        .map_message(|m| format!("the token request was refused: {m}"));
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            e.to_string(),
            "toast: unauthenticated [-3]: the token request was refused: no"
        );
    }

    #[test]
    fn retryable_kinds() {
        let api = |status| Error::Api {
            backend: BackendKind::Toast,
            status,
            code: "x".into(),
            message: String::new(),
        };
        assert!(api(Some(503)).is_retryable());
        assert!(!api(Some(400)).is_retryable());
        assert!(!Error::not_found(BackendKind::Memory, &"a".into()).is_retryable());
        let ir = |status| Error::InvalidResponse {
            backend: BackendKind::Dcmgr,
            status,
            content_type: None,
            message: String::new(),
            snippet: String::new(),
        };
        assert!(ir(Some(502)).is_retryable());
        assert!(ir(Some(200)).is_retryable());
        assert!(!ir(Some(404)).is_retryable());
    }
}

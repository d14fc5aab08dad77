//! Step 6 of the chain: the profile's `credential_process`.
//!
//! The command line is split as a POSIX shell would (botocore's
//! `compat_shell_split`: quotes and backslashes, no expansion) and run
//! without a shell, with the chain's [`Env`] as its whole environment and
//! no stdin, on a thread of its own (the crate has no runtime of its
//! own). Its stdout is the JSON document of the AWS CLI:
//! `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?,
//! "Expiration"? (RFC 3339)}`. A failure says the exit status and the
//! first line of stderr; it never quotes stdout (it holds the secret).

use chrono::{DateTime, Utc};
use futures::channel::oneshot;
use imagecat_core::{Error, ErrorKind, Result};
use imagecat_http::SecretString;
use serde::Deserialize;

use super::profile::FileKind;
use super::{Credentials, Env, Source};
use crate::config::BACKEND;

/// The longest stderr excerpt an error quotes.
const STDERR_EXCERPT: usize = 200;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    version: Option<serde_json::Value>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Runs `command` and reads its credentials.
pub(super) async fn run(
    command: &str,
    env: &Env,
    profile: &str,
    file: FileKind,
) -> Result<Credentials> {
    let fail = |kind: ErrorKind, message: String| {
        Error::new(
            kind,
            format!("credential_process of the AWS profile '{profile}': {message}"),
        )
        .with_backend(BACKEND)
        .with_context("profile", profile.to_owned())
        .with_context("source", Source::CredentialProcess.as_str())
        .with_context(
            "file",
            match file {
                FileKind::Config => "config",
                FileKind::Credentials => "credentials",
            },
        )
    };
    let argv = split(command).ok_or_else(|| {
        fail(
            ErrorKind::Config,
            "the command line has an unterminated quote or a trailing backslash".into(),
        )
    })?;
    let Some((program, args)) = argv.split_first() else {
        return Err(fail(ErrorKind::Config, "the command line is empty".into()));
    };

    let mut child = std::process::Command::new(program);
    child
        .args(args)
        .env_clear()
        .envs(env.iter())
        .stdin(std::process::Stdio::null());
    let (send, receive) = oneshot::channel();
    std::thread::Builder::new()
        .name("credential_process".into())
        .spawn(move || {
            let _ = send.send(child.output());
        })
        .map_err(|e| fail(ErrorKind::Config, format!("cannot start a thread: {e}")))?;
    let output = receive
        .await
        .map_err(|_| fail(ErrorKind::Config, "the command's thread ended".into()))?
        .map_err(|e| {
            fail(ErrorKind::Config, format!("cannot run '{program}': {e}")).with_source(e)
        })?;

    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let excerpt: String = first.chars().take(STDERR_EXCERPT).collect();
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
        let said = if excerpt.is_empty() {
            String::new()
        } else {
            format!(": {}", imagecat_http::scrub(excerpt.trim()))
        };
        return Err(fail(
            ErrorKind::Unauthenticated,
            format!("failed ({status}){said}"),
        ));
    }

    let parsed: Output = serde_json::from_slice(&output.stdout).map_err(|e| {
        // serde's message may quote a value: only where it broke is said.
        fail(
            ErrorKind::Config,
            format!(
                "its output is not the JSON credentials document (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    match parsed.version.as_ref().and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(other) => {
            return Err(fail(
                ErrorKind::Config,
                format!("its output has Version {other}; only Version 1 is supported"),
            ));
        }
        None => {
            return Err(fail(
                ErrorKind::Config,
                "its output has no numeric Version (1 is supported)".into(),
            ));
        }
    }
    let secret = parsed
        .secret_access_key
        .filter(|s| !s.is_empty())
        .map(SecretString::new);
    let token = parsed
        .session_token
        .filter(|s| !s.is_empty())
        .map(SecretString::new);
    let Some(access_key_id) = parsed.access_key_id.filter(|s| !s.is_empty()) else {
        return Err(fail(
            ErrorKind::Config,
            "its output has no AccessKeyId".into(),
        ));
    };
    let Some(secret) = secret else {
        return Err(fail(
            ErrorKind::Config,
            "its output has no SecretAccessKey".into(),
        ));
    };
    let expiry = match parsed.expiration.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    fail(
                        ErrorKind::Config,
                        format!("its Expiration '{text}' is not an RFC 3339 time"),
                    )
                })?
                .with_timezone(&Utc),
        ),
    };
    if let Some(expiry) = expiry {
        if expiry <= Utc::now() {
            return Err(fail(
                ErrorKind::Unauthenticated,
                format!(
                    "it returned credentials that expired at {}",
                    expiry.to_rfc3339()
                ),
            ));
        }
    }
    Ok(Credentials::new(access_key_id, secret, token, expiry)
        .with_source(Source::CredentialProcess))
}

/// A command line split as a POSIX shell splits words (no expansion):
/// `None` for an unterminated quote or a trailing backslash.
fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next()? {
                    '\n' => {}
                    c => word.push(c),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_as_a_posix_shell() {
        assert_eq!(split("a b  c").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split(r#"/bin/tool --profile 'my prof' "x \"y\" \z" a\ b ''"#).unwrap(),
            [
                "/bin/tool",
                "--profile",
                "my prof",
                r#"x "y" \z"#,
                "a b",
                ""
            ]
        );
        assert!(split("'open").is_none());
        assert!(split("\"open").is_none());
        assert!(split("trailing\\").is_none());
        assert!(split("   ").unwrap().is_empty());
    }
}

//! The server side of AWS Signature Version 4: the `Authorization`
//! header's parts (the credential scope gives the region and the service,
//! as moto reads it), and, when the emulator holds the key, the signature
//! recomputed from the request as received (botocore's `SigV4Auth`
//! steps: canonical request, string to sign, chained HMAC-SHA256 key).
//! Written here, not borrowed from the EC2 adapter, so the emulator checks
//! the adapter's signer with code of its own.

use ring::{digest, hmac};

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub(crate) access_key_id: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

/// Parses the header; `None` when it is not a SigV4 header with a full
/// credential scope.
pub(crate) fn parse_authorization(header: &str) -> Option<Authorization> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key_id = scope.next()?.to_owned();
    let date = scope.next()?.to_owned();
    let region = scope.next()?.to_owned();
    let service = scope.next()?.to_owned();
    if scope.next()? != "aws4_request" || access_key_id.is_empty() || region.is_empty() {
        return None;
    }
    Some(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?.to_owned(),
    })
}

/// The request as received, for the canonical request.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    pub(crate) method: &'a str,
    /// The raw path (still percent-encoded).
    pub(crate) path: &'a str,
    /// The raw query string.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a axum::http::HeaderMap,
    pub(crate) body: &'a [u8],
}

/// Whether `auth`'s signature is the one `secret` gives for `request`.
pub(crate) fn verify(auth: &Authorization, secret: &str, request: &Received<'_>) -> bool {
    let Some(amz_date) = request
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if !amz_date.starts_with(&auth.date) {
        return false;
    }
    let Some(canonical) = canonical_request(auth, request) else {
        return false;
    };
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [
        auth.date.as_str(),
        auth.region.as_str(),
        auth.service.as_str(),
        "aws4_request",
    ] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let expected = hex(&hmac_sha256(&key, to_sign.as_bytes()));
    // Constant-time enough for an emulator, but compare every byte anyway.
    expected.len() == auth.signature.len()
        && expected
            .bytes()
            .zip(auth.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn canonical_request(auth: &Authorization, r: &Received<'_>) -> Option<String> {
    let path = canonical_path(r.path);
    let mut query: Vec<(String, String)> =
        url::form_urlencoded::parse(r.query.unwrap_or("").as_bytes())
            .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
            .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = r
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = r
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| hex(digest::digest(&digest::SHA256, r.body).as_ref()));
    Some(format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{payload}",
        r.method,
        auth.signed_headers.join(";")
    ))
}

/// The path normalised (dot segments, empty segments) and encoded once
/// more, as every service but S3 wants it.
fn canonical_path(raw: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut path = format!("/{}", out.join("/"));
    if raw.ends_with('/') && path.len() > 1 {
        path.push('/');
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// AWS's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published `get-vanilla` vector (the SigV4 test suite).
    #[test]
    fn the_get_vanilla_vector_verifies_and_a_changed_secret_does_not() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let auth = parse_authorization(header).unwrap();
        assert_eq!(auth.region, "us-east-1");
        assert_eq!(auth.service, "service");
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let received = Received {
            method: "GET",
            path: "/",
            query: None,
            headers: &headers,
            body: b"",
        };
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert!(verify(&auth, secret, &received));
        assert!(!verify(&auth, "another secret", &received));
    }

    /// One suite vector: method, query, extra headers, body, signed
    /// headers, signature.
    type Vector<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        &'a [u8],
        &'a str,
        &'a str,
    );

    /// More vectors of the suite: a query out of order, a form body, a
    /// session token (signed as a header).
    #[test]
    fn the_suite_s_query_form_and_token_vectors_verify() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let scope = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
        let cases: [Vector<'_>; 3] = [
            (
                "GET",
                Some("Param2=value2&Param1=value1"),
                &[],
                b"",
                "host;x-amz-date",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "POST",
                None,
                &[("content-type", "application/x-www-form-urlencoded")],
                b"Param1=value1",
                "content-type;host;x-amz-date",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ),
            (
                "GET",
                None,
                &[(
                    "x-amz-security-token",
                    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                )],
                b"",
                "host;x-amz-date;x-amz-security-token",
                "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            ),
        ];
        for (method, query, extra, body, signed, signature) in cases {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("host", "example.amazonaws.com".parse().unwrap());
            headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
            for (k, v) in extra {
                headers.insert(*k, v.parse().unwrap());
            }
            let header =
                format!("AWS4-HMAC-SHA256 {scope}, SignedHeaders={signed}, Signature={signature}");
            let auth = parse_authorization(&header).unwrap();
            let received = Received {
                method,
                path: "/",
                query,
                headers: &headers,
                body,
            };
            assert!(
                verify(&auth, secret, &received),
                "{method} {query:?} {signed}"
            );
            let tampered = Received {
                body: b"Param1=value2",
                ..received
            };
            assert!(!verify(&auth, secret, &tampered) || body.is_empty());
        }
    }

    #[test]
    fn headers_without_a_full_scope_are_not_sigv4() {
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/ec2, SignedHeaders=host, Signature=00").is_none());
        assert!(parse_authorization("Bearer x").is_none());
    }
}

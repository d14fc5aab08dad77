//! `resolve:ssm:` image references: a launch template may name its AMI as
//! an AWS Systems Manager parameter (`resolve:ssm:NAME`,
//! `resolve:ssm:NAME:VERSION`, `resolve:ssm:NAME:LABEL` or the parameter's
//! ARN), which EC2 resolves at launch. The scan asks SSM `GetParameter`
//! (JSON protocol, `X-Amz-Target: AmazonSSM.GetParameter`, signed for
//! `ssm`) for the parameter as written (GetParameter takes the same
//! `NAME:VERSION`/`NAME:LABEL` selectors and ARNs) and takes its value as
//! the AMI the template launches now. Anything else — the parameter
//! missing, access denied, a throttled or failed call, a value that is not
//! an AMI id (a `SecureString` asked without decryption, free text) — is
//! [`BootSource::Unresolved`]: the template may launch any AMI, so the scan
//! cannot say an image is unused.

use std::collections::HashMap;

use imagecat_core::usage::{BootSource, FoundVia};
use imagecat_http::{HttpResponse, Idempotency};
use serde::Deserialize;

use crate::error;
use crate::source::{Call, Ec2Source, ID_RULE};

/// The prefix of an SSM reference in a launch template's `ImageId`.
pub(crate) const PREFIX: &str = "resolve:ssm:";

/// The JSON protocol's content type for SSM.
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

#[derive(Deserialize)]
struct GetParameterWire {
    #[serde(rename = "Parameter")]
    parameter: ParameterWire,
}

#[derive(Deserialize)]
struct ParameterWire {
    #[serde(rename = "Value")]
    value: Option<String>,
}

/// Resolves the references of one page once each (a parameter named by
/// many versions is asked for once a page).
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    known: HashMap<String, BootSource>,
}

impl Resolver {
    /// What the reference `parameter` (the text after `resolve:ssm:`)
    /// resolves to now.
    pub(crate) async fn resolve(&mut self, source: &Ec2Source, parameter: &str) -> BootSource {
        if let Some(known) = self.known.get(parameter) {
            return known.clone();
        }
        let boot = match get_parameter(source, parameter).await {
            Ok(value) => boot_of(parameter, &value),
            Err(e) => BootSource::Unresolved {
                reason: format!("{PREFIX}{parameter}: SSM GetParameter failed: {e}"),
            },
        };
        self.known.insert(parameter.to_owned(), boot.clone());
        boot
    }
}

/// The boot source a parameter's value gives: an AMI id in EC2's form, or
/// unresolved.
pub(crate) fn boot_of(parameter: &str, value: &str) -> BootSource {
    match ID_RULE.canonical(value) {
        Some(id) => BootSource::Image {
            id,
            via: FoundVia::Parameter,
        },
        None => BootSource::Unresolved {
            reason: format!("{PREFIX}{parameter} holds no AMI id"),
        },
    }
}

/// SSM `GetParameter` for `name`: its value.
async fn get_parameter(source: &Ec2Source, name: &str) -> imagecat_core::Result<String> {
    let call = Call {
        service: "ssm",
        target: Some("AmazonSSM.GetParameter"),
        content_type: CONTENT_TYPE,
        body: serde_json::json!({ "Name": name }).to_string(),
    };
    source
        .send_to(
            "resolve an SSM parameter",
            Idempotency::Idempotent,
            &call,
            |response: &HttpResponse, key_id| {
                if !response.status.is_success() {
                    return Err(error::decode_json_error(response, Some(key_id)));
                }
                let wire: GetParameterWire = response.json()?;
                wire.parameter
                    .value
                    .ok_or_else(|| response.invalid("GetParameter answered no Value"))
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_ami_id_resolves() {
        assert_eq!(
            boot_of("p", " AMI-0ABC123 "),
            BootSource::Image {
                id: "ami-0abc123".into(),
                via: FoundVia::Parameter
            }
        );
        for value in ["", "snap-1", "ami-", "AQICAHh…encrypted", "ami-1 ami-2"] {
            assert!(
                matches!(boot_of("p", value), BootSource::Unresolved { .. }),
                "{value:?}"
            );
        }
    }
}

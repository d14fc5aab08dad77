//! Step 2 of the chain: a profile's `role_arn`, assumed through STS
//! `AssumeRole` signed with the credentials of its `source_profile` or its
//! `credential_source` (botocore's `AssumeRoleProvider`).
//!
//! A source profile with keys of its own (or without a role) gives the
//! credentials it holds by itself; one with a role and no keys is assumed
//! in turn (chained roles). A profile met twice is a loop, a `Config`
//! error, except a profile that names itself as its source and has keys
//! (botocore allows it: the keys are the source). `mfa_serial` needs a
//! prompt and is refused (`NotSupported`).

use chrono::Utc;
use futures::future::BoxFuture;
use imagecat_core::{Error, ErrorKind, Result};

use super::chain::CredentialChain;
use super::profile::{Profile, ProfileFiles};
use super::{Credentials, Source, env, imds};
use crate::config::BACKEND;
use crate::sts::{self, AssumeRole};

/// STS's limits on `DurationSeconds` (15 minutes to 12 hours).
const DURATION_SECONDS: std::ops::RangeInclusive<u32> = 900..=43_200;

/// Whether the profile asks for assume-role: `role_arn` with a
/// `source_profile` or a `credential_source`.
pub(super) fn has_role_config(profile: &Profile) -> bool {
    profile.get("role_arn").is_some()
        && (profile.get("source_profile").is_some() || profile.get("credential_source").is_some())
}

/// Whether the profile has keys of its own, in either file.
fn has_static_keys(profile: &Profile) -> bool {
    profile.get("aws_access_key_id").is_some()
}

fn config_error(profile: &Profile, message: String) -> Error {
    Error::config(Some(BACKEND), message)
        .with_context("profile", profile.name().to_owned())
        .with_context("source", Source::AssumeRole.as_str())
}

/// Assumes `profile`'s role; `visited` are the profiles already on the way
/// (the loop guard).
pub(super) fn assume<'a>(
    chain: &'a CredentialChain,
    files: &'a ProfileFiles,
    profile: &'a Profile,
    mut visited: Vec<String>,
) -> BoxFuture<'a, Result<Credentials>> {
    Box::pin(async move {
        let name = profile.name();
        visited.push(name.to_owned());
        if profile.get("mfa_serial").is_some() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "the AWS profile '{name}' sets mfa_serial: a role that needs an MFA code \
                     is not supported (imagecat does not prompt); use credentials that do not"
                ),
            )
            .with_backend(BACKEND)
            .with_context("profile", name.to_owned()));
        }
        let request = request_of(profile)?;
        let source_profile = profile.get("source_profile").map(|(v, _)| v);
        let credential_source = profile.get("credential_source").map(|(v, _)| v);
        let source = match (source_profile, credential_source) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    profile,
                    format!(
                        "the AWS profile '{name}' sets both source_profile and credential_source"
                    ),
                ));
            }
            (Some(source), None) => {
                let self_with_keys = source == name && has_static_keys(profile);
                if visited.iter().any(|v| v == source) && !self_with_keys {
                    return Err(config_error(
                        profile,
                        format!(
                            "the AWS profiles loop: {} -> {source} (source_profile)",
                            visited.join(" -> ")
                        ),
                    ));
                }
                let Some(parent) = files.profile(source) else {
                    return Err(config_error(
                        profile,
                        format!(
                            "the AWS profile '{name}' has source_profile '{source}', which is \
                             in neither file"
                        ),
                    ));
                };
                if self_with_keys || has_static_keys(&parent) || !has_role_config(&parent) {
                    match chain.profile_credentials(files, &parent).await? {
                        Some(credentials) => credentials,
                        None => {
                            return Err(config_error(
                                profile,
                                format!(
                                    "the source_profile '{source}' of the AWS profile '{name}' \
                                     has no credentials"
                                ),
                            ));
                        }
                    }
                } else {
                    assume(chain, files, &parent, visited).await?
                }
            }
            (None, Some(source)) => from_credential_source(chain, profile, source).await?,
            (None, None) => unreachable_config(profile)?,
        };
        let target = chain.sts_target(Some(profile))?;
        sts::assume_role(chain.http()?, &target, &source, &request)
            .await
            .map_err(|e| {
                e.with_context("profile", name.to_owned())
                    .with_context("source", Source::AssumeRole.as_str())
            })
    })
}

/// A role profile without a source (callers check [`has_role_config`]).
fn unreachable_config(profile: &Profile) -> Result<Credentials> {
    Err(config_error(
        profile,
        format!(
            "the AWS profile '{}' has role_arn but neither source_profile nor credential_source",
            profile.name()
        ),
    ))
}

/// The `AssumeRole` parameters of a profile.
fn request_of(profile: &Profile) -> Result<AssumeRole> {
    let name = profile.name();
    let role_arn = profile.get("role_arn").map(|(v, _)| v).unwrap_or_default();
    if !role_arn.starts_with("arn:") {
        return Err(config_error(
            profile,
            format!("the role_arn of the AWS profile '{name}' is not an ARN (arn:…)"),
        ));
    }
    let duration_seconds = match profile.get("duration_seconds") {
        None => None,
        Some((text, _)) => match text.parse::<u32>() {
            Ok(seconds) if DURATION_SECONDS.contains(&seconds) => Some(seconds),
            _ => {
                return Err(config_error(
                    profile,
                    format!(
                        "the duration_seconds of the AWS profile '{name}' is not a number of \
                         seconds from {} to {}",
                        DURATION_SECONDS.start(),
                        DURATION_SECONDS.end()
                    ),
                ));
            }
        },
    };
    Ok(AssumeRole {
        role_arn: role_arn.to_owned(),
        role_session_name: profile
            .get("role_session_name")
            .map(|(v, _)| v.to_owned())
            .unwrap_or_else(default_session_name),
        external_id: profile.get("external_id").map(|(v, _)| v.to_owned()),
        duration_seconds,
    })
}

/// The session name when the profile sets none (botocore's is
/// `botocore-session-<unix time>`).
pub(super) fn default_session_name() -> String {
    format!("imagecat-session-{}", Utc::now().timestamp())
}

/// The credentials a `credential_source` names.
async fn from_credential_source(
    chain: &CredentialChain,
    profile: &Profile,
    source: &str,
) -> Result<Credentials> {
    let name = profile.name();
    let missing = |what: &str| {
        Error::new(
            ErrorKind::Unauthenticated,
            format!("the credential_source {source} of the AWS profile '{name}' has no credentials: {what}"),
        )
        .with_backend(BACKEND)
        .with_context("profile", name.to_owned())
    };
    match source {
        "Environment" => {
            env::from_env(&chain.env)?.ok_or_else(|| missing("AWS_ACCESS_KEY_ID is not set"))
        }
        "EcsContainer" => super::container::resolve(chain)
            .await?
            .ok_or_else(|| missing("AWS_CONTAINER_CREDENTIALS_*_URI is not set")),
        "Ec2InstanceMetadata" => match imds::resolve(chain, Some(profile)).await? {
            imds::Outcome::Credentials(credentials) => Ok(credentials),
            imds::Outcome::Disabled => Err(missing("AWS_EC2_METADATA_DISABLED is true")),
            imds::Outcome::Unavailable => {
                Err(missing("the instance metadata service did not answer"))
            }
            imds::Outcome::NoRole => Err(missing("the instance has no IAM role")),
        },
        other => Err(config_error(
            profile,
            format!(
                "the AWS profile '{name}' has credential_source '{other}'; expected \
                 Environment, Ec2InstanceMetadata or EcsContainer"
            ),
        )),
    }
}

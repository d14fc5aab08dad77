//! The backend's name and the environment variables it reads.
//!
//! (The builder, `from_url` and the URL schemes of the adapter template
//! come with the catalog itself.)

use imagecat_core::BackendKind;

/// The backend's name in errors, plans and output: `"ec2"`.
pub const BACKEND: BackendKind = BackendKind::new("ec2");

/// The access key id, as for the AWS CLI.
pub const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The secret access key, as for the AWS CLI.
pub const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// The session token of temporary credentials, as for the AWS CLI.
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The profile to read from the shared files.
pub const ENV_PROFILE: &str = "AWS_PROFILE";
/// Where the shared config file is (default `~/.aws/config`).
pub const ENV_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// Where the shared credentials file is (default `~/.aws/credentials`).
pub const ENV_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";

//! Unit tests of the builder: URLs, the `OS_*` environment, clouds.yaml.

use super::*;
use crate::auth::{AppCredential, Domain, Identity, User, V2Scope, V3Scope};
use imagecat_core::ErrorKind;

#[test]
fn image_bases_drop_slashes_and_version_segments() {
    for (text, want) in [
        (
            "https://kr1-api-image-infrastructure.nhncloudservice.com",
            "https://kr1-api-image-infrastructure.nhncloudservice.com/",
        ),
        ("https://h:9292/", "https://h:9292/"),
        ("https://h:9292/v2", "https://h:9292/"),
        ("https://h:9292/v2/", "https://h:9292/"),
        ("https://h/image/v2.1", "https://h/image"),
        ("https://h/image", "https://h/image"),
        ("https://h/image/version", "https://h/image/version"),
        ("http://127.0.0.1:1/v", "http://127.0.0.1:1/v"),
    ] {
        assert_eq!(image_base(text).unwrap().as_str(), want, "{text}");
    }
    for bad in ["ftp://h", "https://u:p@h", "https://h/?x=1", "not a url"] {
        assert_eq!(
            image_base(bad).unwrap_err().kind(),
            ErrorKind::Config,
            "{bad}"
        );
    }
}

#[test]
fn identity_urls_get_their_version() {
    assert_eq!(
        identity_base("https://id/v2.0", Version::V2)
            .unwrap()
            .as_str(),
        "https://id/v2.0"
    );
    assert_eq!(
        identity_base("https://id/identity/", Version::V3)
            .unwrap()
            .as_str(),
        "https://id/identity/v3"
    );
    assert_eq!(version_of("https://id/v2.0/"), Some(Version::V2));
    assert_eq!(version_of("https://id/v3"), Some(Version::V3));
    assert_eq!(version_of("https://id/"), None);
}

#[test]
fn missing_pieces_are_config_errors() {
    let cases = [
        GlanceBuilder::new(),
        GlanceBuilder::new().token(SecretString::new("t")),
        GlanceBuilder::new().endpoint("https://h"),
        GlanceBuilder::new().endpoint("ftp://h").token("t".into()),
        GlanceBuilder::new().keystone_v2("https://id/v2.0", "", "u", SecretString::new("")),
        GlanceBuilder {
            auth_url: Some("https://id/v3".into()),
            username: Some("u".into()),
            password: Some("p".into()),
            ..GlanceBuilder::new()
        },
    ];
    for b in cases {
        let shown = format!("{b:?}");
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{shown}: {e}");
    }
    let os_cloud = GlanceBuilder {
        os_cloud: Some("mycloud".into()),
        ..GlanceBuilder::new()
    };
    assert!(
        os_cloud
            .build()
            .unwrap_err()
            .to_string()
            .contains("clouds.yaml")
    );
}

fn from_vars(vars: &[(&str, &str)]) -> GlanceBuilder {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    GlanceBuilder::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn the_openstack_environment_convention() {
    // NHN Cloud: Keystone v2.0 by tenant id.
    let b = from_vars(&[
        (
            "OS_AUTH_URL",
            "https://api-identity-infrastructure.nhncloudservice.com/v2.0",
        ),
        ("OS_TENANT_ID", "t-1"),
        ("OS_USERNAME", "me@example.com"),
        ("OS_PASSWORD", "pw-secret"),
        ("OS_REGION_NAME", "KR1"),
    ]);
    match b.identity().unwrap().unwrap() {
        Identity::V2 {
            tokens_url, scope, ..
        } => {
            assert_eq!(
                tokens_url.as_str(),
                "https://api-identity-infrastructure.nhncloudservice.com/v2.0/tokens"
            );
            assert_eq!(scope, V2Scope::TenantId("t-1".into()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.region.as_deref(), Some("KR1"));
    assert!(b.build().is_ok());
    // v3 by name with domains; the version from OS_IDENTITY_API_VERSION.
    let b = from_vars(&[
        ("OS_AUTH_URL", "https://keystone:5000"),
        ("OS_IDENTITY_API_VERSION", "3"),
        ("OS_PROJECT_NAME", "p"),
        ("OS_PROJECT_DOMAIN_NAME", "pd"),
        ("OS_USER_DOMAIN_NAME", "ud"),
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "pw"),
        ("OS_TENANT_ID", ""),
    ]);
    match b.identity().unwrap().unwrap() {
        Identity::V3 {
            tokens_url,
            user_domain,
            scope,
            ..
        } => {
            assert_eq!(tokens_url.as_str(), "https://keystone:5000/v3/auth/tokens");
            assert_eq!(user_domain, Domain::Name("ud".into()));
            assert_eq!(
                scope,
                V3Scope::Name {
                    project: "p".into(),
                    domain: Domain::Name("pd".into())
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // A token and an explicit endpoint; OS_IMAGE_URL loses to imagecat's variable.
    let b = from_vars(&[
        ("OS_AUTH_TOKEN", "tok"),
        ("OS_IMAGE_URL", "https://a/v2"),
        (ENV_ENDPOINT, "https://b"),
    ]);
    assert_eq!(b.endpoint.as_deref(), Some("https://b"));
    assert!(b.build().is_ok());
    // Nothing at all, or only OS_CLOUD: a Config error that says why.
    assert_eq!(
        from_vars(&[]).build().unwrap_err().kind(),
        ErrorKind::Config
    );
    let e = from_vars(&[("OS_CLOUD", "mycloud")]).build().unwrap_err();
    assert!(e.to_string().contains("clouds.yaml"), "{e}");
}

#[test]
fn debug_hides_secrets() {
    let b = GlanceBuilder::new()
        .token(SecretString::new("tok-very-secret"))
        .keystone_v3(
            "https://id",
            "u",
            "d",
            "p",
            "d",
            SecretString::new("pw-very-secret"),
        );
    let shown = format!("{b:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
    let catalog = b.build().unwrap();
    let shown = format!("{catalog:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
}

fn temp_clouds(text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("imagecat-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clouds.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

const CLOUDS: &str = "clouds:
  mycloud:
    auth:
      auth_url: https://keystone.example:5000
      username: file-user
      password: file-password
      project_name: file-project
      user_domain_id: udid
      project_domain_id: pdid
    region_name: FileRegion
    identity_api_version: 3
";

#[test]
fn os_variables_override_the_cloud_as_the_openstack_cli_does() {
    let path = temp_clouds(CLOUDS);
    let file = path.to_str().unwrap();
    // OS_CLOUD and OS_CLIENT_CONFIG_FILE select; OS_PASSWORD and
    // OS_REGION_NAME win over the file; the rest comes from the file.
    let mut b = from_vars(&[
        ("OS_CLOUD", "mycloud"),
        ("OS_CLIENT_CONFIG_FILE", file),
        ("OS_PASSWORD", "env-password"),
        ("OS_REGION_NAME", "EnvRegion"),
    ]);
    b.apply_cloud().unwrap();
    assert_eq!(b.region.as_deref(), Some("EnvRegion"));
    match b.identity().unwrap().unwrap() {
        Identity::V3 {
            tokens_url,
            username,
            user_domain,
            scope,
            password,
        } => {
            assert_eq!(
                tokens_url.as_str(),
                "https://keystone.example:5000/v3/auth/tokens"
            );
            assert_eq!(username, "file-user");
            assert_eq!(password.expose_secret(), "env-password");
            assert_eq!(user_domain, Domain::Id("udid".into()));
            assert_eq!(
                scope,
                V3Scope::Name {
                    project: "file-project".into(),
                    domain: Domain::Id("pdid".into())
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // An unknown cloud names the file and the cloud, not the password.
    let e = from_vars(&[("OS_CLOUD", "other"), ("OS_CLIENT_CONFIG_FILE", file)])
        .build()
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        text.contains(file) && text.contains("\"other\"") && text.contains("mycloud"),
        "{text}"
    );
    assert!(!text.contains("file-password"), "{text}");
    // Nothing else configured and one cloud in the file: that cloud.
    let mut b = from_vars(&[("OS_CLIENT_CONFIG_FILE", file)]);
    b.apply_cloud().unwrap();
    assert_eq!(b.username.as_deref(), Some("file-user"));
    // OS_AUTH_URL set: the environment alone (openstacksdk's "envvars" cloud).
    let mut b = from_vars(&[
        ("OS_CLIENT_CONFIG_FILE", file),
        ("OS_AUTH_URL", "https://k/v3"),
    ]);
    b.apply_cloud().unwrap();
    assert_eq!(b.username, None);
}

#[test]
fn application_credentials_from_the_environment() {
    let b = from_vars(&[
        ("OS_AUTH_URL", "https://k:5000"),
        ("OS_APPLICATION_CREDENTIAL_ID", "ac-1"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "ac-very-secret"),
    ]);
    match b.identity().unwrap().unwrap() {
        Identity::V3AppCredential {
            tokens_url,
            credential,
            secret,
        } => {
            assert_eq!(tokens_url.as_str(), "https://k:5000/v3/auth/tokens");
            assert_eq!(credential, AppCredential::Id("ac-1".into()));
            assert_eq!(secret.expose_secret(), "ac-very-secret");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{b:?}").contains("very-secret"));
    let b = from_vars(&[
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_AUTH_URL", "https://k/v3"),
        ("OS_APPLICATION_CREDENTIAL_NAME", "ci"),
        ("OS_USER_ID", "uid-1"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
    ]);
    match b.identity().unwrap().unwrap() {
        Identity::V3AppCredential { credential, .. } => assert_eq!(
            credential,
            AppCredential::Name {
                name: "ci".into(),
                user: User::Id("uid-1".into())
            }
        ),
        other => panic!("{other:?}"),
    }
    // A name without its user, a v2.0 URL, an unknown auth_type: Config errors.
    for vars in [
        vec![
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_APPLICATION_CREDENTIAL_NAME", "ci"),
            ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
        ],
        vec![
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_AUTH_TYPE", "v3oidcpassword"),
        ],
        vec![("OS_AUTH_TYPE", "none")],
        vec![
            ("OS_AUTH_TYPE", "none"),
            ("OS_INTERFACE", "internal"),
            ("OS_IMAGE_URL", "https://g"),
        ],
    ] {
        let e = from_vars(&vars).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{vars:?}: {e}");
    }
}

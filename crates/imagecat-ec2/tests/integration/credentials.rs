//! The credential chain, source by source, over temporary files and an
//! environment given explicitly (never the process's: the tests run in
//! parallel).

mod assume_role;
mod caller;
mod container;
mod imds;
mod moto_sts;
mod refresh;
mod served;
mod sso;
mod web_identity;

use std::path::{Path, PathBuf};

use imagecat_core::{Error, ErrorKind};
use imagecat_ec2::BACKEND;
use imagecat_ec2::credentials::{
    CredentialChain, CredentialProvider, Credentials, Env, Source, StaticProvider,
};
use imagecat_http::SecretString;

/// A home directory with an `.aws` folder; the secrets in it all contain
/// `s3cr3t` so a test can check none is shown.
pub(crate) struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        Home { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn config(&self, text: &str) -> &Self {
        std::fs::write(self.path().join(".aws/config"), text).unwrap();
        self
    }

    pub(crate) fn credentials(&self, text: &str) -> &Self {
        std::fs::write(self.path().join(".aws/credentials"), text).unwrap();
        self
    }

    /// An executable script in the home directory (`/bin/sh`: Unix only).
    #[cfg(unix)]
    pub(crate) fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The environment: HOME here, PATH, IMDS off (a test never asks the
    /// machine's own metadata service), and `extra` (later wins).
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> Env {
        let mut pairs: Vec<(String, String)> = vec![
            ("HOME".into(), self.path().display().to_string()),
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        pairs.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Env::from_pairs(pairs)
    }
}

/// Runs a future on a runtime of its own (the chain's remote sources use
/// the HTTP client, which needs tokio).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The chain's error, checked as [`error_of`] does, on the caller's runtime.
pub(crate) async fn error_of_async(chain: CredentialChain) -> Error {
    let error = chain.resolve().await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert_eq!(error.backend(), Some(BACKEND), "{shown}");
    error
}

pub(crate) fn resolve(chain: &CredentialChain) -> Result<Credentials, Error> {
    block_on(chain.credentials())
}

/// The error, and a check that nothing it shows holds a secret.
pub(crate) fn error_of(chain: &CredentialChain) -> Error {
    let error = resolve(chain).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert_eq!(error.backend(), Some(BACKEND), "{shown}");
    error
}

const ENV_KEYS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "AKIDENV"),
    ("AWS_SECRET_ACCESS_KEY", "s3cr3t-env"),
    ("AWS_SESSION_TOKEN", "s3cr3t-env-token"),
];

const FILES: (&str, &str) = (
    "[default]\naws_access_key_id = AKIDCONFIGDEFAULT\naws_secret_access_key = s3cr3t-cd\n\
     [profile dev]\nregion = eu-west-1\naws_access_key_id = AKIDCONFIGDEV\naws_secret_access_key = s3cr3t-cdev\n\
     [profile cfgonly]\naws_access_key_id = AKIDCFGONLY\naws_secret_access_key = s3cr3t-co\n",
    "[default]\naws_access_key_id = AKIDCREDSDEFAULT\naws_secret_access_key = s3cr3t-d\n\
     [dev]\naws_access_key_id = AKIDCREDSDEV\naws_secret_access_key = s3cr3t-dev\naws_session_token = s3cr3t-devtok\n",
);

#[test]
fn the_environment_comes_first_even_with_aws_profile() {
    let home = Home::new();
    home.config(FILES.0).credentials(FILES.1);
    let mut env: Vec<_> = ENV_KEYS.to_vec();
    env.push(("AWS_PROFILE", "dev"));
    let credentials = resolve(&CredentialChain::new(home.env(&env))).unwrap();
    assert_eq!(credentials.access_key_id(), "AKIDENV");
    assert_eq!(
        credentials.secret_access_key().expose_secret(),
        "s3cr3t-env"
    );
    assert_eq!(
        credentials.session_token().unwrap().expose_secret(),
        "s3cr3t-env-token"
    );
    assert_eq!(credentials.source(), Source::Environment);
}

#[test]
fn an_explicit_profile_skips_the_environment() {
    let home = Home::new();
    home.config(FILES.0).credentials(FILES.1);
    let chain = CredentialChain::new(home.env(&ENV_KEYS)).with_profile("dev");
    let credentials = resolve(&chain).unwrap();
    assert_eq!(credentials.access_key_id(), "AKIDCREDSDEV");
    assert_eq!(
        credentials.session_token().unwrap().expose_secret(),
        "s3cr3t-devtok"
    );
}

#[test]
fn the_credentials_file_wins_over_the_config_file() {
    let home = Home::new();
    home.config(FILES.0).credentials(FILES.1);
    let default = resolve(&CredentialChain::new(home.env(&[]))).unwrap();
    assert_eq!(default.access_key_id(), "AKIDCREDSDEFAULT");
    assert_eq!(default.source(), Source::SharedCredentialsFile);
    let dev = resolve(&CredentialChain::new(home.env(&[("AWS_PROFILE", "dev")]))).unwrap();
    assert_eq!(dev.access_key_id(), "AKIDCREDSDEV");
    // keys only in the config file are read too
    let cfg = resolve(&CredentialChain::new(
        home.env(&[("AWS_PROFILE", "cfgonly")]),
    ))
    .unwrap();
    assert_eq!(cfg.access_key_id(), "AKIDCFGONLY");
    assert_eq!(cfg.source(), Source::ConfigFile);
    assert!(cfg.session_token().is_none());
    // AWS_DEFAULT_PROFILE, the older name, when AWS_PROFILE is unset
    let old = resolve(&CredentialChain::new(
        home.env(&[("AWS_DEFAULT_PROFILE", "dev")]),
    ))
    .unwrap();
    assert_eq!(old.access_key_id(), "AKIDCREDSDEV");
    // the explicit profile wins over AWS_PROFILE
    let chain = CredentialChain::new(home.env(&[("AWS_PROFILE", "dev")])).with_profile("cfgonly");
    assert_eq!(resolve(&chain).unwrap().access_key_id(), "AKIDCFGONLY");
}

#[test]
fn the_file_variables_move_the_files() {
    let home = Home::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = elsewhere.path().join("my-config");
    let credentials = elsewhere.path().join("my-credentials");
    std::fs::write(
        &config,
        "[profile x]\naws_access_key_id = AKIDMOVEDCFG\naws_secret_access_key = s3cr3t-m\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[y]\naws_access_key_id = AKIDMOVEDCREDS\naws_secret_access_key = s3cr3t-n\n",
    )
    .unwrap();
    // the files at home are not read once the variables point elsewhere
    home.config(FILES.0).credentials(FILES.1);
    let env = |profile: &'static str| {
        home.env(&[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ("AWS_PROFILE", profile),
        ])
    };
    assert_eq!(
        resolve(&CredentialChain::new(env("x")))
            .unwrap()
            .access_key_id(),
        "AKIDMOVEDCFG"
    );
    assert_eq!(
        resolve(&CredentialChain::new(env("y")))
            .unwrap()
            .access_key_id(),
        "AKIDMOVEDCREDS"
    );
    let error = error_of(&CredentialChain::new(env("dev")));
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("'dev' is in neither"), "{error}");
}

#[test]
fn missing_files_are_empty() {
    let home = Home::new(); // no files at all
    let error = error_of(&CredentialChain::new(home.env(&[])));
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert!(
        error
            .to_string()
            .contains("no AWS credentials found for profile 'default'"),
        "{error}"
    );
    // no HOME either: still no error but "none found"
    let error = error_of(&CredentialChain::new(Env::from_pairs([
        ("PATH", "/bin"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ])));
    assert!(
        error.to_string().contains("instance metadata is disabled"),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    // a named profile that no file has is a configuration error
    let error = error_of(&CredentialChain::new(home.env(&[("AWS_PROFILE", "nope")])));
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("'nope'"), "{error}");
    // a file variable pointing at nothing is a missing file too
    let error = error_of(&CredentialChain::new(
        home.env(&[("AWS_CONFIG_FILE", "/nonexistent/imagecat/config")]),
    ));
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
}

#[test]
fn a_malformed_file_is_a_config_error_that_names_ec2_and_not_the_secret() {
    let home = Home::new();
    home.config(FILES.0).credentials(
        "[default]\naws_access_key_id = AKIDX\naws_secret_access_key s3cr3t-no-equals\n",
    );
    let error = error_of(&CredentialChain::new(home.env(&[])));
    assert_eq!(error.kind(), ErrorKind::Config);
    let shown = error.to_string();
    assert!(shown.starts_with("ec2:"), "{shown}");
    assert!(shown.contains(".aws/credentials: line 3"), "{shown}");

    let home = Home::new();
    home.config("aws_secret_access_key = s3cr3t-before-section\n");
    let error = error_of(&CredentialChain::new(home.env(&[])));
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains(".aws/config: line 1"), "{error}");

    // not UTF-8
    let home = Home::new();
    std::fs::write(
        home.path().join(".aws/credentials"),
        b"[default]\naws_secret_access_key = s3cr3t\xff\n",
    )
    .unwrap();
    assert_eq!(
        error_of(&CredentialChain::new(home.env(&[]))).kind(),
        ErrorKind::Config
    );

    // a directory where the file should be: unreadable
    let home = Home::new();
    std::fs::create_dir(home.path().join(".aws/config")).unwrap();
    assert_eq!(
        error_of(&CredentialChain::new(home.env(&[]))).kind(),
        ErrorKind::Config
    );
}

#[test]
fn partial_credentials_are_config_errors() {
    let home = Home::new();
    let error = error_of(&CredentialChain::new(
        home.env(&[("AWS_ACCESS_KEY_ID", "AKIDONLY")]),
    ));
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains("AWS_SECRET_ACCESS_KEY is not"),
        "{error}"
    );

    home.credentials("[default]\naws_access_key_id = AKIDHALF\naws_session_token = s3cr3t-t\n");
    let error = error_of(&CredentialChain::new(home.env(&[])));
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("'default'"), "{error}");
    assert!(
        error.to_string().contains("no aws_secret_access_key"),
        "{error}"
    );
}

#[test]
fn role_profiles_that_cannot_be_served_are_refused_before_any_request() {
    let home = Home::new();
    home.config(
        "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n\
         [profile both]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\ncredential_source = Environment\n\
         [profile nosource]\nrole_arn = arn:aws:iam::123456789012:role/x\n\
         [profile badsource]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Somewhere\n\
         [profile notarn]\nrole_arn = role/x\nsource_profile = default\n\
         [profile longer]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\nduration_seconds = 86400\n\
         [profile ghost]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = nobody\n\
         [profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = c\n\
         [profile c]\nrole_arn = arn:aws:iam::123456789012:role/c\nsource_profile = a\n\
         [profile me]\nrole_arn = arn:aws:iam::123456789012:role/me\nsource_profile = me\n",
    )
    .credentials("[default]\naws_access_key_id = AKIDD\naws_secret_access_key = s3cr3t-d\n");
    // No STS is reachable here (port 9 on loopback): each error below is
    // raised before any request would be sent.
    let sts = imagecat_ec2::sts::StsTarget::new("http://127.0.0.1:9".parse().unwrap(), "us-east-1");
    for (profile, kind, says) in [
        ("mfa", ErrorKind::NotSupported, "mfa_serial"),
        (
            "both",
            ErrorKind::Config,
            "both source_profile and credential_source",
        ),
        ("nosource", ErrorKind::Config, "neither source_profile"),
        (
            "badsource",
            ErrorKind::Config,
            "credential_source 'Somewhere'",
        ),
        ("notarn", ErrorKind::Config, "not an ARN"),
        ("longer", ErrorKind::Config, "duration_seconds"),
        ("ghost", ErrorKind::Config, "source_profile 'nobody'"),
        ("a", ErrorKind::Config, "loop: a -> b -> c -> a"),
        ("me", ErrorKind::Config, "loop: me -> me"),
    ] {
        let chain = CredentialChain::new(home.env(&[]))
            .with_endpoints(imagecat_ec2::credentials::ChainEndpoints::new().sts(sts.clone()))
            .with_profile(profile);
        let error = error_of(&chain);
        assert_eq!(error.kind(), kind, "{profile}: {error}");
        assert!(error.to_string().contains(says), "{profile}: {error}");
    }
    // An explicit profile skips the web-identity variables, as it skips
    // the keys.
    let chain = CredentialChain::new(home.env(&[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/x"),
    ]))
    .with_profile("default");
    assert_eq!(resolve(&chain).unwrap().access_key_id(), "AKIDD");
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let home = Home::new();
    home.credentials(FILES.1);
    let env = home.env(&[
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_PROFILE", ""),
    ]);
    let credentials = resolve(&CredentialChain::new(env)).unwrap();
    assert_eq!(credentials.access_key_id(), "AKIDCREDSDEFAULT");
}

#[test]
#[cfg(unix)]
fn credential_process_is_run_and_read() {
    let home = Home::new();
    let ok = home.script(
        "ok.sh",
        r#"printf '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s3cr3t-p", "SessionToken": "s3cr3t-ptok", "Expiration": "2999-01-01T00:00:00Z", "Extra": [1]}'"#,
    );
    let echo_env = home.script(
        "env.sh",
        r#"printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "s3cr3t-%s"}' "$ONLY_FROM_ENV" "$1""#,
    );
    home.config(&format!(
        "[profile proc]\ncredential_process = {}\n\
         [profile args]\ncredential_process = \"{}\" 'an arg'\n\
         [profile procandcfg]\ncredential_process = {ok}\naws_access_key_id = AKIDCFG\naws_secret_access_key = s3cr3t-c\n",
        ok.display(),
        echo_env.display(),
        ok = ok.display(),
    ))
    .credentials(&format!(
        "[procandcreds]\ncredential_process = {}\naws_access_key_id = AKIDCREDS\naws_secret_access_key = s3cr3t-c\n",
        ok.display()
    ));
    let credentials = resolve(&CredentialChain::new(home.env(&[("AWS_PROFILE", "proc")]))).unwrap();
    assert_eq!(credentials.access_key_id(), "AKIDPROC");
    assert_eq!(credentials.secret_access_key().expose_secret(), "s3cr3t-p");
    assert_eq!(
        credentials.session_token().unwrap().expose_secret(),
        "s3cr3t-ptok"
    );
    assert_eq!(
        credentials.expiry().unwrap().to_rfc3339(),
        "2999-01-01T00:00:00+00:00"
    );
    assert_eq!(credentials.source(), Source::CredentialProcess);

    // quoted program, arguments, and the chain's environment (only it)
    let credentials =
        resolve(&CredentialChain::new(home.env(&[
            ("AWS_PROFILE", "args"),
            ("ONLY_FROM_ENV", "AKIDFROMENV"),
        ])))
        .unwrap();
    assert_eq!(credentials.access_key_id(), "AKIDFROMENV");
    assert_eq!(
        credentials.secret_access_key().expose_secret(),
        "s3cr3t-an arg"
    );
    assert!(credentials.expiry().is_none());

    // precedence: the process before config-file keys, after credentials-file keys
    let c = resolve(&CredentialChain::new(
        home.env(&[("AWS_PROFILE", "procandcfg")]),
    ))
    .unwrap();
    assert_eq!(c.access_key_id(), "AKIDPROC");
    let c = resolve(&CredentialChain::new(
        home.env(&[("AWS_PROFILE", "procandcreds")]),
    ))
    .unwrap();
    assert_eq!(c.access_key_id(), "AKIDCREDS");

    // the process's own environment is not the child's: only the chain's
    // Env is (read, never set: cargo gives the test binary CARGO_MANIFEST_DIR)
    if std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
        let leak = home.script(
            "leak.sh",
            r#"printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "s3cr3t-l"}' "${CARGO_MANIFEST_DIR:-absent}""#,
        );
        let env = home.env(&[("AWS_CONFIG_FILE", "/nonexistent/imagecat/config")]);
        let chain = CredentialChain::new(env).with_profile("leak");
        std::fs::write(
            home.path().join(".aws/credentials"),
            format!("[leak]\ncredential_process = {}\n", leak.display()),
        )
        .unwrap();
        assert_eq!(resolve(&chain).unwrap().access_key_id(), "absent");
    }
}

#[test]
#[cfg(unix)]
fn credential_process_failures_are_typed_and_quote_no_secret() {
    let home = Home::new();
    let cases = [
        (
            "fails",
            "echo 'token expired, run aws sso login' >&2; exit 3",
            ErrorKind::Unauthenticated,
            "failed (exit status 3): token expired",
        ),
        (
            "notjson",
            r#"printf '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": s3cr3t-unquoted}'"#,
            ErrorKind::Config,
            "not the JSON credentials document",
        ),
        (
            "badtype",
            r#"printf '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": ["s3cr3t-in-a-list"]}'"#,
            ErrorKind::Config,
            "not the JSON credentials document",
        ),
        (
            "v2",
            r#"printf '{"Version": 2, "AccessKeyId": "AKID", "SecretAccessKey": "s3cr3t-v2"}'"#,
            ErrorKind::Config,
            "Version 2",
        ),
        (
            "nosecret",
            r#"printf '{"Version": 1, "AccessKeyId": "AKID"}'"#,
            ErrorKind::Config,
            "no SecretAccessKey",
        ),
        (
            "expired",
            r#"printf '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "s3cr3t-old", "Expiration": "2001-01-01T00:00:00Z"}'"#,
            ErrorKind::Unauthenticated,
            "expired at 2001-01-01",
        ),
        (
            "badtime",
            r#"printf '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "s3cr3t-t", "Expiration": "tomorrow"}'"#,
            ErrorKind::Config,
            "'tomorrow' is not an RFC 3339 time",
        ),
    ];
    let mut config = String::new();
    for (name, body, _, _) in &cases {
        let script = home.script(&format!("{name}.sh"), body);
        config.push_str(&format!(
            "[profile {name}]\ncredential_process = {}\n",
            script.display()
        ));
    }
    config.push_str("[profile missing]\ncredential_process = /nonexistent/imagecat-helper --x\n");
    config.push_str("[profile unterminated]\ncredential_process = /bin/true 'open\n");
    home.config(&config);
    for (name, _, kind, says) in cases.iter().map(|(n, b, k, s)| (*n, *b, *k, *s)).chain([
        (
            "missing",
            "",
            ErrorKind::Config,
            "cannot run '/nonexistent/imagecat-helper'",
        ),
        ("unterminated", "", ErrorKind::Config, "unterminated quote"),
    ]) {
        let error = error_of(&CredentialChain::new(home.env(&[("AWS_PROFILE", name)])));
        assert_eq!(error.kind(), kind, "{name}: {error}");
        assert!(error.to_string().contains(says), "{name}: {error}");
        assert!(
            error.to_string().contains(&format!("'{name}'")),
            "{name}: {error}"
        );
    }
}

#[test]
fn debug_never_shows_a_secret() {
    let home = Home::new();
    home.credentials(FILES.1);
    let env = home.env(&ENV_KEYS);
    let chain = CredentialChain::new(env.clone());
    let credentials = resolve(&chain).unwrap();
    let files = imagecat_ec2::credentials::ProfileFiles::load(&env).unwrap();
    let profile = files.profile("dev").unwrap();
    let provider = StaticProvider::new(Credentials::new(
        "AKIDSTATIC",
        SecretString::new("s3cr3t-static"),
        Some(SecretString::new("s3cr3t-static-token")),
        None,
    ));
    let shown = format!("{env:?} {chain:?} {credentials:?} {files:?} {profile:?} {provider:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(
        shown.contains("AWS_SECRET_ACCESS_KEY"),
        "the names are shown: {shown}"
    );
    assert!(shown.contains("AKIDENV"), "the key id is shown: {shown}");
    // a user's provider is usable as the trait object the backend will hold
    let dynamic: std::sync::Arc<dyn CredentialProvider> = std::sync::Arc::new(provider);
    assert_eq!(
        block_on(dynamic.credentials()).unwrap().access_key_id(),
        "AKIDSTATIC"
    );
}

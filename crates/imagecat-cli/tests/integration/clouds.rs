//! The built `imagecat` binary with clouds.yaml: `--os-cloud NAME`,
//! `OS_CLOUD` and `glance://?cloud=NAME` open the Glance emulator through
//! its Keystone with an application credential kept in secure.yaml; an
//! unknown cloud is a usage error naming the file and the cloud, never a
//! secret.

use crate::support::imagecat;
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, KeystoneAppCredential, KeystoneUser,
};
use imagecat_emulators::server::ServeOptions;

const SECRET: &str = "e2e-appcred-very-secret";

async fn emulator() -> (GlanceEmulator, tempfile::TempDir) {
    let user = KeystoneUser {
        app_credential: Some(KeystoneAppCredential {
            id: "5e0c7a2b9f1d4e3c8a6b2d1f0e9c8b7a".into(),
            name: "e2e".into(),
            secret: SECRET.into(),
        }),
        ..KeystoneUser::default()
    };
    let emu = GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(9).keystone(user),
        ServeOptions::default(),
    )
    .await
    .expect("the Glance emulator starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  emu:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {}\n      application_credential_id: 5e0c7a2b9f1d4e3c8a6b2d1f0e9c8b7a\n    region_name: RegionOne\n",
            emu.identity_v3_url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("secure.yaml"),
        format!("clouds:\n  emu:\n    auth:\n      application_credential_secret: {SECRET}\n"),
    )
    .unwrap();
    (emu, dir)
}

fn ids(run: &crate::support::Run) -> Vec<String> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut ids: Vec<String> = run.column("id");
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_cloud_flag_env_and_url_open_the_cloud() {
    let (emu, dir) = emulator().await;
    let mut want = emu.listed_ids();
    want.sort();
    assert_eq!(want.len(), 9);
    let config = dir.path().join("clouds.yaml");
    let secure = dir.path().join("secure.yaml");
    let home = dir.path().to_str().unwrap();
    let env = [
        ("OS_CLIENT_CONFIG_FILE", config.to_str().unwrap()),
        ("OS_CLIENT_SECURE_FILE", secure.to_str().unwrap()),
        ("HOME", home),
        ("XDG_CONFIG_HOME", home),
    ];
    let flag = imagecat(&["--os-cloud", "emu", "-o", "json", "list"], &env).await;
    assert_eq!(ids(&flag), want);
    let url = imagecat(&["-c", "glance://?cloud=emu", "-o", "json", "list"], &env).await;
    assert_eq!(ids(&url), want);
    let mut with_os_cloud = env.to_vec();
    with_os_cloud.push(("OS_CLOUD", "emu"));
    let by_env = imagecat(&["-c", "glance:", "-o", "json", "list"], &with_os_cloud).await;
    assert_eq!(ids(&by_env), want);
    assert_eq!(emu.issued_tokens(), 3);

    let unknown = imagecat(&["--os-cloud", "nope", "list"], &env).await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    let text = format!("{}{}", unknown.stdout, unknown.stderr);
    assert!(
        text.contains("\"nope\"") && text.contains(config.to_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("emu"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    for run in [flag, url, by_env] {
        assert!(!run.stderr.contains(SECRET) && !run.stdout.contains(SECRET));
    }
}

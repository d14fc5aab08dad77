//! Helpers shared by the integration tests: emulators and catalogs over them.

use std::sync::Arc;

use imagecat_core::{ImageId, ImageStatus, ListQuery};
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig, ToastImage};
use imagecat_http::SecretString;
use imagecat_testkit::conformance::{AfterDelete, Fixture, SecondDelete};
use imagecat_testkit::listing::test_http;
use imagecat_toast::{ToastBuilder, ToastCatalog};

/// How the catalog authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// The emulator's static token.
    Token,
    /// The emulator's username and API password.
    Password,
}

pub(crate) async fn start(config: ToastEmulatorConfig) -> ToastEmulator {
    ToastEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

pub(crate) async fn start_default() -> ToastEmulator {
    start(ToastEmulatorConfig::default()).await
}

pub(crate) fn builder(emu: &ToastEmulator, auth: Auth) -> ToastBuilder {
    let config = emu.config();
    let builder = ToastCatalog::builder()
        .endpoint(emu.endpoint())
        .appkey(config.appkey.clone());
    match auth {
        Auth::Token => builder.token(SecretString::new(config.token.clone())),
        Auth::Password => builder.password(
            config.username.clone(),
            SecretString::new(config.password.clone()),
        ),
    }
}

/// The default emulator and a token catalog over it without retries
/// (one canned answer, one outcome).
pub(crate) async fn setup() -> (ToastEmulator, ToastCatalog) {
    let emu = start_default().await;
    let catalog = builder(&emu, Auth::Token)
        .http_options(test_http(1))
        .build()
        .unwrap();
    (emu, catalog)
}

pub(crate) fn catalog(emu: &ToastEmulator, auth: Auth) -> ToastCatalog {
    builder(emu, auth).build().expect("the catalog builds")
}

/// The ids a default listing must yield: everything served except images
/// whose status maps to deleted.
pub(crate) fn expected_ids(emu: &ToastEmulator) -> Vec<ImageId> {
    emu.snapshot()
        .into_iter()
        .filter(|i| ImageStatus::from_glance(&i.status) != ImageStatus::Deleted)
        .map(|i| ImageId::new(i.id))
        .collect()
}

/// The conformance fixture over an adapter and an emulator, plus the
/// emulators (kept alive by the caller).
pub(crate) async fn fixture(
    config: ToastEmulatorConfig,
    auth: Auth,
) -> (Vec<ToastEmulator>, Fixture) {
    let emu = start(config.clone()).await;
    let lying_emu = start(ToastEmulatorConfig {
        ignore_marker: true,
        ..config.clone()
    })
    .await;
    let lying = catalog(&lying_emu, auth);
    let catalog = catalog(&emu, auth);
    // The emulator serves only documented statuses; a word the docs lack
    // stands for a status NHN may add.
    let odd = emu.missing_id();
    emu.insert_image(ToastImage {
        status: "frozen".to_owned(),
        ..ToastImage::new(odd.clone(), "odd-status")
    });
    let deletable = emu.deletable_ids(2).into_iter().map(ImageId::new).collect();
    let fixture = Fixture {
        catalog: Arc::new(catalog),
        requests: Arc::new(emu.image_request_counter()),
        expected: expected_ids(&emu),
        deletable,
        missing: ImageId::new(emu.missing_id()),
        invalid: hostile_ids(),
        unknown_status: Some((ImageId::new(odd), "frozen".to_owned())),
        after_delete: AfterDelete::NotFound,
        second_delete: SecondDelete::NotFound,
        lying: Some(Arc::new(lying)),
        secrets: vec![config.token.clone(), config.password.clone()],
    };
    (vec![emu, lying_emu], fixture)
}

/// Ids that must be refused before any request is sent.
pub(crate) fn hostile_ids() -> Vec<ImageId> {
    [
        "",
        "x&id=y",
        "../images",
        "not-a-uuid",
        "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b1",
        "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10&id=1c868787-6207-4ff2-a1e7-ae1331d6829b",
        "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10?x=1",
        "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10/../../tokens",
        "6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10#f",
        " 6f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10",
        "6f2c1b4e%2D0c2a-4f0e-9d35-1f7c2a8e9b10",
        "６f2c1b4e-0c2a-4f0e-9d35-1f7c2a8e9b10",
    ]
    .into_iter()
    .map(ImageId::new)
    .collect()
}

/// Every id of a listing, deleted images included.
pub(crate) async fn all_ids(catalog: &ToastCatalog, page_size: u32) -> Vec<String> {
    use futures::TryStreamExt;
    use imagecat_core::ImageCatalog;
    catalog
        .list(ListQuery::new().include_deleted(true).page_size(page_size))
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .expect("the listing succeeds")
}

/// Marker modes, for loops.
pub(crate) const MODES: [MarkerMode; 2] = [MarkerMode::Exclusive, MarkerMode::Inclusive];

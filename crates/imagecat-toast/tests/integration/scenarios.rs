//! The testkit's reliability and hostile-server scenarios against the
//! TOAST emulator, in both marker modes.

use std::sync::Arc;

use imagecat_core::ImageCatalog;
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{MarkerMode, ToastEmulator, ToastEmulatorConfig};
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::scenarios::{Outcome, Rig, Skip};
use imagecat_toast::ToastCatalog;

/// The TOAST emulator in one marker mode; `SEED` draws every fault kind.
struct Toast<const INCLUSIVE: bool, const SEED: u64>;

impl<const INCLUSIVE: bool, const SEED: u64> Rig for Toast<INCLUSIVE, SEED> {
    type Emu = ToastEmulator;

    const EVERY_KIND: (usize, u64) = (153, SEED);

    async fn start(images: usize, options: ServeOptions) -> ToastEmulator {
        let marker = if INCLUSIVE {
            MarkerMode::Inclusive
        } else {
            MarkerMode::Exclusive
        };
        let config = ToastEmulatorConfig {
            marker,
            images,
            ..ToastEmulatorConfig::default()
        };
        ToastEmulator::start(config, options)
            .await
            .expect("the emulator starts")
    }

    fn catalog(emu: &ToastEmulator, http: HttpOptions) -> Arc<dyn ImageCatalog> {
        let config = emu.config();
        let catalog = ToastCatalog::builder()
            .endpoint(emu.endpoint())
            .appkey(config.appkey.clone())
            .token(SecretString::new(config.token.clone()))
            .http_options(http)
            .build()
            .expect("the catalog builds");
        Arc::new(catalog)
    }

    fn listed_ids(emu: &ToastEmulator) -> Vec<String> {
        emu.listed_ids()
    }

    fn push_page(emu: &ToastEmulator, ids: &[&str]) -> Outcome {
        let images: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "status": "active"}))
            .collect();
        let body = serde_json::json!({
            "header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
            "images": images,
        });
        emu.push_response(200, body.to_string());
        Ok(())
    }

    fn marker_key() -> Result<&'static str, Skip> {
        Ok("marker")
    }
}

mod exclusive {
    imagecat_testkit::scenario_tests!(super::Toast<false, 5>);
}

mod inclusive {
    imagecat_testkit::scenario_tests!(super::Toast<true, 4>);
}

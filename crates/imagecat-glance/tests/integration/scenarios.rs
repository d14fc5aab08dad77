//! The testkit's reliability and hostile-server scenarios against the
//! Glance emulator.

use std::sync::Arc;

use imagecat_core::ImageCatalog;
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig, GlanceImage};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::GlanceCatalog;
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::scenarios::{Outcome, Rig, Skip};

/// The Glance emulator with a static token.
struct Glance;

impl Rig for Glance {
    type Emu = GlanceEmulator;

    const EVERY_KIND: (usize, u64) = (153, 11);

    async fn start(images: usize, options: ServeOptions) -> GlanceEmulator {
        let config = GlanceEmulatorConfig::default().images(images as u64);
        GlanceEmulator::start(config, options)
            .await
            .expect("the emulator starts")
    }

    fn catalog(emu: &GlanceEmulator, http: HttpOptions) -> Arc<dyn ImageCatalog> {
        let token = emu.config().token.clone().expect("a static token");
        let catalog = GlanceCatalog::builder()
            .endpoint(emu.endpoint())
            .token(SecretString::new(token))
            .http_options(http)
            .build()
            .expect("the catalog builds");
        Arc::new(catalog)
    }

    fn listed_ids(emu: &GlanceEmulator) -> Vec<String> {
        emu.listed_ids()
    }

    /// A page of `ids` whose `next` link names the last one as its marker.
    fn push_page(emu: &GlanceEmulator, ids: &[&str]) -> Outcome {
        let images: Vec<_> = ids
            .iter()
            .map(|id| GlanceImage::new(*id, "hostile").to_json())
            .collect();
        let last = ids.last().copied().unwrap_or_default();
        let marker: String = url::form_urlencoded::byte_serialize(last.as_bytes()).collect();
        let body = serde_json::json!({
            "images": images,
            "first": "/v2/images",
            "schema": "/v2/schemas/images",
            "next": format!("/v2/images?limit={}&marker={marker}", ids.len()),
        });
        emu.push_response(200, "application/json", body.to_string());
        Ok(())
    }

    fn marker_key() -> Result<&'static str, Skip> {
        Ok("marker")
    }
}

imagecat_testkit::scenario_tests!(Glance);

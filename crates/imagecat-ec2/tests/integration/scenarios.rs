//! The reliability and hostile-server scenarios
//! (`imagecat_testkit::scenarios`) against `imagecat emulate ec2`, as for
//! every other emulated backend: faults of every kind change nothing and
//! cost one request each, the same seed replays the same faults, a slow
//! server is retried, a hopeless one ends the listing with attempts and
//! time, a body over the cap is an invalid response. EC2 pages by an opaque
//! `NextToken` (no id ever goes into a request) and the emulator has no
//! queue of canned pages, so the hostile-id case says why it does not
//! apply. `MaxResults` is at least 5 on EC2: the scenarios' page size 3
//! is sent as 5, hence the 300 images that make 50 pages or more, and a
//! body cap of 12 KiB (a page of 5 AMIs is about 6 KiB).

use std::sync::Arc;

use imagecat_core::ImageCatalog;
use imagecat_ec2::credentials::{Credentials, StaticProvider};
use imagecat_ec2::{Ec2Builder, Env};
use imagecat_emulators::ec2::{
    ACCESS_KEY_ID, ACCOUNT, Ec2Emulator, Ec2EmulatorConfig, REGION, SECRET_ACCESS_KEY,
};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::{HttpOptions, SecretString};
use imagecat_testkit::scenarios::{Outcome, Rig, Skip};

/// The EC2 emulator (signatures checked) for the scenarios.
struct Ec2<const IMAGES: usize, const SEED: u64>;

const OPAQUE: Skip =
    Skip("EC2 pages by an opaque NextToken: no id goes into a request, no page is queued");

impl<const IMAGES: usize, const SEED: u64> Rig for Ec2<IMAGES, SEED> {
    type Emu = Ec2Emulator;

    const EVERY_KIND: (usize, u64) = (IMAGES, SEED);

    /// A page of 20 AMIs is about 24 KiB, the smallest (5) about 6 KiB.
    const BODY_CAP: usize = 12 * 1024;

    async fn start(images: usize, options: ServeOptions) -> Ec2Emulator {
        let config = Ec2EmulatorConfig {
            images,
            ..Ec2EmulatorConfig::default()
        }
        .signed();
        Ec2Emulator::start(config, options)
            .await
            .expect("the emulator starts")
    }

    fn catalog(emu: &Ec2Emulator, http: HttpOptions) -> Arc<dyn ImageCatalog> {
        let provider = StaticProvider::new(Credentials::new(
            ACCESS_KEY_ID,
            SecretString::new(SECRET_ACCESS_KEY),
            None,
            None,
        ));
        Arc::new(
            Ec2Builder::from_url(&emu.catalog_url().parse().unwrap(), &Default::default())
                .unwrap()
                .env(Env::default())
                .credentials_provider(Arc::new(provider))
                .http_options(http)
                .build()
                .expect("the catalog builds"),
        )
    }

    /// The caller's AMIs a listing shows: not disabled, by id (the
    /// emulator's order; EC2 has no deleted AMIs to include).
    fn listed_ids(emu: &Ec2Emulator) -> Vec<String> {
        emu.images(REGION)
            .into_iter()
            .filter(|i| i.owner_id == ACCOUNT && i.state != "disabled")
            .map(|i| i.image_id)
            .collect()
    }

    fn push_page(_: &Ec2Emulator, _: &[&str]) -> Outcome {
        Err(OPAQUE)
    }

    fn marker_key() -> Result<&'static str, Skip> {
        Err(OPAQUE)
    }
}

mod cases {
    imagecat_testkit::scenario_tests!(super::Ec2<300, 2>);
}

//! Helpers shared by the Glance adapter's integration tests: catalogs over
//! the emulator's Keystone and quick retries (the real Glance is
//! `imagecat_testkit::real_glance`).

use imagecat_emulators::glance::{GlanceEmulator, KeystoneUser};
use imagecat_glance::{GlanceBuilder, GlanceCatalog};
use imagecat_http::SecretString;

pub(crate) use imagecat_emulators::glance::TOKEN;

/// Keystone v3 as `user` against the emulator's identity endpoint, in
/// RegionOne (every endpoint from the token's catalog).
pub(crate) fn keystone_v3(emu: &GlanceEmulator, user: KeystoneUser) -> GlanceBuilder {
    GlanceCatalog::builder()
        .keystone_v3(
            emu.identity_v3_url(),
            user.username,
            user.user_domain,
            user.project_name,
            user.project_domain,
            SecretString::new(user.password),
        )
        .region("RegionOne")
}

//! Emulators started for a test, with their default configuration and
//! `images` seeded images (a failure to start fails the test).

#[cfg(feature = "dcmgr")]
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
#[cfg(feature = "ec2")]
use imagecat_emulators::ec2::{Ec2Emulator, Ec2EmulatorConfig};
#[cfg(feature = "glance")]
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig};
#[cfg(any(
    feature = "toast",
    feature = "dcmgr",
    feature = "glance",
    feature = "ec2"
))]
use imagecat_emulators::server::ServeOptions;
#[cfg(feature = "toast")]
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};

/// A DCMGR 12.03 emulator with `images` seeded images.
#[cfg(feature = "dcmgr")]
pub async fn dcmgr(images: usize) -> DcmgrEmulator {
    DcmgrEmulator::start(
        DcmgrEmulatorConfig::v1203().images(images),
        ServeOptions::default(),
    )
    .await
    .expect("the DCMGR emulator starts")
}

/// A TOAST emulator with `images` seeded images.
#[cfg(feature = "toast")]
pub async fn toast(images: usize) -> ToastEmulator {
    ToastEmulator::start(
        ToastEmulatorConfig {
            images,
            ..ToastEmulatorConfig::default()
        },
        ServeOptions::default(),
    )
    .await
    .expect("the TOAST emulator starts")
}

/// A Glance emulator with `images` seeded images (token
/// [`imagecat_emulators::glance::TOKEN`]).
#[cfg(feature = "glance")]
pub async fn glance(images: u64) -> GlanceEmulator {
    GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(images),
        ServeOptions::default(),
    )
    .await
    .expect("the Glance emulator starts")
}

/// An EC2 emulator with `images` seeded AMIs in `us-east-1` (and its
/// instances, launch templates, SSM parameter, launch configuration and
/// Auto Scaling group) that checks signatures made with the key pair
/// [`imagecat_emulators::ec2::ACCESS_KEY_ID`] /
/// [`imagecat_emulators::ec2::SECRET_ACCESS_KEY`] (account
/// [`imagecat_emulators::ec2::ACCOUNT`]).
#[cfg(feature = "ec2")]
pub async fn ec2(images: usize) -> Ec2Emulator {
    Ec2Emulator::start(
        Ec2EmulatorConfig {
            images,
            ..Ec2EmulatorConfig::default().signed()
        },
        ServeOptions::default(),
    )
    .await
    .expect("the EC2 emulator starts")
}

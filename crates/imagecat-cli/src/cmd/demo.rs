//! `imagecat demo`: the embedded default. Starts four emulators in-process
//! on loopback (TOAST, DCMGR, AWS EC2 with SigV4 checked, GCE), opens them
//! through the facade like any real cloud (credentials passed in
//! [`OpenOptions`], never printed, never put in the environment), lists
//! across all four, shows one image, deletes one and lists again.

use std::io;

use clap::Args;
use futures::TryStreamExt;
use imagecat::{
    Credentials, Deleted, ImageCatalogExt, ListQuery, NamedCatalog, OpenOptions, SecretString,
    list_all,
};
use imagecat_emulators::dcmgr::{DcmgrEmulator, DcmgrEmulatorConfig};
use imagecat_emulators::ec2::{self, Ec2Emulator, Ec2EmulatorConfig};
use imagecat_emulators::gce::{self, GceEmulator, GceEmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_emulators::toast::{ToastEmulator, ToastEmulatorConfig};

use crate::exit::{CliError, ExitCode};
use crate::output::{Format, Row, View, emit, emit_one};
use crate::session::Session;

/// Arguments of `demo` (none).
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {}

const ACCOUNT: &str = "a-shpoolxx";

fn failed(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(ExitCode::Failure, format!("demo: {what}: {e}"))
}

/// Runs the demo.
pub(crate) async fn run(_session: &Session, _args: DemoArgs) -> Result<(), CliError> {
    println!("imagecat demo: four emulated clouds on loopback; no account or network needed.\n");

    let toast_config = ToastEmulatorConfig {
        images: 8,
        ..ToastEmulatorConfig::default()
    };
    let toast = ToastEmulator::start(toast_config.clone(), ServeOptions::default())
        .await
        .map_err(|e| failed("starting the TOAST emulator", e))?;
    let dcmgr = DcmgrEmulator::start(
        DcmgrEmulatorConfig {
            images: 8,
            ..DcmgrEmulatorConfig::default()
        },
        ServeOptions::default(),
    )
    .await
    .map_err(|e| failed("starting the DCMGR emulator", e))?;

    let ec2_emu = Ec2Emulator::start(
        Ec2EmulatorConfig {
            images: 6,
            ..Ec2EmulatorConfig::default().signed()
        },
        ServeOptions::default(),
    )
    .await
    .map_err(|e| failed("starting the EC2 emulator", e))?;
    let gce_emu = GceEmulator::start(
        GceEmulatorConfig {
            images: 6,
            ..GceEmulatorConfig::default()
        },
        ServeOptions::default(),
    )
    .await
    .map_err(|e| failed("starting the GCE emulator", e))?;

    let toast_url = toast.catalog_url();
    let dcmgr_url = dcmgr.catalog_url(Some(ACCOUNT));
    let ec2_url = ec2_emu.catalog_url();
    let gce_url = gce_emu.catalog_url();
    println!("1. Started the emulators and opened them through imagecat::open_with:");
    println!(
        "   NHN Cloud (TOAST)  {toast_url}   (token exchanged for user {})",
        toast_config.username
    );
    println!("   Wakame-vdc DCMGR   {dcmgr_url}");
    println!("   AWS EC2            {ec2_url}   (every request SigV4-signed and checked)");
    println!("   Google GCE         {gce_url}   (OAuth access token)\n");

    let credentials = Credentials::password(
        toast_config.username.clone(),
        SecretString::new(toast_config.password.clone()),
    );
    let toast_catalog =
        imagecat::open_with(&toast_url, &OpenOptions::new().credentials(credentials))
            .map_err(|e| CliError::from_error(Some("toast"), e))?;
    let dcmgr_catalog =
        imagecat::open(&dcmgr_url).map_err(|e| CliError::from_error(Some("dcmgr"), e))?;
    // EC2: an access key id and secret access key, given in the options
    // (never the environment: no other catalog or child process sees them).
    let ec2_keys = Credentials::password(
        ec2::ACCESS_KEY_ID,
        SecretString::new(ec2::SECRET_ACCESS_KEY),
    );
    let ec2_catalog = imagecat::open_with(&ec2_url, &OpenOptions::new().credentials(ec2_keys))
        .map_err(|e| CliError::from_error(Some("ec2"), e))?;
    let gce_token = Credentials::token(SecretString::new(gce::TOKEN));
    let gce_catalog = imagecat::open_with(&gce_url, &OpenOptions::new().credentials(gce_token))
        .map_err(|e| CliError::from_error(Some("gce"), e))?;
    let catalogs = vec![
        NamedCatalog::new("toast", toast_catalog.clone()),
        NamedCatalog::new("dcmgr", dcmgr_catalog.clone()),
        NamedCatalog::new("ec2", ec2_catalog),
        NamedCatalog::new("gce", gce_catalog),
    ];

    println!("2. Listing the four catalogs at once (fan-out, one model):");
    let images: Vec<_> = list_all(&catalogs, &ListQuery::new())
        .try_collect()
        .await
        .map_err(|e| CliError::from_error(Some(&e.catalog), e.error))?;
    let rows = images
        .iter()
        .map(|tagged| Row::new(tagged.image.clone(), Some(tagged.catalog.clone()), false))
        .collect();
    emit(
        &mut io::stdout().lock(),
        &View::new(Format::Table, true),
        rows,
    )?;
    let from = |name: &str| images.iter().filter(|t| t.catalog == name).count();
    println!(
        "   {} images: {} from toast, {} from dcmgr, {} from ec2, {} from gce\n",
        images.len(),
        from("toast"),
        from("dcmgr"),
        from("ec2"),
        from("gce")
    );

    let victim = images
        .iter()
        .find(|t| {
            t.catalog == "dcmgr"
                && t.image.owner.as_deref() == Some(ACCOUNT)
                && t.image.status == imagecat::ImageStatus::Active
        })
        .ok_or_else(|| failed("finding an image of our own", "none listed"))?
        .image
        .clone();
    println!("3. Showing image {} from dcmgr:", victim.id);
    let shown = dcmgr_catalog
        .get(&victim.id)
        .await
        .map_err(|e| CliError::from_error(Some("dcmgr"), e))?;
    emit_one(
        &mut io::stdout().lock(),
        &View::new(Format::Table, false),
        Row::new(shown, None, false),
    )?;
    println!();

    println!("4. Deleting:");
    let outcome = dcmgr_catalog
        .delete(&victim.id)
        .await
        .map_err(|e| CliError::from_error(Some("dcmgr"), e))?;
    println!(
        "   dcmgr {}: {}",
        victim.id,
        if outcome == Deleted::Deleted {
            "deleted"
        } else {
            "was already deleted"
        }
    );
    let again = dcmgr_catalog
        .delete(&victim.id)
        .await
        .map_err(|e| CliError::from_error(Some("dcmgr"), e))?;
    println!(
        "   dcmgr {} again: {}",
        victim.id,
        if again == Deleted::AlreadyDeleted {
            "already deleted (a repeat delete is safe)"
        } else {
            "deleted"
        }
    );
    if let Some(protected) = images
        .iter()
        .find(|t| t.catalog == "toast" && t.image.protected == Some(true))
    {
        match toast_catalog.delete(&protected.image.id).await {
            Err(e) => println!("   toast {}: refused as expected: {e}", protected.image.id),
            Ok(d) => println!("   toast {}: unexpectedly {d:?}", protected.image.id),
        }
    }
    println!();

    println!("5. Listing dcmgr again:");
    let after = dcmgr_catalog
        .collect(ListQuery::new())
        .await
        .map_err(|e| CliError::from_error(Some("dcmgr"), e))?;
    let gone = !after.iter().any(|i| i.id == victim.id);
    println!(
        "   {} images (was {}); {} {}",
        after.len(),
        from("dcmgr"),
        victim.id,
        if gone {
            "is gone (soft-deleted: --include-deleted shows it as deleted)"
        } else {
            "is STILL listed"
        }
    );
    if !gone {
        return Err(failed("checking the delete", "the image is still listed"));
    }
    println!("\nDone. Try: imagecat emulate dcmgr   (and point --catalog at the URL it prints)");
    Ok(())
}

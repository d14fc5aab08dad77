//! `imagecat prune` reports sizes end to end against the TOAST emulator
//! (which reports each image's `size`): every plan entry has `size_bytes`
//! (the emulator's own figure), and the summary's freed bytes are the sum
//! of the planned deletes' sizes, in the dry run and, after an apply, of
//! the images actually deleted; an image of unknown size is said, never
//! counted as zero.

use std::collections::HashMap;

use imagecat::retention::human_bytes;
use imagecat_emulators::toast::ToastImage;

use crate::support::{entries, ids_where, imagecat, prune_args, toast_in_use};

/// The freed part of the summary line: `N GiB (B B) <verb> by D deletes`.
fn freed(bytes: u64, verb: &str, deletes: usize) -> String {
    format!(
        "{} ({bytes} B) {verb} by {deletes} deletes, 1 of unknown size;",
        human_bytes(bytes)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_freed_bytes_are_the_sum_of_the_deleted_sizes_and_unknown_sizes_are_said() {
    let (emu, used) = toast_in_use(12).await;
    // An old private image whose size the server does not report.
    let mut no_size = ToastImage::new("00000000-0000-4000-8000-00000000051e", "no-size");
    no_size.size = None;
    no_size.created_at = imagecat::chrono::Utc::now() - imagecat::chrono::Duration::days(400);
    no_size.updated_at = Some(no_size.created_at);
    emu.insert_image(no_size.clone());
    // The emulator's own sizes, before anything is deleted.
    let truth: HashMap<String, Option<u64>> =
        emu.snapshot().into_iter().map(|i| (i.id, i.size)).collect();
    let sum = |ids: &std::collections::HashSet<String>| -> (u64, usize) {
        let mut bytes = 0;
        let mut unknown = 0;
        for id in ids {
            match truth[id] {
                Some(n) => bytes += n,
                None => unknown += 1,
            }
        }
        (bytes, unknown)
    };
    let token = emu.config().token.clone();
    let env = [("IMAGECAT_TOAST_TOKEN", token.as_str())];
    let url = emu.catalog_url();

    let dry_run = imagecat(&prune_args(&url, None, false), &env).await;
    let dry = entries(&dry_run);
    for e in &dry {
        let id = e["id"].as_str().unwrap();
        assert_eq!(e["size_bytes"].as_u64(), truth[id], "{e}");
    }
    let planned = ids_where(&dry, "action", "delete");
    assert!(planned.contains(&no_size.id), "{dry:?}");
    assert!(!planned.contains(&used));
    let (bytes, unknown) = sum(&planned);
    assert_eq!(unknown, 1);
    assert!(bytes > 0);
    let want = freed(bytes, "would be freed", planned.len());
    assert!(dry_run.stderr.contains(&want), "{want}\n{}", dry_run.stderr);

    // The table shows a SIZE column, `-` for the unknown one.
    let table = imagecat(
        &[
            "-c",
            &url,
            "prune",
            "--family",
            "^()",
            "--keep",
            "0",
            "--older-than",
            "0s",
        ],
        &env,
    )
    .await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.lines().next().unwrap().contains("SIZE"),
        "{}",
        table.stdout
    );
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains(&no_size.id))
        .unwrap();
    assert!(line.contains(" - "), "{line}");

    let applied = imagecat(&prune_args(&url, None, true), &env).await;
    let done = entries(&applied);
    let deleted = ids_where(&done, "result", "deleted");
    assert_eq!(emu.server().deleted_image_ids(), deleted);
    assert_eq!(deleted, planned, "{done:?}");
    let (bytes, _) = sum(&deleted);
    let want = freed(bytes, "freed", deleted.len());
    assert!(applied.stderr.contains(&want), "{want}\n{}", applied.stderr);
}

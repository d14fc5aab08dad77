//! Lists every image of a Glance v2 endpoint, as `openstack image list -f
//! json` does (used by `scripts/real-glance/bench.sh`).
//!
//! ```text
//! cargo run --release -p imagecat-glance --example list -- [ENDPOINT] [--page-size N] [--json] [--latest | --newest-by-listing]
//! ```
//!
//! `--latest` prints only the newest image, found with
//! `ImageCatalogExt::latest` (one request sorted by the server);
//! `--newest-by-listing` finds the same image by listing everything.
//!
//! With `ENDPOINT` (`http://127.0.0.1:9292`), the token is `OS_TOKEN` (any
//! value for a server without Keystone); without it, the OpenStack
//! environment (`OS_AUTH_URL`, …) is used. `--json` prints
//! `[{"ID","Name","Status"}…]` like the OpenStack client; the count and
//! the time taken go to stderr.

use std::io::Write;
use std::time::Instant;

use futures::TryStreamExt;
use imagecat_core::{ImageCatalog, ImageCatalogExt, ListQuery};
use imagecat_glance::GlanceCatalog;
use imagecat_http::SecretString;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut endpoint = None;
    let mut page_size = None;
    let mut json = false;
    let mut newest = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--page-size" => {
                page_size = Some(args.next().ok_or("--page-size needs a number")?.parse()?)
            }
            "--json" => json = true,
            "--latest" | "--newest-by-listing" => newest = Some(arg.clone()),
            "-h" | "--help" => {
                eprintln!(
                    "usage: list [ENDPOINT] [--page-size N] [--json] [--latest | --newest-by-listing]"
                );
                return Ok(());
            }
            other => endpoint = Some(other.to_owned()),
        }
    }
    let builder = match endpoint {
        Some(url) => GlanceCatalog::builder()
            .endpoint(url)
            .token(SecretString::new(
                std::env::var("OS_TOKEN").unwrap_or_else(|_| "noauth".to_owned()),
            )),
        None => imagecat_glance::GlanceBuilder::from_env(),
    };
    let catalog = builder.build()?;
    let mut query = ListQuery::new();
    query.page_size = page_size;
    let started = Instant::now();
    let images: Vec<_> = match newest.as_deref() {
        Some("--latest") => vec![catalog.latest(query).await?],
        Some(_) => {
            let all: Vec<_> = catalog.list(query).try_collect().await?;
            all.into_iter()
                .max_by_key(|i| i.created_at)
                .into_iter()
                .collect()
        }
        None => catalog.list(query).try_collect().await?,
    };
    let elapsed = started.elapsed();
    if json {
        let rows: Vec<_> = images
            .iter()
            .map(|i| serde_json::json!({"ID": i.id, "Name": i.name, "Status": i.native_status}))
            .collect();
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    }
    eprintln!(
        "imagecat: {} images in {:.3}s",
        images.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

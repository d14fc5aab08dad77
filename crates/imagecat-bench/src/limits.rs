//! The limit loops: the same pages as imagecat, with a plain reqwest client,
//! either only fetched (the bytes; the emulator's and the transport's
//! ceiling) or fetched and parsed into a `serde_json::Value`.
//!
//! Sequential loops page as the backend pages (TOAST: the marker is the
//! last id of the page just parsed; DCMGR: `start` grows by the page's
//! length until the total; Glance: the marker of the `next` link). Concurrent loops keep `depth` pages in flight as
//! imagecat's read-ahead does (DCMGR: the first page alone for the total,
//! then spawned fetches of the planned offsets, taken in order).

use bytes::Bytes;
use futures::StreamExt;
use imagecat_http::Url;
use imagecat_http::reqwest::Client;
use serde_json::Value;

use crate::Res;
use crate::setup::{Listing, Paging};

/// What a loop saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// Pages fetched.
    pub(crate) pages: u64,
    /// Images on them (for the bytes-only loops: unknown, 0).
    pub(crate) images: u64,
    /// Body bytes received.
    pub(crate) bytes: u64,
}

/// `GET url` with the listing's headers; the body.
pub(crate) async fn fetch(client: &Client, listing: &Listing, url: Url) -> Res<Bytes> {
    let response = client
        .get(url)
        .headers(listing.headers.clone())
        .send()
        .await?
        .error_for_status()?;
    Ok(response.bytes().await?)
}

/// The images of a parsed page, and where the next page starts.
fn step(listing: &Listing, page: &Value, start: u64) -> Res<(u64, Next)> {
    match listing.paging {
        Paging::Marker => {
            let images = page["images"]
                .as_array()
                .ok_or("a TOAST page without `images`")?;
            let n = images.len() as u64;
            let next = match images.last().and_then(|i| i["id"].as_str()) {
                Some(last) if n >= u64::from(listing.page_size) => Next::Marker(last.to_owned()),
                _ => Next::End,
            };
            Ok((n, next))
        }
        Paging::Link => {
            let n = page["images"]
                .as_array()
                .ok_or("a Glance page without `images`")?
                .len() as u64;
            // As imagecat does: the marker the `next` link carries.
            let next = match page["next"].as_str() {
                Some(link) => {
                    let url = Url::parse("http://link.invalid")?.join(link)?;
                    let marker = url
                        .query_pairs()
                        .find(|(k, _)| k == "marker")
                        .map(|(_, v)| v.into_owned())
                        .ok_or("a Glance `next` link without a marker")?;
                    Next::Marker(marker)
                }
                None => Next::End,
            };
            Ok((n, next))
        }
        Paging::Token => {
            // `items` is absent on an empty page
            let n = page["items"].as_array().map_or(0, Vec::len) as u64;
            let next = match page["nextPageToken"].as_str() {
                Some(token) if !token.is_empty() => Next::Marker(token.to_owned()),
                _ => Next::End,
            };
            Ok((n, next))
        }
        Paging::Offset => {
            let index = &page[0];
            let n = index["results"]
                .as_array()
                .ok_or("a DCMGR page without `results`")?
                .len() as u64;
            let total = index["total"]
                .as_u64()
                .ok_or("a DCMGR page without `total`")?;
            let end = start + n;
            let next = if n == 0 || end >= total {
                Next::End
            } else {
                Next::Offset(end, total)
            };
            Ok((n, next))
        }
    }
}

enum Next {
    Marker(String),
    Offset(u64, u64),
    End,
}

/// Fetch and parse into `Value`, one page after the other. With `record`,
/// the URLs of the pages are kept (for the bytes-only loops to replay).
pub(crate) async fn value_sequential(
    client: &Client,
    listing: &Listing,
    mut record: Option<&mut Vec<Url>>,
) -> Res<Seen> {
    let mut seen = Seen::default();
    let mut marker: Option<String> = None;
    let mut start = 0u64;
    loop {
        let url = listing.page_url(marker.as_deref(), start);
        if let Some(urls) = record.as_deref_mut() {
            urls.push(url.clone());
        }
        let body = fetch(client, listing, url).await?;
        seen.pages += 1;
        seen.bytes += body.len() as u64;
        let page: Value = serde_json::from_slice(&body)?;
        let (n, next) = step(listing, &page, start)?;
        seen.images += n;
        match next {
            Next::Marker(m) => marker = Some(m),
            Next::Offset(s, _) => start = s,
            Next::End => return Ok(seen),
        }
    }
}

/// Where the concurrent Value loop leaves each parsed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Handed to the consuming task, in order, and dropped there (as
    /// imagecat hands its images to the consumer).
    HandedOver,
    /// Counted and dropped in the task that parsed it: nothing but the
    /// count crosses threads (the most favourable form of the loop).
    DroppedInTask,
}

/// Fetch and parse into `Value` with `depth` pages in flight (offset
/// paging): the first page alone, then the planned offsets, each fetched
/// and parsed in a spawned task, taken in order.
pub(crate) async fn value_concurrent(
    client: &Client,
    listing: &Listing,
    depth: usize,
    parsed: Parsed,
) -> Res<Seen> {
    let body = fetch(client, listing, listing.page_url(None, 0)).await?;
    let mut seen = Seen {
        pages: 1,
        images: 0,
        bytes: body.len() as u64,
    };
    let page: Value = serde_json::from_slice(&body)?;
    let (n, next) = step(listing, &page, 0)?;
    seen.images += n;
    let Next::Offset(from, total) = next else {
        return Ok(seen);
    };
    let offsets = (from..total).step_by(n.max(1) as usize);
    let mut pages = futures::stream::iter(offsets)
        .map(|start| {
            let client = client.clone();
            let listing = listing.clone();
            tokio::spawn(async move {
                let body = fetch(&client, &listing, listing.page_url(None, start)).await?;
                let page: Value = serde_json::from_slice(&body)?;
                Res::Ok(match parsed {
                    Parsed::HandedOver => (body.len() as u64, start, Ok(page)),
                    Parsed::DroppedInTask => {
                        let (n, _) = step(&listing, &page, start)?;
                        (body.len() as u64, start, Err(n))
                    }
                })
            })
        })
        .buffered(depth.max(1));
    while let Some(joined) = pages.next().await {
        let (bytes, start, page) = joined??;
        let n = match page {
            Ok(page) => step(listing, &page, start)?.0,
            Err(n) => n,
        };
        seen.pages += 1;
        seen.bytes += bytes;
        seen.images += n;
    }
    Ok(seen)
}

/// Fetch only: the recorded URLs, one after the other.
pub(crate) async fn bytes_sequential(
    client: &Client,
    listing: &Listing,
    urls: &[Url],
) -> Res<Seen> {
    let mut seen = Seen::default();
    for url in urls {
        let body = fetch(client, listing, url.clone()).await?;
        seen.pages += 1;
        seen.bytes += body.len() as u64;
    }
    Ok(seen)
}

/// Fetch only: the recorded URLs with `depth` in flight (spawned, in order).
pub(crate) async fn bytes_concurrent(
    client: &Client,
    listing: &Listing,
    urls: &[Url],
    depth: usize,
) -> Res<Seen> {
    let mut seen = Seen::default();
    let mut bodies = futures::stream::iter(urls.to_vec())
        .map(|url| {
            let client = client.clone();
            let listing = listing.clone();
            tokio::spawn(async move { fetch(&client, &listing, url).await })
        })
        .buffered(depth.max(1));
    while let Some(joined) = bodies.next().await {
        let body = joined??;
        seen.pages += 1;
        seen.bytes += body.len() as u64;
    }
    Ok(seen)
}

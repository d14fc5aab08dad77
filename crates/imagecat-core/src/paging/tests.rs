//! The engine's own tests (the backends' paging is tested against their
//! emulators, and by the conformance suite).

use std::sync::atomic::{AtomicBool, Ordering};

use futures::TryStreamExt;

use super::*;
use crate::ImageCatalog;
use crate::catalog::{Page, PageToken};
use crate::error::Result;
use crate::memory::InMemoryCatalog;
use crate::model::{BackendKind, Image, ImageId};
use crate::usage::UsageScope;

#[tokio::test]
async fn a_vanished_marker_resumes_from_the_image_before_it() {
    let cat = InMemoryCatalog::with_samples(10);
    let mut stream = cat.list(ListQuery::new().page_size(3));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(stream.try_next().await.unwrap().unwrap().id);
    }
    // The next marker is the third image; delete it and the second too.
    cat.remove(&got[2]).unwrap();
    cat.remove(&got[1]).unwrap();
    while let Some(image) = stream.try_next().await.unwrap() {
        got.push(image.id);
    }
    let want: Vec<_> = (0..10)
        .map(|i| ImageId::new(format!("img-{i:05}")))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn offset_read_ahead_keeps_order() {
    let cat = InMemoryCatalog::with_samples(103).offset_paging(true);
    let want: Vec<_> = cat.snapshot().into_iter().map(|i| i.id).collect();
    let got: Vec<_> = cat
        .list(ListQuery::new().page_size(5).include_deleted(true))
        .map_ok(|i| i.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, want);
}

/// An active memory image with this id.
fn active(id: &str) -> Image {
    Image::new(
        id.to_owned(),
        BackendKind::Memory,
        crate::ImageStatus::Active,
        "active",
    )
}

/// A marker catalog whose pages after a marker start with the marker
/// (as TOAST's docs say), and the limits it was asked for.
#[derive(Debug)]
struct Inclusive {
    ids: Vec<String>,
    limits: std::sync::Mutex<Vec<u32>>,
    rule: MarkerRule,
}

#[async_trait::async_trait]
impl PageSource for Inclusive {
    fn info(&self) -> crate::CatalogInfo {
        crate::CatalogInfo::new(
            BackendKind::Memory,
            "memory:",
            crate::Capabilities::new(crate::PagingStyle::Marker, 2, 10).marker(self.rule),
        )
    }

    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let limit = query.page_size.unwrap_or(2) as usize;
        self.limits.lock().unwrap().push(limit as u32);
        let start = match token {
            Some(PageToken::Marker(m)) => self.ids.iter().position(|i| *i == m).unwrap(),
            _ => 0,
        };
        let images: Vec<Image> = self.ids[start..]
            .iter()
            .take(limit)
            .map(|id| active(id))
            .collect();
        let next =
            (images.len() == limit).then(|| PageToken::Marker(images[limit - 1].id.to_string()));
        Ok(Page::new(images, next))
    }

    async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
        unreachable!()
    }
}

#[tokio::test]
async fn an_inclusive_marker_is_dropped_and_one_image_more_asked_for() {
    let ids: Vec<String> = "abcdefg".chars().map(String::from).collect();
    for (rule, page_size, want_limits) in [
        (MarkerRule::Detect, 2, vec![2, 2, 3, 3, 3]),
        (MarkerRule::Inclusive, 2, vec![2, 3, 3, 3]),
        // A page of 1 holds only the marker: asked again for 2.
        (MarkerRule::Detect, 1, vec![1, 1, 2, 2, 2, 2, 2, 2, 2]),
    ] {
        let source = Arc::new(Inclusive {
            ids: ids.clone(),
            limits: std::sync::Mutex::new(Vec::new()),
            rule,
        });
        let got: Vec<String> = paginate(
            Arc::clone(&source) as Arc<dyn PageSource>,
            ListQuery::new().page_size(page_size).include_deleted(true),
            PagingOptions::default(),
        )
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap();
        assert_eq!(got, ids, "{rule:?} {page_size}");
        assert_eq!(
            *source.limits.lock().unwrap(),
            want_limits,
            "{rule:?} {page_size}"
        );
    }
}

/// An offset catalog of pages of two that inserts `front` at its head right
/// after serving the page at offset `grow_at`; with `hold`, the page at
/// that offset is served only after it grew (read-ahead pages served out of
/// order while the catalog grows).
#[derive(Debug)]
struct Shifting {
    ids: std::sync::Mutex<Vec<String>>,
    grow_at: usize,
    front: Vec<String>,
    hold: Option<usize>,
    grown: tokio::sync::Notify,
    held: AtomicBool,
}

impl Shifting {
    fn new(ids: &[String], grow_at: usize, front: &[&str], hold: Option<usize>) -> Arc<Self> {
        Arc::new(Shifting {
            ids: std::sync::Mutex::new(ids.to_vec()),
            grow_at,
            front: front.iter().map(|s| (*s).to_owned()).collect(),
            hold,
            grown: tokio::sync::Notify::new(),
            held: AtomicBool::new(false),
        })
    }
}

#[async_trait::async_trait]
impl PageSource for Shifting {
    fn info(&self) -> crate::CatalogInfo {
        crate::CatalogInfo::new(
            BackendKind::Memory,
            "memory:",
            crate::Capabilities::new(crate::PagingStyle::Offset, 2, 2).reports_total(true),
        )
    }

    async fn page(&self, _: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        let start = match token {
            Some(PageToken::Offset(o)) => o as usize,
            _ => 0,
        };
        if self.hold == Some(start) && !self.held.swap(true, Ordering::SeqCst) {
            self.grown.notified().await;
        }
        let mut ids = self.ids.lock().unwrap();
        let images: Vec<Image> = ids
            .iter()
            .skip(start)
            .take(2)
            .map(|id| active(id))
            .collect();
        let total = ids.len() as u64;
        let end = (start + images.len()) as u64;
        if start == self.grow_at {
            ids.splice(0..0, self.front.iter().cloned());
            self.grown.notify_one();
        }
        let next = (end < total && !images.is_empty()).then_some(PageToken::Offset(end));
        Ok(Page::new(images, next).with_total(total))
    }

    async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
        unreachable!()
    }
}

/// The ids of every image `source` lists, with these options.
async fn ids_listed(source: Arc<dyn PageSource>, options: PagingOptions) -> Vec<String> {
    paginate(source, ListQuery::new().include_deleted(true), options)
        .map_ok(|i| i.id.to_string())
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn read_ahead_served_out_of_order_while_the_catalog_grows_skips_nothing() {
    let ids: Vec<String> = "abcdefgh".chars().map(String::from).collect();
    let source = Shifting::new(&ids, 4, &["new"], Some(2));
    let got = ids_listed(source, PagingOptions::default().read_ahead(4)).await;
    assert_eq!(got, ids);
}

#[tokio::test]
async fn a_repeated_offset_page_of_a_growing_catalog_is_skipped_not_an_error() {
    // A page of images at the front after the first page: the second page
    // repeats the first.
    let ids: Vec<String> = "abcdef".chars().map(String::from).collect();
    let source = Shifting::new(&ids, 0, &["new2", "new1"], None);
    let got = ids_listed(source, PagingOptions::default().read_ahead(1)).await;
    assert_eq!(got, ids);
}

#[tokio::test]
async fn the_catalogs_paging_options_reach_the_engine() {
    let cat = InMemoryCatalog::with_samples(10);
    let query = || ListQuery::new().page_size(3);
    let all: Vec<Image> = cat.list(query()).try_collect().await.unwrap();
    assert_eq!(all.len(), 10);
    // Four pages are needed; a ceiling of two ends the listing with an error.
    let capped = cat
        .clone()
        .paging_options(PagingOptions::default().max_pages(2));
    assert_eq!(capped.paging().max_pages, 2);
    let e = capped
        .list(query())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    // A source's builders keep the options (the catalog holds them).
    let still = capped.page_size(3);
    assert_eq!(still.paging().max_pages, 2);
    assert!(still.list(query()).try_collect::<Vec<_>>().await.is_err());
}

/// Instance pages that do not say what they could see.
#[derive(Debug, Clone)]
struct Unscoped;

#[async_trait::async_trait]
impl PageSource for Unscoped {
    fn info(&self) -> crate::CatalogInfo {
        crate::CatalogInfo::new(
            BackendKind::Memory,
            "memory:",
            crate::Capabilities::new(crate::PagingStyle::Marker, 5, 5)
                .usage(Some(UsageScope::AllTenants)),
        )
    }

    async fn page(&self, _: &ListQuery, _: Option<PageToken>) -> Result<Page> {
        Ok(Page::new(vec![], None))
    }

    async fn instance_page(
        &self,
        _: &InstanceQuery,
        _: Option<PageToken>,
    ) -> Result<Page<crate::InstanceRef>> {
        let one = crate::InstanceRef::booting("i-1", "running", "img-a".into());
        Ok(Page::new(vec![one], None))
    }

    async fn delete(&self, _: &ImageId) -> Result<crate::Deleted> {
        Ok(crate::Deleted::Deleted)
    }
}

#[tokio::test]
async fn an_instance_page_without_a_scope_counts_as_the_callers_own_tenant() {
    let mut listing = paginate(
        Arc::new(Unscoped),
        InstanceQuery::new(),
        PagingOptions::default(),
    );
    let mut ids = Vec::new();
    while let Some(instance) = listing.stream.try_next().await.unwrap() {
        ids.push(instance.id);
    }
    assert_eq!(ids, ["i-1"]);
    // Not the capabilities' AllTenants: a page that does not say proves
    // nothing about other tenants.
    assert_eq!(listing.scope(), Some(UsageScope::OwnTenant));
}

//! Usage through the trait: the in-memory catalog's instances, the engine's
//! rules on instance pages, and the scan's three answers.

use std::sync::Arc;

use futures::TryStreamExt;
use imagecat_core::raw::{Page, PageSource, PageToken};
use imagecat_core::usage::BootSource;
use imagecat_core::{
    BackendKind, Capabilities, CatalogInfo, Deleted, Error, ErrorKind, Image, ImageCatalog,
    ImageCatalogExt, ImageId, ImageStatus, ImageUsage, InMemoryCatalog, InstanceQuery, InstanceRef,
    ListQuery, PagingStyle, Result, UnknownReason, UsageScope, Visibility, async_trait,
};

fn image(id: &str, visibility: Visibility) -> Image {
    Image::new(id, BackendKind::Memory, ImageStatus::Active, "active").with_visibility(visibility)
}

fn seeded() -> InMemoryCatalog {
    let images = vec![
        image("img-a", Visibility::Private),
        image("img-b", Visibility::Private),
        image("img-c", Visibility::Public),
    ];
    InMemoryCatalog::from_images(images).with_instances(vec![
        InstanceRef::booting("i-1", "running", "img-a".into()).with_name("web"),
        InstanceRef::booting("i-2", "stopped", "img-a".into()),
        InstanceRef::booting("i-3", "running", "img-c".into()),
        InstanceRef::new("i-4", "running", BootSource::NoImage),
    ])
}

fn users(usage: &ImageUsage) -> Vec<String> {
    match usage {
        ImageUsage::InUse { instances } => {
            instances.iter().map(|u| u.instance_id.clone()).collect()
        }
        other => panic!("expected in use, got {other:?}"),
    }
}

#[tokio::test]
async fn instances_stream_every_page_through_the_engine() {
    let cat = seeded();
    let all: Vec<String> = cat
        .instances(InstanceQuery::new().page_size(1))
        .map_ok(|i| i.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["i-1", "i-2", "i-3", "i-4"]);
    // Four pages of one.
    assert_eq!(cat.requests(), 4);
    let of_a: Vec<String> = cat
        .instances(InstanceQuery::new().image("img-a"))
        .map_ok(|i| i.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(of_a, ["i-1", "i-2"]);
}

#[tokio::test]
async fn usage_of_answers_in_order_through_a_dyn_catalog() {
    let cat: Arc<dyn ImageCatalog> = Arc::new(seeded());
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let usage = cat.usage_of(&images).await;
    assert_eq!(users(&usage[0]), ["i-1", "i-2"]);
    assert_eq!(usage[1], ImageUsage::NotInUse);
    assert_eq!(users(&usage[2]), ["i-3"]);
    // One image: a filtered scan, the same answer.
    let one = cat.usage_of(&images[..1]).await;
    assert_eq!(users(&one[0]), ["i-1", "i-2"]);
}

#[tokio::test]
async fn a_scan_filtered_to_one_image_is_unknown_for_the_others() {
    let cat = seeded();
    let scan = cat.usage_scan(InstanceQuery::new().image("img-a")).await;
    assert_eq!(
        scan.usage_of(&image("img-a", Visibility::Private)).as_str(),
        "in_use"
    );
    assert_eq!(
        scan.usage_of(&image("img-b", Visibility::Private)),
        ImageUsage::Unknown {
            reason: UnknownReason::NotScanned {
                scanned: "img-a".into()
            }
        }
    );
}

#[tokio::test]
async fn a_catalog_without_instances_is_unknown_never_unused() {
    let cat = InMemoryCatalog::from_images(vec![image("img-a", Visibility::Private)]);
    assert_eq!(cat.info().capabilities.usage, None);
    let usage = cat.usage_of(&[image("img-a", Visibility::Private)]).await;
    assert!(
        matches!(
            &usage[0],
            ImageUsage::Unknown {
                reason: UnknownReason::NotSupported { .. }
            }
        ),
        "{usage:?}"
    );
    let e = cat
        .instances(InstanceQuery::new())
        .try_next()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    // Nothing was asked of the server.
    assert_eq!(cat.requests(), 0);
}

#[tokio::test]
async fn a_failing_instance_page_makes_unrecorded_images_unknown() {
    // The first page (i-1, i-2) succeeds, the second fails.
    let failing = FailSecond { inner: seeded() };
    let scan = imagecat_core::Catalog::new(failing)
        .usage_scan(InstanceQuery::new().page_size(2))
        .await;
    assert!(!scan.is_complete());
    assert_eq!(
        scan.usage_of(&image("img-a", Visibility::Private)).as_str(),
        "in_use"
    );
    match scan.usage_of(&image("img-b", Visibility::Private)) {
        ImageUsage::Unknown {
            reason: UnknownReason::ListingFailed { message },
        } => assert!(message.contains("second page"), "{message}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn an_own_tenant_scope_is_unknown_for_a_public_image() {
    let cat = seeded().usage_scope(Some(UsageScope::OwnTenant));
    let images = cat.collect(ListQuery::new()).await.unwrap();
    let usage = cat.usage_of(&images).await;
    assert_eq!(usage[1], ImageUsage::NotInUse, "private and unused");
    assert_eq!(users(&usage[2]), ["i-3"], "a recorded user is certain");
    let unused_public = image("img-d", Visibility::Public);
    assert_eq!(
        cat.usage_of(std::slice::from_ref(&unused_public)).await[0],
        ImageUsage::Unknown {
            reason: UnknownReason::OutOfScope {
                scope: UsageScope::OwnTenant
            }
        }
    );
}

/// The seeded memory catalog, whose second instance page fails.
#[derive(Debug, Clone)]
struct FailSecond {
    inner: InMemoryCatalog,
}

#[async_trait]
impl PageSource for FailSecond {
    fn info(&self) -> CatalogInfo {
        self.inner.info()
    }

    async fn page(&self, query: &ListQuery, token: Option<PageToken>) -> Result<Page> {
        self.inner.source().page(query, token).await
    }

    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        if token.is_some() {
            return Err(Error::new(ErrorKind::Timeout, "the second page timed out")
                .with_backend(BackendKind::Memory));
        }
        self.inner.source().instance_page(query, token).await
    }

    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.inner.delete(id).await
    }
}

/// Instance pages that lie: the page after the first repeats it (same
/// token), or reports a scope narrower than the capabilities.
#[derive(Debug, Clone, Copy)]
enum Liar {
    RepeatedToken,
    NoNewInstance,
    NarrowScope,
    Shrinking,
}

#[async_trait]
impl PageSource for Liar {
    fn info(&self) -> CatalogInfo {
        CatalogInfo::new(
            BackendKind::Memory,
            "memory:",
            Capabilities::new(PagingStyle::Offset, 2, 2).usage(Some(UsageScope::AllTenants)),
        )
    }

    async fn page(&self, _: &ListQuery, _: Option<PageToken>) -> Result<Page> {
        Ok(Page::new(vec![], None))
    }

    async fn instance_page(
        &self,
        _: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        let at = match token {
            Some(PageToken::Offset(o)) => o,
            _ => 0,
        };
        let one = |id: &str| InstanceRef::booting(id, "running", "img-a".into());
        Ok(match self {
            Liar::RepeatedToken => {
                Page::new(vec![one(&format!("i-{at}"))], Some(PageToken::Offset(1)))
                    .with_scope(UsageScope::AllTenants)
            }
            Liar::NoNewInstance => Page::new(vec![one("i-same")], Some(PageToken::Offset(at + 1)))
                .with_scope(UsageScope::AllTenants),
            Liar::NarrowScope => Page::new(vec![], None).with_scope(UsageScope::OwnTenant),
            // Four instances, then three: one not yet read ended.
            Liar::Shrinking => Page::new(
                vec![one(&format!("i-{at}")), one(&format!("i-{}", at + 1))],
                (at == 0).then_some(PageToken::Offset(2)),
            )
            .with_scope(UsageScope::AllTenants)
            .with_total(if at == 0 { 4 } else { 3 }),
        })
    }

    async fn delete(&self, _: &ImageId) -> Result<Deleted> {
        Ok(Deleted::Deleted)
    }
}

#[tokio::test]
async fn lying_instance_pages_end_with_a_paging_error_and_unknown() {
    for liar in [Liar::RepeatedToken, Liar::NoNewInstance] {
        let cat = imagecat_core::Catalog::new(liar);
        let e = cat
            .instances(InstanceQuery::new())
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{liar:?}: {e}");
        let scan = cat.usage_scan(InstanceQuery::new()).await;
        assert_eq!(
            scan.usage_of(&image("img-b", Visibility::Private)).as_str(),
            "unknown",
            "{liar:?}"
        );
    }
}

#[tokio::test]
async fn a_shrinking_listing_whose_overlapping_read_meets_the_page_before_is_complete() {
    // The second page is read one row early and still starts with i-1,
    // the last instance of the first page: the listing is contiguous, the
    // instance that ended had not been read, and nothing was skipped.
    // (Before the overlapping reads, any shrink made the scan unknown.)
    let cat = imagecat_core::Catalog::new(Liar::Shrinking);
    let scan = cat.usage_scan(InstanceQuery::new()).await;
    assert!(scan.is_complete());
    assert_eq!(
        scan.usage_of(&image("img-a", Visibility::Private)).as_str(),
        "in_use"
    );
    assert_eq!(
        scan.usage_of(&image("img-b", Visibility::Private)),
        ImageUsage::NotInUse
    );
}

#[tokio::test]
async fn the_narrowest_scope_any_page_reported_wins_even_with_no_instances() {
    let cat = imagecat_core::Catalog::new(Liar::NarrowScope);
    let listing = cat.instance_listing(InstanceQuery::new());
    assert_eq!(
        listing.scope(),
        None,
        "nothing fetched before the first poll"
    );
    let scan = cat.usage_scan(InstanceQuery::new()).await;
    assert_eq!(scan.scope(), UsageScope::OwnTenant);
    assert_eq!(
        scan.usage_of(&image("img-b", Visibility::Public)).as_str(),
        "unknown"
    );
}

/// The seeded memory catalog (own tenant) whose `audience` answers as
/// told, counting the questions.
#[derive(Debug)]
struct Audience {
    inner: InMemoryCatalog,
    answers: bool,
    answer: std::result::Result<Option<Visibility>, ErrorKind>,
    asked: std::sync::Mutex<Vec<ImageId>>,
}

impl Audience {
    fn new(answers: bool, answer: std::result::Result<Option<Visibility>, ErrorKind>) -> Self {
        Audience {
            inner: seeded().usage_scope(Some(UsageScope::OwnTenant)),
            answers,
            answer,
            asked: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn asked(&self) -> Vec<ImageId> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait]
impl ImageCatalog for Audience {
    fn info(&self) -> CatalogInfo {
        let mut info = self.inner.info();
        info.capabilities.audience = self.answers;
        info
    }
    fn list(&self, query: ListQuery) -> imagecat_core::ImageStream {
        self.inner.list(query)
    }
    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.inner.get(id).await
    }
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        self.inner.delete(id).await
    }
    fn instance_listing(&self, query: InstanceQuery) -> imagecat_core::InstanceListing {
        self.inner.instance_listing(query)
    }
    async fn audience(&self, image: &Image) -> Result<Option<Visibility>> {
        self.asked.lock().unwrap().push(image.id.clone());
        self.answer
            .map_err(|kind| Error::new(kind, "policy unreadable").with_backend(BackendKind::Memory))
    }
}

#[tokio::test]
async fn a_candidate_is_settled_by_the_audience_check_when_out_of_scope_or_unused() {
    let mut unknown_visibility = image("img-x", Visibility::Private);
    unknown_visibility.visibility = None;
    let used_public = image("img-c", Visibility::Public);
    let private = image("img-b", Visibility::Private);

    let proves_private = Audience::new(true, Ok(Some(Visibility::Private)));
    let scan = proves_private.usage_scan(InstanceQuery::new()).await;
    assert_eq!(
        proves_private
            .candidate_usage(&scan, &unknown_visibility)
            .await,
        ImageUsage::NotInUse
    );
    // in use: never asked; listed private and unused: asked as well (a
    // listing's visibility may not know the shares: EC2's isPublic=false)
    assert_eq!(
        users(&proves_private.candidate_usage(&scan, &used_public).await),
        ["i-3"]
    );
    assert_eq!(
        proves_private.candidate_usage(&scan, &private).await,
        ImageUsage::NotInUse
    );
    assert_eq!(
        proves_private.asked(),
        [ImageId::from("img-x"), ImageId::from("img-b")]
    );
    // usage_of (delete's check) goes through it too
    assert_eq!(
        proves_private
            .usage_of(std::slice::from_ref(&unknown_visibility))
            .await[0],
        ImageUsage::NotInUse
    );

    for (answer, want) in [
        (Ok(Some(Visibility::Shared)), "out_of_scope"),
        (Ok(Some(Visibility::Public)), "out_of_scope"),
        (Ok(None), "out_of_scope"),
        (Err(ErrorKind::PermissionDenied), "audience_unknown"),
    ] {
        let cat = Audience::new(true, answer);
        let scan = cat.usage_scan(InstanceQuery::new()).await;
        let usage = cat.candidate_usage(&scan, &unknown_visibility).await;
        let json = serde_json::to_value(&usage).unwrap();
        assert_eq!(json["usage"], "unknown", "{answer:?}: {json}");
        assert_eq!(json["reason"], want, "{answer:?}: {json}");
        assert_eq!(cat.asked().len(), 1);
        // a listed-private image the check does not prove private: the
        // scan's "unused" does not stand, not even when the check cannot
        // tell (the listing's word alone is no proof)
        let usage = cat.candidate_usage(&scan, &private).await;
        let json = serde_json::to_value(&usage).unwrap();
        assert_eq!(json["usage"], "unknown", "{answer:?}: {json}");
        let want = if answer == Ok(None) {
            "audience_unknown"
        } else {
            want
        };
        assert_eq!(json["reason"], want, "{answer:?}: {json}");
        assert_eq!(cat.asked().len(), 2);
    }

    // a catalog that does not declare the capability is never asked
    let silent = Audience::new(false, Ok(Some(Visibility::Private)));
    let scan = silent.usage_scan(InstanceQuery::new()).await;
    assert_eq!(
        silent
            .candidate_usage(&scan, &unknown_visibility)
            .await
            .as_str(),
        "unknown"
    );
    assert!(silent.asked().is_empty());
}

//! `delete ID…` runs its deletes concurrently, bounded by `--concurrency`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use imagecat::{
    BackendKind, CatalogInfo, Deleted, DynImageCatalog, Image, ImageCatalog, ImageCatalogExt,
    ImageId, ImageStatus, ImageStream, InMemoryCatalog, InstanceListing, InstanceQuery, ListQuery,
    NamedCatalog, Result, async_trait,
};

/// A catalog counting the deletes in flight, and the most seen at once.
#[derive(Debug)]
struct Counting {
    inner: InMemoryCatalog,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

#[async_trait]
impl ImageCatalog for Counting {
    fn info(&self) -> CatalogInfo {
        self.inner.info()
    }
    fn list(&self, query: ListQuery) -> ImageStream {
        self.inner.list(query)
    }
    fn instance_listing(&self, query: InstanceQuery) -> InstanceListing {
        self.inner.instance_listing(query)
    }
    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.inner.get(id).await
    }
    async fn delete(&self, id: &ImageId) -> Result<Deleted> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        // Hand the thread to the other workers, as a request in flight does.
        for _ in 0..32 {
            tokio::task::yield_now().await;
        }
        let done = self.inner.delete(id).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        done
    }
}

async fn run(concurrency: usize) -> (usize, usize) {
    let ids: Vec<String> = (0..7).map(|n| format!("img-{n}")).collect();
    let images = ids
        .iter()
        .map(|id| {
            Image::new(
                id.as_str(),
                BackendKind::Memory,
                ImageStatus::Active,
                "active",
            )
        })
        .collect();
    let counting = Arc::new(Counting {
        inner: InMemoryCatalog::from_images(images).with_instances(Vec::new()),
        in_flight: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
    });
    let catalog: DynImageCatalog = counting.clone();
    let named = [NamedCatalog::new("m".to_owned(), catalog)];
    super::delete(
        &named,
        &ids,
        true,
        false,
        false,
        concurrency,
        imagecat::DeleteOptions::default(),
    )
    .await
    .expect("every delete succeeds");
    let left = counting
        .inner
        .collect(ListQuery::new())
        .await
        .unwrap()
        .len();
    (counting.most.load(Ordering::SeqCst), left)
}

#[tokio::test(flavor = "current_thread")]
async fn deletes_run_concurrently_up_to_the_bound() {
    assert_eq!(run(4).await, (4, 0), "4 deletes in flight, none left");
    assert_eq!(run(1).await, (1, 0), "--concurrency 1 is sequential");
}

//! Conveniences over any [`ImageCatalog`], in the manner of object_store's
//! `ObjectStoreExt`: written once, available on every catalog.

use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;

use crate::catalog::ImageCatalog;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Image, ImageId, ImageStatus};
use crate::query::ListQuery;

/// Conveniences implemented for every [`ImageCatalog`] (blanket impl).
#[async_trait]
pub trait ImageCatalogExt: ImageCatalog {
    /// Every image matching the query, collected into a vector.
    async fn collect(&self, query: ListQuery) -> Result<Vec<Image>> {
        self.list(query).try_collect().await
    }

    /// The one image whose name matches (exactly, or as a glob): `NotFound`
    /// when none does, `Ambiguous` listing the candidates when several do.
    async fn find_by_name(&self, name: &str) -> Result<Image> {
        let backend = self.info().backend;
        let mut matches = self.collect(ListQuery::new().name(name)).await?;
        match matches.len() {
            0 => Err(Error::NotFound {
                backend,
                code: None,
                message: format!("no image named {name:?}"),
            }),
            1 => Ok(matches.remove(0)),
            _ => Err(Error::Ambiguous {
                backend,
                name: name.to_owned(),
                candidates: matches.into_iter().map(|i| i.id).collect(),
            }),
        }
    }

    /// The newest image (by `created_at`; images without one rank last)
    /// among those matching the query, or `NotFound`.
    async fn latest(&self, query: ListQuery) -> Result<Image> {
        let backend = self.info().backend;
        let newest = self
            .list(query)
            .try_fold(None::<Image>, |best, image| async move {
                Ok(match best {
                    Some(b) if b.created_at >= image.created_at => Some(b),
                    _ => Some(image),
                })
            })
            .await?;
        newest.ok_or_else(|| Error::NotFound {
            backend,
            code: None,
            message: "no image matches the query".to_owned(),
        })
    }

    /// Polls `get` (0.5 s, doubling up to 10 s) until the image has `status`,
    /// or fails with `Timeout` once `timeout` has passed. Waiting for
    /// `Deleted` on a backend that removes images ends with `NotFound`; an image that
    /// turns `Failed` while waiting for something else ends the wait with an
    /// `Api` error.
    async fn wait_for_status(
        &self,
        id: &ImageId,
        status: ImageStatus,
        timeout: Duration,
    ) -> Result<Image> {
        let backend = self.info().backend;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(500);
        loop {
            match self.get(id).await {
                Ok(image) if image.status == status => return Ok(image),
                Ok(image) if image.status == ImageStatus::Failed => {
                    return Err(Error::Api {
                        backend,
                        status: None,
                        code: "failed".to_owned(),
                        message: format!(
                            "image {id} turned {} (native {}) while waiting for {status}",
                            image.status, image.native_status
                        ),
                    });
                }
                Ok(image) => {
                    tracing::debug!(%id, status = %image.status, "waiting for status {status}");
                }
                Err(e) if e.kind() == ErrorKind::NotFound && status == ImageStatus::Deleted => {
                    return Err(e);
                }
                Err(e) if e.is_retryable() => tracing::debug!(%id, error = %e, "retrying"),
                Err(e) => return Err(e),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::Timeout {
                    backend,
                    message: format!(
                        "image {id} did not reach status {status} within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

impl<T: ImageCatalog + ?Sized> ImageCatalogExt for T {}

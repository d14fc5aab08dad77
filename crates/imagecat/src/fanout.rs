//! Fan-out: list several catalogs at once, each image tagged with its
//! catalog's name; one catalog's failure is reported without hiding the
//! others' images.

use futures::stream::{BoxStream, StreamExt};
use imagecat_core::{DynImageCatalog, Error, Image, ListQuery};

/// A catalog with the name it is known by (a config name or its URL).
#[derive(Debug, Clone)]
pub struct NamedCatalog {
    /// The name.
    pub name: String,
    /// The catalog.
    pub catalog: DynImageCatalog,
}

impl NamedCatalog {
    /// Names a catalog.
    pub fn new(name: impl Into<String>, catalog: DynImageCatalog) -> Self {
        NamedCatalog {
            name: name.into(),
            catalog,
        }
    }
}

/// An image and the name of the catalog it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedImage {
    /// The catalog's name.
    pub catalog: String,
    /// The image.
    pub image: Image,
}

/// A catalog's failure during a fan-out; the other catalogs go on.
#[derive(Debug, thiserror::Error)]
#[error("catalog {catalog}: {error}")]
pub struct CatalogError {
    /// The catalog's name.
    pub catalog: String,
    /// What went wrong.
    #[source]
    pub error: Error,
}

/// Lists every catalog concurrently with the same query. Images come
/// tagged with their catalog, interleaved as they arrive (each catalog's
/// own order is kept); a failing catalog yields one `Err` and ends, the
/// others go on. `query.limit` applies to each catalog.
pub fn list_all(
    catalogs: &[NamedCatalog],
    query: &ListQuery,
) -> BoxStream<'static, Result<TaggedImage, CatalogError>> {
    let streams = catalogs.iter().map(|named| {
        let name = named.name.clone();
        named
            .catalog
            .list(query.clone())
            .map(move |item| match item {
                Ok(image) => Ok(TaggedImage {
                    catalog: name.clone(),
                    image,
                }),
                Err(error) => Err(CatalogError {
                    catalog: name.clone(),
                    error,
                }),
            })
            .boxed()
    });
    futures::stream::select_all(streams).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::{BackendKind, InMemoryCatalog};
    use std::sync::Arc;

    #[tokio::test]
    async fn one_failure_does_not_hide_the_others() {
        let good = InMemoryCatalog::with_samples(30);
        let bad = InMemoryCatalog::with_samples(30);
        bad.fail_next(1, || {
            Error::new(imagecat_core::ErrorKind::Unauthenticated, "no")
                .with_backend(BackendKind::Memory)
        });
        let items: Vec<_> = list_all(
            &[
                NamedCatalog::new("good", Arc::new(good)),
                NamedCatalog::new("bad", Arc::new(bad)),
            ],
            &ListQuery::new(),
        )
        .collect()
        .await;
        let ok = items
            .iter()
            .filter(|i| matches!(i, Ok(t) if t.catalog == "good"))
            .count();
        let errs: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
        assert_eq!(ok, 30);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].catalog, "bad");
    }
}

//! Conveniences over any [`ImageCatalog`], in the manner of object_store's
//! `ObjectStoreExt`: written once, available on every catalog.

use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use std::collections::BTreeMap;

use crate::catalog::{ImageCatalog, InstanceQuery};
use crate::error::{Error, ErrorKind, Result};
use crate::family::{GroupBy, family_key, family_of};
use crate::model::{Image, ImageId, ImageStatus};
use crate::query::{ListQuery, Sort, SortKey};
use crate::usage::{ImageUsage, ScanLimits, UnknownReason, UsageScan};

/// Conveniences implemented for every [`ImageCatalog`] (blanket impl).
#[async_trait]
pub trait ImageCatalogExt: ImageCatalog {
    /// Walks the whole instance listing, right now, into a [`UsageScan`].
    /// Never fails: a catalog that cannot list instances, or a page that
    /// fails, makes every answer not already certain unknown. The scope is
    /// the narrowest the capabilities or any page reported; a scan filtered
    /// to one image answers unknown for every other.
    async fn usage_scan(&self, query: InstanceQuery) -> UsageScan {
        self.usage_scan_with(query, ScanLimits::default()).await
    }

    /// [`usage_scan`](Self::usage_scan) with these limits. A walk whose
    /// pages contradict each other ([`InstanceListing::verdict`](crate::InstanceListing::verdict))
    /// starts a fresh walk; when none within the limits comes out
    /// consistent, every image not seen in use in any walk is unknown
    /// ([`UnknownReason::InconsistentListing`]). An image seen in use in
    /// any walk stays in use.
    async fn usage_scan_with(&self, query: InstanceQuery, limits: ScanLimits) -> UsageScan {
        let info = self.info();
        let Some(expected) = info.capabilities.usage else {
            return UsageScan::unavailable(UnknownReason::NotSupported {
                message: format!("this {} catalog cannot list instances", info.backend),
            });
        };
        let started = std::time::Instant::now();
        let mut earlier: Option<UsageScan> = None;
        let mut walks = 0u32;
        loop {
            walks += 1;
            let mut listing = self.instance_listing(query.clone());
            let mut scan = UsageScan::new(expected).with_ids(info.capabilities.ids);
            let mut failed = false;
            while let Some(item) = listing.stream.next().await {
                match item {
                    Ok(instance) => scan.record(instance),
                    Err(e) => {
                        scan.fail(&e);
                        failed = true;
                        break;
                    }
                }
            }
            if let Some(scope) = listing.scope() {
                scan.narrow(scope);
            }
            if let Some(image) = &query.image {
                scan.restrict_to(image.clone());
            }
            let verdict = if failed { None } else { listing.verdict() };
            let Some(detail) = verdict else {
                if !failed {
                    scan.finish();
                }
                if let Some(earlier) = &earlier {
                    scan.absorb(earlier);
                }
                return scan;
            };
            tracing::debug!(backend = %info.backend, walks, %detail, "the instance listing contradicted itself; walking it again");
            match &mut earlier {
                Some(all) => all.absorb(&scan),
                None => earlier = Some(scan),
            }
            if walks >= limits.max_walks.max(1) || started.elapsed() >= limits.max_time {
                let mut all = earlier
                    .unwrap_or_else(|| UsageScan::new(expected).with_ids(info.capabilities.ids));
                all.inconsistent(walks, detail);
                return all;
            }
        }
    }

    /// The usage of each image, in order, from one fresh scan (filtered to
    /// the image when there is only one), each settled as a delete
    /// candidate ([`candidate_usage`](Self::candidate_usage)): these are
    /// the images a caller asks about by id, not a whole catalog.
    async fn usage_of(&self, images: &[Image]) -> Vec<ImageUsage> {
        let query = match images {
            [one] => InstanceQuery::new().image(one.id.clone()),
            _ => InstanceQuery::new(),
        };
        let scan = self.usage_scan(query).await;
        let mut answers = Vec::with_capacity(images.len());
        for image in images {
            answers.push(self.candidate_usage(&scan, image).await);
        }
        answers
    }

    /// The usage of one delete candidate: the scan's answer, except where
    /// that is unknown only because the scan sees the caller's own tenant
    /// and the image is not known to be private
    /// ([`UnknownReason::OutOfScope`]). Then a catalog that can tell
    /// ([`Capabilities::audience`](crate::Capabilities::audience)) is asked
    /// who else may use the image ([`ImageCatalog::audience`]), and the
    /// scan answers again for the visibility it proves: a private image
    /// nobody in the scan uses is unused, a shared one stays unknown. A
    /// check that fails, or cannot tell, leaves the answer unknown (the
    /// failure named). Asked for candidates only, one request each, never
    /// for a whole catalog.
    ///
    /// A catalog that declares the check is asked as well when the scan
    /// calls the image unused: its listing's visibility may not say who the
    /// image is shared with (EC2's `isPublic=false` covers both a private
    /// AMI and one shared with other accounts), so "unused" stands only
    /// once the check proves the image private (a check that cannot tell
    /// leaves it unknown).
    async fn candidate_usage(&self, scan: &UsageScan, image: &Image) -> ImageUsage {
        let usage = scan.usage_of(image);
        let out_of_scope = matches!(
            usage,
            ImageUsage::Unknown {
                reason: UnknownReason::OutOfScope { .. }
            }
        );
        let unused = matches!(usage, ImageUsage::NotInUse);
        if !(out_of_scope || unused) || !self.info().capabilities.audience {
            return usage;
        }
        match self.audience(image).await {
            Ok(Some(visibility)) => {
                let mut seen = image.clone();
                seen.visibility = Some(visibility);
                scan.usage_of(&seen)
            }
            // Cannot tell: an unknown answer stays unknown, and a scan's
            // "unused" does not stand on the listing's word alone (when in
            // doubt, keep the image).
            Ok(None) if unused => ImageUsage::Unknown {
                reason: UnknownReason::AudienceUnknown {
                    message:
                        "the catalog could not tell who besides its own tenant may use this image"
                            .into(),
                },
            },
            Ok(None) => usage,
            Err(e) => ImageUsage::Unknown {
                reason: UnknownReason::AudienceUnknown {
                    message: e.to_string(),
                },
            },
        }
    }

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
            0 => Err(
                Error::new(ErrorKind::NotFound, format!("no image named {name:?}"))
                    .with_backend(backend),
            ),
            1 => Ok(matches.remove(0)),
            _ => {
                let ids: Vec<ImageId> = matches.into_iter().map(|i| i.id).collect();
                Err(Error::ambiguous(backend, name, &ids))
            }
        }
    }

    /// Every image matching the query, in the query's [`Sort`] order (none:
    /// the server's order). The listing is collected first, then sorted on
    /// the client (stable, so ties keep the server's order): memory grows
    /// with the number of matching images, about one [`Image`] each (a
    /// few hundred bytes plus its native record). Where the server sorts
    /// by the key ([`Capabilities::streams_sorted`](crate::Capabilities::streams_sorted)),
    /// `list` streams in order without holding the listing.
    async fn collect_sorted(&self, query: ListQuery) -> Result<Vec<Image>> {
        let sort = query.sort;
        let mut images = self.collect(query).await?;
        if let Some(sort) = sort {
            images.sort_by(|a, b| sort.compare(a, b));
        }
        Ok(images)
    }

    /// The newest image (by `created_at`; images without one rank last)
    /// among those matching the query, or `NotFound`. Where the server
    /// sorts by creation time this asks for newest-first and stops at the
    /// first match (one request when it is on the first page); elsewhere
    /// it walks the listing, holding one image.
    async fn latest(&self, mut query: ListQuery) -> Result<Image> {
        let info = self.info();
        let backend = info.backend;
        if info
            .capabilities
            .server_filters
            .sort
            .supports(SortKey::Created)
        {
            query.sort = Some(Sort::desc(SortKey::Created));
            query.limit = Some(1);
        }
        let newest = self
            .list(query)
            .try_fold(None::<Image>, |best, image| async move {
                Ok(newer(best, image))
            })
            .await?;
        newest.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "no image matches the query").with_backend(backend)
        })
    }

    /// The newest image of each family (see [`crate::family`]) among
    /// those matching the query, sorted by family; an image without a
    /// family is a family of its own. One listing; memory grows with the
    /// number of families.
    async fn latest_per_family(
        &self,
        query: ListQuery,
        group: &GroupBy,
    ) -> Result<Vec<(String, Image)>> {
        // By key (a plain name never joins a family captured from others),
        // shown by family.
        let mut families: BTreeMap<String, (String, Image)> = BTreeMap::new();
        let mut loners: Vec<(String, Image)> = Vec::new();
        let mut stream = self.list(query);
        while let Some(image) = stream.try_next().await? {
            match family_key(group, &image).zip(family_of(group, &image)) {
                Some((key, family)) => {
                    let best = families.remove(&key).map(|(_, best)| best);
                    if let Some(best) = newer(best, image) {
                        families.insert(key, (family, best));
                    }
                }
                None => loners.push((
                    image.name.clone().unwrap_or_else(|| image.id.to_string()),
                    image,
                )),
            }
        }
        let mut all: Vec<(String, Image)> = families.into_values().chain(loners).collect();
        all.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(all)
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
                    return Err(Error::new(
                        ErrorKind::Api,
                        format!(
                            "image {id} turned {} (native {}) while waiting for {status}",
                            image.status, image.native_status
                        ),
                    )
                    .with_backend(backend)
                    .with_code("failed".to_owned()));
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
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "image {id} did not reach status {status} within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                )
                .with_backend(backend));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

impl<T: ImageCatalog + ?Sized> ImageCatalogExt for T {}

/// The newer of the best so far and a candidate; the first seen wins a tie.
fn newer(best: Option<Image>, image: Image) -> Option<Image> {
    match best {
        Some(b) if b.created_at.is_some() && b.created_at >= image.created_at => Some(b),
        Some(b) if b.created_at.is_none() && image.created_at.is_none() => Some(b),
        _ => Some(image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{InMemoryCatalog, sample_image};
    use crate::model::{BackendKind, ImageId};
    use std::time::Duration;

    fn named(id: &str, name: &str, hour: i64) -> Image {
        let epoch = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
            .with_name(name)
            .with_created_at(epoch + chrono::Duration::hours(hour))
    }

    #[tokio::test]
    async fn find_by_name_is_unique_missing_or_ambiguous() {
        let cat = InMemoryCatalog::from_images(vec![
            named("a", "web-1", 1),
            named("b", "web-2", 2),
            named("c", "db-1", 3),
        ]);
        assert_eq!(
            cat.find_by_name("db-1").await.unwrap().id,
            ImageId::new("c")
        );
        let missing = cat.find_by_name("cache").await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let ambiguous = cat.find_by_name("web-*").await.unwrap_err();
        assert_eq!(ambiguous.kind(), ErrorKind::Ambiguous, "{ambiguous}");
        assert_eq!(ambiguous.context_value(Error::NAME), Some("web-*"));
        assert_eq!(ambiguous.context_value(Error::CANDIDATES), Some("a, b"));
    }

    #[tokio::test]
    async fn latest_is_the_newest_match_and_images_without_a_date_rank_last() {
        let mut undated = named("z", "web-9", 0);
        undated.created_at = None;
        let cat = InMemoryCatalog::from_images(vec![
            named("a", "web-1", 5),
            undated,
            named("b", "web-2", 9),
            named("c", "db-1", 20),
        ]);
        let newest = cat.latest(ListQuery::new().name("web-*")).await.unwrap();
        assert_eq!(newest.id, ImageId::new("b"));
        let none = cat.latest(ListQuery::new().name("nope")).await.unwrap_err();
        assert_eq!(none.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn latest_per_family_matches_a_hand_computation() {
        let cat = InMemoryCatalog::from_images(vec![
            named("a", "ubuntu-20240101", 1),
            named("b", "ubuntu-20240301", 3),
            named("c", "ubuntu-20240201", 2),
            named("d", "centos-20230101", 5),
            named("e", "custom", 0),
            named("f", "centos-20220101", 4),
        ]);
        let group = GroupBy::regex(r"^(.+)-\d{8}$").unwrap();
        let got = cat
            .latest_per_family(ListQuery::new(), &group)
            .await
            .unwrap();
        let got: Vec<(&str, &str)> = got
            .iter()
            .map(|(f, i)| (f.as_str(), i.id.as_str()))
            .collect();
        assert_eq!(got, [("centos", "d"), ("custom", "e"), ("ubuntu", "b")]);
        let by_prop = cat
            .latest_per_family(
                ListQuery::new().name("ubuntu-*"),
                &GroupBy::property("os").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(by_prop.len(), 3, "no property: each image on its own");
    }

    #[tokio::test]
    async fn collect_sorted_sorts_on_the_client() {
        let cat = InMemoryCatalog::from_images(vec![
            named("a", "b-name", 5),
            named("b", "a-name", 9),
            named("c", "c-name", 1),
        ]);
        let ids = |v: Vec<Image>| v.into_iter().map(|i| i.id.to_string()).collect::<Vec<_>>();
        let by_created = cat
            .collect_sorted(ListQuery::new().sort(Sort::desc(SortKey::Created)))
            .await
            .unwrap();
        assert_eq!(ids(by_created), ["b", "a", "c"]);
        let by_name = cat
            .collect_sorted(ListQuery::new().sort(Sort::asc(SortKey::Name)))
            .await
            .unwrap();
        assert_eq!(ids(by_name), ["b", "a", "c"]);
        let by_name_desc = cat
            .collect_sorted(ListQuery::new().sort(Sort::desc(SortKey::Name)))
            .await
            .unwrap();
        assert_eq!(ids(by_name_desc), ["c", "a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_status_polls_until_the_status_or_the_deadline() {
        let mut saving = sample_image(1);
        saving.status = ImageStatus::Saving;
        let cat = InMemoryCatalog::from_images(vec![saving.clone()]);
        let writer = cat.clone();
        // The image turns active after 3 s of (virtual) time.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let mut active = saving;
            active.status = ImageStatus::Active;
            writer.insert(active);
        });
        let id = ImageId::new("img-00001");
        let image = cat
            .wait_for_status(&id, ImageStatus::Active, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(image.status, ImageStatus::Active);

        let timeout = cat
            .wait_for_status(&id, ImageStatus::Deleted, Duration::from_secs(20))
            .await
            .unwrap_err();
        assert_eq!(timeout.kind(), ErrorKind::Timeout);
        assert!(
            timeout.to_string().contains("did not reach status deleted"),
            "{timeout}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_status_stops_when_the_image_fails() {
        let mut failed = sample_image(2);
        failed.status = ImageStatus::Failed;
        failed.native_status = "killed".into();
        let cat = InMemoryCatalog::from_images(vec![failed]);
        let e = cat
            .wait_for_status(
                &ImageId::new("img-00002"),
                ImageStatus::Active,
                Duration::from_secs(60),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.to_string().contains("killed"), "{e}");
    }
}

//! The conformance fixture over [`InMemoryCatalog`].

use std::collections::HashMap;
use std::sync::Arc;

use imagecat_core::{
    Image, ImageId, ImageStatus, InMemoryCatalog, InstanceRef, ListQuery, UsageScope, sample_image,
};

use crate::conformance::usage::UsageFixture;
use crate::conformance::{AfterDelete, Fixture, SecondDelete};

/// A fixture over an in-memory catalog of 40 sample images plus one with an
/// unknown status and one deleted, with soft or hard delete and offset or
/// marker paging.
pub fn memory_fixture(offset_paging: bool, soft_delete: bool) -> Fixture {
    let mut images: Vec<Image> = (0..40).map(sample_image).collect();
    let mut odd = sample_image(40);
    odd.status = ImageStatus::Unknown("frozen".into());
    odd.native_status = "frozen".into();
    images.push(odd);
    let mut gone = sample_image(41);
    gone.status = ImageStatus::Deleted;
    gone.native_status = "deleted".into();
    images.push(gone);
    let query = ListQuery::new();
    let expected = images
        .iter()
        .filter(|i| query.matches(i))
        .map(|i| i.id.clone())
        .collect();
    let catalog = InMemoryCatalog::from_images(images.clone())
        .offset_paging(offset_paging)
        .soft_delete(soft_delete)
        .page_size(10);
    let lying = InMemoryCatalog::from_images(images).offset_paging(offset_paging);
    lying.repeat_token(true);
    let counter = catalog.clone();
    Fixture {
        catalog: Arc::new(catalog),
        requests: Arc::new(move || counter.requests()),
        expected,
        deletable: vec![ImageId::new("img-00001"), ImageId::new("img-00002")],
        missing: ImageId::new("img-99999"),
        invalid: vec![
            ImageId::new(""),
            ImageId::new("../etc"),
            ImageId::new("a?b=c"),
        ],
        unknown_status: Some((ImageId::new("img-00040"), "frozen".into())),
        after_delete: if soft_delete {
            AfterDelete::ShownAsDeleted
        } else {
            AfterDelete::NotFound
        },
        second_delete: if soft_delete {
            SecondDelete::AlreadyDeleted
        } else {
            SecondDelete::NotFound
        },
        lying: Some(Arc::new(lying)),
        secrets: Vec::new(),
    }
}

/// A usage fixture over an in-memory catalog of 12 sample images and six
/// instances over three of them (pages of 2, so the listing takes pages).
pub fn memory_usage_fixture(scope: UsageScope) -> UsageFixture {
    let images: Vec<Image> = (0..12).map(sample_image).collect();
    let instances: Vec<InstanceRef> = (0..6)
        .map(|k| InstanceRef::booting(format!("i-{k}"), "running", images[k % 3].id.clone()))
        .collect();
    let mut users: HashMap<ImageId, Vec<String>> = HashMap::new();
    for i in &instances {
        if let Some(image) = i.image_id() {
            users.entry(image.clone()).or_default().push(i.id.clone());
        }
    }
    let catalog = InMemoryCatalog::from_images(images)
        .page_size(2)
        .with_instances(instances.clone())
        .usage_scope(Some(scope));
    let failing = catalog.clone();
    let counter = catalog.clone();
    UsageFixture {
        catalog: Arc::new(catalog),
        instances: instances.into_iter().map(|i| i.id).collect(),
        users,
        scope,
        fail_next_page: Arc::new(move || {
            failing.fail_next(1, || {
                imagecat_core::Error::new(imagecat_core::ErrorKind::Timeout, "injected")
                    .with_backend(imagecat_core::BackendKind::Memory)
            })
        }),
        instance_requests: Arc::new(move || counter.requests()),
    }
}

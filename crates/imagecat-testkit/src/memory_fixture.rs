//! The conformance fixture over [`InMemoryCatalog`].

use std::sync::Arc;

use imagecat_core::{Image, ImageId, ImageStatus, InMemoryCatalog, ListQuery, sample_image};

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

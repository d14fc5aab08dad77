//! The pagination engine against pages no honest server sends: a marker id
//! of 1 MB is never sent back.

use futures::StreamExt;
use imagecat_core::{
    BackendKind, ErrorKind, Image, ImageCatalog, ImageStatus, ListQuery, MAX_TOKEN_BYTES,
};
use imagecat_core::{InMemoryCatalog, sample_image};

#[tokio::test]
async fn a_one_megabyte_marker_ends_the_listing_with_an_error_not_a_request() {
    for len in [MAX_TOKEN_BYTES, 1024 * 1024] {
        let big = Image::new(
            "m".repeat(len),
            BackendKind::Memory,
            ImageStatus::Active,
            "active",
        );
        let catalog = InMemoryCatalog::from_images(vec![sample_image(0), big, sample_image(2)]);
        let got: Vec<_> = catalog
            .list(ListQuery::new().page_size(2).include_deleted(true))
            .collect()
            .await;
        if len == MAX_TOKEN_BYTES {
            // At the limit: sent, and the listing completes.
            assert_eq!(got.len(), 3, "{len}");
            assert!(got.iter().all(Result::is_ok));
            continue;
        }
        // Like every page the engine refuses, the page ends the listing.
        assert_eq!(got.len(), 1, "the error, and nothing after it");
        let error = got[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{error}");
        let shown = error.to_string();
        assert!(shown.contains(&format!("{len} bytes")), "{shown}");
        assert!(shown.len() < 400, "the error does not quote the id");
        assert_eq!(catalog.requests(), 1, "the 1 MB marker was never sent");
    }
}

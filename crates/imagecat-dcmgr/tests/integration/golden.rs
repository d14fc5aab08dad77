//! Golden-image queries against the DCMGR emulator: `created_since`/
//! `created_until` and `sort_by` sent on 12.03 (asserted on the request
//! log) and re-checked, a sorted stream across pages, and the legacy
//! layout, where the engine filters and `collect_sorted` sorts.

use imagecat_core::{
    ErrorKind, Image, ImageCatalog, ImageCatalogExt, ImageId, ListQuery, Sort, SortKey,
};
use imagecat_emulators::dcmgr::{DcmgrEmulatorConfig, Layout};
use imagecat_testkit::listing::listed_ids;

fn hand(all: &[Image], q: &ListQuery) -> Vec<ImageId> {
    all.iter()
        .filter(|i| q.matches(i))
        .map(|i| i.id.clone())
        .collect()
}

#[tokio::test]
async fn dates_and_sort_are_sent_on_1203_and_rechecked() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::v1203().images(40)).await;
    let cat = crate::common::catalog(&emu, None);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    let mut created: Vec<_> = all.iter().filter_map(|i| i.created_at).collect();
    created.sort();
    let (low, high) = (created[10], created[30]);
    for q in [
        ListQuery::new().created_before(high),
        ListQuery::new().created_after(low),
        ListQuery::new().created_after(low).created_before(high),
    ] {
        emu.server().clear_requests();
        let got = listed_ids(&cat, q.clone()).await.unwrap();
        let want = hand(&all, &q);
        assert!(!want.is_empty() && want.len() < all.len());
        assert_eq!(got, want, "{q:?}");
        let sent = emu.server().requests()[0].query.clone().unwrap_or_default();
        if q.created_after.is_some() {
            assert!(sent.contains("created_since="), "{sent}");
        }
        if q.created_before.is_some() {
            assert!(sent.contains("created_until="), "{sent}");
        }
    }
    for sort in [Sort::asc(SortKey::Name), Sort::desc(SortKey::Created)] {
        emu.server().clear_requests();
        let q = ListQuery::new().sort(sort).page_size(7);
        assert!(cat.info().capabilities.streams_sorted(&q));
        let streamed = cat.collect(q).await.unwrap();
        assert!(sort.is_sorted(&streamed), "{sort}");
        assert_eq!(streamed.len(), all.len());
        let requests = emu.server().requests();
        assert!(requests.len() > 2);
        let column = if sort.key == SortKey::Name {
            "display_name"
        } else {
            "created_at"
        };
        assert!(requests.iter().all(|r| {
            r.query
                .as_deref()
                .unwrap_or_default()
                .contains(&format!("sort_by={column}."))
        }));
    }
}

#[tokio::test]
async fn legacy_layout_filters_and_sorts_on_the_client_and_has_no_tags() {
    let emu = crate::common::emulator(DcmgrEmulatorConfig::legacy().images(25)).await;
    let cat = crate::common::catalog(&emu, Some(emu.own_account()));
    assert_eq!(emu.config().layout, Layout::Legacy);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    let mut created: Vec<_> = all.iter().filter_map(|i| i.created_at).collect();
    created.sort();
    let q = ListQuery::new().created_before(created[12]);
    let got = listed_ids(&cat, q.clone()).await.unwrap();
    assert_eq!(got, hand(&all, &q));
    let sort = Sort::asc(SortKey::Name);
    assert!(
        !cat.info()
            .capabilities
            .streams_sorted(&ListQuery::new().sort(sort))
    );
    let sorted = cat
        .collect_sorted(ListQuery::new().sort(sort))
        .await
        .unwrap();
    assert!(sort.is_sorted(&sorted) && sorted.len() == all.len());
    let before = emu.server().request_count();
    let e = cat
        .collect(ListQuery::new().tag("golden"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    assert!(e.to_string().contains("dcmgr"), "{e}");
    assert_eq!(emu.server().request_count(), before, "nothing sent");
}

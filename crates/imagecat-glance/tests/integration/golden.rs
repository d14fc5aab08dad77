//! Golden-image queries against the Glance emulator: date, tag and property
//! filters sent to the server (asserted on the request log) and re-checked,
//! a server-sorted stream across pages, `latest` in one request, newest per
//! family, and a diff of two catalogs.

use crate::support::TOKEN;
use futures::TryStreamExt;
use imagecat_core::chrono::{DateTime, Utc};
use imagecat_core::diff::{DiffBy, DiffKind, diff_catalogs};
use imagecat_core::family::GroupBy;
use imagecat_core::{
    Image, ImageCatalog, ImageCatalogExt, ImageId, ImageStatus, ListQuery, Sort, SortKey,
};
use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig, GlanceImage};
use imagecat_emulators::server::ServeOptions;
use imagecat_glance::GlanceCatalog;
use imagecat_http::SecretString;

async fn emulator(images: u64) -> GlanceEmulator {
    let config = GlanceEmulatorConfig::default()
        .images(images)
        .token(Some(TOKEN.into()));
    GlanceEmulator::start(config, ServeOptions::default())
        .await
        .expect("the emulator starts")
}

fn catalog(emu: &GlanceEmulator) -> GlanceCatalog {
    GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(SecretString::new(TOKEN))
        .build()
        .expect("the catalog builds")
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

/// Three extra images with tags, properties and known times.
fn tagged(emu: &GlanceEmulator) {
    for (n, tags, distro) in [
        (1, vec!["golden", "lts"], "ubuntu"),
        (2, vec!["golden"], "debian"),
        (3, vec![], "ubuntu"),
    ] {
        let mut image = GlanceImage::new(
            format!("7a9e0000-0000-4000-8000-00000000000{n}"),
            format!("tagged-{n}"),
        );
        image.created_at = at(n * 100);
        image.updated_at = at(n * 100 + 5);
        image.tags = tags.into_iter().map(str::to_owned).collect();
        image
            .properties
            .insert("os_distro".to_owned(), distro.to_owned());
        emu.insert(image);
    }
}

async fn ids(cat: &GlanceCatalog, q: ListQuery) -> Vec<ImageId> {
    cat.list(q).map_ok(|i| i.id).try_collect().await.unwrap()
}

fn hand(all: &[Image], q: &ListQuery) -> Vec<ImageId> {
    all.iter()
        .filter(|i| q.matches(i))
        .map(|i| i.id.clone())
        .collect()
}

fn last_query(emu: &GlanceEmulator) -> String {
    let q = emu.server().requests().last().unwrap().query.clone();
    q.unwrap_or_default()
}

#[tokio::test]
async fn date_tag_and_property_filters_are_sent_and_rechecked() {
    let emu = emulator(30).await;
    tagged(&emu);
    let cat = catalog(&emu);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    let cases = [
        (ListQuery::new().created_before(at(250)), "created_at=lt%3A"),
        (ListQuery::new().created_after(at(150)), "created_at=gt%3A"),
        (ListQuery::new().updated_after(at(105)), "updated_at=gt%3A"),
        (
            ListQuery::new().tag("golden").tag("lts"),
            "tag=golden&tag=lts",
        ),
        (
            ListQuery::new().property("os_distro", "ubuntu"),
            "os_distro=ubuntu",
        ),
        (
            ListQuery::new().created_before(at(10_000)).tag("golden"),
            "tag=golden",
        ),
    ];
    for (q, sent) in cases {
        let want = hand(&all, &q);
        assert!(!want.is_empty() && want.len() < all.len(), "{q:?} selects");
        assert_eq!(ids(&cat, q.clone()).await, want, "{q:?}");
        assert!(
            last_query(&emu).contains(sent),
            "{sent} in {}",
            last_query(&emu)
        );
    }
    // Both bounds: one goes to the server, the engine checks the other.
    let q = ListQuery::new()
        .created_after(at(50))
        .created_before(at(250));
    assert_eq!(
        ids(&cat, q.clone()).await,
        [
            ImageId::new("7a9e0000-0000-4000-8000-000000000002"),
            ImageId::new("7a9e0000-0000-4000-8000-000000000001")
        ]
    );
    assert!(!last_query(&emu).contains("created_at=lt"));
}

#[tokio::test]
async fn a_server_sorted_listing_streams_in_order_across_pages() {
    let emu = emulator(23).await;
    tagged(&emu);
    let cat = catalog(&emu);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    for sort in [Sort::asc(SortKey::Updated), Sort::asc(SortKey::Created)] {
        emu.server().clear_requests();
        let got = cat
            .collect(ListQuery::new().sort(sort).page_size(4))
            .await
            .unwrap();
        let mut want = all.clone();
        want.sort_by(|a, b| sort.compare(a, b));
        let key = |v: &[Image]| -> Vec<ImageId> { v.iter().map(|i| i.id.clone()).collect() };
        assert_eq!(key(&got), key(&want), "{sort}");
        let requests = emu.server().requests();
        assert!(requests.len() > 3, "several pages");
        let field = if sort.key == SortKey::Updated {
            "updated_at"
        } else {
            "created_at"
        };
        for r in requests {
            assert!(
                r.query
                    .unwrap_or_default()
                    .contains(&format!("sort_key={field}")),
                "{sort}"
            );
        }
    }
}

#[tokio::test]
async fn latest_costs_one_request_and_is_the_newest() {
    let emu = emulator(250).await;
    let cat = catalog(&emu);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    let q = ListQuery::new().status(ImageStatus::Active);
    let want = all
        .iter()
        .filter(|i| q.matches(i))
        .max_by_key(|i| i.created_at)
        .unwrap()
        .id
        .clone();
    emu.server().clear_requests();
    let newest = cat.latest(q).await.unwrap();
    assert_eq!(newest.id, want);
    let requests = emu.server().requests();
    assert_eq!(requests.len(), 1, "one request");
    let sent = requests[0].query.clone().unwrap_or_default();
    assert!(sent.contains("sort_key=created_at&sort_dir=desc"), "{sent}");
}

#[tokio::test]
async fn newest_per_family_matches_a_hand_computation() {
    let emu = emulator(40).await;
    let cat = catalog(&emu);
    let all = cat.collect(ListQuery::new()).await.unwrap();
    let group = GroupBy::property("os_distro").unwrap();
    let got = cat
        .latest_per_family(ListQuery::new().status(ImageStatus::Active), &group)
        .await
        .unwrap();
    let mut want = std::collections::BTreeMap::new();
    for i in all.iter().filter(|i| i.status == ImageStatus::Active) {
        let family = i.properties["os_distro"].to_string();
        let best = want.entry(family).or_insert_with(|| i.clone());
        if i.created_at > best.created_at {
            *best = i.clone();
        }
    }
    let got: Vec<(String, ImageId)> = got.into_iter().map(|(f, i)| (f, i.id)).collect();
    let want: Vec<(String, ImageId)> = want.into_iter().map(|(f, i)| (f, i.id)).collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn a_diff_reports_exactly_the_missing_extra_and_changed_images() {
    let (a, b) = (emulator(12).await, emulator(12).await);
    let gone = b.seeded_image(2);
    let changed = b.seeded_image(5);
    assert!(b.delete(&gone.id));
    assert!(b.update(&changed.id, |i| i.checksum = Some("0".repeat(32))));
    b.insert(GlanceImage::new(
        "7a9e0000-0000-4000-8000-0000000000ff",
        "only-in-b",
    ));
    let d = diff_catalogs(&catalog(&a), &catalog(&b), &ListQuery::new(), DiffBy::Name)
        .await
        .unwrap();
    let got: Vec<(DiffKind, Option<&str>)> =
        d.iter().map(|d| (d.kind, d.name.as_deref())).collect();
    assert_eq!(
        got,
        [
            (DiffKind::Missing, gone.name.as_deref()),
            (DiffKind::Changed, changed.name.as_deref()),
            (DiffKind::Extra, Some("only-in-b")),
        ]
    );
    assert_eq!(d[1].b[0].checksum.as_deref(), Some("0".repeat(32).as_str()));
    assert_eq!(d[1].a[0].checksum, changed.checksum);
    assert!(d[1].a[0].os_hash_value.is_some(), "the multihash is kept");
    let same = diff_catalogs(
        &catalog(&a),
        &catalog(&a),
        &ListQuery::new(),
        DiffBy::NameChecksum,
    )
    .await
    .unwrap();
    assert!(same.is_empty());
}

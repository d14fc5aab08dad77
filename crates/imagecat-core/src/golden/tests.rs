use super::*;
use crate::memory::InMemoryCatalog;
use crate::model::{BackendKind, ImageStatus};

const FAMILY: &str = r"^(.+)-\d{8}$";

/// An image `family-date` built at hour `hour`, with checksum, property
/// and tag all naming the build `build`.
fn img(id: &str, family: &str, date: &str, hour: i64, build: &str) -> Image {
    let epoch = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
        .with_name(format!("{family}-{date}"))
        .with_created_at(epoch + chrono::Duration::hours(hour))
        .with_checksum(format!("SUM-{build}"))
        .with_property("build_version", build)
        .with_tag(format!("v{build}"))
        .with_tag("golden")
}

/// Three catalogs: `ubuntu` current in A, stale in B, missing from C;
/// `centos` current everywhere; `custom` only in A (extra).
fn three() -> Vec<(&'static str, Vec<Image>)> {
    vec![
        (
            "a",
            vec![
                img("a1", "ubuntu", "20260301", 30, "3"),
                img("a0", "ubuntu", "20260201", 20, "2"),
                img("a2", "centos", "20260101", 10, "7"),
                img("a3", "custom", "20260101", 5, "1"),
            ],
        ),
        (
            "b",
            vec![
                img("b1", "ubuntu", "20260201", 21, "2"),
                img("b2", "centos", "20260101", 11, "7"),
            ],
        ),
        ("c", vec![img("c2", "centos", "20260101", 12, "7")]),
    ]
}

fn matrix(catalogs: Vec<(&str, Vec<Image>)>, by: &str) -> GoldenMatrix {
    let group = GroupBy::regex(FAMILY).unwrap();
    let listed: Vec<CatalogFamilies> = catalogs
        .into_iter()
        .map(|(name, images)| CatalogFamilies::from_images(name, &group, images))
        .collect();
    golden_matrix(&listed, &group, &by.parse().unwrap())
}

fn states(m: &GoldenMatrix) -> Vec<(String, Vec<&'static str>)> {
    m.families
        .iter()
        .map(|f| {
            (
                f.family.clone(),
                f.cells.iter().map(|c| c.state.as_str()).collect(),
            )
        })
        .collect()
}

fn want(rows: &[(&str, [&'static str; 3])]) -> Vec<(String, Vec<&'static str>)> {
    rows.iter()
        .map(|(f, s)| ((*f).to_owned(), s.to_vec()))
        .collect()
}

#[test]
fn current_stale_missing_and_extra_by_every_key() {
    let expected = want(&[
        ("centos", ["current", "current", "current"]),
        ("custom", ["extra", "missing", "missing"]),
        ("ubuntu", ["current", "stale", "missing"]),
    ]);
    for by in ["name", "checksum", "property:build_version", "tag:v*"] {
        let m = matrix(three(), by);
        assert_eq!(states(&m), expected, "--by {by}");
        let ubuntu = &m.families[2];
        assert_eq!(ubuntu.state, FamilyState::Drift);
        assert_eq!(ubuntu.newest.catalog, "a");
        assert_eq!(ubuntu.newest.image.id.as_str(), "a1");
        assert_eq!(ubuntu.cells[1].image.as_ref().unwrap().id.as_str(), "b1");
        assert_eq!(m.families[0].state, FamilyState::Consistent);
        let c = m.counts();
        assert_eq!(
            (c.current, c.stale, c.missing, c.extra, c.unknown),
            (4, 1, 3, 1, 0),
            "--by {by}"
        );
        assert!(!m.is_consistent());
    }
    let m = matrix(three(), "checksum");
    assert_eq!(
        m.families[2].newest.image.build.as_deref(),
        Some("sum-3"),
        "checksums compare in lower case"
    );
    let m = matrix(three(), "tag:v*");
    assert_eq!(m.families[2].newest.image.build.as_deref(), Some("v3"));
}

#[test]
fn the_newest_build_is_the_newest_image_anywhere_not_the_first_catalog() {
    // B holds the newest ubuntu: A's becomes stale.
    let mut catalogs = three();
    catalogs[1].1.push(img("b9", "ubuntu", "20260401", 40, "4"));
    let m = matrix(catalogs, "property:build_version");
    let ubuntu = &m.families[2];
    assert_eq!(ubuntu.newest.catalog, "b");
    assert_eq!(ubuntu.newest.image.build.as_deref(), Some("4"));
    let cells: Vec<&str> = ubuntu.cells.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(cells, ["stale", "current", "missing"]);
}

#[test]
fn same_build_everywhere_is_consistent() {
    let same = |name: &'static str, hour| (name, vec![img("x", "ubuntu", "20260301", hour, "3")]);
    for by in ["name", "checksum", "property:build_version", "tag:v*"] {
        let m = matrix(vec![same("a", 1), same("b", 2), same("c", 3)], by);
        assert!(m.is_consistent(), "--by {by}: {m:?}");
        assert_eq!(m.counts().current, 3);
    }
}

#[test]
fn unknown_builds_are_said_never_equal() {
    // B's ubuntu has no checksum and no property: unknown, not current.
    let mut catalogs = three();
    let b = &mut catalogs[1].1[0];
    b.checksum = None;
    b.properties = Default::default();
    b.name = Some("ubuntu-20260301".into());
    for by in ["checksum", "property:build_version"] {
        let m = matrix(catalogs.clone(), by);
        let cells: Vec<&str> = m.families[2]
            .cells
            .iter()
            .map(|c| c.state.as_str())
            .collect();
        assert_eq!(cells, ["current", "unknown", "missing"], "--by {by}");
        assert_eq!(m.families[2].cells[1].image.as_ref().unwrap().build, None);
    }
    // By name it is the same build as A's.
    let m = matrix(catalogs.clone(), "name");
    assert_eq!(m.families[2].cells[1].state, CellState::Current);

    // Two unknowns are not equal either, and an unknown newest build makes
    // every cell unknown: the family is unknown, not consistent.
    let nosum = |catalog: &'static str, hour| {
        let mut i = img("n", "rocky", "20260101", hour, "1");
        i.checksum = None;
        (catalog, vec![i])
    };
    let m = matrix(
        vec![nosum("a", 1), nosum("b", 2), nosum("c", 3)],
        "checksum",
    );
    assert_eq!(
        states(&m),
        want(&[("rocky", ["unknown", "unknown", "unknown"])])
    );
    assert_eq!(m.families[0].state, FamilyState::Unknown);
    assert!(!m.is_consistent());
    // A known build older than an unknown newest is unknown too.
    let mut cats = vec![nosum("a", 1), nosum("b", 5), nosum("c", 3)];
    cats[0].1[0].checksum = Some("aa".into());
    let m = matrix(cats, "checksum");
    assert_eq!(
        states(&m),
        want(&[("rocky", ["unknown", "unknown", "unknown"])])
    );
    // No tag matching the glob is unknown.
    let m = matrix(three(), "tag:release-*");
    assert_eq!(m.counts().unknown, 5);
    assert_eq!(m.counts().current, 0);
}

#[test]
fn equal_times_with_other_builds_show_drift() {
    let at = |catalog: &'static str, build| (catalog, vec![img("t", "web", "20260101", 1, build)]);
    let m = matrix(vec![at("a", "1"), at("b", "2"), at("c", "1")], "checksum");
    assert_eq!(states(&m), want(&[("web", ["stale", "current", "stale"])]));
    assert_eq!(m.families[0].state, FamilyState::Drift);
}

#[test]
fn images_without_a_family_are_counted_not_shown() {
    let group = GroupBy::property("build_version").unwrap();
    let mut bare = img("z", "x", "20260101", 1, "1");
    bare.properties = Default::default();
    let a =
        CatalogFamilies::from_images("a", &group, vec![bare, img("y", "y", "20260101", 1, "9")]);
    let b = CatalogFamilies::from_images("b", &group, Vec::new());
    let m = golden_matrix(&[a, b], &group, &BuildKey::Name);
    assert_eq!(m.catalogs[0].images, 2);
    assert_eq!(m.catalogs[0].ungrouped, 1);
    assert_eq!(states_of(&m), [("9", vec!["extra", "missing"])]);
}

fn states_of(m: &GoldenMatrix) -> Vec<(&str, Vec<&str>)> {
    m.families
        .iter()
        .map(|f| {
            (
                f.family.as_str(),
                f.cells.iter().map(|c| c.state.as_str()).collect(),
            )
        })
        .collect()
}

#[test]
fn one_catalog_has_nothing_extra() {
    let m = matrix(vec![three().remove(0)], "name");
    assert!(m.is_consistent(), "{m:?}");
}

#[test]
fn build_keys_parse_print_and_refuse() {
    for text in [
        "name",
        "checksum",
        "property:build_version",
        "tag:v*",
        "tag:golden",
    ] {
        let key: BuildKey = text.parse().unwrap();
        assert_eq!(key.to_string(), text);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<BuildKey>(&json).unwrap(), key);
    }
    for bad in ["", "size", "property:", "tag:", "name+checksum", "prop:x"] {
        assert!(bad.parse::<BuildKey>().is_err(), "{bad:?}");
    }
}

#[test]
fn json_has_stable_field_names() {
    let m = matrix(three(), "property:build_version");
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["by"], "property:build_version");
    assert_eq!(v["group"], format!("regex:{FAMILY}"));
    assert_eq!(v["catalogs"][0]["name"], "a");
    assert_eq!(v["catalogs"][0]["images"], 4);
    assert_eq!(v["catalogs"][0]["ungrouped"], 0);
    let ubuntu = &v["families"][2];
    assert_eq!(ubuntu["family"], "ubuntu");
    assert_eq!(ubuntu["state"], "drift");
    assert_eq!(ubuntu["newest"]["catalog"], "a");
    assert_eq!(ubuntu["newest"]["image"]["build"], "3");
    assert_eq!(ubuntu["cells"][1]["catalog"], "b");
    assert_eq!(ubuntu["cells"][1]["state"], "stale");
    assert_eq!(ubuntu["cells"][1]["image"]["id"], "b1");
    assert_eq!(ubuntu["cells"][1]["image"]["name"], "ubuntu-20260201");
    assert!(ubuntu["cells"][1]["image"]["created_at"].is_string());
    assert!(ubuntu["cells"][2]["image"].is_null());
    let back: GoldenMatrix = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
}

#[tokio::test]
async fn catalogs_are_listed_with_the_query() {
    let cats: Vec<InMemoryCatalog> = three()
        .into_iter()
        .map(|(_, images)| InMemoryCatalog::from_images(images))
        .collect();
    let named: Vec<(&str, &dyn ImageCatalog)> =
        vec![("a", &cats[0]), ("b", &cats[1]), ("c", &cats[2])];
    let group = GroupBy::regex(FAMILY).unwrap();
    let (m, failures) = golden_catalogs(&named, &ListQuery::new(), &group, &BuildKey::Name).await;
    assert!(failures.is_empty());
    assert_eq!(
        states(&m),
        want(&[
            ("centos", ["current", "current", "current"]),
            ("custom", ["extra", "missing", "missing"]),
            ("ubuntu", ["current", "stale", "missing"]),
        ])
    );
    let only = ListQuery::new().name("ubuntu-*");
    let (m, _) = golden_catalogs(&named, &only, &group, &BuildKey::Name).await;
    assert_eq!(
        states(&m),
        want(&[("ubuntu", ["current", "stale", "missing"])])
    );
}

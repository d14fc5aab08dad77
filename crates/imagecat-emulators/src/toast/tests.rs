//! Unit tests of the TOAST emulator's model.

use super::*;

fn emu(images: usize, seed: u64) -> Emu {
    Emu {
        ids: IdScheme::new(seed),
        config: ToastEmulatorConfig {
            images,
            seed,
            ..ToastEmulatorConfig::default()
        },
        state: Mutex::new(Store::default()),
        image_requests: Counter::default(),
        stale_markers: AtomicU64::new(0),
    }
}

#[test]
fn ids_are_uuids_that_map_back_to_their_index() {
    for seed in [0, 1, 42, u64::MAX] {
        let ids = IdScheme::new(seed);
        for index in [0, 1, 7, 49, 1_000_000, MAX_SEEDED - 1] {
            let id = ids.id(index);
            assert!(is_uuid(&id), "{id}");
            assert_eq!(ids.index_of(&id), Some(index));
        }
        assert_eq!(ids.index_of("not-an-id"), None);
        assert_eq!(ids.index_of(&IdScheme::new(seed ^ 1).id(3)), None);
    }
    assert_ne!(IdScheme::new(0).id(0), IdScheme::new(1).id(0));
}

#[test]
fn seeded_keys_strictly_decrease() {
    let e = emu(10, 0);
    for i in 0..1000 {
        assert!(e.seeded_key(i) > e.seeded_key(i + 1));
    }
}

#[test]
fn pages_merge_the_overlay_in_order_and_skip_deletions() {
    let e = emu(10, 3);
    let mut state = Store::default();
    state.deleted.insert(2);
    let mut img = ToastImage::new("00000000-0000-4000-8000-000000000000", "x");
    img.created_at = at_micros(seeded_micros(4) - 1);
    state.inserted.push(img);
    let ids: Vec<String> = e
        .page(&state, &Start::First, usize::MAX)
        .iter()
        .map(|r| e.row_id(r))
        .collect();
    let mut want: Vec<String> = [0, 1, 3, 4].iter().map(|&i| e.ids.id(i)).collect();
    want.push("00000000-0000-4000-8000-000000000000".into());
    want.extend((5..10).map(|i| e.ids.id(i)));
    assert_eq!(ids, want);
    // A page after the inserted marker, both modes.
    let (key, seeded) = e.key_of(&state, &want[4]).unwrap();
    assert_eq!(seeded, None);
    for inclusive in [false, true] {
        let start = Start::Marker {
            key: key.clone(),
            seeded,
            inclusive,
        };
        let page: Vec<String> = e
            .page(&state, &start, 2)
            .iter()
            .map(|r| e.row_id(r))
            .collect();
        let from = if inclusive { 4 } else { 5 };
        assert_eq!(page, want[from..from + 2]);
    }
}

#[test]
fn seeded_images_serialise_as_the_v1_documents() {
    let e = emu(50, 0);
    let name = Seeded::new(0, 3).name();
    let blank = serde_json::to_value(seeded_wire(&e.ids, 0, 3, false, &name)).unwrap();
    assert_eq!(blank["status"], "queued");
    // As Glance v1's reserve sample: null name and disk format, size 0,
    // updated when created.
    for field in ["name", "diskFormat"] {
        assert!(blank[field].is_null(), "{field}: {blank}");
    }
    assert_eq!(blank["size"], 0);
    assert_eq!(blank["updatedAt"], blank["createdAt"]);
    let name = Seeded::new(0, 0).name();
    let public = serde_json::to_value(seeded_wire(&e.ids, 0, 0, true, &name)).unwrap();
    assert_eq!(public["isPublic"], "true");
    assert_eq!(public["protected"], "true");
    assert_eq!(public["createdAt"], "2024-06-01T00:00:00.000000");
    assert_eq!(public["properties"]["description"], public["name"]);
    let image = e.seeded_image(0);
    assert_eq!(image.properties["os_architecture"], "x86_64");
    assert_eq!(image.name.as_deref(), public["name"].as_str());
    assert_eq!(
        Stamp(seeded_micros(1)).to_string(),
        "2024-05-31T23:58:58.999877"
    );
}

#[test]
fn query_values_are_percent_encoded() {
    assert_eq!(encode_query_value("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    assert_eq!(encode_query_value("emulator-appkey"), "emulator-appkey");
}

//! Unit tests of the DCMGR emulator's codec, model and documents.

use super::*;

#[test]
fn ids_round_trip_and_are_distinct() {
    for seed in [0, 1, 42, u64::MAX] {
        let codec = IdCodec::new(seed);
        let mut seen = HashSet::new();
        for i in (0..5000u32).chain([1_000_000, u32::MAX]) {
            let id = codec.encode(i);
            assert_eq!(id.len(), 12, "{id}");
            assert_eq!(codec.decode(&id), Some(u64::from(i)), "{id}");
            assert!(seen.insert(id));
        }
    }
}

#[test]
fn ruby_integers() {
    assert_eq!(ruby_to_i("12abc"), 12);
    assert_eq!(ruby_to_i("abc"), 0);
    assert_eq!(ruby_to_i("-5"), -5);
    assert_eq!(ruby_to_i(""), 0);
    assert_eq!(digits("007"), Some(7));
    assert_eq!(digits("99999999999999999999999"), Some(u64::MAX));
    assert_eq!(digits("-1"), None);
    assert_eq!(digits("1.5"), None);
    assert_eq!(digits(""), None);
}

#[test]
fn percent_decoding() {
    assert_eq!(decode_segment("wmi-a%3Fx%3D1"), "wmi-a?x=1");
    assert_eq!(decode_segment("a+b%2"), "a+b%2");
    assert_eq!(decode_segment("%"), "%");
    let uri: Uri = "/images?a=1&b=x+y%2&a=2".parse().unwrap();
    let params = query_params(&uri);
    assert_eq!(
        params.get("a").map(String::as_str),
        Some("2"),
        "the last wins"
    );
    assert_eq!(params.get("b").map(String::as_str), Some("x y%2"));
}

#[test]
fn timestamps_print_like_the_server() {
    let t = DateTime::from_timestamp(1_428_476_780, 0).unwrap();
    assert_eq!(
        serde_json::to_string(&Ts(t, false)).unwrap(),
        "\"2015-04-08T07:06:20Z\""
    );
    assert_eq!(
        serde_json::to_string(&Ts(t, true)).unwrap(),
        "\"2015-04-08 07:06:20 UTC\""
    );
}

fn keys() -> Vec<ScopeKey> {
    let mut keys = Vec::new();
    for account in [
        None,
        Some("a-shpoolxx".to_owned()),
        Some("a-tenant0b".to_owned()),
    ] {
        for public in [None, Some(true), Some(false)] {
            for state in [
                StateFilter::Any,
                StateFilter::Alive,
                StateFilter::AliveWithDeleted,
                StateFilter::Available,
                StateFilter::Deleted,
            ] {
                keys.push(ScopeKey {
                    account: account.clone(),
                    public,
                    state,
                });
            }
        }
    }
    keys
}

#[tokio::test]
async fn cached_scopes_follow_changes() {
    for layout in [Layout::V1203, Layout::Legacy] {
        let config = DcmgrEmulatorConfig {
            layout,
            images: 200,
            ..DcmgrEmulatorConfig::default()
        };
        let emu = DcmgrEmulator::start(config, ServeOptions::default())
            .await
            .unwrap();
        let warm = |emu: &DcmgrEmulator| {
            let mut data = emu.inner.lock();
            for key in keys() {
                emu.inner.scope(&mut data, key);
            }
        };
        warm(&emu);
        let all = emu.listing(None, true);
        assert!(emu.soft_delete(&all[3]));
        assert!(emu.soft_delete(&all[3]));
        assert!(emu.remove(&all[10]));
        assert!(emu.set_state(&all[20], "deleted"));
        assert!(emu.set_state(&all[199], "available"));
        let mut public = emu.image(&all[30]).unwrap();
        public.is_public = !public.is_public;
        public.account_id = "a-tenant0b".into();
        emu.insert(public);
        emu.insert(EmulatedImage::new("wmi-fresh1", "a-shpoolxx"));
        warm(&emu);
        emu.insert(EmulatedImage::new("wmi-fresh2", "a-tenant0b"));
        assert!(emu.remove("wmi-fresh1"));
        let cached: Vec<_> = {
            let data = emu.inner.lock();
            keys()
                .into_iter()
                .map(|k| (k.clone(), data.scopes[&k].clone()))
                .collect()
        };
        emu.inner.lock().scopes.clear();
        let mut data = emu.inner.lock();
        for (key, list) in cached {
            let fresh = emu.inner.scope(&mut data, key.clone());
            assert_eq!(list, fresh, "{layout:?} {key:?}");
        }
    }
}

#[tokio::test]
async fn seeded_data_covers_every_case() {
    let emu = DcmgrEmulator::start(DcmgrEmulatorConfig::default(), ServeOptions::default())
        .await
        .unwrap();
    assert_eq!(emu.len(), 60);
    let all = emu.listing(None, true);
    assert_eq!(all.len(), 60);
    assert_eq!(all[59], "wmi-centos1d64");
    assert_eq!(all[58], "wmi-lbnode1d64");
    for state in ["init", "pending", "creating", "available", "deleted"] {
        assert!(!emu.ids_in_state(state).is_empty(), "{state}");
    }
    let images: Vec<_> = all.iter().map(|id| emu.image(id).unwrap()).collect();
    assert!(
        images
            .iter()
            .any(|i| i.account_id != "a-shpoolxx" && i.is_public)
    );
    assert!(
        images
            .iter()
            .any(|i| i.account_id != "a-shpoolxx" && !i.is_public)
    );
    assert!(
        images
            .iter()
            .all(|i| (i.state == "deleted") == i.deleted_at.is_some())
    );
    assert!(emu.image(&emu.missing_id()).is_none());
    // Every generated id maps back to its image.
    for image in &images {
        assert_eq!(emu.image(&image.id).as_ref(), Some(image));
    }
    // The same seed gives the same data.
    let again = DcmgrEmulator::start(DcmgrEmulatorConfig::default(), ServeOptions::default())
        .await
        .unwrap();
    assert_eq!(again.listing(None, true), all);
}

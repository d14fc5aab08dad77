//! The usage scan against a simulated instance set that churns between
//! page reads (launches, terminations, shifts across the cursor, empty
//! pages, duplicates), for every paging style: offset with a total,
//! marker exclusive, marker inclusive, next link. The scan must answer the
//! exact truth or unknown, and never "not in use" for an image that an
//! instance used during the whole scan.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use imagecat_core::raw::{Page, PageSource, PageToken};
use imagecat_core::{
    BackendKind, Capabilities, CatalogInfo, Deleted, Image, ImageCatalogExt, ImageId, ImageStatus,
    ImageUsage, InstanceQuery, InstanceRef, ListQuery, PagingOptions, PagingStyle, Result,
    ScanLimits, UnknownReason, UsageScope, Visibility, async_trait,
};
use proptest::prelude::*;

/// The paging styles our backends use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// DCMGR: `start`/`limit` with a total.
    OffsetTotal,
    /// Nova, Glance: the page after the marker starts after it.
    MarkerExclusive,
    /// TOAST servers that repeat the marker at the head of the next page.
    MarkerInclusive,
    /// A server-given next link (carrying a marker).
    NextLink,
}

/// What happens just before one page is served.
#[derive(Debug, Clone)]
enum Event {
    /// An instance of `image` is launched at sort key `key`.
    Launch { key: u16, image: u8 },
    /// The `pick`-th live instance (modulo their number) is terminated.
    Terminate { pick: u16 },
    /// One instance before the cursor is terminated and one is launched
    /// after the last one: the total stays, the listing shifts by one.
    Shift { pick: u16, image: u8 },
    /// This page comes back empty and ends the listing (with the total).
    EmptyPage,
    /// This page repeats the first instance served.
    Duplicate,
}

#[derive(Debug, Default)]
struct World {
    /// Live instances by sort key: (id, image).
    live: BTreeMap<u32, (String, u8)>,
    /// Every instance that ever existed: id -> image.
    ever: BTreeMap<String, u8>,
    /// Ids terminated during the scan.
    terminated: Vec<String>,
    /// The events before each page read, in order.
    script: Vec<Vec<Event>>,
    calls: usize,
    /// The sort key of the last instance served (the cursor).
    cursor: Option<u32>,
    first_served: Option<InstanceRef>,
    next_key: u32,
}

impl World {
    fn launch(&mut self, key: u16, image: u8) {
        self.next_key += 1;
        // Unique keys whose order follows `key`.
        let key = (u32::from(key) << 12) | (self.next_key & 0xfff);
        let id = format!("i-{key:08x}");
        self.ever.insert(id.clone(), image);
        self.live.insert(key, (id, image));
    }

    fn terminate_key(&mut self, key: u32) {
        if let Some((id, _)) = self.live.remove(&key) {
            self.terminated.push(id);
        }
    }

    fn apply(&mut self, event: &Event, offset_cursor: Option<u64>) {
        match *event {
            Event::Launch { key, image } => self.launch(key, image),
            Event::Terminate { pick } => {
                if let Some(&key) = self
                    .live
                    .keys()
                    .nth(usize::from(pick) % self.live.len().max(1))
                {
                    self.terminate_key(key);
                }
            }
            Event::Shift { pick, image } => {
                let before: Vec<u32> = match (offset_cursor, self.cursor) {
                    (Some(at), _) => self.live.keys().take(at as usize).copied().collect(),
                    (None, Some(c)) => self.live.range(..=c).map(|(k, _)| *k).collect(),
                    (None, None) => vec![],
                };
                if let Some(&key) = before.get(usize::from(pick) % before.len().max(1)) {
                    self.terminate_key(key);
                    self.launch(u16::MAX, image);
                }
            }
            Event::EmptyPage | Event::Duplicate => {}
        }
    }
}

#[derive(Debug, Clone)]
struct Model {
    style: Style,
    world: Arc<Mutex<World>>,
}

fn instance(id: &str, image: u8) -> InstanceRef {
    InstanceRef::booting(id, "running", ImageId::new(format!("img-{image}")))
}

#[async_trait]
impl PageSource for Model {
    fn info(&self) -> CatalogInfo {
        let paging = match self.style {
            Style::OffsetTotal => PagingStyle::Offset,
            _ => PagingStyle::Marker,
        };
        CatalogInfo::new(
            BackendKind::Memory,
            "memory:",
            Capabilities::new(paging, 3, 100)
                .reports_total(self.style == Style::OffsetTotal)
                .usage(Some(UsageScope::AllTenants)),
        )
    }

    async fn page(&self, _: &ListQuery, _: Option<PageToken>) -> Result<Page> {
        Ok(Page::new(vec![], None))
    }

    async fn delete(&self, _: &ImageId) -> Result<Deleted> {
        Ok(Deleted::Deleted)
    }

    async fn instance_page(
        &self,
        query: &InstanceQuery,
        token: Option<PageToken>,
    ) -> Result<Page<InstanceRef>> {
        let limit = query.page_size.unwrap_or(3) as usize;
        let mut w = self.world.lock().unwrap();
        let offset = match &token {
            Some(PageToken::Offset(at)) => Some(*at),
            None if self.style == Style::OffsetTotal => Some(0),
            _ => None,
        };
        let events = w.script.get(w.calls).cloned().unwrap_or_default();
        w.calls += 1;
        if token.is_none() {
            w.cursor = None;
        }
        for event in &events {
            w.apply(event, offset);
        }
        let total = w.live.len() as u64;
        let scope = UsageScope::AllTenants;
        if events.iter().any(|e| matches!(e, Event::EmptyPage)) {
            let page = Page::new(vec![], None).with_scope(scope);
            return Ok(match self.style {
                Style::OffsetTotal => page.with_total(total),
                _ => page,
            });
        }
        let (rows, more): (Vec<(u32, String, u8)>, bool) = match (self.style, &token) {
            (Style::OffsetTotal, _) => {
                let at = offset.unwrap_or(0) as usize;
                let all: Vec<_> = w
                    .live
                    .iter()
                    .skip(at)
                    .map(|(k, (i, m))| (*k, i.clone(), *m))
                    .collect();
                let more = all.len() > limit;
                (all.into_iter().take(limit).collect(), more)
            }
            (_, None) => {
                let all: Vec<_> = w
                    .live
                    .iter()
                    .map(|(k, (i, m))| (*k, i.clone(), *m))
                    .collect();
                let more = all.len() > limit;
                (all.into_iter().take(limit).collect(), more)
            }
            (style, Some(PageToken::Marker(m) | PageToken::Link(m))) => {
                let marker = m.trim_start_matches("/servers?after=");
                let key = u32::from_str_radix(marker.trim_start_matches("i-"), 16).unwrap_or(0);
                let all: Vec<_> = w
                    .live
                    .iter()
                    .filter(|(k, _)| **k > key || (style == Style::MarkerInclusive && **k == key))
                    .map(|(k, (i, m))| (*k, i.clone(), *m))
                    .collect();
                let more = all.len() > limit;
                (all.into_iter().take(limit).collect(), more)
            }
            _ => unreachable!("marker listings get markers"),
        };
        if let Some((key, _, _)) = rows.last() {
            w.cursor = Some(*key);
        }
        let mut instances: Vec<InstanceRef> =
            rows.iter().map(|(_, id, m)| instance(id, *m)).collect();
        if w.first_served.is_none() {
            w.first_served = instances.first().cloned();
        }
        if events.iter().any(|e| matches!(e, Event::Duplicate)) {
            if let Some(first) = w.first_served.clone() {
                instances.push(first);
            }
        }
        let last = rows.last().map(|(_, id, _)| id.clone());
        let next = match (self.style, more, last) {
            (_, false, _) | (_, _, None) => None,
            (Style::OffsetTotal, true, Some(_)) => {
                Some(PageToken::Offset(offset.unwrap_or(0) + rows.len() as u64))
            }
            (Style::NextLink, true, Some(id)) => {
                Some(PageToken::Link(format!("/servers?after={id}")))
            }
            (_, true, Some(id)) => Some(PageToken::Marker(id)),
        };

        let page = Page::new(instances, next).with_scope(scope);
        Ok(match self.style {
            Style::OffsetTotal => page.with_total(total),
            _ => page,
        })
    }
}

const IMAGES: u8 = 6;

fn image(n: u8) -> Image {
    Image::new(
        format!("img-{n}"),
        BackendKind::Memory,
        ImageStatus::Active,
        "active",
    )
    .with_visibility(Visibility::Private)
}

/// Runs one scan; returns the answers per image and the world after it.
fn scan(
    style: Style,
    overlap: u32,
    initial: &[(u16, u8)],
    script: Vec<Vec<Event>>,
    page_size: u32,
) -> (Vec<ImageUsage>, World, Vec<String>) {
    // A marker-inclusive page of one holds only the marker.
    let page_size = if style == Style::MarkerInclusive {
        page_size.max(2)
    } else {
        page_size
    };
    let mut world = World {
        script,
        ..World::default()
    };
    for &(key, img) in initial {
        world.launch(key, img);
    }
    let before: Vec<String> = world.ever.keys().cloned().collect();
    let model = Model {
        style,
        world: Arc::new(Mutex::new(world)),
    };
    // The paging options are the catalog's (a source has none).
    let cat = imagecat_core::Catalog::new(model.clone()).paging_options(
        PagingOptions::default()
            .instance_overlap(overlap)
            .read_ahead(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scan = rt.block_on(cat.usage_scan_with(
        InstanceQuery::new().page_size(page_size),
        ScanLimits::default().max_walks(3),
    ));
    let answers = (0..=IMAGES).map(|n| scan.usage_of(&image(n))).collect();
    let world = std::mem::take(&mut *model.world.lock().unwrap());
    (answers, world, before)
}

/// The truth test: never "not in use" for an image that an instance used
/// during the whole scan; never "in use" by an instance that never ran it.
fn check(
    answers: &[ImageUsage],
    world: &World,
    before: &[String],
) -> std::result::Result<(), String> {
    for (n, usage) in answers.iter().enumerate() {
        let n = n as u8;
        let persistent: Vec<&String> = before
            .iter()
            .filter(|id| world.ever[*id] == n && !world.terminated.contains(id))
            .collect();
        match usage {
            ImageUsage::NotInUse if !persistent.is_empty() => {
                return Err(format!(
                    "img-{n} reported unused but {persistent:?} ran it throughout"
                ));
            }
            ImageUsage::InUse { instances } => {
                for user in instances {
                    if world.ever.get(&user.instance_id) != Some(&n) {
                        return Err(format!(
                            "img-{n} in use by {} which never ran it",
                            user.instance_id
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (any::<u16>(), 0..IMAGES).prop_map(|(key, image)| Event::Launch { key, image }),
        3 => any::<u16>().prop_map(|pick| Event::Terminate { pick }),
        3 => (any::<u16>(), 0..IMAGES).prop_map(|(pick, image)| Event::Shift { pick, image }),
        1 => Just(Event::EmptyPage),
        1 => Just(Event::Duplicate),
    ]
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::OffsetTotal),
        Just(Style::MarkerExclusive),
        Just(Style::MarkerInclusive),
        Just(Style::NextLink),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn the_scan_answers_the_truth_or_unknown_under_churn(
        style in style(),
        overlap in 1u32..4,
        initial in proptest::collection::vec((any::<u16>(), 0..IMAGES), 0..24),
        script in proptest::collection::vec(proptest::collection::vec(event(), 0..3), 0..16),
        page_size in 1u32..5,
    ) {
        // An empty page ending a listing that reports no total is
        // indistinguishable from the end: the fault exists only with one.
        let script = script
            .into_iter()
            .map(|page| page.into_iter().filter(|e| style == Style::OffsetTotal || !matches!(e, Event::EmptyPage)).collect())
            .collect();
        let (answers, world, before) = scan(style, overlap, &initial, script, page_size);
        if let Err(e) = check(&answers, &world, &before) {
            prop_assert!(false, "{:?}: {}", style, e);
        }
    }

    #[test]
    fn without_churn_the_scan_is_exact(
        style in style(),
        overlap in 1u32..4,
        initial in proptest::collection::vec((any::<u16>(), 0..IMAGES), 0..24),
        page_size in 1u32..5,
    ) {
        let (answers, world, _) = scan(style, overlap, &initial, vec![], page_size);
        for (n, usage) in answers.iter().enumerate() {
            let users = world.ever.values().filter(|m| usize::from(**m) == n).count();
            prop_assert_eq!(usage.as_str(), if users > 0 { "in_use" } else { "not_in_use" }, "img-{} {:?}", n, style);
        }
        // One walk, nothing more (an inclusive page brings one new less).
        let per_page = if style == Style::MarkerInclusive { page_size.max(2) - 1 } else { page_size };
        prop_assert!(world.calls <= initial.len() / per_page as usize + 2, "{} calls", world.calls);
    }
}

/// The example: one instance before the cursor terminated and one
/// launched between two page reads, the total unchanged.
fn shift_script(pages_before: usize) -> Vec<Vec<Event>> {
    let mut script = vec![vec![]; pages_before];
    script.push(vec![Event::Shift { pick: 0, image: 5 }]);
    script
}

/// Ten instances in key order running images 0, 1, 2, 3, 4, 0, 1, 2, 3, 4;
/// images 5 (launched by shifts) and 6 are used by none of them.
fn ten() -> Vec<(u16, u8)> {
    (0..10u16).map(|k| (k * 10, (k % 5) as u8)).collect()
}

#[test]
fn a_shift_within_the_overlap_is_proven_harmless_in_one_walk() {
    // Pages of 3; before the second page the first instance ends and one
    // is launched at the end: an overlap of 2 rows still meets the page
    // before, so the walk is consistent and the answers exact.
    let (answers, world, before) = scan(Style::OffsetTotal, 2, &ten(), shift_script(1), 3);
    check(&answers, &world, &before).unwrap();
    for (n, answer) in answers.iter().enumerate().take(5) {
        assert_eq!(answer.as_str(), "in_use", "img-{n}");
    }
    assert_eq!(answers[6].as_str(), "not_in_use");
}

#[test]
fn a_shift_past_the_overlap_walks_again_and_the_fresh_walk_is_exact() {
    // Overlap 1 cannot prove a shift of one: the second read from offset 2
    // holds none of the first page's instances (it starts at the fourth).
    let (answers, world, before) = scan(Style::OffsetTotal, 1, &ten(), shift_script(1), 3);
    check(&answers, &world, &before).unwrap();
    assert!(
        world.calls > 4,
        "a second walk was made ({} calls)",
        world.calls
    );
    for (n, answer) in answers.iter().enumerate().take(6) {
        assert_eq!(answer.as_str(), "in_use", "img-{n}");
    }
    assert_eq!(answers[6].as_str(), "not_in_use");
}

#[test]
fn a_listing_that_shifts_on_every_walk_is_unknown_never_unused() {
    // Every page read shifts the listing: no walk is consistent.
    let script = vec![vec![Event::Shift { pick: 0, image: 5 }]; 64];
    let (answers, world, before) = scan(Style::OffsetTotal, 1, &ten(), script, 3);
    check(&answers, &world, &before).unwrap();
    match &answers[6] {
        ImageUsage::Unknown {
            reason: UnknownReason::InconsistentListing { walks, detail },
        } => {
            assert_eq!(*walks, 3);
            assert!(detail.contains("shifted"), "{detail}");
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn an_empty_page_short_of_the_total_is_unknown() {
    // Every second page comes back empty while the total says more remain.
    let script = (0..64)
        .map(|k| {
            if k % 2 == 1 {
                vec![Event::EmptyPage]
            } else {
                vec![]
            }
        })
        .collect();
    let (answers, world, _) = scan(Style::OffsetTotal, 2, &ten(), script, 3);
    // img-4's users (keys 40 and 90) are never on the first page.
    match &answers[4] {
        ImageUsage::Unknown {
            reason: UnknownReason::InconsistentListing { detail, .. },
        } => assert!(
            detail.contains("holds none") || detail.contains("total"),
            "{detail}"
        ),
        other => panic!(
            "expected unknown, got {other:?} after {} calls",
            world.calls
        ),
    }
}

#[test]
fn benign_churn_keeps_the_first_walk() {
    // Launches anywhere and terminations of instances already seen: the
    // first walk is consistent (no second walk) on every style.
    for style in [
        Style::OffsetTotal,
        Style::MarkerExclusive,
        Style::MarkerInclusive,
        Style::NextLink,
    ] {
        let script = vec![
            vec![],
            vec![
                Event::Launch { key: 5, image: 5 },
                Event::Terminate { pick: 0 },
            ],
            vec![Event::Launch {
                key: 1000,
                image: 5,
            }],
            vec![Event::Terminate { pick: 0 }],
        ];
        let (answers, world, before) = scan(style, 8, &ten(), script, 3);
        check(&answers, &world, &before).unwrap();
        assert!(
            world.calls <= 6,
            "{style:?}: {} calls, more than one walk",
            world.calls
        );
        assert!(
            answers.iter().all(|a| a.as_str() != "unknown"),
            "{style:?}: {answers:?}"
        );
    }
}

/// Found by the property test: a server that repeats an instance out of
/// place (here at the end of a page) must not pass for the overlap that
/// proves two reads contiguous; only the overlap rows anchor a page.
#[test]
fn a_row_repeated_out_of_place_never_anchors_a_shifted_page() {
    let initial = vec![
        (42937u16, 5u8),
        (0, 0),
        (42937, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (42937, 0),
        (42937, 0),
        (0, 0),
        (20685, 2),
    ];
    let script = vec![
        vec![Event::Terminate { pick: 610 }],
        vec![
            Event::Launch { key: 0, image: 0 },
            Event::Shift { pick: 0, image: 0 },
        ],
        vec![Event::Terminate { pick: 53700 }],
        vec![Event::Shift { pick: 0, image: 0 }, Event::Duplicate],
        vec![],
    ];
    let (answers, world, before) = scan(Style::OffsetTotal, 1, &initial, script, 4);
    check(&answers, &world, &before).unwrap();
}

/// Found by the property test: a page that holds a row past its own total
/// (a repeated instance on an otherwise empty page) is no slice of the
/// listing, so its lone row cannot anchor it either.
#[test]
fn a_page_past_its_own_total_is_a_contradiction() {
    let initial = vec![(0u16, 0u8), (0, 2), (0, 1)];
    let script = vec![
        vec![],
        vec![],
        vec![
            Event::Terminate { pick: 1212 },
            Event::Shift { pick: 0, image: 0 },
        ],
        vec![Event::Terminate { pick: 40063 }, Event::Duplicate],
    ];
    let (answers, world, before) = scan(Style::OffsetTotal, 1, &initial, script, 1);
    check(&answers, &world, &before).unwrap();
    assert!(
        !answers[1].is_known_unused(),
        "img-1 ran throughout: {:?}",
        answers[1]
    );
}

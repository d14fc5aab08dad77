//! Reliability and hostile-server scenarios, written once and run against
//! every emulated backend: plain `pub async fn` cases over a [`Rig`] (how
//! to start that backend's emulator and open a catalog over it), and
//! [`scenario_tests!`](crate::scenario_tests), which turns each case into
//! its own `#[tokio::test]` in the adapter's `tests/`.
//!
//! A case panics on a failed assertion and returns `Err(Skip)` where the
//! backend lacks what it needs; the generated test prints the reason.
//! Cases use only the user-facing surface (`list`, builders).

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use imagecat_core::{ErrorKind, ImageCatalog, ListQuery};
use imagecat_http::{HttpOptions, RetryPolicy};

use crate::listing::{assert_each_fault_cost_one_request, every_fault, fast_http, listing};
use imagecat_emulators::Emulator;
use imagecat_emulators::faults::{FaultKind, FaultPlan};
use imagecat_emulators::server::{RecordedRequest, ServeOptions};

/// Why a case does not apply to a backend (a capability it lacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub &'static str);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What a case found: `Ok(())` (its assertions held) or why it was skipped.
pub type Outcome = Result<(), Skip>;

/// One backend (in one mode) under test: its emulator and a catalog over it.
pub trait Rig: 'static {
    /// The emulator handle.
    type Emu: Emulator;

    /// Images and fault seed under which a listing at page size 3 takes 50
    /// pages or more and 20 % faults of every kind draw every kind.
    const EVERY_KIND: (usize, u64);

    /// A body cap a page of 20 images exceeds and a page of the smallest
    /// size the backend allows fits (default 2048 bytes; EC2's smallest
    /// page is 5 AMIs, about 6 KiB).
    const BODY_CAP: usize = 2048;

    /// Starts the emulator with `images` seeded images and these options.
    fn start(images: usize, options: ServeOptions) -> impl Future<Output = Self::Emu> + Send;

    /// A catalog over `emu` with these client options.
    fn catalog(emu: &Self::Emu, http: HttpOptions) -> Arc<dyn ImageCatalog>;

    /// The ids a listing with deleted images included must yield, in order.
    fn listed_ids(emu: &Self::Emu) -> Vec<String>;

    /// Queues a page listing exactly `ids` as the answer to the next list
    /// request, or says why this emulator cannot.
    fn push_page(emu: &Self::Emu, ids: &[&str]) -> Outcome;

    /// The query key the next-page request names the last id with, or why
    /// ids never go into a request (offset paging).
    fn marker_key() -> Result<&'static str, Skip>;
}

const PAGE: u32 = 3;

async fn start<R: Rig>(images: usize, faults: FaultPlan) -> R::Emu {
    R::start(images, ServeOptions::with_faults(faults)).await
}

/// 20 % faults of every kind change nothing: exactly the ids of a
/// fault-free run, and each fault costs exactly one extra request.
pub async fn faults_of_every_kind_change_nothing<R: Rig>() -> Outcome {
    let (images, seed) = R::EVERY_KIND;
    let clean = start::<R>(images, FaultPlan::none()).await;
    let faulty = start::<R>(images, every_fault(0.2, seed)).await;
    let query = ListQuery::new().page_size(PAGE);
    let (want, error) = listing(R::catalog(&clean, fast_http(10)).as_ref(), query.clone()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(want.len() > 50, "{} ids", want.len());
    let pages = clean.server().request_count();
    assert!(pages >= 50, "{pages} pages");

    let (got, error) = listing(R::catalog(&faulty, fast_http(10)).as_ref(), query).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(got, want, "exactly the ids of a fault-free run");
    assert_each_fault_cost_one_request(faulty.server(), pages, R::Emu::BACKEND);
    Ok(())
}

/// The same seed replays the same requests and faults; another seed does
/// not. Pages may be read ahead, so logs are compared as multisets.
pub async fn the_same_seed_replays_the_same_faults<R: Rig>() -> Outcome {
    // Without `slow` and with a generous timeout no request can time out
    // by accident, so the log depends on the seed alone.
    let kinds = FaultKind::all_but_slow();
    let http = fast_http(10).request_timeout(Duration::from_secs(10));
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let plan = FaultPlan::new(0.2, &kinds, seed).retry_after_secs(1);
        let emu = start::<R>(90, plan).await;
        let (ids, error) = listing(
            R::catalog(&emu, http.clone()).as_ref(),
            ListQuery::new().page_size(PAGE).include_deleted(true),
        )
        .await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(ids, R::listed_ids(&emu));
        let mut log: Vec<_> = emu
            .requests()
            .into_iter()
            .map(|r| (r.method, r.path, r.query))
            .collect();
        log.sort();
        let mut faults = emu.server().injected_faults();
        assert!(!faults.is_empty(), "seed {seed} injected faults");
        faults.sort_by_key(|k| k.name());
        runs.push((log, faults));
    }
    assert_eq!(
        runs[0], runs[1],
        "the same seed, the same requests and faults"
    );
    assert_ne!(runs[0].0, runs[2].0, "another seed, other faults");
    Ok(())
}

/// Answers slower than the timeout are retried: the listing is complete,
/// and each slow answer costs exactly one extra request.
pub async fn a_slow_server_is_retried_and_never_hangs_the_listing<R: Rig>() -> Outcome {
    let query = ListQuery::new().page_size(PAGE).include_deleted(true);
    let clean = start::<R>(30, FaultPlan::none()).await;
    let (want, error) = listing(R::catalog(&clean, fast_http(10)).as_ref(), query.clone()).await;
    assert!(error.is_none(), "{error:?}");
    let pages = clean.server().request_count();
    let emu = start::<R>(
        30,
        FaultPlan::new(0.3, &[FaultKind::Slow], 5).slow_delay(Duration::from_secs(3)),
    )
    .await;
    let (ids, error) = listing(R::catalog(&emu, fast_http(10)).as_ref(), query).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(ids, want);
    assert_eq!(ids, R::listed_ids(&emu));
    let slow = emu.server().injected_faults().len();
    assert!(slow >= 1, "some pages were slow");
    assert_eq!(emu.server().request_count(), pages + slow);
    Ok(())
}

/// A server failing every request (any kind, or only slowly) ends the
/// listing with a retryable error naming the backend, the attempts and
/// the time spent, after exactly the attempts allowed.
pub async fn a_hopeless_server_ends_the_listing_with_attempts_and_time<R: Rig>() -> Outcome {
    for (kinds, what) in [
        (FaultKind::ALL.to_vec(), "every kind"),
        (vec![FaultKind::Slow], "slow"),
    ] {
        let plan = FaultPlan::new(1.0, &kinds, 3).slow_delay(Duration::from_secs(3));
        let emu = start::<R>(30, plan).await;
        let (ids, error) = listing(
            R::catalog(&emu, fast_http(3)).as_ref(),
            ListQuery::new().page_size(PAGE),
        )
        .await;
        assert!(ids.is_empty(), "{what}");
        let e = error.expect("the listing fails");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}: ", R::Emu::BACKEND)),
            "{text}"
        );
        let spent = text
            .split_once("(gave up after 3 attempts in ")
            .and_then(|(_, rest)| rest.split_once("s)"))
            .and_then(|(secs, _)| secs.parse::<f64>().ok());
        assert!(spent.is_some(), "{what}: attempts and time in {text}");
        assert!(
            e.is_retryable(),
            "{what}: the last failure was retryable: {e}"
        );
        assert_eq!(emu.server().request_count(), 3, "{what}");
    }
    Ok(())
}

/// A page over the body cap is a non-retryable invalid response naming the
/// backend, after one request; a small page fits.
pub async fn a_body_over_the_cap_is_an_invalid_response<R: Rig>() -> Outcome {
    let emu = start::<R>(60, FaultPlan::none()).await;
    let catalog = R::catalog(&emu, HttpOptions::default().max_body_bytes(R::BODY_CAP));
    // A page of 20 images is 10 KiB or more on every backend.
    let (ids, error) = listing(catalog.as_ref(), ListQuery::new().page_size(20)).await;
    assert!(ids.is_empty(), "{ids:?}");
    let e = error.expect("the listing fails");
    assert!(
        e.to_string().starts_with(&format!("{}: ", R::Emu::BACKEND)),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("exceeds the cap of {} bytes", R::BODY_CAP)),
        "{e}"
    );
    assert!(
        !e.is_retryable(),
        "a body over the cap is not asked for again"
    );
    assert_eq!(emu.server().request_count(), 1);
    let first = catalog.list(ListQuery::new().page_size(1)).next().await;
    assert!(matches!(first, Some(Ok(_))), "a small page fits: {first:?}");
    Ok(())
}

fn pairs(request: &RecordedRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Ids from a server page never change the path or the query: every
/// request has the first one's path and keys, and the hostile last id goes
/// out intact as one marker value.
pub async fn hostile_ids_never_change_the_path_or_the_query<R: Rig>() -> Outcome {
    let key = R::marker_key()?;
    let emu = start::<R>(60, FaultPlan::none()).await;
    let hostile = [
        "a&limit=1000",
        "b/../../tokens?x=1#frag",
        "c%26marker%3dd\u{0}\r\nx-auth-token: stolen",
    ];
    R::push_page(&emu, &hostile)?;
    let catalog = R::catalog(&emu, HttpOptions::default().retry(RetryPolicy::none()));
    let (got, error) = listing(catalog.as_ref(), ListQuery::new().page_size(3)).await;
    if let Some(e) = &error {
        assert!(
            e.to_string().starts_with(&format!("{}: ", R::Emu::BACKEND)),
            "{e}"
        );
    }
    assert_eq!(&got[..3], hostile, "{error:?}");
    let gets: Vec<RecordedRequest> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert!(gets.len() >= 2, "{gets:?}");
    let first = &gets[0];
    let first_keys: HashSet<String> = pairs(first).into_iter().map(|(k, _)| k).collect();
    assert!(!first_keys.contains(key), "{first:?}");
    let mut allowed = first_keys.clone();
    allowed.insert(key.to_owned());
    let mut markers = Vec::new();
    for r in &gets {
        assert_eq!(r.path, first.path, "the path never changes");
        assert_eq!(r.header("x-auth-token"), first.header("x-auth-token"));
        let pairs = pairs(r);
        let keys: HashSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), pairs.len(), "each key once: {:?}", r.query);
        assert!(
            keys.iter().all(|k| allowed.contains(*k)),
            "no key but the first request's and the marker: {:?}",
            r.query
        );
        markers.extend(pairs.into_iter().filter(|(k, _)| k == key).map(|(_, v)| v));
    }
    assert_eq!(
        markers.first().map(String::as_str),
        Some(hostile[2]),
        "the hostile last id went out as one marker value, intact"
    );
    Ok(())
}

/// One `#[tokio::test]` per scenario case, for the [`Rig`] given:
/// `imagecat_testkit::scenario_tests!(MyRig);` inside a test module. A
/// skipped case prints its reason.
#[macro_export]
macro_rules! scenario_tests {
    ($rig:ty) => {
        $crate::scenario_tests!(@cases $rig;
            faults_of_every_kind_change_nothing,
            the_same_seed_replays_the_same_faults,
            a_slow_server_is_retried_and_never_hangs_the_listing,
            a_hopeless_server_ends_the_listing_with_attempts_and_time,
            a_body_over_the_cap_is_an_invalid_response,
            hostile_ids_never_change_the_path_or_the_query,
        );
    };
    (@cases $rig:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Err(skip) = $crate::scenarios::$case::<$rig>().await {
                    println!("skipped {} ({}): {skip}", stringify!($case), stringify!($rig));
                }
            }
        )*
    };
}

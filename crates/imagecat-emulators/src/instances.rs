//! Instances an emulator serves for usage: the seeded set, test hooks and
//! canned answers (faults, as for images), shared by every emulator.
// Shared by the backends' emulators: with one backend's feature alone,
// the others' parts are unused.
#![cfg_attr(not(all(feature = "toast", feature = "dcmgr")), allow(dead_code))]

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use axum::body::Body;
use axum::response::Response;

use crate::faults::InstanceFaults;

/// One instance as an emulator serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedInstance {
    /// The instance id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The backend's status (or state) word.
    pub status: String,
    /// The image it boots from; `None` is served as the backend writes a
    /// missing image.
    pub image_id: Option<String>,
    /// The account (tenant) owning it.
    pub account_id: String,
}

impl EmulatedInstance {
    /// An instance of this account booting this image.
    pub fn new(
        id: impl Into<String>,
        status: impl Into<String>,
        image_id: Option<&str>,
        account_id: impl Into<String>,
    ) -> Self {
        let id = id.into();
        EmulatedInstance {
            name: format!("vm-{id}"),
            id,
            status: status.into(),
            image_id: image_id.map(str::to_owned),
            account_id: account_id.into(),
        }
    }
}

/// How an emulator spells the image an instance names (a fault mode: real
/// servers have been seen to write the same id in more than one way, and
/// a usage check must still find the image, or answer unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RefSpelling {
    /// As the catalog issued it.
    #[default]
    Canonical,
    /// In upper case.
    Upper,
    /// With whitespace around it.
    Padded,
    /// As a link URL `{endpoint}/images/{id}` (Nova: `image` is that
    /// string instead of `{id, links}`).
    Link,
    /// Nova only (elsewhere as `Link`): `image` is `{"links": [...]}`
    /// without an `id`.
    LinkObject,
}

impl RefSpelling {
    /// Every spelling with its name, as `imagecat emulate --ref-spelling`
    /// takes it.
    pub const NAMES: [(&'static str, RefSpelling); 5] = [
        ("canonical", RefSpelling::Canonical),
        ("upper", RefSpelling::Upper),
        ("padded", RefSpelling::Padded),
        ("link", RefSpelling::Link),
        ("link-object", RefSpelling::LinkObject),
    ];

    /// The spelling of this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }

    /// `id` in this spelling, as a string; `endpoint` is the base of a
    /// link.
    pub fn spell(self, id: &str, endpoint: &str) -> String {
        match self {
            RefSpelling::Canonical => id.to_owned(),
            RefSpelling::Upper => id.to_ascii_uppercase(),
            RefSpelling::Padded => format!("  {id}\t "),
            RefSpelling::Link | RefSpelling::LinkObject => {
                format!("{}/images/{id}", endpoint.trim_end_matches('/'))
            }
        }
    }
}

/// `n` seeded instances: instance `k` has status `statuses[k % len]`,
/// boots `images[k % m]` where `m` is about half the images (so the others
/// are unused), belongs to `accounts[k % len]`, and has id `id_of(k)`.
#[cfg(any(feature = "toast", feature = "dcmgr"))]
pub(crate) fn seed(
    n: usize,
    images: &[String],
    statuses: &[&str],
    accounts: &[String],
    id_of: impl Fn(usize) -> String,
) -> Vec<EmulatedInstance> {
    let used = (images.len() / 2).max(1);
    (0..n)
        .map(|k| {
            let image = images.get(k % used).map(String::as_str);
            let status = statuses[k % statuses.len().max(1)];
            let account = accounts.get(k % accounts.len().max(1)).cloned();
            EmulatedInstance::new(id_of(k), status, image, account.unwrap_or_default())
        })
        .collect()
}

#[derive(Debug, Default)]
struct Held {
    list: Vec<EmulatedInstance>,
    canned: VecDeque<(u16, Vec<u8>)>,
    faults: InstanceFaults,
    launched: u32,
    spelling: RefSpelling,
}

/// The instances of one emulator, in creation order, and the answers
/// queued for its next instance requests.
#[derive(Debug, Default)]
pub(crate) struct InstanceSet {
    held: Mutex<Held>,
}

impl InstanceSet {
    /// A set holding these instances.
    pub(crate) fn new(list: Vec<EmulatedInstance>) -> Self {
        InstanceSet {
            held: Mutex::new(Held {
                list,
                ..Held::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every instance held (final states included), in creation order.
    pub(crate) fn snapshot(&self) -> Vec<EmulatedInstance> {
        self.lock().list.clone()
    }

    /// The instances as served: [`snapshot`](Self::snapshot) with each
    /// image reference in the current [`RefSpelling`] (`endpoint`: the base
    /// of a link).
    pub(crate) fn served(&self, endpoint: &str) -> Vec<EmulatedInstance> {
        let held = self.lock();
        let spelling = held.spelling;
        held.list
            .iter()
            .cloned()
            .map(|mut i| {
                i.image_id = i.image_id.map(|id| spelling.spell(&id, endpoint));
                i
            })
            .collect()
    }

    /// Sets how image references are spelled from now on.
    pub(crate) fn set_spelling(&self, spelling: RefSpelling) {
        self.lock().spelling = spelling;
    }

    /// Adds an instance at the end, or replaces the one with its id.
    pub(crate) fn upsert(&self, instance: EmulatedInstance) {
        let mut held = self.lock();
        match held.list.iter_mut().find(|i| i.id == instance.id) {
            Some(slot) => *slot = instance,
            None => held.list.push(instance),
        }
    }

    /// Changes an instance's status; whether it was there.
    pub(crate) fn set_status(&self, id: &str, status: &str) -> bool {
        let mut held = self.lock();
        let found = held.list.iter_mut().find(|i| i.id == id);
        found.map(|i| i.status = status.to_owned()).is_some()
    }

    /// Queues an answer (JSON or any text) for the next instance request.
    pub(crate) fn push_response(&self, status: u16, body: impl Into<String>) {
        self.lock()
            .canned
            .push_back((status, body.into().into_bytes()));
    }

    /// Arms these instance listing faults (replacing any armed before).
    pub(crate) fn arm(&self, faults: InstanceFaults) {
        self.lock().faults = faults;
    }

    /// Applies the armed faults before the page `start..start + limit` of
    /// the listing is served (only to pages reaching past the faults'
    /// `past_row`). A shift terminates (removes)
    /// the first instance for which `live` holds, in id order, and launches
    /// one of the same image and account whose id sorts last. True when
    /// this page is to come back empty.
    pub(crate) fn before_page(
        &self,
        start: u64,
        limit: u64,
        live: impl Fn(&EmulatedInstance) -> bool,
    ) -> bool {
        let mut held = self.lock();
        if start.saturating_add(limit) <= held.faults.past_row {
            return false;
        }
        if held.faults.shifts > 0 {
            held.faults.shifts -= 1;
            let first = (held.list.iter().enumerate())
                .filter(|(_, i)| live(i))
                .min_by(|(_, a), (_, b)| a.id.cmp(&b.id))
                .map(|(at, _)| at);
            if let Some(at) = first {
                let mut launched = held.list.remove(at);
                held.launched += 1;
                launched.id = format!("i-zzzzzz{:04}", held.launched);
                launched.name = format!("vm-{}", launched.id);
                held.list.push(launched);
            }
        }
        if held.faults.empty_pages > 0 {
            held.faults.empty_pages -= 1;
            return true;
        }
        false
    }

    /// The next queued answer, if any.
    pub(crate) fn next_canned(&self) -> Option<Response> {
        let (status, body) = self.lock().canned.pop_front()?;
        Some(
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_default(),
        )
    }
}

/// What a usage listing must see of these instances: the ids of those not
/// in a final state (and of `account`, when the listing is scoped to one),
/// and, per image, the ids of its users (for a
/// usage fixture of the conformance suite).
pub fn live_users(
    instances: &[EmulatedInstance],
    is_final: impl Fn(&str) -> bool,
    account: Option<&str>,
) -> (
    Vec<String>,
    std::collections::HashMap<imagecat_core::ImageId, Vec<String>>,
) {
    let mut ids = Vec::new();
    let mut users: std::collections::HashMap<imagecat_core::ImageId, Vec<String>> =
        Default::default();
    for i in instances {
        if is_final(&i.status) || account.is_some_and(|a| a != i.account_id) {
            continue;
        }
        ids.push(i.id.clone());
        if let Some(image) = &i.image_id {
            users
                .entry(imagecat_core::ImageId::new(image.clone()))
                .or_default()
                .push(i.id.clone());
        }
    }
    (ids, users)
}

#[cfg(any(feature = "toast", feature = "dcmgr"))]
/// The instance methods of an emulator handle with an `instances:
/// InstanceSet` and a `server` field: `instances`, `insert_instance`,
/// `$set` (the backend's word for an instance's state), the canned
/// instance answers and `instance_request_count` (requests whose path
/// passes `$is_instances`).
macro_rules! instance_methods {
    ($handle:ty, $set:ident, $word:literal, $is_instances:expr) => {
        impl $handle {
            /// Every instance the emulator holds, in creation order
            /// (terminated ones included).
            pub fn instances(&self) -> Vec<EmulatedInstance> {
                self.instances.snapshot()
            }

            /// Adds (or replaces) an instance.
            pub fn insert_instance(&self, instance: EmulatedInstance) {
                self.instances.upsert(instance);
            }

            #[doc = concat!("Changes an instance's ", $word, "; whether it was there.")]
            pub fn $set(&self, id: &str, $set: &str) -> bool {
                self.instances.set_status(id, $set)
            }

            /// Spells the image every instance names this way from now on
            /// (a fault mode; the catalog's ids do not change).
            pub fn set_ref_spelling(&self, spelling: $crate::instances::RefSpelling) {
                self.instances.set_spelling(spelling);
            }

            /// Serves this body with this status for the next instance request.
            pub fn push_instances_response(&self, status: u16, body: impl Into<String>) {
                self.instances.push_response(status, body);
            }

            /// Arms faults of the instance listing (empty pages, shifts).
            pub fn instance_faults(&self, faults: $crate::faults::InstanceFaults) {
                self.instances.arm(faults);
            }

            /// How many instance requests were received.
            pub fn instance_request_count(&self) -> usize {
                let is_instances: fn(&str) -> bool = $is_instances;
                self.server.count_requests(|r| is_instances(&r.path))
            }
        }
    };
}
#[cfg(any(feature = "toast", feature = "dcmgr"))]
pub(crate) use instance_methods;

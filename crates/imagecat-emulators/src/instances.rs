//! Instances an emulator serves for usage: the seeded set, test hooks and
//! canned answers (faults, as for images), shared by every emulator.
// Shared by the backends' emulators: with one backend's feature alone,
// the others' parts are unused.
#![cfg_attr(not(all(feature = "toast", feature = "dcmgr")), allow(dead_code))]

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use axum::body::Body;
use axum::response::Response;

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
                canned: VecDeque::new(),
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

            /// Serves this body with this status for the next instance request.
            pub fn push_instances_response(&self, status: u16, body: impl Into<String>) {
                self.instances.push_response(status, body);
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

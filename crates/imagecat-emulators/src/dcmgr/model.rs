//! The DCMGR emulator's catalog model: overlays over the seeded images,
//! scopes (account, public, state) and their cached orderings, churn.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum StateFilter {
    Any,
    Alive,
    AliveWithDeleted,
    Available,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ScopeKey {
    pub(super) account: Option<String>,
    pub(super) public: Option<bool>,
    pub(super) state: StateFilter,
}

pub(super) struct Data {
    /// Indices handed out so far (seeded plus inserted).
    pub(super) slots: u32,
    pub(super) overlay: HashMap<u32, EmulatedImage>,
    pub(super) removed: HashSet<u32>,
    pub(super) named: HashMap<String, u32>,
    pub(super) scopes: HashMap<ScopeKey, Arc<Vec<u32>>>,
    pub(super) churn: ChurnLog,
}

pub(super) struct Inner {
    pub(super) seeded: Seeded,
    pub(super) data: Mutex<Data>,
    pub(super) request_ids: AtomicU64,
}

/// How long `alive_with_deleted` keeps deleted images (dcmgr.conf default).
pub(super) const RECENT_DELETED_SECS: i64 = 900;

impl Inner {
    pub(super) fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn config(&self) -> &DcmgrEmulatorConfig {
        &self.seeded.config
    }

    pub(super) fn lookup(&self, data: &Data, id: &str) -> Option<u32> {
        let index = match data.named.get(id) {
            Some(&i) => i,
            None => {
                let i = self.seeded.codec.decode(id)?;
                if i >= self.config().images as u64 {
                    return None;
                }
                let i = i as u32;
                if Seeded::special_id(i).is_some() {
                    return None;
                }
                i
            }
        };
        if data.removed.contains(&index) {
            return None;
        }
        match data.overlay.get(&index) {
            Some(image) if image.id != id => None,
            _ => Some(index),
        }
    }

    pub(super) fn image_at(&self, data: &Data, i: u32) -> EmulatedImage {
        match data.overlay.get(&i) {
            Some(image) => image.clone(),
            None => self.seeded.derive(i),
        }
    }

    /// Whether image `i` is in a scope, without building it.
    pub(super) fn in_scope(
        &self,
        data: &Data,
        i: u32,
        key: &ScopeKey,
        legacy: bool,
        recent: DateTime<Utc>,
    ) -> bool {
        let (owner, public, state, deleted_at): (&str, bool, &str, Option<DateTime<Utc>>) =
            match data.overlay.get(&i) {
                Some(img) => (&img.account_id, img.is_public, &img.state, img.deleted_at),
                None => {
                    let a = self.seeded.attrs(i);
                    // Seeded deletions are years old.
                    let deleted_at = (a.state == "deleted").then_some(DateTime::<Utc>::MIN_UTC);
                    (self.seeded.account(a.owner), a.public, a.state, deleted_at)
                }
            };
        let scoped = if legacy {
            key.account.as_deref().is_none_or(|me| owner == me)
        } else {
            match (key.account.as_deref(), key.public) {
                (Some(me), Some(p)) => owner == me || public == p,
                (Some(me), None) => owner == me,
                (None, Some(p)) => public == p,
                (None, None) => true,
            }
        };
        scoped
            && match key.state {
                StateFilter::Any => true,
                StateFilter::Alive => deleted_at.is_none(),
                StateFilter::AliveWithDeleted => deleted_at.is_none_or(|at| at > recent),
                StateFilter::Available => state == "available",
                StateFilter::Deleted => state == "deleted",
            }
    }

    /// The ordered (id DESC) indices of a scope, computed once per change.
    pub(super) fn scope(&self, data: &mut Data, key: ScopeKey) -> Arc<Vec<u32>> {
        if let Some(hit) = data.scopes.get(&key) {
            return Arc::clone(hit);
        }
        let legacy = self.config().layout == Layout::Legacy;
        let recent = Utc::now() - ChronoDuration::seconds(RECENT_DELETED_SECS);
        let list: Vec<u32> = (0..data.slots)
            .rev()
            .filter(|i| !data.removed.contains(i))
            .filter(|&i| self.in_scope(data, i, &key, legacy, recent))
            .collect();
        let list = Arc::new(list);
        data.scopes.insert(key, Arc::clone(&list));
        list
    }

    /// One churn step: `inserts` new images of the first account, each the
    /// newest (first listed), and `deletes` soft deletions of random images
    /// that exist and are not deleted yet.
    pub(super) fn churn(&self, data: &mut Data, churn: Churn) {
        let step = data.churn.steps.len() as u64;
        let mut done = ChurnStep::default();
        let mut draws = Draws::new(churn.seed, step);
        for _ in 0..churn.inserts {
            let id = loop {
                // `wmi-c` and 8 base-36 digits: never a generated id (8 digits).
                let id = format!("wmi-c{}", base36_8(draws.below(ID_SPACE)));
                if !data.named.contains_key(&id) {
                    break id;
                }
            };
            let mut image = EmulatedImage::new(id.clone(), self.config().own_account());
            image.display_name = format!("churn-{step}");
            let i = data.slots;
            data.slots += 1;
            data.named.insert(id.clone(), i);
            data.overlay.insert(i, image);
            self.changed(data, i);
            done.inserted.push(id);
        }
        for _ in 0..churn.deletes {
            if data.slots == 0 {
                break;
            }
            // Rejection sampling: uniform among the images not deleted yet.
            for _ in 0..64 {
                let i = draws.below(u64::from(data.slots)) as u32;
                if data.removed.contains(&i) {
                    continue;
                }
                let mut image = self.image_at(data, i);
                if image.state == "deleted" {
                    continue;
                }
                soft_delete(&mut image);
                done.deleted.push(image.id.clone());
                data.overlay.insert(i, image);
                self.changed(data, i);
                break;
            }
        }
        data.churn.steps.push(done);
    }

    /// Brings the cached scopes up to date after image `i` changed (was
    /// inserted, updated or removed): O(log n) plus a move of the tail per
    /// cached scope, instead of recomputing them.
    pub(super) fn changed(&self, data: &mut Data, i: u32) {
        let legacy = self.config().layout == Layout::Legacy;
        let recent = Utc::now() - ChronoDuration::seconds(RECENT_DELETED_SECS);
        let mut scopes = std::mem::take(&mut data.scopes);
        for (key, list) in &mut scopes {
            let member = !data.removed.contains(&i) && self.in_scope(data, i, key, legacy, recent);
            // The lists are in descending index order.
            match (list.binary_search_by(|probe| i.cmp(probe)), member) {
                (Ok(at), false) => {
                    Arc::make_mut(list).remove(at);
                }
                (Err(at), true) => Arc::make_mut(list).insert(at, i),
                _ => {}
            }
        }
        data.scopes = scopes;
    }
}

pub(super) fn soft_delete(image: &mut EmulatedImage) {
    if image.state != "deleted" || image.deleted_at.is_none() {
        let now = now_secs();
        image.deleted_at.get_or_insert(now);
        image.updated_at = now;
    }
    image.state = "deleted".into();
}

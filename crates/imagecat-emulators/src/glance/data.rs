//! Seeded data of the Glance emulator and its catalog model: ids, seeded
//! images, filters, sorting and marker paging.

use super::*;

/// Glance prints times as `2018-12-11T01:01:35Z`.
pub(super) fn stamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The id of seeded image `i`.
pub fn seeded_id(i: u64) -> String {
    format!("{SEEDED_PREFIX}{i:012x}")
}

/// The index a seeded id encodes, if it is one.
pub(super) fn seeded_index(id: &str) -> Option<u64> {
    let hex = id.strip_prefix(SEEDED_PREFIX)?;
    if hex.len() != 12 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Seeded image `i`, derived from `i` alone.
pub(super) fn seeded_image(i: u64) -> GlanceImage {
    let h = splitmix64(i);
    let status = match i % 20 {
        3 => "queued",
        7 => "saving",
        11 => "deactivated",
        13 => "killed",
        17 => "importing",
        _ => "active",
    };
    let visibility = match i % 7 {
        0 | 3 => "public",
        2 => "shared",
        5 => "community",
        _ => "private",
    };
    let owner = if visibility == "community" {
        "emu-project"
    } else {
        ["emu-project", "project-b", "project-c"][(i % 3) as usize]
    };
    let has_data = matches!(status, "active" | "deactivated");
    let created_at = DateTime::from_timestamp(EPOCH + i as i64, 0).unwrap_or_default();
    let mut properties = BTreeMap::new();
    properties.insert(
        "os_architecture".to_owned(),
        if i % 5 == 0 { "aarch64" } else { "x86_64" }.to_owned(),
    );
    properties.insert(
        "os_type".to_owned(),
        if i % 6 == 0 { "windows" } else { "linux" }.to_owned(),
    );
    properties.insert(
        "os_distro".to_owned(),
        ["ubuntu", "centos", "rocky"][(i % 3) as usize].to_owned(),
    );
    properties.insert("description".to_owned(), format!("Seeded image {i}"));
    properties.insert("login_username".to_owned(), "cloud-user".to_owned());
    GlanceImage {
        id: seeded_id(i),
        name: Some(format!("image-{i:05}")),
        status: status.to_owned(),
        visibility: visibility.to_owned(),
        owner: Some(owner.to_owned()),
        protected: i % 9 == 4,
        hidden: false,
        created_at,
        updated_at: created_at + chrono::Duration::seconds(60),
        size: has_data.then_some((i + 1) * 1_048_576),
        checksum: has_data.then(|| format!("{:016x}{:016x}", h, splitmix64(h))),
        os_hash_value: has_data.then(|| {
            (0..8).fold(String::new(), |mut s, k| {
                let _ = write!(s, "{:016x}", splitmix64(h ^ k));
                s
            })
        }),
        min_disk: (i % 4) * 10,
        min_ram: (i % 3) * 512,
        disk_format: Some(["qcow2", "raw", "vmdk"][(i % 3) as usize].to_owned()),
        container_format: Some("bare".to_owned()),
        properties,
        tags: Vec::new(),
    }
}

/// The sort key: `created_at` then `id` (both listed descending).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub(super) micros: i64,
    pub(super) id: String,
}

pub(super) fn seeded_key(i: u64) -> Key {
    Key {
        micros: (EPOCH + i as i64) * 1_000_000,
        id: seeded_id(i),
    }
}

#[derive(Debug, Default)]
pub(super) struct Store {
    /// Seeded indices deleted or removed.
    pub(super) deleted: HashSet<u64>,
    /// Seeded images changed by `update` (same id and creation time).
    pub(super) patched: HashMap<u64, GlanceImage>,
    /// Inserted images, by sort key.
    pub(super) inserted: BTreeMap<Key, GlanceImage>,
    /// Issued tokens and when they expire.
    pub(super) tokens: HashMap<String, Instant>,
    /// Who each issued token stands for (its Keystone user's project and roles).
    pub(super) token_callers: HashMap<String, GlanceCaller>,
    pub(super) issued: u64,
    pub(super) canned: VecDeque<Canned>,
    /// Sort keys of images deleted through the API: Glance keeps deleted
    /// rows, and an admin may page from one. (`GlanceEmulator::delete`
    /// purges: the image vanishes for everyone.)
    pub(super) tombstones: HashMap<String, Key>,
    /// Image memberships: image id, then member project.
    pub(super) members: HashMap<String, BTreeMap<String, Member>>,
}

pub(super) struct Emu {
    pub(super) config: GlanceEmulatorConfig,
    /// `http://127.0.0.1:PORT{base}`, set once the server is bound.
    pub(super) endpoint: OnceLock<String>,
    pub(super) state: Mutex<Store>,
    pub(super) image_requests: Counter,
    /// Nova servers and Cinder volumes.
    pub(super) nova: Nova,
}

/// One listing's filters, parsed.
#[derive(Debug, Default)]
pub(super) struct Filters {
    pub(super) names: Option<Vec<String>>,
    pub(super) statuses: Option<Vec<String>>,
    pub(super) visibility: Option<String>,
    pub(super) owner: Option<String>,
    pub(super) hidden: Option<bool>,
    pub(super) size_min: Option<u64>,
    pub(super) size_max: Option<u64>,
    pub(super) properties: Vec<(String, String)>,
    /// `created_at`, `updated_at` operators and `tag`s (see [`golden_param`]).
    pub(super) golden: GoldenFilters,
    /// Core-attribute filters (see [`core_param`]).
    pub(super) core: CoreFilters,
    /// Who lists (`None`: the operator, an admin of the configured project).
    pub(super) caller: Option<GlanceCaller>,
    /// `member_status` (default `accepted`).
    pub(super) member_status: Option<String>,
}

impl Filters {
    pub(super) fn matches(&self, image: &GlanceImage, caller: Option<&str>) -> bool {
        if let Some(names) = &self.names {
            if !image.name.as_ref().is_some_and(|n| names.contains(n)) {
                return false;
            }
        }
        if let Some(statuses) = &self.statuses {
            if !statuses.contains(&image.status) {
                return false;
            }
        }
        match self.visibility.as_deref() {
            Some("all") => {}
            Some(v) => {
                if image.visibility != v {
                    return false;
                }
            }
            None => {
                if image.visibility == "community" && image.owner.as_deref() != caller.or(Some(""))
                {
                    return false;
                }
            }
        }
        if let Some(owner) = &self.owner {
            if image.owner.as_ref() != Some(owner) {
                return false;
            }
        }
        if image.hidden != self.hidden.unwrap_or(false) {
            return false;
        }
        // SQL `size >= min`: an image without a size never matches.
        if let Some(min) = self.size_min {
            if image.size.is_none_or(|s| s < min) {
                return false;
            }
        }
        if let Some(max) = self.size_max {
            if image.size.is_none_or(|s| s > max) {
                return false;
            }
        }
        self.golden.matches(image)
            && self.core.matches(image)
            && self
                .properties
                .iter()
                .all(|(k, v)| image.properties.get(k) == Some(v))
    }
}

/// Glance's `split_filter_op` and `in:` value splitting.
pub(super) fn filter_values(expression: &str) -> Result<Vec<String>, String> {
    let Some((op, rest)) = expression.split_once(':') else {
        return Ok(vec![expression.to_owned()]);
    };
    match op {
        "eq" => Ok(vec![rest.to_owned()]),
        "in" => Ok(rest
            .split(',')
            .map(|v| v.trim_matches('"').to_owned())
            .collect()),
        other => Err(format!("Unable to filter by unknown operator '{other}'.")),
    }
}

impl Emu {
    pub(super) fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn endpoint(&self) -> String {
        self.endpoint.get().cloned().unwrap_or_default()
    }

    pub(super) fn seeded_len(&self) -> u64 {
        self.config.images
    }

    /// The live seeded index of an id.
    pub(super) fn live_seeded(&self, state: &Store, id: &str) -> Option<u64> {
        seeded_index(id).filter(|i| *i < self.seeded_len() && !state.deleted.contains(i))
    }

    pub(super) fn seeded(&self, state: &Store, i: u64) -> GlanceImage {
        state
            .patched
            .get(&i)
            .cloned()
            .unwrap_or_else(|| seeded_image(i))
    }

    pub(super) fn find(&self, state: &Store, id: &str) -> Option<GlanceImage> {
        if let Some(i) = self.live_seeded(state, id) {
            return Some(self.seeded(state, i));
        }
        state.inserted.values().find(|img| img.id == id).cloned()
    }

    /// Up to `limit` images after `after` (exclusive) in listing order that
    /// match the filters.
    pub(super) fn page(
        &self,
        state: &Store,
        after: Option<&Key>,
        limit: usize,
        filters: &Filters,
    ) -> Vec<GlanceImage> {
        let n = self.seeded_len();
        // Seeded keys grow with the index: the candidates are 0..bound.
        let mut bound = match after {
            None => n,
            Some(key) => {
                let (mut lo, mut hi) = (0u64, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if seeded_key(mid) < *key {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
        };
        let mut inserted = match after {
            None => state.inserted.range(..).rev().peekable(),
            Some(key) => state.inserted.range(..key.clone()).rev().peekable(),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let next_seeded = bound.checked_sub(1);
            let take_inserted = match (inserted.peek(), next_seeded) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((k, _)), Some(i)) => **k > seeded_key(i),
            };
            let image = if take_inserted {
                match inserted.next() {
                    Some((_, img)) => img.clone(),
                    None => break,
                }
            } else {
                let Some(i) = next_seeded else { break };
                bound = i;
                if state.deleted.contains(&i) {
                    continue;
                }
                self.seeded(state, i)
            };
            if self.lists(state, &image, filters) {
                out.push(image);
            }
        }
        out
    }

    /// `None` when the request may proceed, or the 401 to answer.
    pub(super) fn check_auth(&self, state: &Store, headers: &HeaderMap) -> Option<Response> {
        if self.config.token.is_none() && self.config.keystone_users().next().is_none() {
            return None;
        }
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if self.config.token.as_deref() == Some(token) && !token.is_empty() {
            return None;
        }
        if self.config.project_tokens.iter().any(|(t, _)| t == token) {
            return None;
        }
        match state.tokens.get(token) {
            Some(expires) if Instant::now() < *expires => None,
            _ => Some(keystone_error(401, "Unauthorized", KEYSTONE_401)),
        }
    }

    /// Issues a token standing for `caller`: its id and expiry.
    pub(super) fn issue(&self, state: &mut Store, caller: GlanceCaller) -> (String, DateTime<Utc>) {
        state.issued += 1;
        let id = format!(
            "gAAAA{:016x}{:016x}",
            splitmix64(state.issued ^ 0x6b65_7973_746f_6e65),
            splitmix64(state.issued)
        );
        let ttl =
            chrono::Duration::from_std(self.config.token_ttl).unwrap_or(chrono::Duration::MAX);
        let expires = Utc::now()
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let deadline = Instant::now()
            .checked_add(self.config.token_ttl)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        state.tokens.insert(id.clone(), deadline);
        state.token_callers.insert(id.clone(), caller);
        (id, expires)
    }
}

//! Seeded data of the TOAST emulator: ids, times, the seeded images, and
//! the catalog model (listing, markers, deletes, churn) over them.

use super::*;

/// The creation time of seeded image 0, in microseconds since the epoch
/// (2024-06-01T00:00:00Z); image `i` is `i` steps older.
pub(super) const T0_MICROS: i64 = 1_717_200_000_000_000;
/// 61.000123 s between seeded images, so fractions vary.
pub(super) const STEP_MICROS: i64 = 61_000_123;
/// Seeded indices are encoded in the last 48 bits of the UUID.
pub(super) const MAX_SEEDED: usize = 1 << 48;

/// Where a listing position is, for ordering: newer first, then greater id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub(super) micros: i64,
    pub(super) id: String,
}

pub(super) fn micros_of(at: &DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(super) fn seeded_micros(index: usize) -> i64 {
    T0_MICROS.saturating_sub((index as i64).saturating_mul(STEP_MICROS))
}

pub(super) fn at_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

// ---------------------------------------------------------------- seeded data

pub(super) const PUBLIC_IMAGES: [(&str, &str, &str, &str, &str); 6] = [
    ("CentOS 7.9", "linux", "CentOS", "7.9", "centos"),
    (
        "Ubuntu Server 22.04 LTS",
        "linux",
        "Ubuntu",
        "22.04",
        "ubuntu",
    ),
    ("Rocky Linux 8.9", "linux", "Rocky", "8.9", "rocky"),
    ("Debian 12.4 Bookworm", "linux", "Debian", "12.4", "debian"),
    (
        "Windows 2022 STD",
        "windows",
        "Windows",
        "2022 STD",
        "Administrator",
    ),
    (
        "Ubuntu Server 20.04 LTS",
        "linux",
        "Ubuntu",
        "20.04",
        "ubuntu",
    ),
];

pub(super) const PRIVATE_NAMES: [&str; 6] = [
    "web-server-snapshot",
    "웹서버-백업",
    "데이터베이스-스냅샷",
    "ウェブサーバー-バックアップ",
    "テスト環境",
    "batch-worker",
];

/// What varies between seeded images, derived from the index.
pub(super) struct Seeded {
    pub(super) index: usize,
    pub(super) hash: u64,
}

impl Seeded {
    pub(super) fn new(seed: u64, index: usize) -> Self {
        Seeded {
            index,
            hash: splitmix64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    pub(super) fn status(&self) -> &'static str {
        match self.index {
            3 => "queued",
            5 => "saving",
            11 => "killed",
            13 => "deactivated",
            17 => "pending_delete",
            19 => "queued",
            i if i < 20 => "active",
            _ => match self.hash % 64 {
                0 => "queued",
                1 => "saving",
                2 => "killed",
                3 => "deactivated",
                4 => "pending_delete",
                _ => "active",
            },
        }
    }

    pub(super) fn is_public(&self) -> bool {
        self.index % 10 == 0
    }

    pub(super) fn protected(&self) -> bool {
        self.is_public() || self.index % 10 == 5
    }

    /// The special "empty" queued image: nothing uploaded yet.
    pub(super) fn is_blank(&self) -> bool {
        self.index == 3
    }

    pub(super) fn public_kind(
        &self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        PUBLIC_IMAGES[(self.index / 10) % PUBLIC_IMAGES.len()]
    }

    pub(super) fn name(&self) -> Option<String> {
        if self.is_blank() {
            return None;
        }
        let created = at_micros(seeded_micros(self.index));
        if self.is_public() {
            Some(format!(
                "{} ({:04}.{:02}.{:02})",
                self.public_kind().0,
                created.year(),
                created.month(),
                created.day()
            ))
        } else {
            Some(format!(
                "{}-{}",
                PRIVATE_NAMES[(self.hash >> 8) as usize % PRIVATE_NAMES.len()],
                self.index
            ))
        }
    }

    pub(super) fn disk_format(&self) -> Option<&'static str> {
        if self.is_blank() {
            return None;
        }
        Some(match (self.hash >> 16) % 10 {
            0 => "raw",
            1 => "iso",
            _ => "qcow2",
        })
    }

    /// Glance v1 answers 0 for a queued image (the reserve sample).
    pub(super) fn size(&self) -> Option<u64> {
        if self.status() == "queued" {
            return Some(0);
        }
        Some(1_073_741_824 + ((self.hash >> 20) % 20_000_000) * 512)
    }

    pub(super) fn min_disk(&self) -> u64 {
        if self.is_public() && self.public_kind().1 == "windows" {
            50
        } else {
            [20, 20, 30, 50, 100][(self.hash >> 28) as usize % 5]
        }
    }

    pub(super) fn min_ram(&self) -> u64 {
        [0, 0, 512, 1024, 2048][(self.hash >> 32) as usize % 5]
    }

    /// Glance v1 sets `updated_at` when it reserves an id (the reserve
    /// sample: equal to `created_at`).
    pub(super) fn updated_micros(&self) -> Option<i64> {
        if self.is_blank() {
            return Some(seeded_micros(self.index));
        }
        Some(seeded_micros(self.index) + ((self.hash >> 36) % 7_200_000_000) as i64)
    }

    pub(super) fn arch(&self) -> &'static str {
        if (self.hash >> 44) % 8 == 0 {
            "aarch64"
        } else {
            "x86_64"
        }
    }
}

// ---------------------------------------------------------------- the model

/// Where a page starts.
pub(super) enum Start {
    First,
    /// After the image with this key (Glance), or at it (the docs). A
    /// seeded marker carries its index, which is its position.
    Marker {
        key: Key,
        seeded: Option<usize>,
        inclusive: bool,
    },
}

impl Emu {
    pub(super) fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn seeded_len(&self) -> usize {
        self.config.images.min(MAX_SEEDED)
    }

    pub(super) fn seeded_key(&self, index: usize) -> Key {
        Key {
            micros: seeded_micros(index),
            id: self.ids.id(index),
        }
    }

    pub(super) fn seeded_image(&self, index: usize) -> ToastImage {
        let s = Seeded::new(self.config.seed, index);
        let name = s.name();
        let mut properties = BTreeMap::new();
        let wire = seeded_wire(&self.ids, self.config.seed, index, false, &name);
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&wire.properties) {
            for (k, v) in map {
                if let serde_json::Value::String(v) = v {
                    properties.insert(k, v);
                }
            }
        }
        ToastImage {
            id: self.ids.id(index),
            name: name.clone(),
            status: s.status().to_owned(),
            is_public: s.is_public(),
            protected: s.protected(),
            min_disk: s.min_disk(),
            min_ram: s.min_ram(),
            size: s.size(),
            disk_format: s.disk_format().map(str::to_owned),
            created_at: at_micros(seeded_micros(index)),
            updated_at: s.updated_micros().map(at_micros),
            properties,
        }
    }

    /// A live seeded index for an id (lower case), if any.
    pub(super) fn live_seeded(&self, state: &Store, id: &str) -> Option<usize> {
        let index = self.ids.index_of(id)?;
        (index < self.seeded_len() && !state.deleted.contains(&index)).then_some(index)
    }

    /// The listing key of a live image, and its seeded index if it is one.
    pub(super) fn key_of(&self, state: &Store, id: &str) -> Option<(Key, Option<usize>)> {
        if let Some(index) = self.live_seeded(state, id) {
            return Some((self.seeded_key(index), Some(index)));
        }
        state.inserted.iter().find(|i| i.id == id).map(|i| {
            (
                Key {
                    micros: micros_of(&i.created_at),
                    id: i.id.clone(),
                },
                None,
            )
        })
    }

    /// Up to `limit` rows from `start`, in listing order: a merge of the
    /// seeded sequence (keys strictly decreasing with the index) and the
    /// inserted overlay. O(limit + log n + overlay skips).
    pub(super) fn page<'a>(&self, state: &'a Store, start: &Start, limit: usize) -> Vec<Row<'a>> {
        let n = self.seeded_len();
        // Whether a key comes after the start (is served).
        let served = |key: &Key| match start {
            Start::First => true,
            Start::Marker {
                key: k, inclusive, ..
            } => key < k || (*inclusive && key == k),
        };
        let mut si = match start {
            Start::First => 0,
            // O(1): the index is the position.
            Start::Marker {
                seeded: Some(index),
                inclusive,
                ..
            } => {
                if *inclusive {
                    *index
                } else {
                    index + 1
                }
            }
            // Seeded keys decrease with the index: binary search the first served.
            Start::Marker { seeded: None, .. } => {
                let (mut lo, mut hi) = (0usize, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if served(&self.seeded_key(mid)) {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            }
        };
        let inserted_key = |i: &ToastImage| Key {
            micros: micros_of(&i.created_at),
            id: i.id.clone(),
        };
        let mut oi = state
            .inserted
            .partition_point(|i| !served(&inserted_key(i)));
        let mut rows = Vec::with_capacity(limit.min(1024));
        while rows.len() < limit {
            while si < n && state.deleted.contains(&si) {
                si += 1;
            }
            let Some(img) = state.inserted.get(oi) else {
                if si >= n {
                    break;
                }
                rows.push(Row::Seeded(si));
                si += 1;
                continue;
            };
            if si < n && self.seeded_key(si) > inserted_key(img) {
                rows.push(Row::Seeded(si));
                si += 1;
            } else {
                rows.push(Row::Inserted(img));
                oi += 1;
            }
        }
        rows
    }

    pub(super) fn row_id(&self, row: &Row<'_>) -> String {
        match row {
            Row::Seeded(i) => self.ids.id(*i),
            Row::Inserted(img) => img.id.clone(),
        }
    }

    pub(super) fn row_image(&self, row: &Row<'_>) -> ToastImage {
        match row {
            Row::Seeded(i) => self.seeded_image(*i),
            Row::Inserted(img) => (*img).clone(),
        }
    }

    /// One churn step: `inserts` new images, newer than every other, and
    /// `deletes` random existing images removed (seeded or inserted alike).
    pub(super) fn churn(&self, state: &mut Store, churn: Churn) {
        let step = state.churn.steps.len() as u64;
        let mut done = ChurnStep::default();
        let mut draws = Draws::new(churn.seed, step);
        for _ in 0..churn.inserts {
            let newest = state
                .inserted
                .first()
                .map_or(T0_MICROS, |i| micros_of(&i.created_at).max(T0_MICROS));
            let (hi, lo) = (draws.next_u64(), draws.next_u64());
            let id = uuid::Builder::from_random_bytes(
                ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes(),
            )
            .into_uuid()
            .hyphenated()
            .to_string();
            let mut image = ToastImage::new(id.clone(), format!("churn-{step}"));
            let at = at_micros(newest + STEP_MICROS);
            image.created_at = at;
            image.updated_at = Some(at);
            // Newest of all: first in listing order.
            state.inserted.insert(0, image);
            done.inserted.push(id);
        }
        for _ in 0..churn.deletes {
            let n = self.seeded_len() as u64 + state.inserted.len() as u64;
            if n == 0 {
                break;
            }
            // Rejection sampling over seeded indices and inserted images:
            // uniform among the live ones.
            for _ in 0..64 {
                let pick = draws.below(n);
                if let Some(image) = usize::try_from(pick)
                    .ok()
                    .and_then(|p| p.checked_sub(self.seeded_len()))
                {
                    let id = state.inserted.remove(image).id;
                    done.deleted.push(id);
                    break;
                }
                let index = pick as usize;
                if state.deleted.insert(index) {
                    done.deleted.push(self.ids.id(index));
                    break;
                }
            }
        }
        state.churn.steps.push(done);
    }

    /// `None` when the token is good; the refusal otherwise.
    pub(super) fn check_auth(
        &self,
        state: &Store,
        appkey: &str,
        headers: &HeaderMap,
    ) -> Option<Response> {
        if appkey != self.config.appkey {
            return Some(failure(-3, "Permission denied : invalid appkey"));
        }
        let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
            return Some(failure(-3, "Permission denied : no X-Auth-Token"));
        };
        if !self.config.token.is_empty() && token == self.config.token {
            return None;
        }
        match state.tokens.get(token) {
            Some(expires) if Instant::now() < *expires => None,
            Some(_) => Some(failure(-3, "Permission denied : token expired")),
            None => Some(failure(-3, "Permission denied : Invalid token")),
        }
    }
}

//! Seeded data of the DCMGR emulator: the images derived from their index.

use super::*;

/// 2013-01-01T00:00:00Z.
pub(super) const EPOCH: i64 = 1_356_998_400;

/// The fields of a seeded image that scoping needs, cheaply.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attrs {
    pub(super) owner: usize,
    pub(super) public: bool,
    pub(super) state: &'static str,
}

pub(super) const FAMILIES: [&str; 5] = [
    "centos1d64",
    "ubuntu14043ple",
    "web-base",
    "db-node",
    "lbnode1d64",
];

pub(super) struct Seeded {
    pub(super) config: DcmgrEmulatorConfig,
    pub(super) codec: IdCodec,
}

impl Seeded {
    pub(super) fn hash(&self, i: u32) -> u64 {
        splitmix64(self.config.seed ^ splitmix64(u64::from(i)))
    }

    pub(super) fn other_account(&self, h: u64) -> usize {
        let n = self.config.accounts.len().max(1);
        if n == 1 {
            0
        } else {
            1 + (h as usize / 2) % (n - 1)
        }
    }

    pub(super) fn attrs(&self, i: u32) -> Attrs {
        let h = self.hash(i);
        let other = self.other_account(h);
        let (owner, public, state) = match i {
            0 | 1 => (0, true, "available"),
            2 => (0, false, "init"),
            3 => (0, false, "pending"),
            4 => (0, false, "creating"),
            5 => (0, false, "creating"),
            6 => (0, false, "deleted"),
            7 => (other, true, "available"),
            8 => (other, true, "deleted"),
            9 => (other, false, "available"),
            _ => {
                let owner = if h % 2 == 0 { 0 } else { other };
                let state = match (h >> 16) % 20 {
                    0 | 1 => "deleted",
                    2 => "creating",
                    3 => "pending",
                    4 => "init",
                    _ => "available",
                };
                (owner, (h >> 8) % 4 == 0, state)
            }
        };
        Attrs {
            owner,
            public,
            state,
        }
    }

    pub(super) fn account(&self, index: usize) -> &str {
        self.config
            .accounts
            .get(index)
            .map(String::as_str)
            .unwrap_or("a-shpoolxx")
    }

    pub(super) fn special_id(i: u32) -> Option<&'static str> {
        match i {
            0 => Some("wmi-centos1d64"),
            1 => Some("wmi-lbnode1d64"),
            _ => None,
        }
    }

    pub(super) fn id(&self, i: u32) -> String {
        match Self::special_id(i) {
            Some(id) => id.to_owned(),
            None => self.codec.encode(i),
        }
    }

    pub(super) fn derive(&self, i: u32) -> EmulatedImage {
        let h = self.hash(i);
        let a = self.attrs(i);
        let family = FAMILIES[(h >> 4) as usize % FAMILIES.len()];
        let created = DateTime::from_timestamp(EPOCH + i64::from(i) * 67, 0).unwrap_or_default();
        let mut updated = created + ChronoDuration::seconds(((h >> 24) % 86_400) as i64);
        let deleted_at = (a.state == "deleted").then(|| updated + ChronoDuration::hours(1));
        if let Some(at) = deleted_at {
            updated = at;
        }
        let mut image = EmulatedImage {
            id: self.id(i),
            account_id: self.account(a.owner).to_owned(),
            created_at: created,
            updated_at: updated,
            boot_dev_type: if (h >> 32) % 5 == 0 { 1 } else { 2 },
            arch: if (h >> 35) % 8 == 0 { "x86" } else { "x86_64" }.to_owned(),
            description: if h % 3 == 0 {
                String::new()
            } else {
                format!("{family} image {i}")
            },
            is_public: a.public,
            state: a.state.to_owned(),
            virtio: ((h >> 38) % 6 != 0).then_some(true),
            file_format: if (h >> 40) % 4 == 0 { "qcow2" } else { "raw" }.to_owned(),
            root_device: ((h >> 42) % 7 != 0).then(|| "label:root".to_owned()),
            is_cacheable: (h >> 44) % 3 == 0,
            parent_image_id: ((h >> 46) % 3 == 0).then(|| "wmi-centos1d64".to_owned()),
            service_type: if (h >> 48) % 10 == 0 { "lb" } else { "std" }.to_owned(),
            display_name: format!("{family}-{i}"),
            backup_object_id: Some(format!("bo-{}", base36_8(splitmix64(h) % ID_SPACE))),
            deleted_at,
            volumes: if (h >> 50) % 10 == 0 {
                vec![format!("bo-{}", base36_8(splitmix64(h ^ 1) % ID_SPACE))]
            } else {
                Vec::new()
            },
            os_type: if (h >> 52) % 12 == 0 {
                "windows"
            } else {
                "linux"
            }
            .to_owned(),
            labels: if (h >> 54) % 8 == 0 {
                vec![("owner.note".to_owned(), "nightly".to_owned())]
            } else {
                Vec::new()
            },
            md5sum: format!("{:016x}{:016x}", splitmix64(h ^ 2), splitmix64(h ^ 3)),
            source_uri: String::new(),
        };
        match i {
            0 => {
                image.display_name = "centos1d64".into();
                image.description = "centos-6.6.x86_64.openvz.md.raw.tar.gz local".into();
                image.backup_object_id = Some("bo-centos1d64".into());
                image.parent_image_id = None;
                image.service_type = "std".into();
                image.is_cacheable = true;
            }
            1 => {
                image.display_name = "lbnode1d64".into();
                image.description = "lbnode image".into();
                image.backup_object_id = Some("bo-lbnode1d64".into());
                image.parent_image_id = None;
                image.service_type = "lb".into();
            }
            _ => {}
        }
        image.source_uri = format!("http://example.com/images/{}.raw.gz", image.display_name);
        image
    }
}

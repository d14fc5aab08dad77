//! The TOAST emulator's wire documents: the `header` envelope, images as
//! Glance v1 writes them, token documents.

use super::*;

// ---------------------------------------------------------------- wire

/// A number or boolean, written as a string when `quoted_scalars` is set.
pub(super) struct Scalar<T>(pub(super) T, pub(super) bool);

impl<T: Serialize + fmt::Display> Serialize for Scalar<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            s.collect_str(&self.0)
        } else {
            self.0.serialize(s)
        }
    }
}

/// A timestamp as Glance v1 writes it: `2019-01-22T08:41:09.166563`.
pub(super) struct Stamp(pub(super) i64);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = at_micros(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.timestamp_subsec_micros()
        )
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub(super) enum Props<'a> {
    Map(&'a BTreeMap<String, String>),
    Seeded {
        public: Option<(
            &'static str,
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        )>,
        description: Option<&'a str>,
        arch: &'static str,
    },
}

impl Serialize for Props<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Props::Map(map) => map.serialize(s),
            Props::Seeded {
                public,
                description,
                arch,
            } => {
                let mut m = s.serialize_map(None)?;
                if let Some(d) = description {
                    m.serialize_entry("description", d)?;
                }
                m.serialize_entry("hypervisor_type", "qemu")?;
                match public {
                    Some((_, os_type, distro, version, login)) => {
                        m.serialize_entry("login_username", login)?;
                        m.serialize_entry("os_architecture", arch)?;
                        m.serialize_entry("os_distro", distro)?;
                        m.serialize_entry("os_type", os_type)?;
                        m.serialize_entry("os_version", version)?;
                    }
                    None => {
                        m.serialize_entry("image_type", "snapshot")?;
                        m.serialize_entry("os_architecture", arch)?;
                        m.serialize_entry("os_type", "linux")?;
                    }
                }
                m.end()
            }
        }
    }
}

/// One image on the wire, borrowed from an inserted image or derived from
/// a seeded index.
#[derive(Serialize)]
pub(super) struct WireImage<'a> {
    #[serde(rename = "createdAt")]
    pub(super) created_at: Stamp,
    #[serde(rename = "diskFormat")]
    pub(super) disk_format: Option<&'a str>,
    pub(super) id: Cow<'a, str>,
    #[serde(rename = "isPublic")]
    pub(super) is_public: Scalar<bool>,
    #[serde(rename = "minDisk")]
    pub(super) min_disk: Scalar<u64>,
    #[serde(rename = "minRam")]
    pub(super) min_ram: Scalar<u64>,
    pub(super) name: Option<Cow<'a, str>>,
    pub(super) properties: Props<'a>,
    pub(super) protected: Scalar<bool>,
    pub(super) size: Option<Scalar<u64>>,
    pub(super) status: &'a str,
    #[serde(rename = "updatedAt")]
    pub(super) updated_at: Option<Stamp>,
}

/// The wire form of seeded image `index`; `name` holds its name so that the
/// description can borrow it.
pub(super) fn seeded_wire<'a>(
    ids: &IdScheme,
    seed: u64,
    index: usize,
    quoted: bool,
    name: &'a Option<String>,
) -> WireImage<'a> {
    let s = Seeded::new(seed, index);
    WireImage {
        created_at: Stamp(seeded_micros(index)),
        disk_format: s.disk_format(),
        id: Cow::Owned(ids.id(index)),
        is_public: Scalar(s.is_public(), quoted),
        min_disk: Scalar(s.min_disk(), quoted),
        min_ram: Scalar(s.min_ram(), quoted),
        name: name.as_deref().map(Cow::Borrowed),
        properties: Props::Seeded {
            public: s.is_public().then(|| s.public_kind()),
            description: if s.is_public() { name.as_deref() } else { None },
            arch: s.arch(),
        },
        protected: Scalar(s.protected(), quoted),
        size: s.size().map(|v| Scalar(v, quoted)),
        status: s.status(),
        updated_at: s.updated_micros().map(Stamp),
    }
}

pub(super) fn inserted_wire(image: &ToastImage, quoted: bool) -> WireImage<'_> {
    WireImage {
        created_at: Stamp(micros_of(&image.created_at)),
        disk_format: image.disk_format.as_deref(),
        id: Cow::Borrowed(&image.id),
        is_public: Scalar(image.is_public, quoted),
        min_disk: Scalar(image.min_disk, quoted),
        min_ram: Scalar(image.min_ram, quoted),
        name: image.name.as_deref().map(Cow::Borrowed),
        properties: Props::Map(&image.properties),
        protected: Scalar(image.protected, quoted),
        size: image.size.map(|v| Scalar(v, quoted)),
        status: &image.status,
        updated_at: image.updated_at.as_ref().map(|t| Stamp(micros_of(t))),
    }
}

#[derive(Serialize)]
pub(super) struct WireHeader<'a> {
    #[serde(rename = "isSuccessful")]
    pub(super) is_successful: bool,
    #[serde(rename = "resultCode")]
    pub(super) result_code: i64,
    #[serde(rename = "resultMessage")]
    pub(super) result_message: &'a str,
}

#[derive(Serialize)]
pub(super) struct HeaderOnly<'a> {
    pub(super) header: WireHeader<'a>,
}

pub(super) const SUCCESS: WireHeader<'static> = WireHeader {
    is_successful: true,
    result_code: 0,
    result_message: "SUCCESS",
};

/// An envelope failure, HTTP 200 as the real server answers.
pub(super) fn failure(code: i64, message: &str) -> Response {
    let body = serde_json::to_vec(&HeaderOnly {
        header: WireHeader {
            is_successful: false,
            result_code: code,
            result_message: message,
        },
    })
    .unwrap_or_default();
    json_bytes_response(200, body)
}

pub(super) fn success() -> Response {
    json_bytes_response(
        200,
        serde_json::to_vec(&HeaderOnly { header: SUCCESS }).unwrap_or_default(),
    )
}

/// The page's rows, serialised lazily as a JSON array.
pub(super) struct Rows<'a> {
    pub(super) emu: &'a Emu,
    pub(super) rows: Vec<Row<'a>>,
}

pub(super) enum Row<'a> {
    Seeded(usize),
    Inserted(&'a ToastImage),
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let quoted = self.emu.config.quoted_scalars;
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for row in &self.rows {
            match row {
                Row::Seeded(i) => {
                    let name = Seeded::new(self.emu.config.seed, *i).name();
                    seq.serialize_element(&seeded_wire(
                        &self.emu.ids,
                        self.emu.config.seed,
                        *i,
                        quoted,
                        &name,
                    ))?;
                }
                Row::Inserted(image) => seq.serialize_element(&inserted_wire(image, quoted))?,
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
pub(super) struct ListBody<'a> {
    pub(super) header: WireHeader<'static>,
    pub(super) images: Rows<'a>,
}

#[derive(Deserialize)]
pub(super) struct TokenRequest {
    pub(super) auth: Option<TokenAuth>,
}

#[derive(Deserialize)]
pub(super) struct TokenAuth {
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
}

#[derive(Serialize)]
pub(super) struct TokenBody<'a> {
    pub(super) header: WireHeader<'static>,
    pub(super) access: TokenAccess<'a>,
}

#[derive(Serialize)]
pub(super) struct TokenAccess<'a> {
    pub(super) token: TokenDoc<'a>,
    pub(super) user: TokenUser,
}

#[derive(Serialize)]
pub(super) struct TokenDoc<'a> {
    pub(super) expires: String,
    pub(super) id: &'a str,
    pub(super) issued_at: Stamp,
}

#[derive(Serialize)]
pub(super) struct TokenUser {
    pub(super) id: &'static str,
    pub(super) roles: [TokenRole; 1],
}

#[derive(Serialize)]
pub(super) struct TokenRole {
    pub(super) name: &'static str,
}

//! The DCMGR emulator's documents: images and indexes in the v12.03 and
//! legacy layouts, timestamps as either writes them.

use super::*;

/// A timestamp: `2015-04-08T07:06:20Z`, or Ruby's `2015-04-08 07:06:20 UTC`.
pub(super) struct Ts(pub(super) DateTime<Utc>, pub(super) bool);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut buf = [0u8; 23];
        let put = |buf: &mut [u8], at: usize, value: u32, width: usize| {
            let mut v = value;
            for k in (0..width).rev() {
                buf[at + k] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut buf, 0, t.year().clamp(0, 9999) as u32, 4);
        buf[4] = b'-';
        put(&mut buf, 5, t.month(), 2);
        buf[7] = b'-';
        put(&mut buf, 8, t.day(), 2);
        buf[10] = if self.1 { b' ' } else { b'T' };
        put(&mut buf, 11, t.hour(), 2);
        buf[13] = b':';
        put(&mut buf, 14, t.minute(), 2);
        buf[16] = b':';
        put(&mut buf, 17, t.second(), 2);
        let len = if self.1 {
            buf[19..23].copy_from_slice(b" UTC");
            23
        } else {
            buf[19] = b'Z';
            20
        };
        s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
    }
}

pub(super) struct Features(pub(super) Option<bool>);

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(usize::from(self.0.is_some())))?;
        if let Some(virtio) = self.0 {
            map.serialize_entry("virtio", &virtio)?;
        }
        map.end()
    }
}

pub(super) struct Volumes<'a>(pub(super) &'a [String]);

impl Serialize for Volumes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Volume<'a> {
            backup_object_id: &'a str,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for bo in self.0 {
            seq.serialize_element(&Volume {
                backup_object_id: bo,
            })?;
        }
        seq.end()
    }
}

/// One resource label (`responses/resource_label.rb`).
#[derive(Serialize)]
pub(super) struct LabelDoc<'a> {
    pub(super) resource_uuid: &'a str,
    pub(super) name: &'a str,
    pub(super) value_type: u8,
    pub(super) value: &'a str,
    pub(super) created_at: Ts,
    pub(super) updated_at: Ts,
}

impl<'a> LabelDoc<'a> {
    /// The label `name = value` of `image` (a string label, value type 1).
    pub(super) fn of(image: &'a EmulatedImage, name: &'a str, value: &'a str) -> Self {
        LabelDoc {
            resource_uuid: &image.id,
            name,
            value_type: 1,
            value,
            created_at: Ts(image.created_at, false),
            updated_at: Ts(image.created_at, false),
        }
    }
}

pub(super) struct Labels<'a>(pub(super) &'a EmulatedImage);

impl Serialize for Labels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let image = self.0;
        let mut seq = s.serialize_seq(Some(image.labels.len()))?;
        for (name, value) in &image.labels {
            seq.serialize_element(&LabelDoc::of(image, name, value))?;
        }
        seq.end()
    }
}

/// The 24-key 12.03 document, in the server's key order.
pub(super) struct V1203Doc<'a>(pub(super) &'a EmulatedImage);

impl Serialize for V1203Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut st = s.serialize_struct("Image", 24)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("account_id", &i.account_id)?;
        st.serialize_field("uuid", &i.id)?;
        st.serialize_field("created_at", &Ts(i.created_at, false))?;
        st.serialize_field("updated_at", &Ts(i.updated_at, false))?;
        st.serialize_field("boot_dev_type", &i.boot_dev_type)?;
        st.serialize_field("arch", &i.arch)?;
        st.serialize_field("description", &i.description)?;
        st.serialize_field("is_public", &i.is_public)?;
        st.serialize_field("state", &i.state)?;
        st.serialize_field("features", &Features(i.virtio))?;
        st.serialize_field("file_format", &i.file_format)?;
        st.serialize_field("root_device", &i.root_device)?;
        st.serialize_field("is_cacheable", &i.is_cacheable)?;
        st.serialize_field("instance_model_name", "")?;
        st.serialize_field("parent_image_id", &i.parent_image_id)?;
        st.serialize_field("service_type", &i.service_type)?;
        st.serialize_field("display_name", &i.display_name)?;
        st.serialize_field("backup_object_id", &i.backup_object_id)?;
        st.serialize_field("deleted_at", &i.deleted_at.map(|t| Ts(t, false)))?;
        st.serialize_field("volumes", &Volumes(&i.volumes))?;
        st.serialize_field("vifs", &[(); 0])?;
        st.serialize_field("os_type", &i.os_type)?;
        st.serialize_field("labels", &Labels(i))?;
        st.end()
    }
}

/// The 13-key legacy document (raw column values; YAML-serialized columns
/// stay YAML strings).
pub(super) struct LegacyDoc<'a>(pub(super) &'a EmulatedImage);

impl Serialize for LegacyDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let source = format!("---\n:uri: {}\n:type: http\n", i.source_uri);
        let features = match i.virtio {
            Some(v) => format!("---\n:virtio: {v}\n"),
            None => "--- {}\n".to_owned(),
        };
        let description = (!i.description.is_empty()).then_some(i.description.as_str());
        let mut st = s.serialize_struct("Image", 13)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("account_id", &i.account_id)?;
        st.serialize_field("uuid", &i.id)?;
        st.serialize_field("created_at", &Ts(i.created_at, true))?;
        st.serialize_field("updated_at", &Ts(i.updated_at, true))?;
        st.serialize_field("boot_dev_type", &i.boot_dev_type)?;
        st.serialize_field("source", &source)?;
        st.serialize_field("arch", &i.arch)?;
        st.serialize_field("description", &description)?;
        st.serialize_field("md5sum", &i.md5sum)?;
        st.serialize_field("is_public", &i.is_public)?;
        st.serialize_field("state", &i.state)?;
        st.serialize_field("features", &features)?;
        st.end()
    }
}

pub(super) struct V1203Index<'a> {
    pub(super) total: u64,
    pub(super) start: u64,
    pub(super) limit: u64,
    pub(super) results: &'a [EmulatedImage],
}

pub(super) struct DocSeq<'a, F>(pub(super) &'a [EmulatedImage], pub(super) F);

impl<'a, D: Serialize, F: Fn(&'a EmulatedImage) -> D> Serialize for DocSeq<'a, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for image in self.0 {
            seq.serialize_element(&(self.1)(image))?;
        }
        seq.end()
    }
}

impl Serialize for V1203Index<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Index", 4)?;
        st.serialize_field("total", &self.total)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("limit", &self.limit)?;
        st.serialize_field("results", &DocSeq(self.results, V1203Doc))?;
        st.end()
    }
}

pub(super) struct LegacyIndex<'a> {
    pub(super) owner_total: u64,
    pub(super) start: u64,
    pub(super) limit: Option<u64>,
    pub(super) results: &'a [EmulatedImage],
    pub(super) wrapped: bool,
}

impl Serialize for LegacyIndex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Index", 4)?;
        st.serialize_field("owner_total", &self.owner_total)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("limit", &self.limit)?;
        let key = if self.wrapped { "results" } else { "result" };
        st.serialize_field(key, &DocSeq(self.results, LegacyDoc))?;
        st.end()
    }
}

//! The documents the EC2 emulator writes: XML in each service's namespace
//! (EC2's `…Response` with `requestId`, the Query protocol's
//! `…Response/…Result` with `ResponseMetadata`), EC2's error document
//! (`<Response><Errors><Error>…</Errors><RequestID>`), the Query
//! protocol's (`<ErrorResponse><Error><Type>…`), and SSM's JSON.

use std::fmt::Write as _;

use axum::body::Body;
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::data::{BlockDevice, Ec2Image, Ec2Instance, Ec2Snapshot};

/// EC2's namespace (with the trailing `/` AWS writes).
pub(crate) const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
/// Auto Scaling's namespace.
pub(crate) const ASG_NS: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
/// STS's namespace.
pub(crate) const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The protocol family an answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// EC2's own (`protocol: ec2`).
    Ec2,
    /// The Query protocol with its namespace (Auto Scaling, STS).
    Query(&'static str),
    /// AWS JSON 1.1 (SSM).
    Json,
}

/// Escapes text for XML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "&#xFFFD;");
            }
            c => out.push(c),
        }
    }
    out
}

/// An XML body being written.
#[derive(Debug, Default)]
pub(crate) struct Xml(pub(crate) String);

impl Xml {
    /// `<name>text</name>`, escaped.
    pub(crate) fn el(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}>{}</{name}>", esc(text));
        self
    }

    /// `el` when `text` is some.
    pub(crate) fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.el(name, t);
        }
        self
    }

    /// `<name>` (an opening tag).
    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        self
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// `tagSet` (EC2) with its items; nothing when there are none.
    pub(crate) fn tag_set(&mut self, tags: &[(String, String)]) -> &mut Self {
        if tags.is_empty() {
            return self;
        }
        self.open("tagSet");
        for (k, v) in tags {
            self.open("item").el("key", k).el("value", v).close("item");
        }
        self.close("tagSet")
    }
}

/// EC2's time format: `2026-12-07T05:48:42.000Z`.
pub(crate) fn iso(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `DeprecationTime`: to the minute, no fraction (`2026-02-04T08:00:00Z`).
pub(crate) fn iso_minute(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:00Z").to_string()
}

/// One image as an `imagesSet` item.
pub(crate) fn image_item(x: &mut Xml, i: &Ec2Image) {
    x.open("item")
        .el("imageId", &i.image_id)
        .el("imageLocation", &format!("{}/{}", i.owner_id, i.name))
        .el("imageState", &i.state)
        .el("imageOwnerId", &i.owner_id)
        .el("creationDate", &iso(&i.creation_date))
        .el("isPublic", bool_str(i.public))
        .el("architecture", &i.architecture)
        .el("imageType", "machine")
        .opt("platform", i.platform.as_deref())
        .el(
            "platformDetails",
            if i.platform.as_deref() == Some("windows") {
                "Windows"
            } else {
                "Linux/UNIX"
            },
        )
        .el("usageOperation", "RunInstances")
        .opt("imageOwnerAlias", i.owner_alias.as_deref())
        .el("name", &i.name)
        .opt("description", i.description.as_deref())
        .el("rootDeviceType", &i.root_device_type)
        .el("rootDeviceName", &i.root_device_name);
    x.open("blockDeviceMapping");
    for b in &i.block_devices {
        block_device(x, b);
    }
    x.close("blockDeviceMapping");
    x.el("virtualizationType", &i.virtualization_type)
        .tag_set(&i.tags)
        .el("hypervisor", "xen")
        .el("enaSupport", "true")
        .opt("bootMode", i.boot_mode.as_deref())
        .opt(
            "deprecationTime",
            i.deprecation_time.as_ref().map(iso_minute).as_deref(),
        )
        .opt(
            "deregistrationProtection",
            i.deregistration_protection.as_deref(),
        )
        .opt(
            "lastLaunchedTime",
            i.last_launched_time.as_ref().map(iso).as_deref(),
        )
        .opt("sourceImageId", i.source_image_id.as_deref())
        .opt("sourceImageRegion", i.source_image_region.as_deref())
        .close("item");
}

fn block_device(x: &mut Xml, b: &BlockDevice) {
    x.open("item").el("deviceName", &b.device_name);
    if let Some(snap) = &b.snapshot_id {
        x.open("ebs")
            .el("snapshotId", snap)
            .el("volumeSize", &b.volume_size.to_string())
            .el("deleteOnTermination", bool_str(b.delete_on_termination))
            .el("volumeType", &b.volume_type)
            .el("encrypted", "false")
            .close("ebs");
    }
    x.close("item");
}

/// One snapshot as a `snapshotSet` item.
pub(crate) fn snapshot_item(x: &mut Xml, s: &Ec2Snapshot) {
    x.open("item")
        .el("snapshotId", &s.snapshot_id)
        .el("volumeId", &s.volume_id)
        .el("status", "completed")
        .el("startTime", &iso(&s.start_time))
        .el("progress", "100%")
        .el("ownerId", &s.owner_id)
        .el("volumeSize", &s.volume_size.to_string())
        .el("description", &s.description)
        .el("encrypted", "false")
        .el("storageTier", "standard")
        .tag_set(&s.tags)
        .close("item");
}

/// One instance as an `instancesSet` item.
pub(crate) fn instance_item(x: &mut Xml, i: &Ec2Instance) {
    x.open("item")
        .el("instanceId", &i.instance_id)
        .el("imageId", &i.image_id)
        .open("instanceState")
        .el("code", &i.state_code().to_string())
        .el("name", &i.state)
        .close("instanceState")
        .el("instanceType", &i.instance_type)
        .el("launchTime", &iso(&i.launch_time))
        .el("architecture", "x86_64")
        .el("rootDeviceType", "ebs")
        .el("rootDeviceName", "/dev/xvda")
        .el("virtualizationType", "hvm")
        .tag_set(&i.tags)
        .close("item");
}

/// `true`/`false`.
pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A success document: `<{action}Response xmlns>` + `inner` + the request
/// id, as each protocol places it.
pub(crate) fn success(protocol: Protocol, action: &str, inner: &str, request_id: &str) -> Response {
    let body = match protocol {
        Protocol::Ec2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{EC2_NS}\"><requestId>{request_id}</requestId>{inner}</{action}Response>"
        ),
        Protocol::Query(ns) => format!(
            "<{action}Response xmlns=\"{ns}\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        ),
        Protocol::Json => inner.to_owned(),
    };
    respond(200, protocol, body, request_id)
}

/// An error document in `protocol`'s shape.
pub(crate) fn error(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response {
    let body = match protocol {
        Protocol::Ec2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
            esc(code),
            esc(message)
        ),
        Protocol::Query(ns) => format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            if status >= 500 { "Receiver" } else { "Sender" },
            esc(code),
            esc(message)
        ),
        Protocol::Json => serde_json::json!({"__type": code, "message": message}).to_string(),
    };
    respond(status, protocol, body, request_id)
}

fn respond(status: u16, protocol: Protocol, body: String, request_id: &str) -> Response {
    let ctype = match protocol {
        Protocol::Json => "application/x-amz-json-1.1",
        _ => "text/xml;charset=UTF-8",
    };
    Response::builder()
        .status(status)
        .header("content-type", ctype)
        .header("x-amzn-requestid", request_id)
        .body(Body::from(body))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_controls_cannot_break_the_document() {
        assert_eq!(esc("a<b>&\"'\u{1b}"), "a&lt;b&gt;&amp;&quot;&apos;&#xFFFD;");
    }
}

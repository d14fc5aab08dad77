//! The DescribeImages decoder on the reference's documents (AWS's docs
//! example, the moto capture of reference §1c, a document shaped like
//! moto's older response template) and on hostile bodies.

use chrono::{TimeZone, Utc};
use imagecat_core::raw::PageToken;
use imagecat_core::{ErrorKind, ImageStatus, Visibility};
use imagecat_ec2::wire::decode_describe_images;
use imagecat_ec2::wire::xml::{self, MAX_BODY_BYTES};
use proptest::prelude::*;

const AWS_DOCS: &str = include_str!("../fixtures/describe_images_aws_docs.xml");
const MOTO: &str = include_str!("../fixtures/describe_images_moto.xml");
const LEGACY: &str = include_str!("../fixtures/describe_images_legacy_template.xml");

const GIB: u64 = 1 << 30;

#[test]
fn the_aws_docs_example() {
    let page = decode_describe_images(AWS_DOCS.as_bytes()).unwrap();
    assert_eq!(page.next, None);
    assert_eq!(page.items.len(), 1);
    let image = &page.items[0];
    assert_eq!(image.id.as_str(), "ami-1a2b3c4d");
    assert_eq!(image.name.as_deref(), Some("getting-started"));
    assert_eq!(image.description.as_deref(), Some("Image Description"));
    assert_eq!(image.status, ImageStatus::Active);
    assert_eq!(image.native_status, "available");
    assert_eq!(image.owner.as_deref(), Some("123456789012"));
    assert_eq!(image.visibility, Some(Visibility::Public));
    assert_eq!(image.created_at, None);
    assert_eq!(image.size_bytes, Some(15 * GIB));
    assert_eq!(image.arch.as_deref(), Some("i386"));
    assert_eq!(image.protected, None);
    assert!(image.tags.is_empty());
    assert_eq!(image.backend.as_str(), "ec2");
    for (key, value) in [
        ("architecture", "i386"),
        ("imageType", "machine"),
        ("kernelId", "aki-1a2b3c4d"),
        ("imageOwnerAlias", "amazon"),
        ("rootDeviceType", "ebs"),
        ("virtualizationType", "paravirtual"),
        ("hypervisor", "xen"),
    ] {
        assert_eq!(image.properties.get(key), Some(value), "{key}");
    }
    let native = image.native.as_ref().unwrap().to_value();
    assert_eq!(native["imageId"], "ami-1a2b3c4d");
    assert_eq!(native["tagSet"], serde_json::json!([]));
    assert_eq!(
        native["blockDeviceMapping"][0]["ebs"]["snapshotId"],
        "snap-1a2b3c4d"
    );
}

#[test]
fn the_moto_capture_with_tags_protection_lineage_and_a_token() {
    let page = decode_describe_images(MOTO.as_bytes()).unwrap();
    assert_eq!(
        page.next,
        Some(PageToken::Link("eyJ2IjoxLCJjIjoiYW1pLTAxMjMifQ==".into()))
    );
    let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["ami-a8065409553a29c51", "ami-0123456789abcdef0"]);

    let first = &page.items[0];
    assert_eq!(first.visibility, Some(Visibility::Private));
    assert_eq!(
        first.created_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 7, 5, 48, 42).unwrap())
    );
    assert_eq!(first.properties.get("bootMode"), Some("uefi"));
    assert_eq!(first.arch, None);

    let golden = &page.items[1];
    assert_eq!(golden.status, ImageStatus::Queued);
    assert_eq!(golden.native_status, "pending");
    assert_eq!(golden.arch.as_deref(), Some("arm64"));
    // 8 + 100 GiB of EBS; the ephemeral mapping has no size.
    assert_eq!(golden.size_bytes, Some(108 * GIB));
    assert_eq!(golden.protected, Some(true));
    assert_eq!(golden.tags, ["family", "team", "keep"]);
    assert_eq!(golden.properties.get("tag:family"), Some("web"));
    assert_eq!(golden.properties.get("tag:team"), Some("platform & ops"));
    assert_eq!(golden.properties.get("tag:keep"), Some(""));
    assert_eq!(
        golden.properties.get("sourceImageId"),
        Some("ami-0fedcba9876543210")
    );
    assert_eq!(
        golden.properties.get("sourceImageRegion"),
        Some("eu-west-1")
    );
    assert_eq!(
        golden.properties.get("deprecationTime"),
        Some("2027-06-01T00:00:00Z")
    );
    let native = golden.native.as_ref().unwrap().to_value();
    let snapshots: Vec<&str> = native["blockDeviceMapping"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["ebs"]["snapshotId"].as_str())
        .collect();
    assert_eq!(
        snapshots,
        ["snap-0aa0000000000000a", "snap-0bb0000000000000b"]
    );
    assert_eq!(native["tagSet"][1]["value"], "platform & ops");
    assert_eq!(native["productCodes"], serde_json::json!([]));
}

#[test]
fn a_document_shaped_like_motos_older_template() {
    let page = decode_describe_images(LEGACY.as_bytes()).unwrap();
    let image = &page.items[0];
    assert_eq!(image.status, ImageStatus::Deleted);
    assert_eq!(image.native_status, "deregistered");
    // Instance store: no EBS volume, no size.
    assert_eq!(image.size_bytes, None);
    assert_eq!(image.description, None);
    assert_eq!(image.properties.get("kernelId"), None);
    assert_eq!(image.tags, ["Name"]);
    assert_eq!(image.properties.get("tag:Name"), Some("old style"));
}

fn one_item(fields: &str) -> String {
    format!(
        "<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId>{fields}</item></imagesSet></DescribeImagesResponse>"
    )
}

#[test]
fn lenient_where_servers_differ() {
    // Absent, empty and whitespace tokens all end the listing.
    for tail in [
        "",
        "<nextToken/>",
        "<nextToken></nextToken>",
        "<nextToken>  </nextToken>",
    ] {
        let body = format!("<DescribeImagesResponse><imagesSet/>{tail}</DescribeImagesResponse>");
        let page = decode_describe_images(body.as_bytes()).unwrap();
        assert_eq!(page.next, None, "{tail}");
        assert!(page.items.is_empty());
    }
    // No imagesSet at all: an empty page.
    let page = decode_describe_images(b"<DescribeImagesResponse/>").unwrap();
    assert!(page.items.is_empty());
    // A namespace prefix, booleans in other spellings, dates without a
    // fraction or zone, unknown states and elements.
    let body = r#"<ec2:DescribeImagesResponse xmlns:ec2="http://ec2.amazonaws.com/doc/2016-11-15/"><ec2:imagesSet>
        <ec2:item><ec2:imageId>ami-1</ec2:imageId><ec2:isPublic>TRUE</ec2:isPublic><ec2:imageState>frozen</ec2:imageState>
          <ec2:creationDate>2026-12-07T05:48:42Z</ec2:creationDate><ec2:futureField><ec2:x>1</ec2:x></ec2:futureField></ec2:item>
        <ec2:item><ec2:imageId>ami-2</ec2:imageId><ec2:isPublic>0</ec2:isPublic><ec2:creationDate>2026-12-07T05:48:42</ec2:creationDate></ec2:item>
      </ec2:imagesSet></ec2:DescribeImagesResponse>"#;
    let page = decode_describe_images(body.as_bytes()).unwrap();
    assert_eq!(page.items[0].visibility, Some(Visibility::Public));
    assert_eq!(page.items[0].status, ImageStatus::Unknown("frozen".into()));
    assert_eq!(page.items[0].native_status, "frozen");
    assert_eq!(
        page.items[0].native.as_ref().unwrap().to_value()["futureField"]["x"],
        "1"
    );
    assert_eq!(page.items[1].visibility, Some(Visibility::Private));
    assert_eq!(page.items[1].created_at, page.items[0].created_at);
    // No state at all: unknown, with an empty native word.
    let page = decode_describe_images(one_item("").as_bytes()).unwrap();
    assert_eq!(page.items[0].status, ImageStatus::Unknown(String::new()));
}

#[test]
fn wrong_types_and_ambiguity_are_typed_errors() {
    let cases = [
        ("two ids", "<imageId>ami-2</imageId>"),
        ("no id", "<name>x</name>"),
        ("bad bool", "<isPublic>yes</isPublic>"),
        ("bad date", "<creationDate>yesterday</creationDate>"),
        (
            "bad size",
            "<blockDeviceMapping><item><ebs><volumeSize>15GB</volumeSize></ebs></item></blockDeviceMapping>",
        ),
        (
            "negative size",
            "<blockDeviceMapping><item><ebs><volumeSize>-1</volumeSize></ebs></item></blockDeviceMapping>",
        ),
        (
            "overflow",
            "<blockDeviceMapping><item><ebs><volumeSize>18446744073709551615</volumeSize></ebs></item></blockDeviceMapping>",
        ),
        ("two names", "<name>a</name><name>b</name>"),
        (
            "two states",
            "<imageState>available</imageState><imageState>deregistered</imageState>",
        ),
        (
            "tag twice",
            "<tagSet><item><key>k</key><value>1</value></item><item><key>k</key><value>2</value></item></tagSet>",
        ),
        (
            "tag without key",
            "<tagSet><item><value>1</value></item></tagSet>",
        ),
    ];
    for (what, fields) in cases {
        let body = if what == "no id" {
            format!(
                "<DescribeImagesResponse><imagesSet><item>{fields}</item></imagesSet></DescribeImagesResponse>"
            )
        } else {
            one_item(fields)
        };
        let error = decode_describe_images(body.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{what}: {error}");
        assert_eq!(error.backend().map(|b| b.as_str()), Some("ec2"), "{what}");
        assert!(!error.body().is_empty(), "{what}: the body snippet is kept");
    }
    // Two tokens: which page comes next would depend on the reader.
    let body = "<DescribeImagesResponse><nextToken>a</nextToken><nextToken>b</nextToken></DescribeImagesResponse>";
    assert!(decode_describe_images(body.as_bytes()).is_err());
    // Another document, HTML, JSON, nothing.
    for body in [
        "<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>",
        "<!DOCTYPE html><html><body>404</body></html>",
        "<html><body>404</body></html>",
        "{\"Images\": []}",
        "",
    ] {
        let error = decode_describe_images(body.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{body}");
    }
}

#[test]
fn every_truncation_of_every_fixture_is_an_error_never_a_panic() {
    for fixture in [AWS_DOCS, MOTO, LEGACY] {
        let bytes = fixture.trim_end().as_bytes();
        for end in 0..bytes.len() {
            assert!(
                decode_describe_images(&bytes[..end]).is_err(),
                "a prefix of {end} bytes decoded"
            );
        }
        assert!(decode_describe_images(bytes).is_ok());
    }
}

#[test]
fn entity_bombs_and_external_entities_are_refused_unexpanded() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId><name>&lol9;</name></item></imagesSet></DescribeImagesResponse>"#;
    let external = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId><name>&xxe;</name></item></imagesSet></DescribeImagesResponse>"#;
    // Without a DOCTYPE, an undeclared entity: refused, not left as text.
    let undeclared = one_item("<name>&lol9;</name>");
    // A DOCTYPE that no entity uses (an external DTD a parser could fetch):
    // refused as well, not ignored.
    let external_dtd = r#"<!DOCTYPE DescribeImagesResponse SYSTEM "http://192.0.2.1/x.dtd"><DescribeImagesResponse/>"#;
    for body in [laughs, external, undeclared.as_str(), external_dtd] {
        let error = decode_describe_images(body.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert!(!error.message().contains("lollollol"));
        assert!(!error.message().contains("root:"));
    }
    // Deep nesting, and more elements than the cap allows, stop early.
    let deep = format!(
        "<DescribeImagesResponse>{}{}</DescribeImagesResponse>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let error = decode_describe_images(deep.as_bytes()).unwrap_err();
    assert!(error.message().contains("nested"), "{error}");
}

#[test]
fn ten_megabyte_bodies() {
    // A valid 10 MB page decodes: about 12,000 images.
    let item = "<item><imageId>ami-0123456789abcdef0</imageId><name>golden-web-2026-12-01</name><imageState>available</imageState>\
        <imageOwnerId>123456789012</imageOwnerId><isPublic>false</isPublic><creationDate>2026-12-01T10:00:00.000Z</creationDate>\
        <blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-0aa0000000000000a</snapshotId><volumeSize>8</volumeSize></ebs></item></blockDeviceMapping>\
        <tagSet><item><key>family</key><value>web</value></item></tagSet></item>";
    let count = 10 * 1024 * 1024 / item.len() + 1;
    let body = format!(
        "<DescribeImagesResponse><imagesSet>{}</imagesSet><nextToken>t</nextToken></DescribeImagesResponse>",
        item.repeat(count)
    );
    assert!(body.len() >= 10 * 1024 * 1024);
    let page = decode_describe_images(body.as_bytes()).unwrap();
    assert_eq!(page.items.len(), count);
    // 10 MB of one text node, of garbage, and an unclosed 10 MB document.
    let text = one_item(&format!("<name>{}</name>", "x".repeat(10 << 20)));
    assert_eq!(
        decode_describe_images(text.as_bytes()).unwrap().items[0]
            .name
            .as_ref()
            .map(String::len),
        Some(10 << 20)
    );
    let garbage = vec![b'<'; 10 << 20];
    assert!(decode_describe_images(&garbage).is_err());
    let unclosed = format!("<DescribeImagesResponse><imagesSet>{}", item.repeat(count));
    let error = decode_describe_images(unclosed.as_bytes()).unwrap_err();
    assert!(error.body().len() <= imagecat_http::SNIPPET_LIMIT + "…".len());
    // More elements than the cap, each tiny: refused, not built.
    let many = format!(
        "<DescribeImagesResponse>{}</DescribeImagesResponse>",
        "<a/>".repeat(xml::MAX_NODES + 1)
    );
    assert!(
        xml::parse(many.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("elements")
    );
    // Over the cap: refused before parsing.
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(xml::parse(&huge).unwrap_err().to_string().contains("cap"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_describe_images(&body);
        let _ = imagecat_ec2::error::document(&body);
    }

    #[test]
    fn fixtures_with_a_byte_changed_never_panic(at in 0usize..4096, byte in any::<u8>()) {
        for fixture in [AWS_DOCS, MOTO, LEGACY] {
            let mut body = fixture.as_bytes().to_vec();
            let at = at % body.len();
            body[at] = byte;
            let _ = decode_describe_images(&body);
        }
    }

    #[test]
    fn xmlish_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<DescribeImagesResponse>"), Just("</DescribeImagesResponse>"),
        Just("<imagesSet>"), Just("</imagesSet>"), Just("<item>"), Just("</item>"),
        Just("<imageId>ami-1</imageId>"), Just("<isPublic>maybe</isPublic>"),
        Just("<volumeSize>9</volumeSize>"), Just("<ebs>"), Just("</ebs>"),
        Just("<blockDeviceMapping>"), Just("</blockDeviceMapping>"),
        Just("&amp;"), Just("&bogus;"), Just("<![CDATA[x]]>"), Just("<!-- c -->"),
        Just("<nextToken>t</nextToken>"), Just("<x/>"), Just("text"),
    ], 0..40)) {
        let body = parts.concat();
        let _ = decode_describe_images(body.as_bytes());
    }
}

#[test]
fn decode_page_body_is_the_page_of_any_token() {
    for token in [None, Some(PageToken::Link("tok".into()))] {
        let page = imagecat_ec2::decode_page_body(MOTO.as_bytes(), token).unwrap();
        let direct = decode_describe_images(MOTO.as_bytes()).unwrap();
        let ids =
            |p: &imagecat_core::raw::Page| p.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&page), ids(&direct));
        assert_eq!(page.next, direct.next);
    }
}

//! A bounded XML tree read with quick-xml's pull reader: what the EC2 and
//! Auto Scaling decoders walk.
//!
//! Why the reader and not quick-xml's serde: EC2 says the order of elements
//! "might vary" and its namespace differs between AWS (trailing `/`), moto
//! and old API versions, so elements are matched by local name; the native
//! record keeps every element, known or not; a field imagecat reads that
//! appears twice must be an error (the workspace's duplicate-key rule,
//! `imagecat_core::raw::lenient`), which serde's `Vec`-tolerant XML mapping
//! would not say; and the limits below have to hold before anything is
//! allocated for a hostile body.
//!
//! What is refused (an [`XmlError`], which the callers turn into
//! `InvalidResponse`): a body over [`MAX_BODY_BYTES`], more than
//! [`MAX_DEPTH`] nested elements or [`MAX_NODES`] elements, a
//! `<!DOCTYPE …>` (so no DTD, no custom or external entity: quick-xml never
//! expands one either, and an entity other than the five predefined ones and
//! character references is refused), mismatched or unclosed tags, text
//! outside the root, several roots, and bytes that are not UTF-8.

use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

/// The largest body decoded: the workspace's default HTTP body cap
/// (`imagecat_http::HttpOptions::max_body_bytes`, 64 MiB). A DescribeImages
/// page of 1,000 AMIs is about 2 MB.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The deepest nesting accepted (EC2 documents nest about 8 deep).
pub const MAX_DEPTH: usize = 32;
/// The most elements accepted in one document: a page of 1,000 AMIs with
/// many tags and block devices is under 100,000. It bounds the tree's
/// memory (about 100 bytes an element) whatever the body: 64 MiB of `<a/>`
/// would otherwise be 16 million elements.
pub const MAX_NODES: usize = 500_000;

/// An element: its local name (namespace prefix dropped), its text (the
/// concatenation of its text and CDATA, trimmed) and its child elements in
/// document order. Attributes are ignored (EC2 sends only `xmlns`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The local name.
    pub name: String,
    /// The text content, entities resolved, trimmed.
    pub text: String,
    /// The child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// The children named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The one child named `name`: `Ok(None)` when there is none, an error
    /// when there are several (never "first wins").
    pub fn one(&self, name: &str) -> Result<Option<&Element>, XmlError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(XmlError::new(format!(
                "<{}> has more than one <{name}>",
                self.name
            )));
        }
        Ok(first)
    }

    /// The text of the one child named `name`, when present.
    pub fn text_of(&self, name: &str) -> Result<Option<&str>, XmlError> {
        Ok(self.one(name)?.map(|e| e.text.as_str()))
    }

    /// The first descendant (depth first, this element included) named
    /// `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Why a body is not an XML document imagecat reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(String);

impl XmlError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        XmlError(message.into())
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

/// Parses `body` into its root element, within the limits above.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(XmlError::new(format!(
            "the body is {} bytes, over the {MAX_BODY_BYTES}-byte cap",
            body.len()
        )));
    }
    let mut reader = Reader::from_reader(body);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| XmlError::new(format!("malformed XML near byte {position}: {e}")))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::new("more than one root element"));
            }
            Event::Start(start) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(XmlError::new(format!("more than {MAX_NODES} elements")));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::new(format!(
                        "elements nested more than {MAX_DEPTH} deep"
                    )));
                }
                stack.push(Element {
                    name: utf8(start.local_name().as_ref())?.to_owned(),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(XmlError::new(format!("more than {MAX_NODES} elements")));
                }
                let element = Element {
                    name: utf8(start.local_name().as_ref())?.to_owned(),
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let mut element = stack
                    .pop()
                    .ok_or_else(|| XmlError::new("a closing tag without an opening one"))?;
                let trimmed = element.text.trim();
                if trimmed.len() != element.text.len() {
                    element.text = trimmed.to_owned();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                let text = text
                    .xml10_content()
                    .map_err(|e| XmlError::new(format!("text is not UTF-8: {e}")))?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(data) => {
                let data = data
                    .decode()
                    .map_err(|e| XmlError::new(format!("CDATA is not UTF-8: {e}")))?;
                push_text(&mut stack, &data)?;
            }
            Event::GeneralRef(reference) => {
                let c = resolve(&reference)?;
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::DocType(_) => {
                return Err(XmlError::new(
                    "a document type declaration (<!DOCTYPE …>) is not accepted",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::new(format!(
            "the document ends inside <{}>",
            stack.last().map_or("", |e| e.name.as_str())
        )));
    }
    root.ok_or_else(|| XmlError::new("no root element"))
}

/// Text inside the open element; outside the root only whitespace is
/// allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::new("text outside the root element")),
    }
}

/// A character reference or one of the five predefined entities; anything
/// else (a custom or external entity) is refused, never expanded.
fn resolve(reference: &BytesRef<'_>) -> Result<char, XmlError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlError::new("an invalid character reference")),
        };
    }
    match reference.as_ref() {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        other => Err(XmlError::new(format!(
            "the entity &{}; is not one of XML's predefined entities (custom and external entities are never expanded)",
            String::from_utf8_lossy(&other[..other.len().min(64)])
        ))),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|_| XmlError::new("an element name is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_text_entities_and_cdata() {
        let root = parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
<a:Root xmlns:a="urn:x"><!-- c --><x> one &amp; &#x32; &lt;3&gt; </x><y/><z><![CDATA[<raw>]]></z></a:Root>"#,
        )
        .unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.text_of("x").unwrap(), Some("one & 2 <3>"));
        assert_eq!(root.text_of("y").unwrap(), Some(""));
        assert_eq!(root.text_of("z").unwrap(), Some("<raw>"));
        assert_eq!(root.text_of("w").unwrap(), None);
    }

    #[test]
    fn duplicates_are_errors_when_asked_for_one() {
        let root = parse(b"<r><x>1</x><x>2</x></r>").unwrap();
        assert!(root.one("x").is_err());
        assert_eq!(root.all("x").count(), 2);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        let cases: &[&[u8]] = &[
            b"",
            b"   ",
            b"<r>",
            b"<r><x></r>",
            b"<r></x>",
            b"<r/><s/>",
            b"text<r/>",
            b"<r>&custom;</r>",
            b"<r>&#0;</r>",
            b"<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>",
            b"<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r/>",
            b"<r>\xff\xfe</r>",
            deep.as_bytes(),
        ];
        for body in cases {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}

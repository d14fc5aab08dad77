//! The one sanitizing layer for what imagecat prints for people (tables,
//! `show`, `info`, error lines, logs): text from a server never reaches the
//! terminal with a control character in it, and table cells are capped.
//!
//! Machine formats (json, ndjson, yaml, csv, value) do not come through
//! here: they stay exact and are escaped as their format requires.

use std::borrow::Cow;
use std::io::{self, Write};

use unicode_width::UnicodeWidthChar;

/// The widest a list table cell gets, in terminal columns (an ellipsis
/// marks the cut). `-o json` keeps everything.
pub(crate) const TABLE_CELL_WIDTH: usize = 60;

/// The widest a value of `show` gets, in terminal columns.
pub(crate) const SHOW_VALUE_WIDTH: usize = 400;

/// Whether a character must be shown escaped: C0 controls (newline and tab
/// included), DEL, C1 controls, and the invisible format characters that
/// reorder or hide text (bidi overrides and isolates, zero-width marks,
/// line and paragraph separators, the byte-order mark).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// Writes the escaped form of an unsafe character: `\n`, `\r`, `\t`,
/// `\x1b` for the other C0/DEL/C1 controls, `\u202e` for the rest.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{:04x}", c as u32)),
    }
}

/// `text` safe for a terminal: every secret the process holds scrubbed
/// (`imagecat::scrub`, a server may echo one), every control or invisible
/// format character shown escaped (`\x1b`, `\u202e`), so one value stays
/// on one line.
pub(crate) fn for_terminal(text: &str) -> Cow<'_, str> {
    match imagecat::scrub(text) {
        Cow::Borrowed(text) => escape_controls(text),
        Cow::Owned(text) => Cow::Owned(escape_controls(&text).into_owned()),
    }
}

/// `text` with every control or invisible format character shown escaped.
fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` safe for a terminal and at most `max` columns wide: cut with `…`
/// when longer. Reads only as much of `text` as it keeps, so a 10 MB value
/// costs what the cell shows.
pub(crate) fn cell(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut width = 0;
    // Where to cut if the text turns out too wide: the last point at
    // which the ellipsis still fits.
    let mut cut = 0;
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        if is_unsafe(c) {
            push_escaped(&mut piece, c);
        } else {
            piece.push(c);
        }
        let w: usize = piece.chars().map(|c| c.width().unwrap_or(0)).sum();
        if width + w > max {
            out.truncate(cut);
            out.push('…');
            return out;
        }
        width += w;
        out.push_str(&piece);
        if width < max {
            cut = out.len();
        }
    }
    out
}

/// A writer that passes text through [`for_terminal`], line by line (the
/// line ends it writes stay), for log output on stderr. With `keep_colour`
/// the colour codes the log formatter writes itself (`ESC [ … m`) stay;
/// that is only set when stderr is a terminal.
#[derive(Debug)]
pub(crate) struct SanitizingWriter<W> {
    inner: W,
    keep_colour: bool,
}

impl<W: Write> SanitizingWriter<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W, keep_colour: bool) -> Self {
        SanitizingWriter { inner, keep_colour }
    }
}

impl<W: Write> Write for SanitizingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        // A log line may quote what a server sent: no secret leaves here.
        let text = imagecat::scrub(&text);
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\n' && chars.peek().is_none() {
                out.push('\n');
            } else if c == '\x1b' && self.keep_colour && chars.peek() == Some(&'[') {
                // Keep a colour code only if it is one: ESC [ digits ; m.
                let rest: String = chars
                    .clone()
                    .skip(1)
                    .take_while(|c| c.is_ascii_digit() || *c == ';')
                    .collect();
                let code_end = chars.clone().nth(1 + rest.len());
                if code_end == Some('m') {
                    out.push('\x1b');
                    out.push('[');
                    out.push_str(&rest);
                    out.push('m');
                    for _ in 0..rest.len() + 2 {
                        chars.next();
                    }
                } else {
                    push_escaped(&mut out, c);
                }
            } else if is_unsafe(c) {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
        self.inner.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        let hostile = "title\x1b]0;PWNED\x07 a\rb\u{8}c\nd\u{202e}e\u{7f}\u{9b}";
        let shown = for_terminal(hostile);
        assert_eq!(
            shown,
            "title\\x1b]0;PWNED\\x07 a\\rb\\x08c\\nd\\u202ee\\x7f\\x9b"
        );
        assert!(!shown.chars().any(is_unsafe));
        assert!(matches!(for_terminal("plain 이미지"), Cow::Borrowed(_)));
    }

    #[test]
    fn cells_are_capped_by_display_width() {
        assert_eq!(cell("short", 10), "short");
        assert_eq!(cell("0123456789", 10), "0123456789");
        assert_eq!(cell("0123456789a", 10), "012345678…");
        // Wide characters count two columns.
        let wide = cell(&"이".repeat(20), 10);
        assert_eq!(wide, format!("{}…", "이".repeat(4)));
        let huge = "n".repeat(10 * 1024 * 1024);
        assert_eq!(
            cell(&huge, TABLE_CELL_WIDTH).chars().count(),
            TABLE_CELL_WIDTH
        );
        assert_eq!(cell("a\x1b[2Jb", 60), "a\\x1b[2Jb");
    }

    #[test]
    fn log_writer_escapes_all_but_its_own_colours_and_line_end() {
        let mut out = Vec::new();
        let mut w = SanitizingWriter::new(&mut out, false);
        w.write_all(b"\x1b[1mWARN\x1b[0m name=a\x1b]0;x\x07\rb\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\\x1b[1mWARN\\x1b[0m name=a\\x1b]0;x\\x07\\rb\n"
        );
        let mut out = Vec::new();
        let mut w = SanitizingWriter::new(&mut out, true);
        w.write_all(b"\x1b[1mWARN\x1b[0m a\x1b[2J\nb\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[1mWARN\x1b[0m a\\x1b[2J\\nb\n"
        );
    }
}

//! RFC 5545 §3.1 content lines: `NAME;PARAM=VALUE:VALUE`, TEXT escaping, parameter quoting,
//! folding at 75 octets (never inside a UTF-8 character) and CRLF line ends. Everything the
//! calendar module writes goes through [`IcsWriter`], so no line can escape these rules.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Longest content line, in octets, excluding the CRLF (RFC 5545 §3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// Builds an iCalendar document line by line.
#[derive(Debug, Default)]
pub struct IcsWriter {
    out: String,
}

impl IcsWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn begin(&mut self, component: &str) {
        self.line(&format!("BEGIN:{component}"));
    }

    pub fn end(&mut self, component: &str) {
        self.line(&format!("END:{component}"));
    }

    /// A property whose value is already in its wire form (numbers, dates, RRULE, enumerated
    /// values): written as given.
    pub fn raw(&mut self, name: &str, params: &[(&str, &str)], value: &str) {
        let mut line = String::with_capacity(name.len() + value.len() + 16);
        line.push_str(name);
        for (key, param) in params {
            line.push(';');
            line.push_str(key);
            line.push('=');
            line.push_str(&param_value(param));
        }
        line.push(':');
        line.push_str(value);
        self.line(&line);
    }

    /// A TEXT property (SUMMARY, DESCRIPTION, LOCATION, …): the value is escaped.
    pub fn text(&mut self, name: &str, value: &str) {
        self.raw(name, &[], &escape_text(value));
    }

    /// A UTC DATE-TIME property (`20300304T080000Z`).
    pub fn utc(&mut self, name: &str, at: DateTime<Utc>) {
        self.raw(name, &[], &utc_stamp(at));
    }

    /// A local DATE-TIME property tied to a VTIMEZONE (`DTSTART;TZID=Europe/Berlin:…`).
    pub fn local(&mut self, name: &str, tzid: &str, at: NaiveDateTime) {
        self.raw(name, &[("TZID", tzid)], &local_stamp(at));
    }

    /// The document, every line ending in CRLF.
    pub fn finish(self) -> String {
        self.out
    }

    fn line(&mut self, line: &str) {
        push_folded(&mut self.out, line);
    }
}

/// `20300304T080000Z`.
pub fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `20300304T090000` (a "floating" form, meaningful with a TZID).
pub fn local_stamp(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%S").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma get a backslash,
/// line breaks become `\n`, and other control characters (not allowed in TEXT) are dropped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                // CRLF and a lone CR are one line break each.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (RFC 5545 §3.2): quoted when it contains `:`, `;` or `,`; DQUOTE and
/// control characters cannot appear at all, so they are dropped.
fn param_value(value: &str) -> String {
    let clean: String = value.chars().filter(|c| *c != '"' && (!c.is_control() || *c == '\t')).collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Appends `line` folded into pieces of at most 75 octets: the first piece as is, every
/// further one after CRLF and one space (which counts towards its 75), cut only on UTF-8
/// character boundaries.
fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut room = MAX_LINE_OCTETS;
    while rest.len() > room {
        let mut cut = room;
        // A character is at most 4 octets and `room` at least 74, so `cut` stays positive.
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = MAX_LINE_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(line: &str) -> String {
        let mut out = String::new();
        push_folded(&mut out, line);
        out
    }

    /// Reverses folding (RFC 5545 §3.1: a CRLF followed by one space or tab is removed).
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "").replace("\r\n\t", "")
    }

    fn physical_lines(text: &str) -> Vec<&str> {
        let body = text.strip_suffix("\r\n").expect("ends with CRLF");
        body.split("\r\n").collect()
    }

    #[test]
    fn escapes_text_specials() {
        assert_eq!(escape_text(r"a\b"), r"a\\b");
        assert_eq!(escape_text("Room 1; floor 2, east"), r"Room 1\; floor 2\, east");
        assert_eq!(escape_text("line one\nline two"), r"line one\nline two");
        assert_eq!(escape_text("crlf\r\nand cr\rend"), r"crlf\nand cr\nend");
        assert_eq!(escape_text("colon: stays"), "colon: stays");
        assert_eq!(escape_text("bell\u{7}tab\t"), "belltab\t");
        assert_eq!(escape_text("Zoë — 会議室"), "Zoë — 会議室");
    }

    #[test]
    fn short_lines_are_not_folded() {
        assert_eq!(folded("SUMMARY:Lab 3"), "SUMMARY:Lab 3\r\n");
        let exactly = format!("X:{}", "a".repeat(MAX_LINE_OCTETS - 2));
        assert_eq!(folded(&exactly), format!("{exactly}\r\n"));
    }

    #[test]
    fn long_ascii_lines_fold_at_75_octets() {
        let line = format!("DESCRIPTION:{}", "x".repeat(300));
        let out = folded(&line);
        let lines = physical_lines(&out);
        assert!(lines.len() > 1);
        assert_eq!(lines[0].len(), 75);
        for continuation in &lines[1..] {
            assert!(continuation.starts_with(' '));
            assert!(continuation.len() <= 75);
        }
        assert_eq!(lines[1].len(), 75, "a full continuation line is the space plus 74 octets");
        assert_eq!(unfold(&out), format!("{line}\r\n"));
    }

    #[test]
    fn folding_never_splits_a_utf8_character() {
        for prefix in 0..8 {
            // Multi-octet characters at every offset relative to the fold point.
            let line = format!("SUMMARY:{}{}", "a".repeat(prefix), "é€😀会".repeat(40));
            let out = folded(&line);
            for physical in physical_lines(&out) {
                assert!(physical.len() <= MAX_LINE_OCTETS, "{} octets: {physical:?}", physical.len());
            }
            // Every piece is valid UTF-8 by construction (they are &str slices); unfolding
            // gives back the original line exactly.
            assert_eq!(unfold(&out), format!("{line}\r\n"));
        }
    }

    #[test]
    fn parameters_are_quoted_when_needed() {
        let mut w = IcsWriter::new();
        w.raw("DTSTART", &[("TZID", "America/Argentina/Buenos_Aires")], "20300101T090000");
        w.raw("X-TEST", &[("P", "a:b;c,d\"e")], "v");
        let out = w.finish();
        assert!(out.contains("DTSTART;TZID=America/Argentina/Buenos_Aires:20300101T090000\r\n"));
        assert!(out.contains("X-TEST;P=\"a:b;c,de\":v\r\n"));
    }

    #[test]
    fn writer_ends_every_line_with_crlf() {
        let mut w = IcsWriter::new();
        w.begin("VEVENT");
        w.text("SUMMARY", "Room, with; specials\\ and\nnewline");
        w.utc("DTSTAMP", DateTime::from_timestamp(1_900_000_000, 0).expect("instant"));
        w.end("VEVENT");
        let out = w.finish();
        assert_eq!(
            out,
            "BEGIN:VEVENT\r\nSUMMARY:Room\\, with\\; specials\\\\ and\\nnewline\r\nDTSTAMP:20300317T174640Z\r\nEND:VEVENT\r\n"
        );
        assert!(!out.replace("\r\n", "").contains(['\r', '\n']));
    }
}

//! Text at the command boundary: every string a command carries passes here before it can
//! become part of an event, so whatever the log accepts every read model on every backend
//! can store (PostgreSQL refuses U+0000 in `text`; SQLite does not, so the two would drift).
//!
//! Rules, for every field:
//! * control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F) are refused,
//!   except line feed and tab in multi-line free text (descriptions, comments, reasons),
//!   where a CR LF pair is first normalised to LF;
//! * single-line text also refuses the Unicode line and paragraph separators (U+2028, U+2029);
//! * surrounding whitespace is trimmed, and lengths are counted in characters after trimming;
//! * a required field that is blank after trimming is refused.
//!
//! A refusal is [`Rejection::InvalidField`], naming the field as clients spell it, so the
//! HTTP layer can answer `422` pointing at it.

use crate::rejection::Rejection;

/// Longest display name (resources, groups), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest short single-line value (a location), in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest multi-line description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest reason or comment attached to a decision, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What a field may hold besides its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no control characters at all.
    Single,
    /// Free text: line feeds and tabs allowed.
    Multi,
}

/// The rules for one text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The field's name as clients send it (`name`, `description`, `reason`, …).
    pub field: &'static str,
    /// Single-line or multi-line.
    pub lines: Lines,
    /// Fewest characters after trimming; 0 lets the field be empty.
    pub min_chars: usize,
    /// Most characters after trimming.
    pub max_chars: usize,
}

impl TextRule {
    /// A required single-line field of 1 to `max_chars` characters.
    pub const fn name(field: &'static str, max_chars: usize) -> Self {
        Self { field, lines: Lines::Single, min_chars: 1, max_chars }
    }

    /// An optional single-line field of at most `max_chars` characters.
    pub const fn line(field: &'static str, max_chars: usize) -> Self {
        Self { field, lines: Lines::Single, min_chars: 0, max_chars }
    }

    /// An optional multi-line field of at most `max_chars` characters.
    pub const fn free_text(field: &'static str, max_chars: usize) -> Self {
        Self { field, lines: Lines::Multi, min_chars: 0, max_chars }
    }

    /// The value as it is to be recorded (trimmed; CR LF as LF in free text), or why not.
    pub fn check(&self, value: &str) -> Result<String, Rejection> {
        let normalised = match self.lines {
            Lines::Multi if value.contains('\r') => value.replace("\r\n", "\n"),
            _ => value.to_string(),
        };
        let trimmed = normalised.trim();
        if let Some(bad) = trimmed.chars().find(|c| !self.allows(*c)) {
            let what = if bad.is_control() { "control characters" } else { "line or paragraph separators" };
            return Err(self.refuse(format!("must not contain {what} (found U+{:04X})", u32::from(bad))));
        }
        let chars = trimmed.chars().count();
        if chars < self.min_chars {
            return Err(self.refuse(if self.min_chars == 1 {
                "must not be blank".to_string()
            } else {
                format!("must be at least {} characters long", self.min_chars)
            }));
        }
        if chars > self.max_chars {
            return Err(self.refuse(format!("must be at most {} characters long", self.max_chars)));
        }
        Ok(trimmed.to_string())
    }

    /// [`TextRule::check`] for an optional value; a blank one becomes `None`.
    pub fn check_optional(&self, value: Option<&str>) -> Result<Option<String>, Rejection> {
        match value {
            None => Ok(None),
            Some(text) => self.check(text).map(|t| Some(t).filter(|t| !t.is_empty())),
        }
    }

    fn allows(&self, c: char) -> bool {
        match self.lines {
            Lines::Single => !c.is_control() && c != '\u{2028}' && c != '\u{2029}',
            Lines::Multi => !c.is_control() || c == '\n' || c == '\t',
        }
    }

    /// A rejection naming this rule's field.
    pub fn refuse(&self, reason: impl Into<String>) -> Rejection {
        Rejection::invalid_field(self.field, reason)
    }
}

/// An opaque token produced by the service itself (a password hash, a token hash): printable
/// ASCII without spaces, 1 to `max_chars` long. Refused with the field named otherwise.
pub fn check_opaque(field: &'static str, value: &str, max_chars: usize) -> Result<(), Rejection> {
    if value.is_empty() || value.len() > max_chars || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Rejection::invalid_field(field, format!("must be 1 to {max_chars} printable ASCII characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Rejection) -> String {
        match r {
            Rejection::InvalidField { field, .. } => field,
            other => panic!("not a field rejection: {other:?}"),
        }
    }

    #[test]
    fn nul_and_other_control_characters_are_refused_naming_the_field() {
        let name = TextRule::name("name", MAX_NAME_CHARS);
        for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}", "a\u{85}b", "a\nb", "a\tb", "a\u{2028}b"] {
            assert_eq!(field_of(name.check(bad).unwrap_err()), "name", "{bad:?}");
        }
        let text = TextRule::free_text("description", MAX_DESCRIPTION_CHARS);
        assert_eq!(field_of(text.check("a\u{0}b").unwrap_err()), "description");
        assert!(text.check("a\u{c}b").is_err());
    }

    #[test]
    fn free_text_keeps_line_feeds_and_tabs_and_normalises_crlf() {
        let text = TextRule::free_text("comment", MAX_NOTE_CHARS);
        assert_eq!(text.check("  line 1\r\n\tline 2\n").unwrap(), "line 1\n\tline 2");
        assert!(text.check("a\rb").is_err(), "a lone CR is not a line break");
    }

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        let name = TextRule::name("name", 5);
        assert_eq!(name.check("  Room ").unwrap(), "Room");
        assert!(name.check("   ").unwrap_err().to_string().contains("blank"));
        assert_eq!(name.check("Äöü€x").unwrap(), "Äöü€x", "length counts characters, not bytes");
        assert!(name.check("Äöü€xy").is_err());
    }

    #[test]
    fn optional_blank_text_is_absent() {
        let reason = TextRule::free_text("reason", MAX_NOTE_CHARS);
        assert_eq!(reason.check_optional(Some("  ")).unwrap(), None);
        assert_eq!(reason.check_optional(Some(" late ")).unwrap(), Some("late".into()));
        assert_eq!(reason.check_optional(None).unwrap(), None);
        assert!(reason.check_optional(Some("\u{0}")).is_err());
    }

    #[test]
    fn opaque_tokens_are_printable_ascii() {
        assert!(check_opaque("password_hash", "$argon2id$v=19$m=19456,t=2,p=1$abc$def", 512).is_ok());
        for bad in ["", "a b", "a\u{0}", "é"] {
            assert_eq!(field_of(check_opaque("password_hash", bad, 512).unwrap_err()), "password_hash");
        }
    }
}

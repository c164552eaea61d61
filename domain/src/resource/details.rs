//! The text rules of a resource's descriptive fields and of the notes people attach to
//! decisions about it, applied by `decide` before anything reaches an event.

use crate::rejection::Rejection;
use crate::resource::state::ResourceDetails;
use crate::text::{TextRule, MAX_DESCRIPTION_CHARS, MAX_LINE_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS};

/// Most tags one resource may carry.
pub const MAX_TAGS: usize = 50;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// `name`: required, one line.
pub const NAME: TextRule = TextRule::name("name", MAX_NAME_CHARS);
/// `description`: free text.
pub const DESCRIPTION: TextRule = TextRule::free_text("description", MAX_DESCRIPTION_CHARS);
/// `location`: one line, may be empty.
pub const LOCATION: TextRule = TextRule::line("location", MAX_LINE_CHARS);
/// Each of `tags`: required, one line.
pub const TAG: TextRule = TextRule::name("tags", MAX_TAG_CHARS);
/// `reason` of a cancellation, a retirement or a blackout: free text, may be empty.
pub const REASON: TextRule = TextRule::free_text("reason", MAX_NOTE_CHARS);
/// `comment` of an approval or a rejection: free text, may be empty.
pub const COMMENT: TextRule = TextRule::free_text("comment", MAX_NOTE_CHARS);

impl ResourceDetails {
    /// The details as they are to be recorded (trimmed), or the first field that breaks a rule.
    /// A tag may not contain `,` or `;`: those separate tags in CSV files, so such a tag could
    /// not be exported and read back as itself.
    pub fn normalised(&self) -> Result<ResourceDetails, Rejection> {
        if self.tags.len() > MAX_TAGS {
            return Err(TAG.refuse(format!("at most {MAX_TAGS} tags")));
        }
        let mut tags = Vec::with_capacity(self.tags.len());
        for tag in &self.tags {
            let tag = TAG.check(tag)?;
            if tag.contains([',', ';']) {
                return Err(TAG.refuse(format!("tag {tag:?} must not contain ',' or ';'")));
            }
            tags.push(tag);
        }
        Ok(ResourceDetails {
            name: NAME.check(&self.name)?,
            kind: self.kind,
            tags,
            description: DESCRIPTION.check(&self.description)?,
            location: LOCATION.check(&self.location)?,
            group_id: self.group_id,
        })
    }
}

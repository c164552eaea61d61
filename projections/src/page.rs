//! Cursor pagination shared by the list queries: `{data, next_cursor, has_more}` (keyset
//! pagination, no offsets, stable under concurrent inserts).
//!
//! A cursor is opaque to clients: base64url (RFC 4648 §5, unpadded) of the last row's sort key
//! and id as JSON, followed by a check value — the first 8 bytes of SHA-256 over the name of the
//! list that issued it and that JSON. It is accepted back only by the same list (query and
//! ordering): a garbage, truncated or edited cursor, or one from another list, fails the check
//! and is [`ProjectionError::InvalidCursor`], before any SQL runs. The check is an integrity
//! check, not a secret: a client who forges one can only name a position in the same list, and
//! every value in it is still bound as a typed parameter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ProjectionError;
use crate::sql::{SqlBuilder, Value};

/// Bytes of the check value at the end of a cursor.
const CHECK_BYTES: usize = 8;
/// Longest cursor accepted; ours are far shorter.
const MAX_CURSOR_CHARS: usize = 2048;

/// The check value binding `body` to the list `list`.
fn check_value(list: &str, body: &[u8]) -> [u8; CHECK_BYTES] {
    let mut hasher = Sha256::new();
    hasher.update(b"reserver-cursor\0");
    hasher.update(list.as_bytes());
    hasher.update(b"\0");
    hasher.update(body);
    let digest = hasher.finalize();
    let mut check = [0u8; CHECK_BYTES];
    check.copy_from_slice(&digest[..CHECK_BYTES]);
    check
}

/// Encodes `position` (a list's sort key and id, any serializable shape) as a cursor of the
/// list called `list`. Lists outside this crate (webhook deliveries) use it too.
pub fn seal_cursor<T: Serialize>(list: &str, position: &T) -> String {
    let mut bytes = serde_json::to_vec(position).unwrap_or_default();
    let check = check_value(list, &bytes);
    bytes.extend_from_slice(&check);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The position a cursor of the list `list` holds; [`ProjectionError::InvalidCursor`] for
/// anything that list did not issue (or that does not decode to `T`).
pub fn open_cursor<T: DeserializeOwned>(list: &str, cursor: &str) -> Result<T, ProjectionError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        return Err(ProjectionError::InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| ProjectionError::InvalidCursor)?;
    let split = bytes.len().checked_sub(CHECK_BYTES).ok_or(ProjectionError::InvalidCursor)?;
    let (body, check) = bytes.split_at(split);
    if check != check_value(list, body) {
        return Err(ProjectionError::InvalidCursor);
    }
    serde_json::from_slice(body).map_err(|_| ProjectionError::InvalidCursor)
}

/// Largest page a query returns.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which page to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Rows per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { limit: Some(limit), cursor: None }
    }

    pub fn after(limit: u32, cursor: impl Into<String>) -> Self {
        Self { limit: Some(limit), cursor: Some(cursor.into()) }
    }

    pub(crate) fn size(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    /// The position this request's cursor holds in `list`, if it has a cursor.
    pub(crate) fn decode_for(&self, list: &CursorList) -> Result<Option<CursorKey>, ProjectionError> {
        self.cursor.as_deref().map(|c| CursorKey::decode(list, c)).transpose()
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A list that pages: its name (the query and its ordering, e.g. `resources/name/asc`) and the
/// type of its sort key. A cursor is only accepted by the list that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CursorList {
    pub name: String,
    pub key: KeyKind,
}

impl CursorList {
    pub fn new(name: impl Into<String>, key: KeyKind) -> Self {
        Self { name: name.into(), key }
    }
}

/// The type of a list's sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Int,
    Text,
}

/// The sort key and tie-breaking id of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CursorKey {
    pub key: SortValue,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum SortValue {
    Int(i64),
    Text(String),
}

impl From<SortValue> for Value {
    fn from(v: SortValue) -> Self {
        match v {
            SortValue::Int(i) => Value::Int(i),
            SortValue::Text(s) => Value::Text(s),
        }
    }
}

impl CursorKey {
    pub fn encode(&self, list: &CursorList) -> String {
        seal_cursor(&list.name, self)
    }

    /// The key a cursor of `list` holds, of the list's key type and with a plausible id.
    pub fn decode(list: &CursorList, cursor: &str) -> Result<Self, ProjectionError> {
        let key: CursorKey = open_cursor(&list.name, cursor)?;
        let kind_fits =
            matches!((list.key, &key.key), (KeyKind::Int, SortValue::Int(_)) | (KeyKind::Text, SortValue::Text(_)));
        if !kind_fits || key.id.is_empty() || key.id.len() > 128 {
            return Err(ProjectionError::InvalidCursor);
        }
        Ok(key)
    }

    /// Appends `AND (key > k OR (key = k AND id > i))` (reversed for descending order).
    pub fn push_after(&self, query: &mut SqlBuilder, key_column: &str, id_column: &str, descending: bool) {
        let op = if descending { "<" } else { ">" };
        let key: Value = self.key.clone().into();
        query.push(&format!(" AND ({key_column} {op} ")).bind(key.clone());
        query.push(&format!(" OR ({key_column} = ")).bind(key);
        query.push(&format!(" AND {id_column} {op} ")).bind(self.id.clone()).push("))");
    }
}

/// Cuts the `limit + 1` rows a query fetched into a page.
pub(crate) fn into_page<T>(
    mut rows: Vec<T>,
    limit: u32,
    list: &CursorList,
    key_of: impl Fn(&T) -> CursorKey,
) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more { rows.last().map(|r| key_of(r).encode(list)) } else { None };
    Page { data: rows, next_cursor, has_more }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> CursorList {
        CursorList::new("things/asc", KeyKind::Int)
    }

    #[test]
    fn a_cursor_opens_only_in_its_own_list() {
        let key = CursorKey { key: SortValue::Int(42), id: "abc".into() };
        let cursor = key.encode(&list());
        assert_eq!(CursorKey::decode(&list(), &cursor).expect("own list"), key);
        assert!(cursor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{cursor}");
        let other = CursorList::new("things/desc", KeyKind::Int);
        assert!(matches!(CursorKey::decode(&other, &cursor), Err(ProjectionError::InvalidCursor)));
    }

    #[test]
    fn garbage_truncated_and_edited_cursors_are_refused() {
        let cursor = CursorKey { key: SortValue::Int(42), id: "abc".into() }.encode(&list());
        let mut edited = cursor.clone().into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).expect("ascii");
        let long = "A".repeat(5000);
        for bad in ["", "x", "not a cursor!", "%00", &cursor[..cursor.len() - 1], &cursor[..10], &edited, &long] {
            assert!(matches!(CursorKey::decode(&list(), bad), Err(ProjectionError::InvalidCursor)), "{bad:?}");
        }
    }

    #[test]
    fn a_key_of_the_wrong_type_is_refused() {
        let text = CursorList::new("things/asc", KeyKind::Text);
        let cursor = CursorKey { key: SortValue::Int(1), id: "abc".into() }.encode(&text);
        assert!(matches!(CursorKey::decode(&text, &cursor), Err(ProjectionError::InvalidCursor)));
    }
}

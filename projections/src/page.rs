//! Cursor pagination shared by the list queries: `{data, next_cursor, has_more}`. A cursor is
//! the sort key and id of the last row returned, hex-encoded JSON, so it is opaque to clients
//! and stable under concurrent inserts (keyset pagination, no offsets).

use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::sql::{SqlBuilder, Value};

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

    pub(crate) fn decode(&self) -> Result<Option<CursorKey>, ProjectionError> {
        self.cursor.as_deref().map(CursorKey::decode).transpose()
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
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
    pub fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(cursor: &str) -> Result<Self, ProjectionError> {
        let bytes = hex::decode(cursor).map_err(|_| ProjectionError::InvalidCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| ProjectionError::InvalidCursor)
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
pub(crate) fn into_page<T>(mut rows: Vec<T>, limit: u32, key_of: impl Fn(&T) -> CursorKey) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more { rows.last().map(|r| key_of(r).encode()) } else { None };
    Page { data: rows, next_cursor, has_more }
}

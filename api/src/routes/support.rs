//! Small helpers shared by the route modules.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, FixedOffset, Utc};
use reserver_projections::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{etag, ApiError};
use crate::extract::LOG_POSITION_HEADER;

/// A response to a command: status, body, and the log position to read one's own write at.
pub fn written(status: StatusCode, position: u64, body: impl Serialize) -> HttpResponse {
    let mut builder = HttpResponseBuilder::new(status);
    if position > 0 {
        builder.insert_header((LOG_POSITION_HEADER, position.to_string()));
    }
    builder.json(body)
}

/// The version a client's `If-Match` names, if it sent one.
pub fn if_match(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim().trim_start_matches("W/").trim_matches('"');
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| ApiError::validation("If-Match", format!("expected an ETag like {}", etag(3))))
}

/// Cursor pagination parameters shared by list endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        if let Some(limit) = self.limit {
            if limit == 0 || limit > reserver_projections::page::MAX_PAGE_SIZE {
                return Err(ApiError::validation(
                    "limit",
                    format!("must be between 1 and {}", reserver_projections::page::MAX_PAGE_SIZE),
                ));
            }
        }
        Ok(PageRequest { limit: self.limit, cursor: self.cursor.clone() })
    }
}

/// The pagination envelope `{data, next_cursor, has_more}` (the `*Page` schemas of `api_doc::read_models`).
pub fn page_json<T, U: Serialize>(page: Page<T>, view: impl Fn(&T) -> U) -> Value {
    serde_json::json!({
        "data": page.data.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    })
}

/// An RFC 3339 instant with an explicit offset, as UTC.
pub fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ApiError::validation(field, "must be an RFC 3339 instant with an offset, e.g. 2030-01-10T09:00:00Z")
    })
}

/// For `Option<Option<T>>` fields of a patch (with `#[serde(default)]`): absent leaves the value
/// alone (`None`), `null` clears it (`Some(None)`). Plain serde reads `null` as absent.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A JSON request body, or a `422` naming what is wrong with it.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::validation("body", e.to_string()))
}

/// A CSV download.
pub fn csv(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(body)
}

//! Small helpers shared by the route modules.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
pub use reserver_app::input::{instant, json_body, nullable, PageParams};
use reserver_projections::Page;
use serde::Serialize;
use serde_json::Value;

use crate::error::etag;
use crate::extract::LOG_POSITION_HEADER;
use reserver_app::AppError;

/// A response to a command: status, body, and the log position to read one's own write at.
pub fn written(status: StatusCode, position: u64, body: impl Serialize) -> HttpResponse {
    let mut builder = HttpResponseBuilder::new(status);
    if position > 0 {
        builder.insert_header((LOG_POSITION_HEADER, position.to_string()));
    }
    builder.json(body)
}

/// The version a client's `If-Match` names, if it sent one.
pub fn if_match(req: &HttpRequest) -> Result<Option<u64>, AppError> {
    let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim().trim_start_matches("W/").trim_matches('"');
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| AppError::validation("If-Match", format!("expected an ETag like {}", etag(3))))
}

/// The pagination envelope `{data, next_cursor, has_more}` (the `*Page` schemas of `api_doc::read_models`).
pub fn page_json<T, U: Serialize>(page: Page<T>, view: impl Fn(&T) -> U) -> Value {
    serde_json::json!({
        "data": page.data.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    })
}

/// A CSV download.
pub fn csv(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(body)
}

//! RFC 9457 problem details: every error the API returns, as `application/problem+json` with a
//! stable `type` URI per kind of failure.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

/// Base of every problem `type`; the suffix names the failure and never changes.
pub const PROBLEM_BASE: &str = "https://reserver.dev/problems/";

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self { kind: format!("{PROBLEM_BASE}{slug}"), title: title.into(), status: status.as_u16(), detail: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).content_type("application/problem+json").json(self)
    }
}

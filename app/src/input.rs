//! Parsing what clients send: instants, paging, JSON bodies, patch fields.

use chrono::{DateTime, FixedOffset, Utc};
use reserver_projections::PageRequest;
use serde::Deserialize;

use crate::error::AppError;

/// Cursor pagination parameters shared by list endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageParams {
    /// Errors: `Validation` on `limit` outside 1..=MAX_PAGE_SIZE.
    pub fn request(&self) -> Result<PageRequest, AppError> {
        if let Some(limit) = self.limit {
            if limit == 0 || limit > reserver_projections::page::MAX_PAGE_SIZE {
                return Err(AppError::validation(
                    "limit",
                    format!("must be between 1 and {}", reserver_projections::page::MAX_PAGE_SIZE),
                ));
            }
        }
        Ok(PageRequest { limit: self.limit, cursor: self.cursor.clone() })
    }
}

/// An RFC 3339 instant with an explicit offset, as UTC; a leap second (`…T23:59:60Z`) becomes
/// the following second, so it is never stored verbatim. Errors: `Validation` naming `field`.
pub fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .map(|t| reserver_domain::time_range::normalize_instant(t.with_timezone(&Utc)))
        .map_err(|_| {
            AppError::validation(field, "must be an RFC 3339 instant with an offset, e.g. 2030-01-10T09:00:00Z")
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

/// A JSON request body, or a `Validation` error naming what is wrong with it.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| body_error(e.to_string()))
}

/// A body that did not deserialize, as a `Validation` error naming the field when the message
/// names one (an unknown field — never silently ignored —, a missing one), else `body`.
pub fn body_error(message: String) -> AppError {
    for prefix in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = message.split(prefix).nth(1) {
            if let Some(field) = rest.split('`').next().filter(|f| !f.is_empty()) {
                return AppError::validation(field, message.clone());
            }
        }
    }
    AppError::validation("body", message)
}

/// A single-line text a client sent, refused with a `Validation` error naming `field` when it
/// holds control characters (NUL among them: PostgreSQL cannot store it, and nothing a person
/// types contains one).
pub fn single_line<'a>(field: &str, value: &'a str) -> Result<&'a str, AppError> {
    if value.chars().any(char::is_control) {
        Err(AppError::validation(field, "must not contain control characters"))
    } else {
        Ok(value)
    }
}

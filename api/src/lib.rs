//! The HTTP API of Resource Reserver (actix-web): the routes under `/api/v1`, health and
//! metrics at the root, the WebSocket hub at `/ws`, and the OpenAPI document generated from the
//! handlers. Request logic shared with the web app lives below, in `reserver-app`; this crate
//! turns HTTP into calls of it and its errors into problem+json (in [`error`], one place).

pub mod access_log;
mod api_doc;
pub mod boundary;
pub mod error;
mod extract;
pub mod live;
pub mod metrics;
mod openapi;
mod problem;
pub mod rate_limit;
pub mod request_id;
mod routes;
mod state;
mod views;

use actix_web::error::{JsonPayloadError, UrlencodedError};
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_app::AppError;

pub use error::ApiError;
pub use routes::configure;
pub use state::ApiState;

/// The extractor settings every route relies on: body size limits, and `422` problems naming
/// the part of the request (body, query, path) that did not parse.
pub fn extractor_configs(cfg: &mut web::ServiceConfig, body_limit: usize) {
    fn invalid(part: &str, message: String) -> actix_web::Error {
        ApiError::validation(part, message).into()
    }
    let limit = body_limit as u64;
    cfg.app_data(web::PayloadConfig::new(body_limit))
        .app_data(boundary::BodyLimit(body_limit))
        .app_data(web::JsonConfig::default().limit(body_limit).error_handler(move |e, _| {
            match e {
                JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError(AppError::PayloadTooLarge { limit }).into()
                }
                JsonPayloadError::ContentType => ApiError(AppError::UnsupportedMediaType {
                    given: String::new(),
                    expected: "application/json".into(),
                })
                .into(),
                other => invalid("body", other.to_string()),
            }
        }))
        .app_data(web::FormConfig::default().limit(body_limit).error_handler(move |e, _| match e {
            UrlencodedError::Overflow { .. } => ApiError(AppError::PayloadTooLarge { limit }).into(),
            other => invalid("body", other.to_string()),
        }))
        .app_data(web::QueryConfig::default().error_handler(|e, _| invalid("query", e.to_string())))
        .app_data(web::PathConfig::default().error_handler(|e, _| invalid("path", e.to_string())));
}

/// The answer for a route nobody serves: `404` problem+json naming it.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(AppError::NotFound(format!("route {} {}", req.method(), req.path())).into())
}

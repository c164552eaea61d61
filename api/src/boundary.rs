//! What every request must satisfy before a handler sees it, and what every answer carries:
//!
//! * query parameters and the path carry no control characters (`422` naming the parameter) —
//!   they would otherwise reach the database and come back as its error;
//! * a body under `/api/` is JSON (`application/json` or `*/*+json`), except on the few routes
//!   that declare another type (`415` otherwise: a browser can send a cross-site form or
//!   `text/plain` POST without a preflight, but not JSON); a declared length over the limit is `413`;
//! * answers carry `X-Content-Type-Options: nosniff`, and API answers `Cache-Control: no-store`
//!   unless a handler chose otherwise;
//! * an error answer that is not problem+json yet (a framework error, say) becomes one — except
//!   the OAuth2 endpoints' own JSON errors (`{"error": "invalid_client"}`, RFC 6749 §5.2).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use reserver_app::AppError;

use crate::error::ApiError;
use crate::problem::Problem;

/// Routes whose bodies are not JSON, and the media types each accepts.
const OTHER_BODIES: [(&str, &[&str]); 5] = [
    ("/api/v1/token", &["application/x-www-form-urlencoded"]),
    ("/api/v1/resources/upload", &["text/csv", "multipart/form-data", "text/plain", "application/vnd.ms-excel"]),
    ("/api/v1/oauth/token", &["application/x-www-form-urlencoded"]),
    ("/api/v1/oauth/introspect", &["application/x-www-form-urlencoded"]),
    ("/api/v1/oauth/revoke", &["application/x-www-form-urlencoded"]),
];

/// Routes that answer errors in the OAuth2 form (RFC 6749 §5.2) rather than problem+json.
const OAUTH_ERROR_BODIES: [&str; 3] = ["/api/v1/oauth/token", "/api/v1/oauth/introspect", "/api/v1/oauth/revoke"];

/// The largest body a request may declare, in bytes (the same limit the extractors enforce).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let api = is_api(req.path());
    if let Err(error) = check(&req, api) {
        let response = ApiError(error).error_response();
        return Ok(finish(req.into_response(response).map_into_right_body(), api));
    }
    let response = next.call(req).await?;
    if api && response.status().as_u16() >= 400 && !is_problem(&response) && !is_oauth_error(&response) {
        let status = response.status();
        let (req, framework) = response.into_parts();
        let detail = framework.error().map(|e| e.to_string());
        let mut problem = Problem::new(status, slug(status), status.canonical_reason().unwrap_or("Error"));
        if let Some(detail) = detail.filter(|d| !d.is_empty()) {
            problem = problem.detail(detail);
        }
        let mut answer = problem.response();
        for (name, value) in framework.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                answer.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return Ok(finish(ServiceResponse::new(req, answer).map_into_right_body(), api));
    }
    Ok(finish(response.map_into_left_body(), api))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/ws" || path == "/metrics"
}

fn is_problem(response: &ServiceResponse<impl MessageBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

fn is_oauth_error(response: &ServiceResponse<impl MessageBody>) -> bool {
    OAUTH_ERROR_BODIES.contains(&response.request().path())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
}

fn slug(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not-found",
        405 => "method-not-allowed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        400..=499 => "bad-request",
        _ => "internal",
    }
}

fn finish<B>(mut response: ServiceResponse<B>, api: bool) -> ServiceResponse<B> {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}

fn check(req: &ServiceRequest, api: bool) -> Result<(), AppError> {
    if let Some(bad) = control_characters(req.path(), req.query_string()) {
        return Err(bad);
    }
    if !api || !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return Ok(());
    }
    let headers = req.headers();
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    if let (Some(length), Some(limit)) = (length, req.app_data::<BodyLimit>()) {
        if length > limit.0 as u64 {
            return Err(AppError::PayloadTooLarge { limit: limit.0 as u64 });
        }
    }
    if length.unwrap_or(0) == 0 && !chunked {
        return Ok(());
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let accepted = match OTHER_BODIES.iter().find(|(path, _)| *path == req.path()) {
        Some((_, types)) => types.contains(&media.as_str()) || is_json(&media),
        None => is_json(&media),
    };
    if accepted {
        Ok(())
    } else {
        let expected = OTHER_BODIES
            .iter()
            .find(|(path, _)| *path == req.path())
            .map(|(_, types)| types.join(", "))
            .unwrap_or_else(|| "application/json".into());
        Err(AppError::UnsupportedMediaType { given: media, expected })
    }
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The first query parameter (or the path) holding a control character once decoded.
fn control_characters(path: &str, query: &str) -> Option<AppError> {
    let bad = |text: &str| text.chars().any(char::is_control);
    let decoded_path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    if bad(&decoded_path) {
        return Some(AppError::validation("path", "must not contain control characters"));
    }
    form_urlencoded::parse(query.as_bytes()).find_map(|(key, value)| {
        (bad(&key) || bad(&value)).then(|| AppError::validation(&key, "must not contain control characters"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_in_parameters_and_paths() {
        assert!(control_characters("/api/v1/resources", "q=a%00b").is_some());
        assert!(control_characters("/api/v1/resources/a%00b", "").is_some());
        assert!(control_characters("/api/v1/resources", "q=caf%C3%A9&limit=5").is_none());
        match control_characters("/api/v1/audit/logs", "action=x&user=%1F") {
            Some(AppError::Validation { field, .. }) => assert_eq!(field, "user"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}

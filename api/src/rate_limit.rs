//! Tiered rate limits on `/api/`: anonymous callers by address, authenticated callers by user
//! (admins with a larger allowance), and a strict allowance for login, registration, refresh
//! and setup. Answers carry `RateLimit-*` headers; a refusal is `429` with `Retry-After`.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use reserver_auth::{RateInfo, Tier};

use crate::error::ApiError;
use crate::extract::{authenticate, client_ip};
use reserver_app::AppError;
use reserver_app::Services;

const AUTH_PATHS: [&str; 7] = [
    "/api/v1/token",
    "/api/v1/register",
    "/api/v1/setup/",
    "/api/v1/logout",
    "/api/v1/oauth/token",
    "/api/v1/oauth/introspect",
    "/api/v1/oauth/revoke",
];
/// The web app's forms that take a password count in the same tier as the API's.
const WEB_AUTH_FORMS: [&str; 5] = ["/login", "/login/mfa", "/register", "/setup", "/password"];

fn is_web_auth_form(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::POST && WEB_AUTH_FORMS.contains(&req.path())
}

fn tier_and_key(req: &ServiceRequest) -> (Tier, String) {
    let address = client_ip(req.request()).map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    if AUTH_PATHS.iter().any(|p| req.path().starts_with(p)) || is_web_auth_form(req) {
        return (Tier::AuthEndpoint, address);
    }
    match authenticate(req.request(), None) {
        Ok(user) => {
            let tier = (Tier::for_role(Some(user.role)), user.user_id.to_string());
            // The handler's extractor reuses it instead of verifying the token again.
            req.extensions_mut().insert(user);
            tier
        }
        Err(_) => (Tier::Anonymous, address),
    }
}

fn set(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: u64) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<Services>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // The upgrade to a live connection counts like any API request: it is not free to open.
    if !req.path().starts_with("/api/") && req.path() != "/ws" && !is_web_auth_form(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let (tier, key) = tier_and_key(&req);
    match state.rate_limits.check(tier, &key) {
        Ok(info) => {
            let mut response = next.call(req).await?.map_into_left_body();
            if !RateInfo::is_unlimited(&info) {
                let headers = response.headers_mut();
                set(headers, "ratelimit-limit", u64::from(info.limit));
                set(headers, "ratelimit-remaining", u64::from(info.remaining));
                set(headers, "ratelimit-reset", info.reset_seconds);
            }
            Ok(response)
        }
        Err(limited) => {
            let error =
                ApiError(AppError::TooManyRequests { retry_after: limited.retry_after_seconds, limit: limited.limit });
            let mut response = error.error_response();
            let headers = response.headers_mut();
            set(headers, "ratelimit-limit", u64::from(limited.limit));
            set(headers, "ratelimit-remaining", 0);
            set(headers, "ratelimit-reset", limited.retry_after_seconds);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

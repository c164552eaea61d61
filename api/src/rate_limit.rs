//! Tiered rate limits on `/api/`: anonymous callers by address, authenticated callers by user
//! (admins with a larger allowance), and a strict allowance for login, registration, refresh
//! and setup. Authenticated callers also draw from a daily quota of their tier (see
//! `reserver_app::quota_meter`); anonymous callers have the per-minute limit only.
//!
//! Answers carry `RateLimit-Policy` naming every window that applies (`600;w=60, 10000;w=86400`)
//! and `RateLimit-Limit`/`-Remaining`/`-Reset` of the one closest to running out (the per-minute
//! one unless the day has fewer requests left). A refusal is `429` with `Retry-After`:
//! `rate-limited` for the minute, `api-quota-exceeded` for the day (until the next UTC midnight).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use reserver_app::quota_meter::{QuotaStanding, QuotaTier};
use reserver_auth::{RateInfo, Tier};
use uuid::Uuid;

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

/// The per-minute tier and key of a request, and who its daily quota is counted for (an
/// authenticated caller on an ordinary route).
fn tier_and_key(req: &ServiceRequest) -> (Tier, String, Option<(Uuid, QuotaTier)>) {
    let address = client_ip(req.request()).map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    if AUTH_PATHS.iter().any(|p| req.path().starts_with(p)) || is_web_auth_form(req) {
        return (Tier::AuthEndpoint, address, None);
    }
    match authenticate(req.request(), None) {
        Ok(user) => {
            let quota = (user.user_id, QuotaTier::of(user.role, user.is_client()));
            let tier = (Tier::for_role(Some(user.role)), user.user_id.to_string(), Some(quota));
            // The handler's extractor reuses it instead of verifying the token again.
            req.extensions_mut().insert(user);
            tier
        }
        Err(_) => (Tier::Anonymous, address, None),
    }
}

fn set(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: u64) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

fn set_text(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// `RateLimit-Policy`: every window that limits this caller (`limit;w=seconds`, comma-separated).
fn policy(minute: &RateInfo, day: Option<&QuotaStanding>) -> Option<String> {
    let mut parts = Vec::new();
    if !minute.is_unlimited() {
        parts.push(format!("{};w=60", minute.limit));
    }
    if let Some(day) = day.filter(|d| !d.is_unlimited()) {
        parts.push(format!("{};w=86400", day.limit));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The `RateLimit-*` headers of an admitted request: the policy, and the window closest to
/// running out.
fn standing_headers(headers: &mut actix_web::http::header::HeaderMap, minute: &RateInfo, day: Option<&QuotaStanding>) {
    if let Some(policy) = policy(minute, day) {
        set_text(headers, "ratelimit-policy", &policy);
    }
    let day = day.filter(|d| !d.is_unlimited());
    match day {
        Some(d) if minute.is_unlimited() || d.remaining < u64::from(minute.remaining) => {
            set(headers, "ratelimit-limit", d.limit);
            set(headers, "ratelimit-remaining", d.remaining);
            set(headers, "ratelimit-reset", d.reset_seconds);
        }
        _ if !minute.is_unlimited() => {
            set(headers, "ratelimit-limit", u64::from(minute.limit));
            set(headers, "ratelimit-remaining", u64::from(minute.remaining));
            set(headers, "ratelimit-reset", minute.reset_seconds);
        }
        _ => {}
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
    let (tier, key, quota) = tier_and_key(&req);
    let minute = match state.rate_limits.check(tier, &key) {
        Ok(info) => info,
        Err(limited) => {
            let error =
                ApiError(AppError::TooManyRequests { retry_after: limited.retry_after_seconds, limit: limited.limit });
            let mut response = error.error_response();
            let headers = response.headers_mut();
            set(headers, "ratelimit-limit", u64::from(limited.limit));
            set(headers, "ratelimit-remaining", 0);
            set(headers, "ratelimit-reset", limited.retry_after_seconds);
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    let day = match quota {
        Some((subject, quota_tier)) => match state.quotas.check(subject, quota_tier) {
            Ok(standing) => Some(standing),
            Err(exceeded) => {
                let error = ApiError(AppError::ApiQuotaExceeded {
                    limit: exceeded.limit,
                    retry_after: exceeded.retry_after,
                    resets_at: exceeded.resets_at,
                });
                let mut response = error.error_response();
                let headers = response.headers_mut();
                let mut parts = Vec::new();
                if !minute.is_unlimited() {
                    parts.push(format!("{};w=60", minute.limit));
                }
                parts.push(format!("{};w=86400", exceeded.limit));
                set_text(headers, "ratelimit-policy", &parts.join(", "));
                set(headers, "ratelimit-limit", exceeded.limit);
                set(headers, "ratelimit-remaining", 0);
                set(headers, "ratelimit-reset", exceeded.retry_after);
                return Ok(req.into_response(response).map_into_right_body());
            }
        },
        None => None,
    };
    let mut response = next.call(req).await?.map_into_left_body();
    standing_headers(response.headers_mut(), &minute, day.as_ref());
    Ok(response)
}

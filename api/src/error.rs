//! The API's one error type, and the one place errors of every layer become HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use reserver_app::AppError;
use reserver_domain::Rejection;

use crate::problem::Problem;

/// An error on its way to the client: the application layer's [`AppError`], answered as
/// RFC 9457 problem+json. Converts from every lower layer's error through `AppError`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E> From<E> for ApiError
where
    AppError: From<E>,
{
    fn from(e: E) -> Self {
        ApiError(AppError::from(e))
    }
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError(AppError::validation(field, message))
    }

    pub fn problem(&self) -> Problem {
        problem(&self.0)
    }
}

/// The problem+json body of an application error: status, stable `type`, and extensions.
pub fn problem(error: &AppError) -> Problem {
    use StatusCode as S;
    match error {
        AppError::Rejected(r) => rejection_problem(r),
        AppError::Validation { field, message } => {
            Problem::new(S::UNPROCESSABLE_ENTITY, "validation-error", "Invalid request")
                .detail(format!("{field}: {message}"))
                .with("errors", [serde_json::json!({ "field": field, "message": message })])
        }
        AppError::InvalidRows { rows } => {
            let errors: Vec<_> = rows
                .iter()
                .map(|(line, column, message)| {
                    serde_json::json!({ "field": "file", "line": line, "column": column, "message": message })
                })
                .collect();
            Problem::new(S::UNPROCESSABLE_ENTITY, "validation-error", "Invalid request")
                .detail(format!("{} invalid rows; nothing was created", rows.len()))
                .with("errors", errors)
        }
        AppError::Refused { slug, field, message } => Problem::new(S::UNPROCESSABLE_ENTITY, slug, "Request refused")
            .detail(format!("{field}: {message}"))
            .with("errors", [serde_json::json!({ "field": field, "message": message })]),
        AppError::Unauthorized(m) => Problem::new(S::UNAUTHORIZED, "unauthorized", "Not authenticated").detail(m),
        AppError::Forbidden(m) => Problem::new(S::FORBIDDEN, "forbidden", "Not allowed").detail(m),
        AppError::InsufficientScope { scope } => Problem::new(S::FORBIDDEN, "insufficient-scope", "Insufficient scope")
            .detail(format!("this client's token lacks the scope `{scope}` this route needs"))
            .with("scope", scope),
        AppError::MfaRequired { mfa_token } => Problem::new(S::UNAUTHORIZED, "mfa-required", "One-time code required")
            .detail("the password is right; send a one-time code with this mfa_token to POST /api/v1/token/mfa")
            .with("mfa_token", mfa_token),
        AppError::AccountDisabled => Problem::new(S::FORBIDDEN, "account-disabled", "Account disabled")
            .detail("an administrator disabled this account"),
        AppError::PasswordChangeRequired => {
            Problem::new(S::FORBIDDEN, "password-change-required", "Password change required")
                .detail("an administrator reset your password; set a new one with POST /api/v1/users/me/password")
        }
        AppError::MfaSetupRequired => Problem::new(S::FORBIDDEN, "mfa-setup-required", "MFA setup required").detail(
            "an administrator requires two-step verification for your role; turn it on with \
                 POST /api/v1/auth/mfa/setup and POST /api/v1/auth/mfa/verify",
        ),
        AppError::NotFound(what) => {
            Problem::new(S::NOT_FOUND, "not-found", "Not found").detail(format!("{what} not found"))
        }
        AppError::Conflict { slug, detail } => Problem::new(S::CONFLICT, slug, "Conflict").detail(detail),
        AppError::PreconditionFailed { current } => {
            Problem::new(S::PRECONDITION_FAILED, "precondition-failed", "The resource has changed")
                .detail("If-Match does not match the current version; reload and retry")
                .with("current_etag", etag(*current))
        }
        AppError::IdempotencyKeyReused => {
            Problem::new(S::UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Idempotency key reused")
                .detail("this Idempotency-Key was already used for a different request")
        }
        AppError::LoginThrottled { retry_after } => {
            Problem::new(S::TOO_MANY_REQUESTS, "login-throttled", "Too many failed logins")
                .detail(format!("too many failed logins; wait {retry_after} s before trying again"))
                .with("retry_after", retry_after)
        }
        AppError::TooManyRequests { retry_after, limit } => {
            Problem::new(S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests")
                .detail(format!("limit of {limit} requests per minute reached; retry in {retry_after} s"))
                .with("retry_after", retry_after)
        }
        AppError::ApiQuotaExceeded { limit, retry_after, resets_at } => {
            Problem::new(S::TOO_MANY_REQUESTS, "api-quota-exceeded", "Daily API quota exceeded")
                .detail(format!(
                    "the daily quota of {limit} API requests is used up; it resets at {} (in {retry_after} s)",
                    resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
                .with("limit", limit)
                .with("resets_at", resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .with("retry_after", retry_after)
        }
        AppError::NotCaughtUp { position } => {
            Problem::new(S::SERVICE_UNAVAILABLE, "read-model-lagging", "Read model not caught up")
                .detail(format!("the read model did not reach log position {position} in time; retry"))
        }
        AppError::TooManyConnections { limit } => {
            Problem::new(S::TOO_MANY_REQUESTS, "too-many-connections", "Too many live connections")
                .detail(format!("at most {limit} live connections per user; close one first"))
                .with("limit", limit)
        }
        AppError::PayloadTooLarge { limit } => {
            Problem::new(S::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large")
                .detail(format!("the body is larger than the {limit} bytes this service accepts"))
                .with("limit_bytes", limit)
        }
        AppError::UnsupportedMediaType { given, expected } => {
            Problem::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
                .detail(if given.is_empty() {
                    format!("the body has no Content-Type; send {expected}")
                } else {
                    format!("Content-Type {given} is not accepted here; send {expected}")
                })
                .with("accepted", expected)
        }
        AppError::InvalidCursor => Problem::new(S::UNPROCESSABLE_ENTITY, "invalid-cursor", "Invalid cursor")
            .detail("cursor: not a cursor this list returned; start again without one")
            .with("errors", [serde_json::json!({ "field": "cursor", "message": "not a cursor this list returned" })]),
        AppError::Storage(m) => {
            // The database's own words stay in the log: they can name tables, values and
            // internals, and help an attacker more than a client.
            tracing::error!(error = %m, "database error");
            Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable")
                .detail("the database is unavailable or failed; retry shortly")
        }
        AppError::Unavailable(m) => {
            Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable").detail(m)
        }
        AppError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            Problem::new(S::INTERNAL_SERVER_ERROR, "internal", "Internal error")
        }
    }
}

/// Booking-rule rejections: conflicts with the schedule's state are 409, requests that no
/// state could satisfy are 422. The `type` is the rule's stable code.
fn rejection_problem(r: &Rejection) -> Problem {
    use StatusCode as S;
    let status = match r {
        Rejection::NotFound { .. } => S::NOT_FOUND,
        Rejection::Forbidden { .. } => S::FORBIDDEN,
        Rejection::Conflict { .. }
        | Rejection::ResourceInMaintenance
        | Rejection::ResourceRetired
        | Rejection::QuotaExceeded { .. }
        | Rejection::InvalidState { .. }
        | Rejection::SeriesNotBookable { .. } => S::CONFLICT,
        _ => S::UNPROCESSABLE_ENTITY,
    };
    let slug = r.code().replace('_', "-");
    let title = match r {
        Rejection::Conflict { .. } => "Booking conflict",
        _ => "Request refused by a booking rule",
    };
    let mut problem = Problem::new(status, &slug, title).detail(r.to_string()).with("code", r.code());
    match r {
        Rejection::Conflict { conflicts, next_free } => {
            problem = problem.with("conflicts", conflicts).with("next_free_slots", next_free);
        }
        Rejection::SeriesNotBookable { occurrences } => problem = problem.with("occurrences", occurrences),
        other => {
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(other) {
                problem = problem.with("rule", fields);
            }
        }
    }
    problem
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem().status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let mut response = problem.response();
        if let AppError::TooManyRequests { retry_after, .. }
        | AppError::LoginThrottled { retry_after }
        | AppError::ApiQuotaExceeded { retry_after, .. } = &self.0
        {
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// The ETag of an aggregate at a stream version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

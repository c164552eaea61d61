//! The API's one error type, and the one place errors of every layer become HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use reserver_commands::CommandError;
use reserver_domain::Rejection;

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A booking rule said no.
    #[error("{0}")]
    Rejected(Rejection),
    /// The request is malformed; names the field.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Well-formed but refused by a rule with its own problem type (e.g. a private webhook target).
    #[error("{field}: {message}")]
    Refused { slug: &'static str, field: String, message: String },
    /// A state conflict other than a booking conflict (e.g. setup already done).
    #[error("{detail}")]
    Conflict { slug: &'static str, detail: String },
    #[error("the resource changed: current ETag is {current}")]
    PreconditionFailed { current: String },
    #[error("idempotency key already used for a different request")]
    IdempotencyKeyReused,
    /// Too many failed logins.
    #[error("account locked until {until}")]
    Locked { until: chrono::DateTime<chrono::Utc> },
    #[error("rate limit exceeded")]
    TooManyRequests { retry_after: u64, limit: u32 },
    #[error("read model has not reached position {position} yet")]
    NotCaughtUp { position: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation { field: field.into(), message: message.into() }
    }

    pub fn problem(&self) -> Problem {
        use StatusCode as S;
        match self {
            ApiError::Rejected(r) => rejection_problem(r),
            ApiError::Validation { field, message } => {
                Problem::new(S::UNPROCESSABLE_ENTITY, "validation-error", "Invalid request")
                    .detail(format!("{field}: {message}"))
                    .with("errors", [serde_json::json!({ "field": field, "message": message })])
            }
            ApiError::Refused { slug, field, message } => {
                Problem::new(S::UNPROCESSABLE_ENTITY, slug, "Request refused")
                    .detail(format!("{field}: {message}"))
                    .with("errors", [serde_json::json!({ "field": field, "message": message })])
            }
            ApiError::Unauthorized(m) => Problem::new(S::UNAUTHORIZED, "unauthorized", "Not authenticated").detail(m),
            ApiError::Forbidden(m) => Problem::new(S::FORBIDDEN, "forbidden", "Not allowed").detail(m),
            ApiError::NotFound(what) => {
                Problem::new(S::NOT_FOUND, "not-found", "Not found").detail(format!("{what} not found"))
            }
            ApiError::Conflict { slug, detail } => Problem::new(S::CONFLICT, slug, "Conflict").detail(detail),
            ApiError::PreconditionFailed { current } => {
                Problem::new(S::PRECONDITION_FAILED, "precondition-failed", "The resource has changed")
                    .detail("If-Match does not match the current version; reload and retry")
                    .with("current_etag", current)
            }
            ApiError::IdempotencyKeyReused => {
                Problem::new(S::UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Idempotency key reused")
                    .detail("this Idempotency-Key was already used for a different request")
            }
            ApiError::Locked { until } => Problem::new(S::UNAUTHORIZED, "account-locked", "Account locked")
                .detail(format!("too many failed logins; the account is locked until {}", until.to_rfc3339()))
                .with("locked_until", until),
            ApiError::TooManyRequests { retry_after, limit } => {
                Problem::new(S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests")
                    .detail(format!("limit of {limit} requests per minute reached; retry in {retry_after} s"))
                    .with("retry_after", retry_after)
            }
            ApiError::NotCaughtUp { position } => {
                Problem::new(S::SERVICE_UNAVAILABLE, "read-model-lagging", "Read model not caught up")
                    .detail(format!("the read model did not reach log position {position} in time; retry"))
            }
            ApiError::Unavailable(m) => {
                Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable").detail(m)
            }
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(S::INTERNAL_SERVER_ERROR, "internal", "Internal error")
            }
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

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Rejected(r) => ApiError::Rejected(r),
            CommandError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            CommandError::VersionMismatch { current } => ApiError::PreconditionFailed { current: etag(current) },
            CommandError::ClaimTaken(what) => {
                ApiError::Conflict { slug: "already-taken", detail: format!("{what} is already taken") }
            }
            CommandError::Contention(m) => ApiError::Unavailable(format!("too much contention on {m}; retry")),
            CommandError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<reserver_store::StoreError> for ApiError {
    fn from(e: reserver_store::StoreError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem().status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let mut response = problem.response();
        if let ApiError::TooManyRequests { retry_after, .. } = self {
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

impl From<reserver_projections::ProjectionError> for ApiError {
    fn from(e: reserver_projections::ProjectionError) -> Self {
        use reserver_projections::ProjectionError as P;
        match e {
            P::InvalidCursor => ApiError::Refused {
                slug: "invalid-cursor",
                field: "cursor".into(),
                message: "not a cursor this list returned".into(),
            },
            P::InvalidQuery(m) => ApiError::validation("query", m),
            P::Database(_) | P::Store(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

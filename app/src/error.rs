//! The application layer's one error type. It names what went wrong in terms a client can act
//! on; the HTTP API maps it to problem+json (api/src/error.rs) and the web app to a sentence in
//! the reader's language, each in one place.

use reserver_commands::CommandError;
use reserver_domain::Rejection;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A booking rule said no.
    #[error("{0}")]
    Rejected(Rejection),
    /// The request is malformed; names the field.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// Rows of an uploaded file that are invalid: `(line, column, message)` each.
    #[error("{} invalid rows", rows.len())]
    InvalidRows { rows: Vec<(u64, String, String)> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// An OAuth2 client's token lacks the scope this route needs.
    #[error("this needs the scope {scope}")]
    InsufficientScope { scope: String },
    #[error("{0} not found")]
    NotFound(String),
    /// Well-formed but refused by a rule with its own problem type (e.g. a private webhook target).
    #[error("{field}: {message}")]
    Refused { slug: &'static str, field: String, message: String },
    /// A state conflict other than a booking conflict (e.g. setup already done).
    #[error("{detail}")]
    Conflict { slug: &'static str, detail: String },
    /// `If-Match` named an outdated version; `current` is the aggregate's version now.
    #[error("the resource changed: current version is {current}")]
    PreconditionFailed { current: u64 },
    #[error("idempotency key already used for a different request")]
    IdempotencyKeyReused,
    /// Too many failed logins from this client or for this name: wait `retry_after` seconds.
    #[error("too many failed logins; retry in {retry_after} s")]
    LoginThrottled { retry_after: u64 },
    /// The password was right and the account has MFA: send a code with this challenge.
    #[error("a one-time code is required")]
    MfaRequired { mfa_token: String },
    /// An administrator disabled the account.
    #[error("this account is disabled")]
    AccountDisabled,
    /// An administrator reset the password: change it before anything else.
    #[error("an administrator reset your password; choose a new one first")]
    PasswordChangeRequired,
    /// The MFA policy requires MFA for the caller's role and it is off: set it up first.
    #[error("your role requires two-step verification; set it up first")]
    MfaSetupRequired,
    /// A rate limit was reached; `retry_after` in seconds, `limit` per minute.
    #[error("rate limit exceeded")]
    TooManyRequests { retry_after: u64, limit: u32 },
    /// The caller used its daily API quota (`limit` requests per UTC day); it resets at
    /// `resets_at`, `retry_after` seconds from now.
    #[error("daily API quota of {limit} requests used; it resets at {resets_at}")]
    ApiQuotaExceeded { limit: u64, retry_after: u64, resets_at: chrono::DateTime<chrono::Utc> },
    /// A user already holds `limit` live connections.
    #[error("at most {limit} live connections per user")]
    TooManyConnections { limit: usize },
    #[error("read model has not reached position {position} yet")]
    NotCaughtUp { position: u64 },
    /// A body larger than the service accepts; `limit` in bytes.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    /// A body of a type this route does not read.
    #[error("content type {given:?} is not accepted here; send {expected}")]
    UnsupportedMediaType { given: String, expected: String },
    /// A cursor this list did not hand out (garbage, tampered, or from another list).
    #[error("not a cursor this list returned")]
    InvalidCursor,
    /// A temporary condition the client may retry; the text is safe to show.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed. The text is for the log only: clients get a generic answer.
    #[error("database error: {0}")]
    Storage(String),
    #[error("{0}")]
    Internal(String),
}

/// Results of the application layer.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.into(), message: message.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }
}

impl From<CommandError> for AppError {
    fn from(e: CommandError) -> Self {
        match e {
            // A malformed field is a validation error like any other, whichever layer found it.
            CommandError::Rejected(Rejection::InvalidField { field, reason }) => {
                AppError::Validation { field, message: reason }
            }
            CommandError::Rejected(r) => AppError::Rejected(r),
            CommandError::IdempotencyKeyReused => AppError::IdempotencyKeyReused,
            CommandError::VersionMismatch { current } => AppError::PreconditionFailed { current },
            CommandError::ClaimTaken(what) => {
                AppError::Conflict { slug: "already-taken", detail: format!("{what} is already taken") }
            }
            CommandError::Contention(m) => AppError::Unavailable(format!("too much contention on {m}; retry")),
            CommandError::Unavailable(m) => AppError::Storage(m),
            CommandError::Store(e) => AppError::Storage(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<reserver_store::StoreError> for AppError {
    fn from(e: reserver_store::StoreError) -> Self {
        AppError::Storage(e.to_string())
    }
}

impl From<reserver_projections::ProjectionError> for AppError {
    fn from(e: reserver_projections::ProjectionError) -> Self {
        use reserver_projections::ProjectionError as P;
        match e {
            P::InvalidCursor => AppError::InvalidCursor,
            P::InvalidQuery(m) => AppError::validation("query", m),
            P::Database(_) | P::Store(_) => AppError::Storage(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

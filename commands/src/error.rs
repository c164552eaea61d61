//! Why a command produced no result.

use reserver_domain::Rejection;
use reserver_store::{AppendError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused: a rule said no.
    #[error("rejected: {0}")]
    Rejected(Rejection),
    /// The idempotency key was used before for a different request.
    #[error("idempotency key already used for a different request")]
    IdempotencyKeyReused,
    /// The aggregate is no longer at the version the client saw (`If-Match`).
    #[error("the aggregate is at version {current}")]
    VersionMismatch { current: u64 },
    /// A unique claim (e.g. a username) belongs to someone else.
    #[error("{0} is already taken")]
    ClaimTaken(String),
    /// Other writers kept winning; the caller may retry later.
    #[error("too much contention on {0}; try again")]
    Contention(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log could not be read or written; nothing was decided.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    #[error("event log refused the append: {0}")]
    Append(String),
    #[error("stored event could not be decoded: {0}")]
    Decode(String),
}

impl From<AppendError> for CommandError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Store(s) => CommandError::Store(s),
            other => CommandError::Append(other.to_string()),
        }
    }
}

//! Errors of the event store. Append failures are typed so callers can react (retry, report).

use uuid::Uuid;

use crate::ExpectedVersion;

/// A failure of the database or its configuration, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("corrupt row at position {position}: {reason}")]
    CorruptRow { position: u64, reason: String },
    #[error("the event store has shut down")]
    Closed,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why an append was refused. Nothing of a refused append is written.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {current}, expected {expected:?}")]
    WrongExpectedVersion { stream_id: String, expected: ExpectedVersion, current: u64 },
    #[error("event id {event_id} already exists with different content")]
    EventIdConflict { event_id: Uuid },
    #[error("invalid append: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppendError {
    /// Another writer got there first; reload and decide again.
    pub fn is_concurrency_conflict(&self) -> bool {
        matches!(self, AppendError::WrongExpectedVersion { .. })
    }
}

impl From<sqlx::Error> for AppendError {
    fn from(e: sqlx::Error) -> Self {
        AppendError::Store(StoreError::Database(e))
    }
}

/// Where and why the hash chain does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("hash chain broken at position {position}: {reason}")]
pub struct ChainBroken {
    pub position: u64,
    pub reason: String,
}

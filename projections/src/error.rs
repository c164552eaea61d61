//! Failures of projectors and queries.

use std::time::Duration;

/// A projector or query could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event log: {0}")]
    Store(#[from] reserver_store::StoreError),
    #[error("read model row is corrupt: {0}")]
    Corrupt(String),
    #[error("unknown projector `{0}`")]
    UnknownProjector(String),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// Raised on purpose by tests that kill a projector mid-batch.
    #[error("injected failure: {0}")]
    Injected(String),
}

impl From<serde_json::Error> for ProjectionError {
    fn from(e: serde_json::Error) -> Self {
        ProjectionError::Corrupt(e.to_string())
    }
}

/// Read-your-writes gave up: the read models did not reach the wanted position in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "read models have not reached log position {wanted} within {timeout:?} (slowest: `{slowest}` at {reached}); \
     retry the query shortly"
)]
pub struct LagTimeout {
    /// The position the caller asked for.
    pub wanted: u64,
    /// The projector furthest behind.
    pub slowest: String,
    /// Its position when the wait ended.
    pub reached: u64,
    pub timeout: Duration,
}

//! Failures of the availability index.

use std::time::Duration;

use uuid::Uuid;

/// A question the index cannot answer, or a start-up that could not read the log.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No such resource has been created (as far as the index has followed the log).
    #[error("resource {0} is not known to the availability index")]
    UnknownResource(Uuid),
    /// The resource was dropped to keep the index within its memory bound; the read model
    /// (`reserver_projections::availability`) still answers for it.
    #[error("resource {0} is not held in memory (the availability index reached its bound); ask the read model")]
    Evicted(Uuid),
    /// Reading the log failed during start-up.
    #[error("event log: {0}")]
    Store(#[from] reserver_store::StoreError),
}

/// Read-your-writes gave up: the index did not reach the wanted log position in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the availability index has not reached log position {wanted} within {timeout:?} (it is at {reached}); retry shortly")]
pub struct IndexLag {
    /// The position the caller asked for.
    pub wanted: u64,
    /// The index's position when the wait ended.
    pub reached: u64,
    /// How long the caller waited.
    pub timeout: Duration,
}

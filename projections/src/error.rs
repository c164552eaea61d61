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
    /// A `cursor` this list did not issue: garbage, truncated, edited, or from another list.
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A projector (or planner) refused one event of the log: it is stuck before `position`
    /// until a build that can apply the event runs (see `faults`).
    #[error("projector `{projector}` cannot apply the event at log position {position} ({event_type}): {source}")]
    CannotApply {
        projector: String,
        position: u64,
        event_type: String,
        #[source]
        source: Box<ProjectionError>,
    },
    /// Raised on purpose by tests that kill a projector mid-batch.
    #[error("injected failure: {0}")]
    Injected(String),
}

impl ProjectionError {
    /// True when the database connection failed (lost, cut, timed out, busy), not the work:
    /// the same batch may succeed on the next try.
    pub fn is_transient(&self) -> bool {
        match self {
            ProjectionError::Database(e) => reserver_store::is_connection_failure(e),
            ProjectionError::Store(e) => e.is_connection_failure(),
            _ => false,
        }
    }
}

impl From<serde_json::Error> for ProjectionError {
    fn from(e: serde_json::Error) -> Self {
        ProjectionError::Corrupt(e.to_string())
    }
}

/// Read-your-writes gave up: the read models did not reach the wanted position in time, or a
/// projector it waits for is stuck before that position (then it gives up at once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "read models have not reached log position {wanted} within {timeout:?} (slowest: `{slowest}` at {reached}){}; \
     retry the query shortly",
    stuck_note(.stuck)
)]
pub struct LagTimeout {
    /// The position the caller asked for.
    pub wanted: u64,
    /// The projector furthest behind.
    pub slowest: String,
    /// Its position when the wait ended.
    pub reached: u64,
    pub timeout: Duration,
    /// A projector among those waited for that cannot apply the event at or before `wanted`.
    pub stuck: Option<crate::faults::StuckProjector>,
}

fn stuck_note(stuck: &Option<crate::faults::StuckProjector>) -> String {
    match stuck {
        Some(s) => format!("; `{}` is stuck at log position {}: {}", s.name, s.position, s.error),
        None => String::new(),
    }
}

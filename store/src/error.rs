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
    /// A caller's argument the store refuses (e.g. an empty secret name).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The database could not take the work (see [`StoreError::is_connection_failure`]).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when the failure says nothing about what was written: the connection was lost or
    /// ended by the server (a stalled session cut by `idle_in_transaction_session_timeout`, a
    /// shutdown), a lock or statement timeout fired, the database was busy or out of
    /// resources. The transaction wrote nothing, and the same work may succeed on a fresh
    /// connection; retrying its parts one by one would only wait again.
    pub fn is_connection_failure(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::Closed => true,
            StoreError::Database(e) => is_connection_failure(e),
            _ => false,
        }
    }
}

/// [`StoreError::is_connection_failure`] for a database error met outside the store (read
/// models and planners run their own statements on the store's pool).
pub fn is_connection_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
            db.code().is_some_and(|code| transient_code(&code, sqlite))
        }
        _ => false,
    }
}

/// SQLSTATE classes and codes of failures that are not the request's fault (PostgreSQL), and
/// SQLite's busy and locked result codes (primary code in the low byte).
fn transient_code(code: &str, sqlite: bool) -> bool {
    if sqlite {
        return code.parse::<u32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6));
    }
    ["08", "53", "57"].iter().any(|class| code.starts_with(class))
        || ["25P03", "55P03", "40001", "40P01"].contains(&code)
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

#[cfg(test)]
mod tests {
    use super::transient_code;

    #[test]
    fn only_failures_of_the_connection_count_as_transient() {
        for code in ["08006", "57P01", "57014", "25P03", "55P03", "40P01", "53300"] {
            assert!(transient_code(code, false), "{code}");
        }
        for code in ["5", "517", "6"] {
            assert!(transient_code(code, true), "SQLite {code}");
        }
        // Bad text (NUL), a broken constraint, a syntax error: the request's own fault. Some
        // SQLSTATEs are all digits (22021 would read as SQLite's busy code in its low byte).
        for code in ["22P05", "22021", "23505", "42601"] {
            assert!(!transient_code(code, false), "{code}");
        }
        for code in ["19", "2067", "1"] {
            assert!(!transient_code(code, true), "SQLite {code}");
        }
    }
}

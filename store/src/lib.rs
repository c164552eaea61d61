//! The event log of Resource Reserver: an append-only, hash-chained, gapless log of events with
//! one [`EventStore`] trait and two backends, SQLite (embedded, single node) and PostgreSQL
//! (many replicas). Appends are atomic across streams, idempotent by event id, checked against
//! expected stream versions, and grouped into shared transactions (group commit). Readers catch
//! up from any position and then follow the log live.

mod batch;
mod error;
mod group_commit;
pub mod hash;
mod limits;
pub mod log_index;
mod model;
mod postgres;
mod recent;
mod rows;
mod secrets;
mod sqlite;
mod subscription;
mod usage;
mod verify;
mod write_gate;

#[cfg(feature = "testing")]
pub mod conformance;
pub mod scratch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

pub use error::{is_connection_failure, AppendError, ChainBroken, StoreError};
pub use group_commit::GroupCommitConfig;
pub use limits::PostgresLimits;
pub use model::{
    AppendOutcome, AppendRequest, EventMetadata, ExpectedVersion, LogHead, NewEvent, RecordedEvent, Snapshot,
    StreamAppend,
};
pub use postgres::PostgresEventStore;
pub use secrets::SHARED_SECRET_BYTES;
pub use sqlite::SqliteEventStore;
pub use subscription::{subscribe, SubscribeOptions};
pub use verify::{verify_chain, ChainReport};
#[cfg(feature = "testing")]
pub use write_gate::assert_waits_for_write_turn;
pub use write_gate::sqlite_write_turn;

/// Where the log lives when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/reserver.db";

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if any.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The connection pool beneath a store, for read models that must write in the same database
/// (and the same transaction as their checkpoints).
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// BEGIN of a PostgreSQL transaction that writes only data the log can rebuild (read models,
/// deadlines, and the checkpoint saying how far they go): it commits without waiting for its
/// WAL to reach the disk. A crash can lose the newest such commits, rows and checkpoint
/// together, and their events are applied again from the log. Appends to the log never use it.
pub const POSTGRES_BEGIN_DERIVED: &str = "BEGIN; SET LOCAL synchronous_commit = off";

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    pub group_commit: GroupCommitConfig,
    /// Connections for readers (the writer has its own).
    pub max_connections: u32,
    /// Run migrations when opening.
    pub migrate: bool,
    /// How long a stalled PostgreSQL session may hold locks others need (ignored on SQLite).
    pub postgres_limits: PostgresLimits,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            group_commit: GroupCommitConfig::default(),
            max_connections: 16,
            migrate: true,
            postgres_limits: PostgresLimits::default(),
        }
    }
}

/// The event log. Implemented once per backend; everything above it is backend-agnostic.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// The pool beneath the store, for read models kept in the same database.
    fn database(&self) -> Database;

    /// Appends atomically to one or more streams. Concurrent appends are grouped into shared
    /// transactions; each is answered with its own result.
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError>;

    /// Events of one stream with version >= `from_version`, oldest first.
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Events with position > `after_position`, in position order. Recent events this process
    /// committed are served from memory (exactly what was written); the rest from the database.
    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self.recent_after(after_position, limit) {
            Some(events) => Ok(events),
            None => self.read_all_from_database(after_position, limit).await,
        }
    }

    /// The events after `after_position` from the run this process just committed, when that
    /// run can answer completely (see `recent.rs`); `None` sends the read to the database.
    fn recent_after(&self, after_position: u64, limit: usize) -> Option<Vec<RecordedEvent>>;

    /// [`read_all`](Self::read_all), always from the database: what the chain check must see.
    async fn read_all_from_database(&self, after_position: u64, limit: usize)
        -> Result<Vec<RecordedEvent>, StoreError>;

    /// The version of a stream's last event; 0 when the stream has none.
    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError>;

    /// The newest committed position and its hash.
    async fn head(&self) -> Result<LogHead, StoreError>;

    /// Wakes when the log grows: by this process's appends, and on PostgreSQL also by other
    /// replicas' (LISTEN/NOTIFY). Readers still poll as a fallback.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// Saves a snapshot unless a newer one is already stored.
    async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The secret called `name` that every replica on this database shares: 64 random bytes
    /// created on first use (the first replica to ask wins; the others read its value) and
    /// kept in `service_secrets`, never in the log. E.g. the token-signing key when
    /// `SECRET_KEY` is not configured, so replicas accept each other's tokens and a restart
    /// keeps them valid. Errors: the database's, or a name that is empty, longer than 128
    /// bytes or holds NUL.
    async fn shared_secret(&self, name: &str) -> Result<[u8; SHARED_SECRET_BYTES], StoreError> {
        secrets::shared_secret(&self.database(), name).await
    }

    /// Daily API usage (`api_usage`, shared by every replica on this database): adds each
    /// `(subject, requests)` to the subject's count of `day` (`YYYY-MM-DD`, UTC) in one round
    /// trip and answers the totals after the addition, every replica's additions included.
    /// Duplicate subjects are summed. Errors: the database's, or a malformed day or subject
    /// (empty, over 128 bytes, NUL), in which case nothing is added.
    async fn add_api_usage(
        &self,
        day: &str,
        deltas: &[(String, u64)],
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        usage::add(&self.database(), day, deltas).await
    }

    /// The request counts of `day` for those of `subjects` that made any (others are absent).
    async fn api_usage(
        &self,
        day: &str,
        subjects: &[String],
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        usage::read(&self.database(), day, subjects).await
    }

    /// Forgets the API usage of days before `day`; answers how many counts went.
    async fn prune_api_usage(&self, before_day: &str) -> Result<u64, StoreError> {
        usage::prune(&self.database(), before_day).await
    }
}

/// Opens the store a URL names, creating and migrating the database as needed.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn EventStore>, StoreError> {
    match Backend::of_url(&config.url) {
        Some(Backend::Sqlite) => Ok(Arc::new(SqliteEventStore::open(config).await?)),
        Some(Backend::Postgres) => Ok(Arc::new(PostgresEventStore::open(config).await?)),
        None => Err(StoreError::UnsupportedUrl(config.url.clone())),
    }
}

/// Applies the migrations of the backend a URL names without starting a writer.
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => sqlite::migrate(url).await,
        Some(Backend::Postgres) => postgres::migrate(url).await,
        None => Err(StoreError::UnsupportedUrl(url.to_string())),
    }
}

/// How long readers wait for a wake-up before looking at the log anyway.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

//! The SQLite backend: one embedded file in WAL mode. A single writer connection takes the
//! write lock with `BEGIN IMMEDIATE`, so positions are assigned and committed in one order.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::batch::{check_versions, checks_only, plan_batch, BatchInputs, EventRow, StoredIdentity};
use crate::group_commit::{BatchWriter, GroupCommitter, Written};
use crate::rows::{from_db, recorded_now, to_db, RawEvent, EVENT_COLUMNS_SQLITE};
use crate::{
    AppendError, AppendOutcome, AppendRequest, Backend, Database, EventStore, LogHead, RecordedEvent, Snapshot,
    StoreConfig, StoreError,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Rows per INSERT statement: 11 columns each stays far below SQLite's variable limit.
const INSERT_CHUNK: usize = 500;

/// The event log in an embedded SQLite file.
pub struct SqliteEventStore {
    pool: SqlitePool,
    committer: GroupCommitter,
    head: Arc<watch::Sender<u64>>,
}

/// Connection options for a `sqlite://PATH` URL, creating the file's folder if needed.
fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?;
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is durable when acknowledged; group commit pays for the fsync.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true))
}

pub(crate) async fn migrate(url: &str) -> Result<(), StoreError> {
    let mut conn = SqliteConnection::connect_with(&connect_options(url)?).await?;
    MIGRATOR.run(&mut conn).await?;
    Ok(())
}

impl SqliteEventStore {
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let options = connect_options(&config.url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options.clone())
            .await?;
        if config.migrate {
            MIGRATOR.run(&pool).await?;
        }
        let writer = SqliteConnection::connect_with(&options).await?;
        let gate = crate::write_gate::gate_for(options.get_filename().to_path_buf());
        let head_position = read_head(&pool).await?.position;
        let head = Arc::new(watch::channel(head_position).0);
        let committer =
            GroupCommitter::spawn(SqliteBatchWriter { conn: writer, gate }, config.group_commit.clone(), head.clone());
        Ok(Self { pool, committer, head })
    }
}

async fn read_head<'e, E: sqlx::Executor<'e, Database = Sqlite>>(executor: E) -> Result<LogHead, StoreError> {
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1").fetch_one(executor).await?;
    Ok(LogHead { position: from_db(row.try_get("position")?, 0, "head position")?, hash: row.try_get("hash")? })
}

fn decode_event(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let bad = |reason: String| StoreError::CorruptRow { position: position.max(0) as u64, reason };
    let event_id: String = row.try_get("event_id")?;
    let micros: i64 = row.try_get("recorded_at")?;
    RawEvent {
        position,
        event_id: Uuid::parse_str(&event_id).map_err(|e| bad(format!("event id: {e}")))?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: chrono::DateTime::from_timestamp_micros(micros).ok_or_else(|| bad("recorded_at".into()))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    }
    .try_into()
}

#[async_trait]
impl EventStore for SqliteEventStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn database(&self) -> Database {
        Database::Sqlite(self.pool.clone())
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        self.committer.append(request).await
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS_SQLITE} FROM events WHERE stream_id = ? AND stream_version >= ? \
             ORDER BY stream_version LIMIT ?"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(stream_id)
            .bind(to_db(from_version))
            .bind(to_db(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_event).collect()
    }

    fn recent_after(&self, after_position: u64, limit: usize) -> Option<Vec<RecordedEvent>> {
        self.committer.recent_after(after_position, limit)
    }

    async fn read_all_from_database(
        &self,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS_SQLITE} FROM events WHERE position > ? ORDER BY position LIMIT ?");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(to_db(after_position))
            .bind(to_db(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_event).collect()
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT max(stream_version) FROM events WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_one(&self.pool)
            .await?;
        from_db(v.unwrap_or(0), 0, "stream version")
    }

    async fn head(&self) -> Result<LogHead, StoreError> {
        read_head(&self.pool).await
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    async fn save_snapshot(&self, s: &Snapshot) -> Result<(), StoreError> {
        // In this process's queue for the write lock (see write_gate): outside it, the insert met
        // the lock in SQLite's sleeping busy handler, once for 1.5 s under booking load.
        let _turn = crate::write_gate::sqlite_write_turn(&self.pool).await;
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, schema_version, state, taken_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, \
             schema_version = excluded.schema_version, state = excluded.state, taken_at = excluded.taken_at \
             WHERE excluded.version >= snapshots.version",
        )
        .bind(&s.stream_id)
        .bind(to_db(s.version))
        .bind(s.schema_version)
        .bind(&s.state)
        .bind(recorded_now().timestamp_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query("SELECT version, schema_version, state FROM snapshots WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Snapshot {
                stream_id: stream_id.to_string(),
                version: from_db(r.try_get("version")?, 0, "snapshot version")?,
                schema_version: r.try_get("schema_version")?,
                state: r.try_get("state")?,
            })
        })
        .transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Owns the one writing connection.
struct SqliteBatchWriter {
    conn: SqliteConnection,
    gate: Arc<tokio::sync::Mutex<()>>,
}

#[async_trait]
impl BatchWriter for SqliteBatchWriter {
    async fn write_batch(
        &mut self,
        requests: &[AppendRequest],
        commit_delay: Option<Duration>,
    ) -> Result<Written, StoreError> {
        if checks_only(requests) {
            // Reading committed versions needs no write lock: the checks hold as of this read.
            let (versions, _) = load_batch_inputs(&mut self.conn, &BatchInputs::of(requests)).await?;
            return Ok(Written { results: check_versions(versions, requests), rows: Vec::new() });
        }
        // IMMEDIATE takes the write lock now, so no other process can write between our reads
        // of the head and our insert.
        let _turn = self.gate.clone().lock_owned().await;
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        let inputs = BatchInputs::of(requests);
        let head = read_head(&mut *tx).await?;
        let (versions, stored) = load_batch_inputs(&mut tx, &inputs).await?;
        let plan = plan_batch(head, versions, stored, requests, recorded_now());
        if !plan.rows.is_empty() {
            for chunk in plan.rows.chunks(INSERT_CHUNK) {
                insert_rows(&mut tx, chunk).await?;
            }
            sqlx::query("UPDATE log_head SET position = ?, hash = ? WHERE id = 1")
                .bind(to_db(plan.head.position))
                .bind(&plan.head.hash)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(delay) = commit_delay {
            tokio::time::sleep(delay).await;
        }
        tx.commit().await?;
        Ok(Written { results: plan.results, rows: plan.rows })
    }
}

fn json_array<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Current versions of the batch's streams and the events already stored under its ids, in
/// one query.
async fn load_batch_inputs(
    conn: &mut SqliteConnection,
    inputs: &BatchInputs,
) -> Result<(HashMap<String, u64>, HashMap<Uuid, StoredIdentity>), StoreError> {
    let rows = sqlx::query(
        "SELECT j.value AS stream_id, (SELECT max(stream_version) FROM events WHERE stream_id = j.value) AS version, \
         NULL AS event_id, NULL AS position, NULL AS event_type, NULL AS payload FROM json_each(?) j \
         UNION ALL \
         SELECT stream_id, stream_version, event_id, position, event_type, payload FROM events \
         WHERE event_id IN (SELECT value FROM json_each(?))",
    )
    .bind(json_array(&inputs.stream_ids))
    .bind(json_array(&inputs.event_ids))
    .fetch_all(conn)
    .await?;
    let mut versions = HashMap::with_capacity(inputs.stream_ids.len());
    let mut stored = HashMap::new();
    for r in rows {
        let version = from_db(r.try_get::<Option<i64>, _>("version")?.unwrap_or(0), 0, "stream version")?;
        match r.try_get::<Option<String>, _>("event_id")? {
            None => {
                versions.insert(r.try_get("stream_id")?, version);
            }
            Some(id) => {
                let position = from_db(r.try_get::<Option<i64>, _>("position")?.unwrap_or(0), 0, "position")?;
                let id = Uuid::parse_str(&id)
                    .map_err(|e| StoreError::CorruptRow { position, reason: format!("event id: {e}") })?;
                stored.insert(
                    id,
                    StoredIdentity {
                        position,
                        stream_id: r.try_get("stream_id")?,
                        stream_version: version,
                        event_type: r.try_get::<Option<String>, _>("event_type")?.unwrap_or_default(),
                        payload: r.try_get::<Option<String>, _>("payload")?.unwrap_or_default(),
                    },
                );
            }
        }
    }
    Ok((versions, stored))
}

async fn insert_rows(conn: &mut SqliteConnection, rows: &[EventRow]) -> Result<(), StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
         payload, metadata, recorded_at, prev_hash, hash) ",
    );
    insert.push_values(rows, |mut b, r| {
        b.push_bind(to_db(r.position))
            .push_bind(r.event_id.to_string())
            .push_bind(&r.stream_id)
            .push_bind(to_db(r.stream_version))
            .push_bind(&r.event_type)
            .push_bind(r.schema_version)
            .push_bind(&r.payload)
            .push_bind(&r.metadata)
            .push_bind(r.recorded_at.timestamp_micros())
            .push_bind(&r.prev_hash)
            .push_bind(&r.hash);
    });
    insert.build().execute(conn).await?;
    Ok(())
}

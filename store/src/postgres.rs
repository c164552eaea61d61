//! The PostgreSQL backend. Every append transaction first locks the single `log_head` row, so
//! positions are handed out and committed in one order across all replicas: a reader that has
//! seen position N has seen everything below N. Commits announce the new head with NOTIFY.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow, PgSslMode};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Row};
use tokio::sync::watch;
use uuid::Uuid;

use crate::batch::{check_versions, checks_only, plan_batch, BatchInputs, EventRow, StoredIdentity};
use crate::group_commit::{advance_head, BatchWriter, GroupCommitter, Written};
use crate::rows::{from_db, recorded_now, to_db, RawEvent, EVENT_COLUMNS_PG};
use crate::{
    AppendError, AppendOutcome, AppendRequest, Backend, Database, EventStore, LogHead, RecordedEvent, Snapshot,
    StoreConfig, StoreError,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The channel commits NOTIFY with the new head position.
pub const NOTIFY_CHANNEL: &str = "reserver_events";

/// The event log in PostgreSQL.
pub struct PostgresEventStore {
    pool: PgPool,
    committer: GroupCommitter,
    head: Arc<watch::Sender<u64>>,
}

/// Connection options from a URL. A URL that names no `sslmode` and points at this machine
/// connects without TLS: encrypting loopback traffic protects nothing and cost a quarter of
/// the booking throughput in the HTTP benchmark. Any explicit `sslmode` is honoured.
pub(crate) fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let loopback = matches!(options.get_host(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
        || options.get_host().starts_with('/');
    let explicit = url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|p| p.starts_with("sslmode=")));
    Ok(if loopback && !explicit { options.ssl_mode(PgSslMode::Disable) } else { options })
}

pub(crate) async fn migrate(url: &str) -> Result<(), StoreError> {
    let pool = PgPoolOptions::new().max_connections(1).connect_with(connect_options(url)?).await?;
    MIGRATOR.run(&pool).await?;
    pool.close().await;
    Ok(())
}

impl PostgresEventStore {
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let limits = &config.postgres_limits;
        let pool = PgPoolOptions::new()
            // One extra connection for LISTEN.
            .max_connections(config.max_connections.max(1) + 1)
            .connect_with(limits.apply(connect_options(&config.url)?))
            .await?;
        if config.migrate {
            MIGRATOR.run(&pool).await?;
        }
        let head_position = read_head(&pool).await?.position;
        let head = Arc::new(watch::channel(head_position).0);
        // Tags this store's announcements, so its own listener can leave them to the writer
        // task: that one moves the head only after the batch is in the recent-events run, and
        // a follower woken earlier by the notification would read the batch from the database.
        let instance = Uuid::new_v4().simple().to_string();
        tokio::spawn(follow_notifications(pool.clone(), Arc::downgrade(&head), instance.clone()));
        // The writer's own connections. Its statements are all key lookups and inserts, and
        // their plans are cached per connection: planned while the log was still tiny, the
        // event-id lookup became a sequential scan that grew with the log (3 ms per append on
        // a young database). Without sequential scans it takes the unique index at any size.
        let writer_pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(limits.apply_writer(connect_options(&config.url)?).options([("enable_seqscan", "off")]))
            .await?;
        let writer = PostgresBatchWriter { pool: writer_pool, instance };
        let committer = GroupCommitter::spawn(writer, config.group_commit.clone(), head.clone());
        Ok(Self { pool, committer, head })
    }
}

/// Moves the local head forward when another replica commits (announcements tagged with this
/// store's own `instance` are skipped). Ends soon after the store is dropped (it holds only a
/// weak reference to the head).
async fn follow_notifications(pool: PgPool, head: Weak<watch::Sender<u64>>, instance: String) {
    while head.strong_count() > 0 {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "LISTEN connection failed; readers fall back to polling");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if listener.listen(NOTIFY_CHANNEL).await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            // The timeout lets the task notice that its store is gone.
            match tokio::time::timeout(Duration::from_secs(2), listener.recv()).await {
                Ok(Ok(n)) => match (head.upgrade(), foreign_position(n.payload(), &instance)) {
                    (Some(h), Some(position)) => advance_head(&h, position),
                    (None, _) => return,
                    _ => {}
                },
                Ok(Err(_)) => break,
                Err(_) if head.strong_count() == 0 => return,
                Err(_) => {}
            }
        }
    }
}

/// The position announced by `payload` (`position:instance`), unless this instance wrote it.
fn foreign_position(payload: &str, instance: &str) -> Option<u64> {
    let (position, writer) = payload.split_once(':').unwrap_or((payload, ""));
    if writer == instance {
        return None;
    }
    position.parse().ok()
}

async fn read_head<'e, E: sqlx::Executor<'e, Database = Postgres>>(executor: E) -> Result<LogHead, StoreError> {
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1").fetch_one(executor).await?;
    Ok(LogHead { position: from_db(row.try_get("position")?, 0, "head position")?, hash: row.try_get("hash")? })
}

fn decode_event(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    RawEvent {
        position: row.try_get("position")?,
        event_id: row.try_get("event_id")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get("recorded_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    }
    .try_into()
}

#[async_trait]
impl EventStore for PostgresEventStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn database(&self) -> Database {
        Database::Postgres(self.pool.clone())
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
            "SELECT {EVENT_COLUMNS_PG} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
             ORDER BY stream_version LIMIT $3"
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
        let sql = format!("SELECT {EVENT_COLUMNS_PG} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(to_db(after_position))
            .bind(to_db(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_event).collect()
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT max(stream_version) FROM events WHERE stream_id = $1")
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
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, schema_version, state, taken_at) VALUES ($1, $2, $3, $4, now()) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, \
             schema_version = excluded.schema_version, state = excluded.state, taken_at = excluded.taken_at \
             WHERE excluded.version >= snapshots.version",
        )
        .bind(&s.stream_id)
        .bind(to_db(s.version))
        .bind(s.schema_version)
        .bind(&s.state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query("SELECT version, schema_version, state FROM snapshots WHERE stream_id = $1")
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

struct PostgresBatchWriter {
    pool: PgPool,
    /// Tag of this store's notifications (see [`follow_notifications`]).
    instance: String,
}

#[async_trait]
impl BatchWriter for PostgresBatchWriter {
    async fn write_batch(
        &mut self,
        requests: &[AppendRequest],
        commit_delay: Option<Duration>,
    ) -> Result<Written, StoreError> {
        if checks_only(requests) {
            // Reading committed versions needs no lock: the checks hold as of this read.
            let mut conn = self.pool.acquire().await?;
            let (versions, _) = load_batch_inputs(&mut conn, &BatchInputs::of(requests)).await?;
            return Ok(Written { results: check_versions(versions.streams, requests), rows: Vec::new() });
        }
        // The head row is the log's single lock: held until COMMIT, it serializes appenders of
        // every replica, so position order is commit order and no reader can skip a late commit.
        // It is taken in the BEGIN round trip; the head, the stream versions and the known
        // event ids are read by the next statement, whose snapshot starts after the lock.
        let mut tx = self.pool.begin_with("BEGIN; SELECT 1 FROM log_head WHERE id = 1 FOR UPDATE").await?;
        let inputs = BatchInputs::of(requests);
        let (versions, stored) = load_batch_inputs(&mut tx, &inputs).await?;
        let head = versions.head.ok_or(StoreError::CorruptRow { position: 0, reason: "no log head row".into() })?;
        let plan = plan_batch(head, versions.streams, stored, requests, recorded_now());
        if !plan.rows.is_empty() {
            write_rows(&mut tx, &plan.rows, &plan.head, &self.instance).await?;
        }
        if let Some(delay) = commit_delay {
            tokio::time::sleep(delay).await;
        }
        tx.commit().await?;
        Ok(Written { results: plan.results, rows: plan.rows })
    }
}

/// The log head and the current versions of a batch's streams.
struct Versions {
    head: Option<LogHead>,
    streams: HashMap<String, u64>,
}

/// The log head, the current versions of the batch's streams and the events already stored
/// under its ids, in one round trip.
async fn load_batch_inputs(
    conn: &mut PgConnection,
    inputs: &BatchInputs,
) -> Result<(Versions, HashMap<Uuid, StoredIdentity>), StoreError> {
    let rows = sqlx::query(
        "SELECT NULL::text AS stream_id, position AS version, NULL::uuid AS event_id, NULL::bigint AS position, \
         NULL::text AS event_type, NULL::text AS payload, hash FROM log_head WHERE id = 1 \
         UNION ALL \
         SELECT s.stream_id, (SELECT max(stream_version) FROM events e WHERE e.stream_id = s.stream_id), \
         NULL, NULL, NULL, NULL, NULL \
         FROM unnest($1::text[]) AS s(stream_id) \
         UNION ALL \
         SELECT stream_id, stream_version, event_id, position, event_type, payload::text, NULL \
         FROM events WHERE event_id = ANY($2)",
    )
    .bind(&inputs.stream_ids)
    .bind(&inputs.event_ids)
    .fetch_all(conn)
    .await?;
    let mut versions = Versions { head: None, streams: HashMap::with_capacity(inputs.stream_ids.len()) };
    let mut stored = HashMap::new();
    for r in rows {
        let version = from_db(r.try_get::<Option<i64>, _>("version")?.unwrap_or(0), 0, "stream version")?;
        if let Some(hash) = r.try_get::<Option<Vec<u8>>, _>("hash")? {
            versions.head = Some(LogHead { position: version, hash });
            continue;
        }
        match r.try_get::<Option<Uuid>, _>("event_id")? {
            None => {
                versions.streams.insert(r.try_get("stream_id")?, version);
            }
            Some(event_id) => {
                let position = from_db(r.try_get::<Option<i64>, _>("position")?.unwrap_or(0), 0, "position")?;
                stored.insert(
                    event_id,
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

/// Inserts the batch's rows, moves the head and announces it — one statement: arrays of columns
/// unnested into rows, the head update and the NOTIFY as data-modifying CTEs.
async fn write_rows(
    conn: &mut PgConnection,
    rows: &[EventRow],
    head: &LogHead,
    instance: &str,
) -> Result<(), StoreError> {
    let col = |f: fn(&EventRow) -> i64| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "WITH inserted AS (\
           INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
           payload, metadata, recorded_at, prev_hash, hash) \
           SELECT p, e, s, v, t, sv, pl::json, md::json, ra, ph, h FROM unnest(\
           $1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::text[], \
           $9::timestamptz[], $10::bytea[], $11::bytea[]) AS u(p, e, s, v, t, sv, pl, md, ra, ph, h) \
           RETURNING 1), \
         head AS (UPDATE log_head SET position = $12, hash = $13 WHERE id = 1 RETURNING 1) \
         SELECT pg_notify($14, $12::text || ':' || $15), (SELECT count(*) FROM inserted), (SELECT count(*) FROM head)",
    )
    .bind(col(|r| to_db(r.position)))
    .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.stream_id.as_str()).collect::<Vec<_>>())
    .bind(col(|r| to_db(r.stream_version)))
    .bind(rows.iter().map(|r| r.event_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.schema_version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.payload.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.metadata.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.prev_hash.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.hash.as_slice()).collect::<Vec<_>>())
    .bind(to_db(head.position))
    .bind(&head.hash)
    .bind(NOTIFY_CHANNEL)
    .bind(instance)
    .fetch_one(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_announcements_are_left_to_the_writer() {
        assert_eq!(foreign_position("42:abc", "abc"), None);
        assert_eq!(foreign_position("42:def", "abc"), Some(42));
        assert_eq!(foreign_position("42", "abc"), Some(42), "an untagged announcement is foreign");
        assert_eq!(foreign_position("x:def", "abc"), None);
    }

    #[test]
    fn loopback_skips_tls_unless_asked() {
        let mode = |url: &str| connect_options(url).map(|o| o.get_ssl_mode()).ok();
        assert!(matches!(mode("postgres://u@127.0.0.1:5432/db"), Some(PgSslMode::Disable)));
        assert!(matches!(mode("postgres://u@localhost/db"), Some(PgSslMode::Disable)));
        assert!(matches!(mode("postgres://u@127.0.0.1/db?sslmode=require"), Some(PgSslMode::Require)));
        assert!(matches!(mode("postgres://u@db.example.com/db"), Some(PgSslMode::Prefer)));
    }
}

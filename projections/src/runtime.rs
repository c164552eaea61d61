//! The projector runtime: each named projector reads the log after its checkpoint in batches
//! and applies each batch and the new checkpoint in ONE transaction of the database that also
//! holds the log. A batch that fails or is interrupted rolls back as a whole, read-model rows
//! and checkpoint together, so every event takes effect exactly once.
//!
//! On PostgreSQL several replicas may run the same projector. Each batch transaction locks
//! the projector's checkpoint row with `FOR UPDATE SKIP LOCKED`: only one instance can hold it,
//! the others see no row and stand by, and the holder re-checks that the checkpoint is still
//! the one its events were read after (else another instance moved it and it starts over).
//! On SQLite `BEGIN IMMEDIATE` takes the database write lock, which serializes the same way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reserver_store::{Backend, Database, EventStore, RecordedEvent};
use tokio::sync::watch;

use crate::decode::DecodedBatch;
use crate::error::ProjectionError;
use crate::faults::{self, cannot_apply, StuckProjector};
use crate::secondary_indexes;
use crate::sql::{fetch_all, DbTx, Value};

/// Events per batch transaction.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// Events per batch of a [`rebuild`]: larger than a live follower's, so that a batch's plain
/// inserts go through `COPY` on PostgreSQL (see `sql::insert_rows`).
pub const REBUILD_BATCH_SIZE: usize = 5_000;
/// How long a read-your-writes query waits by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// Builds one read model from the log.
#[async_trait]
pub trait Projector: Send + Sync + 'static {
    /// Stable name: the checkpoint's key and what `projections rebuild NAME` takes.
    fn name(&self) -> &'static str;
    /// Tables this projector owns; a rebuild deletes their rows.
    fn tables(&self) -> &'static [&'static str];
    /// Applies a batch of consecutive events inside the caller's transaction. Events it does
    /// not care about must be ignored, never rejected.
    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError>;
    /// [`Self::apply`], given the batch decoded once for all projectors (`decoded.of(events)`).
    /// A projector that decodes events overrides this and has `apply` pass a fresh
    /// [`DecodedBatch`]; the runtime always calls this one.
    async fn apply_decoded(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
        _decoded: &DecodedBatch,
    ) -> Result<(), ProjectionError> {
        self.apply(tx, events).await
    }
    /// Whether `apply` could change anything for this event. A batch with none is skipped
    /// without a transaction (the checkpoint catches up later); `true` is always safe.
    fn wants(&self, _event: &RecordedEvent) -> bool {
        true
    }
}

/// Every projector of the service.
pub fn all_projectors() -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(crate::catalog::CatalogProjector),
        Arc::new(crate::reservations::ReservationsProjector),
        Arc::new(crate::users::UsersProjector),
        Arc::new(crate::sessions::SessionsProjector),
        Arc::new(crate::notifications::NotificationsProjector),
        Arc::new(crate::audit::AuditProjector),
    ]
}

/// The projector called `name`.
pub fn projector_named(name: &str) -> Result<Arc<dyn Projector>, ProjectionError> {
    all_projectors()
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| ProjectionError::UnknownProjector(name.to_string()))
}

/// Creates the checkpoint row of a projector (at position 0) if it does not exist.
pub async fn ensure_checkpoint(db: &Database, name: &str) -> Result<(), ProjectionError> {
    crate::sql::execute(
        db,
        "INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        &[name.into()],
    )
    .await?;
    Ok(())
}

/// The last position a projector has applied (0 when it never ran).
pub async fn checkpoint(db: &Database, name: &str) -> Result<u64, ProjectionError> {
    let rows = fetch_all(db, "SELECT position FROM projection_checkpoints WHERE name = $1", &[name.into()]).await?;
    match rows.first() {
        Some(row) => Ok(row.int(0)?.max(0) as u64),
        None => Ok(0),
    }
}

/// Locks the checkpoint row for this transaction. `None` when another instance holds it and
/// `wait` is false (PostgreSQL only; on SQLite the transaction already holds the write lock).
async fn lock_checkpoint(tx: &mut DbTx, name: &str, wait: bool) -> Result<Option<u64>, ProjectionError> {
    let sql = match (tx.backend(), wait) {
        (Backend::Postgres, false) => {
            "SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE SKIP LOCKED"
        }
        (Backend::Postgres, true) => "SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE",
        (Backend::Sqlite, _) => "SELECT position FROM projection_checkpoints WHERE name = $1",
    };
    let rows = tx.fetch_all(sql, &[name.into()]).await?;
    match rows.first() {
        Some(row) => Ok(Some(row.int(0)?.max(0) as u64)),
        None => Ok(None),
    }
}

async fn save_checkpoint(tx: &mut DbTx, name: &str, position: u64) -> Result<(), ProjectionError> {
    tx.execute(
        "UPDATE projection_checkpoints SET position = $2 WHERE name = $1",
        &[name.into(), Value::Int(position as i64)],
    )
    .await?;
    Ok(())
}

/// What one step of a projector did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Applied a batch; the checkpoint is now here.
    Applied(u64),
    /// Nothing new after the checkpoint.
    CaughtUp(u64),
    /// Another instance holds the checkpoint; this is its last known position.
    Standby(u64),
    /// Read a batch this projector wants none of, up to `to`; nothing was written, so the
    /// stored checkpoint is still `stored`.
    Skipped { to: u64, stored: u64 },
    /// The checkpoint moved between reading events and locking it; try again.
    Raced,
}

/// Applies at most one batch: read the events after the checkpoint, then in one transaction
/// lock the checkpoint, apply them and move it.
pub async fn step(
    store: &dyn EventStore,
    projector: &dyn Projector,
    batch_size: usize,
) -> Result<Step, ProjectionError> {
    step_from(store, projector, batch_size, None, true).await
}

/// What this process knows of a projector's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    /// Every event up to here is applied or was of no interest to the projector.
    read_to: u64,
    /// The checkpoint as stored; behind `read_to` while skipped batches are not yet recorded.
    stored: u64,
}

/// `step`, trusting `known` (what this process last saw) instead of reading the checkpoint;
/// the checkpoint lock in `apply_batch` still catches a checkpoint another replica has moved.
/// A batch the projector wants none of is only `Skipped`, unless `record_skips` asks for the
/// checkpoint to be moved anyway.
async fn step_from(
    store: &dyn EventStore,
    projector: &dyn Projector,
    batch_size: usize,
    known: Option<Known>,
    record_skips: bool,
) -> Result<Step, ProjectionError> {
    let db = store.database();
    let name = projector.name();
    let known = match known {
        Some(known) => known,
        None => {
            let stored = checkpoint(&db, name).await?;
            Known { read_to: stored, stored }
        }
    };
    // Read before locking: on SQLite the lock is the database's write lock, which the log's
    // writer needs too, so it is held only while applying.
    let events = store.read_all(known.read_to, batch_size.max(1)).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(Step::CaughtUp(known.read_to));
    };
    if !record_skips && !events.iter().any(|e| projector.wants(e)) {
        return Ok(Step::Skipped { to: last, stored: known.stored });
    }
    // Events between the stored checkpoint and `read_to` were of no interest: applying just
    // this batch from the stored checkpoint is the same as applying all of them.
    apply_batch(&db, projector, known.stored, &events, &DecodedBatch::default()).await
}

/// In one transaction: lock the projector's checkpoint, check it is still `after` (the
/// checkpoint `events` were read after, or skipped forward from), apply them and move the
/// checkpoint past them. When the projector refuses the batch, its events are applied one by
/// one instead, so the events before the one it refuses take effect and the error,
/// [`ProjectionError::CannotApply`], names that event.
pub async fn apply_batch(
    db: &Database,
    projector: &dyn Projector,
    after: u64,
    events: &[RecordedEvent],
    decoded: &DecodedBatch,
) -> Result<Step, ProjectionError> {
    match try_batch(db, projector, after, events, decoded).await {
        Ok(step) => Ok(step),
        Err(BatchFailure::Apply(e)) if !e.is_transient() => match events {
            [event] => Err(cannot_apply(projector.name(), event, e)),
            _ => apply_one_by_one(db, projector, after, events).await,
        },
        Err(BatchFailure::Apply(e) | BatchFailure::Other(e)) => Err(e),
    }
}

/// Why a batch transaction failed: the projector refused its events, or anything else
/// (locking, the checkpoint, the commit).
enum BatchFailure {
    Apply(ProjectionError),
    Other(ProjectionError),
}

/// [`apply_batch`] without the event-by-event retry.
async fn try_batch(
    db: &Database,
    projector: &dyn Projector,
    after: u64,
    events: &[RecordedEvent],
    decoded: &DecodedBatch,
) -> Result<Step, BatchFailure> {
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(Step::CaughtUp(after));
    };
    let mut tx = match lock_at(db, projector.name(), after).await.map_err(BatchFailure::Other)? {
        Ok(tx) => tx,
        Err(step) => return Ok(step),
    };
    // An error below drops the transaction, which rolls back rows and checkpoint together.
    projector.apply_decoded(&mut tx, events, decoded).await.map_err(BatchFailure::Apply)?;
    save_checkpoint(&mut tx, projector.name(), last).await.map_err(BatchFailure::Other)?;
    tx.commit().await.map_err(|e| BatchFailure::Other(e.into()))?;
    Ok(Step::Applied(last))
}

/// Applies `events` one transaction each, up to the first the projector refuses.
async fn apply_one_by_one(
    db: &Database,
    projector: &dyn Projector,
    mut after: u64,
    events: &[RecordedEvent],
) -> Result<Step, ProjectionError> {
    for event in events {
        match try_batch(db, projector, after, std::slice::from_ref(event), &DecodedBatch::default()).await {
            Ok(Step::Applied(p)) => after = p,
            Ok(other) => return Ok(other),
            Err(BatchFailure::Apply(e)) if !e.is_transient() => return Err(cannot_apply(projector.name(), event, e)),
            Err(BatchFailure::Apply(e) | BatchFailure::Other(e)) => return Err(e),
        }
    }
    // Every event went through on its own: the batch's failure did not last.
    Ok(Step::Applied(after))
}

/// Moves the stored checkpoint over batches the projector skipped (`from` → `to`).
async fn record_skipped(db: &Database, projector: &dyn Projector, from: u64, to: u64) -> Result<Step, ProjectionError> {
    let mut tx = match lock_at(db, projector.name(), from).await? {
        Ok(tx) => tx,
        Err(step) => return Ok(step),
    };
    save_checkpoint(&mut tx, projector.name(), to).await?;
    tx.commit().await?;
    Ok(Step::Applied(to))
}

/// A transaction holding the projector's checkpoint lock, the checkpoint being `expected`;
/// else the step to report (another instance holds it, or moved it).
async fn lock_at(db: &Database, name: &str, expected: u64) -> Result<Result<DbTx, Step>, ProjectionError> {
    let mut tx = DbTx::begin_derived(db).await?;
    match lock_checkpoint(&mut tx, name, false).await? {
        None => {
            tx.rollback().await?;
            Ok(Err(Step::Standby(expected)))
        }
        Some(locked) if locked != expected => {
            tx.rollback().await?;
            Ok(Err(Step::Raced))
        }
        Some(_) => Ok(Ok(tx)),
    }
}

/// Applies batches until the projector has reached the log head as it was on entry.
pub async fn catch_up(
    store: &dyn EventStore,
    projector: &dyn Projector,
    batch_size: usize,
) -> Result<u64, ProjectionError> {
    ensure_checkpoint(&store.database(), projector.name()).await?;
    let target = store.head().await?.position;
    loop {
        match step(store, projector, batch_size).await? {
            Step::Applied(p) if p >= target => return Ok(p),
            Step::Applied(_) | Step::Raced | Step::Skipped { .. } => {}
            Step::CaughtUp(p) => return Ok(p),
            Step::Standby(p) if p >= target => return Ok(p),
            Step::Standby(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Deletes a projector's rows and resets its checkpoint to 0, in one transaction that waits
/// for any instance's batch in flight.
pub async fn reset(db: &Database, projector: &dyn Projector) -> Result<(), ProjectionError> {
    ensure_checkpoint(db, projector.name()).await?;
    let mut tx = DbTx::begin(db).await?;
    lock_checkpoint(&mut tx, projector.name(), true).await?;
    for table in projector.tables() {
        // TRUNCATE leaves no dead rows for the rebuild to step over (it waits for readers).
        let empty = match tx.backend() {
            Backend::Postgres => format!("TRUNCATE {table}"),
            Backend::Sqlite => format!("DELETE FROM {table}"),
        };
        tx.execute(&empty, &[]).await?;
    }
    save_checkpoint(&mut tx, projector.name(), 0).await?;
    tx.commit().await?;
    faults::clear(db, projector.name()).await
}

/// Rebuilds one projector (`Some(name)`) or all (`None`): reset, then replay the whole log,
/// the projectors in parallel. Returns their status afterwards.
pub async fn rebuild(store: Arc<dyn EventStore>, name: Option<&str>) -> Result<Vec<ProjectorStatus>, ProjectionError> {
    rebuild_with(store, name, REBUILD_BATCH_SIZE).await
}

/// [`rebuild`] with a chosen batch size.
pub async fn rebuild_with(
    store: Arc<dyn EventStore>,
    name: Option<&str>,
    batch_size: usize,
) -> Result<Vec<ProjectorStatus>, ProjectionError> {
    let selected = match name {
        Some(name) => vec![projector_named(name)?],
        None => all_projectors(),
    };
    let db = store.database();
    for projector in &selected {
        reset(&db, projector.as_ref()).await?;
    }
    // The tables are empty now: fill them without their secondary indexes, then index once.
    let tables: Vec<&str> = selected.iter().flat_map(|p| p.tables().iter().copied()).collect();
    secondary_indexes::set_aside(&db, &tables).await?;
    let replayed = replay_all(&store, &selected, batch_size).await;
    let restored = secondary_indexes::restore(&db).await;
    replayed?;
    restored?;
    let names: Vec<&str> = selected.iter().map(|p| p.name()).collect();
    Ok(status(store.as_ref()).await?.into_iter().filter(|s| names.contains(&s.name.as_str())).collect())
}

/// The shared replay, each projector's own catch-up, and its indexes back; the first error,
/// if any.
async fn replay_all(
    store: &Arc<dyn EventStore>,
    selected: &[Arc<dyn Projector>],
    batch_size: usize,
) -> Result<(), ProjectionError> {
    let errors = replay_shared(store, selected, batch_size).await?;
    // The others are rebuilt; a projector that cannot apply an event is the answer.
    match errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// A batch of a shared replay: its events, and their decoded forms for every projector.
type Batch = (Vec<RecordedEvent>, DecodedBatch);

/// Batches a projector of a shared replay may trail the log reader by.
const REPLAY_READ_AHEAD: usize = 4;

/// Replays the log from 0 up to the current head into freshly reset projectors, reading each
/// batch once for all of them. Each projector applies the batches in its own task and
/// transactions, at its own pace: a fast one runs up to [`REPLAY_READ_AHEAD`] batches ahead of
/// the slowest instead of waiting for it at every batch, and the reader reads the next batch
/// while they apply. A projector whose checkpoint is taken by another instance drops out of
/// the shared feed; one that fails drops out too, and its error is returned while the others
/// go on. Each then finishes on its own (`catch_up`: whatever the shared replay left, as when
/// another instance took a checkpoint meanwhile, or the log grew) and gets its set-aside
/// indexes back at once, so a read model filled early is indexed while slower ones still
/// replay, on cores they leave idle.
async fn replay_shared(
    store: &Arc<dyn EventStore>,
    projectors: &[Arc<dyn Projector>],
    batch_size: usize,
) -> Result<Vec<ProjectionError>, ProjectionError> {
    let db = store.database();
    let target = store.head().await?.position;
    let mut feeds = Vec::with_capacity(projectors.len());
    let mut workers = Vec::with_capacity(projectors.len());
    for projector in projectors {
        let (feed, mut batches) = tokio::sync::mpsc::channel::<Arc<Batch>>(REPLAY_READ_AHEAD);
        feeds.push(feed);
        let (db, store, projector) = (db.clone(), store.clone(), projector.clone());
        workers.push(tokio::spawn(async move {
            let replayed = async {
                let mut after = 0;
                while let Some(batch) = batches.recv().await {
                    let (events, decoded) = (&batch.0, &batch.1);
                    let Some(last) = events.last().map(|e| e.position) else { continue };
                    match apply_batch(&db, projector.as_ref(), after, events, decoded).await? {
                        step if step == Step::Applied(last) => after = last,
                        // Another instance took the checkpoint: `catch_up` finishes.
                        _ => break,
                    }
                }
                // Dropping out closes this feed; the reader goes on for the others.
                drop(batches);
                catch_up(store.as_ref(), projector.as_ref(), batch_size).await.map(|_| ())
            }
            .await;
            let restored = secondary_indexes::restore_tables(&db, projector.tables()).await;
            replayed.and(restored)
        }));
    }
    let read = async {
        let mut after = 0;
        while after < target {
            let events = store.read_all(after, batch_size.max(1)).await?;
            let Some(last) = events.last().map(|e| e.position) else { break };
            let batch = Arc::new((events, DecodedBatch::default()));
            if feeds.len() > 1 {
                // Decoded here, once, while the projectors apply earlier batches.
                batch.1.of(&batch.0);
            }
            let mut delivered = false;
            for feed in &feeds {
                // A closed feed is a projector that dropped out.
                delivered |= feed.send(batch.clone()).await.is_ok();
            }
            if !delivered {
                break;
            }
            after = last;
        }
        Ok::<(), ProjectionError>(())
    };
    let read = read.await;
    drop(feeds);
    let mut failed = Vec::new();
    for worker in workers {
        if let Err(e) = worker.await.map_err(|e| ProjectionError::Corrupt(format!("rebuild task failed: {e}")))? {
            failed.push(e);
        }
    }
    read?;
    Ok(failed)
}

/// Where a projector stands relative to the log head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProjectorStatus {
    pub name: String,
    pub position: u64,
    pub head: u64,
    /// Events of the log this projector has not applied yet.
    pub lag: u64,
    /// Set when it cannot apply the event after `position`: where and why (see `faults`).
    pub stuck: Option<StuckProjector>,
}

/// Position, lag and any stuck report of every projector, read from the database (so it
/// covers all replicas).
pub async fn status(store: &dyn EventStore) -> Result<Vec<ProjectorStatus>, ProjectionError> {
    let db = store.database();
    let head = store.head().await?.position;
    let stuck = faults::stuck_projectors(&db).await?;
    let mut out = Vec::new();
    for projector in all_projectors() {
        let position = checkpoint(&db, projector.name()).await?;
        out.push(ProjectorStatus {
            name: projector.name().to_string(),
            position,
            head,
            lag: head.saturating_sub(position),
            stuck: stuck.iter().find(|s| s.name == projector.name()).cloned(),
        });
    }
    Ok(out)
}

/// The largest lag of any projector, in events: the value to export as a metric.
pub async fn projection_lag(store: &dyn EventStore) -> Result<u64, ProjectionError> {
    Ok(status(store).await?.iter().map(|s| s.lag).max().unwrap_or(0))
}

/// How the runtime paces itself.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub batch_size: usize,
    /// Longest wait for a wake-up before looking at the log anyway.
    pub poll_interval: Duration,
    /// How often a standby instance tries to take over.
    pub standby_retry: Duration,
    /// Pause after a failed batch before retrying it.
    pub error_backoff: Duration,
    /// Pause after applying a batch that left no backlog, so that under load the commits of
    /// this interval share the next batch (one transaction per follower instead of one per
    /// commit). A lone write after a quiet spell is still applied at once.
    pub coalesce: Duration,
    /// Longest time skipped batches go unrecorded in the stored checkpoint (which other
    /// replicas and `projections status` read).
    pub record_skips_every: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            batch_size: DEFAULT_BATCH_SIZE,
            poll_interval: reserver_store::DEFAULT_POLL_INTERVAL,
            standby_retry: Duration::from_millis(100),
            error_backoff: Duration::from_millis(500),
            coalesce: Duration::from_millis(25),
            record_skips_every: Duration::from_millis(100),
        }
    }
}

/// What a follower of the log hears from [`follow`].
pub trait FollowObserver: Send {
    /// After each step: the follower's position, and whether that step applied events.
    fn position(&mut self, _position: u64, _applied: bool) {}
    /// The follower got stuck on an event (`Some`, again after every failed retry), or got
    /// past it (`None`).
    fn stuck(&mut self, _stuck: Option<&StuckProjector>) {}
}

/// Observes positions only.
impl<F: FnMut(u64, bool) + Send> FollowObserver for F {
    fn position(&mut self, position: u64, applied: bool) {
        self(position, applied)
    }
}

/// Keeps `projector` applied to the log, batch by batch, until `shutdown` turns true, telling
/// `observer` its position after each step. Any log follower with its own checkpoint
/// (projectors, the webhook and mail planners) runs on this loop. A follower that cannot
/// apply an event is reported (see `faults`) and retried with a growing pause.
pub async fn follow(
    store: &dyn EventStore,
    projector: &dyn Projector,
    options: &RuntimeOptions,
    mut observer: impl FollowObserver,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wake = store.watch_head();
    // Where the checkpoint stands as far as this process knows. While it is known, a wake-up
    // that brings no newer head costs no query. It is forgotten after a poll timeout, so an
    // idle follower still notices what moves no watch here: a write by another process on
    // the same SQLite file, or a rebuild that reset the checkpoint.
    let mut known: Option<Known> = None;
    let mut recorded_at = tokio::time::Instant::now();
    let mut stuck: Option<StuckProjector> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Mark the head as seen before reading, so a commit landing after the read wakes us.
        let head = *wake.borrow_and_update();
        let step = match known {
            // Nothing new, nothing unrecorded: wait.
            Some(k) if head <= k.read_to && k.stored == k.read_to => None,
            // Quiet after skipped batches: record them now.
            Some(k) if head <= k.read_to => {
                Some(record_skipped(&store.database(), projector, k.stored, k.read_to).await)
            }
            _ => {
                let record_skips = recorded_at.elapsed() >= options.record_skips_every;
                Some(step_from(store, projector, options.batch_size, known, record_skips).await)
            }
        };
        let progressed = match &step {
            Some(Ok(Step::Applied(p))) => Some((*p, *p, true)),
            Some(Ok(Step::Skipped { to, stored })) => Some((*to, *stored, false)),
            _ => None,
        };
        if let Some((p, stored, applied)) = progressed {
            if applied {
                recorded_at = tokio::time::Instant::now();
            }
            if stuck.as_ref().is_some_and(|s| p >= s.position) {
                unstuck(store, projector.name(), &mut stuck, &mut observer).await;
            }
            known = Some(Known { read_to: p, stored });
            observer.position(p, applied);
            let backlog = wake.borrow().saturating_sub(p) >= options.batch_size as u64;
            if !backlog && !options.coalesce.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(options.coalesce) => {}
                    _ = shutdown.changed() => return,
                }
            }
            continue;
        }
        let pause = match step {
            None => options.poll_interval,
            // Handled just above.
            Some(Ok(Step::Applied(_) | Step::Skipped { .. })) => continue,
            Some(Ok(Step::Raced)) => {
                known = None;
                continue;
            }
            Some(Ok(Step::CaughtUp(p))) => {
                known = Some(Known { read_to: p, stored: known.map_or(p, |k| k.stored) });
                observer.position(p, false);
                options.poll_interval
            }
            Some(Ok(Step::Standby(p))) => {
                known = None;
                observer.position(p, false);
                options.standby_retry
            }
            Some(Err(error)) => {
                known = None;
                metrics::counter!("projection_failures_total", "projector" => projector.name()).increment(1);
                match error {
                    ProjectionError::CannotApply { position, event_type, source, .. } => {
                        let report = StuckProjector::after_failure(
                            stuck.as_ref(),
                            projector.name(),
                            position,
                            &event_type,
                            source.to_string(),
                            chrono::Utc::now(),
                        );
                        let pause = report.backoff(options.error_backoff);
                        got_stuck(store, report, &mut stuck, &mut observer).await;
                        pause
                    }
                    error => {
                        tracing::warn!(projector = projector.name(), %error, "projection batch failed; retrying");
                        options.error_backoff
                    }
                }
            }
        };
        tokio::select! {
            woken = tokio::time::timeout(pause, wake.changed()) => {
                if woken.is_err() {
                    known = None;
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Reports a follower stuck: log (error level on the first failure at an event and every
/// doubling of attempts after it), metric, the shared table, the observer.
async fn got_stuck(
    store: &dyn EventStore,
    report: StuckProjector,
    stuck: &mut Option<StuckProjector>,
    observer: &mut impl FollowObserver,
) {
    if report.attempts.is_power_of_two() {
        tracing::error!(
            projector = report.name.as_str(),
            position = report.position,
            event_type = report.event_type.as_str(),
            attempts = report.attempts,
            error = report.error.as_str(),
            "projector cannot apply an event; it stays behind this position until a build that can apply it runs"
        );
    }
    metrics::gauge!("projection_stuck", "projector" => report.name.clone()).set(1.0);
    if let Err(error) = faults::record(&store.database(), &report).await {
        tracing::debug!(projector = report.name.as_str(), %error, "could not record the stuck projector");
    }
    observer.stuck(Some(&report));
    *stuck = Some(report);
}

/// Withdraws a stuck report: the follower got past the event.
async fn unstuck(
    store: &dyn EventStore,
    name: &str,
    stuck: &mut Option<StuckProjector>,
    observer: &mut impl FollowObserver,
) {
    tracing::info!(projector = name, "projector got past the event it was stuck on");
    metrics::gauge!("projection_stuck", "projector" => name.to_string()).set(0.0);
    if let Err(error) = faults::clear(&store.database(), name).await {
        tracing::debug!(projector = name, %error, "could not clear the stuck projector's report");
    }
    observer.stuck(None);
    *stuck = None;
}

//! The deadline scheduler. Its state comes from the log: it follows the log from a checkpoint
//! and, for every resource an event touched, stores that resource's pending deadlines (from
//! `reserver_domain::deadlines`) in `scheduled_deadlines` — rows and checkpoint in one
//! transaction. A second loop sends each due command through the pipeline as the system. A
//! restart resumes from the checkpoint and the stored rows, so no deadline is lost; a deadline
//! sent twice (two replicas, a crash between send and bookkeeping) is harmless because stale
//! deadline commands decide to no events.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reserver_domain::resource::{ResourceCommand, ResourceEvent};
use reserver_domain::{
    deadlines, possible_deadline_commands, reservation_deadlines, Actor, Deadline, ResourceState, Role,
};
use reserver_store::{Database, EventStore, RecordedEvent};
use sqlx::Row;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{CommandError, CommandMeta, CommandPipeline, ResourceAggregate};

/// Events projected per transaction.
const BATCH: usize = 500;
/// Due deadlines sent per pass.
const FIRE_BATCH: i64 = 100;
/// Longest sleep between passes; new events wake it sooner.
const IDLE: Duration = Duration::from_millis(500);
/// Pause after projecting a partial batch.
const COALESCE: Duration = Duration::from_millis(25);
/// A deadline whose command failed (not rejected as stale) is tried again this much later.
const RETRY_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// The actor deadline commands are sent as.
pub fn system_actor() -> Actor {
    Actor { user_id: Uuid::nil(), role: Role::Admin }
}

/// Runs the scheduler until the returned handle is aborted.
pub fn spawn(pipeline: CommandPipeline<ResourceAggregate>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wake = pipeline.store().watch_head();
        loop {
            let projected = project_batch(&pipeline).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "scheduler could not project deadlines");
                0
            });
            if let Err(e) = fire_due(&pipeline).await {
                tracing::warn!(error = %e, "scheduler could not send due deadlines");
            }
            if projected > 0 && projected < BATCH {
                // Under load, let the next few commits gather into one batch (as the
                // projectors do) rather than running a transaction per commit.
                tokio::time::sleep(COALESCE).await;
            } else if projected < BATCH {
                let _ = tokio::time::timeout(IDLE, wake.changed()).await;
            }
        }
    })
}

fn resource_of(stream_id: &str) -> Option<Uuid> {
    stream_id.strip_prefix("resource-").and_then(|id| Uuid::parse_str(id).ok())
}

/// Stable key of a deadline within its resource: what it does and to which reservation.
fn command_key(command: &ResourceCommand) -> String {
    serde_json::to_string(command).unwrap_or_default()
}

/// Which deadlines of one resource a batch of events may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Something resource-wide (policy, series, a payload not understood): all of them.
    Everything,
    /// Only those of these reservations: a booking costs its own rows, not a pass over every
    /// reservation the resource holds. `created` are those whose first event is in the batch:
    /// no row can exist for them yet, so there is nothing stored to compare.
    Reservations { touched: BTreeSet<Uuid>, created: BTreeSet<Uuid> },
}

/// What a batch touched of one resource, and the stream version it reached.
struct Touched {
    scope: Scope,
    version: u64,
}

fn scopes(events: &[RecordedEvent]) -> BTreeMap<Uuid, Touched> {
    let mut scopes = BTreeMap::new();
    for event in events {
        let Some(resource_id) = resource_of(&event.stream_id) else { continue };
        let decoded = serde_json::from_str::<ResourceEvent>(&event.payload).ok();
        let creates = decoded.as_ref().is_some_and(ResourceEvent::creates_reservation);
        let entry = scopes.entry(resource_id).or_insert_with(|| Touched {
            scope: Scope::Reservations { touched: BTreeSet::new(), created: BTreeSet::new() },
            version: 0,
        });
        entry.version = entry.version.max(event.stream_version);
        match (&mut entry.scope, decoded.and_then(|e| e.reservation_id())) {
            (Scope::Reservations { touched, created }, Some(id)) => {
                touched.insert(id);
                if creates {
                    created.insert(id);
                }
            }
            (scope, None) => *scope = Scope::Everything,
            (Scope::Everything, Some(_)) => {}
        }
    }
    scopes
}

/// Projects the next batch of events into deadline rows. Returns how many events it read.
pub async fn project_batch(pipeline: &CommandPipeline<ResourceAggregate>) -> Result<usize, CommandError> {
    let store: &Arc<dyn EventStore> = pipeline.store();
    let checkpoint = read_checkpoint(&store.database()).await?;
    let events = store.read_all(checkpoint, BATCH).await?;
    let Some(last) = events.last().map(|e| e.position) else { return Ok(0) };
    let scopes = scopes(&events);
    let mut rows = Vec::new();
    for (id, touched) in &scopes {
        let wanted = |state: &ResourceState| -> Vec<Deadline> {
            match &touched.scope {
                Scope::Everything => deadlines(state),
                Scope::Reservations { touched, .. } => touched
                    .iter()
                    .filter_map(|r| state.reservations.get(r))
                    .flat_map(|r| reservation_deadlines(state, r))
                    .collect(),
            }
        };
        for d in pipeline.inspect_at_least(*id, touched.version, wanted).await? {
            let command = command_key(&d.command);
            rows.push((*id, command.clone(), d.due_at, command));
        }
    }
    replace_rows(&store.database(), checkpoint, last, &scopes, &rows).await?;
    Ok(events.len())
}

/// Sends every deadline that is due now.
pub async fn fire_due(pipeline: &CommandPipeline<ResourceAggregate>) -> Result<usize, CommandError> {
    let now = pipeline.clock().now();
    let db = pipeline.store().database();
    let due = due_rows(&db, now).await?;
    for (resource_id, key, command) in &due {
        let Ok(command) = serde_json::from_str::<ResourceCommand>(command) else {
            delete_row(&db, *resource_id, key).await?;
            continue;
        };
        match pipeline.execute(*resource_id, system_actor(), command, CommandMeta::new()).await {
            // Events were written: the projection replaces this resource's rows.
            Ok(d) if !d.events.is_empty() => {}
            // Nothing left to do (already resolved) or refused as stale: drop the row.
            Ok(_) | Err(CommandError::Rejected(_)) => delete_row(&db, *resource_id, key).await?,
            Err(e) => {
                tracing::warn!(error = %e, %resource_id, "deadline command failed; will retry");
                postpone_row(&db, *resource_id, key, now + RETRY_AFTER).await?;
            }
        }
    }
    Ok(due.len())
}

fn db_err(e: sqlx::Error) -> CommandError {
    CommandError::Store(e.into())
}

async fn read_checkpoint(db: &Database) -> Result<u64, CommandError> {
    let position: i64 = match db {
        Database::Sqlite(p) => {
            sqlx::query_scalar("SELECT position FROM scheduler_checkpoint WHERE id = 1").fetch_one(p).await
        }
        Database::Postgres(p) => {
            sqlx::query_scalar("SELECT position FROM scheduler_checkpoint WHERE id = 1").fetch_one(p).await
        }
    }
    .map_err(db_err)?;
    Ok(position.max(0) as u64)
}

type DeadlineRow = (Uuid, String, DateTime<Utc>, String);

/// The stored rows the scopes cover: resources whose rows are all covered, and (resource, key)
/// pairs to look up.
fn scope_keys(scopes: &BTreeMap<Uuid, Touched>) -> (Vec<Uuid>, Vec<(Uuid, String)>) {
    let mut whole = Vec::new();
    let mut keys = Vec::new();
    for (id, touched) in scopes {
        match &touched.scope {
            Scope::Everything => whole.push(*id),
            Scope::Reservations { touched, created } => {
                for reservation in touched.difference(created) {
                    keys.extend(possible_deadline_commands(*reservation).iter().map(|c| (*id, command_key(c))));
                }
            }
        }
    }
    (whole, keys)
}

/// Replaces the rows the scopes cover and moves the checkpoint from `from` to `to`, in one
/// transaction. If another replica moved the checkpoint meanwhile, changes nothing.
async fn replace_rows(
    db: &Database,
    from: u64,
    to: u64,
    scopes: &BTreeMap<Uuid, Touched>,
    rows: &[DeadlineRow],
) -> Result<(), CommandError> {
    let (whole, keys) = scope_keys(scopes);
    match db {
        Database::Postgres(pool) => {
            // Deadline rows are rebuilt from the log after a crash (see POSTGRES_BEGIN_DERIVED).
            let mut tx = pool.begin_with(reserver_store::POSTGRES_BEGIN_DERIVED).await.map_err(db_err)?;
            // Locking the checkpoint serializes replicas' schedulers.
            let current: i64 = sqlx::query_scalar("SELECT position FROM scheduler_checkpoint WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if current as u64 != from {
                return Ok(());
            }
            let (key_ids, key_names): (Vec<Uuid>, Vec<String>) = keys.into_iter().unzip();
            // LATERAL: one primary-key probe per possible key; a join let the planner hash the table.
            let existing: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT resource_id, command_key, due_at FROM scheduled_deadlines WHERE resource_id = ANY($1) \
                 UNION ALL \
                 SELECT d.resource_id, d.command_key, d.due_at \
                 FROM unnest($2::uuid[], $3::text[]) AS k(resource_id, command_key) \
                 CROSS JOIN LATERAL (SELECT resource_id, command_key, due_at FROM scheduled_deadlines \
                 WHERE resource_id = k.resource_id AND command_key = k.command_key) AS d",
            )
            .bind(&whole)
            .bind(&key_ids)
            .bind(&key_names)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let (gone, new) = changes(existing, rows);
            let (gone_ids, gone_keys): (Vec<Uuid>, Vec<String>) = gone.into_iter().unzip();
            sqlx::query(
                "DELETE FROM scheduled_deadlines d USING unnest($1::uuid[], $2::text[]) AS k(resource_id, command_key) \
                 WHERE d.resource_id = k.resource_id AND d.command_key = k.command_key",
            )
            .bind(&gone_ids)
            .bind(&gone_keys)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let ids: Vec<Uuid> = new.iter().map(|r| r.0).collect();
            let keys: Vec<&str> = new.iter().map(|r| r.1.as_str()).collect();
            let dues: Vec<DateTime<Utc>> = new.iter().map(|r| r.2).collect();
            let commands: Vec<&str> = new.iter().map(|r| r.3.as_str()).collect();
            sqlx::query(
                "INSERT INTO scheduled_deadlines (resource_id, command_key, due_at, command) \
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) \
                 ON CONFLICT (resource_id, command_key) DO UPDATE SET due_at = excluded.due_at, command = excluded.command",
            )
            .bind(&ids)
            .bind(&keys)
            .bind(&dues)
            .bind(&commands)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query("UPDATE scheduler_checkpoint SET position = $1 WHERE id = 1")
                .bind(to as i64)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        }
        Database::Sqlite(pool) => {
            let _turn = reserver_store::sqlite_write_turn(pool).await;
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
            let current: i64 = sqlx::query_scalar("SELECT position FROM scheduler_checkpoint WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if current as u64 != from {
                return Ok(());
            }
            let mut existing = Vec::new();
            let mut found: Vec<(String, String, i64)> = Vec::new();
            for id in &whole {
                found.extend(
                    sqlx::query_as(
                        "SELECT resource_id, command_key, due_at FROM scheduled_deadlines WHERE resource_id = ?",
                    )
                    .bind(id.to_string())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?,
                );
            }
            for (id, key) in &keys {
                found.extend(
                    sqlx::query_as(
                        "SELECT resource_id, command_key, due_at FROM scheduled_deadlines \
                         WHERE resource_id = ? AND command_key = ?",
                    )
                    .bind(id.to_string())
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?,
                );
            }
            for (id, key, due) in found {
                if let (Ok(id), Some(due)) = (Uuid::parse_str(&id), DateTime::<Utc>::from_timestamp_micros(due)) {
                    existing.push((id, key, due));
                }
            }
            let (gone, new) = changes(existing, rows);
            for (id, key) in gone {
                sqlx::query("DELETE FROM scheduled_deadlines WHERE resource_id = ? AND command_key = ?")
                    .bind(id.to_string())
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            for (id, key, due, command) in new {
                sqlx::query(
                    "INSERT INTO scheduled_deadlines (resource_id, command_key, due_at, command) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (resource_id, command_key) DO UPDATE SET due_at = excluded.due_at, \
                     command = excluded.command",
                )
                .bind(id.to_string())
                .bind(key)
                .bind(due.timestamp_micros())
                .bind(command)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            sqlx::query("UPDATE scheduler_checkpoint SET position = ? WHERE id = 1")
                .bind(to as i64)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        }
    }
}

/// What turns the stored deadlines of the touched resources into `wanted`: the rows to delete
/// (gone, or due at another time) and the rows to insert. Only differences are written, so a
/// booking costs a row or two, not a rewrite of every deadline its resource has.
fn changes(
    existing: Vec<(Uuid, String, DateTime<Utc>)>,
    wanted: &[DeadlineRow],
) -> (Vec<(Uuid, String)>, Vec<&DeadlineRow>) {
    // Compared in microseconds: what both databases keep of an instant.
    let stored: HashMap<(Uuid, String), i64> =
        existing.into_iter().map(|(id, key, due)| ((id, key), due.timestamp_micros())).collect();
    let keep: HashSet<(Uuid, &str)> = wanted
        .iter()
        .filter(|(id, key, due, _)| stored.get(&(*id, key.clone())) == Some(&due.timestamp_micros()))
        .map(|(id, key, _, _)| (*id, key.as_str()))
        .collect();
    let gone = stored.into_keys().filter(|(id, key)| !keep.contains(&(*id, key.as_str()))).collect();
    let new = wanted.iter().filter(|(id, key, _, _)| !keep.contains(&(*id, key.as_str()))).collect();
    (gone, new)
}

async fn due_rows(db: &Database, now: DateTime<Utc>) -> Result<Vec<(Uuid, String, String)>, CommandError> {
    let sql_pg =
        "SELECT resource_id, command_key, command FROM scheduled_deadlines WHERE due_at <= $1 ORDER BY due_at LIMIT $2";
    let sql_lite =
        "SELECT resource_id, command_key, command FROM scheduled_deadlines WHERE due_at <= ? ORDER BY due_at LIMIT ?";
    match db {
        Database::Postgres(p) => {
            let rows = sqlx::query(sql_pg).bind(now).bind(FIRE_BATCH).fetch_all(p).await.map_err(db_err)?;
            rows.iter()
                .map(|r| Ok((r.try_get("resource_id")?, r.try_get("command_key")?, r.try_get("command")?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db_err)
        }
        Database::Sqlite(p) => {
            let rows = sqlx::query(sql_lite)
                .bind(now.timestamp_micros())
                .bind(FIRE_BATCH)
                .fetch_all(p)
                .await
                .map_err(db_err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let id: String = r.try_get("resource_id").map_err(db_err)?;
                let Ok(id) = Uuid::parse_str(&id) else { continue };
                out.push((id, r.try_get("command_key").map_err(db_err)?, r.try_get("command").map_err(db_err)?));
            }
            Ok(out)
        }
    }
}

async fn delete_row(db: &Database, resource_id: Uuid, key: &str) -> Result<(), CommandError> {
    match db {
        Database::Postgres(p) => {
            sqlx::query("DELETE FROM scheduled_deadlines WHERE resource_id = $1 AND command_key = $2")
                .bind(resource_id)
                .bind(key)
                .execute(p)
                .await
                .map(|_| ())
        }
        Database::Sqlite(p) => {
            // In this process's queue for the write lock, like every SQLite write (store::write_gate).
            let _turn = reserver_store::sqlite_write_turn(p).await;
            sqlx::query("DELETE FROM scheduled_deadlines WHERE resource_id = ? AND command_key = ?")
                .bind(resource_id.to_string())
                .bind(key)
                .execute(p)
                .await
                .map(|_| ())
        }
    }
    .map_err(db_err)
}

async fn postpone_row(db: &Database, resource_id: Uuid, key: &str, to: DateTime<Utc>) -> Result<(), CommandError> {
    match db {
        Database::Postgres(p) => {
            sqlx::query("UPDATE scheduled_deadlines SET due_at = $1 WHERE resource_id = $2 AND command_key = $3")
                .bind(to)
                .bind(resource_id)
                .bind(key)
                .execute(p)
                .await
                .map(|_| ())
        }
        Database::Sqlite(p) => {
            let _turn = reserver_store::sqlite_write_turn(p).await;
            sqlx::query("UPDATE scheduled_deadlines SET due_at = ? WHERE resource_id = ? AND command_key = ?")
                .bind(to.timestamp_micros())
                .bind(resource_id.to_string())
                .bind(key)
                .execute(p)
                .await
                .map(|_| ())
        }
    }
    .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reserver_domain::resource::ResourceStatus;

    fn recorded(resource: Uuid, event: &ResourceEvent) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            event_id: Uuid::new_v4(),
            stream_id: format!("resource-{resource}"),
            stream_version: 1,
            event_type: event.event_type().into(),
            schema_version: 1,
            payload: serde_json::to_string(event).unwrap_or_default(),
            metadata: "{}".into(),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            prev_hash: vec![],
            hash: vec![],
        }
    }

    #[test]
    fn a_reservation_event_scopes_its_reservation_and_a_resource_event_everything() {
        let (a, b, r1, r2, user) =
            (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4), Uuid::nil());
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let cancel = |reservation_id| ResourceEvent::ReservationCancelled {
            reservation_id,
            user_id: user,
            by: user,
            reason: None,
            at,
        };
        let status = ResourceEvent::ResourceStatusChanged { status: ResourceStatus::Maintenance, by: user, at };
        let events = [
            recorded(a, &cancel(r1)),
            recorded(b, &cancel(r2)),
            recorded(a, &cancel(r2)),
            recorded(b, &status),
            recorded(b, &cancel(r1)),
        ];
        let scopes = scopes(&events);
        assert_eq!(scopes[&a].scope, Scope::Reservations { touched: [r1, r2].into(), created: [].into() });
        assert_eq!(scopes[&b].scope, Scope::Everything);
        let (whole, keys) = scope_keys(&scopes);
        assert_eq!(whole, [b]);
        assert_eq!(keys.len(), 8, "every possible deadline of both reservations of a");
    }

    #[test]
    fn a_reservation_created_in_the_batch_has_no_rows_to_compare() {
        let (a, r1, r2, user) = (Uuid::from_u128(1), Uuid::from_u128(3), Uuid::from_u128(4), Uuid::nil());
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let range = reserver_domain::TimeRange::new(at, at + chrono::Duration::hours(1)).expect("range");
        let confirm =
            ResourceEvent::ReservationConfirmed { reservation_id: r1, user_id: user, range, series_id: None, at };
        let cancel =
            ResourceEvent::ReservationCancelled { reservation_id: r2, user_id: user, by: user, reason: None, at };
        let scopes = scopes(&[recorded(a, &confirm), recorded(a, &cancel)]);
        let (whole, keys) = scope_keys(&scopes);
        assert!(whole.is_empty());
        assert_eq!(keys.len(), 4, "only the cancelled reservation's possible rows are looked up");
        assert!(keys.iter().all(|(_, key)| key.contains(&r2.to_string())));
    }

    #[test]
    fn only_differences_are_written() {
        let (r, t) = (Uuid::from_u128(1), DateTime::<Utc>::UNIX_EPOCH);
        let at = |minutes| t + chrono::Duration::minutes(minutes);
        let row = |key: &str, minutes| (r, key.to_string(), at(minutes), format!("{key}-command"));
        let existing = vec![(r, "a".into(), at(1)), (r, "b".into(), at(2)), (r, "c".into(), at(3))];
        let wanted = vec![row("a", 1), row("b", 5), row("d", 4)];
        let (mut gone, new) = changes(existing, &wanted);
        gone.sort();
        assert_eq!(gone, [(r, "b".to_string()), (r, "c".to_string())], "moved and vanished rows go");
        let new: Vec<_> = new.iter().map(|(_, key, due, _)| (key.as_str(), *due)).collect();
        assert_eq!(new, [("b", at(5)), ("d", at(4))], "moved and new rows come; unchanged ones stay");
    }
    /// The fired-deadline bookkeeping writes outside the scheduler's transaction; on SQLite they
    /// queue for the process's write turn like every other write (store::write_gate).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deadline_row_writes_wait_for_the_sqlite_write_turn() {
        let scratch = reserver_store::scratch::ScratchDatabase::new(reserver_store::Backend::Sqlite).await;
        let db = scratch.open().await.database();
        let Database::Sqlite(pool) = db.clone() else { panic!("a SQLite scratch database") };
        let id = Uuid::from_u128(7);
        let writer = db.clone();
        reserver_store::assert_waits_for_write_turn(&pool, async move {
            postpone_row(&writer, id, "expire-hold", DateTime::<Utc>::UNIX_EPOCH).await
        })
        .await
        .expect("postponed");
        let writer = db.clone();
        reserver_store::assert_waits_for_write_turn(&pool, async move { delete_row(&writer, id, "expire-hold").await })
            .await
            .expect("deleted");
    }
}

//! What a rebuild does to go fast, each on both backends: large plain inserts (COPY on
//! PostgreSQL) keep every character, and the secondary indexes a rebuild sets aside come back —
//! after the rebuild, and at the next start when the rebuild's process died in between.

#[macro_use]
mod common;

use common::*;
use reserver_projections::secondary_indexes;
use reserver_projections::sql::{fetch_all, DbTx, Value};
use reserver_projections::{all_projectors, rebuild, rebuild_with, ProjectionRuntime, RuntimeOptions};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{Backend, Database};

on_both_backends!(
    bulk_inserts_keep_every_character,
    a_rebuild_puts_its_secondary_indexes_back,
    indexes_a_dead_rebuild_set_aside_come_back_at_start,
    a_read_model_gets_its_own_indexes_back,
    a_reservation_created_twice_is_still_projected,
);

/// Text COPY's format would otherwise read as structure: separators, escapes, the NULL marker.
const AWKWARD: [&str; 9] =
    ["plain", "tab\there", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "nul\0byte", "ünïcødé ✓", ""];

async fn bulk_inserts_keep_every_character(db: ScratchDatabase) {
    let store = db.open().await;
    let database = store.database();
    // Enough rows that PostgreSQL takes the COPY path.
    let rows: Vec<Vec<Value>> = (0..2_500i64)
        .map(|n| {
            let text = AWKWARD[n as usize % AWKWARD.len()];
            vec![
                Value::Int(n + 1),
                if n % 3 == 0 { Value::NullText } else { Value::Text(text.to_string()) },
                Value::Text(text.to_string()),
                Value::Text(format!("{text}/{n}")),
                Value::Int(-n),
            ]
        })
        .collect();
    let mut tx = DbTx::begin(&database).await.unwrap();
    tx.insert_rows("INSERT INTO rm_audit (position, actor, action, resource_id, recorded_at)", "", &rows)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stored = fetch_all(
        &database,
        "SELECT position, actor, action, resource_id, recorded_at FROM rm_audit ORDER BY position",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(stored.len(), rows.len());
    for (row, expected) in stored.iter().zip(&rows) {
        let text = |i: usize| match &expected[i] {
            // NUL is stored as U+FFFD on both backends.
            Value::Text(t) => Some(t.replace('\0', "\u{FFFD}")),
            _ => None,
        };
        assert_eq!(Value::Int(row.int(0).unwrap()), expected[0]);
        assert_eq!(row.opt_text(1).unwrap(), text(1));
        assert_eq!(Some(row.text(2).unwrap()), text(2));
        assert_eq!(Some(row.text(3).unwrap()), text(3));
        assert_eq!(Value::Int(row.int(4).unwrap()), expected[4]);
    }
}

/// Every index of every read-model table, with its definition as the database states it.
async fn read_model_indexes(db: &Database) -> Vec<(String, String)> {
    let sql = match db {
        Database::Postgres(_) => {
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename LIKE 'rm\\_%' \
             AND schemaname = current_schema() ORDER BY indexname"
        }
        Database::Sqlite(_) => {
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'rm\\_%' ESCAPE '\\' \
             ORDER BY name"
        }
    };
    let rows = fetch_all(db, sql, &[]).await.unwrap();
    rows.iter().map(|r| (r.text(0).unwrap(), r.text(1).unwrap().replace("IF NOT EXISTS ", ""))).collect()
}

async fn a_rebuild_puts_its_secondary_indexes_back(db: ScratchDatabase) {
    let (store, live) = live_workload(&db).await;
    let database = store.database();
    let before = read_model_indexes(&database).await;
    assert!(before.iter().any(|(name, _)| name == "rm_audit_actor_idx"), "{before:?}");
    // Batches large enough for COPY on PostgreSQL, and the default ones.
    rebuild_with(store.clone(), None, 5_000).await.unwrap();
    assert_eq!(read_model_indexes(&database).await, before);
    assert_eq!(snapshot(&store).await, live);
    rebuild(store.clone(), Some("audit")).await.unwrap();
    assert_eq!(read_model_indexes(&database).await, before);
    assert_eq!(snapshot(&store).await, live);
}

async fn indexes_a_dead_rebuild_set_aside_come_back_at_start(db: ScratchDatabase) {
    let (store, live) = live_workload(&db).await;
    let database = store.database();
    let before = read_model_indexes(&database).await;
    // A rebuild that set the indexes aside and died before putting them back.
    let tables: Vec<&str> = all_projectors().iter().flat_map(|p| p.tables().iter().copied()).collect();
    secondary_indexes::set_aside(&database, &tables).await.unwrap();
    let during = read_model_indexes(&database).await;
    assert!(during.len() < before.len(), "secondary indexes dropped: {during:?}");
    assert!(!during.iter().any(|(name, _)| name == "rm_audit_actor_idx"));
    // Setting aside twice (a second rebuild) keeps the first record.
    secondary_indexes::set_aside(&database, &tables).await.unwrap();
    // The next process to run the projectors restores them before anything else.
    let handle =
        ProjectionRuntime::start_with(store.clone(), all_projectors(), RuntimeOptions::default()).await.unwrap();
    assert_eq!(read_model_indexes(&database).await, before);
    handle.shutdown().await;
    assert_eq!(snapshot(&store).await, live);
}

/// A rebuild gives each read model its indexes back as soon as that one is filled
/// (`restore_tables`): the named tables' indexes return, the others stay recorded for later.
async fn a_read_model_gets_its_own_indexes_back(db: ScratchDatabase) {
    let (store, _live) = live_workload(&db).await;
    let database = store.database();
    let before = read_model_indexes(&database).await;
    secondary_indexes::set_aside(&database, &["rm_audit", "rm_notifications"]).await.unwrap();
    secondary_indexes::restore_tables(&database, &["rm_audit"]).await.unwrap();
    let names: Vec<String> = read_model_indexes(&database).await.into_iter().map(|(name, _)| name).collect();
    assert!(names.iter().any(|n| n == "rm_audit_actor_idx"), "{names:?}");
    assert!(!names.iter().any(|n| n == "rm_notifications_user_idx"), "{names:?}");
    let recorded = fetch_all(&database, "SELECT name FROM projection_set_aside_indexes", &[]).await.unwrap();
    let recorded: Vec<String> = recorded.iter().map(|row| row.text(0).unwrap()).collect();
    assert_eq!(recorded, vec!["rm_notifications_user_idx".to_string()]);
    secondary_indexes::restore(&database).await.unwrap();
    assert_eq!(read_model_indexes(&database).await, before);
}

/// A rebuild's batch creating thousands of reservations inserts them without a conflict check
/// on PostgreSQL (`COPY`). A log that creates an id a second time — the write side never does —
/// fails that batch; its events are then applied one by one and the second creation replaces the
/// first, exactly as the upsert of a live batch does.
async fn a_reservation_created_twice_is_still_projected(db: ScratchDatabase) {
    use reserver_domain::resource::stream_id;
    use reserver_domain::{ResourceEvent, TimeRange};
    use reserver_projections::reservations::get_reservation;
    use reserver_projections::status;
    use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
    use uuid::Uuid;

    let store = db.open().await;
    let database = store.database();
    let twice = Uuid::from_u128(0x7777);
    let confirmed = |reservation_id: Uuid, hour: i64| {
        let start = utc(2031, 1, 1, 0, 0) + chrono::Duration::hours(hour);
        let range = TimeRange::new(start, start + chrono::Duration::minutes(30)).unwrap();
        let event =
            ResourceEvent::ReservationConfirmed { reservation_id, user_id: ALICE, range, series_id: None, at: start };
        NewEvent::new(Uuid::new_v4(), event.event_type(), serde_json::to_string(&event).unwrap())
    };
    // The id, 2,500 others, the id again (in the second batch of 2,000), 1,500 more.
    let mut events = vec![confirmed(twice, 0)];
    events.extend((1..=2_500).map(|n| confirmed(Uuid::from_u128(0x10_000 + n), n as i64)));
    events.push(confirmed(twice, 9_999));
    events.extend((2_501..=4_000).map(|n| confirmed(Uuid::from_u128(0x10_000 + n), n as i64)));
    let stream = stream_id(ROOM);
    for chunk in events.chunks(1_000) {
        let request = AppendRequest::single(stream.clone(), ExpectedVersion::Any, chunk.to_vec());
        store.append(request).await.unwrap();
    }
    let head = store.head().await.unwrap().position;

    let rebuilt = rebuild_with(store.clone(), Some("reservations"), 2_000).await.unwrap();
    assert_eq!(rebuilt.iter().map(|s| (s.position, s.stuck.is_some())).collect::<Vec<_>>(), vec![(head, false)]);
    let rows = fetch_all(&database, "SELECT count(*) FROM rm_reservations", &[]).await.unwrap();
    assert_eq!(rows[0].int(0).unwrap(), 4_001);
    let view = get_reservation(&database, twice).await.unwrap().unwrap();
    assert_eq!(view.range.start(), utc(2031, 1, 1, 0, 0) + chrono::Duration::hours(9_999));
    assert!(status(store.as_ref()).await.unwrap().iter().all(|s| s.stuck.is_none()));
}

//! The read side on both backends: rebuild equals live, exactly-once across failures and
//! replicas, read-your-writes, time travel and the shape of query answers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use reserver_domain::resource::ReservationStatus;
use reserver_projections::runtime::{checkpoint, Projector};
use reserver_projections::sql::DbTx;
use reserver_projections::{
    all_projectors, catch_up, rebuild, reservations, schedule_as_of, status, ProjectionError, ProjectionRuntime,
    RuntimeOptions,
};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use tokio::sync::Notify;

on_both_backends!(
    rebuild_equals_live,
    failed_batch_applies_nothing_and_resumes,
    aborted_batch_applies_nothing_and_resumes,
    replicas_apply_each_event_once,
    wait_for_reaches_position_or_times_out,
    time_travel_shows_the_schedule_then,
    read_models_answer_the_workload,
    skipped_batches_cost_no_transaction,
);

async fn rebuild_equals_live(db: ScratchDatabase) {
    let (store, live) = live_workload(&db).await;
    let statuses = rebuild(store.clone(), None).await.unwrap();
    assert_eq!(statuses.len(), all_projectors().len());
    assert!(statuses.iter().all(|s| s.lag == 0), "{statuses:?}");
    let rebuilt = snapshot(&store).await;
    assert_eq!(live, rebuilt);
    // One projector alone comes back identical too.
    rebuild(store.clone(), Some("reservations")).await.unwrap();
    assert_eq!(live, snapshot(&store).await);
}

/// Applies a batch, then fails before the checkpoint commits when it reaches `fail_at`.
struct FailingProjector {
    inner: Arc<dyn Projector>,
    fail_at: u64,
    stall: Option<Arc<Notify>>,
}

#[async_trait]
impl Projector for FailingProjector {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }
    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        self.inner.apply(tx, events).await?;
        if events.iter().any(|e| e.position >= self.fail_at) {
            if let Some(stalled) = &self.stall {
                stalled.notify_one();
                std::future::pending::<()>().await;
            }
            return Err(ProjectionError::Injected("killed mid-batch".into()));
        }
        Ok(())
    }
}

/// Wants no event at all and counts the batches it is handed anyway.
struct Uninterested {
    applied: Arc<AtomicUsize>,
}

#[async_trait]
impl Projector for Uninterested {
    fn name(&self) -> &'static str {
        "uninterested"
    }
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }
    async fn apply(&self, _tx: &mut DbTx, _events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn wants(&self, _event: &RecordedEvent) -> bool {
        false
    }
}

async fn skipped_batches_cost_no_transaction(db: ScratchDatabase) {
    let store = db.open().await;
    let applied = Arc::new(AtomicUsize::new(0));
    let projector = Arc::new(Uninterested { applied: applied.clone() });
    let options = RuntimeOptions { record_skips_every: Duration::from_secs(3600), ..small_batches() };
    let handle = ProjectionRuntime::start_with(store.clone(), vec![projector], options).await.unwrap();
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    let head = workload.last_position;
    handle.wait_for(head, Duration::from_secs(20)).await.unwrap();
    // Once the log is quiet the stored checkpoint catches up, still without a batch applied.
    assert_eq!(stored_checkpoint_reaches(&store, head).await, head);
    // After a quiet spell longer than the poll interval the follower has forgotten where it
    // stood; what it skips next is still recorded against the checkpoint actually stored.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let note = NewEvent::new(uuid::Uuid::new_v4(), "note", "{}");
    let later = store.append(AppendRequest::single("note-1", ExpectedVersion::Any, vec![note])).await.unwrap();
    let head = later.last_position();
    handle.wait_for(head, Duration::from_secs(20)).await.unwrap();
    assert_eq!(stored_checkpoint_reaches(&store, head).await, head);
    assert_eq!(applied.load(Ordering::SeqCst), 0, "no batch was applied");
    handle.shutdown().await;
}

/// Polls the uninterested projector's stored checkpoint for up to 2 s.
async fn stored_checkpoint_reaches(store: &Arc<dyn EventStore>, head: u64) -> u64 {
    let mut stored = 0;
    for _ in 0..100 {
        stored = checkpoint(&store.database(), "uninterested").await.unwrap();
        if stored == head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stored
}

async fn workload_then_reference(db: &ScratchDatabase) -> (Arc<dyn EventStore>, serde_json::Value, u64) {
    let store = db.open().await;
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    rebuild(store.clone(), None).await.unwrap();
    let reference = snapshot(&store).await;
    (store, reference, workload.last_position)
}

async fn failed_batch_applies_nothing_and_resumes(db: ScratchDatabase) {
    let (store, reference, head) = workload_then_reference(&db).await;
    for projector in all_projectors() {
        reserver_projections::runtime::reset(&store.database(), projector.as_ref()).await.unwrap();
        let failing = FailingProjector { inner: projector.clone(), fail_at: head / 2, stall: None };
        let error = catch_up(store.as_ref(), &failing, 5).await.unwrap_err();
        match &error {
            ProjectionError::CannotApply { position, source, .. } => {
                assert_eq!(*position, head / 2, "the error names the event");
                assert!(matches!(**source, ProjectionError::Injected(_)), "{error}");
            }
            other => panic!("expected CannotApply, got {other}"),
        }
        let stopped = checkpoint(&store.database(), projector.name()).await.unwrap();
        assert_eq!(stopped, head / 2 - 1, "the failing event's checkpoint must not commit");
        catch_up(store.as_ref(), projector.as_ref(), 5).await.unwrap();
    }
    assert_eq!(reference, snapshot(&store).await);
}

async fn aborted_batch_applies_nothing_and_resumes(db: ScratchDatabase) {
    let (store, reference, head) = workload_then_reference(&db).await;
    for projector in all_projectors() {
        reserver_projections::runtime::reset(&store.database(), projector.as_ref()).await.unwrap();
        let stalled = Arc::new(Notify::new());
        let stalling = FailingProjector { inner: projector.clone(), fail_at: head / 3, stall: Some(stalled.clone()) };
        let task_store = store.clone();
        let task = tokio::spawn(async move { catch_up(task_store.as_ref(), &stalling, 4).await });
        stalled.notified().await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        catch_up(store.as_ref(), projector.as_ref(), 4).await.unwrap();
    }
    assert_eq!(reference, snapshot(&store).await);
}

async fn replicas_apply_each_event_once(db: ScratchDatabase) {
    let first = db.open().await;
    let second = db.open().await;
    let a = ProjectionRuntime::start_with(first.clone(), all_projectors(), small_batches()).await.unwrap();
    let b = ProjectionRuntime::start_with(second.clone(), all_projectors(), small_batches()).await.unwrap();
    let mut workload = Workload::new(first.clone());
    mixed_workload(&mut workload).await;
    let head = workload.last_position;
    a.wait_for(head, Duration::from_secs(20)).await.unwrap();
    b.wait_for(head, Duration::from_secs(20)).await.unwrap();
    let live = snapshot(&first).await;
    a.shutdown().await;
    b.shutdown().await;
    // Had any event been applied twice, the history and audit keys would have refused it, and
    // the rebuild below would differ.
    rebuild(first.clone(), None).await.unwrap();
    assert_eq!(live, snapshot(&first).await);
    assert!(status(second.as_ref()).await.unwrap().iter().all(|s| s.position == head));
}

async fn wait_for_reaches_position_or_times_out(db: ScratchDatabase) {
    let store = db.open().await;
    let handle = ProjectionRuntime::start(store.clone()).await.unwrap();
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    let head = workload.last_position;
    handle.wait_for(head, Duration::from_secs(20)).await.unwrap();
    // Once waited for, the booking is visible.
    let seen = reservations::get_reservation(&store.database(), id(1)).await.unwrap().unwrap();
    assert_eq!(seen.status, ReservationStatus::Cancelled);
    assert!(handle.positions().iter().all(|(_, p)| *p == head));
    let error = handle.wait_for(head + 100, Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(error.wanted, head + 100);
    assert_eq!(error.reached, head);
    assert!(error.to_string().contains("have not reached log position"), "{error}");
    // The stored checkpoints (what /metrics and other replicas read) follow within moments:
    // a projector records batches it had no interest in once the log goes quiet.
    let mut lag = u64::MAX;
    for _ in 0..100 {
        lag = reserver_projections::projection_lag(store.as_ref()).await.unwrap();
        if lag == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lag, 0);
    handle.shutdown().await;
}

async fn time_travel_shows_the_schedule_then(db: ScratchDatabase) {
    let store = db.open().await;
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    // The instant each event of the room's stream was recorded.
    let events = store.read_stream(&reserver_domain::resource::stream_id(ROOM), 1, 1000).await.unwrap();
    let booked_both = events.iter().find(|e| e.event_type == "reservation_confirmed" && e.stream_version == 3).unwrap();
    let before = schedule_as_of(store.as_ref(), ROOM, events[0].recorded_at).await.unwrap();
    assert!(before.is_empty());
    let then = schedule_as_of(store.as_ref(), ROOM, booked_both.recorded_at).await.unwrap();
    let statuses: Vec<_> = then.iter().map(|r| (r.reservation_id, r.status)).collect();
    assert_eq!(statuses, vec![(id(1), ReservationStatus::Confirmed), (id(2), ReservationStatus::Confirmed)]);
    let now = schedule_as_of(store.as_ref(), ROOM, chrono::Utc::now()).await.unwrap();
    assert!(now.iter().any(|r| r.reservation_id == id(1) && r.status == ReservationStatus::Cancelled));
    assert_eq!(now.len(), 3);
}

async fn read_models_answer_the_workload(db: ScratchDatabase) {
    let store = db.open().await;
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    rebuild(store.clone(), None).await.unwrap();
    let s = snapshot(&store).await;
    let names = |key: &str| -> Vec<String> {
        s[key]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["data"].as_array().unwrap().clone())
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("resources/0/false"), ["desk pool", "Old 100% room", "Room Blue", "Wet lab"]);
    assert_eq!(names("filter/0"), ["Room Blue", "Wet lab"], "tag filter is case-insensitive");
    assert_eq!(names("filter/2"), ["Old 100% room"]);
    assert_eq!(names("filter/3"), ["desk pool", "Room Blue", "Wet lab"], "subgroups");
    assert_eq!(names("filter/4"), ["Wet lab"]);
    assert_eq!(names("filter/5"), ["Old 100% room"], "LIKE wildcards are escaped");
    assert_eq!(s["cycle"], serde_json::json!([true, false]));
    assert_eq!(s["groups"][0]["name"], "Building A");
    assert_eq!(s["groups"][0]["children"][0]["children"][0]["name"], "East wing");
    assert_eq!(s["waitlist/00000000-0000-0000-0000-000000000100"][0]["user_id"], ALICE.to_string());
    assert_eq!(s["approvals"][0]["data"][0]["reservation_id"], id(12).to_string());
    let history: Vec<_> = s["history/1"].as_array().unwrap().iter().map(|h| h["event_type"].clone()).collect();
    assert_eq!(history, ["reservation_confirmed", "reservation_cancelled"]);
    assert_eq!(s["series"]["reservations"].as_array().unwrap().len(), 5);
    assert_eq!(s["no_shows"]["no_shows"], 1);
    assert_eq!(s["no_shows"]["checked_in"], 1);
    let approver = format!("notifications/{APPROVER}");
    let kinds: Vec<_> = s[approver.as_str()]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["data"].as_array().unwrap().clone())
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "approval_needed").count(), 3);
    let audit_rows: usize = s["audit"].as_array().unwrap().iter().map(|p| p["data"].as_array().unwrap().len()).sum();
    assert_eq!(audit_rows as u64, workload.last_position);
    let db = store.database();
    let unread = reserver_projections::notifications::unread_count(&db, CAROL).await.unwrap();
    assert!(unread > 0);
    reserver_projections::notifications::mark_all_read(&db, CAROL, base_now()).await.unwrap();
    assert_eq!(reserver_projections::notifications::unread_count(&db, CAROL).await.unwrap(), 0);
    // Read marks are the user's, not the log's: they survive a rebuild.
    rebuild(store.clone(), Some("notifications")).await.unwrap();
    assert_eq!(reserver_projections::notifications::unread_count(&db, CAROL).await.unwrap(), 0);
}

/// Removes what legitimately differs between two logs with the same events: the instants the
/// log recorded them at.
fn without_recording_times(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("recorded_at");
            map.values_mut().for_each(without_recording_times);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_recording_times),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_backends_answer_identically() {
    let sqlite = ScratchDatabase::new(Backend::Sqlite).await;
    let postgres = ScratchDatabase::new(Backend::Postgres).await;
    let (_, mut on_sqlite) = live_workload(&sqlite).await;
    let (_, mut on_postgres) = live_workload(&postgres).await;
    without_recording_times(&mut on_sqlite);
    without_recording_times(&mut on_postgres);
    assert_eq!(on_sqlite, on_postgres);
}

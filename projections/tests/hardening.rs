//! Faults of the read side, each on both backends: text the log accepted but a database could
//! not store (NUL), a projector that cannot apply an event (loud, pinned to the event, the
//! others unharmed), and cursors a list did not issue.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::*;
use futures::future::BoxFuture;
use reserver_domain::group::GroupEvent;
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::schedule_rules::Blackout;
use reserver_domain::user::UserEvent;
use reserver_domain::{BookingPolicy, ResourceCommand, ResourceEvent, Role, TimeRange};
use reserver_projections::audit::{audit_log, AuditFilter};
use reserver_projections::catalog::{self, ResourceQuery, ResourceSort};
use reserver_projections::reservations::{self, TimeScope};
use reserver_projections::runtime::{checkpoint, Projector};
use reserver_projections::sql::DbTx;
use reserver_projections::{
    all_projectors, catch_up, notifications, rebuild, status, stuck_projectors, users, Page, PageRequest,
    ProjectionError, ProjectionRuntime, RuntimeOptions,
};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use uuid::Uuid;

on_both_backends!(
    text_with_nul_reaches_every_read_model,
    a_projector_that_cannot_apply_an_event_is_stuck_loudly_and_alone,
    catch_up_names_the_event_a_projector_refuses,
    cursors_are_accepted_only_by_the_list_that_issued_them,
    rows_indexing_a_missing_event_are_reported_not_hidden,
    history_is_read_from_the_log,
    notifications_are_rendered_from_their_events,
);

/// A notification row holds who and which event; the rest is rendered from the event when it is
/// read. Every field of each kind's view comes back as the event says: ranges, messages, the
/// reminder's date (the log's own timestamp) and the webhook id from the stream name.
async fn notifications_are_rendered_from_their_events(db: ScratchDatabase) {
    use reserver_projections::notifications::NotificationView;
    let store = db.open().await;
    let database = store.database();
    let (user, room, booking) = (Uuid::from_u128(0xA1), Uuid::from_u128(0xA2), Uuid::from_u128(0xA3));
    let range = TimeRange::new(at(9), at(10)).unwrap();
    let confirmed = ResourceEvent::ReservationConfirmed {
        reservation_id: booking,
        user_id: user,
        range,
        series_id: None,
        at: at(1),
    };
    let confirmed_at = append_resource_event(&store, room, &confirmed).await;
    let cancelled = ResourceEvent::ReservationCancelled {
        reservation_id: booking,
        user_id: user,
        by: user,
        reason: Some("ill".into()),
        at: at(2),
    };
    let cancelled_at = append_resource_event(&store, room, &cancelled).await;
    let reminder = serde_json::json!({
        "reservation_id": booking, "resource_id": room, "user_id": user,
        "start_time": at(9), "end_time": at(10), "minutes_before": 15,
    });
    let reminder_at =
        append_raw(&store, &format!("reminder-{booking}-1"), "reservation_reminder", reminder.to_string()).await;
    let hook = Uuid::from_u128(0xA4);
    let disabled = serde_json::json!({ "owner": user, "url": "https://example.test/h", "reason": "gone", "at": at(3) });
    let disabled_at = append_raw(&store, &format!("webhook-{hook}"), "webhook_disabled", disabled.to_string()).await;
    let projector = all_projectors().into_iter().find(|p| p.name() == notifications::PROJECTOR).unwrap();
    catch_up(store.as_ref(), projector.as_ref(), 100).await.expect("projected");

    let log = store.read_all(0, 10).await.unwrap();
    let recorded = |position: u64| log.iter().find(|e| e.position == position).unwrap().clone();
    let view =
        |position: u64, kind: &str, reservation_id, range, message: &str, created_at, webhook_id: Option<Uuid>| {
            NotificationView {
                notification_id: Uuid::new_v5(&recorded(position).event_id, user.as_bytes()),
                user_id: user,
                kind: kind.into(),
                resource_id: if webhook_id.is_some() { Uuid::nil() } else { room },
                reservation_id,
                range,
                message: message.into(),
                position,
                created_at,
                read: false,
                webhook_id,
            }
        };
    let expected = vec![
        view(
            disabled_at,
            "webhook_disabled",
            None,
            None,
            "Webhook endpoint https://example.test/h was disabled: gone.",
            at(3),
            Some(hook),
        ),
        view(
            reminder_at,
            "reminder",
            Some(booking),
            Some(range),
            "Starts in about 15 minutes.",
            recorded(reminder_at).recorded_at,
            None,
        ),
        view(cancelled_at, "reservation_cancelled", Some(booking), None, "Reservation cancelled: ill.", at(2), None),
        view(
            confirmed_at,
            "reservation_confirmed",
            Some(booking),
            Some(range),
            &format!("Booked {} to {}.", at(9), at(10)),
            at(1),
            None,
        ),
    ];
    let inbox = notifications::notifications_for_user(&database, user, false, &PageRequest::first(10)).await.unwrap();
    assert_eq!(inbox.data, expected);
    assert_eq!(notifications::unread_count(&database, user).await.unwrap(), 4);

    // Unread only: the one marked read drops out, the others keep their order.
    let marked = notifications::mark_read(&database, user, &[expected[1].notification_id], at(4)).await.unwrap();
    assert_eq!(marked, 1);
    let unread = notifications::notifications_for_user(&database, user, true, &PageRequest::first(10)).await.unwrap();
    let unread_ids: Vec<Uuid> = unread.data.iter().map(|n| n.notification_id).collect();
    let wanted: Vec<Uuid> = [0, 2, 3].iter().map(|i| expected[*i].notification_id).collect();
    assert_eq!(unread_ids, wanted);
    let all = notifications::notifications_for_user(&database, user, false, &PageRequest::first(10)).await.unwrap();
    assert_eq!(all.data.iter().map(|n| n.read).collect::<Vec<_>>(), [false, true, false, false]);

    // A row whose event gives this build no notification (a newer build's kind) is left out,
    // and paging goes on past it: one per page, every notification is still reached.
    let completed = ResourceEvent::ReservationCompleted { reservation_id: booking, user_id: user, at: at(5) };
    let completed_at = append_resource_event(&store, room, &completed).await;
    let completed_id = Uuid::new_v5(&store.read_all(completed_at - 1, 1).await.unwrap()[0].event_id, user.as_bytes());
    insert_notification_row(&database, completed_id, user, completed_at, "from_a_newer_build").await;
    let mut seen = Vec::new();
    let mut page = PageRequest::first(1);
    for _ in 0..10 {
        let got = notifications::notifications_for_user(&database, user, false, &page).await.unwrap();
        seen.extend(got.data.iter().map(|n| n.notification_id));
        let Some(cursor) = got.next_cursor else { break };
        page = PageRequest::after(1, cursor);
    }
    assert_eq!(seen, expected.iter().map(|n| n.notification_id).collect::<Vec<_>>());

    // A row naming an event that was not written for it (a damaged restore) is reported, not
    // shown to the wrong person.
    let stranger = Uuid::from_u128(0xA5);
    insert_notification_row(&database, Uuid::from_u128(0xBAD), stranger, confirmed_at, "reservation_confirmed").await;
    let shown = notifications::notifications_for_user(&database, stranger, false, &PageRequest::first(10)).await;
    assert!(matches!(&shown, Err(ProjectionError::Corrupt(m)) if m.contains("does not match")), "{shown:?}");
}

/// Appends a resource event as the write side would (see [`append_raw`]).
async fn append_resource_event(store: &Arc<dyn EventStore>, resource: Uuid, event: &ResourceEvent) -> u64 {
    append_raw(store, &format!("resource-{resource}"), event.event_type(), serde_json::to_string(event).unwrap()).await
}

async fn insert_notification_row(database: &reserver_store::Database, id: Uuid, user: Uuid, position: u64, kind: &str) {
    use reserver_projections::sql::Value;
    let mut tx = DbTx::begin(database).await.expect("begin");
    tx.insert_rows(
        "INSERT INTO rm_notifications (notification_id, user_id, position, kind)",
        "",
        &[vec![id.to_string().into(), user.to_string().into(), Value::Int(position as i64), kind.into()]],
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
}

/// Audit and notification rows index the log: the rest of each is read from it by position. A
/// row whose event the log lacks (a damaged restore) makes the query fail as corrupt instead of
/// the entry going missing.
async fn rows_indexing_a_missing_event_are_reported_not_hidden(db: ScratchDatabase) {
    use reserver_projections::sql::Value;
    let store = db.open().await;
    let database = store.database();
    let mut tx = DbTx::begin(&database).await.expect("begin");
    tx.insert_rows(
        "INSERT INTO rm_audit (position, actor, action, resource_id, recorded_at)",
        "",
        &[vec![Value::Int(888_888), "someone".into(), "reservation_confirmed".into(), Value::NullText, Value::Int(0)]],
    )
    .await
    .expect("insert");
    let reader = Uuid::from_u128(0x0EAD);
    tx.insert_rows(
        "INSERT INTO rm_notifications (notification_id, user_id, position, kind)",
        "",
        &[vec![
            Uuid::from_u128(0x1D).to_string().into(),
            reader.to_string().into(),
            Value::Int(777_777),
            "reminder".into(),
        ]],
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let audit = audit_log(&database, &AuditFilter::default(), &PageRequest::first(10)).await;
    assert!(matches!(&audit, Err(ProjectionError::Corrupt(m)) if m.contains("888888")), "{audit:?}");
    let inbox = notifications::notifications_for_user(&database, reader, false, &PageRequest::first(10)).await;
    assert!(matches!(&inbox, Err(ProjectionError::Corrupt(m)) if m.contains("777777")), "{inbox:?}");
}

/// A reservation's history is read from the log itself (migration 0021): every event of a
/// resource stream naming the reservation, in log order, with the event's own time, current the
/// moment it is appended (no projector has run here), and nothing of another reservation or of
/// another kind of stream that happens to carry the same field.
async fn history_is_read_from_the_log(db: ScratchDatabase) {
    let store = db.open().await;
    let database = store.database();
    let (room, other_room) = (Uuid::from_u128(0x400), Uuid::from_u128(0x401));
    let (booking, other, never) = (Uuid::from_u128(0xB1), Uuid::from_u128(0xB2), Uuid::from_u128(0xB3));
    let slot = TimeRange::new(at(9), at(10)).unwrap();
    let confirmed = |reservation_id, hour| ResourceEvent::ReservationConfirmed {
        reservation_id,
        user_id: ALICE,
        range: slot,
        series_id: None,
        at: at(hour),
    };
    let mut expected = Vec::new();
    expected.push(append_resource_event(&store, room, &confirmed(booking, 1)).await);
    append_resource_event(&store, other_room, &confirmed(other, 2)).await;
    let checked_in = ResourceEvent::CheckedIn { reservation_id: booking, user_id: ALICE, at: at(9) };
    expected.push(append_resource_event(&store, room, &checked_in).await);
    // Not a resource stream: not part of any reservation's history.
    let stray = serde_json::json!({"type": "registered", "reservation_id": booking}).to_string();
    append_raw(&store, &format!("user-{ALICE}"), "registered", stray).await;
    let completed = ResourceEvent::ReservationCompleted { reservation_id: booking, user_id: ALICE, at: at(10) };
    expected.push(append_resource_event(&store, room, &completed).await);

    let history = reservations::reservation_history(&database, booking).await.expect("history");
    let seen: Vec<_> = history.iter().map(|h| (h.position, h.event_type.as_str(), h.at)).collect();
    assert_eq!(
        seen,
        vec![
            (expected[0], "reservation_confirmed", at(1)),
            (expected[1], "checked_in", at(9)),
            (expected[2], "reservation_completed", at(10)),
        ]
    );
    assert_eq!(history[1].event["reservation_id"], booking.to_string());
    assert!(reservations::reservation_history(&database, never).await.expect("history").is_empty());
    let lengths = reservations::history_lengths(&database, &[booking, other, never]).await.expect("lengths");
    assert_eq!(lengths, [(booking, 3), (other, 1)].into_iter().collect());

    // The queries are built from `log_index` and the domain's list of types; the planner must
    // find the index through them (a list out of step with migration 0021 would scan the log).
    use reserver_store::log_index;
    let backend = db.backend();
    let filter = format!(
        "{} = '{booking}' AND {}",
        log_index::reservation_of_event(backend),
        log_index::event_type_in(&ResourceEvent::RESERVATION_EVENT_TYPES)
    );
    let explain = match backend {
        Backend::Postgres => format!("EXPLAIN SELECT position FROM events WHERE {filter} ORDER BY position"),
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN SELECT position FROM events WHERE {filter} ORDER BY position"),
    };
    let mut tx = DbTx::begin(&database).await.expect("begin");
    // A tiny table may be scanned whatever the indexes: make that look expensive.
    if backend == Backend::Postgres {
        tx.execute("SET LOCAL enable_seqscan = off", &[]).await.expect("set");
    }
    let plan = tx.fetch_all(&explain, &[]).await.expect("explain");
    tx.rollback().await.expect("rollback");
    let column = if backend == Backend::Postgres { 0 } else { 3 };
    let plan: Vec<String> = plan.iter().map(|row| row.text(column).unwrap_or_default()).collect();
    assert!(plan.iter().any(|line| line.contains("events_reservation_idx")), "{plan:#?}");
}

const NUL_USER: Uuid = Uuid::from_u128(0x51);
const NUL_GROUP: Uuid = Uuid::from_u128(0x52);
const NUL_ROOM: Uuid = Uuid::from_u128(0x53);
const NUL_BOOKING: Uuid = Uuid::from_u128(0x54);

fn at(hour: u32) -> DateTime<Utc> {
    utc(2030, 3, 4, hour, 0)
}

/// Appends one event as the write side would, bypassing every check above the log.
async fn append_raw(store: &Arc<dyn EventStore>, stream: &str, event_type: &str, payload: String) -> u64 {
    let metadata = EventMetadata {
        actor: Some("act\0or".into()),
        client_ip: Some("192.0.2.9\0".into()),
        ..EventMetadata::default()
    };
    let event = NewEvent::new(Uuid::new_v4(), event_type, payload).with_metadata(metadata);
    let request = AppendRequest::single(stream, ExpectedVersion::Any, vec![event]);
    store.append(request).await.expect("the log accepts it").last_position()
}

/// Every text field a read model keeps, holding NUL, written straight to the log.
async fn nul_events(store: &Arc<dyn EventStore>) -> u64 {
    let user = UserEvent::Registered {
        user_id: NUL_USER,
        username: "nu\0ll".into(),
        password_hash: "h".into(),
        role: Role::User,
        at: at(1),
    };
    append_raw(store, &format!("user-{NUL_USER}"), "registered", serde_json::to_string(&user).unwrap()).await;
    let group = GroupEvent::GroupCreated {
        group_id: NUL_GROUP,
        name: "Wing\0A".into(),
        parent_id: None,
        description: "de\0sc".into(),
        by: ADMIN,
        at: at(1),
    };
    append_raw(store, &format!("group-{NUL_GROUP}"), "group_created", serde_json::to_string(&group).unwrap()).await;
    let stream = format!("resource-{NUL_ROOM}");
    let slot = TimeRange::new(utc(2030, 3, 5, 9, 0), utc(2030, 3, 5, 10, 0)).unwrap();
    let events = [
        ResourceEvent::ResourceCreated {
            resource_id: NUL_ROOM,
            details: ResourceDetails {
                name: "a\0b".into(),
                kind: ResourceKind::Room,
                tags: vec!["t\0ag".into(), "plain".into()],
                description: "long\0er".into(),
                location: "lo\0c".into(),
                group_id: Some(NUL_GROUP),
            },
            capacity: 1,
            time_zone: chrono_tz::Tz::UTC,
            policy: BookingPolicy::default(),
            business_hours: None,
            by: ADMIN,
            at: at(2),
        },
        ResourceEvent::BlackoutAdded {
            blackout: Blackout { id: Uuid::from_u128(0x55), range: slot, reason: "fa\0ir".into() },
            by: ADMIN,
            at: at(2),
        },
        ResourceEvent::ReservationConfirmed {
            reservation_id: NUL_BOOKING,
            user_id: NUL_USER,
            range: TimeRange::new(utc(2030, 3, 6, 9, 0), utc(2030, 3, 6, 10, 0)).unwrap(),
            series_id: None,
            at: at(3),
        },
        ResourceEvent::ReservationCancelled {
            reservation_id: NUL_BOOKING,
            user_id: NUL_USER,
            by: NUL_USER,
            reason: Some("ill\0".into()),
            at: at(4),
        },
        ResourceEvent::ResourceRetired { reason: "go\0ne".into(), by: ADMIN, at: at(5) },
    ];
    let mut head = 0;
    for event in events {
        head = append_raw(store, &stream, event.event_type(), serde_json::to_string(&event).unwrap()).await;
    }
    head
}

fn fast() -> RuntimeOptions {
    RuntimeOptions {
        batch_size: 3,
        poll_interval: Duration::from_millis(50),
        error_backoff: Duration::from_millis(20),
        ..RuntimeOptions::default()
    }
}

async fn text_with_nul_reaches_every_read_model(db: ScratchDatabase) {
    let store = db.open().await;
    let head = nul_events(&store).await;
    let handle = ProjectionRuntime::start_with(store.clone(), all_projectors(), fast()).await.unwrap();
    handle.wait_for(head, Duration::from_secs(20)).await.expect("every projector applies the events");
    assert!(handle.stuck().is_empty(), "{:?}", handle.stuck());
    handle.shutdown().await;

    let db = store.database();
    let db = &db;
    let resource = catalog::get_resource(db, NUL_ROOM).await.unwrap().expect("in the catalog");
    assert_eq!((resource.name.as_str(), resource.location.as_str()), ("a\0b", "lo\0c"), "documents keep the text");
    assert!(resource.retired);
    // Searches and filters holding NUL find what was stored, instead of failing.
    let everything = ResourceQuery { status: Some("retired".into()), ..Default::default() };
    for query in [
        ResourceQuery { text: Some("A\0B".into()), ..everything.clone() },
        ResourceQuery { tags: vec!["T\0AG".into()], ..everything.clone() },
        ResourceQuery { sort: ResourceSort::Name, ..everything.clone() },
    ] {
        let found = catalog::list_resources(db, &query, &PageRequest::first(10)).await.unwrap();
        assert_eq!(found.data.iter().map(|r| r.resource_id).collect::<Vec<_>>(), vec![NUL_ROOM], "{query:?}");
    }
    let tree = catalog::group_tree(db).await.unwrap();
    assert_eq!(tree[0].group.name, "Wing\0A");
    let user = users::user_by_username(db, "NU\0LL").await.unwrap().expect("found by its name");
    assert_eq!(user.user_id, NUL_USER);
    let booking = reservations::get_reservation(db, NUL_BOOKING).await.unwrap().expect("reservation");
    assert_eq!(booking.status, reserver_domain::resource::ReservationStatus::Cancelled);
    let history = reservations::reservation_history(db, NUL_BOOKING).await.unwrap();
    assert_eq!(history[1].event["reason"], "ill\0");
    let audit = AuditFilter { actor: Some("act\0or".into()), ..Default::default() };
    let entries = audit_log(db, &audit, &PageRequest::first(100)).await.unwrap();
    assert_eq!(entries.data.len() as u64, head, "every event is audited under its actor");
    assert!(entries.data[0].client_ip.as_deref().is_some_and(|ip| ip.starts_with("192.0.2.9")));
    let mine = notifications::notifications_for_user(db, NUL_USER, false, &PageRequest::first(10)).await.unwrap();
    assert!(!mine.data.is_empty(), "the owner was notified");
    // A rebuild applies the same events again.
    let statuses = rebuild(store.clone(), None).await.expect("rebuild");
    assert!(statuses.iter().all(|s| s.lag == 0 && s.stuck.is_none()), "{statuses:?}");
}

/// Refuses resource events whose payload holds `poison`, until told otherwise.
struct Refusing {
    inner: Arc<dyn Projector>,
    refuse: Arc<AtomicBool>,
}

#[async_trait]
impl Projector for Refusing {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }
    fn wants(&self, event: &RecordedEvent) -> bool {
        self.inner.wants(event)
    }
    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        if self.refuse.load(Ordering::SeqCst) && events.iter().any(|e| e.payload.contains("poison")) {
            return Err(ProjectionError::Injected("this build cannot apply poison".into()));
        }
        self.inner.apply(tx, events).await
    }
}

fn refusing_catalog(refuse: &Arc<AtomicBool>) -> Vec<Arc<dyn Projector>> {
    all_projectors()
        .into_iter()
        .map(|p| -> Arc<dyn Projector> {
            if p.name() == "catalog" {
                Arc::new(Refusing { inner: p, refuse: refuse.clone() })
            } else {
                p
            }
        })
        .collect()
}

/// The position of the one event whose payload holds `poison`.
async fn poison_position(store: &Arc<dyn EventStore>) -> u64 {
    let all = store.read_all(0, 10_000).await.unwrap();
    all.iter().find(|e| e.payload.contains("poison")).expect("the poison event").position
}

/// A resource named `poison` amid an ordinary workload.
async fn workload_with_poison(store: &Arc<dyn EventStore>) -> u64 {
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    let poison = ResourceEvent::ResourceCreated {
        resource_id: Uuid::from_u128(0x666),
        details: ResourceDetails {
            name: "poison".into(),
            kind: ResourceKind::Other,
            tags: vec![],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: 1,
        time_zone: chrono_tz::Tz::UTC,
        policy: BookingPolicy::default(),
        business_hours: None,
        by: ADMIN,
        at: at(6),
    };
    let stream = format!("resource-{}", Uuid::from_u128(0x666));
    append_raw(store, &stream, "resource_created", serde_json::to_string(&poison).unwrap()).await;
    // Bookings after it, which the other projectors apply.
    assert!(workload.book(DESKS, CAROL, 91, slot(13, 9, 10)).await);
    workload.last_position
}

/// The process's metrics, rendered as Prometheus text.
fn metrics() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

async fn a_projector_that_cannot_apply_an_event_is_stuck_loudly_and_alone(db: ScratchDatabase) {
    let metrics = metrics();
    let store = db.open().await;
    let head = workload_with_poison(&store).await;
    let poison = poison_position(&store).await;
    let refuse = Arc::new(AtomicBool::new(true));
    let handle = ProjectionRuntime::start_with(store.clone(), refusing_catalog(&refuse), fast()).await.unwrap();

    // The others reach the head; writes to the log go on.
    let others = ["reservations", "users", "notifications", "audit"];
    handle.wait_for_projectors(&others, head, Duration::from_secs(20)).await.expect("the others are unharmed");
    let note = NewEvent::new(Uuid::new_v4(), "note", "{}");
    store.append(AppendRequest::single("note-1", ExpectedVersion::Any, vec![note])).await.expect("append");

    // The stuck one says where and why, here and to every replica.
    let mut stuck = Vec::new();
    for _ in 0..200 {
        stuck = handle.stuck();
        if !stuck.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!((stuck[0].name.as_str(), stuck[0].position), ("catalog", poison));
    assert_eq!(stuck[0].event_type, "resource_created");
    assert!(stuck[0].error.contains("cannot apply poison"), "{}", stuck[0].error);
    assert_eq!(checkpoint(&store.database(), "catalog").await.unwrap(), poison - 1, "everything before it applied");
    let catalog_status = status(store.as_ref()).await.unwrap().into_iter().find(|s| s.name == "catalog").unwrap();
    assert_eq!(catalog_status.stuck.as_ref().map(|s| s.position), Some(poison));
    let recorded = stuck_projectors(&store.database()).await.unwrap();
    assert_eq!(recorded.iter().map(|s| (s.name.as_str(), s.position)).collect::<Vec<_>>(), [("catalog", poison)]);
    // Waiting for it is pointless: the wait says so at once, naming it.
    let error = handle.wait_for(head, Duration::from_secs(3600)).await.unwrap_err();
    assert_eq!(error.stuck.as_ref().map(|s| (s.name.as_str(), s.position)), Some(("catalog", poison)));
    assert!(error.to_string().contains("stuck at log position"), "{error}");
    handle.wait_for_projectors(&["reservations"], head, Duration::from_secs(5)).await.expect("not waiting on it");
    let text = metrics.render();
    assert!(text.contains(r#"projection_stuck{projector="catalog"} 1"#), "{text}");
    assert!(text.contains(r#"projection_failures_total{projector="catalog"}"#), "{text}");

    // A build that can apply it gets past, and the report is withdrawn everywhere.
    refuse.store(false, Ordering::SeqCst);
    for _ in 0..600 {
        if handle.stuck().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(handle.stuck().is_empty(), "the next retry gets past it");
    let now_head = store.head().await.unwrap().position;
    handle.wait_for(now_head, Duration::from_secs(20)).await.expect("it catches up");
    assert!(stuck_projectors(&store.database()).await.unwrap().is_empty());
    assert!(metrics.render().contains(r#"projection_stuck{projector="catalog"} 0"#));
    handle.shutdown().await;
    let poisoned = catalog::get_resource(&store.database(), Uuid::from_u128(0x666)).await.unwrap();
    assert_eq!(poisoned.map(|r| r.name), Some("poison".to_string()));
}

async fn catch_up_names_the_event_a_projector_refuses(db: ScratchDatabase) {
    let store = db.open().await;
    workload_with_poison(&store).await;
    let poison = poison_position(&store).await;
    let refuse = Arc::new(AtomicBool::new(true));
    let catalog = Refusing { inner: reserver_projections::projector_named("catalog").unwrap(), refuse };
    let error = catch_up(store.as_ref(), &catalog, 1000).await.unwrap_err();
    match &error {
        ProjectionError::CannotApply { projector, position, event_type, source } => {
            assert_eq!((projector.as_str(), *position, event_type.as_str()), ("catalog", poison, "resource_created"));
            assert!(matches!(**source, ProjectionError::Injected(_)), "{source}");
        }
        other => panic!("expected CannotApply, got {other}"),
    }
    assert!(error.to_string().contains(&format!("log position {poison}")), "{error}");
    // The events before it were applied one by one.
    assert_eq!(checkpoint(&store.database(), "catalog").await.unwrap(), poison - 1);
}

type Lister<'a> = Box<dyn Fn(PageRequest) -> BoxFuture<'a, Result<Option<String>, ProjectionError>> + 'a>;

fn next<T>(page: Result<Page<T>, ProjectionError>) -> Result<Option<String>, ProjectionError> {
    page.map(|p| p.next_cursor)
}

/// Every paged list of the read side, as "give me this page, tell me the next cursor".
fn every_list(db: &reserver_store::Database) -> Vec<(String, Lister<'_>)> {
    let mut lists: Vec<(String, Lister<'_>)> = Vec::new();
    for sort in [ResourceSort::Name, ResourceSort::Status, ResourceSort::Created] {
        for descending in [false, true] {
            let query = ResourceQuery { sort, descending, ..Default::default() };
            lists.push((
                format!("resources {sort:?} {descending}"),
                Box::new(move |p| {
                    let query = query.clone();
                    Box::pin(async move { next(catalog::list_resources(db, &query, &p).await) })
                }),
            ));
        }
    }
    for scope in [TimeScope::Upcoming, TimeScope::Past, TimeScope::All] {
        let now = utc(2030, 3, 8, 0, 0);
        lists.push((
            format!("mine {scope:?}"),
            Box::new(move |p| {
                Box::pin(async move { next(reservations::reservations_for_user(db, BOB, scope, now, &p).await) })
            }),
        ));
    }
    let window = TimeRange::new(utc(2030, 3, 1, 0, 0), utc(2030, 4, 1, 0, 0)).unwrap();
    lists.push((
        "by resource".into(),
        Box::new(move |p| {
            Box::pin(async move { next(reservations::reservations_for_resource(db, DESKS, None, &p).await) })
        }),
    ));
    lists.push((
        "in range".into(),
        Box::new(move |p| Box::pin(async move { next(reservations::reservations_in_range(db, window, &p).await) })),
    ));
    lists.push((
        "approvals".into(),
        Box::new(move |p| Box::pin(async move { next(reservations::pending_approvals(db, None, &[], &p).await) })),
    ));
    lists.push((
        "notifications".into(),
        Box::new(move |p| {
            Box::pin(async move { next(notifications::notifications_for_user(db, APPROVER, false, &p).await) })
        }),
    ));
    lists.push((
        "audit".into(),
        Box::new(move |p| Box::pin(async move { next(audit_log(db, &AuditFilter::default(), &p).await) })),
    ));
    lists
}

async fn cursors_are_accepted_only_by_the_list_that_issued_them(db: ScratchDatabase) {
    let store = db.open().await;
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    // A second pending approval, for a second page of that queue.
    let reopen = ResourceCommand::SetStatus { status: ResourceStatus::Available };
    assert!(workload.resource(LAB, ADMIN, Role::Admin, reopen).await);
    assert!(workload.book(LAB, CAROL, 90, slot(20, 9, 10)).await);
    rebuild(store.clone(), None).await.unwrap();
    let database = store.database();
    let lists = every_list(&database);
    let mut issued = Vec::new();
    for (name, list) in &lists {
        let cursor = list(PageRequest::first(1)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let cursor = cursor.unwrap_or_else(|| panic!("{name} needs a second page for this test"));
        list(PageRequest::after(1, cursor.clone()))
            .await
            .unwrap_or_else(|e| panic!("{name} takes its own cursor: {e}"));
        issued.push(cursor);
    }
    let invalid =
        |result: Result<Option<String>, ProjectionError>| matches!(result, Err(ProjectionError::InvalidCursor));
    for (i, (name, list)) in lists.iter().enumerate() {
        let own = &issued[i];
        let mut tampered = own.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let old_style = hex_of(r#"{"key":1,"id":"x"}"#);
        let bad = [
            "garbage".to_string(),
            "%%%".into(),
            "a\0b".into(),
            old_style,
            own[..own.len() / 2].to_string(),
            String::from_utf8(tampered).unwrap(),
        ];
        for cursor in bad {
            assert!(invalid(list(PageRequest::after(1, cursor.clone())).await), "{name} took {cursor:?}");
        }
        for (j, foreign) in issued.iter().enumerate() {
            if i != j {
                let result = list(PageRequest::after(1, foreign.clone())).await;
                assert!(invalid(result), "{name} took the cursor of {}", lists[j].0);
            }
        }
    }
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

//! The index on a real log, SQLite and PostgreSQL: start-up from an existing log, following
//! the live tail (read-your-writes through `wait_for`), and the memory bound.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reserver_availability_index::{AvailabilityIndex, IndexConfig, IndexError, IndexLimits, SearchQuery};
use reserver_commands::{Clock, CommandMeta, CommandPipeline, ManualClock, PipelineConfig, ResourceAggregate};
use reserver_domain::availability::free_slots;
use reserver_domain::group::{decide_group, group_stream_id, GroupCommand, GroupState};
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::{Actor, BookingPolicy, DecisionContext, ResourceCommand, Role, TimeRange};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Postgres).await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_booking_is_visible_after_waiting_for_its_position,
    start_up_replays_an_existing_log,
    past_the_bound_the_largest_resource_is_evicted,
    waiting_past_the_head_times_out,
);

const ADMIN: Actor = Actor { user_id: Uuid::from_u128(1), role: Role::Admin };
const ALICE: Actor = Actor { user_id: Uuid::from_u128(2), role: Role::User };

/// Monday 2030-03-04 08:00 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).unwrap()
}

/// `[from, to)` o'clock UTC on 2030-03-`day` (`to` may be 24).
fn hours(day: u32, from: u32, to: u32) -> TimeRange {
    let start = Utc.with_ymd_and_hms(2030, 3, day, from, 0, 0).unwrap();
    TimeRange::new(start, start + chrono::Duration::hours(i64::from(to - from))).unwrap()
}

fn quick() -> IndexConfig {
    IndexConfig { poll_interval: Duration::from_millis(50), ..IndexConfig::default() }
}

fn pipeline(store: Arc<dyn EventStore>) -> CommandPipeline<ResourceAggregate> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now()));
    CommandPipeline::new(store, clock, PipelineConfig::default())
}

async fn create(p: &CommandPipeline<ResourceAggregate>, tags: &[&str], group: Option<Uuid>) -> (Uuid, u64) {
    let id = Uuid::new_v4();
    let command = ResourceCommand::CreateResource {
        resource_id: id,
        details: ResourceDetails {
            name: format!("Room {id}"),
            kind: ResourceKind::Room,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            description: String::new(),
            location: String::new(),
            group_id: group,
        },
        capacity: 1,
        time_zone: chrono_tz::Europe::Berlin,
        policy: BookingPolicy::default(),
        business_hours: None,
    };
    let decided = p.execute(id, ADMIN, command, CommandMeta::new()).await.unwrap();
    (id, decided.position)
}

async fn book(p: &CommandPipeline<ResourceAggregate>, resource: Uuid, range: TimeRange) -> (Uuid, u64) {
    let reservation_id = Uuid::new_v4();
    let decided =
        p.execute(resource, ALICE, ResourceCommand::Book { reservation_id, range }, CommandMeta::new()).await.unwrap();
    (reservation_id, decided.position)
}

async fn a_booking_is_visible_after_waiting_for_its_position(db: ScratchDatabase) {
    let store = db.open().await;
    let index = AvailabilityIndex::start(store.clone(), quick()).await.unwrap();
    let p = pipeline(store.clone());
    let (room, created) = create(&p, &["quiet"], None).await;
    index.wait_for(created, Duration::from_secs(10)).await.unwrap();
    let day = hours(5, 0, 24);
    let hour = chrono::Duration::hours(1);
    assert_eq!(index.free_slots(room, day, hour, now(), 24, None).unwrap().len(), 24);

    let (reservation, position) = book(&p, room, hours(5, 10, 11)).await;
    index.wait_for(position, Duration::from_secs(10)).await.unwrap();
    assert!(index.position() >= position);
    let slots = index.free_slots(room, day, hour, now(), 24, None).unwrap();
    assert_eq!(slots.len(), 23);
    assert!(slots.iter().all(|s| !s.overlaps(&hours(5, 10, 11))), "{slots:?}");
    assert_eq!(
        index.next_available(room, hours(5, 10, 11).start(), hour, now(), None).unwrap(),
        Some(hours(5, 11, 12))
    );
    let schedule = index.schedule(room, hours(5, 0, 1).start().date_naive(), 1).unwrap();
    assert_eq!(schedule.days[0].reservations.len(), 1);
    assert_eq!(schedule.days[0].reservations[0].reservation_id, reservation);

    // A cancellation frees the hour again as soon as the index has its position.
    let cancel = ResourceCommand::CancelReservation { reservation_id: reservation, reason: None };
    let position = p.execute(room, ALICE, cancel, CommandMeta::new()).await.unwrap().position;
    index.wait_for(position, Duration::from_secs(10)).await.unwrap();
    assert_eq!(index.free_slots(room, day, hour, now(), 24, None).unwrap().len(), 24);
    assert_eq!(index.stats().reservations, 0);
    index.shutdown().await;
}

async fn start_up_replays_an_existing_log(db: ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone());
    // A group tree written straight to the log: building > floor.
    let (building, floor) = (Uuid::new_v4(), Uuid::new_v4());
    for (group, parent) in [(building, None), (floor, Some(building))] {
        let command = GroupCommand::Create {
            group_id: group,
            name: format!("g{group}"),
            parent_id: parent,
            description: String::new(),
        };
        let events =
            decide_group(&GroupState::default(), &command, &DecisionContext { now: now(), actor: ADMIN }).unwrap();
        let new = events
            .iter()
            .map(|e| NewEvent::new(Uuid::new_v4(), e.event_type(), serde_json::to_string(e).unwrap()))
            .collect();
        store.append(AppendRequest::single(group_stream_id(group), ExpectedVersion::NoStream, new)).await.unwrap();
    }
    let (room, _) = create(&p, &["Projector", "quiet"], Some(floor)).await;
    let (other, _) = create(&p, &["projector"], None).await;
    for h in [9, 11, 13] {
        book(&p, room, hours(6, h, h + 1)).await;
    }
    let (cancelled, _) = book(&p, room, hours(6, 15, 16)).await;
    let cancel = ResourceCommand::CancelReservation { reservation_id: cancelled, reason: None };
    p.execute(room, ALICE, cancel, CommandMeta::new()).await.unwrap();
    book(&p, other, hours(6, 9, 17)).await;
    let head = store.head().await.unwrap().position;

    let index = AvailabilityIndex::start(store.clone(), quick()).await.unwrap();
    let report = index.startup();
    assert_eq!(report.position, head);
    assert_eq!(report.events, head);
    assert_eq!(index.stats().reservations, 4);
    let (_, state) = p.load(room).await.unwrap();
    let day = hours(6, 0, 24);
    let hour = chrono::Duration::hours(1);
    assert_eq!(
        index.free_slots(room, day, hour, now(), 100, None).unwrap(),
        free_slots(&state, day, hour, now(), 100, None)
    );

    let window = hours(6, 9, 17);
    let query = |tags: &[&str], group: Option<Uuid>, include_subgroups: bool| SearchQuery {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        group_id: group,
        include_subgroups,
        min_capacity: None,
        kind: None,
        window,
        duration: hour,
        slots_per_resource: 10,
        max_resources: 10,
    };
    let found = index.search(&query(&["PROJECTOR"], None, false), now(), None);
    // `other` is booked all day: only `room` has slots (10, 12, 14, 15, 16 o'clock).
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].resource_id, room);
    assert_eq!(found[0].slots.len(), 5);
    assert_eq!(index.search(&query(&[], Some(building), true), now(), None).len(), 1);
    assert!(index.search(&query(&[], Some(building), false), now(), None).is_empty());
    assert!(index.search(&query(&["quiet", "missing"], None, false), now(), None).is_empty());
    index.shutdown().await;
}

async fn past_the_bound_the_largest_resource_is_evicted(db: ScratchDatabase) {
    let store = db.open().await;
    let config = IndexConfig { limits: IndexLimits { max_reservations: 5 }, ..quick() };
    let index = AvailabilityIndex::start(store.clone(), config).await.unwrap();
    let p = pipeline(store.clone());
    let (big, _) = create(&p, &[], None).await;
    let (small, _) = create(&p, &[], None).await;
    for h in 8..12 {
        book(&p, big, hours(5, h, h + 1)).await;
    }
    let mut last = 0;
    for h in 8..11 {
        last = book(&p, small, hours(5, h, h + 1)).await.1;
    }
    index.wait_for(last, Duration::from_secs(10)).await.unwrap();
    let stats = index.stats();
    assert_eq!((stats.evicted, stats.reservations, stats.resources), (1, 3, 1), "{stats:?}");
    let day = hours(5, 0, 24);
    let hour = chrono::Duration::hours(1);
    assert!(matches!(index.free_slots(big, day, hour, now(), 5, None), Err(IndexError::Evicted(id)) if id == big));
    assert_eq!(index.free_slots(small, day, hour, now(), 30, None).unwrap().len(), 21);
    // An evicted resource stays out: its new bookings take no memory.
    let position = book(&p, big, hours(5, 14, 15)).await.1;
    index.wait_for(position, Duration::from_secs(10)).await.unwrap();
    assert_eq!(index.stats().reservations, 3);
    index.shutdown().await;
}

async fn waiting_past_the_head_times_out(db: ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone());
    let (_, position) = create(&p, &[], None).await;
    let index = AvailabilityIndex::start(store.clone(), quick()).await.unwrap();
    index.wait_for(position, Duration::from_millis(10)).await.unwrap();
    let lag = index.wait_for(position + 100, Duration::from_millis(200)).await.unwrap_err();
    assert_eq!((lag.wanted, lag.reached), (position + 100, position));
    index.shutdown().await;
}

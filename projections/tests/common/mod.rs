//! A mixed booking workload written straight to the log (domain `decide`, then `append`), and
//! a snapshot of every read model's query results for comparisons.
#![allow(dead_code)]

/// Declares each named `async fn check(db: ScratchDatabase)` of the test file as a test on
/// SQLite and on PostgreSQL (`sqlite::check`, `postgres::check`), each on a fresh database.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(ScratchDatabase::new(Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(ScratchDatabase::new(Backend::Postgres).await).await;
                }
            )*
        }
    };
}

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_domain::group::{decide_group, group_stream_id, GroupCommand, GroupState};
use reserver_domain::recurrence::SeriesPolicy;
use reserver_domain::resource::{stream_id, ResourceDetails, ResourceKind, ResourceStatus, SeriesCancelScope};
use reserver_domain::schedule_rules::{BusinessHours, LocalTimeRange};
use reserver_domain::user::{decide_user, user_stream_id, UserCommand, UserState};
use reserver_domain::{
    decide, Actor, BookingPolicy, DecisionContext, ResourceCommand, ResourceEvent, ResourceState, Role, TimeRange,
};
use reserver_projections::analytics;
use reserver_projections::audit::{audit_log, AuditFilter};
use reserver_projections::availability;
use reserver_projections::catalog::{self, ResourceQuery, ResourceSort};
use reserver_projections::notifications;
use reserver_projections::reservations::{self, TimeScope};
use reserver_projections::users;
use reserver_projections::{all_projectors, PageRequest, ProjectionRuntime, RuntimeOptions};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use serde_json::{json, Value};
use uuid::Uuid;

pub const ADMIN: Uuid = Uuid::from_u128(1);
pub const ALICE: Uuid = Uuid::from_u128(2);
pub const BOB: Uuid = Uuid::from_u128(3);
pub const CAROL: Uuid = Uuid::from_u128(4);
pub const APPROVER: Uuid = Uuid::from_u128(5);
pub const ROOM: Uuid = Uuid::from_u128(0x100);
pub const DESKS: Uuid = Uuid::from_u128(0x101);
pub const LAB: Uuid = Uuid::from_u128(0x102);
pub const OLD: Uuid = Uuid::from_u128(0x103);
pub const BUILDING: Uuid = Uuid::from_u128(0x200);
pub const FLOOR: Uuid = Uuid::from_u128(0x201);
pub const WING: Uuid = Uuid::from_u128(0x202);

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// Monday 2030-03-04 08:00 UTC.
pub fn base_now() -> DateTime<Utc> {
    utc(2030, 3, 4, 8, 0)
}

pub fn slot(day: u32, h1: u32, h2: u32) -> TimeRange {
    TimeRange::new(utc(2030, 3, day, h1, 0), utc(2030, 3, day, h2, 0)).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(0xABC0_0000 + n)
}

/// Drives the domain and appends its events with metadata, like the write side does.
pub struct Workload {
    pub store: Arc<dyn EventStore>,
    resources: HashMap<Uuid, (ResourceState, u64)>,
    users: HashMap<Uuid, (UserState, u64)>,
    groups: HashMap<Uuid, (GroupState, u64)>,
    pub now: DateTime<Utc>,
    pub last_position: u64,
    counter: u128,
}

impl Workload {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            resources: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            now: base_now() - Duration::days(1),
            last_position: 0,
            counter: 0,
        }
    }

    fn ctx(&self, who: Uuid, role: Role) -> DecisionContext {
        DecisionContext { now: self.now, actor: Actor { user_id: who, role } }
    }

    async fn append(&mut self, stream: String, version: u64, who: Uuid, events: Vec<(String, String)>) {
        self.counter += 1;
        let metadata = EventMetadata {
            actor: Some(who.to_string()),
            command_id: Some(Uuid::from_u128(0xC000_0000 + self.counter)),
            correlation_id: Some(Uuid::from_u128(0xD000_0000 + self.counter)),
            causation_id: None,
            client_ip: Some("192.0.2.7".into()),
        };
        let new_events = events
            .into_iter()
            .enumerate()
            .map(|(i, (event_type, payload))| {
                let event_id = Uuid::new_v5(&Uuid::from_u128(self.counter), format!("{stream}/{i}").as_bytes());
                NewEvent::new(event_id, event_type, payload).with_metadata(metadata.clone())
            })
            .collect();
        let outcome = self
            .store
            .append(AppendRequest::single(stream, ExpectedVersion::Exact(version), new_events))
            .await
            .expect("append");
        self.last_position = outcome.last_position();
    }

    /// Decides a resource command; refused commands append nothing and return false.
    pub async fn resource(&mut self, resource: Uuid, who: Uuid, role: Role, command: ResourceCommand) -> bool {
        let ctx = self.ctx(who, role);
        let (state, version) = self.resources.get(&resource).cloned().unwrap_or_default();
        let Ok(events) = decide(&state, &command, &ctx) else { return false };
        if events.is_empty() {
            return true;
        }
        let mut next = state;
        let encoded: Vec<(String, String)> = events
            .iter()
            .map(|e: &ResourceEvent| {
                next.apply(e);
                (e.event_type().to_string(), serde_json::to_string(e).unwrap())
            })
            .collect();
        let count = encoded.len() as u64;
        self.append(stream_id(resource), version, who, encoded).await;
        self.resources.insert(resource, (next, version + count));
        true
    }

    pub async fn user(&mut self, user: Uuid, who: Uuid, role: Role, command: UserCommand) {
        let ctx = self.ctx(who, role);
        let (state, version) = self.users.get(&user).cloned().unwrap_or_default();
        let events = decide_user(&state, &command, &ctx).expect("user command");
        let mut next = state;
        let encoded: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                next = reserver_domain::user::evolve_user(next.clone(), e);
                (e.event_type().to_string(), serde_json::to_string(e).unwrap())
            })
            .collect();
        let count = encoded.len() as u64;
        self.append(user_stream_id(user), version, who, encoded).await;
        self.users.insert(user, (next, version + count));
    }

    pub async fn group(&mut self, group: Uuid, command: GroupCommand) {
        let ctx = self.ctx(ADMIN, Role::Admin);
        let (state, version) = self.groups.get(&group).cloned().unwrap_or_default();
        let events = decide_group(&state, &command, &ctx).expect("group command");
        let mut next = state;
        let encoded: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                next = reserver_domain::group::evolve_group(next.clone(), e);
                (e.event_type().to_string(), serde_json::to_string(e).unwrap())
            })
            .collect();
        let count = encoded.len() as u64;
        self.append(group_stream_id(group), version, ADMIN, encoded).await;
        self.groups.insert(group, (next, version + count));
    }

    /// Events of streams and types projections do not know.
    pub async fn foreign_events(&mut self) {
        self.append("username-alice".into(), 0, ALICE, vec![("claimed".into(), "{\"user\":2}".into())]).await;
        let stranger = stream_id(Uuid::from_u128(0x999));
        self.append(stranger, 0, ADMIN, vec![("from_the_future".into(), "{\"type\":\"from_the_future\"}".into())])
            .await;
    }

    pub async fn book(&mut self, resource: Uuid, who: Uuid, n: u128, range: TimeRange) -> bool {
        self.resource(resource, who, Role::User, ResourceCommand::Book { reservation_id: id(n), range }).await
    }
}

fn details(name: &str, kind: ResourceKind, tags: &[&str], group: Option<Uuid>) -> ResourceDetails {
    ResourceDetails {
        name: name.into(),
        kind,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        description: format!("The {name}, bookable by the hour"),
        location: "HQ".into(),
        group_id: group,
    }
}

fn create(resource: Uuid, details: ResourceDetails, capacity: u32, policy: BookingPolicy) -> ResourceCommand {
    let hours = BusinessHours::every_day(vec![LocalTimeRange::new(
        NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
    )]);
    ResourceCommand::CreateResource {
        resource_id: resource,
        details,
        capacity,
        time_zone: Tz::Europe__Berlin,
        policy,
        business_hours: if resource == ROOM { None } else { Some(hours) },
    }
}

/// Users, groups, resources, bookings, conflicts, cancellations, waitlist offers, approvals,
/// series, check-ins, blackouts, maintenance and retirement.
pub async fn mixed_workload(w: &mut Workload) {
    for (user, name, role) in [
        (ADMIN, "admin", Role::Admin),
        (ALICE, "alice", Role::User),
        (BOB, "Bob", Role::User),
        (CAROL, "carol", Role::User),
        (APPROVER, "approver", Role::User),
    ] {
        let register = UserCommand::Register { user_id: user, username: name.into(), password_hash: "h".into(), role };
        w.user(user, ADMIN, Role::Admin, register).await;
    }
    w.user(APPROVER, ADMIN, Role::Admin, UserCommand::GrantRole { role: Role::Approver }).await;
    let group = |group_id, name: &str, parent_id| GroupCommand::Create {
        group_id,
        name: name.into(),
        parent_id,
        description: String::new(),
    };
    w.group(BUILDING, group(BUILDING, "Building A", None)).await;
    w.group(FLOOR, group(FLOOR, "Floor 2", Some(BUILDING))).await;
    w.group(WING, group(WING, "East wing", Some(BUILDING))).await;
    w.group(WING, GroupCommand::Move { parent_id: Some(FLOOR) }).await;
    w.group(FLOOR, GroupCommand::Rename { name: "Second floor".into() }).await;

    let admin = |c| (ADMIN, Role::Admin, c);
    let checkin = BookingPolicy { checkin_required: true, ..BookingPolicy::default() };
    let approval = BookingPolicy { requires_approval: true, ..BookingPolicy::default() };
    for (resource, command) in [
        (
            ROOM,
            create(ROOM, details("Room Blue", ResourceKind::Room, &["Projector", "video"], Some(FLOOR)), 1, checkin),
        ),
        (DESKS, create(DESKS, details("desk pool", ResourceKind::Desk, &["quiet"], Some(WING)), 3, Default::default())),
        (LAB, create(LAB, details("Wet lab", ResourceKind::Lab, &["video"], Some(BUILDING)), 1, approval)),
        (OLD, create(OLD, details("Old 100% room", ResourceKind::Room, &[], None), 1, Default::default())),
    ] {
        let (who, role, command) = admin(command);
        assert!(w.resource(resource, who, role, command).await);
    }
    w.now = base_now();
    assert!(w.book(ROOM, ALICE, 1, slot(5, 9, 10)).await);
    assert!(w.book(ROOM, BOB, 2, slot(5, 10, 11)).await);
    assert!(!w.book(ROOM, CAROL, 3, slot(5, 9, 10)).await, "conflict must be refused");
    let join = ResourceCommand::JoinWaitlist { entry_id: id(4), desired: slot(5, 9, 10), flex_minutes: 0 };
    assert!(w.resource(ROOM, CAROL, Role::User, join).await);
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(1), reason: Some("ill, sorry".into()) };
    assert!(w.resource(ROOM, ALICE, Role::User, cancel).await);
    let offer = Uuid::new_v5(&id(4), b"waitlist-offer");
    assert!(w.resource(ROOM, CAROL, Role::User, ResourceCommand::AcceptOffer { reservation_id: offer }).await);
    let join = ResourceCommand::JoinWaitlist { entry_id: id(5), desired: slot(5, 10, 11), flex_minutes: 0 };
    assert!(w.resource(ROOM, ALICE, Role::User, join).await);

    assert!(w.book(LAB, BOB, 10, slot(6, 9, 12)).await);
    assert!(w.book(LAB, ALICE, 11, slot(7, 9, 12)).await);
    assert!(w.book(LAB, CAROL, 12, slot(8, 9, 12)).await);
    let approve =
        ResourceCommand::Approve { reservation_id: id(10), comment: "ok".into(), group_approvers: Vec::new() };
    assert!(w.resource(LAB, APPROVER, Role::Approver, approve).await);
    let reject =
        ResourceCommand::Reject { reservation_id: id(11), comment: "no, \"busy\"".into(), group_approvers: Vec::new() };
    assert!(w.resource(LAB, APPROVER, Role::Approver, reject).await);

    let series = ResourceCommand::BookSeries {
        series_id: id(20),
        rrule: "FREQ=DAILY;COUNT=5".into(),
        dtstart: NaiveDate::from_ymd_opt(2030, 3, 11).unwrap().and_hms_opt(9, 0, 0).unwrap(),
        duration_minutes: 60,
        exdates: vec![],
        policy: SeriesPolicy::SkipConflicts,
    };
    assert!(w.resource(DESKS, ALICE, Role::User, series).await);
    for n in 30..34 {
        assert!(w.book(DESKS, BOB, n, slot(12, 9, 11)).await || n == 33);
    }
    let occurrence = reserver_domain::recurrence::occurrence_reservation_id(id(20), utc(2030, 3, 14, 8, 0));
    let scope = SeriesCancelScope::ThisAndFollowing { reservation_id: occurrence };
    assert!(w.resource(DESKS, ALICE, Role::User, ResourceCommand::CancelSeries { series_id: id(20), scope }).await);
    let blackout = ResourceCommand::AddBlackout { blackout_id: id(40), range: slot(20, 0, 23), reason: "Fair".into() };
    assert!(w.resource(DESKS, ADMIN, Role::Admin, blackout).await);
    let retire = ResourceCommand::RetireResource { reason: "demolished".into() };
    assert!(w.resource(OLD, ADMIN, Role::Admin, retire).await);
    let maintenance = ResourceCommand::SetStatus { status: ResourceStatus::Maintenance };
    assert!(w.resource(LAB, ADMIN, Role::Admin, maintenance).await);
    w.foreign_events().await;

    // The day of the room bookings: Carol checks in, Bob does not show up.
    w.now = utc(2030, 3, 5, 9, 5);
    assert!(w.resource(ROOM, CAROL, Role::User, ResourceCommand::CheckIn { reservation_id: offer }).await);
    w.now = utc(2030, 3, 5, 10, 20);
    let no_show = ResourceCommand::ReleaseNoShow { reservation_id: id(2) };
    assert!(w.resource(ROOM, ADMIN, Role::Admin, no_show).await);
    w.now = utc(2030, 3, 5, 10, 30);
    assert!(w.resource(ROOM, CAROL, Role::User, ResourceCommand::Complete { reservation_id: offer }).await);
    w.user(ALICE, ADMIN, Role::Admin, UserCommand::GrantRole { role: Role::Admin }).await;
    assert!(!w.book(LAB, BOB, 13, slot(9, 9, 12)).await, "the lab is in maintenance");
}

fn page() -> PageRequest {
    PageRequest::first(2)
}

/// Follows every page of a paginated query, so cursors are part of what is compared.
macro_rules! all_pages {
    ($p:ident => $call:expr) => {{
        let mut pages = Vec::new();
        let mut request = page();
        loop {
            let $p = request.clone();
            let result = $call.await.expect("query");
            let next = result.next_cursor.clone();
            pages.push(serde_json::to_value(&result).unwrap());
            match next {
                Some(cursor) => request = PageRequest::after(2, cursor),
                None => break,
            }
        }
        Value::Array(pages)
    }};
}

fn v<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// The results of every query of every read model over the workload's data.
pub async fn snapshot(store: &Arc<dyn EventStore>) -> Value {
    let db = store.database();
    let db = &db;
    let now = base_now();
    let window = TimeRange::new(utc(2030, 3, 1, 0, 0), utc(2030, 4, 1, 0, 0)).unwrap();
    let mut out = serde_json::Map::new();
    let sorts = [ResourceSort::Name, ResourceSort::Status, ResourceSort::Created];
    for (i, sort) in sorts.into_iter().enumerate() {
        for descending in [false, true] {
            let q = ResourceQuery { sort, descending, ..Default::default() };
            out.insert(format!("resources/{i}/{descending}"), all_pages!(p => catalog::list_resources(db, &q, &p)));
        }
    }
    let filters = [
        ResourceQuery { tags: vec!["VIDEO".into()], ..Default::default() },
        ResourceQuery { kind: Some(ResourceKind::Room), ..Default::default() },
        ResourceQuery { status: Some("retired".into()), ..Default::default() },
        ResourceQuery { group_id: Some(BUILDING), include_subgroups: true, ..Default::default() },
        ResourceQuery { group_id: Some(BUILDING), ..Default::default() },
        ResourceQuery { text: Some("100%".into()), ..Default::default() },
        ResourceQuery { text: Some("BY THE HOUR".into()), tags: vec!["video".into()], ..Default::default() },
    ];
    for (i, q) in filters.iter().enumerate() {
        out.insert(format!("filter/{i}"), all_pages!(p => catalog::list_resources(db, q, &p)));
    }
    out.insert("groups".into(), v(catalog::group_tree(db).await.unwrap()));
    out.insert(
        "cycle".into(),
        json!([
            catalog::would_create_cycle(db, BUILDING, Some(WING)).await.unwrap(),
            catalog::would_create_cycle(db, WING, Some(BUILDING)).await.unwrap(),
        ]),
    );
    for r in [ROOM, DESKS, LAB, OLD] {
        out.insert(format!("resource/{r}"), v(catalog::get_resource(db, r).await.unwrap()));
        out.insert(
            format!("by_resource/{r}"),
            all_pages!(p => reservations::reservations_for_resource(db, r, None, &p)),
        );
        out.insert(format!("waitlist/{r}"), v(reservations::waitlist_for_resource(db, r).await.unwrap()));
        let hour = Duration::hours(1);
        out.insert(
            format!("free/{r}"),
            v(availability::free_slots(db, r, slot(12, 6, 20), hour, now, 50, None).await.unwrap()),
        );
        out.insert(
            format!("next/{r}"),
            v(availability::next_available(db, r, utc(2030, 3, 12, 8, 0), hour, now, Some(BOB)).await.unwrap()),
        );
        let from = NaiveDate::from_ymd_opt(2030, 3, 11).unwrap();
        out.insert(format!("days/{r}"), v(availability::day_summary(db, r, from, 3, hour, now).await.unwrap()));
    }
    for u in [ADMIN, ALICE, BOB, CAROL, APPROVER] {
        for scope in [TimeScope::Upcoming, TimeScope::Past, TimeScope::All] {
            let at = utc(2030, 3, 8, 0, 0);
            out.insert(
                format!("mine/{u}/{scope:?}"),
                all_pages!(p => reservations::reservations_for_user(db, u, scope, at, &p)),
            );
        }
        out.insert(format!("series/{u}"), v(reservations::series_for_user(db, u).await.unwrap()));
        out.insert(format!("waiting/{u}"), v(reservations::waitlist_for_user(db, u).await.unwrap()));
        out.insert(format!("user/{u}"), v(users::get_user(db, u).await.unwrap()));
        out.insert(
            format!("notifications/{u}"),
            all_pages!(p => notifications::notifications_for_user(db, u, false, &p)),
        );
        out.insert(format!("unread/{u}"), v(notifications::unread_count(db, u).await.unwrap()));
    }
    out.insert("users".into(), v(users::list_users(db, None).await.unwrap()));
    out.insert("bob".into(), v(users::user_by_username(db, "BOB").await.unwrap()));
    out.insert("range".into(), all_pages!(p => reservations::reservations_in_range(db, slot(5, 0, 23), &p)));
    out.insert("approvals".into(), all_pages!(p => reservations::pending_approvals(db, None, &[], &p)));
    for n in [1u128, 2, 10, 11, 30] {
        let rid = id(n);
        out.insert(format!("reservation/{n}"), v(reservations::get_reservation(db, rid).await.unwrap()));
        out.insert(format!("history/{n}"), v(reservations::reservation_history(db, rid).await.unwrap()));
    }
    out.insert("series".into(), v(reservations::get_series(db, id(20)).await.unwrap()));
    out.insert("util/day".into(), v(analytics::utilization_by_day(db, None, window).await.unwrap()));
    out.insert("util/hour".into(), v(analytics::utilization_by_hour_of_week(db, Some(ROOM), window).await.unwrap()));
    out.insert("peaks".into(), v(analytics::peak_times(db, window, 5).await.unwrap()));
    out.insert("popular".into(), v(analytics::popular_resources(db, window, 5).await.unwrap()));
    out.insert("no_shows".into(), v(analytics::no_show_rate(db, None, window).await.unwrap()));
    let everything = AuditFilter::default();
    out.insert("audit".into(), all_pages!(p => audit_log(db, &everything, &p)));
    let by_actor = AuditFilter { actor: Some(ALICE.to_string()), resource_id: Some(ROOM), ..Default::default() };
    out.insert("audit/alice".into(), all_pages!(p => audit_log(db, &by_actor, &p)));
    Value::Object(out)
}

/// Tiny batches and a quick poll: every runtime path is exercised by a small workload.
pub fn small_batches() -> RuntimeOptions {
    RuntimeOptions { batch_size: 7, poll_interval: std::time::Duration::from_millis(50), ..RuntimeOptions::default() }
}

/// The mixed workload applied live (in small batches), and the snapshot of every query over it.
pub async fn live_workload(db: &ScratchDatabase) -> (Arc<dyn EventStore>, serde_json::Value) {
    let store = db.open().await;
    let handle = ProjectionRuntime::start_with(store.clone(), all_projectors(), small_batches()).await.unwrap();
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    handle.wait_for(workload.last_position, std::time::Duration::from_secs(20)).await.unwrap();
    let live = snapshot(&store).await;
    handle.shutdown().await;
    (store, live)
}

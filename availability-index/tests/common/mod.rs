//! Random command sequences on one resource, decided by the domain, and a brute-force
//! oracle of what is free (minute-by-minute counting), for checking the index's answers.
#![allow(dead_code)]

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use reserver_availability_index::MemoryIndex;
use reserver_domain::availability::{conflict_suggestions, free_slots, next_available};
use reserver_domain::resource::{stream_id, ResourceDetails, ResourceKind};
use reserver_domain::schedule_rules::{BusinessHours, LocalTimeRange};
use reserver_domain::{
    decide, Actor, BookingPolicy, DecisionContext, ResourceCommand, ResourceEvent, ResourceState, Role, TimeRange,
};
use reserver_store::{NewEvent, RecordedEvent};
use uuid::Uuid;

/// Monday 2030-03-04 00:00 UTC: minute 0 of every case.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap()
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

pub fn minute_of(instant: DateTime<Utc>) -> i64 {
    (instant - t0()).num_minutes()
}

/// Two days: where bookings and questions lie.
pub const SPAN: i64 = 2 * 24 * 60;

#[derive(Debug, Clone)]
pub enum Op {
    Book { user: u8, start: i64, len: i64 },
    Cancel { pick: u8 },
    Approve { pick: u8 },
    Reject { pick: u8 },
    Wait { minutes: i64 },
}

#[derive(Debug, Clone)]
pub struct Case {
    pub capacity: u32,
    pub buffer: u32,
    pub hours: bool,
    pub approval: bool,
    pub quota: Option<u32>,
    pub blackout: Option<(i64, i64)>,
    pub duration: i64,
    pub ops: Vec<Op>,
    pub probe: (i64, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, 0i64..(SPAN / 5), 1i64..=24).prop_map(|(user, start, len)| Op::Book { user, start: start * 5, len: len * 5 + 10 }),
        2 => any::<u8>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Approve { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Reject { pick }),
        1 => (1i64..=120).prop_map(|m| Op::Wait { minutes: m * 5 }),
    ]
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        (1u32..=3, prop_oneof![Just(0u32), Just(10u32)], any::<bool>(), any::<bool>(), prop::option::of(1u32..=3)),
        prop::option::of((0i64..(SPAN / 5), 1i64..=36)),
        3i64..=24,
        prop::collection::vec(op(), 0..24),
        (0i64..(SPAN / 5), 1i64..=24),
    )
        .prop_map(|((capacity, buffer, hours, approval, quota), blackout, duration, ops, probe)| Case {
            capacity,
            buffer,
            hours,
            approval,
            quota,
            blackout: blackout.map(|(s, l)| (s * 5, s * 5 + l * 5)),
            duration: duration * 5,
            ops,
            probe: (probe.0 * 5, probe.0 * 5 + probe.1 * 5),
        })
}

pub const USERS: [Uuid; 3] = [Uuid::from_u128(0x51), Uuid::from_u128(0x52), Uuid::from_u128(0x53)];
const ADMIN: Actor = Actor { user_id: Uuid::from_u128(0x99), role: Role::Admin };

/// What a case left behind: the aggregate's full state, the events in order, and "now".
pub struct Outcome {
    pub resource: Uuid,
    pub state: ResourceState,
    pub events: Vec<ResourceEvent>,
    pub now: DateTime<Utc>,
}

/// Runs the case's commands through `decide` on resource `resource`, keeping what it accepts.
pub fn run(case: &Case, resource: Uuid) -> Outcome {
    let mut now = at(-60);
    let mut state = ResourceState::default();
    let mut events = Vec::new();
    let mut step = |state: &mut ResourceState, command: ResourceCommand, actor: Actor, now| {
        if let Ok(decided) = decide(state, &command, &DecisionContext { now, actor }) {
            for e in decided {
                state.apply(&e);
                events.push(e);
            }
        }
    };
    let policy = BookingPolicy {
        buffer_before_minutes: case.buffer,
        buffer_after_minutes: case.buffer,
        min_duration_minutes: 5,
        requires_approval: case.approval,
        max_active_per_user: case.quota,
        ..BookingPolicy::default()
    };
    let hours = case.hours.then(|| {
        BusinessHours::every_day(vec![LocalTimeRange::new(
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        )])
    });
    let create = ResourceCommand::CreateResource {
        resource_id: resource,
        details: ResourceDetails {
            name: format!("room {resource}"),
            kind: ResourceKind::Room,
            tags: vec!["Projector".into()],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: case.capacity,
        time_zone: Tz::UTC,
        policy,
        business_hours: hours,
    };
    step(&mut state, create, ADMIN, now);
    if let Some((from, to)) = case.blackout {
        let range = TimeRange::new(at(from), at(to)).unwrap();
        let command =
            ResourceCommand::AddBlackout { blackout_id: Uuid::from_u128(0xB1), range, reason: "paint".into() };
        step(&mut state, command, ADMIN, now);
    }
    for (i, op) in case.ops.iter().enumerate() {
        let pick = |pick: u8, state: &ResourceState| {
            let ids: Vec<Uuid> = state.reservations.keys().copied().collect();
            (!ids.is_empty()).then(|| ids[pick as usize % ids.len()])
        };
        let approver = Actor { user_id: Uuid::from_u128(0x98), role: Role::Approver };
        match *op {
            Op::Book { user, start, len } => {
                let range = TimeRange::new(at(start), at(start + len)).unwrap();
                let reservation_id = Uuid::from_u128(0x1000 + i as u128);
                let actor = Actor { user_id: USERS[user as usize], role: Role::User };
                step(&mut state, ResourceCommand::Book { reservation_id, range }, actor, now);
            }
            Op::Cancel { pick: p } => {
                if let Some(id) = pick(p, &state) {
                    let actor = Actor { user_id: state.reservations[&id].user_id, role: Role::User };
                    step(
                        &mut state,
                        ResourceCommand::CancelReservation { reservation_id: id, reason: None },
                        actor,
                        now,
                    );
                }
            }
            Op::Approve { pick: p } => {
                if let Some(id) = pick(p, &state) {
                    let command = ResourceCommand::Approve {
                        reservation_id: id,
                        comment: String::new(),
                        group_approvers: Vec::new(),
                    };
                    step(&mut state, command, approver, now);
                }
            }
            Op::Reject { pick: p } => {
                if let Some(id) = pick(p, &state) {
                    let command = ResourceCommand::Reject {
                        reservation_id: id,
                        comment: String::new(),
                        group_approvers: Vec::new(),
                    };
                    step(&mut state, command, approver, now);
                }
            }
            Op::Wait { minutes } => now += Duration::minutes(minutes),
        }
    }
    Outcome { resource, state, events, now }
}

/// The events as the log would hand them out, from position `first` on.
pub fn recorded(resource: Uuid, events: &[ResourceEvent], first: u64) -> Vec<RecordedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| RecordedEvent {
            position: first + i as u64,
            event_id: Uuid::new_v4(),
            stream_id: stream_id(resource),
            stream_version: i as u64 + 1,
            event_type: e.event_type().to_string(),
            schema_version: 1,
            payload: serde_json::to_string(e).unwrap(),
            metadata: "{}".into(),
            recorded_at: e.at(),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        })
        .collect()
}

/// The events as a store would take them.
pub fn new_events(events: &[ResourceEvent]) -> Vec<NewEvent> {
    events.iter().map(|e| NewEvent::new(Uuid::new_v4(), e.event_type(), serde_json::to_string(e).unwrap())).collect()
}

/// Buffered spans of the holding reservations, in minutes.
fn spans(case: &Case, state: &ResourceState) -> Vec<(i64, i64)> {
    let buffer = i64::from(case.buffer);
    state.holding().map(|r| (minute_of(r.range.start()) - buffer, minute_of(r.range.end()) + buffer)).collect()
}

fn open_at(case: &Case, minute: i64) -> bool {
    let of_day = minute.rem_euclid(24 * 60);
    let in_hours = !case.hours || (8 * 60..18 * 60).contains(&of_day);
    let blacked = case.blackout.is_some_and(|(a, b)| a <= minute && minute < b);
    in_hours && !blacked
}

/// The oracle: a slot of the case's length starting at `start` is bookable at `now`.
pub fn oracle_free(case: &Case, out: &Outcome, start: i64) -> bool {
    let end = start + case.duration;
    if at(start) < out.now || !(start..end).all(|m| open_at(case, m)) {
        return false;
    }
    if case.hours && start.div_euclid(1440) != (end - 1).div_euclid(1440) {
        return false;
    }
    let spans = spans(case, &out.state);
    let buffer = i64::from(case.buffer);
    (start - buffer..end + buffer)
        .all(|m| spans.iter().filter(|(a, b)| *a <= m && m < *b).count() < case.capacity as usize)
}

/// Checks every answer of `index` about the case's resource against the oracle and against
/// the domain's own functions on the aggregate's full state. Panics with the first mismatch.
pub fn check(case: &Case, out: &Outcome, index: &MemoryIndex) {
    let (id, now) = (out.resource, out.now);
    let window = TimeRange::new(at(0), at(SPAN)).unwrap();
    let duration = Duration::minutes(case.duration);
    let slots = index.free_slots(id, window, duration, now, 1000, None).unwrap();
    assert_eq!(slots, free_slots(&out.state, window, duration, now, 1000, None), "free slots differ from the domain's");
    for slot in &slots {
        assert!(oracle_free(case, out, minute_of(slot.start())), "offered slot {slot:?} is not free");
    }
    for pair in slots.windows(2) {
        assert!(pair[0].end() <= pair[1].start(), "slots overlap or are out of order");
    }
    let mut grid = 0;
    while grid + case.duration <= SPAN {
        if oracle_free(case, out, grid) {
            let candidate = TimeRange::new(at(grid), at(grid + case.duration)).unwrap();
            assert!(slots.iter().any(|s| s.overlaps(&candidate)), "free slot at minute {grid} missed");
        }
        grid += 15;
    }
    for user in USERS {
        let mine = index.free_slots(id, window, duration, now, 5, Some(user)).unwrap();
        assert_eq!(mine, free_slots(&out.state, window, duration, now, 5, Some(user)), "quota answers differ");
    }
    let from = at(case.probe.0);
    assert_eq!(
        index.next_available(id, from, duration, now, Some(USERS[0])).unwrap(),
        next_available(&out.state, from, duration, now, Some(USERS[0]))
    );
    let wanted = TimeRange::new(at(case.probe.0), at(case.probe.1)).unwrap();
    assert_eq!(
        index.conflict_suggestions(id, &wanted, now, None).unwrap(),
        conflict_suggestions(&out.state, &wanted, now, None)
    );
    check_schedule(case, out, index);
}

fn check_schedule(case: &Case, out: &Outcome, index: &MemoryIndex) {
    let schedule = index.schedule(out.resource, t0().date_naive(), 2).unwrap();
    assert_eq!(schedule.days.len(), 2);
    let spans = spans(case, &out.state);
    for (n, day) in schedule.days.iter().enumerate() {
        assert_eq!(day.minutes, 1440);
        let held: BTreeSet<Uuid> = out.state.holding().filter(|r| r.range.overlaps(&day.range)).map(|r| r.id).collect();
        let shown: BTreeSet<Uuid> = day.reservations.iter().map(|r| r.reservation_id).collect();
        assert_eq!(shown, held, "schedule reservations of day {n}");
        for m in (n as i64 * 1440)..((n as i64 + 1) * 1440) {
            let expected =
                open_at(case, m) && spans.iter().filter(|(a, b)| *a <= m && m < *b).count() < case.capacity as usize;
            let shown = day.free.iter().any(|f| f.contains_instant(at(m)));
            assert_eq!(shown, expected, "schedule free at minute {m}");
        }
    }
}

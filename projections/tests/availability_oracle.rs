//! Availability against a brute-force oracle on random schedules: every slot the search
//! offers is bookable by minute-by-minute counting, and no bookable 15-minute-grid slot is
//! missed (each overlaps an offered slot). The read model's queries call this very search on
//! the projected aggregate state, so checking it here checks the read model's rules.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use reserver_domain::availability::free_slots;
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::schedule_rules::{BusinessHours, LocalTimeRange};
use reserver_domain::{decide, Actor, BookingPolicy, DecisionContext, ResourceCommand, ResourceState, Role, TimeRange};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

#[derive(Debug)]
struct Setup {
    capacity: u32,
    buffer: u32,
    hours: bool,
    bookings: Vec<(i64, i64, u128)>,
    duration: i64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1u32..=3,
        prop_oneof![Just(0u32), Just(10u32)],
        any::<bool>(),
        15i64..=120,
        prop::collection::vec((0i64..(2 * 24 * 12), 1i64..=24, 1u128..=4), 0..14),
    )
        .prop_map(|(capacity, buffer, hours, duration, raw)| Setup {
            capacity,
            buffer,
            hours,
            duration: duration / 5 * 5,
            bookings: raw.into_iter().map(|(start, len, user)| (start * 5, len * 5 + 10, user)).collect(),
        })
}

/// Builds the state through `decide`, keeping only the bookings the domain accepts.
fn build(s: &Setup) -> ResourceState {
    let admin = DecisionContext { now: at(-60), actor: Actor { user_id: Uuid::from_u128(99), role: Role::Admin } };
    let policy = BookingPolicy {
        buffer_before_minutes: s.buffer,
        buffer_after_minutes: s.buffer,
        min_duration_minutes: 5,
        ..BookingPolicy::default()
    };
    let hours = s.hours.then(|| {
        BusinessHours::every_day(vec![LocalTimeRange::new(
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        )])
    });
    let create = ResourceCommand::CreateResource {
        resource_id: Uuid::from_u128(1),
        details: ResourceDetails {
            name: "r".into(),
            kind: ResourceKind::Room,
            tags: vec![],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: s.capacity,
        time_zone: Tz::UTC,
        policy,
        business_hours: hours,
    };
    let mut state = ResourceState::default();
    for e in decide(&state, &create, &admin).unwrap() {
        state.apply(&e);
    }
    for (i, (start, len, user)) in s.bookings.iter().enumerate() {
        let ctx = DecisionContext { now: at(-30), actor: Actor { user_id: Uuid::from_u128(*user), role: Role::User } };
        let range = TimeRange::new(at(*start), at(start + len)).unwrap();
        let book = ResourceCommand::Book { reservation_id: Uuid::from_u128(1000 + i as u128), range };
        if let Ok(events) = decide(&state, &book, &ctx) {
            events.iter().for_each(|e| state.apply(e));
        }
    }
    state
}

/// The oracle: counts, minute by minute, the buffered spans over the slot's buffered span,
/// and checks opening hours minute by minute (UTC zone, 08:00–18:00 when hours are set).
fn oracle_free(s: &Setup, state: &ResourceState, start: i64) -> bool {
    let end = start + s.duration;
    if s.hours {
        let day = start.div_euclid(24 * 60);
        if start < day * 1440 + 8 * 60 || end > day * 1440 + 18 * 60 {
            return false;
        }
    }
    let buffer = i64::from(s.buffer);
    let spans: Vec<(i64, i64)> = state
        .holding()
        .map(|r| {
            let from = (r.range.start() - t0()).num_minutes() - buffer;
            let to = (r.range.end() - t0()).num_minutes() + buffer;
            (from, to)
        })
        .collect();
    (start - buffer..end + buffer)
        .all(|m| spans.iter().filter(|(a, b)| *a <= m && m < *b).count() < s.capacity as usize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn free_slots_match_brute_force(s in setup()) {
        let state = build(&s);
        let window = TimeRange::new(at(0), at(2 * 24 * 60)).unwrap();
        let now = at(-30);
        let slots = free_slots(&state, window, Duration::minutes(s.duration), now, 10_000, None);
        for slot in &slots {
            let start = (slot.start() - t0()).num_minutes();
            prop_assert!(oracle_free(&s, &state, start), "offered slot {slot:?} is not free");
        }
        for pair in slots.windows(2) {
            prop_assert!(pair[0].end() <= pair[1].start(), "slots overlap or are out of order");
        }
        let mut grid = 0;
        while grid + s.duration <= 2 * 24 * 60 {
            if oracle_free(&s, &state, grid) {
                let candidate = TimeRange::new(at(grid), at(grid + s.duration)).unwrap();
                prop_assert!(
                    slots.iter().any(|slot| slot.overlaps(&candidate)),
                    "free slot at minute {grid} missed"
                );
            }
            grid += 15;
        }
    }
}

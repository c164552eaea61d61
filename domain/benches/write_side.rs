//! Write-side costs of the resource aggregate on a busy resource (default 1,000 bookings over
//! 60 days; `--bookings N` stacks `N / 1,000` units of capacity with the same pattern), no I/O:
//! deciding a booking (accepted, or refused with suggestions), applying an event to the
//! cached state (evolve and prune), and copying the state to apply one (a batch's scratch).
//!
//! ```text
//! cargo bench -p reserver-domain --bench write_side
//! ```
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::{
    decide, Actor, BookingPolicy, DecisionContext, ResourceCommand, ResourceEvent, ResourceState, Role, TimeRange,
};
use uuid::Uuid;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bookings: u64 = args
        .iter()
        .position(|a| a == "--bookings")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let units = u32::try_from(bookings.div_ceil(1_000)).unwrap_or(u32::MAX).max(1);
    let now = Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap();
    let id = Uuid::from_u128(1);
    let mut events = vec![ResourceEvent::ResourceCreated {
        resource_id: id,
        details: ResourceDetails {
            name: "r".into(),
            kind: ResourceKind::Room,
            tags: vec![],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: units,
        time_zone: Tz::Europe__Berlin,
        policy: BookingPolicy::default(),
        business_hours: None,
        by: Uuid::nil(),
        at: now,
    }];
    // Per unit, 1,000 bookings of 30 or 60 minutes: 17 a day over 60 days on distinct hours.
    let mut n = 0u64;
    for day in 0..60i64 {
        for k in 0..17i64 * i64::from(units) {
            if n == bookings {
                break;
            }
            let hour = ((k % 17) * 7 + day * 3) % 24;
            let start = now + chrono::Duration::hours(day * 24 + hour);
            let range =
                TimeRange::new(start, start + chrono::Duration::minutes(if k % 2 == 0 { 30 } else { 60 })).unwrap();
            events.push(ResourceEvent::ReservationConfirmed {
                reservation_id: Uuid::from_u64_pair(2, n),
                user_id: Uuid::from_u64_pair(3, n % 50),
                range,
                series_id: None,
                at: now,
            });
            n += 1;
        }
    }
    let state = ResourceState::from_events(&events);
    let actor = Actor { user_id: Uuid::from_u128(5), role: Role::User };
    let time = |label: &str, f: &mut dyn FnMut(u64)| {
        let mut samples = Vec::new();
        let started = Instant::now();
        let mut i = 0;
        while started.elapsed() < Duration::from_secs(3) {
            let t = Instant::now();
            f(i);
            samples.push(t.elapsed());
            i += 1;
        }
        samples.sort();
        println!(
            "{label}: {} runs, {:.0}/s, p50 {:?}",
            samples.len(),
            samples.len() as f64 / started.elapsed().as_secs_f64(),
            samples[samples.len() / 2]
        );
    };
    time("decide a booking into a random hour (accept or 409 with suggestions)", &mut |i| {
        let start = now + chrono::Duration::hours(((i * 7919) % (60 * 24)) as i64);
        let range = TimeRange::new(start, start + chrono::Duration::hours(1)).unwrap();
        let cmd = ResourceCommand::Book { reservation_id: Uuid::from_u64_pair(9, i), range };
        std::hint::black_box(decide(&state, &cmd, &DecisionContext { now, actor }).is_ok());
    });
    time("decide a booking into a free hour (accepted: the conflict check alone)", &mut |i| {
        let start = now + chrono::Duration::days(70) + chrono::Duration::hours((i % 24) as i64);
        let range = TimeRange::new(start, start + chrono::Duration::hours(1)).unwrap();
        let cmd = ResourceCommand::Book { reservation_id: Uuid::from_u64_pair(9, i), range };
        std::hint::black_box(decide(&state, &cmd, &DecisionContext { now, actor }).is_ok());
    });
    let mut live = state.clone();
    time("apply one booking event to the cached state (evolve + prune)", &mut |i| {
        let start = now + chrono::Duration::days(80) + chrono::Duration::minutes((i % 1000) as i64 * 90);
        let range = TimeRange::new(start, start + chrono::Duration::hours(1)).unwrap();
        live.apply(&ResourceEvent::ReservationConfirmed {
            reservation_id: Uuid::from_u64_pair(8, i % 1000),
            user_id: Uuid::nil(),
            range,
            series_id: None,
            at: now,
        });
    });
    let event = ResourceEvent::ReservationConfirmed {
        reservation_id: Uuid::from_u128(0xFEED),
        user_id: Uuid::nil(),
        range: TimeRange::new(now + chrono::Duration::days(70), now + chrono::Duration::days(71)).unwrap(),
        series_id: None,
        at: now,
    };
    time("copy the state and apply one event (a batch's scratch state)", &mut |_| {
        let mut copy = state.clone();
        copy.apply(&event);
        std::hint::black_box(copy);
    });
}

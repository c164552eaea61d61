//! Property tests: random command sequences never break the capacity
//! invariant, replay reproduces state, and free_slots agrees with decide.

mod common;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use common::*;
use proptest::prelude::*;
use reserver_domain::availability::free_slots;
use reserver_domain::resource::rules::occupied;
use reserver_domain::{decide, BookingPolicy, ResourceCommand, ResourceState, Role, TimeRange};

#[derive(Debug, Clone)]
enum Op {
    Book { who: u8, slot: u8, len: u8 },
    Cancel { pick: u8 },
    Approve { pick: u8 },
    Reject { pick: u8 },
    ExpireApproval { pick: u8 },
    Join { who: u8, slot: u8, len: u8, flex: u8 },
    Accept { pick: u8 },
    Decline { pick: u8 },
    ExpireOffer { pick: u8 },
    Wait { minutes: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..16, 1u8..5).prop_map(|(who, slot, len)| Op::Book { who, slot, len }),
        2 => any::<u8>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Approve { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Reject { pick }),
        1 => any::<u8>().prop_map(|pick| Op::ExpireApproval { pick }),
        2 => (0u8..3, 0u8..16, 1u8..5, 0u8..3).prop_map(|(who, slot, len, flex)| Op::Join { who, slot, len, flex }),
        1 => any::<u8>().prop_map(|pick| Op::Accept { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Decline { pick }),
        1 => any::<u8>().prop_map(|pick| Op::ExpireOffer { pick }),
        1 => (0u8..90).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

const USERS: [uuid::Uuid; 3] = [ALICE, BOB, CAROL];

fn slot_range(slot: u8, len: u8) -> TimeRange {
    let start = utc(2030, 3, 4, 9, 0) + Duration::minutes(30 * i64::from(slot));
    range(start, start + Duration::minutes(30 * i64::from(len)))
}

fn pick_id(state: &ResourceState, pick: u8) -> Option<uuid::Uuid> {
    let ids: Vec<_> = state.reservations.keys().copied().collect();
    (!ids.is_empty()).then(|| ids[pick as usize % ids.len()])
}

/// Brute force: at every buffered boundary, holding units <= capacity.
fn assert_capacity_respected(state: &ResourceState) {
    let resource = state.resource.as_ref().unwrap();
    let spans: Vec<TimeRange> = state.holding().map(|r| occupied(resource, &r.range)).collect();
    for probe in spans.iter().flat_map(|s| [s.start(), s.end()]) {
        let used = spans.iter().filter(|s| s.contains_instant(probe)).count();
        assert!(used <= resource.capacity as usize, "{used} units at {probe} > {}", resource.capacity);
    }
}

fn command_for(
    op: &Op,
    state: &ResourceState,
    step: u128,
    now: DateTime<Utc>,
) -> Option<(ResourceCommand, reserver_domain::DecisionContext)> {
    let owner_of = |id: uuid::Uuid| state.reservations[&id].user_id;
    Some(match *op {
        Op::Book { who, slot, len } => (
            ResourceCommand::Book { reservation_id: id(step), range: slot_range(slot, len) },
            user(USERS[who as usize], now),
        ),
        Op::Cancel { pick } => {
            let r = pick_id(state, pick)?;
            (ResourceCommand::CancelReservation { reservation_id: r, reason: None }, user(owner_of(r), now))
        }
        Op::Approve { pick } => {
            let r = pick_id(state, pick)?;
            (
                ResourceCommand::Approve { reservation_id: r, comment: String::new(), group_approvers: Vec::new() },
                ctx(now, APPROVER, Role::Approver),
            )
        }
        Op::Reject { pick } => {
            let r = pick_id(state, pick)?;
            (
                ResourceCommand::Reject { reservation_id: r, comment: String::new(), group_approvers: Vec::new() },
                ctx(now, APPROVER, Role::Approver),
            )
        }
        Op::ExpireApproval { pick } => {
            (ResourceCommand::ExpireApproval { reservation_id: pick_id(state, pick)? }, admin(now))
        }
        Op::Join { who, slot, len, flex } => (
            ResourceCommand::JoinWaitlist {
                entry_id: id(step),
                desired: slot_range(slot, len),
                flex_minutes: 15 * u32::from(flex),
            },
            user(USERS[who as usize], now),
        ),
        Op::Accept { pick } => {
            let r = pick_id(state, pick)?;
            (ResourceCommand::AcceptOffer { reservation_id: r }, user(owner_of(r), now))
        }
        Op::Decline { pick } => {
            let r = pick_id(state, pick)?;
            (ResourceCommand::DeclineOffer { reservation_id: r }, user(owner_of(r), now))
        }
        Op::ExpireOffer { pick } => {
            (ResourceCommand::ExpireOffer { reservation_id: pick_id(state, pick)? }, admin(now))
        }
        Op::Wait { .. } => return None,
    })
}

fn policy(buffer_before: u8, buffer_after: u8, approval: bool) -> BookingPolicy {
    BookingPolicy {
        buffer_before_minutes: 15 * u32::from(buffer_before),
        buffer_after_minutes: 15 * u32::from(buffer_after),
        requires_approval: approval,
        approval_timeout_minutes: 60,
        offer_timeout_minutes: 30,
        ..BookingPolicy::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_keep_the_invariant_and_replay(
        capacity in 1u32..=3,
        buffer_before in 0u8..3,
        buffer_after in 0u8..3,
        approval in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut f = Fixture::new(capacity, policy(buffer_before, buffer_after, approval), Tz::UTC, None);
        let mut now = base_now();
        for (step, op) in ops.iter().enumerate() {
            if let Op::Wait { minutes } = op {
                now += Duration::minutes(i64::from(*minutes));
                continue;
            }
            if let Some((command, context)) = command_for(op, &f.state, step as u128 + 1000, now) {
                let _ = f.run(command, &context);
            }
            assert_capacity_respected(&f.state);
            prop_assert_eq!(&f.replayed(), &f.state);
        }
        let json = serde_json::to_string(&f.state).unwrap();
        let restored: ResourceState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(restored, f.state.clone());
        let events_json = serde_json::to_string(&f.events).unwrap();
        let events: Vec<reserver_domain::ResourceEvent> = serde_json::from_str(&events_json).unwrap();
        prop_assert_eq!(ResourceState::from_events(&events), f.state);
        for event in &f.events {
            let value = serde_json::to_value(event).unwrap();
            prop_assert_eq!(value["type"].as_str(), Some(event.event_type()));
        }
    }

    #[test]
    fn free_slots_only_returns_slots_decide_accepts(
        capacity in 1u32..=3,
        buffer_before in 0u8..3,
        buffer_after in 0u8..3,
        bookings in proptest::collection::vec((0u8..3, 0u8..16, 1u8..5), 0..12),
        length in 1u8..5,
        who in 0u8..3,
        quota in proptest::option::of(1u32..3),
    ) {
        let mut p = policy(buffer_before, buffer_after, false);
        p.max_active_per_user = quota;
        p.min_notice_minutes = 30;
        let hours = daily(&[(hm(9, 0), hm(13, 0)), (hm(14, 0), hm(17, 0))]);
        let mut f = Fixture::new(capacity, p, Tz::UTC, Some(hours));
        for (n, (w, slot, len)) in bookings.into_iter().enumerate() {
            let _ = f.book(id(n as u128), USERS[w as usize], slot_range(slot, len));
        }
        let duration = Duration::minutes(30 * i64::from(length));
        let window = range(utc(2030, 3, 4, 0, 0), utc(2030, 3, 6, 0, 0));
        let who = USERS[who as usize];
        let slots = free_slots(&f.state, window, duration, base_now(), 20, Some(who));
        for slot in &slots {
            prop_assert!(window.covers(slot));
            prop_assert_eq!(slot.duration(), duration);
            let cmd = ResourceCommand::Book { reservation_id: id(999), range: *slot };
            let verdict = decide(&f.state, &cmd, &user(who, base_now()));
            prop_assert!(verdict.is_ok(), "{slot:?} offered but refused: {verdict:?}");
        }
        // Non-overlapping and sorted.
        for pair in slots.windows(2) {
            prop_assert!(pair[0].end() <= pair[1].start());
        }
    }

    #[test]
    fn a_short_search_returns_the_first_slots_of_the_long_one(
        capacity in 1u32..=2,
        buffer_before in 0u8..3,
        buffer_after in 0u8..3,
        bookings in proptest::collection::vec((0u8..3, 0u8..16, 1u8..5), 0..10),
        length in 1u8..9,
        limit in 1usize..6,
        start_day in 2u32..4,
        start_hour in 9u32..18,
        start_minute in 0u32..4,
    ) {
        let p = policy(buffer_before, buffer_after, false);
        let hours = daily(&[(hm(9, 0), hm(13, 0)), (hm(14, 0), hm(17, 0))]);
        let mut f = Fixture::new(capacity, p, Tz::UTC, Some(hours));
        for (n, (w, slot, len)) in bookings.into_iter().enumerate() {
            let _ = f.book(id(n as u128), USERS[w as usize], slot_range(slot, len));
        }
        let duration = Duration::minutes(30 * i64::from(length));
        // Up to twelve days: the first few slots come from the search of a two-day prefix of
        // the window, the long list from the whole window; they must agree. The prefix ends
        // among the bookings (on March 4th, where its edge matters) or a day after them.
        let window = range(utc(2030, 3, start_day, start_hour, start_minute * 15), utc(2030, 3, 14, 0, 0));
        let few = free_slots(&f.state, window, duration, base_now(), limit, None);
        let many = free_slots(&f.state, window, duration, base_now(), 1000, None);
        prop_assert_eq!(&few[..], &many[..limit.min(many.len())]);
    }
}

/// A slot at the very end of the searched prefix must respect a booking just after it (through
/// that booking's before-buffer), exactly as the whole-window search does.
#[test]
fn the_prefix_search_sees_bookings_just_past_its_end() {
    let mut f = Fixture::new(1, policy(2, 0, false), Tz::UTC, None);
    // Occupies 09:45 (its 30-minute before-buffer) to 11:15 on March 4th.
    f.book(id(1), USERS[0], range(utc(2030, 3, 4, 10, 15), utc(2030, 3, 4, 11, 15))).expect("booked");
    // The two-day prefix of this window ends at 10:00 on March 4th, before the booking starts.
    let window = range(utc(2030, 3, 2, 10, 0), utc(2030, 3, 14, 0, 0));
    let slots = free_slots(&f.state, window, Duration::hours(1), base_now(), 2, None);
    assert_eq!(
        slots,
        vec![
            range(utc(2030, 3, 4, 8, 0), utc(2030, 3, 4, 9, 0)),
            range(utc(2030, 3, 4, 11, 45), utc(2030, 3, 4, 12, 45))
        ]
    );
}

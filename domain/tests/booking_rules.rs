//! Single-booking rules: adjacency, capacity, buffers, timing, blackouts,
//! business hours, quota, resource status.

mod common;

use chrono::Duration;
use chrono_tz::Tz;
use common::*;
use reserver_domain::resource::ResourceStatus;
use reserver_domain::{BookingPolicy, Rejection, ResourceCommand, Role};

#[test]
fn back_to_back_bookings_do_not_conflict() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let events = f.book(id(2), BOB, hours(11, 0, 12, 0)).unwrap();
    assert_eq!(types(&events), vec!["reservation_confirmed"]);
    f.book(id(3), BOB, hours(9, 0, 10, 0)).unwrap();
}

#[test]
fn capacity_one_rejects_overlap_with_conflicting_ids_and_next_free_slots() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let err = f.book(id(2), BOB, hours(10, 30, 11, 30)).unwrap_err();
    assert_eq!(err.code(), "conflict");
    let Rejection::Conflict { conflicts, next_free } = err else { panic!() };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].reservation_id, id(1));
    assert_eq!(conflicts[0].range, hours(10, 0, 11, 0));
    assert_eq!(next_free, vec![hours(11, 0, 12, 0), hours(12, 0, 13, 0), hours(13, 0, 14, 0)]);
}

#[test]
fn capacity_three_takes_three_concurrent_bookings_not_four() {
    let mut f = Fixture::with_capacity(3);
    f.book(id(1), ALICE, hours(10, 0, 12, 0)).unwrap();
    f.book(id(2), BOB, hours(11, 0, 13, 0)).unwrap();
    f.book(id(3), CAROL, hours(11, 30, 12, 30)).unwrap();
    let err = f.book(id(4), ALICE, hours(11, 45, 12, 15)).unwrap_err();
    assert_eq!(err.code(), "conflict");
    // Peak is only two after 12:00 (id1 ended), so 12:00–12:30 still fits.
    f.book(id(5), ALICE, hours(12, 0, 12, 30)).unwrap();
}

#[test]
fn capacity_uses_peak_overlap_not_count_of_overlapping() {
    // Two bookings overlapping the request but not each other: peak 1 < 2.
    let mut f = Fixture::with_capacity(2);
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    f.book(id(2), BOB, hours(11, 0, 12, 0)).unwrap();
    f.book(id(3), CAROL, hours(10, 30, 11, 30)).unwrap();
}

#[test]
fn buffers_widen_the_conflict_check_but_not_stored_times() {
    let policy = BookingPolicy { buffer_before_minutes: 10, buffer_after_minutes: 15, ..BookingPolicy::default() };
    let mut f = Fixture::with_policy(policy);
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    assert_eq!(f.state.reservations[&id(1)].range, hours(10, 0, 11, 0));
    // Needs 15 after + 10 before = 25 minutes of gap.
    assert_eq!(f.book(id(2), BOB, hours(11, 0, 12, 0)).unwrap_err().code(), "conflict");
    assert_eq!(f.book(id(3), BOB, hours(11, 20, 12, 0)).unwrap_err().code(), "conflict");
    f.book(id(4), BOB, hours(11, 25, 12, 0)).unwrap();
    assert_eq!(f.book(id(5), BOB, hours(9, 0, 9, 40)).unwrap_err().code(), "conflict");
    f.book(id(6), BOB, hours(9, 0, 9, 35)).unwrap();
}

#[test]
fn duration_limits() {
    let policy = BookingPolicy { min_duration_minutes: 30, max_duration_minutes: 120, ..BookingPolicy::default() };
    let mut f = Fixture::with_policy(policy);
    let short = f.book(id(1), ALICE, hours(10, 0, 10, 15)).unwrap_err();
    assert_eq!(short, Rejection::TooShort { min_minutes: 30, requested_minutes: 15 });
    assert_eq!(f.book(id(2), ALICE, hours(10, 0, 12, 1)).unwrap_err().code(), "too_long");
    f.book(id(3), ALICE, hours(10, 0, 12, 0)).unwrap();
    f.book(id(4), ALICE, hours(12, 0, 12, 30)).unwrap();
}

#[test]
fn notice_and_horizon() {
    let policy = BookingPolicy { min_notice_minutes: 60, horizon_days: 7, ..BookingPolicy::default() };
    let mut f = Fixture::with_policy(policy);
    // now = 08:00
    let err = f.book(id(1), ALICE, hours(8, 30, 9, 30)).unwrap_err();
    assert_eq!(err, Rejection::NoticeTooShort { earliest_start: utc(2030, 3, 4, 9, 0) });
    f.book(id(2), ALICE, hours(9, 0, 10, 0)).unwrap();
    let at_horizon = range(utc(2030, 3, 11, 8, 0), utc(2030, 3, 11, 9, 0));
    assert_eq!(f.book(id(3), ALICE, at_horizon).unwrap_err().code(), "beyond_horizon");
    let inside = range(utc(2030, 3, 11, 7, 59), utc(2030, 3, 11, 9, 0));
    f.book(id(4), ALICE, inside).unwrap();
}

#[test]
fn blackouts_block_and_can_be_removed() {
    let mut f = Fixture::simple();
    f.run(
        ResourceCommand::AddBlackout { blackout_id: id(90), range: hours(12, 0, 13, 0), reason: "cleaning".into() },
        &admin(base_now()),
    )
    .unwrap();
    let err = f.book(id(1), ALICE, hours(12, 30, 13, 30)).unwrap_err();
    assert_eq!(err, Rejection::Blackout { blackout_id: id(90), reason: "cleaning".into() });
    f.book(id(2), ALICE, hours(11, 0, 12, 0)).unwrap();
    f.run(ResourceCommand::RemoveBlackout { blackout_id: id(90) }, &admin(base_now())).unwrap();
    f.book(id(3), ALICE, hours(12, 30, 13, 30)).unwrap();
}

#[test]
fn business_hours_crossing_midnight() {
    // Open 22:00–02:00 every night, UTC resource.
    let hours_22_02 = daily(&[(hm(22, 0), hm(2, 0))]);
    let mut f = Fixture::new(1, BookingPolicy::default(), Tz::UTC, Some(hours_22_02));
    let across = range(utc(2030, 3, 4, 23, 0), utc(2030, 3, 5, 1, 0));
    f.book(id(1), ALICE, across).unwrap();
    // Early morning belongs to the previous evening's range.
    let early = range(utc(2030, 3, 5, 1, 0), utc(2030, 3, 5, 2, 0));
    f.book(id(2), ALICE, early).unwrap();
    let late = range(utc(2030, 3, 5, 1, 30), utc(2030, 3, 5, 2, 30));
    assert_eq!(f.book(id(3), ALICE, late).unwrap_err().code(), "outside_business_hours");
    assert_eq!(f.book(id(4), ALICE, hours(12, 0, 13, 0)).unwrap_err().code(), "outside_business_hours");
}

#[test]
fn business_hours_union_of_split_ranges() {
    let split = daily(&[(hm(9, 0), hm(12, 0)), (hm(12, 0), hm(17, 0)), (hm(18, 0), hm(20, 0))]);
    let mut f = Fixture::new(1, BookingPolicy::default(), Tz::UTC, Some(split));
    f.book(id(1), ALICE, hours(11, 0, 13, 0)).unwrap();
    assert_eq!(f.book(id(2), ALICE, hours(16, 30, 18, 30)).unwrap_err().code(), "outside_business_hours");
}

#[test]
fn quota_counts_active_reservations_of_the_user() {
    let policy = BookingPolicy { max_active_per_user: Some(2), ..BookingPolicy::default() };
    let mut f = Fixture::with_policy(policy);
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    f.book(id(2), ALICE, hours(10, 0, 11, 0)).unwrap();
    assert_eq!(f.book(id(3), ALICE, hours(11, 0, 12, 0)).unwrap_err(), Rejection::QuotaExceeded { limit: 2 });
    f.book(id(4), BOB, hours(11, 0, 12, 0)).unwrap();
    f.run(ResourceCommand::CancelReservation { reservation_id: id(1), reason: None }, &user(ALICE, base_now()))
        .unwrap();
    f.book(id(3), ALICE, hours(12, 0, 13, 0)).unwrap();
}

#[test]
fn maintenance_and_retirement_block_bookings() {
    let mut f = Fixture::simple();
    f.run(ResourceCommand::SetStatus { status: ResourceStatus::Maintenance }, &admin(base_now())).unwrap();
    assert_eq!(f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap_err(), Rejection::ResourceInMaintenance);
    f.run(ResourceCommand::SetStatus { status: ResourceStatus::Available }, &admin(base_now())).unwrap();
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    f.run(ResourceCommand::RetireResource { reason: "gone".into() }, &admin(base_now())).unwrap();
    assert_eq!(f.book(id(2), ALICE, hours(10, 0, 11, 0)).unwrap_err(), Rejection::ResourceRetired);
}

#[test]
fn capacity_cannot_shrink_below_existing_peak() {
    let mut f = Fixture::with_capacity(2);
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    f.book(id(2), BOB, hours(9, 30, 10, 30)).unwrap();
    let shrink = ResourceCommand::UpdateResource {
        details: details(),
        capacity: 1,
        time_zone: Tz::UTC,
        policy: BookingPolicy::default(),
    };
    assert_eq!(f.run(shrink, &admin(base_now())).unwrap_err().code(), "invalid_state");
    let grow = ResourceCommand::UpdateResource {
        details: details(),
        capacity: 3,
        time_zone: Tz::UTC,
        policy: BookingPolicy::default(),
    };
    assert_eq!(types(&f.run(grow, &admin(base_now())).unwrap()), vec!["resource_updated"]);
}

#[test]
fn invalid_settings_are_refused() {
    let mut f = Fixture::simple();
    let zero = ResourceCommand::UpdateResource {
        details: details(),
        capacity: 0,
        time_zone: Tz::UTC,
        policy: BookingPolicy::default(),
    };
    assert_eq!(f.run(zero, &admin(base_now())).unwrap_err().code(), "invalid_input");
    let bad_policy = ResourceCommand::UpdateResource {
        details: details(),
        capacity: 1,
        time_zone: Tz::UTC,
        policy: BookingPolicy { min_duration_minutes: 60, max_duration_minutes: 30, ..BookingPolicy::default() },
    };
    assert_eq!(f.run(bad_policy, &admin(base_now())).unwrap_err().code(), "invalid_input");
}

#[test]
fn admin_only_commands_are_forbidden_to_others() {
    let mut f = Fixture::simple();
    for role in [Role::User, Role::Approver, Role::Auditor, Role::Guest] {
        let err = f
            .run(ResourceCommand::SetStatus { status: ResourceStatus::Maintenance }, &ctx(base_now(), ALICE, role))
            .unwrap_err();
        assert_eq!(err.code(), "forbidden");
    }
}

#[test]
fn guests_and_auditors_may_not_book() {
    let mut f = Fixture::simple();
    for role in [Role::Guest, Role::Auditor] {
        let cmd = ResourceCommand::Book { reservation_id: id(1), range: hours(9, 0, 10, 0) };
        assert_eq!(f.run(cmd, &ctx(base_now(), ALICE, role)).unwrap_err().code(), "forbidden");
    }
}

#[test]
fn users_cancel_only_their_own_reservations_admins_any() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(1), reason: None };
    assert_eq!(f.run(cancel.clone(), &user(BOB, base_now())).unwrap_err().code(), "forbidden");
    let events = f.run(cancel.clone(), &admin(base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_cancelled"]);
    assert_eq!(f.run(cancel, &admin(base_now())).unwrap_err().code(), "invalid_state");
}

#[test]
fn unknown_resource_and_reservation_are_not_found() {
    let empty = reserver_domain::ResourceState::default();
    let cmd = ResourceCommand::Book { reservation_id: id(1), range: hours(9, 0, 10, 0) };
    let err = reserver_domain::decide(&empty, &cmd, &user(ALICE, base_now())).unwrap_err();
    assert_eq!(err.code(), "not_found");
    let mut f = Fixture::simple();
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(9), reason: None };
    assert_eq!(f.run(cancel, &user(ALICE, base_now())).unwrap_err().code(), "not_found");
}

#[test]
fn duplicate_reservation_id_is_refused() {
    let mut f = Fixture::with_capacity(2);
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    assert_eq!(f.book(id(1), ALICE, hours(11, 0, 12, 0)).unwrap_err().code(), "invalid_state");
}

#[test]
fn old_reservations_are_pruned_from_state() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    let later = base_now() + Duration::days(3);
    f.run(
        ResourceCommand::Book {
            reservation_id: id(2),
            range: range(later + Duration::hours(1), later + Duration::hours(2)),
        },
        &user(ALICE, later),
    )
    .unwrap();
    assert!(!f.state.reservations.contains_key(&id(1)));
    assert!(f.state.reservations.contains_key(&id(2)));
    assert_eq!(f.replayed(), f.state);
}

#[test]
fn next_available_skips_taken_and_blacked_out_time() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(9, 0, 10, 0)).unwrap();
    f.run(
        ResourceCommand::AddBlackout { blackout_id: id(90), range: hours(10, 0, 10, 20), reason: "x".into() },
        &admin(base_now()),
    )
    .unwrap();
    let next = reserver_domain::availability::next_available(
        &f.state,
        utc(2030, 3, 4, 9, 0),
        Duration::hours(1),
        base_now(),
        Some(BOB),
    );
    assert_eq!(next, Some(hours(10, 20, 11, 20)));
}

#[test]
fn a_leap_second_instant_is_never_recorded_verbatim() {
    // A client may send `23:59:60Z` (RFC 3339 allows it); the range the command carries is
    // already normalised to the following second, and so is everything the event records.
    let mut f = Fixture::new(1, BookingPolicy { horizon_days: 365, ..BookingPolicy::default() }, Tz::UTC, None);
    let sent: reserver_domain::TimeRange =
        serde_json::from_str(r#"{"start":"2030-06-30T22:59:60Z","end":"2030-06-30T23:59:60Z"}"#).unwrap();
    let events = f.book(id(1), ALICE, sent).unwrap();
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains(":59:60"), "{json}");
    assert_eq!(f.state.reservations[&id(1)].range, range(utc(2030, 6, 30, 23, 0), utc(2030, 7, 1, 0, 0)));
    // The normalised booking conflicts with one at the same real instants.
    let same = range(utc(2030, 6, 30, 23, 0), utc(2030, 7, 1, 0, 0));
    assert_eq!(f.book(id(2), BOB, same).unwrap_err().code(), "conflict");
    let instant: chrono::DateTime<chrono::Utc> = "2030-12-31T23:59:60Z".parse().unwrap();
    assert_eq!(reserver_domain::normalize_instant(instant), utc(2031, 1, 1, 0, 0));
}

//! Recurring series: RRULE expansion across DST, all-or-nothing versus
//! skip-conflicts, per-occurrence reports and series cancellation.

mod common;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use common::*;
use reserver_domain::recurrence::{expand_series, occurrence_reservation_id, OccurrenceOutcome, SeriesPolicy};
use reserver_domain::resource::{ReservationStatus, SeriesCancelScope};
use reserver_domain::{BookingPolicy, Rejection, ResourceCommand, ResourceEvent};

const SERIES: uuid::Uuid = uuid::Uuid::from_u128(0x5E5);

fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
}

fn far() -> chrono::DateTime<chrono::Utc> {
    utc(2031, 1, 1, 0, 0)
}

#[test]
fn weekly_nine_oclock_stays_nine_local_across_spring_forward() {
    let occ =
        expand_series("FREQ=WEEKLY;COUNT=3", naive(2030, 3, 25, 9, 0), Duration::hours(1), &[], Berlin, far()).unwrap();
    let starts: Vec<_> = occ.iter().map(|o| o.range.start()).collect();
    assert_eq!(starts, vec![utc(2030, 3, 25, 8, 0), utc(2030, 4, 1, 7, 0), utc(2030, 4, 8, 7, 0)]);
    assert!(occ.iter().all(|o| o.local_start.time() == hm(9, 0)));
}

#[test]
fn weekly_series_across_fall_back_in_new_york() {
    let occ =
        expand_series("RRULE:FREQ=WEEKLY;COUNT=2", naive(2030, 10, 27, 9, 0), Duration::hours(1), &[], New_York, far())
            .unwrap();
    let starts: Vec<_> = occ.iter().map(|o| o.range.start()).collect();
    assert_eq!(starts, vec![utc(2030, 10, 27, 13, 0), utc(2030, 11, 3, 14, 0)]);
}

#[test]
fn occurrences_in_gap_and_fold_follow_the_dst_policy() {
    let gap = expand_series("FREQ=DAILY;COUNT=3", naive(2030, 3, 30, 2, 30), Duration::minutes(30), &[], Berlin, far())
        .unwrap();
    let starts: Vec<_> = gap.iter().map(|o| o.range.start()).collect();
    assert_eq!(starts, vec![utc(2030, 3, 30, 1, 30), utc(2030, 3, 31, 1, 30), utc(2030, 4, 1, 0, 30)]);
    let fold =
        expand_series("FREQ=DAILY;COUNT=2", naive(2030, 11, 2, 1, 30), Duration::minutes(30), &[], New_York, far())
            .unwrap();
    let starts: Vec<_> = fold.iter().map(|o| o.range.start()).collect();
    assert_eq!(starts, vec![utc(2030, 11, 2, 5, 30), utc(2030, 11, 3, 5, 30)]);
}

#[test]
fn exdates_remove_occurrences_and_bad_rules_are_invalid_input() {
    let occ = expand_series(
        "FREQ=DAILY;COUNT=3",
        naive(2030, 3, 5, 9, 0),
        Duration::hours(1),
        &[naive(2030, 3, 6, 9, 0)],
        Tz::UTC,
        far(),
    )
    .unwrap();
    let days: Vec<_> = occ.iter().map(|o| o.local_start.date().to_string()).collect();
    assert_eq!(days, vec!["2030-03-05", "2030-03-07"]);
    let err =
        expand_series("FREQ=SOMETIMES", naive(2030, 3, 5, 9, 0), Duration::hours(1), &[], Tz::UTC, far()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

fn series(rrule: &str, start: NaiveDateTime, minutes: u32, policy: SeriesPolicy) -> ResourceCommand {
    ResourceCommand::BookSeries {
        series_id: SERIES,
        rrule: rrule.into(),
        dtstart: start,
        duration_minutes: minutes,
        exdates: vec![],
        policy,
    }
}

/// Bob holds Wednesday 10:00–11:00; Alice wants daily 10:00 Tue–Thu.
fn conflicted() -> Fixture {
    let mut f = Fixture::simple();
    f.book(id(1), BOB, range(utc(2030, 3, 6, 10, 30), utc(2030, 3, 6, 11, 0))).unwrap();
    f
}

#[test]
fn all_or_nothing_rejects_with_a_per_occurrence_report() {
    let mut f = conflicted();
    let before = f.state.clone();
    let cmd = series("FREQ=DAILY;COUNT=3", naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::AllOrNothing);
    let err = f.run(cmd, &user(ALICE, base_now())).unwrap_err();
    assert_eq!(err.code(), "series_not_bookable");
    let Rejection::SeriesNotBookable { occurrences } = err else { panic!() };
    let first_id = occurrence_reservation_id(SERIES, utc(2030, 3, 5, 10, 0));
    assert_eq!(occurrences[0].outcome, OccurrenceOutcome::Bookable { reservation_id: first_id });
    let OccurrenceOutcome::Conflict { with } = &occurrences[1].outcome else { panic!("{occurrences:?}") };
    assert_eq!(with[0].reservation_id, id(1));
    assert!(matches!(occurrences[2].outcome, OccurrenceOutcome::Bookable { .. }));
    assert_eq!(f.state, before);
}

#[test]
fn skip_conflicts_books_the_rest_with_deterministic_ids() {
    let mut f = conflicted();
    let cmd = series("FREQ=DAILY;COUNT=3", naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::SkipConflicts);
    let events = f.run(cmd.clone(), &user(ALICE, base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_confirmed", "reservation_confirmed", "series_booked"]);
    let ResourceEvent::SeriesBooked { occurrences, .. } = &events[2] else { panic!() };
    let ids: Vec<_> = [5, 7].iter().map(|d| occurrence_reservation_id(SERIES, utc(2030, 3, *d, 10, 0))).collect();
    assert_eq!(occurrences[0].outcome, OccurrenceOutcome::Booked { reservation_id: ids[0] });
    assert!(matches!(occurrences[1].outcome, OccurrenceOutcome::Conflict { .. }));
    assert_eq!(occurrences[2].outcome, OccurrenceOutcome::Booked { reservation_id: ids[1] });
    for reservation_id in &ids {
        assert_eq!(f.state.reservations[reservation_id].series_id, Some(SERIES));
    }
    // Same inputs give the same ids, so a retry is recognized, not doubled.
    let again = reserver_domain::decide(&f.state, &cmd, &user(ALICE, base_now())).unwrap_err();
    assert_eq!(again.code(), "series_not_bookable");
}

#[test]
fn series_reports_business_hours_and_blackout_outcomes() {
    // Tuesdays close at 18:00, Wednesdays at 20:00.
    let mut hours = daily(&[(hm(8, 0), hm(18, 0))]);
    hours.days[2] = vec![reserver_domain::schedule_rules::LocalTimeRange::new(hm(8, 0), hm(20, 0))];
    let mut f = Fixture::new(1, BookingPolicy::default(), Tz::UTC, Some(hours));
    f.run(
        ResourceCommand::AddBlackout {
            blackout_id: id(90),
            range: range(utc(2030, 3, 6, 0, 0), utc(2030, 3, 7, 0, 0)),
            reason: "audit".into(),
        },
        &admin(base_now()),
    )
    .unwrap();
    let cmd = series("FREQ=DAILY;COUNT=2", naive(2030, 3, 5, 17, 0), 120, SeriesPolicy::SkipConflicts);
    let err = f.run(cmd, &user(ALICE, base_now())).unwrap_err();
    let Rejection::SeriesNotBookable { occurrences } = err else { panic!() };
    assert_eq!(occurrences[0].outcome, OccurrenceOutcome::OutsideBusinessHours);
    assert_eq!(occurrences[1].outcome, OccurrenceOutcome::Blackout { reason: "audit".into() });
}

#[test]
fn occurrences_beyond_the_horizon_are_reported_and_unbounded_rules_stop_there() {
    let policy = BookingPolicy { horizon_days: 7, ..BookingPolicy::default() };
    let mut f = Fixture::with_policy(policy);
    let bounded = series("FREQ=WEEKLY;COUNT=2", naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::SkipConflicts);
    let events = f.run(bounded, &user(ALICE, base_now())).unwrap();
    let ResourceEvent::SeriesBooked { occurrences, .. } = events.last().unwrap() else { panic!() };
    let OccurrenceOutcome::Refused { code, .. } = &occurrences[1].outcome else { panic!() };
    assert_eq!(code, "beyond_horizon");
    let mut f = Fixture::with_policy(BookingPolicy { horizon_days: 7, ..BookingPolicy::default() });
    let unbounded = series("FREQ=DAILY", naive(2030, 3, 4, 10, 0), 60, SeriesPolicy::AllOrNothing);
    let events = f.run(unbounded, &user(ALICE, base_now())).unwrap();
    assert_eq!(events.len(), 8, "7 days (Mar 4..=10) + summary");
}

fn booked_weekly(count: u32) -> (Fixture, Vec<uuid::Uuid>) {
    let mut f = Fixture::simple();
    let rule = format!("FREQ=WEEKLY;COUNT={count}");
    f.run(series(&rule, naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::AllOrNothing), &user(ALICE, base_now())).unwrap();
    let ids = (0..count)
        .map(|w| occurrence_reservation_id(SERIES, utc(2030, 3, 5, 10, 0) + Duration::weeks(w.into())))
        .collect();
    (f, ids)
}

#[test]
fn cancel_this_and_following() {
    let (mut f, ids) = booked_weekly(4);
    let cmd = ResourceCommand::CancelSeries {
        series_id: SERIES,
        scope: SeriesCancelScope::ThisAndFollowing { reservation_id: ids[1] },
    };
    assert_eq!(f.run(cmd.clone(), &user(BOB, base_now())).unwrap_err().code(), "forbidden");
    let events = f.run(cmd, &user(ALICE, base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_cancelled"; 3]);
    let statuses: Vec<_> = ids.iter().map(|i| f.state.reservations[i].status).collect();
    assert_eq!(
        statuses,
        vec![
            ReservationStatus::Confirmed,
            ReservationStatus::Cancelled,
            ReservationStatus::Cancelled,
            ReservationStatus::Cancelled
        ]
    );
}

#[test]
fn cancel_one_occurrence_then_whole_series() {
    let (mut f, ids) = booked_weekly(3);
    f.run(ResourceCommand::CancelReservation { reservation_id: ids[0], reason: None }, &user(ALICE, base_now()))
        .unwrap();
    let whole = ResourceCommand::CancelSeries { series_id: SERIES, scope: SeriesCancelScope::Whole };
    let events = f.run(whole.clone(), &user(ALICE, base_now())).unwrap();
    assert_eq!(events.len(), 2);
    assert!(ids.iter().all(|i| f.state.reservations[i].status == ReservationStatus::Cancelled));
    assert_eq!(f.run(whole, &user(ALICE, base_now())).unwrap_err().code(), "invalid_state");
}

#[test]
fn approval_series_holds_units_as_requested() {
    let mut f = Fixture::with_policy(BookingPolicy { requires_approval: true, ..BookingPolicy::default() });
    let events = f
        .run(
            series("FREQ=DAILY;COUNT=2", naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::AllOrNothing),
            &user(ALICE, base_now()),
        )
        .unwrap();
    assert_eq!(types(&events), vec!["reservation_requested", "reservation_requested", "series_booked"]);
}

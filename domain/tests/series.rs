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

// --- UNTIL (RFC 5545 §3.3.10): `Z` bounds real instants, floating and DATE the local clock ---

fn starts(rule: &str, dtstart: NaiveDateTime, tz: Tz) -> Vec<chrono::DateTime<chrono::Utc>> {
    expand_series(rule, dtstart, Duration::hours(1), &[], tz, far()).unwrap().iter().map(|o| o.range.start()).collect()
}

#[test]
fn utc_until_bounds_real_start_instants_west_of_utc() {
    // 21:00 EDT is 01:00Z the next day: the third occurrence (2030-08-20T01:00Z) is after UNTIL.
    let got = starts("FREQ=WEEKLY;UNTIL=20300820T000000Z", naive(2030, 8, 5, 21, 0), New_York);
    assert_eq!(got, vec![utc(2030, 8, 6, 1, 0), utc(2030, 8, 13, 1, 0)]);
}

#[test]
fn utc_until_keeps_the_last_occurrence_east_of_utc() {
    // 09:00 JST is 00:00Z the same day: UNTIL at exactly that instant includes it.
    let got = starts("FREQ=WEEKLY;UNTIL=20300819T000000Z", naive(2030, 8, 5, 9, 0), chrono_tz::Asia::Tokyo);
    assert_eq!(got, vec![utc(2030, 8, 5, 0, 0), utc(2030, 8, 12, 0, 0), utc(2030, 8, 19, 0, 0)]);
    let got = starts("FREQ=WEEKLY;UNTIL=20300818T235959Z", naive(2030, 8, 5, 9, 0), chrono_tz::Asia::Tokyo);
    assert_eq!(got.len(), 2);
}

#[test]
fn utc_until_across_a_dst_change_east_and_west() {
    // Sydney moves to AEDT (+11) on 2030-10-06: 10:00 local is 00:00Z before, 23:00Z (the day
    // before) after.
    let sydney = chrono_tz::Australia::Sydney;
    let got = starts("FREQ=WEEKLY;UNTIL=20301006T230000Z", naive(2030, 9, 23, 10, 0), sydney);
    assert_eq!(got, vec![utc(2030, 9, 23, 0, 0), utc(2030, 9, 30, 0, 0), utc(2030, 10, 6, 23, 0)]);
    // New York falls back on 2030-11-03: 21:00 is 01:00Z before, 02:00Z after.
    let got = starts("FREQ=WEEKLY;UNTIL=20301105T013000Z", naive(2030, 10, 21, 21, 0), New_York);
    assert_eq!(got, vec![utc(2030, 10, 22, 1, 0), utc(2030, 10, 29, 1, 0)]);
    let got = starts("FREQ=WEEKLY;UNTIL=20301105T020000Z", naive(2030, 10, 21, 21, 0), New_York);
    assert_eq!(got.last(), Some(&utc(2030, 11, 5, 2, 0)));
    // Berlin springs forward on 2030-03-31: 09:00 is 08:00Z before, 07:00Z after.
    let got = starts("FREQ=DAILY;UNTIL=20300401T070000Z", naive(2030, 3, 30, 9, 0), Berlin);
    assert_eq!(got, vec![utc(2030, 3, 30, 8, 0), utc(2030, 3, 31, 7, 0), utc(2030, 4, 1, 7, 0)]);
}

#[test]
fn floating_until_is_read_on_the_series_wall_clock() {
    let rule = |until: &str| format!("FREQ=WEEKLY;UNTIL={until}");
    let dtstart = naive(2030, 8, 5, 21, 0);
    assert_eq!(starts(&rule("20300819T210000"), dtstart, New_York).len(), 3, "inclusive");
    assert_eq!(starts(&rule("20300819T205959"), dtstart, New_York).len(), 2);
    let tokyo = chrono_tz::Asia::Tokyo;
    assert_eq!(starts(&rule("20300819T090000"), naive(2030, 8, 5, 9, 0), tokyo).len(), 3);
}

#[test]
fn date_until_includes_that_whole_local_day() {
    let got = starts("FREQ=WEEKLY;UNTIL=20300819", naive(2030, 8, 5, 21, 0), New_York);
    assert_eq!(got.last(), Some(&utc(2030, 8, 20, 1, 0)), "Monday 19 August 21:00 EDT");
    assert_eq!(got.len(), 3);
    let got = starts("FREQ=DAILY;UNTIL=20300807", naive(2030, 8, 5, 23, 30), chrono_tz::Australia::Sydney);
    assert_eq!(got.len(), 3);
}

#[test]
fn until_with_count_or_in_a_bad_form_is_invalid_and_until_before_start_yields_nothing() {
    for rule in
        ["FREQ=DAILY;COUNT=3;UNTIL=20300820T000000Z", "FREQ=DAILY;UNTIL=2030-08-20", "FREQ=DAILY;UNTIL=20300820T0000"]
    {
        let err = expand_series(rule, naive(2030, 8, 5, 9, 0), Duration::hours(1), &[], New_York, far()).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{rule}");
    }
    assert!(starts("FREQ=DAILY;UNTIL=20300805T120000Z", naive(2030, 8, 5, 9, 0), New_York).is_empty());
}

#[test]
fn exdates_and_until_meet_on_the_wall_clock() {
    let occ = expand_series(
        "FREQ=WEEKLY;UNTIL=20300827T010000Z",
        naive(2030, 8, 5, 21, 0),
        Duration::hours(1),
        &[naive(2030, 8, 12, 21, 0)],
        New_York,
        far(),
    )
    .unwrap();
    let days: Vec<_> = occ.iter().map(|o| o.local_start.date().to_string()).collect();
    assert_eq!(days, vec!["2030-08-05", "2030-08-19", "2030-08-26"]);
}

/// A resource in `tz` that takes bookings years ahead.
fn zoned(tz: Tz) -> Fixture {
    Fixture::new(1, BookingPolicy { horizon_days: 3000, ..BookingPolicy::default() }, tz, None)
}

#[test]
fn booking_the_new_york_example_books_two_and_records_how_to_expand_it_again() {
    let mut f = zoned(New_York);
    let cmd = ResourceCommand::BookSeries {
        series_id: SERIES,
        rrule: "RRULE:FREQ=WEEKLY;UNTIL=20300820T000000Z".into(),
        dtstart: naive(2030, 8, 5, 21, 0),
        duration_minutes: 60,
        exdates: vec![],
        policy: SeriesPolicy::AllOrNothing,
    };
    let events = f.run(cmd, &user(ALICE, base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_confirmed", "reservation_confirmed", "series_booked"]);
    let ResourceEvent::SeriesBooked { rrule, dtstart, duration_minutes, exdates, time_zone, occurrences, .. } =
        &events[2]
    else {
        panic!()
    };
    assert_eq!(occurrences.len(), 2);
    assert_eq!(rrule, "RRULE:FREQ=WEEKLY;UNTIL=20300820T000000Z");
    assert_eq!(
        (*dtstart, *duration_minutes, exdates.len(), *time_zone),
        (Some(naive(2030, 8, 5, 21, 0)), Some(60), 0, Some(New_York))
    );
    // What was recorded expands to exactly what was booked.
    let again =
        expand_series(rrule, dtstart.unwrap(), Duration::minutes(60), exdates, time_zone.unwrap(), far()).unwrap();
    let booked: Vec<_> = occurrences.iter().map(|o| o.range).collect();
    assert_eq!(again.iter().map(|o| o.range).collect::<Vec<_>>(), booked);
    // The event survives a JSON round trip, and events recorded before these fields still decode.
    let json = serde_json::to_value(&events[2]).unwrap();
    assert_eq!(serde_json::from_value::<ResourceEvent>(json.clone()).unwrap(), events[2]);
    let mut old = json;
    for key in ["dtstart", "duration_minutes", "exdates", "time_zone"] {
        old.as_object_mut().unwrap().remove(key);
    }
    let ResourceEvent::SeriesBooked { dtstart, exdates, time_zone, .. } = serde_json::from_value(old).unwrap() else {
        panic!()
    };
    assert_eq!((dtstart, exdates.len(), time_zone), (None, 0, None));
}

#[test]
fn series_text_and_wall_clock_inputs_are_checked_at_the_boundary() {
    let mut f = zoned(Tz::UTC);
    let mut cmd = series("FREQ=DAILY;COUNT=2\u{0}", naive(2030, 3, 5, 10, 0), 60, SeriesPolicy::AllOrNothing);
    let err = f.run(cmd.clone(), &user(ALICE, base_now())).unwrap_err();
    assert!(matches!(&err, Rejection::InvalidField { field, .. } if field == "rrule"), "{err:?}");
    // A leap-second wall-clock start is recorded as the following second, never verbatim.
    let leap: NaiveDateTime = "2030-03-05T09:59:60".parse().unwrap();
    if let ResourceCommand::BookSeries { rrule, dtstart, exdates, .. } = &mut cmd {
        *rrule = "FREQ=DAILY;COUNT=2".into();
        *dtstart = leap;
        *exdates = vec!["2030-03-06T09:59:60".parse().unwrap()];
    }
    let events = f.run(cmd, &user(ALICE, base_now())).unwrap();
    let ResourceEvent::SeriesBooked { dtstart, exdates, occurrences, .. } = events.last().unwrap() else { panic!() };
    assert_eq!(*dtstart, Some(naive(2030, 3, 5, 10, 0)));
    assert_eq!(exdates, &vec![naive(2030, 3, 6, 10, 0)]);
    assert_eq!(occurrences.len(), 1, "the excluded day is matched after normalisation");
    assert!(!serde_json::to_string(&events).unwrap().contains(":59:60"));
}

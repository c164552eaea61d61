use super::*;
use chrono::NaiveDate;

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2030, 3, 4).unwrap().and_hms_opt(9, 0, 0).unwrap()
}

fn far() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap()
}

#[test]
fn oversized_bounded_series_is_refused() {
    let err = expand_series("FREQ=HOURLY;COUNT=501", start(), Duration::minutes(30), &[], Tz::UTC, far()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let ok = expand_series("FREQ=HOURLY;COUNT=500", start(), Duration::minutes(30), &[], Tz::UTC, far()).unwrap();
    assert_eq!(ok.len(), MAX_OCCURRENCES);
}

#[test]
fn unbounded_series_is_capped() {
    let occ = expand_series("FREQ=HOURLY", start(), Duration::minutes(30), &[], Tz::UTC, far()).unwrap();
    assert_eq!(occ.len(), MAX_OCCURRENCES);
}

#[test]
fn non_positive_duration_is_invalid() {
    let err = expand_series("FREQ=DAILY;COUNT=1", start(), Duration::zero(), &[], Tz::UTC, far()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

#[test]
fn occurrence_ids_are_stable_and_distinct() {
    let series = Uuid::from_u128(7);
    let a = Utc.with_ymd_and_hms(2030, 3, 4, 9, 0, 0).unwrap();
    let b = Utc.with_ymd_and_hms(2030, 3, 5, 9, 0, 0).unwrap();
    assert_eq!(occurrence_reservation_id(series, a), occurrence_reservation_id(series, a));
    assert_ne!(occurrence_reservation_id(series, a), occurrence_reservation_id(series, b));
}

/// The rule is recorded as given in `series_booked`, whose address index on PostgreSQL reads the
/// event with JSON operators that refuse a document holding NUL: a rule with a control
/// character never parses, so never reaches the log.
#[test]
fn a_rule_with_control_characters_is_invalid() {
    for rule in ["FREQ=DAILY;COUNT=2\0", "FREQ=DAILY\0;COUNT=2", "\0FREQ=DAILY", "FREQ=DAILY;COUNT=2;X-A=\u{1}"] {
        let refused = expand_series(rule, start(), Duration::minutes(30), &[], Tz::UTC, far());
        assert!(refused.is_err(), "{rule:?} was accepted: {refused:?}");
    }
}

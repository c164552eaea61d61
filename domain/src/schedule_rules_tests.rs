use super::*;
use chrono::TimeZone;
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;

fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[test]
fn dst_resolution_table() {
    // (zone, local wall clock, expected UTC, why)
    let cases = [
        (Berlin, naive(2030, 3, 31, 1, 30), utc(2030, 3, 31, 0, 30), "before gap, CET"),
        (Berlin, naive(2030, 3, 31, 2, 0), utc(2030, 3, 31, 1, 0), "gap start -> 03:00 CEST"),
        (Berlin, naive(2030, 3, 31, 2, 30), utc(2030, 3, 31, 1, 30), "gap -> 03:30 CEST"),
        (Berlin, naive(2030, 3, 31, 3, 0), utc(2030, 3, 31, 1, 0), "after gap, CEST"),
        (Berlin, naive(2030, 10, 27, 2, 30), utc(2030, 10, 27, 0, 30), "fold -> first (CEST)"),
        (Berlin, naive(2030, 10, 27, 3, 0), utc(2030, 10, 27, 2, 0), "after fold, CET"),
        (New_York, naive(2030, 3, 10, 2, 30), utc(2030, 3, 10, 7, 30), "gap -> 03:30 EDT"),
        (New_York, naive(2030, 3, 10, 3, 0), utc(2030, 3, 10, 7, 0), "after gap, EDT"),
        (New_York, naive(2030, 11, 3, 1, 30), utc(2030, 11, 3, 5, 30), "fold -> first (EDT)"),
        (New_York, naive(2030, 11, 3, 2, 0), utc(2030, 11, 3, 7, 0), "after fold, EST"),
    ];
    for (tz, local, expected, why) in cases {
        assert_eq!(resolve_local(tz, local), expected, "{tz} {local}: {why}");
    }
}

#[test]
fn gap_local_times_map_to_the_wall_clock_shifted_forward() {
    let resolved = resolve_local(Berlin, naive(2030, 3, 31, 2, 30));
    assert_eq!(resolved.with_timezone(&Berlin).naive_local(), naive(2030, 3, 31, 3, 30));
}

fn tr(a: DateTime<Utc>, b: DateTime<Utc>) -> TimeRange {
    TimeRange::new(a, b).unwrap()
}

fn hours(ranges: &[(u32, u32, u32, u32)]) -> BusinessHours {
    BusinessHours::every_day(
        ranges
            .iter()
            .map(|(h1, m1, h2, m2)| {
                LocalTimeRange::new(
                    NaiveTime::from_hms_opt(*h1, *m1, 0).unwrap(),
                    NaiveTime::from_hms_opt(*h2, *m2, 0).unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn business_hours_follow_local_time_across_dst() {
    let nine_to_five = hours(&[(9, 0, 17, 0)]);
    let cases = [
        // Day before spring-forward: 09:00 CET = 08:00 UTC.
        (Berlin, tr(utc(2030, 3, 30, 8, 0), utc(2030, 3, 30, 9, 0)), true),
        (Berlin, tr(utc(2030, 3, 30, 7, 0), utc(2030, 3, 30, 8, 0)), false),
        // Spring-forward day: 09:00 CEST = 07:00 UTC.
        (Berlin, tr(utc(2030, 3, 31, 7, 0), utc(2030, 3, 31, 8, 0)), true),
        (Berlin, tr(utc(2030, 3, 31, 6, 30), utc(2030, 3, 31, 7, 30)), false),
        (Berlin, tr(utc(2030, 3, 31, 14, 0), utc(2030, 3, 31, 15, 0)), true),
        (Berlin, tr(utc(2030, 3, 31, 14, 30), utc(2030, 3, 31, 15, 30)), false),
        // New York fall-back day: 09:00 EST = 14:00 UTC.
        (New_York, tr(utc(2030, 11, 3, 14, 0), utc(2030, 11, 3, 15, 0)), true),
        (New_York, tr(utc(2030, 11, 3, 13, 0), utc(2030, 11, 3, 14, 0)), false),
        (New_York, tr(utc(2030, 11, 2, 13, 0), utc(2030, 11, 2, 14, 0)), true),
    ];
    for (tz, range, inside) in cases {
        assert_eq!(within_business_hours(Some(&nine_to_five), tz, &range), inside, "{tz} {range:?}");
    }
}

#[test]
fn business_hours_starting_in_a_gap_open_at_the_shifted_time() {
    // 02:30–05:00 Berlin on spring-forward day = [01:30, 03:00) UTC.
    let h = hours(&[(2, 30, 5, 0)]);
    let inside = tr(utc(2030, 3, 31, 1, 30), utc(2030, 3, 31, 3, 0));
    let before = tr(utc(2030, 3, 31, 1, 0), utc(2030, 3, 31, 2, 0));
    assert!(within_business_hours(Some(&h), Berlin, &inside));
    assert!(!within_business_hours(Some(&h), Berlin, &before));
}

#[test]
fn business_hours_in_a_fold_use_the_first_occurrence() {
    // New York 01:00–03:00 on fall-back day: 01:00 EDT (05:00 UTC) to 03:00 EST (08:00 UTC).
    let h = hours(&[(1, 0, 3, 0)]);
    let three_real_hours = tr(utc(2030, 11, 3, 5, 0), utc(2030, 11, 3, 8, 0));
    assert!(within_business_hours(Some(&h), New_York, &three_real_hours));
    let early = tr(utc(2030, 11, 3, 4, 30), utc(2030, 11, 3, 5, 30));
    assert!(!within_business_hours(Some(&h), New_York, &early));
    // Berlin 02:00–02:30 on fall-back day: only the first 02:00–02:30 (CEST) counts.
    let h = hours(&[(2, 0, 2, 30)]);
    let first = tr(utc(2030, 10, 27, 0, 0), utc(2030, 10, 27, 0, 30));
    let second = tr(utc(2030, 10, 27, 1, 0), utc(2030, 10, 27, 1, 30));
    assert!(within_business_hours(Some(&h), Berlin, &first));
    assert!(!within_business_hours(Some(&h), Berlin, &second));
}

#[test]
fn overnight_range_in_local_zone_crosses_dst() {
    // 22:00–06:00 Berlin across the spring-forward night is 7 real hours.
    let h = hours(&[(22, 0, 6, 0)]);
    let night = tr(utc(2030, 3, 30, 21, 0), utc(2030, 3, 31, 4, 0));
    assert!(within_business_hours(Some(&h), Berlin, &night));
    let past_close = tr(utc(2030, 3, 30, 21, 0), utc(2030, 3, 31, 4, 30));
    assert!(!within_business_hours(Some(&h), Berlin, &past_close));
}

#[test]
fn no_ranges_means_always_open_but_an_empty_day_is_closed() {
    let range = tr(utc(2030, 3, 4, 1, 0), utc(2030, 3, 4, 2, 0));
    assert!(within_business_hours(None, Berlin, &range));
    assert!(within_business_hours(Some(&BusinessHours::default()), Berlin, &range));
    let mut weekdays_only = hours(&[(0, 0, 0, 0)]);
    weekdays_only.days[5].clear();
    weekdays_only.days[6].clear();
    // 2030-03-09 is a Saturday; 2030-03-04 a Monday.
    let saturday = tr(utc(2030, 3, 9, 12, 0), utc(2030, 3, 9, 13, 0));
    assert!(!within_business_hours(Some(&weekdays_only), Tz::UTC, &saturday));
    assert!(within_business_hours(Some(&weekdays_only), Tz::UTC, &range));
}

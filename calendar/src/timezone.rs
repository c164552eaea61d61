//! VTIMEZONE components (RFC 5545 §3.6.5) computed from the tz database that chrono-tz
//! embeds: the zone's UTC offset is sampled every few hours across the years a calendar uses,
//! and each change is located to the second by bisection. Every transition becomes one
//! STANDARD or DAYLIGHT observance with an explicit onset, so clients need no rule of their
//! own for the zone (and no RRULE guesswork for zones whose rules changed).

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::ics::{local_stamp, IcsWriter};

/// Sampling step: far shorter than the time between two real transitions of any zone.
const STEP: Duration = Duration::hours(3);
/// Longest span a VTIMEZONE describes; a calendar reaching further still names the zone by
/// its IANA id, which clients resolve themselves.
const MAX_SPAN: Duration = Duration::days(366 * 20);

/// The offset in force at an instant, as far as a VTIMEZONE can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ZoneOffset {
    /// Seconds east of UTC.
    total: i32,
    daylight: bool,
}

fn offset_at(tz: Tz, at: DateTime<Utc>) -> ZoneOffset {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc());
    ZoneOffset { total: offset.fix().local_minus_utc(), daylight: offset.dst_offset() > Duration::zero() }
}

/// The zone's abbreviation at an instant (`CET`, `CEST`, or numeric like `+03`).
fn name_at(tz: Tz, at: DateTime<Utc>) -> Option<String> {
    tz.offset_from_utc_datetime(&at.naive_utc()).abbreviation().map(str::to_string)
}

/// One STANDARD or DAYLIGHT sub-component: from `onset` (local time on the old offset) on,
/// the zone is `offset_to` seconds east of UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub daylight: bool,
    pub onset: chrono::NaiveDateTime,
    pub offset_from: i32,
    pub offset_to: i32,
    pub name: Option<String>,
}

impl Observance {
    fn at(tz: Tz, instant: DateTime<Utc>, before: ZoneOffset, after: ZoneOffset) -> Self {
        Observance {
            daylight: after.daylight,
            onset: instant.naive_utc() + Duration::seconds(i64::from(before.total)),
            offset_from: before.total,
            offset_to: after.total,
            name: name_at(tz, instant),
        }
    }
}

/// An instant from whole seconds since the epoch (transitions fall on whole seconds).
fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// The first second in `(low, high]` whose offset differs from `before` (which holds at `low`).
fn bisect(tz: Tz, mut low: i64, mut high: i64, before: ZoneOffset) -> i64 {
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if offset_at(tz, instant(middle)) == before {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

/// The observances that describe `tz` from `from` to `to`: the one in force at `from` (the
/// last transition before it, or a fixed one for zones without any), then every transition
/// up to `to`.
pub fn observances(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Observance> {
    let end = to.min(from + MAX_SPAN).timestamp();
    let step = STEP.num_seconds();
    let mut cursor = (from - Duration::days(400)).timestamp();
    let mut current = offset_at(tz, instant(cursor));
    let mut in_force: Option<Observance> = None;
    let mut later = Vec::new();
    while cursor < end {
        let next = cursor + step;
        if offset_at(tz, instant(next)) == current {
            cursor = next;
            continue;
        }
        let change = instant(bisect(tz, cursor, next, current));
        let after = offset_at(tz, change);
        let observance = Observance::at(tz, change, current, after);
        if change <= from {
            in_force = Some(observance);
        } else {
            later.push(observance);
        }
        cursor = change.timestamp();
        current = after;
    }
    let first = in_force.unwrap_or_else(|| {
        let fixed = offset_at(tz, from);
        Observance {
            daylight: fixed.daylight,
            onset: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default().and_hms_opt(0, 0, 0).unwrap_or_default(),
            offset_from: fixed.total,
            offset_to: fixed.total,
            name: name_at(tz, from),
        }
    });
    std::iter::once(first).chain(later).collect()
}

/// `+0100`, `-0330`, or `+053328` when seconds are needed (RFC 5545 §3.3.14).
pub fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    let (hours, minutes, secs) = (magnitude / 3600, magnitude / 60 % 60, magnitude % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}

/// Writes the VTIMEZONE of `tz` for events between `from` and `to`.
pub fn write_vtimezone(w: &mut IcsWriter, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) {
    w.begin("VTIMEZONE");
    w.raw("TZID", &[], tz.name());
    for observance in observances(tz, from, to) {
        let kind = if observance.daylight { "DAYLIGHT" } else { "STANDARD" };
        w.begin(kind);
        w.raw("DTSTART", &[], &local_stamp(observance.onset));
        w.raw("TZOFFSETFROM", &[], &utc_offset(observance.offset_from));
        w.raw("TZOFFSETTO", &[], &utc_offset(observance.offset_to));
        if let Some(name) = &observance.name {
            w.text("TZNAME", name);
        }
        w.end(kind);
    }
    w.end("VTIMEZONE");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn local(text: &str) -> NaiveDateTime {
        text.parse().expect("local time")
    }

    #[test]
    fn berlin_2030_has_the_eu_transitions() {
        let list = observances(Tz::Europe__Berlin, utc("2030-03-01T00:00:00Z"), utc("2030-12-31T00:00:00Z"));
        assert_eq!(
            list,
            vec![
                // In force since the last autumn.
                Observance {
                    daylight: false,
                    onset: local("2029-10-28T03:00:00"),
                    offset_from: 7200,
                    offset_to: 3600,
                    name: Some("CET".into()),
                },
                Observance {
                    daylight: true,
                    onset: local("2030-03-31T02:00:00"),
                    offset_from: 3600,
                    offset_to: 7200,
                    name: Some("CEST".into()),
                },
                Observance {
                    daylight: false,
                    onset: local("2030-10-27T03:00:00"),
                    offset_from: 7200,
                    offset_to: 3600,
                    name: Some("CET".into()),
                },
            ]
        );
    }

    #[test]
    fn southern_hemisphere_and_half_hour_zones() {
        let list = observances(Tz::Australia__Adelaide, utc("2030-01-15T00:00:00Z"), utc("2030-12-01T00:00:00Z"));
        let summary: Vec<(bool, i32, i32)> = list.iter().map(|o| (o.daylight, o.offset_from, o.offset_to)).collect();
        assert_eq!(summary, vec![(true, 34_200, 37_800), (false, 37_800, 34_200), (true, 34_200, 37_800)]);
        assert_eq!(list[1].onset, local("2030-04-07T03:00:00"));
        assert_eq!(utc_offset(34_200), "+0930");
    }

    #[test]
    fn zones_without_transitions_get_one_fixed_observance() {
        let list = observances(Tz::UTC, utc("2030-01-01T00:00:00Z"), utc("2032-01-01T00:00:00Z"));
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].offset_from, list[0].offset_to, list[0].daylight), (0, 0, false));
        let tokyo = observances(Tz::Asia__Tokyo, utc("2030-01-01T00:00:00Z"), utc("2030-06-01T00:00:00Z"));
        assert_eq!(tokyo.iter().map(|o| o.offset_to).collect::<Vec<_>>(), vec![32_400]);
    }

    #[test]
    fn offsets_are_formatted_with_sign_and_optional_seconds() {
        assert_eq!(utc_offset(3600), "+0100");
        assert_eq!(utc_offset(-12_600), "-0330");
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(-(3600 + 53 * 60 + 28)), "-015328");
    }

    #[test]
    fn vtimezone_component_is_well_formed() {
        let mut w = IcsWriter::new();
        write_vtimezone(&mut w, Tz::Europe__Berlin, utc("2030-03-15T08:00:00Z"), utc("2030-04-15T08:00:00Z"));
        let text = w.finish();
        assert!(
            text.starts_with("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:20291028T030000\r\n")
        );
        assert!(text.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20300331T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n"
        ));
        assert!(!text.contains("20301027"), "only what the span needs");
        assert!(text.ends_with("END:VTIMEZONE\r\n"));
    }
}

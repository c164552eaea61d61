//! The `UNTIL` rule part (RFC 5545 §3.3.10), read by us rather than by the `rrule` crate:
//! the crate reads a floating `UNTIL` in the server's own zone (the `TZ` of the process), and
//! since the domain expands on the floating wall clock it would compare a `Z` value against
//! local times. Here each form keeps its meaning:
//!
//! * `UNTIL=20300820T000000Z` is an absolute instant: an occurrence is included when its real
//!   start instant (after the DST policy) is at or before it;
//! * `UNTIL=20300820T000000` (floating) is a wall-clock time in the series' zone: an
//!   occurrence is included when its local start is at or before it;
//! * `UNTIL=20300820` (a DATE) includes every occurrence starting on that local day or earlier.
//!
//! The bound is inclusive, as RFC 5545 says ("the last instance of the recurrence").

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::rejection::Rejection;
use crate::time_range::{normalize_instant, normalize_local};

/// How far back from an absolute `UNTIL` offsets are looked at (see [`Until::local_bound`]):
/// the widest offset change in the time-zone database (a day skipped at the date line) plus
/// the widest gap, with room to spare.
const OFFSET_LOOKBACK_HOURS: i64 = 52;

/// The three forms an `UNTIL` value takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `…Z`: an absolute instant.
    Instant(DateTime<Utc>),
    /// Floating: a wall-clock time in the series' zone.
    Local(NaiveDateTime),
    /// A DATE: through the end of that local day.
    Date(NaiveDate),
}

impl Until {
    /// Parses `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Until> {
        let value = value.trim();
        let (body, utc) = match value.strip_suffix(['Z', 'z']) {
            Some(body) => (body, true),
            None => (value, false),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        match body.len() {
            8 if !utc && digits(body) => NaiveDate::parse_from_str(body, "%Y%m%d").ok().map(Until::Date),
            15 if digits(&body[..8]) && body[8..9].eq_ignore_ascii_case("T") && digits(&body[9..]) => {
                let local = NaiveDateTime::parse_from_str(&body.to_ascii_uppercase(), "%Y%m%dT%H%M%S").ok()?;
                Some(if utc {
                    Until::Instant(normalize_instant(local.and_utc()))
                } else {
                    Until::Local(normalize_local(local))
                })
            }
            _ => None,
        }
    }

    /// Whether the occurrence starting at `local_start` (wall clock) = `start` (real instant)
    /// is inside the bound.
    pub fn admits(&self, local_start: NaiveDateTime, start: DateTime<Utc>) -> bool {
        match self {
            Until::Instant(until) => start <= *until,
            Until::Local(until) => local_start <= *until,
            Until::Date(until) => local_start.date() <= *until,
        }
    }

    /// The latest wall-clock start in `tz` that [`Until::admits`] can accept, to stop the
    /// expansion there. For an instant this is the instant read with the largest offset in
    /// force shortly before it: after a fall-back (or a skipped day at the date line) a local
    /// time later than the instant's own local reading can still resolve to an earlier instant.
    pub fn local_bound(&self, tz: Tz) -> NaiveDateTime {
        match self {
            Until::Instant(until) => {
                let largest_offset = (0..=OFFSET_LOOKBACK_HOURS)
                    .filter_map(|h| until.checked_sub_signed(Duration::hours(h)))
                    .map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc())
                    .max()
                    .unwrap_or(0);
                let naive = until.naive_utc();
                naive.checked_add_signed(Duration::seconds(i64::from(largest_offset))).unwrap_or(naive)
            }
            Until::Local(until) => *until,
            Until::Date(until) => {
                until.and_hms_nano_opt(23, 59, 59, 999_999_999).unwrap_or(until.and_time(chrono::NaiveTime::MIN))
            }
        }
    }
}

/// Splits the `UNTIL` part off an RRULE value: the rest for the `rrule` crate, and the bound.
pub(super) fn split_until(rule: &str) -> Result<(String, Option<Until>), Rejection> {
    let mut rest = Vec::new();
    let mut until = None;
    for part in rule.split(';') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        if !key.trim().eq_ignore_ascii_case("UNTIL") {
            rest.push(part);
            continue;
        }
        if until.is_some() {
            return Err(Rejection::invalid_input("invalid RRULE: UNTIL is given twice"));
        }
        until = Some(Until::parse(value).ok_or_else(|| {
            Rejection::invalid_input(
                "invalid RRULE: UNTIL must be a date (YYYYMMDD), a local time (YYYYMMDDTHHMMSS) or a UTC time (YYYYMMDDTHHMMSSZ)",
            )
        })?);
    }
    Ok((rest.join(";"), until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    #[test]
    fn the_three_forms_parse_and_nothing_else_does() {
        let instant = Utc.with_ymd_and_hms(2030, 8, 20, 0, 0, 0).unwrap();
        assert_eq!(Until::parse("20300820T000000Z"), Some(Until::Instant(instant)));
        assert_eq!(Until::parse("20300820T000000"), Some(Until::Local(instant.naive_utc())));
        assert_eq!(Until::parse("20300820"), Some(Until::Date(instant.date_naive())));
        for bad in ["", "2030-08-20", "20300820Z", "20300820T0000Z", "+2030082T000000Z", "20301320", "20300820X000000"]
        {
            assert_eq!(Until::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn split_keeps_the_other_parts() {
        let (rest, until) = split_until("FREQ=WEEKLY;until=20300820;BYDAY=MO").unwrap();
        assert_eq!(rest, "FREQ=WEEKLY;BYDAY=MO");
        assert_eq!(until, Until::parse("20300820"));
        assert!(split_until("FREQ=DAILY;UNTIL=20300820;UNTIL=20300821").is_err());
        assert_eq!(split_until("FREQ=DAILY;UNTIL=tomorrow").unwrap_err().code(), "invalid_input");
    }

    #[test]
    fn the_local_bound_covers_the_fall_back_hour() {
        // 2030-11-03 06:30Z is 01:30 EST; 01:45 EDT (05:45Z) is an earlier instant read later.
        let until = Until::Instant(Utc.with_ymd_and_hms(2030, 11, 3, 6, 30, 0).unwrap());
        let bound = until.local_bound(New_York);
        assert_eq!(bound, "2030-11-03T02:30:00".parse::<NaiveDateTime>().unwrap());
    }
}

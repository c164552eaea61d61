//! Half-open UTC time intervals, the unit every rule in the crate reasons about, and the
//! normalisation of leap seconds that every instant entering the domain goes through.

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A half-open interval `[start, end)` in UTC with `start < end`.
///
/// Half-open so that back-to-back bookings (10–11 and 11–12) never conflict.
/// Fields are private so an inverted or empty range cannot exist, including
/// one arriving through deserialization; both ends are leap-second free
/// (see [`normalize_instant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawTimeRange")]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawTimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<RawTimeRange> for TimeRange {
    type Error = InvalidTimeRange;
    fn try_from(raw: RawTimeRange) -> Result<Self, Self::Error> {
        TimeRange::new(raw.start, raw.end)
    }
}

/// The one way a [`TimeRange`] can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("time range start {start} must be before end {end}")]
pub struct InvalidTimeRange {
    /// Offending start.
    pub start: DateTime<Utc>,
    /// Offending end.
    pub end: DateTime<Utc>,
}

impl TimeRange {
    /// Builds `[start, end)`, refusing empty or inverted ranges. A leap-second end point
    /// (`23:59:60`) is first normalised to the following second ([`normalize_instant`]), so
    /// it is never stored verbatim.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, InvalidTimeRange> {
        let (start, end) = (normalize_instant(start), normalize_instant(end));
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(InvalidTimeRange { start, end })
        }
    }

    /// Builds `[start, start + length)`; `None` if the length is not positive or overflows.
    pub fn starting_at(start: DateTime<Utc>, length: Duration) -> Option<Self> {
        let end = start.checked_add_signed(length)?;
        Self::new(start, end).ok()
    }

    /// Inclusive start.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Exclusive end.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Length of the interval.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// True when the two intervals share at least one instant (touching ends do not).
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// True when `other` lies entirely inside `self`.
    pub fn covers(&self, other: &TimeRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// True when the instant lies in `[start, end)`.
    pub fn contains_instant(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The interval grown by `before` on the left and `after` on the right,
    /// saturating at the representable limits instead of panicking.
    pub fn widened(&self, before: Duration, after: Duration) -> TimeRange {
        TimeRange { start: saturating_sub(self.start, before), end: saturating_add(self.end, after) }
    }
}

/// Nanoseconds at or above which chrono's nanosecond field denotes a leap second.
const LEAP_NANOS: u32 = 1_000_000_000;

/// The instant with any leap second removed: chrono reads `…T23:59:60Z` (RFC 3339 allows a
/// seconds value of 60) as `23:59:59` with a nanosecond field of 1_000_000_000 or more, a
/// value that sorts, subtracts and serialises unlike any real instant. It becomes the start of
/// the following second with the same fraction (`23:59:60.5` → `00:00:00.5` of the next
/// day), as POSIX time counts it. Every other instant is returned unchanged. Call it on every
/// instant parsed from a request before it is compared or stored.
pub fn normalize_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    if nanos < LEAP_NANOS {
        return at;
    }
    let within = at.with_nanosecond(nanos - LEAP_NANOS).unwrap_or(at);
    saturating_add(within, Duration::seconds(1))
}

/// [`normalize_instant`] for a local wall-clock time (`2030-06-30T23:59:60` →
/// `2030-07-01T00:00:00`).
pub fn normalize_local(at: NaiveDateTime) -> NaiveDateTime {
    let nanos = at.nanosecond();
    if nanos < LEAP_NANOS {
        return at;
    }
    let within = at.with_nanosecond(nanos - LEAP_NANOS).unwrap_or(at);
    within.checked_add_signed(Duration::seconds(1)).unwrap_or(within)
}

/// `at + d`, clamped to the largest representable instant; never panics.
pub fn saturating_add(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - d`, clamped to the smallest representable instant; never panics.
pub fn saturating_sub(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Sorts and merges overlapping or touching intervals into a minimal disjoint list.
pub fn merge_ranges(mut ranges: Vec<TimeRange>) -> Vec<TimeRange> {
    ranges.sort();
    let mut merged: Vec<TimeRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => {
                if range.end > last.end {
                    last.end = range.end;
                }
            }
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, h, 0, 0).unwrap()
    }

    #[test]
    fn adjacent_ranges_do_not_overlap() {
        let a = TimeRange::new(at(10), at(11)).unwrap();
        let b = TimeRange::new(at(11), at(12)).unwrap();
        assert!(!a.overlaps(&b));
        assert!(!b.overlaps(&a));
        let c = TimeRange::new(at(10), at(12)).unwrap();
        assert!(a.overlaps(&c) && b.overlaps(&c));
    }

    #[test]
    fn empty_and_inverted_ranges_are_refused() {
        assert!(TimeRange::new(at(10), at(10)).is_err());
        assert!(TimeRange::new(at(11), at(10)).is_err());
    }

    #[test]
    fn deserializing_an_inverted_range_fails() {
        let json = r#"{"start":"2030-01-07T11:00:00Z","end":"2030-01-07T10:00:00Z"}"#;
        assert!(serde_json::from_str::<TimeRange>(json).is_err());
        let ok = r#"{"start":"2030-01-07T10:00:00Z","end":"2030-01-07T11:00:00Z"}"#;
        assert_eq!(serde_json::from_str::<TimeRange>(ok).unwrap(), TimeRange::new(at(10), at(11)).unwrap());
    }

    #[test]
    fn merge_joins_touching_ranges() {
        let merged = merge_ranges(vec![
            TimeRange::new(at(11), at(12)).unwrap(),
            TimeRange::new(at(9), at(10)).unwrap(),
            TimeRange::new(at(10), at(11)).unwrap(),
            TimeRange::new(at(14), at(15)).unwrap(),
        ]);
        assert_eq!(merged, vec![TimeRange::new(at(9), at(12)).unwrap(), TimeRange::new(at(14), at(15)).unwrap()]);
    }

    #[test]
    fn leap_seconds_are_normalised_to_the_following_second() {
        let leap: DateTime<Utc> = "2030-06-30T23:59:60Z".parse().unwrap();
        assert!(leap.nanosecond() >= LEAP_NANOS, "chrono keeps the leap second");
        let next = Utc.with_ymd_and_hms(2030, 7, 1, 0, 0, 0).unwrap();
        assert_eq!(normalize_instant(leap), next);
        let half: DateTime<Utc> = "2030-06-30T23:59:60.5Z".parse().unwrap();
        assert_eq!(normalize_instant(half), next + Duration::milliseconds(500));
        assert_eq!(normalize_instant(next), next);
        let local: NaiveDateTime = "2030-06-30T23:59:60".parse().unwrap();
        assert_eq!(normalize_local(local), next.naive_utc());
    }

    #[test]
    fn a_leap_second_never_reaches_a_range_or_its_json() {
        let json = r#"{"start":"2030-06-30T23:00:00Z","end":"2030-06-30T23:59:60Z"}"#;
        let range: TimeRange = serde_json::from_str(json).unwrap();
        assert_eq!(range.end(), Utc.with_ymd_and_hms(2030, 7, 1, 0, 0, 0).unwrap());
        assert!(range.end().nanosecond() < LEAP_NANOS);
        let out = serde_json::to_string(&range).unwrap();
        assert!(!out.contains(":60"), "{out}");
        // 23:59:60 to 00:00:00 is empty once normalised.
        let leap: DateTime<Utc> = "2030-06-30T23:59:60Z".parse().unwrap();
        assert!(TimeRange::new(leap, Utc.with_ymd_and_hms(2030, 7, 1, 0, 0, 0).unwrap()).is_err());
    }

    #[test]
    fn widening_saturates_instead_of_panicking() {
        let r = TimeRange::new(DateTime::<Utc>::MIN_UTC, at(1)).unwrap();
        let w = r.widened(Duration::hours(1), Duration::hours(1));
        assert_eq!(w.start(), DateTime::<Utc>::MIN_UTC);
        assert_eq!(w.end(), at(2));
    }
}

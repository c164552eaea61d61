//! Wall-clock rules evaluated in a resource's own time zone: the DST policy,
//! weekly business hours (including ranges that cross midnight) and blackouts.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time_range::{merge_ranges, TimeRange};

/// Converts a local wall-clock time in `tz` to UTC following RFC 5545 §3.3.5:
///
/// * a time inside a spring-forward gap is shifted forward by the gap length
///   (02:30 Europe/Berlin on the spring-forward day becomes 03:30 CEST), i.e.
///   it is read with the offset in force just before the gap;
/// * an ambiguous time inside a fall-back fold resolves to its first
///   occurrence (the earlier instant, still on the summer offset).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => resolve_in_gap(tz, local),
    }
}

/// Reads `local` with the UTC offset in force just before the gap it falls in.
fn resolve_in_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Gaps are at most a few hours long, so walking back minute by minute is
    // bounded; a day of steps covers every zone in the tz database.
    let mut probe = local;
    for _ in 0..(24 * 60) {
        probe -= Duration::minutes(1);
        if let Some(before) = tz.from_local_datetime(&probe).earliest() {
            let offset = before.offset().fix();
            let naive_utc = local - Duration::seconds(i64::from(offset.local_minus_utc()));
            return naive_utc.and_utc();
        }
    }
    // Unreachable for real zone data; fall back to reading the time as UTC.
    local.and_utc()
}

/// A daily opening range in local wall-clock time. When `end <= start` the
/// range crosses midnight and ends on the next local day (22:00–02:00);
/// `start == end` therefore means a full 24 hours from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTimeRange {
    /// Local opening time.
    pub start: NaiveTime,
    /// Local closing time (on the next day when not after `start`).
    pub end: NaiveTime,
}

impl LocalTimeRange {
    /// Convenience constructor.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// The concrete local start and end when the range opens on `date`.
    fn on(&self, date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let start = date.and_time(self.start);
        let end_date = if self.end <= self.start { date.succ_opt().unwrap_or(date) } else { date };
        (start, end_date.and_time(self.end))
    }
}

/// Weekly opening hours; `days[0]` is Monday … `days[6]` Sunday. An empty day
/// is closed. A schedule with no ranges at all means "open 24 hours", the
/// same as having no business hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// Opening ranges per weekday, Monday first.
    pub days: [Vec<LocalTimeRange>; 7],
}

impl BusinessHours {
    /// The same ranges on every day of the week.
    pub fn every_day(ranges: Vec<LocalTimeRange>) -> Self {
        Self { days: std::array::from_fn(|_| ranges.clone()) }
    }

    /// True when no range is defined anywhere, which means always open.
    pub fn is_always_open(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    fn ranges_on(&self, date: NaiveDate) -> &[LocalTimeRange] {
        let index = date.weekday().num_days_from_monday() as usize;
        self.days.get(index).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The opening intervals (UTC, merged) of every local day from the day before
/// `window` starts to the day it ends, so ranges crossing midnight from the
/// previous evening are included. `None` means always open.
pub fn business_intervals(hours: &BusinessHours, tz: Tz, window: &TimeRange) -> Option<Vec<TimeRange>> {
    if hours.is_always_open() {
        return None;
    }
    let first_day = window.start().with_timezone(&tz).date_naive().pred_opt()?;
    let last_day = window.end().with_timezone(&tz).date_naive();
    let mut intervals = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        for range in hours.ranges_on(day) {
            let (local_start, local_end) = range.on(day);
            let start = resolve_local(tz, local_start);
            let end = resolve_local(tz, local_end);
            if let Ok(interval) = TimeRange::new(start, end) {
                intervals.push(interval);
            }
        }
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    Some(merge_ranges(intervals))
}

/// A booking is inside business hours iff its whole `[start, end)` lies in the
/// union of the opening intervals of the local days it touches.
pub fn within_business_hours(hours: Option<&BusinessHours>, tz: Tz, range: &TimeRange) -> bool {
    let Some(hours) = hours else { return true };
    match business_intervals(hours, tz, range) {
        None => true,
        Some(intervals) => intervals.iter().any(|open| open.covers(range)),
    }
}

/// A period during which the resource cannot be booked at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blackout {
    /// Identifier used to remove it again.
    pub id: Uuid,
    /// The blocked interval.
    pub range: TimeRange,
    /// Shown to people whose booking it blocks.
    pub reason: String,
}

/// The first blackout that intersects `range`, if any.
pub fn blocking_blackout<'a>(blackouts: &'a [Blackout], range: &TimeRange) -> Option<&'a Blackout> {
    blackouts.iter().find(|b| b.range.overlaps(range))
}

#[cfg(test)]
#[path = "schedule_rules_tests.rs"]
mod tests;

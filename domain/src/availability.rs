//! Slot search for read models and conflict suggestions. Every candidate is
//! judged by `resource::rules::check_slot`, the very function `decide` uses,
//! so a slot offered here is a slot a booking command would accept.
//!
//! Reservations are found through the state's interval index
//! ([`crate::resource::Reservations`]): a search reads the holding reservations near its
//! window and, per candidate, those within the buffers' reach of it, never all of them.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::resource::rules::{check_slot, occupied, reach_of, SEARCH_STEP};
use crate::resource::state::ResourceState;
use crate::schedule_rules::{business_intervals, resolve_local};
use crate::time_range::{merge_ranges, saturating_add, TimeRange};

/// Upper bound on candidates examined per search, keeping it cheap even for
/// very long windows (about 200 days of 15-minute steps).
pub const MAX_CANDIDATES: usize = 20_000;

/// Up to `limit` non-overlapping slots of length `duration` inside `window`,
/// earliest first, each of which passes every booking rule at `now` (the
/// per-user quota too when `for_user` is given).
///
/// Candidate starts: the window start, every 15-minute boundary, the first
/// instant after each existing booking's buffered end, blackout ends,
/// business-hour openings and the earliest start the notice allows.
pub fn free_slots(
    state: &ResourceState,
    window: TimeRange,
    duration: Duration,
    now: DateTime<Utc>,
    limit: usize,
    for_user: Option<Uuid>,
) -> Vec<TimeRange> {
    // Most searches find their slots near the window's start (a conflict's suggestions, the
    // next free slot): search growing prefixes of the window first — two days (or four
    // lengths), then four times longer each time — looking only at the reservations near each.
    // The candidates of a prefix are the first candidates of the whole window, so if a prefix
    // yields `limit` slots they are the very slots the whole search would return; the work
    // done is then proportional to how far the answer lies, not to the window.
    if limit == 0 {
        return Vec::new();
    }
    let mut span = duration.checked_mul(4).unwrap_or(duration).max(PREFIX_SEARCH);
    loop {
        let prefix_end = saturating_add(window.start(), span);
        if prefix_end >= window.end() {
            break;
        }
        if let Ok(prefix) = TimeRange::new(window.start(), prefix_end) {
            let slots = free_slots_in(state, prefix, duration, now, limit, for_user);
            if slots.len() >= limit {
                return slots;
            }
        }
        match span.checked_mul(PREFIX_GROWTH) {
            Some(longer) => span = longer,
            None => break,
        }
    }
    free_slots_in(state, window, duration, now, limit, for_user)
}

/// Length of the first window prefix [`free_slots`] searches.
const PREFIX_SEARCH: Duration = Duration::days(2);
/// How much longer each next prefix is.
const PREFIX_GROWTH: i32 = 4;

fn free_slots_in(
    state: &ResourceState,
    window: TimeRange,
    duration: Duration,
    now: DateTime<Utc>,
    limit: usize,
    for_user: Option<Uuid>,
) -> Vec<TimeRange> {
    let Some(resource) = state.resource.as_ref() else {
        return Vec::new();
    };
    if duration <= Duration::zero() || limit == 0 || window.end().checked_sub_signed(duration).is_none() {
        return Vec::new();
    }
    // A slot `check_slot` accepts lies inside one free interval (open, not blacked out, under
    // capacity with buffers) at least `duration` long: candidates are drawn inside those
    // alone, so a busy stretch costs nothing per candidate. Skipping the others changes no
    // answer (`check_slot` would refuse them all), and on a full resource it skips nearly all.
    let usable: Vec<TimeRange> =
        free_intervals(state, &window).into_iter().filter(|f| f.duration() >= duration).collect();
    if usable.is_empty() {
        return Vec::new();
    }
    let reach = resource.policy.buffer_before() + resource.policy.buffer_after();
    // Only reservations that can meet a slot of the window (buffers included) matter here.
    let near_window = window.widened(reach, reach);
    let mut irregular = vec![window.start(), saturating_add(now, resource.policy.min_notice())];
    // After a booking's buffered end, the next booking's own before-buffer must fit too.
    irregular.extend(state.holding_ranges_meeting(&near_window).map(|r| saturating_add(r.end(), reach)));
    irregular.extend(resource.blackouts.iter().map(|b| b.range.end()));
    if let Some(hours) = resource.business_hours.as_ref() {
        if let Some(open) = business_intervals(hours, resource.time_zone, &window) {
            irregular.extend(open.iter().map(TimeRange::start));
        }
    }
    // Only the irregular candidates that can start a slot inside a usable interval.
    irregular.retain(|c| {
        let i = usable.partition_point(|f| f.end() <= *c);
        usable.get(i).is_some_and(|f| f.start() <= *c && last_start_in(f, duration).is_some_and(|last| *c <= last))
    });
    irregular.sort_unstable();
    // The 15-minute grid from the window's start (at most `MAX_CANDIDATES` points).
    let grid = window.start().duration_trunc(SEARCH_STEP).ok().map(|first| Grid { first, points: MAX_CANDIDATES });

    let mut slots: Vec<TimeRange> = Vec::new();
    for free in &usable {
        let Some(last) = last_start_in(free, duration) else { continue };
        let from = irregular.partition_point(|c| *c < free.start());
        let to = irregular.partition_point(|c| *c <= last);
        let points = grid.iter().flat_map(|g| g.within(free.start(), last));
        for start in merge_sorted(irregular[from..to].iter().copied(), points) {
            if slots.len() >= limit {
                return slots;
            }
            if slots.last().is_some_and(|prev| start < prev.end()) {
                continue;
            }
            let Some(slot) = TimeRange::starting_at(start, duration) else {
                continue;
            };
            if check_slot(state, &slot, now, for_user).is_ok() {
                slots.push(slot);
            }
        }
    }
    slots
}

/// The last start of a slot of `duration` inside `free`.
fn last_start_in(free: &TimeRange, duration: Duration) -> Option<DateTime<Utc>> {
    free.end().checked_sub_signed(duration).filter(|last| *last >= free.start())
}

/// The candidate grid: `first + k × SEARCH_STEP` for `k < points`.
struct Grid {
    first: DateTime<Utc>,
    points: usize,
}

impl Grid {
    /// The grid's points in `[from, to]`, ascending.
    fn within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        let step = SEARCH_STEP.num_nanoseconds().unwrap_or(1).max(1);
        let offset = |at: DateTime<Utc>| (at - self.first).num_nanoseconds();
        // First k with first + k·step >= from; last k with first + k·step <= to.
        let low = offset(from).map(|ns| if ns <= 0 { 0 } else { (ns + step - 1) / step });
        let high = offset(to).filter(|ns| *ns >= 0).map(|ns| (ns / step).min(self.points as i64 - 1));
        let first = self.first;
        let ks = match (low, high) {
            (Some(low), Some(high)) if low <= high => low..high + 1,
            _ => 0..0,
        };
        ks.map_while(move |k| i32::try_from(k).ok().and_then(|k| SEARCH_STEP.checked_mul(k)))
            .map_while(move |d| first.checked_add_signed(d))
    }
}

/// Two ascending sequences as one, without repeats.
fn merge_sorted<T: Ord + Copy>(a: impl Iterator<Item = T>, b: impl Iterator<Item = T>) -> impl Iterator<Item = T> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut last: Option<T> = None;
    std::iter::from_fn(move || loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) | (None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => return None,
        }?;
        if last != Some(next) {
            last = Some(next);
            return Some(next);
        }
    })
}

/// The earliest bookable slot of length `duration` starting at or after
/// `from`, searched up to the booking horizon.
pub fn next_available(
    state: &ResourceState,
    from: DateTime<Utc>,
    duration: Duration,
    now: DateTime<Utc>,
    for_user: Option<Uuid>,
) -> Option<TimeRange> {
    let window = search_window(state, from, duration, now)?;
    free_slots(state, window, duration, now, 1, for_user).into_iter().next()
}

/// How many alternative slots a conflict rejection suggests.
pub const SUGGESTED_SLOTS: usize = 3;

/// The slots a `conflict` rejection of a booking of `wanted` suggests instead: the first
/// [`SUGGESTED_SLOTS`] free slots of the same length from its start on, up to the horizon.
pub fn conflict_suggestions(
    state: &ResourceState,
    wanted: &TimeRange,
    now: DateTime<Utc>,
    for_user: Option<Uuid>,
) -> Vec<TimeRange> {
    search_window(state, wanted.start(), wanted.duration(), now)
        .map(|window| free_slots(state, window, wanted.duration(), now, SUGGESTED_SLOTS, for_user))
        .unwrap_or_default()
}

/// `[local midnight of date, local midnight of the next day)` in UTC: 24 hours, or 23 and
/// 25 on the days the zone's clocks change. `None` only at the ends of the calendar.
pub fn local_day(tz: Tz, date: NaiveDate) -> Option<TimeRange> {
    let start = resolve_local(tz, date.and_hms_opt(0, 0, 0)?);
    let end = resolve_local(tz, date.succ_opt()?.and_hms_opt(0, 0, 0)?);
    TimeRange::new(start, end).ok()
}

/// The resource's opening intervals (business hours; all of `window` without them) clipped
/// to `window`, merged and in order. Empty before the resource exists.
pub fn open_intervals(state: &ResourceState, window: &TimeRange) -> Vec<TimeRange> {
    let Some(resource) = state.resource.as_ref() else { return Vec::new() };
    let open = resource.business_hours.as_ref().and_then(|h| business_intervals(h, resource.time_zone, window));
    match open {
        None => vec![*window],
        Some(intervals) => intervals
            .iter()
            .filter_map(|i| TimeRange::new(i.start().max(window.start()), i.end().min(window.end())).ok())
            .collect(),
    }
}

/// The parts of `window` that are open (business hours), not blacked out, and where fewer
/// than `capacity` units are held (buffered spans counted), merged and in order. Every slot
/// `check_slot` accepts inside `window` lies within one of them; whether a slot there is
/// bookable also depends on its length, its own buffers, notice, horizon and quota.
pub fn free_intervals(state: &ResourceState, window: &TimeRange) -> Vec<TimeRange> {
    let Some(resource) = state.resource.as_ref() else { return Vec::new() };
    let open = open_intervals(state, window);
    let spans: Vec<TimeRange> =
        state.holding_ranges_meeting(&reach_of(resource, window)).map(|r| occupied(resource, &r)).collect();
    let mut taken = full_intervals(&spans, resource.capacity as usize);
    taken.extend(resource.blackouts.iter().filter(|b| b.range.overlaps(window)).map(|b| b.range));
    subtract(&open, &merge_ranges(taken))
}

/// Where at least `capacity` (at least one) of `spans` overlap, merged.
fn full_intervals(spans: &[TimeRange], capacity: usize) -> Vec<TimeRange> {
    let capacity = capacity.max(1);
    let mut points: Vec<(DateTime<Utc>, bool)> =
        spans.iter().flat_map(|s| [(s.start(), true), (s.end(), false)]).collect();
    // Ends before starts at one instant: half-open spans that touch do not stack.
    points.sort_unstable();
    let (mut depth, mut since) = (0usize, None);
    let mut full = Vec::new();
    for (at, is_start) in points {
        if is_start {
            depth += 1;
            if depth == capacity {
                since = Some(at);
            }
        } else {
            if depth == capacity {
                if let Some(start) = since.take() {
                    full.extend(TimeRange::new(start, at).ok());
                }
            }
            depth = depth.saturating_sub(1);
        }
    }
    merge_ranges(full)
}

/// `from` minus `remove`; both sorted and disjoint.
fn subtract(from: &[TimeRange], remove: &[TimeRange]) -> Vec<TimeRange> {
    let mut out = Vec::new();
    for piece in from {
        let mut start = piece.start();
        let first = remove.partition_point(|c| c.end() <= piece.start());
        for cut in remove[first..].iter().take_while(|c| c.start() < piece.end()) {
            if cut.start() > start {
                out.extend(TimeRange::new(start, cut.start()).ok());
            }
            start = start.max(cut.end());
        }
        if start < piece.end() {
            out.extend(TimeRange::new(start, piece.end()).ok());
        }
    }
    out
}

/// Minutes of `window` covered by the resource's opening hours.
pub fn open_minutes(state: &ResourceState, window: &TimeRange) -> i64 {
    open_intervals(state, window).iter().map(|i| i.duration().num_minutes()).sum()
}

/// `[from, now + horizon + duration)`: every start the horizon still allows.
pub(crate) fn search_window(
    state: &ResourceState,
    from: DateTime<Utc>,
    duration: Duration,
    now: DateTime<Utc>,
) -> Option<TimeRange> {
    let resource = state.resource.as_ref()?;
    let end = saturating_add(saturating_add(now, resource.policy.horizon()), duration);
    TimeRange::new(from, end).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn r(a: u32, b: u32) -> TimeRange {
        let at = |h| Utc.with_ymd_and_hms(2030, 1, 1, h, 0, 0).unwrap();
        TimeRange::new(at(a), at(b)).unwrap()
    }

    #[test]
    fn full_where_spans_reach_capacity() {
        let spans = [r(8, 10), r(9, 11), r(10, 12)];
        assert_eq!(full_intervals(&spans, 2), vec![r(9, 11)]);
        assert_eq!(full_intervals(&spans, 1), vec![r(8, 12)]);
        assert!(full_intervals(&spans, 3).is_empty());
    }

    #[test]
    fn subtract_cuts_pieces() {
        assert_eq!(subtract(&[r(8, 18)], &[r(9, 10), r(12, 13)]), vec![r(8, 9), r(10, 12), r(13, 18)]);
        assert_eq!(subtract(&[r(8, 10), r(11, 12)], &[r(7, 11)]), vec![r(11, 12)]);
        assert_eq!(subtract(&[r(8, 10), r(11, 12)], &[r(1, 2), r(10, 11)]), vec![r(8, 10), r(11, 12)]);
    }
}

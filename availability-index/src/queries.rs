//! Questions the index answers, all from memory. Slot answers are the domain's
//! `availability::free_slots` (and `next_available`, `conflict_suggestions`) on the indexed
//! state; the schedule grid reads the same state with the domain's opening-hours and
//! capacity functions.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use reserver_domain::availability::{self, free_intervals, local_day, open_intervals, open_minutes};
use reserver_domain::resource::{ReservationStatus, ResourceKind, ResourceStatus};
use reserver_domain::{ResourceState, TimeRange};
use serde::Serialize;
use uuid::Uuid;

use crate::error::IndexError;
use crate::memory::{Entry, MemoryIndex};

/// Most slots one question returns.
pub const MAX_SLOTS: usize = 1000;
/// Most local days one schedule covers (a month view).
pub const MAX_SCHEDULE_DAYS: u32 = 31;
/// Most resources one search returns.
pub const MAX_SEARCH_RESOURCES: usize = 1000;

/// One local day of a resource's calendar (the same shape as the read model's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySummary {
    /// The day in the resource's time zone.
    pub date: NaiveDate,
    /// Minutes the resource is open that day (business hours; the whole day without them).
    pub open_minutes: i64,
    /// How many non-overlapping slots of the asked length can still be booked.
    pub free_slots: usize,
    /// The first of them.
    pub first_free: Option<TimeRange>,
}

/// A resource's schedule grid: local days in its time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// The resource.
    pub resource_id: Uuid,
    /// Its IANA zone; every day below is a local day there.
    pub time_zone: Tz,
    /// Units that can be booked at once.
    pub capacity: u32,
    /// One entry per local day, in order.
    pub days: Vec<ScheduleDay>,
}

/// One local day of a schedule grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleDay {
    /// The local date.
    pub date: NaiveDate,
    /// `[local midnight, next local midnight)` in UTC.
    pub range: TimeRange,
    /// Length of the day: 1440 minutes, or 1380 / 1500 on the days the clocks change.
    pub minutes: i64,
    /// Opening intervals within the day (the whole day without business hours).
    pub open: Vec<TimeRange>,
    /// Blackouts meeting the day (their full ranges).
    pub blackouts: Vec<ScheduleBlackout>,
    /// Reservations holding a unit that meet the day (their full ranges), by start.
    pub reservations: Vec<ScheduleReservation>,
    /// Parts of the day that are open, not blacked out, and where fewer than `capacity`
    /// units are held (buffers counted). Whether a booking fits there also depends on its
    /// length, its own buffers, notice and horizon: free slots answer that.
    pub free: Vec<TimeRange>,
}

/// A blackout in a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleBlackout {
    /// Its id.
    pub id: Uuid,
    /// The blocked interval.
    pub range: TimeRange,
    /// Why.
    pub reason: String,
}

/// A reservation in a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleReservation {
    /// Its id.
    pub reservation_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The booked time, without buffers.
    pub range: TimeRange,
    /// `confirmed`, `pending_approval` or `offered`.
    pub status: ReservationStatus,
}

/// A cross-resource free-slot search. Every given filter must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Every one of these tags (case-insensitive).
    pub tags: Vec<String>,
    /// Only resources of this group …
    pub group_id: Option<Uuid>,
    /// … or of its descendant groups too.
    pub include_subgroups: bool,
    /// At least this many units.
    pub min_capacity: Option<u32>,
    /// Only this kind.
    pub kind: Option<ResourceKind>,
    /// Where the slots must lie.
    pub window: TimeRange,
    /// Slot length.
    pub duration: Duration,
    /// Most slots per resource (capped at [`MAX_SLOTS`]).
    pub slots_per_resource: usize,
    /// Most resources returned (capped at [`MAX_SEARCH_RESOURCES`]).
    pub max_resources: usize,
}

/// A resource with free slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// The resource.
    pub resource_id: Uuid,
    /// Its display name.
    pub name: String,
    /// Its units.
    pub capacity: u32,
    /// Its zone.
    pub time_zone: Tz,
    /// Free slots, earliest first.
    pub slots: Vec<TimeRange>,
}

impl MemoryIndex {
    /// Bookable slots of `duration` inside `window` at `now`, earliest first (at most `limit`,
    /// capped at [`MAX_SLOTS`]); `for_user` also applies that user's quota.
    pub fn free_slots(
        &self,
        resource: Uuid,
        window: TimeRange,
        duration: Duration,
        now: DateTime<Utc>,
        limit: usize,
        for_user: Option<Uuid>,
    ) -> Result<Vec<TimeRange>, IndexError> {
        self.with_state(resource, |s| {
            availability::free_slots(s, window, duration, now, limit.min(MAX_SLOTS), for_user)
        })
    }

    /// The earliest bookable slot of `duration` at or after `from`, up to the horizon.
    pub fn next_available(
        &self,
        resource: Uuid,
        from: DateTime<Utc>,
        duration: Duration,
        now: DateTime<Utc>,
        for_user: Option<Uuid>,
    ) -> Result<Option<TimeRange>, IndexError> {
        self.with_state(resource, |s| availability::next_available(s, from, duration, now, for_user))
    }

    /// What a `conflict` rejection of `wanted` suggests instead (the domain's own choice).
    pub fn conflict_suggestions(
        &self,
        resource: Uuid,
        wanted: &TimeRange,
        now: DateTime<Utc>,
        for_user: Option<Uuid>,
    ) -> Result<Vec<TimeRange>, IndexError> {
        self.with_state(resource, |s| availability::conflict_suggestions(s, wanted, now, for_user))
    }

    /// Per local day from `from` (at most 366 days): open minutes, how many slots of
    /// `duration` can be booked at `now`, and the first of them.
    pub fn day_summary(
        &self,
        resource: Uuid,
        from: NaiveDate,
        days: u32,
        duration: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<DaySummary>, IndexError> {
        self.with_state(resource, |s| day_summary(s, from, days, duration, now))
    }

    /// The schedule grid of `days` local days from `from` (at most [`MAX_SCHEDULE_DAYS`]).
    pub fn schedule(&self, resource: Uuid, from: NaiveDate, days: u32) -> Result<Schedule, IndexError> {
        self.with_state(resource, |s| schedule(s, from, days))?.ok_or(IndexError::UnknownResource(resource))
    }

    /// Resources matching `query` that have free slots in its window, each with its first
    /// slots; ordered by their first slot, then name. Retired and in-maintenance resources
    /// never match; evicted ones are left out.
    pub fn search(&self, query: &SearchQuery, now: DateTime<Utc>, for_user: Option<Uuid>) -> Vec<SearchHit> {
        let groups = query.group_id.map(|g| {
            if query.include_subgroups {
                self.group_and_descendants(g)
            } else {
                std::collections::HashSet::from([g])
            }
        });
        let tags: Vec<String> = query.tags.iter().map(|t| t.to_lowercase()).collect();
        let limit = query.slots_per_resource.clamp(1, MAX_SLOTS);
        let mut hits = Vec::new();
        for (id, entry) in self.entries() {
            let guard = entry.read().unwrap_or_else(|p| p.into_inner());
            let Entry::Indexed(state) = &*guard else { continue };
            let Some(resource) = state.resource.as_ref() else { continue };
            let matches = !resource.retired
                && resource.status == ResourceStatus::Available
                && query.min_capacity.is_none_or(|c| resource.capacity >= c)
                && query.kind.is_none_or(|k| resource.details.kind == k)
                && groups.as_ref().is_none_or(|g| resource.details.group_id.is_some_and(|id| g.contains(&id)))
                && tags.iter().all(|t| resource.details.tags.iter().any(|have| have.to_lowercase() == *t));
            if !matches {
                continue;
            }
            let slots = availability::free_slots(state, query.window, query.duration, now, limit, for_user);
            if !slots.is_empty() {
                let name = resource.details.name.clone();
                hits.push(SearchHit {
                    resource_id: id,
                    name,
                    capacity: resource.capacity,
                    time_zone: resource.time_zone,
                    slots,
                });
            }
        }
        hits.sort_by(|a, b| {
            let first = |h: &SearchHit| h.slots.first().map(TimeRange::start);
            (first(a), a.name.to_lowercase(), a.resource_id).cmp(&(first(b), b.name.to_lowercase(), b.resource_id))
        });
        hits.truncate(query.max_resources.clamp(1, MAX_SEARCH_RESOURCES));
        hits
    }
}

fn day_summary(
    state: &ResourceState,
    from: NaiveDate,
    days: u32,
    duration: Duration,
    now: DateTime<Utc>,
) -> Vec<DaySummary> {
    let Some(tz) = state.resource.as_ref().map(|r| r.time_zone) else { return Vec::new() };
    let mut out = Vec::new();
    let mut date = from;
    for _ in 0..days.min(366) {
        let Some(day) = local_day(tz, date) else { break };
        let slots = availability::free_slots(state, day, duration, now, MAX_SLOTS, None);
        out.push(DaySummary {
            date,
            open_minutes: open_minutes(state, &day),
            free_slots: slots.len(),
            first_free: slots.first().copied(),
        });
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out
}

fn schedule(state: &ResourceState, from: NaiveDate, days: u32) -> Option<Schedule> {
    let resource = state.resource.as_ref()?;
    let mut out = Vec::new();
    let mut date = from;
    for _ in 0..days.min(MAX_SCHEDULE_DAYS) {
        let Some(day) = local_day(resource.time_zone, date) else { break };
        out.push(schedule_day(state, date, day));
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    Some(Schedule { resource_id: resource.id, time_zone: resource.time_zone, capacity: resource.capacity, days: out })
}

fn schedule_day(state: &ResourceState, date: NaiveDate, day: TimeRange) -> ScheduleDay {
    let Some(resource) = state.resource.as_ref() else {
        return ScheduleDay {
            date,
            range: day,
            minutes: day.duration().num_minutes(),
            open: Vec::new(),
            blackouts: Vec::new(),
            reservations: Vec::new(),
            free: Vec::new(),
        };
    };
    let open = open_intervals(state, &day);
    let blackouts: Vec<ScheduleBlackout> = resource
        .blackouts
        .iter()
        .filter(|b| b.range.overlaps(&day))
        .map(|b| ScheduleBlackout { id: b.id, range: b.range, reason: b.reason.clone() })
        .collect();
    let free = free_intervals(state, &day);
    let mut reservations: Vec<ScheduleReservation> = state
        .holding_meeting(&day)
        .map(|r| ScheduleReservation { reservation_id: r.id, user_id: r.user_id, range: r.range, status: r.status })
        .collect();
    reservations.sort_by_key(|r| (r.range.start(), r.reservation_id));
    ScheduleDay { date, range: day, minutes: day.duration().num_minutes(), open, blackouts, reservations, free }
}

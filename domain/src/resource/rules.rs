//! The booking rules, as plain functions over state. `decide`, series
//! expansion, waitlist matching and `availability` all call `check_slot`,
//! so every path applies exactly the same rules.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::rejection::{ConflictingInterval, Rejection};
use crate::resource::state::{Reservation, Resource, ResourceState, ResourceStatus};
use crate::schedule_rules::{blocking_blackout, within_business_hours};
use crate::time_range::{saturating_add, TimeRange};

/// The created, not-retired resource, or why there is none.
pub fn live_resource(state: &ResourceState) -> Result<&Resource, Rejection> {
    let resource = state.resource.as_ref().ok_or_else(|| Rejection::not_found("resource"))?;
    if resource.retired {
        return Err(Rejection::ResourceRetired);
    }
    Ok(resource)
}

/// Checks every booking rule for one unit over `range` at time `now`.
/// `for_user` enables the per-user quota. A `Conflict` comes back with an
/// empty `next_free`; callers that report to people fill it in.
///
/// Cost: `O(log n + k)` in the resource's `n` live reservations, `k` of them near `range`:
/// the capacity rule reads only the holding reservations the interval index finds within
/// the buffers' reach of `range`, and the quota counts only the user's own.
pub fn check_slot(
    state: &ResourceState,
    range: &TimeRange,
    now: DateTime<Utc>,
    for_user: Option<Uuid>,
) -> Result<(), Rejection> {
    let resource = live_resource(state)?;
    if resource.status == ResourceStatus::Maintenance {
        return Err(Rejection::ResourceInMaintenance);
    }
    check_timing(resource, range, now)?;
    if !within_business_hours(resource.business_hours.as_ref(), resource.time_zone, range) {
        return Err(Rejection::OutsideBusinessHours);
    }
    if let Some(blackout) = blocking_blackout(&resource.blackouts, range) {
        return Err(Rejection::Blackout { blackout_id: blackout.id, reason: blackout.reason.clone() });
    }
    if let (Some(user), Some(limit)) = (for_user, resource.policy.max_active_per_user) {
        if active_count(state, user, now) >= limit as usize {
            return Err(Rejection::QuotaExceeded { limit });
        }
    }
    let conflicts = capacity_conflicts(resource, state.holding_meeting(&reach_of(resource, range)), range);
    if !conflicts.is_empty() {
        return Err(Rejection::Conflict { conflicts, next_free: Vec::new() });
    }
    Ok(())
}

/// `range` widened by both buffers on each side: a holding reservation can count against a
/// booking of `range` only if its own range meets this (its buffered span meets the
/// booking's buffered span).
pub fn reach_of(resource: &Resource, range: &TimeRange) -> TimeRange {
    let reach = resource.policy.buffer_before() + resource.policy.buffer_after();
    range.widened(reach, reach)
}

/// Duration, notice and horizon rules.
fn check_timing(resource: &Resource, range: &TimeRange, now: DateTime<Utc>) -> Result<(), Rejection> {
    let policy = &resource.policy;
    let requested = range.duration();
    if requested < policy.min_duration() {
        return Err(Rejection::TooShort {
            min_minutes: policy.min_duration().num_minutes(),
            requested_minutes: requested.num_minutes(),
        });
    }
    if requested > policy.max_duration() {
        return Err(Rejection::TooLong {
            max_minutes: policy.max_duration().num_minutes(),
            requested_minutes: requested.num_minutes(),
        });
    }
    let earliest_start = saturating_add(now, policy.min_notice());
    if range.start() < earliest_start {
        return Err(Rejection::NoticeTooShort { earliest_start });
    }
    let latest_start = saturating_add(now, policy.horizon());
    if range.start() >= latest_start {
        return Err(Rejection::BeyondHorizon { latest_start });
    }
    Ok(())
}

/// Reservations of `user` that hold a unit and have not ended by `now`.
pub fn active_count(state: &ResourceState, user: Uuid, now: DateTime<Utc>) -> usize {
    state.reservations.active_for_user(user, now)
}

/// The span a reservation blocks for conflict purposes (buffers included).
pub fn occupied(resource: &Resource, range: &TimeRange) -> TimeRange {
    range.widened(resource.policy.buffer_before(), resource.policy.buffer_after())
}

/// If adding one more unit over `range` would exceed capacity anywhere,
/// the holding reservations whose buffered spans meet the buffered `range`;
/// otherwise empty. Capacity-aware via a sweep over the overlapping spans.
/// `holding` may hold more than those (they are filtered out), never fewer: pass
/// [`ResourceState::holding_meeting`] of [`reach_of`] the range, or every holding one.
pub fn capacity_conflicts<'a>(
    resource: &Resource,
    holding: impl Iterator<Item = &'a Reservation>,
    range: &TimeRange,
) -> Vec<ConflictingInterval> {
    let (before, after) = (resource.policy.buffer_before(), resource.policy.buffer_after());
    let wanted = range.widened(before, after);
    // A reservation's buffered span meets `wanted` exactly when its own range meets `wanted`
    // widened crosswise (by the after-buffer in front, the before-buffer behind): one widening
    // here instead of one per reservation on the booking hot path.
    let probe = wanted.widened(after, before);
    let overlapping: Vec<&Reservation> = holding.filter(|r| r.range.overlaps(&probe)).collect();
    let spans = overlapping.iter().map(|r| occupied(resource, &r.range));
    let peak = peak_concurrency(spans.map(|s| clip(&s, &wanted)));
    if peak < resource.capacity as usize {
        return Vec::new();
    }
    overlapping.into_iter().map(|r| ConflictingInterval { reservation_id: r.id, range: r.range }).collect()
}

fn clip(span: &TimeRange, to: &TimeRange) -> (DateTime<Utc>, DateTime<Utc>) {
    (span.start().max(to.start()), span.end().min(to.end()))
}

/// Largest number of half-open spans covering one instant.
pub fn peak_concurrency(spans: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>) -> usize {
    // Ends sort before starts at equal instants (false < true), which is
    // exactly half-open semantics: 10–11 and 11–12 never stack.
    let mut points: Vec<(DateTime<Utc>, bool)> = Vec::new();
    for (start, end) in spans {
        if start < end {
            points.push((start, true));
            points.push((end, false));
        }
    }
    points.sort();
    let (mut current, mut peak) = (0usize, 0usize);
    for (_, is_start) in points {
        if is_start {
            current += 1;
            peak = peak.max(current);
        } else {
            current = current.saturating_sub(1);
        }
    }
    peak
}

/// Peak units in use across all holding reservations, buffers included;
/// used to refuse capacity or buffer changes that would break the invariant.
pub fn peak_units(resource: &Resource, state: &ResourceState) -> usize {
    peak_concurrency(state.holding().map(|r| {
        let span = occupied(resource, &r.range);
        (span.start(), span.end())
    }))
}

/// Candidate start instants aligned to this step, used for slot searches.
pub const SEARCH_STEP: Duration = Duration::minutes(15);

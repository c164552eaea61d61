//! Booking-side commands: single bookings, series, cancellation and the
//! waitlist. Authorization facts come from the decision context.

use chrono::{Duration, NaiveDateTime};
use uuid::Uuid;

use crate::availability::{free_slots, search_window};
use crate::context::DecisionContext;
use crate::policy::MAX_POLICY_MINUTES;
use crate::recurrence::{expand_series, occurrence_reservation_id, OccurrenceOutcome, OccurrenceReport, SeriesPolicy};
use crate::rejection::Rejection;
use crate::resource::command::{ResourceCommand, SeriesCancelScope};
use crate::resource::decide::Emitted;
use crate::resource::event::ResourceEvent;
use crate::resource::rules::{check_slot, live_resource};
use crate::resource::state::{ReservationStatus, Resource, ResourceState};
use crate::resource::waitlist::offer_freed_units;
use crate::text::TextRule;
use crate::time_range::{normalize_local, saturating_add, TimeRange};

/// How many alternative slots a conflict rejection suggests.
pub const SUGGESTED_SLOTS: usize = 3;

/// `rrule` of a series: one line (an RFC 5545 RRULE value, optionally prefixed `RRULE:`).
pub const RRULE: TextRule = TextRule::name("rrule", 1000);

/// Longest accepted waitlist flexibility (one day either way).
pub const MAX_FLEX_MINUTES: u32 = 24 * 60;

pub(crate) fn require_may_book(ctx: &DecisionContext) -> Result<(), Rejection> {
    if ctx.actor.role.may_book() {
        Ok(())
    } else {
        Err(Rejection::forbidden("this role may not book"))
    }
}

/// Owners act on their own reservations; admins on anyone's.
pub(crate) fn require_owner_or_admin(ctx: &DecisionContext, owner: Uuid) -> Result<(), Rejection> {
    if ctx.actor.user_id == owner || ctx.actor.role == crate::context::Role::Admin {
        Ok(())
    } else {
        Err(Rejection::forbidden("only the owner or an admin may do this"))
    }
}

/// The event recording a new booking: confirmed, or requested when the
/// policy wants approval.
fn booking_event(
    resource: &Resource,
    reservation_id: Uuid,
    user_id: Uuid,
    range: TimeRange,
    series_id: Option<Uuid>,
    ctx: &DecisionContext,
) -> ResourceEvent {
    if resource.policy.requires_approval {
        ResourceEvent::ReservationRequested {
            reservation_id,
            user_id,
            range,
            series_id,
            approval_deadline: saturating_add(ctx.now, resource.policy.approval_timeout()),
            at: ctx.now,
        }
    } else {
        ResourceEvent::ReservationConfirmed { reservation_id, user_id, range, series_id, at: ctx.now }
    }
}

/// `check_slot`, with conflicts enriched by the next free slots.
fn check_with_suggestions(state: &ResourceState, range: &TimeRange, ctx: &DecisionContext) -> Result<(), Rejection> {
    let user = Some(ctx.actor.user_id);
    match check_slot(state, range, ctx.now, user) {
        Err(Rejection::Conflict { conflicts, .. }) => {
            let next_free = search_window(state, range.start(), range.duration(), ctx.now)
                .map(|window| free_slots(state, window, range.duration(), ctx.now, SUGGESTED_SLOTS, user))
                .unwrap_or_default();
            Err(Rejection::Conflict { conflicts, next_free })
        }
        other => other,
    }
}

pub(crate) fn book(
    state: &ResourceState,
    reservation_id: Uuid,
    range: &TimeRange,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    require_may_book(ctx)?;
    let resource = live_resource(state)?;
    if state.reservations.contains_key(&reservation_id) {
        return Err(Rejection::invalid_state("reservation id already used"));
    }
    check_with_suggestions(state, range, ctx)?;
    let event = booking_event(resource, reservation_id, ctx.actor.user_id, *range, None, ctx);
    Ok(vec![event])
}

pub(crate) fn book_series(
    state: &ResourceState,
    command: &ResourceCommand,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let ResourceCommand::BookSeries { series_id, rrule, dtstart, duration_minutes, exdates, policy } = command else {
        return Err(Rejection::invalid_input("not a series command"));
    };
    require_may_book(ctx)?;
    let resource = live_resource(state)?;
    if *duration_minutes == 0 || *duration_minutes > MAX_POLICY_MINUTES {
        return Err(Rejection::invalid_input("duration_minutes out of range"));
    }
    let rrule = RRULE.check(rrule)?;
    let dtstart = normalize_local(*dtstart);
    let exdates: Vec<NaiveDateTime> = exdates.iter().copied().map(normalize_local).collect();
    let duration = Duration::minutes(i64::from(*duration_minutes));
    let horizon_end = saturating_add(ctx.now, resource.policy.horizon());
    let occurrences = expand_series(&rrule, dtstart, duration, &exdates, resource.time_zone, horizon_end)?;
    if occurrences.is_empty() {
        return Err(Rejection::invalid_input("the rule yields no occurrences"));
    }
    let user = ctx.actor.user_id;
    let mut emitted = Emitted::new(state);
    let mut reports = Vec::with_capacity(occurrences.len());
    for occurrence in occurrences {
        let id = occurrence_reservation_id(*series_id, occurrence.range.start());
        let outcome = if emitted.scratch.reservations.contains_key(&id) {
            OccurrenceOutcome::from_rejection(Rejection::invalid_state("occurrence already booked"))
        } else {
            match check_slot(&emitted.scratch, &occurrence.range, ctx.now, Some(user)) {
                Ok(()) => {
                    let event = booking_event(resource, id, user, occurrence.range, Some(*series_id), ctx);
                    emitted.push(event);
                    if resource.policy.requires_approval {
                        OccurrenceOutcome::Requested { reservation_id: id }
                    } else {
                        OccurrenceOutcome::Booked { reservation_id: id }
                    }
                }
                Err(rejection) => OccurrenceOutcome::from_rejection(rejection),
            }
        };
        reports.push(OccurrenceReport { local_start: occurrence.local_start, range: occurrence.range, outcome });
    }
    let failures = reports.iter().filter(|r| !r.outcome.is_success()).count();
    let all_failed = failures == reports.len();
    if all_failed || (failures > 0 && *policy == SeriesPolicy::AllOrNothing) {
        for report in &mut reports {
            if let OccurrenceOutcome::Booked { reservation_id } | OccurrenceOutcome::Requested { reservation_id } =
                report.outcome
            {
                report.outcome = OccurrenceOutcome::Bookable { reservation_id };
            }
        }
        return Err(Rejection::SeriesNotBookable { occurrences: reports });
    }
    emitted.push(ResourceEvent::SeriesBooked {
        series_id: *series_id,
        user_id: user,
        rrule,
        policy: *policy,
        occurrences: reports,
        dtstart: Some(dtstart),
        duration_minutes: Some(*duration_minutes),
        exdates,
        time_zone: Some(resource.time_zone),
        at: ctx.now,
    });
    Ok(emitted.events)
}

fn cancellable(status: ReservationStatus) -> Result<(), Rejection> {
    match status {
        ReservationStatus::Confirmed | ReservationStatus::PendingApproval => Ok(()),
        ReservationStatus::Offered => Err(Rejection::invalid_state("an offer is declined, not cancelled")),
        other => Err(Rejection::invalid_state(format!("reservation is {other:?}"))),
    }
}

pub(crate) fn cancel(
    state: &ResourceState,
    reservation_id: Uuid,
    reason: Option<String>,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let reservation = state.reservations.get(&reservation_id).ok_or_else(|| Rejection::not_found("reservation"))?;
    require_owner_or_admin(ctx, reservation.user_id)?;
    cancellable(reservation.status)?;
    if reservation.range.end() <= ctx.now {
        return Err(Rejection::invalid_state("reservation already ended"));
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::ReservationCancelled {
        reservation_id,
        user_id: reservation.user_id,
        by: ctx.actor.user_id,
        reason,
        at: ctx.now,
    });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn cancel_series(
    state: &ResourceState,
    series_id: Uuid,
    scope: &SeriesCancelScope,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let members: Vec<_> = state.reservations.values().filter(|r| r.series_id == Some(series_id)).collect();
    if members.is_empty() {
        return Err(Rejection::not_found("series"));
    }
    for member in &members {
        require_owner_or_admin(ctx, member.user_id)?;
    }
    let from = match scope {
        SeriesCancelScope::Whole => None,
        SeriesCancelScope::ThisAndFollowing { reservation_id } => {
            let anchor = members
                .iter()
                .find(|r| r.id == *reservation_id)
                .ok_or_else(|| Rejection::not_found("occurrence in series"))?;
            Some(anchor.range.start())
        }
    };
    let mut emitted = Emitted::new(state);
    for member in members {
        let in_scope = from.is_none_or(|start| member.range.start() >= start);
        if in_scope && cancellable(member.status).is_ok() && member.range.end() > ctx.now {
            emitted.push(ResourceEvent::ReservationCancelled {
                reservation_id: member.id,
                user_id: member.user_id,
                by: ctx.actor.user_id,
                reason: Some("series cancelled".to_string()),
                at: ctx.now,
            });
        }
    }
    if emitted.events.is_empty() {
        return Err(Rejection::invalid_state("no cancellable occurrences in scope"));
    }
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn join_waitlist(
    state: &ResourceState,
    entry_id: Uuid,
    desired: &TimeRange,
    flex_minutes: u32,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    require_may_book(ctx)?;
    let resource = live_resource(state)?;
    if flex_minutes > MAX_FLEX_MINUTES {
        return Err(Rejection::invalid_input(format!("flex_minutes must be at most {MAX_FLEX_MINUTES}")));
    }
    let length = desired.duration();
    if length < resource.policy.min_duration() || length > resource.policy.max_duration() {
        return Err(Rejection::invalid_input("desired length violates the duration policy"));
    }
    if desired.end() <= ctx.now {
        return Err(Rejection::invalid_input("desired window is in the past"));
    }
    if state.waitlist.iter().any(|e| e.id == entry_id) {
        return Err(Rejection::invalid_state("waitlist entry id already used"));
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::WaitlistJoined {
        entry_id,
        user_id: ctx.actor.user_id,
        desired: *desired,
        flex_minutes,
        at: ctx.now,
    });
    // If the slot is already free the entry is offered at once, so a
    // waitlist never holds someone who could have been served.
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn leave_waitlist(
    state: &ResourceState,
    entry_id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let entry =
        state.waitlist.iter().find(|e| e.id == entry_id).ok_or_else(|| Rejection::not_found("waitlist entry"))?;
    require_owner_or_admin(ctx, entry.user_id)?;
    Ok(vec![ResourceEvent::WaitlistLeft { entry_id, user_id: entry.user_id, at: ctx.now }])
}

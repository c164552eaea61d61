//! `decide`: validates a command against state and facts, returning the
//! events to append or a typed rejection. Pure: no clock, no I/O.

use crate::context::{DecisionContext, Role};
use crate::policy::BookingPolicy;
use crate::rejection::Rejection;
use crate::resource::command::ResourceCommand;
use crate::resource::event::ResourceEvent;
use crate::resource::rules::{live_resource, peak_units};
use crate::resource::state::{Resource, ResourceState};
use crate::resource::{booking, details, lifecycle};
use crate::schedule_rules::Blackout;

/// Most approvers a resource or a group may name.
pub const MAX_NAMED_APPROVERS: usize = 50;

/// Accumulates emitted events while keeping a scratch state up to date, so
/// follow-on decisions in the same call (series occurrences, waitlist
/// offers) see the effect of earlier events.
pub(crate) struct Emitted {
    pub scratch: ResourceState,
    pub events: Vec<ResourceEvent>,
}

impl Emitted {
    pub fn new(state: &ResourceState) -> Self {
        Self { scratch: state.clone(), events: Vec::new() }
    }
    pub fn push(&mut self, event: ResourceEvent) {
        self.scratch.apply(&event);
        self.events.push(event);
    }
}

/// Decides `command` against `state` at `ctx.now` on behalf of `ctx.actor`.
pub fn decide(
    state: &ResourceState,
    command: &ResourceCommand,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    use ResourceCommand::*;
    match command {
        CreateResource { .. } => create(state, command, ctx),
        UpdateResource { .. } | RetireResource { .. } | SetBusinessHours { .. } => administer(state, command, ctx),
        AddBlackout { .. } | RemoveBlackout { .. } | SetStatus { .. } | SetApprovers { .. } => {
            administer(state, command, ctx)
        }
        Book { reservation_id, range } => booking::book(state, *reservation_id, range, ctx),
        BookSeries { .. } => booking::book_series(state, command, ctx),
        CancelReservation { reservation_id, reason } => {
            let reason = details::REASON.check_optional(reason.as_deref())?;
            booking::cancel(state, *reservation_id, reason, ctx)
        }
        CancelSeries { series_id, scope } => booking::cancel_series(state, *series_id, scope, ctx),
        JoinWaitlist { entry_id, desired, flex_minutes } => {
            booking::join_waitlist(state, *entry_id, desired, *flex_minutes, ctx)
        }
        LeaveWaitlist { entry_id } => booking::leave_waitlist(state, *entry_id, ctx),
        Approve { reservation_id, comment, group_approvers } => {
            let comment = details::COMMENT.check(comment)?;
            lifecycle::answer_request(state, *reservation_id, comment, true, group_approvers, ctx)
        }
        Reject { reservation_id, comment, group_approvers } => {
            let comment = details::COMMENT.check(comment)?;
            lifecycle::answer_request(state, *reservation_id, comment, false, group_approvers, ctx)
        }
        ExpireApproval { reservation_id } => lifecycle::expire_approval(state, *reservation_id, ctx),
        AcceptOffer { reservation_id } => lifecycle::answer_offer(state, *reservation_id, true, ctx),
        DeclineOffer { reservation_id } => lifecycle::answer_offer(state, *reservation_id, false, ctx),
        ExpireOffer { reservation_id } => lifecycle::expire_offer(state, *reservation_id, ctx),
        CheckIn { reservation_id } => lifecycle::check_in(state, *reservation_id, ctx),
        ReleaseNoShow { reservation_id } => lifecycle::release_no_show(state, *reservation_id, ctx),
        Complete { reservation_id } => lifecycle::complete(state, *reservation_id, ctx),
    }
}

fn require_admin(ctx: &DecisionContext) -> Result<(), Rejection> {
    if ctx.actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Rejection::forbidden("only admins manage resources"))
    }
}

fn validate_settings(capacity: u32, policy: &BookingPolicy) -> Result<(), Rejection> {
    if capacity == 0 {
        return Err(Rejection::invalid_input("capacity must be at least 1"));
    }
    policy.validate().map_err(Rejection::invalid_input)
}

fn create(
    state: &ResourceState,
    command: &ResourceCommand,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    require_admin(ctx)?;
    let ResourceCommand::CreateResource { resource_id, details, capacity, time_zone, policy, business_hours } = command
    else {
        return Err(Rejection::invalid_input("not a create command"));
    };
    if state.resource.is_some() {
        return Err(Rejection::invalid_state("resource already exists"));
    }
    validate_settings(*capacity, policy)?;
    Ok(vec![ResourceEvent::ResourceCreated {
        resource_id: *resource_id,
        details: details.normalised()?,
        capacity: *capacity,
        time_zone: *time_zone,
        policy: policy.clone(),
        business_hours: business_hours.clone(),
        by: ctx.actor.user_id,
        at: ctx.now,
    }])
}

fn administer(
    state: &ResourceState,
    command: &ResourceCommand,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    require_admin(ctx)?;
    let resource = live_resource(state)?;
    let (by, at) = (ctx.actor.user_id, ctx.now);
    let event = match command {
        ResourceCommand::UpdateResource { details, capacity, time_zone, policy } => {
            validate_settings(*capacity, policy)?;
            // Shrinking capacity or growing buffers must not retroactively
            // break the invariant for reservations already holding units.
            let proposed = Resource { capacity: *capacity, policy: policy.clone(), ..resource.clone() };
            let needed = peak_units(&proposed, state);
            if needed > *capacity as usize {
                return Err(Rejection::invalid_state(format!(
                    "existing reservations need {needed} unit(s) under the new settings"
                )));
            }
            ResourceEvent::ResourceUpdated {
                details: details.normalised()?,
                capacity: *capacity,
                time_zone: *time_zone,
                policy: policy.clone(),
                by,
                at,
            }
        }
        ResourceCommand::RetireResource { reason } => {
            ResourceEvent::ResourceRetired { reason: details::REASON.check(reason)?, by, at }
        }
        ResourceCommand::SetBusinessHours { hours } => ResourceEvent::BusinessHoursSet { hours: hours.clone(), by, at },
        ResourceCommand::AddBlackout { blackout_id, range, reason } => {
            if resource.blackouts.iter().any(|b| b.id == *blackout_id) {
                return Err(Rejection::invalid_state("blackout id already used"));
            }
            ResourceEvent::BlackoutAdded {
                blackout: Blackout { id: *blackout_id, range: *range, reason: details::REASON.check(reason)? },
                by,
                at,
            }
        }
        ResourceCommand::RemoveBlackout { blackout_id } => {
            if !resource.blackouts.iter().any(|b| b.id == *blackout_id) {
                return Err(Rejection::not_found("blackout"));
            }
            ResourceEvent::BlackoutRemoved { blackout_id: *blackout_id, by, at }
        }
        ResourceCommand::SetApprovers { approvers } => {
            let mut named: Vec<uuid::Uuid> = Vec::with_capacity(approvers.len());
            for id in approvers {
                if !named.contains(id) {
                    named.push(*id);
                }
            }
            if named.len() > MAX_NAMED_APPROVERS {
                return Err(Rejection::invalid_field("approvers", format!("at most {MAX_NAMED_APPROVERS} approvers")));
            }
            if named == resource.approvers {
                return Ok(Vec::new());
            }
            ResourceEvent::ApproversSet { approvers: named, by, at }
        }
        ResourceCommand::SetStatus { status } => {
            if resource.status == *status {
                return Ok(Vec::new());
            }
            ResourceEvent::ResourceStatusChanged { status: *status, by, at }
        }
        _ => return Err(Rejection::invalid_input("not an administrative command")),
    };
    Ok(vec![event])
}

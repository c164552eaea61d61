//! Reservation lifecycle after booking: approvals, offers, check-in,
//! no-show release and completion. Deadline commands (expire approval,
//! expire offer, release no-show, complete) are time-gated facts rather than
//! user actions, so they are not role-checked, and they return no events when
//! stale (the target is gone or already resolved) so a scheduler may retry.

use chrono::Duration;
use uuid::Uuid;

use crate::context::{DecisionContext, Role};
use crate::policy::EARLY_CHECKIN_MINUTES;
use crate::rejection::Rejection;
use crate::resource::booking::require_owner_or_admin;
use crate::resource::decide::Emitted;
use crate::resource::event::ResourceEvent;
use crate::resource::state::{Reservation, ReservationStatus, ResourceState};
use crate::resource::waitlist::offer_freed_units;
use crate::time_range::{saturating_add, saturating_sub};

fn find(state: &ResourceState, id: Uuid) -> Result<&Reservation, Rejection> {
    state.reservations.get(&id).ok_or_else(|| Rejection::not_found("reservation"))
}

fn expect_status(reservation: &Reservation, wanted: ReservationStatus) -> Result<(), Rejection> {
    if reservation.status == wanted {
        Ok(())
    } else {
        Err(Rejection::invalid_state(format!("reservation is {:?}, expected {:?}", reservation.status, wanted)))
    }
}

/// The approvers named for a resource: its own, else `group_approvers` (those of its nearest
/// group naming some, resolved by the caller). Empty: every approver may answer.
pub fn named_approvers<'a>(state: &'a ResourceState, group_approvers: &'a [Uuid]) -> &'a [Uuid] {
    match state.resource.as_ref() {
        Some(resource) if !resource.approvers.is_empty() => &resource.approvers,
        _ => group_approvers,
    }
}

/// Approve (`approve = true`) or reject a pending request. Where approvers are named (see
/// [`named_approvers`]), only they and admins answer.
pub(crate) fn answer_request(
    state: &ResourceState,
    id: Uuid,
    comment: String,
    approve: bool,
    group_approvers: &[Uuid],
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    if !ctx.actor.role.may_approve() {
        return Err(Rejection::forbidden("only approvers and admins answer requests"));
    }
    let named = named_approvers(state, group_approvers);
    if !named.is_empty() && ctx.actor.role != Role::Admin && !named.contains(&ctx.actor.user_id) {
        return Err(Rejection::forbidden("only this resource's named approvers and admins answer its requests"));
    }
    let reservation = find(state, id)?;
    expect_status(reservation, ReservationStatus::PendingApproval)?;
    let (user_id, approver, at) = (reservation.user_id, ctx.actor.user_id, ctx.now);
    let self_approval_allowed = state.resource.as_ref().is_some_and(|r| r.policy.allow_self_approval);
    if user_id == approver && !self_approval_allowed {
        return Err(Rejection::forbidden(
            "a request is answered by someone other than its requester (cancel it to withdraw it)",
        ));
    }
    if approve {
        return Ok(vec![ResourceEvent::ReservationApproved { reservation_id: id, user_id, approver, comment, at }]);
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::ReservationRejected { reservation_id: id, user_id, approver, comment, at });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn expire_approval(
    state: &ResourceState,
    id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let Some(reservation) = state.reservations.get(&id) else {
        return Ok(Vec::new());
    };
    let (ReservationStatus::PendingApproval, Some(deadline)) = (reservation.status, reservation.approval_deadline)
    else {
        return Ok(Vec::new());
    };
    if ctx.now < deadline {
        return Err(Rejection::invalid_state(format!("approval expires at {deadline}")));
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::ApprovalExpired { reservation_id: id, user_id: reservation.user_id, at: ctx.now });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

/// Accept (`accept = true`) or decline a waitlist offer.
pub(crate) fn answer_offer(
    state: &ResourceState,
    id: Uuid,
    accept: bool,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let reservation = find(state, id)?;
    require_owner_or_admin(ctx, reservation.user_id)?;
    expect_status(reservation, ReservationStatus::Offered)?;
    let user_id = reservation.user_id;
    if accept {
        if let Some(expires_at) = reservation.offer_expires_at {
            if ctx.now >= expires_at {
                return Err(Rejection::invalid_state("offer has expired"));
            }
        }
        // Where bookings need approval, a taken offer is a request like any other booking there.
        let approval_deadline = state
            .resource
            .as_ref()
            .filter(|r| r.policy.requires_approval)
            .map(|r| saturating_add(ctx.now, r.policy.approval_timeout()));
        return Ok(vec![ResourceEvent::WaitlistOfferAccepted {
            reservation_id: id,
            user_id,
            approval_deadline,
            at: ctx.now,
        }]);
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::WaitlistOfferDeclined { reservation_id: id, user_id, at: ctx.now });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn expire_offer(
    state: &ResourceState,
    id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let Some(reservation) = state.reservations.get(&id) else {
        return Ok(Vec::new());
    };
    let (ReservationStatus::Offered, Some(expires_at)) = (reservation.status, reservation.offer_expires_at) else {
        return Ok(Vec::new());
    };
    if ctx.now < expires_at {
        return Err(Rejection::invalid_state(format!("offer expires at {expires_at}")));
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::WaitlistOfferExpired { reservation_id: id, user_id: reservation.user_id, at: ctx.now });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

fn checkin_window(state: &ResourceState) -> Duration {
    state.resource.as_ref().map_or(Duration::zero(), |r| r.policy.checkin_window())
}

pub(crate) fn check_in(
    state: &ResourceState,
    id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let reservation = find(state, id)?;
    require_owner_or_admin(ctx, reservation.user_id)?;
    expect_status(reservation, ReservationStatus::Confirmed)?;
    if reservation.checked_in_at.is_some() {
        return Err(Rejection::invalid_state("already checked in"));
    }
    let opens = saturating_sub(reservation.range.start(), Duration::minutes(EARLY_CHECKIN_MINUTES));
    let closes = saturating_add(reservation.range.start(), checkin_window(state));
    if ctx.now < opens || ctx.now >= closes {
        return Err(Rejection::invalid_state(format!("check-in is possible from {opens} until (excluding) {closes}")));
    }
    Ok(vec![ResourceEvent::CheckedIn { reservation_id: id, user_id: reservation.user_id, at: ctx.now }])
}

pub(crate) fn release_no_show(
    state: &ResourceState,
    id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let checkin_required = state.resource.as_ref().is_some_and(|r| r.policy.checkin_required);
    let Some(reservation) = state.reservations.get(&id) else {
        return Ok(Vec::new());
    };
    if !checkin_required || reservation.status != ReservationStatus::Confirmed || reservation.checked_in_at.is_some() {
        return Ok(Vec::new());
    }
    let due = saturating_add(reservation.range.start(), checkin_window(state));
    if ctx.now < due {
        return Err(Rejection::invalid_state(format!("check-in window open until {due}")));
    }
    let mut emitted = Emitted::new(state);
    emitted.push(ResourceEvent::NoShowReleased { reservation_id: id, user_id: reservation.user_id, at: ctx.now });
    offer_freed_units(&mut emitted, ctx.now);
    Ok(emitted.events)
}

pub(crate) fn complete(
    state: &ResourceState,
    id: Uuid,
    ctx: &DecisionContext,
) -> Result<Vec<ResourceEvent>, Rejection> {
    let Some(reservation) = state.reservations.get(&id) else {
        return Ok(Vec::new());
    };
    if reservation.status != ReservationStatus::Confirmed {
        return Ok(Vec::new());
    }
    if ctx.now < reservation.range.end() {
        return Err(Rejection::invalid_state("reservation has not ended yet"));
    }
    Ok(vec![ResourceEvent::ReservationCompleted { reservation_id: id, user_id: reservation.user_id, at: ctx.now }])
}

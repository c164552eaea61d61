//! The waitlist: joining and leaving a resource's queue, the caller's entries with their place
//! in line, the offers made to them when a slot frees up, and answering those offers.

use chrono::{DateTime, Utc};
use reserver_commands::addressing::Address;
use reserver_domain::resource::state::ReservationStatus;
use reserver_domain::{ResourceCommand, ResourceEvent, TimeRange};
use reserver_projections::page::PageRequest;
use reserver_projections::reservations::{self as rm, ReservationView, TimeScope, WaitlistView};
use uuid::Uuid;

use crate::addressing;
use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The widest flexible window: a week either way.
pub const MAX_FLEXIBLE_MINUTES: u32 = 7 * 24 * 60;

/// A waitlist entry as joined.
#[derive(Debug, Clone)]
pub struct Joined {
    pub entry_id: Uuid,
    pub resource_id: Uuid,
    pub desired: TimeRange,
    pub flexible_minutes: u32,
    /// The slot was free: an offer was made right away.
    pub offered: bool,
    pub position: u64,
}

/// Joins `resource_id`'s waitlist for `start`..`end`, movable by `flexible_minutes` either way.
/// `body` is the request body, for the idempotency fingerprint. Errors: `Validation` naming
/// `desired_end` (not after the start) or `flexible_minutes` (over a week), `NotFound`, and the
/// aggregate's rejections.
pub async fn join(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    resource_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    flexible_minutes: u32,
    body: &[u8],
) -> AppResult<Joined> {
    let desired =
        TimeRange::new(start, end).map_err(|_| AppError::validation("desired_end", "must be after desired_start"))?;
    if flexible_minutes > MAX_FLEXIBLE_MINUTES {
        return Err(AppError::validation("flexible_minutes", "at most one week"));
    }
    let entry_id = Uuid::new_v4();
    let command = ResourceCommand::JoinWaitlist { entry_id, desired, flex_minutes: flexible_minutes };
    let decided = services
        .resources
        .execute(resource_id, caller.actor(), command, command_meta(info, Some(caller), body)?)
        .await?;
    let offered = decided.events.iter().any(|e| e.event_type() == "waitlist_offer_made");
    // A retry with the same Idempotency-Key is answered with the entry the first attempt made.
    let entry_id = decided
        .events
        .iter()
        .find_map(|e| match e {
            ResourceEvent::WaitlistJoined { entry_id, .. } => Some(*entry_id),
            _ => None,
        })
        .unwrap_or(entry_id);
    Ok(Joined { entry_id, resource_id, desired, flexible_minutes, offered, position: decided.position })
}

/// Leaves a waitlist; returns the log position of the change. Someone else's entry is
/// `NotFound` to people who may not act on it.
pub async fn leave(services: &Services, info: &RequestInfo<'_>, caller: &Caller, entry_id: Uuid) -> AppResult<u64> {
    let resource = addressing::resource_of(services, Address::WaitlistEntry(entry_id), "waitlist entry").await?;
    let decided = addressing::hiding_others(
        caller,
        "waitlist entry",
        services
            .resources
            .execute(
                resource,
                caller.actor(),
                ResourceCommand::LeaveWaitlist { entry_id },
                command_meta(info, Some(caller), &[])?,
            )
            .await
            .map_err(AppError::from),
    )?;
    Ok(decided.position)
}

/// The answer to an offer.
#[derive(Debug, Clone)]
pub struct Answered {
    pub reservation_id: Uuid,
    /// `confirmed`, `pending_approval` (accepted where bookings need approval) or `declined`.
    pub status: &'static str,
    pub position: u64,
}

/// Accepts (`accept`) or declines the offer named by its reservation id or by the waitlist
/// entry it was made to. Accepting confirms the held slot (the offer already went through the
/// resource's booking rules when it was made) or, where the resource requires approval, makes it
/// a pending request like any booking there. Someone else's offer is `NotFound`.
pub async fn answer_offer(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
    accept: bool,
) -> AppResult<Answered> {
    let (resource, reservation_id) = addressing::resource_of_offer(services, id).await?;
    let (command, status) = if accept {
        (ResourceCommand::AcceptOffer { reservation_id }, "confirmed")
    } else {
        (ResourceCommand::DeclineOffer { reservation_id }, "declined")
    };
    let decided = addressing::hiding_others(
        caller,
        "offer",
        services
            .resources
            .execute(resource, caller.actor(), command, command_meta(info, Some(caller), &[])?)
            .await
            .map_err(AppError::from),
    )?;
    let awaits_approval = decided
        .events
        .iter()
        .any(|e| matches!(e, ResourceEvent::WaitlistOfferAccepted { approval_deadline: Some(_), .. }));
    let status = if awaits_approval { "pending_approval" } else { status };
    Ok(Answered { reservation_id, status, position: decided.position })
}

/// The caller's waitlist entries, each with its place in its resource's FIFO queue (1 = next).
pub async fn my_entries(services: &Services, user_id: Uuid) -> AppResult<Vec<(WaitlistView, Option<usize>)>> {
    let db = services.db();
    let entries = rm::waitlist_for_user(&db, user_id).await?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let queue = rm::waitlist_for_resource(&db, entry.resource_id).await?;
        let position = queue.iter().position(|q| q.entry_id == entry.entry_id).map(|p| p + 1);
        out.push((entry, position));
    }
    Ok(out)
}

/// Offers waiting for the user's answer at `now` (status `offered`, not yet expired), soonest
/// expiry first.
pub async fn open_offers(services: &Services, user_id: Uuid, now: DateTime<Utc>) -> AppResult<Vec<ReservationView>> {
    let mut offers = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let result = rm::reservations_for_user(&services.db(), user_id, TimeScope::Upcoming, now, &page).await?;
        offers.extend(result.data.into_iter().filter(|r| {
            r.status == ReservationStatus::Offered && r.offer_expires_at.is_none_or(|expires| expires > now)
        }));
        match result.next_cursor {
            Some(cursor) if result.has_more => page = PageRequest { limit: Some(500), cursor: Some(cursor) },
            _ => break,
        }
    }
    offers.sort_by_key(|r| r.offer_expires_at);
    Ok(offers)
}

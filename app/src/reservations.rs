//! Reservations: booking a slot, who may see a reservation, cancelling it, its history, and the
//! caller's calendar links (an `.ics` of one reservation, the personal feed's subscription URL).
//! `POST /api/v1/reservations` and the web app's booking form both run [`book`], so the same
//! rules, events and idempotency apply to either.

use reserver_calendar::render::{render, CalendarMeta, Privacy};
use reserver_commands::addressing::Address;
use reserver_domain::resource::event::ResourceEvent;
use reserver_domain::{ResourceCommand, Role, TimeRange};
use reserver_projections::reservations::{self as rm, HistoryEntry, ReservationView};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::{addressing, calendar_data, feed_tokens};

/// A booking the resource accepted: the new reservation's id, the events the command appended
/// (`reservation_confirmed` or `reservation_requested`) and the log position to read it at.
#[derive(Debug, Clone)]
pub struct Booked {
    pub reservation_id: Uuid,
    pub resource_id: Uuid,
    pub range: TimeRange,
    pub events: Vec<ResourceEvent>,
    pub position: u64,
}

/// Books `range` of `resource_id` for `caller` if every rule allows it. `body` is the request
/// as sent, for the idempotency fingerprint.
///
/// Errors: `Rejected` with the rule that said no (a `Conflict` carries the conflicting
/// reservations and the next free slots of the same length), `NotFound` for an unknown
/// resource, `Validation` for malformed fields, `IdempotencyKeyReused`.
pub async fn book(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    resource_id: Uuid,
    range: TimeRange,
    body: &[u8],
) -> Result<Booked, AppError> {
    let reservation_id = Uuid::new_v4();
    let meta = command_meta(info, Some(caller), body)?;
    let decided = services
        .resources
        .execute(resource_id, caller.actor(), ResourceCommand::Book { reservation_id, range }, meta)
        .await?;
    Ok(Booked { reservation_id, resource_id, range, events: decided.events, position: decided.position })
}

/// A reservation the caller may see: their own, or any for admins, approvers and auditors.
/// Someone else's is "not found", so ids cannot be probed.
pub async fn visible(services: &Services, caller: &Caller, id: Uuid) -> AppResult<ReservationView> {
    let view = rm::get_reservation(&services.db(), id).await?.ok_or_else(|| AppError::not_found("reservation"))?;
    if view.user_id == caller.user_id || matches!(caller.role, Role::Admin | Role::Approver | Role::Auditor) {
        Ok(view)
    } else {
        Err(AppError::not_found("reservation"))
    }
}

/// Every event of a reservation the caller may see, in log order.
pub async fn history(services: &Services, caller: &Caller, id: Uuid) -> AppResult<Vec<HistoryEntry>> {
    visible(services, caller, id).await?;
    Ok(rm::reservation_history(&services.db(), id).await?)
}

/// What a command on a reservation did.
#[derive(Debug, Clone)]
pub struct Changed {
    pub id: Uuid,
    /// The event it caused (`reservation_cancelled`, `checked_in`, …) or `unchanged`.
    pub result: String,
    pub position: u64,
}

/// Runs a command on the resource a reservation belongs to, found through the log (so a
/// reservation a 201 just confirmed is found at once); the aggregate decides on its own state.
pub async fn on_reservation(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
    body: &[u8],
    command: ResourceCommand,
) -> AppResult<Changed> {
    let resource = addressing::resource_of(services, Address::Reservation(id), "reservation").await?;
    let meta = command_meta(info, Some(caller), body)?;
    let decided = addressing::hiding_others(
        caller,
        "reservation",
        services.resources.execute(resource, caller.actor(), command, meta).await.map_err(AppError::from),
    )?;
    let result = decided.events.first().map(|e| e.event_type()).unwrap_or("unchanged").to_string();
    Ok(Changed { id, result, position: decided.position })
}

/// Cancels one reservation (owner or admin). Errors: `NotFound` for someone else's,
/// `Rejected(InvalidState)` when it is no longer cancellable.
pub async fn cancel(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
    reason: Option<String>,
    body: &[u8],
) -> AppResult<Changed> {
    let command = ResourceCommand::CancelReservation { reservation_id: id, reason };
    on_reservation(services, info, caller, id, body, command).await
}

/// A reservation the caller may export: their own, or any for admins.
async fn exportable(services: &Services, caller: &Caller, id: Uuid) -> AppResult<ReservationView> {
    let view = rm::get_reservation(&services.db(), id).await?.ok_or_else(|| AppError::not_found("reservation"))?;
    if view.user_id == caller.user_id || caller.is_admin() {
        Ok(view)
    } else {
        Err(AppError::not_found("reservation"))
    }
}

/// One reservation (or the series it belongs to) as an RFC 5545 calendar.
pub async fn export_ics(services: &Services, caller: &Caller, id: Uuid) -> AppResult<String> {
    let view = match exportable(services, caller, id).await {
        // A booking just made may not be projected yet: wait for the log head, retry once.
        Err(AppError::NotFound(_)) => {
            services.caught_up(Some(services.store.head().await?.position)).await?;
            exportable(services, caller, id).await?
        }
        other => other?,
    };
    let entries = calendar_data::entries(&services.db(), vec![view], |_| Privacy::Owner).await?;
    Ok(render(&CalendarMeta::default(), &entries, services.clock.now()))
}

/// The links of a personal calendar feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub url: String,
    pub webcal_url: String,
    pub token: String,
    pub resource_feed_template: String,
}

/// The feed links for `token` under `base` (no trailing slash).
pub fn subscription(base: &str, token: &str) -> Subscription {
    let url = format!("{base}/api/v1/calendar/feed/{token}.ics");
    let webcal = url.replacen("https://", "webcal://", 1).replacen("http://", "webcal://", 1);
    Subscription {
        url,
        webcal_url: webcal,
        token: token.to_string(),
        resource_feed_template: format!("{base}/api/v1/calendar/feed/{token}/resources/{{resource_id}}.ics"),
    }
}

/// The caller's feed links, the token made on first use. `base` is [`Services::link_base`].
pub async fn subscription_url(services: &Services, caller: &Caller, base: &str) -> AppResult<Subscription> {
    let token = feed_tokens::get_or_create(&services.db(), caller.user_id, services.clock.now()).await?;
    Ok(subscription(base, &token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_links_share_one_base() {
        let links = subscription("https://reserver.example.com", "tok");
        assert_eq!(links.url, "https://reserver.example.com/api/v1/calendar/feed/tok.ics");
        assert_eq!(links.webcal_url, "webcal://reserver.example.com/api/v1/calendar/feed/tok.ics");
        assert_eq!(
            links.resource_feed_template,
            "https://reserver.example.com/api/v1/calendar/feed/tok/resources/{resource_id}.ics"
        );
    }
}

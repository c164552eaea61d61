//! Booking a slot, shared by `POST /api/v1/reservations` and the web app's booking form: both
//! run this one function, so the same rules, events and idempotency apply to either.

use reserver_domain::resource::event::ResourceEvent;
use reserver_domain::{ResourceCommand, TimeRange};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;

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

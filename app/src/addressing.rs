//! Routing a command to its aggregate through the write side: the ids clients hold for a
//! reservation, a series or a waitlist entry lead to their resource's stream through the log
//! itself (`reserver_commands::addressing`), never a read model — so an id a `201` just returned
//! is actionable at once, on every replica.

use reserver_commands::addressing::{self, Address};
use reserver_domain::{Rejection, Role};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The resource whose stream holds `address`. Errors: `NotFound(what)` for an id never created.
pub async fn resource_of(services: &Services, address: Address, what: &str) -> AppResult<Uuid> {
    addressing::resource_of(services.store.as_ref(), address).await?.ok_or_else(|| AppError::not_found(what))
}

/// The resource of a waitlist offer named by its reservation id or by the entry it was made to.
pub async fn resource_of_offer(services: &Services, id: Uuid) -> AppResult<(Uuid, Uuid)> {
    if let Some(resource) = addressing::resource_of(services.store.as_ref(), Address::Reservation(id)).await? {
        return Ok((resource, id));
    }
    let offered = reserver_domain::resource::waitlist::offer_reservation_id(id);
    let resource = resource_of(services, Address::Reservation(offered), "offer").await?;
    Ok((resource, offered))
}

/// Someone else's reservation, series or entry is "not found" to a person who may not act on it,
/// as it is when reading, so ids cannot be probed; staff are told they may not.
pub fn hiding_others<T>(caller: &Caller, what: &str, result: AppResult<T>) -> AppResult<T> {
    match result {
        Err(AppError::Rejected(Rejection::Forbidden { .. })) if matches!(caller.role, Role::User | Role::Guest) => {
            Err(AppError::not_found(what))
        }
        other => other,
    }
}

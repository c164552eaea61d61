//! Checking in to a reservation, and when that is possible: from a few minutes before its start
//! until its resource's check-in window after the start (the domain's rule, `lifecycle::check_in`).

use chrono::{DateTime, Duration, Utc};
use reserver_domain::policy::EARLY_CHECKIN_MINUTES;
use reserver_domain::resource::state::ReservationStatus;
use reserver_domain::{BookingPolicy, ResourceCommand};
use reserver_projections::reservations::ReservationView;
use uuid::Uuid;

use crate::caller::{Caller, RequestInfo};
use crate::error::AppResult;
use crate::services::Services;

/// What checking in did.
#[derive(Debug, Clone)]
pub struct CheckedIn {
    /// The event it caused (`checked_in`) or `unchanged`.
    pub result: String,
    pub position: u64,
}

/// Checks in to reservation `id` (found through the log, so a reservation just booked is found
/// at once). Someone else's reservation is `NotFound` to people who may not act on it; outside
/// the window the aggregate refuses with `invalid_state`.
pub async fn check_in(services: &Services, info: &RequestInfo<'_>, caller: &Caller, id: Uuid) -> AppResult<CheckedIn> {
    let command = ResourceCommand::CheckIn { reservation_id: id };
    let changed = crate::reservations::on_reservation(services, info, caller, id, &[], command).await?;
    Ok(CheckedIn { result: changed.result, position: changed.position })
}

/// `[opens, closes)`: when a reservation starting at `start` accepts a check-in.
pub fn window(policy: &BookingPolicy, start: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let opens = start.checked_sub_signed(Duration::minutes(EARLY_CHECKIN_MINUTES)).unwrap_or(start);
    let closes = start.checked_add_signed(policy.checkin_window()).unwrap_or(start);
    (opens, closes)
}

/// Whether `reservation` can be checked in to at `now`: confirmed, not checked in yet, and
/// inside its window.
pub fn is_open(reservation: &ReservationView, policy: &BookingPolicy, now: DateTime<Utc>) -> bool {
    let (opens, closes) = window(policy, reservation.range.start());
    reservation.status == ReservationStatus::Confirmed
        && reservation.checked_in_at.is_none()
        && opens <= now
        && now < closes
}

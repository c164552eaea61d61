//! Folding events into state. Total and panic-free: an event that refers to
//! something already pruned is simply ignored.

use chrono::{DateTime, Duration, Utc};

use crate::resource::event::ResourceEvent;
use crate::resource::state::{Reservation, ReservationStatus, Resource, ResourceState, ResourceStatus, WaitlistEntry};
use crate::schedule_rules::Blackout;
use crate::time_range::saturating_sub;
use uuid::Uuid;

/// How long past its (buffered) end a reservation is kept before pruning.
/// The slack keeps it visible for late "complete" commands and protects
/// bookings decided with a clock slightly behind the latest event.
pub const RETENTION_GRACE: Duration = Duration::days(1);

/// Returns the state after `event`.
pub fn evolve(mut state: ResourceState, event: &ResourceEvent) -> ResourceState {
    state.apply(event);
    state
}

impl ResourceState {
    /// Rebuilds state from a full stream.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a ResourceEvent>) -> Self {
        events.into_iter().fold(Self::default(), evolve)
    }

    /// Applies one event in place.
    pub fn apply(&mut self, event: &ResourceEvent) {
        use ResourceEvent::*;
        match event {
            ResourceCreated { resource_id, details, capacity, time_zone, policy, business_hours, .. } => {
                self.resource = Some(Resource {
                    id: *resource_id,
                    details: details.clone(),
                    capacity: *capacity,
                    time_zone: *time_zone,
                    business_hours: business_hours.clone(),
                    blackouts: Vec::new(),
                    status: ResourceStatus::Available,
                    policy: policy.clone(),
                    retired: false,
                    approvers: Vec::new(),
                });
            }
            ResourceUpdated { details, capacity, time_zone, policy, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.details = details.clone();
                    resource.capacity = *capacity;
                    resource.time_zone = *time_zone;
                    resource.policy = policy.clone();
                }
            }
            ResourceRetired { .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.retired = true;
                }
            }
            BusinessHoursSet { hours, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.business_hours = hours.clone();
                }
            }
            BlackoutAdded { blackout, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.blackouts.push(blackout.clone());
                }
            }
            BlackoutRemoved { blackout_id, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.blackouts.retain(|b| b.id != *blackout_id);
                }
            }
            ApproversSet { approvers, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.approvers = approvers.clone();
                }
            }
            ResourceStatusChanged { status, .. } => {
                if let Some(resource) = self.resource.as_mut() {
                    resource.status = *status;
                }
            }
            ReservationConfirmed { reservation_id, user_id, range, series_id, at } => {
                let mut reservation = new_reservation(*reservation_id, *user_id, *range, *series_id, *at);
                reservation.status = ReservationStatus::Confirmed;
                self.reservations.insert(*reservation_id, reservation);
            }
            ReservationRequested { reservation_id, user_id, range, series_id, approval_deadline, at } => {
                let mut reservation = new_reservation(*reservation_id, *user_id, *range, *series_id, *at);
                reservation.status = ReservationStatus::PendingApproval;
                reservation.approval_deadline = Some(*approval_deadline);
                self.reservations.insert(*reservation_id, reservation);
            }
            SeriesBooked { .. } => {}
            ReservationCancelled { reservation_id, .. } => {
                self.set_status(reservation_id, ReservationStatus::Cancelled)
            }
            ReservationApproved { reservation_id, .. } => self.set_status(reservation_id, ReservationStatus::Confirmed),
            ReservationRejected { reservation_id, .. } => self.set_status(reservation_id, ReservationStatus::Rejected),
            ApprovalExpired { reservation_id, .. } => {
                self.set_status(reservation_id, ReservationStatus::ApprovalExpired)
            }
            WaitlistJoined { entry_id, user_id, desired, flex_minutes, at } => self.waitlist.push(WaitlistEntry {
                id: *entry_id,
                user_id: *user_id,
                desired: *desired,
                flex_minutes: *flex_minutes,
                joined_at: *at,
            }),
            WaitlistLeft { entry_id, .. } => self.waitlist.retain(|e| e.id != *entry_id),
            WaitlistOfferMade { reservation_id, entry_id, user_id, range, expires_at, at } => {
                self.waitlist.retain(|e| e.id != *entry_id);
                let mut reservation = new_reservation(*reservation_id, *user_id, *range, None, *at);
                reservation.status = ReservationStatus::Offered;
                reservation.offer_expires_at = Some(*expires_at);
                reservation.waitlist_entry_id = Some(*entry_id);
                self.reservations.insert(*reservation_id, reservation);
            }
            WaitlistOfferAccepted { reservation_id, approval_deadline: None, .. } => {
                self.set_status(reservation_id, ReservationStatus::Confirmed)
            }
            WaitlistOfferAccepted { reservation_id, approval_deadline: Some(deadline), .. } => {
                self.reservations.await_approval(reservation_id, *deadline)
            }
            WaitlistOfferDeclined { reservation_id, .. } => {
                self.set_status(reservation_id, ReservationStatus::OfferDeclined)
            }
            WaitlistOfferExpired { reservation_id, .. } => {
                self.set_status(reservation_id, ReservationStatus::OfferExpired)
            }
            CheckedIn { reservation_id, at, .. } => self.reservations.check_in(reservation_id, *at),
            NoShowReleased { reservation_id, .. } => self.set_status(reservation_id, ReservationStatus::NoShowReleased),
            ReservationCompleted { reservation_id, .. } => {
                self.set_status(reservation_id, ReservationStatus::Completed)
            }
        }
        let at = event.at();
        self.last_event_at = Some(self.last_event_at.map_or(at, |prev| prev.max(at)));
        self.prune();
    }

    fn set_status(&mut self, id: &Uuid, status: ReservationStatus) {
        self.reservations.set_status(id, status);
    }

    /// Reservations, waitlist entries and blackouts ending before this instant can no longer
    /// influence any decision and are pruned. `None` before the first event.
    pub fn retention_cutoff(&self) -> Option<DateTime<Utc>> {
        let latest = self.last_event_at?;
        let max_buffer =
            self.resource.as_ref().map_or(Duration::zero(), |r| r.policy.buffer_before() + r.policy.buffer_after());
        Some(saturating_sub(saturating_sub(latest, max_buffer), RETENTION_GRACE))
    }

    /// Drops what can no longer influence any decision, so state size is
    /// bounded by the booking horizon rather than by history length.
    fn prune(&mut self) {
        let Some(cutoff) = self.retention_cutoff() else { return };
        self.reservations.prune_ended_before(cutoff);
        self.waitlist.retain(|e| e.latest_end() >= cutoff);
        if let Some(resource) = self.resource.as_mut() {
            resource.blackouts.retain(|b: &Blackout| b.range.end() >= cutoff);
        }
    }
}

fn new_reservation(
    id: Uuid,
    user_id: Uuid,
    range: crate::time_range::TimeRange,
    series_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Reservation {
    Reservation {
        id,
        user_id,
        range,
        status: ReservationStatus::Confirmed,
        series_id,
        created_at: at,
        approval_deadline: None,
        offer_expires_at: None,
        waitlist_entry_id: None,
        checked_in_at: None,
    }
}

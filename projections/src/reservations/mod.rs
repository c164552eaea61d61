//! Reservations, their per-event history, series, waitlists and approval queues, plus the
//! resource aggregate's own folded state that availability queries run the domain rules on.

mod projector;
mod query;

use chrono::{DateTime, Utc};
use reserver_domain::recurrence::{OccurrenceReport, SeriesPolicy};
use reserver_domain::resource::{Reservation, ReservationStatus};
use reserver_domain::{ResourceEvent, TimeRange};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use projector::{ReservationsProjector, PROJECTOR};
pub use query::history_lengths;
pub use query::{
    get_reservation, get_series, pending_approvals, reservation_history, reservations_for_resource,
    reservations_for_user, reservations_in_range, series_for_user, waitlist_for_resource, waitlist_for_user,
    HistoryEntry, SeriesDetail, TimeScope,
};

/// One reservation with its current lifecycle status. Unlike the aggregate's state, which
/// forgets finished reservations, this keeps every reservation ever made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationView {
    pub reservation_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub series_id: Option<Uuid>,
    pub range: TimeRange,
    pub status: ReservationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub approval_deadline: Option<DateTime<Utc>>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub waitlist_entry_id: Option<Uuid>,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Who cancelled, approved or rejected it.
    pub decided_by: Option<Uuid>,
    /// Cancellation reason or approver comment.
    pub comment: Option<String>,
}

impl ReservationView {
    /// The entry the resource aggregate keeps for this reservation: the view carries every
    /// field of it, folded from the same events.
    pub fn as_aggregate_entry(&self) -> Reservation {
        Reservation {
            id: self.reservation_id,
            user_id: self.user_id,
            range: self.range,
            status: self.status,
            series_id: self.series_id,
            created_at: self.created_at,
            approval_deadline: self.approval_deadline,
            offer_expires_at: self.offer_expires_at,
            waitlist_entry_id: self.waitlist_entry_id,
            checked_in_at: self.checked_in_at,
        }
    }
}

/// How a [`ReservationView`] is stored in `rm_reservations.doc`: the same JSON object without
/// the fields that are `None` (a third of a typical row's bytes were `null`s). Reading it back
/// as a `ReservationView` gives `None` for each missing field, in this build and in earlier
/// ones, so replicas of either can share the table. The API keeps its explicit `null`s.
#[derive(Serialize)]
pub(crate) struct StoredReservation<'a> {
    reservation_id: &'a Uuid,
    resource_id: &'a Uuid,
    user_id: &'a Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    series_id: &'a Option<Uuid>,
    range: &'a TimeRange,
    status: &'a ReservationStatus,
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_deadline: &'a Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offer_expires_at: &'a Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waitlist_entry_id: &'a Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checked_in_at: &'a Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_by: &'a Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: &'a Option<String>,
}

impl<'a> From<&'a ReservationView> for StoredReservation<'a> {
    /// A field added to the view and not here fails `the_stored_form_reads_back_as_the_view`.
    fn from(v: &'a ReservationView) -> Self {
        StoredReservation {
            reservation_id: &v.reservation_id,
            resource_id: &v.resource_id,
            user_id: &v.user_id,
            series_id: &v.series_id,
            range: &v.range,
            status: &v.status,
            created_at: &v.created_at,
            updated_at: &v.updated_at,
            approval_deadline: &v.approval_deadline,
            offer_expires_at: &v.offer_expires_at,
            waitlist_entry_id: &v.waitlist_entry_id,
            checked_in_at: &v.checked_in_at,
            decided_by: &v.decided_by,
            comment: &v.comment,
        }
    }
}

/// A recurring booking as requested, with the per-occurrence report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesView {
    pub series_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub rrule: String,
    pub policy: SeriesPolicy,
    pub occurrences: Vec<OccurrenceReport>,
    pub booked_at: DateTime<Utc>,
}

/// Someone waiting for a slot, with their place in the resource's FIFO queue (1 = next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistView {
    pub entry_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub desired: TimeRange,
    pub flex_minutes: u32,
    pub joined_at: DateTime<Utc>,
    pub position: u32,
}

fn created(
    resource_id: Uuid,
    reservation_id: Uuid,
    user_id: Uuid,
    range: TimeRange,
    status: ReservationStatus,
    at: DateTime<Utc>,
) -> ReservationView {
    ReservationView {
        reservation_id,
        resource_id,
        user_id,
        series_id: None,
        range,
        status,
        created_at: at,
        updated_at: at,
        approval_deadline: None,
        offer_expires_at: None,
        waitlist_entry_id: None,
        checked_in_at: None,
        decided_by: None,
        comment: None,
    }
}

/// Folds one event into the view of the reservation it is about. Shared by the projector and
/// by time travel, so both read the log the same way.
pub fn apply_reservation(view: &mut Option<ReservationView>, resource_id: Uuid, event: &ResourceEvent) {
    use ResourceEvent::*;
    match event {
        ReservationConfirmed { reservation_id, user_id, range, series_id, at } => {
            let mut v = created(resource_id, *reservation_id, *user_id, *range, ReservationStatus::Confirmed, *at);
            v.series_id = *series_id;
            *view = Some(v);
            return;
        }
        ReservationRequested { reservation_id, user_id, range, series_id, approval_deadline, at } => {
            let status = ReservationStatus::PendingApproval;
            let mut v = created(resource_id, *reservation_id, *user_id, *range, status, *at);
            v.series_id = *series_id;
            v.approval_deadline = Some(*approval_deadline);
            *view = Some(v);
            return;
        }
        WaitlistOfferMade { reservation_id, entry_id, user_id, range, expires_at, at } => {
            let mut v = created(resource_id, *reservation_id, *user_id, *range, ReservationStatus::Offered, *at);
            v.offer_expires_at = Some(*expires_at);
            v.waitlist_entry_id = Some(*entry_id);
            *view = Some(v);
            return;
        }
        _ => {}
    }
    let Some(v) = view.as_mut() else { return };
    v.updated_at = event.at();
    match event {
        ReservationCancelled { by, reason, .. } => {
            v.status = ReservationStatus::Cancelled;
            v.decided_by = Some(*by);
            v.comment = reason.clone();
        }
        ReservationApproved { approver, comment, .. } => {
            v.status = ReservationStatus::Confirmed;
            v.decided_by = Some(*approver);
            v.comment = Some(comment.clone());
        }
        ReservationRejected { approver, comment, .. } => {
            v.status = ReservationStatus::Rejected;
            v.decided_by = Some(*approver);
            v.comment = Some(comment.clone());
        }
        ApprovalExpired { .. } => v.status = ReservationStatus::ApprovalExpired,
        WaitlistOfferAccepted { approval_deadline: None, .. } => v.status = ReservationStatus::Confirmed,
        WaitlistOfferAccepted { approval_deadline: Some(deadline), .. } => {
            v.status = ReservationStatus::PendingApproval;
            v.approval_deadline = Some(*deadline);
        }
        WaitlistOfferDeclined { .. } => v.status = ReservationStatus::OfferDeclined,
        WaitlistOfferExpired { .. } => v.status = ReservationStatus::OfferExpired,
        CheckedIn { at, .. } => v.checked_in_at = Some(*at),
        NoShowReleased { .. } => v.status = ReservationStatus::NoShowReleased,
        ReservationCompleted { .. } => v.status = ReservationStatus::Completed,
        _ => {}
    }
}

/// Stable snake_case name of a status, as stored and filtered on.
pub fn status_label(status: ReservationStatus) -> &'static str {
    use ReservationStatus::*;
    match status {
        PendingApproval => "pending_approval",
        Confirmed => "confirmed",
        Offered => "offered",
        Cancelled => "cancelled",
        Rejected => "rejected",
        ApprovalExpired => "approval_expired",
        OfferDeclined => "offer_declined",
        OfferExpired => "offer_expired",
        NoShowReleased => "no_show_released",
        Completed => "completed",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn view(filled: bool) -> ReservationView {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 9, 0, 0).single().unwrap_or_default();
        let range = TimeRange::new(at, at + chrono::Duration::hours(1)).unwrap_or_else(|_| unreachable!());
        let some_id = |n: u128| filled.then_some(Uuid::from_u128(n));
        ReservationView {
            reservation_id: Uuid::from_u128(1),
            resource_id: Uuid::from_u128(2),
            user_id: Uuid::from_u128(3),
            series_id: some_id(4),
            range,
            status: ReservationStatus::Cancelled,
            created_at: at,
            updated_at: at + chrono::Duration::minutes(5),
            approval_deadline: filled.then_some(at),
            offer_expires_at: filled.then_some(at),
            waitlist_entry_id: some_id(5),
            checked_in_at: filled.then_some(at),
            decided_by: some_id(6),
            comment: filled.then(|| "no \"null\" here".to_string()),
        }
    }

    #[test]
    fn the_stored_form_reads_back_as_the_view() {
        for filled in [true, false] {
            let view = view(filled);
            let stored = serde_json::to_string(&StoredReservation::from(&view)).unwrap_or_default();
            assert_eq!(serde_json::from_str::<ReservationView>(&stored).ok(), Some(view.clone()), "{stored}");
            assert!(!stored.contains(":null"), "{stored}");
            // The view itself, as the API shows it, keeps its nulls.
            let shown = serde_json::to_string(&view).unwrap_or_default();
            assert_eq!(shown.contains("\"comment\":null"), !filled, "{shown}");
        }
    }
}

//! Facts recorded in a resource stream. Names are stable storage keys; each
//! event carries what is needed to rebuild state and read models.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::policy::BookingPolicy;
use crate::recurrence::{OccurrenceReport, SeriesPolicy};
use crate::resource::state::{ResourceDetails, ResourceStatus};
use crate::schedule_rules::{Blackout, BusinessHours};
use crate::time_range::TimeRange;

/// One recorded fact about a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // field names are self-explanatory and documented in docs/domain.md
pub enum ResourceEvent {
    /// The stream's first event.
    ResourceCreated {
        resource_id: Uuid,
        details: ResourceDetails,
        capacity: u32,
        time_zone: Tz,
        policy: BookingPolicy,
        business_hours: Option<BusinessHours>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Details, capacity, zone or policy replaced.
    ResourceUpdated {
        details: ResourceDetails,
        capacity: u32,
        time_zone: Tz,
        policy: BookingPolicy,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Out of service for good.
    ResourceRetired { reason: String, by: Uuid, at: DateTime<Utc> },
    /// Opening hours replaced.
    BusinessHoursSet { hours: Option<BusinessHours>, by: Uuid, at: DateTime<Utc> },
    /// A period was blocked.
    BlackoutAdded { blackout: Blackout, by: Uuid, at: DateTime<Utc> },
    /// A blocked period was lifted.
    BlackoutRemoved { blackout_id: Uuid, by: Uuid, at: DateTime<Utc> },
    /// The resource's named approvers replaced (empty: none named).
    ApproversSet { approvers: Vec<Uuid>, by: Uuid, at: DateTime<Utc> },
    /// Available / maintenance switch.
    ResourceStatusChanged { status: ResourceStatus, by: Uuid, at: DateTime<Utc> },
    /// A booking was confirmed directly.
    ReservationConfirmed {
        reservation_id: Uuid,
        user_id: Uuid,
        range: TimeRange,
        series_id: Option<Uuid>,
        at: DateTime<Utc>,
    },
    /// A booking awaits approval (holds its unit meanwhile).
    ReservationRequested {
        reservation_id: Uuid,
        user_id: Uuid,
        range: TimeRange,
        series_id: Option<Uuid>,
        approval_deadline: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Summary of a recurring booking; each booked occurrence also has its
    /// own confirmed/requested event. With `rrule`, `dtstart`, `exdates`,
    /// `duration_minutes` and `time_zone` the series can be expanded again
    /// exactly as it was booked (e.g. for RFC 5545 `DTSTART;TZID=`, `RRULE`
    /// and `EXDATE`), even after the resource's zone changes. Events recorded
    /// before those four were added decode with `None` / empty.
    SeriesBooked {
        series_id: Uuid,
        user_id: Uuid,
        rrule: String,
        policy: SeriesPolicy,
        occurrences: Vec<OccurrenceReport>,
        #[serde(default)]
        dtstart: Option<NaiveDateTime>,
        #[serde(default)]
        duration_minutes: Option<u32>,
        #[serde(default)]
        exdates: Vec<NaiveDateTime>,
        #[serde(default)]
        time_zone: Option<Tz>,
        at: DateTime<Utc>,
    },
    /// Cancelled by owner or admin.
    ReservationCancelled { reservation_id: Uuid, user_id: Uuid, by: Uuid, reason: Option<String>, at: DateTime<Utc> },
    /// Pending request accepted.
    ReservationApproved { reservation_id: Uuid, user_id: Uuid, approver: Uuid, comment: String, at: DateTime<Utc> },
    /// Pending request refused.
    ReservationRejected { reservation_id: Uuid, user_id: Uuid, approver: Uuid, comment: String, at: DateTime<Utc> },
    /// Pending request timed out.
    ApprovalExpired { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// Someone started waiting.
    WaitlistJoined { entry_id: Uuid, user_id: Uuid, desired: TimeRange, flex_minutes: u32, at: DateTime<Utc> },
    /// Someone stopped waiting.
    WaitlistLeft { entry_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// A freed slot is held for a waitlist entry (which leaves the list).
    WaitlistOfferMade {
        reservation_id: Uuid,
        entry_id: Uuid,
        user_id: Uuid,
        range: TimeRange,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Offer taken; the reservation is confirmed, or, with `approval_deadline` (a resource
    /// requiring approval), awaits an approver until then like any request there. Events
    /// recorded before the field existed decode with `None`.
    WaitlistOfferAccepted {
        reservation_id: Uuid,
        user_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval_deadline: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    /// Offer refused.
    WaitlistOfferDeclined { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// Offer not answered in time.
    WaitlistOfferExpired { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// Owner showed up.
    CheckedIn { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// Unit released because nobody checked in.
    NoShowReleased { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
    /// Finished.
    ReservationCompleted { reservation_id: Uuid, user_id: Uuid, at: DateTime<Utc> },
}

impl ResourceEvent {
    /// The `type` of every event [`reservation_id`](Self::reservation_id) answers for: each
    /// carries the reservation as its top-level `reservation_id`, and no other resource event
    /// has that field at its top level. The log's index of a reservation's events (migration
    /// 0021) is limited to these types; a new kind about a reservation is added here and to the
    /// index by a migration.
    pub const RESERVATION_EVENT_TYPES: [&'static str; 13] = [
        "reservation_confirmed",
        "reservation_requested",
        "reservation_cancelled",
        "reservation_approved",
        "reservation_rejected",
        "approval_expired",
        "waitlist_offer_made",
        "waitlist_offer_accepted",
        "waitlist_offer_declined",
        "waitlist_offer_expired",
        "checked_in",
        "no_show_released",
        "reservation_completed",
    ];

    /// The `type` of every event that [creates](Self::creates_reservation) a reservation.
    pub const RESERVATION_CREATING_TYPES: [&'static str; 3] =
        ["reservation_confirmed", "reservation_requested", "waitlist_offer_made"];

    /// The reservation an event is about, if any.
    pub fn reservation_id(&self) -> Option<Uuid> {
        use ResourceEvent::*;
        match self {
            ReservationConfirmed { reservation_id, .. }
            | ReservationRequested { reservation_id, .. }
            | ReservationCancelled { reservation_id, .. }
            | ReservationApproved { reservation_id, .. }
            | ReservationRejected { reservation_id, .. }
            | ApprovalExpired { reservation_id, .. }
            | WaitlistOfferMade { reservation_id, .. }
            | WaitlistOfferAccepted { reservation_id, .. }
            | WaitlistOfferDeclined { reservation_id, .. }
            | WaitlistOfferExpired { reservation_id, .. }
            | CheckedIn { reservation_id, .. }
            | NoShowReleased { reservation_id, .. }
            | ReservationCompleted { reservation_id, .. } => Some(*reservation_id),
            _ => None,
        }
    }

    /// Whether this event brings a reservation into being (a booking, a held request, an offer):
    /// nothing about that reservation can precede it.
    pub fn creates_reservation(&self) -> bool {
        use ResourceEvent::*;
        matches!(self, ReservationConfirmed { .. } | ReservationRequested { .. } | WaitlistOfferMade { .. })
    }

    /// Stable storage name, identical to the serialized `type` tag.
    pub fn event_type(&self) -> &'static str {
        use ResourceEvent::*;
        match self {
            ResourceCreated { .. } => "resource_created",
            ResourceUpdated { .. } => "resource_updated",
            ResourceRetired { .. } => "resource_retired",
            BusinessHoursSet { .. } => "business_hours_set",
            BlackoutAdded { .. } => "blackout_added",
            BlackoutRemoved { .. } => "blackout_removed",
            ApproversSet { .. } => "approvers_set",
            ResourceStatusChanged { .. } => "resource_status_changed",
            ReservationConfirmed { .. } => "reservation_confirmed",
            ReservationRequested { .. } => "reservation_requested",
            SeriesBooked { .. } => "series_booked",
            ReservationCancelled { .. } => "reservation_cancelled",
            ReservationApproved { .. } => "reservation_approved",
            ReservationRejected { .. } => "reservation_rejected",
            ApprovalExpired { .. } => "approval_expired",
            WaitlistJoined { .. } => "waitlist_joined",
            WaitlistLeft { .. } => "waitlist_left",
            WaitlistOfferMade { .. } => "waitlist_offer_made",
            WaitlistOfferAccepted { .. } => "waitlist_offer_accepted",
            WaitlistOfferDeclined { .. } => "waitlist_offer_declined",
            WaitlistOfferExpired { .. } => "waitlist_offer_expired",
            CheckedIn { .. } => "checked_in",
            NoShowReleased { .. } => "no_show_released",
            ReservationCompleted { .. } => "reservation_completed",
        }
    }

    /// When the fact happened.
    pub fn at(&self) -> DateTime<Utc> {
        use ResourceEvent::*;
        match self {
            ResourceCreated { at, .. }
            | ResourceUpdated { at, .. }
            | ResourceRetired { at, .. }
            | BusinessHoursSet { at, .. }
            | BlackoutAdded { at, .. }
            | BlackoutRemoved { at, .. }
            | ApproversSet { at, .. }
            | ResourceStatusChanged { at, .. }
            | ReservationConfirmed { at, .. }
            | ReservationRequested { at, .. }
            | SeriesBooked { at, .. }
            | ReservationCancelled { at, .. }
            | ReservationApproved { at, .. }
            | ReservationRejected { at, .. }
            | ApprovalExpired { at, .. }
            | WaitlistJoined { at, .. }
            | WaitlistLeft { at, .. }
            | WaitlistOfferMade { at, .. }
            | WaitlistOfferAccepted { at, .. }
            | WaitlistOfferDeclined { at, .. }
            | WaitlistOfferExpired { at, .. }
            | CheckedIn { at, .. }
            | NoShowReleased { at, .. }
            | ReservationCompleted { at, .. } => *at,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::recurrence::OccurrenceOutcome;

    /// One event of every kind about a reservation, and a series booking (which names
    /// reservations only inside its occurrences).
    fn samples(id: Uuid) -> Vec<ResourceEvent> {
        use ResourceEvent::*;
        let at = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap();
        let range = TimeRange::new(at, at + chrono::Duration::hours(1)).unwrap();
        let (user_id, series_id) = (Uuid::from_u128(7), Uuid::from_u128(8));
        vec![
            ReservationConfirmed { reservation_id: id, user_id, range, series_id: None, at },
            ReservationRequested { reservation_id: id, user_id, range, series_id: None, approval_deadline: at, at },
            ReservationCancelled { reservation_id: id, user_id, by: user_id, reason: Some("x".into()), at },
            ReservationApproved { reservation_id: id, user_id, approver: user_id, comment: "ok".into(), at },
            ReservationRejected { reservation_id: id, user_id, approver: user_id, comment: "no".into(), at },
            ApprovalExpired { reservation_id: id, user_id, at },
            WaitlistOfferMade { reservation_id: id, entry_id: series_id, user_id, range, expires_at: at, at },
            WaitlistOfferAccepted { reservation_id: id, user_id, approval_deadline: None, at },
            WaitlistOfferDeclined { reservation_id: id, user_id, at },
            WaitlistOfferExpired { reservation_id: id, user_id, at },
            CheckedIn { reservation_id: id, user_id, at },
            NoShowReleased { reservation_id: id, user_id, at },
            ReservationCompleted { reservation_id: id, user_id, at },
            SeriesBooked {
                series_id,
                user_id,
                rrule: "FREQ=DAILY;COUNT=1".into(),
                policy: SeriesPolicy::SkipConflicts,
                occurrences: vec![OccurrenceReport {
                    local_start: at.naive_utc(),
                    range,
                    outcome: OccurrenceOutcome::Booked { reservation_id: id },
                }],
                dtstart: None,
                duration_minutes: None,
                exdates: Vec::new(),
                time_zone: None,
                at,
            },
        ]
    }

    #[test]
    fn the_reservation_event_types_are_exactly_those_naming_a_reservation_at_the_top() {
        let id = Uuid::from_u128(42);
        let mut named = Vec::new();
        for event in samples(id) {
            let json = serde_json::to_value(&event).unwrap();
            let listed = ResourceEvent::RESERVATION_EVENT_TYPES.contains(&event.event_type());
            assert_eq!(event.reservation_id().is_some(), listed, "{}", event.event_type());
            assert_eq!(json.get("reservation_id").is_some(), listed, "{json}");
            let creating = ResourceEvent::RESERVATION_CREATING_TYPES.contains(&event.event_type());
            assert_eq!(event.creates_reservation(), creating, "{}", event.event_type());
            if listed {
                assert_eq!(json["reservation_id"], id.to_string());
                // What the log's index on PostgreSQL cuts out of the stored text.
                let text = serde_json::to_string(&event).unwrap();
                assert_eq!(text.matches("\"reservation_id\":\"").count(), 1, "{text}");
                assert!(text.contains(&format!("\"reservation_id\":\"{id}\"")), "{text}");
                named.push(event.event_type());
            }
        }
        assert_eq!(named, ResourceEvent::RESERVATION_EVENT_TYPES);
    }
}

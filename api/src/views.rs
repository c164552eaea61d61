//! JSON shapes of the API, kept compatible with the seed system's field names. They are the
//! bodies themselves and their schemas, so the document describes what is sent.

use chrono::{DateTime, Utc};
use reserver_domain::resource::{ReservationStatus, ResourceKind};
use reserver_domain::schedule_rules::BusinessHours;
use reserver_domain::{BookingPolicy, ResourceEvent, TimeRange};
use reserver_projections::catalog::ResourceView;
use reserver_projections::reservations::{status_label, ReservationView};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api_doc::schemas;

/// A bookable resource.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Resource)]
pub struct ResourceBody {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = schemas::ResourceKind)]
    pub kind: ResourceKind,
    pub tags: Vec<String>,
    pub description: String,
    pub location: String,
    pub group_id: Option<Uuid>,
    /// How many bookings may overlap.
    pub capacity: u32,
    /// IANA zone of business hours and local times, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// `available`, `maintenance` or `retired`.
    #[schema(example = "available")]
    pub status: &'static str,
    /// `status == "available"`.
    pub available: bool,
    pub retired: bool,
    #[schema(value_type = schemas::BookingPolicy)]
    pub policy: BookingPolicy,
    #[schema(value_type = Option<schemas::BusinessHours>)]
    pub business_hours: Option<BusinessHours>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn resource(v: &ResourceView) -> ResourceBody {
    ResourceBody {
        id: v.resource_id,
        name: v.name.clone(),
        kind: v.kind,
        tags: v.tags.clone(),
        description: v.description.clone(),
        location: v.location.clone(),
        group_id: v.group_id,
        capacity: v.capacity,
        time_zone: v.time_zone.name().to_string(),
        status: v.status_label(),
        available: v.status_label() == "available",
        retired: v.retired,
        policy: v.policy.clone(),
        business_hours: v.business_hours.clone(),
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

/// A reservation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Reservation)]
pub struct ReservationBody {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    /// The recurring series it belongs to.
    pub series_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    #[schema(value_type = schemas::ReservationStatus)]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While `pending_approval`: when the request expires unanswered.
    pub approval_deadline: Option<DateTime<Utc>>,
    /// While `offered`: when the waitlist offer expires.
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Cancellation reason or approver comment.
    pub comment: Option<String>,
}

pub fn reservation(v: &ReservationView) -> ReservationBody {
    ReservationBody {
        id: v.reservation_id,
        resource_id: v.resource_id,
        user_id: v.user_id,
        series_id: v.series_id,
        start_time: v.range.start(),
        end_time: v.range.end(),
        status: status_label(v.status),
        created_at: v.created_at,
        updated_at: v.updated_at,
        approval_deadline: v.approval_deadline,
        offer_expires_at: v.offer_expires_at,
        checked_in_at: v.checked_in_at,
        comment: v.comment.clone(),
    }
}

/// A reservation as a command's own events describe it (no read-model round trip on the hot path).
pub fn reservation_from_events(resource_id: Uuid, events: &[ResourceEvent]) -> Option<ReservationBody> {
    events.iter().find_map(|e| {
        let (id, user, range, series, status, at, deadline): (Uuid, Uuid, TimeRange, _, _, _, _) = match e {
            ResourceEvent::ReservationConfirmed { reservation_id, user_id, range, series_id, at } => {
                (*reservation_id, *user_id, *range, *series_id, ReservationStatus::Confirmed, *at, None)
            }
            ResourceEvent::ReservationRequested {
                reservation_id,
                user_id,
                range,
                series_id,
                approval_deadline,
                at,
            } => (
                *reservation_id,
                *user_id,
                *range,
                *series_id,
                ReservationStatus::PendingApproval,
                *at,
                Some(*approval_deadline),
            ),
            _ => return None,
        };
        Some(ReservationBody {
            id,
            resource_id,
            user_id: user,
            series_id: series,
            start_time: range.start(),
            end_time: range.end(),
            status: status_label(status),
            created_at: at,
            updated_at: at,
            approval_deadline: deadline,
            offer_expires_at: None,
            checked_in_at: None,
            comment: None,
        })
    })
}

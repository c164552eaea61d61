//! JSON shapes of the API, kept compatible with the seed system's field names.

use reserver_domain::resource::ReservationStatus;
use reserver_domain::{ResourceEvent, TimeRange};
use reserver_projections::catalog::ResourceView;
use reserver_projections::reservations::{status_label, ReservationView};
use serde_json::{json, Value};
use uuid::Uuid;

pub fn resource(v: &ResourceView) -> Value {
    json!({
        "id": v.resource_id,
        "name": v.name,
        "kind": v.kind,
        "tags": v.tags,
        "description": v.description,
        "location": v.location,
        "group_id": v.group_id,
        "capacity": v.capacity,
        "time_zone": v.time_zone.name(),
        "status": v.status_label(),
        "available": v.status_label() == "available",
        "retired": v.retired,
        "policy": v.policy,
        "business_hours": v.business_hours,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
    })
}

pub fn reservation(v: &ReservationView) -> Value {
    json!({
        "id": v.reservation_id,
        "resource_id": v.resource_id,
        "user_id": v.user_id,
        "series_id": v.series_id,
        "start_time": v.range.start(),
        "end_time": v.range.end(),
        "status": status_label(v.status),
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "approval_deadline": v.approval_deadline,
        "offer_expires_at": v.offer_expires_at,
        "checked_in_at": v.checked_in_at,
        "comment": v.comment,
    })
}

/// A reservation as a command's own events describe it (no read-model round trip on the hot path).
pub fn reservation_from_events(resource_id: Uuid, events: &[ResourceEvent]) -> Option<Value> {
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
        Some(json!({
            "id": id,
            "resource_id": resource_id,
            "user_id": user,
            "series_id": series,
            "start_time": range.start(),
            "end_time": range.end(),
            "status": status_label(status),
            "created_at": at,
            "updated_at": at,
            "approval_deadline": deadline,
        }))
    })
}

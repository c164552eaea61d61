//! The public event catalog: what the log looks like to the outside — WebSocket subscribers and
//! webhook receivers. Each recorded event that concerns someone outside becomes one
//! [`PublicEvent`] with a stable dotted name (`reservation.created`), a JSON `data` object and
//! the audience allowed to see it. Private facts (password hashes, login attempts, sessions,
//! idempotency records) never leave, and every payload passes the redaction rule
//! ([`crate::redaction`]).
//!
//! Both outward channels use this one mapping, so a WebSocket client and a webhook receiver
//! see the same names and payloads for the same log position.

use chrono::{DateTime, Utc};
use reserver_domain::group::GroupEvent;
use reserver_domain::user::UserEvent;
use reserver_domain::{ResourceEvent, Role};
use reserver_store::RecordedEvent;
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::decode::{decode, DomainEvent};

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every signed-in account (resource and group changes).
    Everyone,
    /// These accounts, plus admins.
    Users(Vec<Uuid>),
    /// These accounts, plus approvers and admins (approval requests).
    UsersAndApprovers(Vec<Uuid>),
    /// Admins only.
    Admins,
}

impl Audience {
    /// Whether an account with this id and role may see the event.
    pub fn admits(&self, user_id: Uuid, role: Role) -> bool {
        if role == Role::Admin {
            return true;
        }
        match self {
            Audience::Everyone => true,
            Audience::Users(users) => users.contains(&user_id),
            Audience::UsersAndApprovers(users) => role == Role::Approver || users.contains(&user_id),
            Audience::Admins => false,
        }
    }
}

/// One event as the outside sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicEvent {
    /// Log position: resume after it with `from_position`.
    pub position: u64,
    /// The log's event id; stable across redeliveries.
    pub event_id: Uuid,
    /// Dotted name, e.g. `reservation.created` (webhooks use it as `type`).
    pub name: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
    #[serde(skip)]
    pub audience: Audience,
}

impl PublicEvent {
    /// The WebSocket name: the dotted name with `_` (`reservation_created`), except the names
    /// existing clients already know (`approval_request`, `waitlist_offer`).
    pub fn socket_name(&self) -> String {
        match self.name {
            "approval.requested" => "approval_request".to_string(),
            "waitlist.offer" => "waitlist_offer".to_string(),
            other => other.replace('.', "_"),
        }
    }
}

/// Every dotted name [`publish`] can produce, with a one-line description: the catalog served
/// at `/api/v1/webhooks/events` and documented in `docs/webhooks.md`.
pub const CATALOG: &[(&str, &str)] = &[
    ("reservation.created", "A booking was confirmed"),
    ("approval.requested", "A booking awaits approval and holds its slot"),
    ("reservation.series_created", "A recurring booking was made (one event per series)"),
    ("reservation.cancelled", "A booking was cancelled"),
    ("reservation.approved", "A pending booking was approved"),
    ("reservation.rejected", "A pending booking was rejected"),
    ("reservation.expired", "A pending booking was not decided in time"),
    ("reservation.checked_in", "The owner checked in"),
    ("reservation.no_show", "Nobody checked in; the slot was released"),
    ("reservation.completed", "A booking ended"),
    ("reservation.reminder", "A booking starts soon"),
    ("waitlist.joined", "Someone joined a waitlist"),
    ("waitlist.left", "Someone left a waitlist"),
    ("waitlist.offer", "A freed slot is offered to a waitlist entry"),
    ("waitlist.accepted", "An offer was accepted; the booking is confirmed"),
    ("waitlist.declined", "An offer was declined"),
    ("waitlist.expired", "An offer was not answered in time"),
    ("resource.created", "A resource was added"),
    ("resource.updated", "A resource's details, hours or blackouts changed"),
    ("resource.status_changed", "A resource went into or out of maintenance"),
    ("resource.deleted", "A resource was retired"),
    ("resource_group.created", "A resource group was created"),
    ("resource_group.updated", "A resource group was renamed or moved"),
    ("resource_group.deleted", "A resource group was deleted"),
    ("user.created", "An account was registered"),
    ("user.role_changed", "An account's role changed"),
    ("user.locked_out", "An account was locked after failed logins"),
];

/// Reminder events, appended by the reminder loop into `reminder-{reservation}-{start}` streams.
pub const REMINDER_EVENT_TYPE: &str = "reservation_reminder";

/// The public form of a recorded event, or `None` when it is not for the outside.
pub fn publish(event: &RecordedEvent) -> Option<PublicEvent> {
    let (name, data, audience) = if event.event_type == REMINDER_EVENT_TYPE {
        reminder(event)?
    } else {
        match decode(event)? {
            DomainEvent::Resource { resource_id, event } => resource(resource_id, &event)?,
            DomainEvent::User { user_id, event } => user(user_id, &event)?,
            DomainEvent::Group { group_id, event } => group(group_id, &event),
        }
    };
    // The catalog above copies no secret; the rule is still applied to all that leaves.
    let mut data = data;
    crate::redaction::redact_value(&mut data);
    Some(PublicEvent {
        position: event.position,
        event_id: event.event_id,
        name,
        occurred_at: event.recorded_at,
        data,
        audience,
    })
}

type Published = (&'static str, Value, Audience);

/// The event's own fields (without the `type` tag) plus `resource_id`.
fn fields(resource_id: Uuid, event: &ResourceEvent) -> Value {
    let mut data = match serde_json::to_value(event) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    data.remove("type");
    data.insert("resource_id".into(), json!(resource_id));
    Value::Object(data)
}

fn resource(resource_id: Uuid, event: &ResourceEvent) -> Option<Published> {
    use ResourceEvent::*;
    let owner = |user: &Uuid| Audience::Users(vec![*user]);
    let (name, audience) = match event {
        ResourceCreated { .. } => ("resource.created", Audience::Everyone),
        ResourceUpdated { .. }
        | BusinessHoursSet { .. }
        | BlackoutAdded { .. }
        | BlackoutRemoved { .. }
        | ApproversSet { .. } => ("resource.updated", Audience::Everyone),
        ResourceStatusChanged { .. } => ("resource.status_changed", Audience::Everyone),
        ResourceRetired { .. } => ("resource.deleted", Audience::Everyone),
        ReservationConfirmed { user_id, .. } => ("reservation.created", owner(user_id)),
        ReservationRequested { user_id, .. } => ("approval.requested", Audience::UsersAndApprovers(vec![*user_id])),
        SeriesBooked { user_id, .. } => ("reservation.series_created", owner(user_id)),
        ReservationCancelled { user_id, .. } => ("reservation.cancelled", owner(user_id)),
        ReservationApproved { user_id, .. } => ("reservation.approved", owner(user_id)),
        ReservationRejected { user_id, .. } => ("reservation.rejected", owner(user_id)),
        ApprovalExpired { user_id, .. } => ("reservation.expired", owner(user_id)),
        WaitlistJoined { user_id, .. } => ("waitlist.joined", owner(user_id)),
        WaitlistLeft { user_id, .. } => ("waitlist.left", owner(user_id)),
        WaitlistOfferMade { user_id, .. } => ("waitlist.offer", owner(user_id)),
        WaitlistOfferAccepted { user_id, .. } => ("waitlist.accepted", owner(user_id)),
        WaitlistOfferDeclined { user_id, .. } => ("waitlist.declined", owner(user_id)),
        WaitlistOfferExpired { user_id, .. } => ("waitlist.expired", owner(user_id)),
        CheckedIn { user_id, .. } => ("reservation.checked_in", owner(user_id)),
        NoShowReleased { user_id, .. } => ("reservation.no_show", owner(user_id)),
        ReservationCompleted { user_id, .. } => ("reservation.completed", owner(user_id)),
    };
    Some((name, fields(resource_id, event), audience))
}

fn user(user_id: Uuid, event: &UserEvent) -> Option<Published> {
    match event {
        // Deliberately field by field: the event also holds the password hash.
        UserEvent::Registered { username, role, at, .. } => Some((
            "user.created",
            json!({ "user_id": user_id, "username": username, "role": role, "at": at }),
            Audience::Admins,
        )),
        UserEvent::RoleGranted { role, by, at } => Some((
            "user.role_changed",
            json!({ "user_id": user_id, "role": role, "by": by, "at": at }),
            Audience::Users(vec![user_id]),
        )),
        UserEvent::LockedOut { until, at } => {
            Some(("user.locked_out", json!({ "user_id": user_id, "locked_until": until, "at": at }), Audience::Admins))
        }
        _ => None,
    }
}

fn group(group_id: Uuid, event: &GroupEvent) -> Published {
    let name = match event {
        GroupEvent::GroupCreated { .. } => "resource_group.created",
        GroupEvent::GroupRenamed { .. } | GroupEvent::GroupMoved { .. } | GroupEvent::GroupApproversSet { .. } => {
            "resource_group.updated"
        }
        GroupEvent::GroupDeleted { .. } => "resource_group.deleted",
    };
    let mut data = match serde_json::to_value(event) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    data.remove("type");
    data.insert("group_id".into(), json!(group_id));
    (name, Value::Object(data), Audience::Everyone)
}

/// A reminder's payload is written by the reminder loop already in public form; it names its
/// recipient in `user_id`.
fn reminder(event: &RecordedEvent) -> Option<Published> {
    let data: Value = serde_json::from_str(&event.payload).ok()?;
    let user_id = data.get("user_id")?.as_str().and_then(|s| Uuid::parse_str(s).ok())?;
    Some(("reservation.reminder", data, Audience::Users(vec![user_id])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_admits_owners_approvers_and_admins() {
        let owner = Uuid::new_v4();
        let other = Uuid::new_v4();
        let users = Audience::Users(vec![owner]);
        assert!(users.admits(owner, Role::User));
        assert!(!users.admits(other, Role::User));
        assert!(!users.admits(other, Role::Approver));
        assert!(users.admits(other, Role::Admin));
        let approvals = Audience::UsersAndApprovers(vec![owner]);
        assert!(approvals.admits(other, Role::Approver));
        assert!(!approvals.admits(other, Role::Auditor));
        assert!(!Audience::Admins.admits(owner, Role::User));
        assert!(Audience::Everyone.admits(other, Role::Guest));
    }

    #[test]
    fn socket_names_keep_the_names_clients_know() {
        let event = |name| PublicEvent {
            position: 1,
            event_id: Uuid::nil(),
            name,
            occurred_at: Utc::now(),
            data: Value::Null,
            audience: Audience::Everyone,
        };
        assert_eq!(event("reservation.created").socket_name(), "reservation_created");
        assert_eq!(event("approval.requested").socket_name(), "approval_request");
        assert_eq!(event("waitlist.offer").socket_name(), "waitlist_offer");
        assert_eq!(event("resource.status_changed").socket_name(), "resource_status_changed");
    }
}

//! Facts every decision is made against: the current time and who is asking.
//! Passed in by the caller so the domain never reads a clock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Coarse permission level of an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages resources and may act on anyone's reservations.
    Admin,
    /// Approves or rejects pending requests; books like a user.
    Approver,
    /// Read-only oversight; may not book.
    Auditor,
    /// Books and manages their own reservations.
    User,
    /// Read-only visitor; may not book.
    Guest,
}

impl Role {
    /// Roles allowed to create bookings and join waitlists.
    pub fn may_book(self) -> bool {
        matches!(self, Role::Admin | Role::Approver | Role::User)
    }
    /// Roles allowed to approve or reject pending requests.
    pub fn may_approve(self) -> bool {
        matches!(self, Role::Admin | Role::Approver)
    }
}

/// The authenticated party issuing a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Who.
    pub user_id: Uuid,
    /// With which permissions.
    pub role: Role,
}

/// Everything outside the aggregate that a decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionContext {
    /// The instant the decision is made at; also stamped on emitted events.
    pub now: DateTime<Utc>,
    /// Who is asking.
    pub actor: Actor,
}

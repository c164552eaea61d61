//! Timed follow-ups a scheduler must send: the domain lists them, the
//! scheduler delivers them at `due_at`, and stale ones decide to no events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::resource::command::ResourceCommand;
use crate::resource::state::{Reservation, ReservationStatus, ResourceState};
use crate::time_range::saturating_add;

/// A command to send once `due_at` has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// Earliest instant the command is accepted.
    pub due_at: DateTime<Utc>,
    /// What to send.
    pub command: ResourceCommand,
}

/// Every pending timed command for this resource, earliest first.
pub fn deadlines(state: &ResourceState) -> Vec<Deadline> {
    let mut due: Vec<Deadline> = state.reservations.values().flat_map(|r| reservation_deadlines(state, r)).collect();
    due.sort_by_key(|d| d.due_at);
    due
}

/// The pending timed commands about one reservation of this resource.
pub fn reservation_deadlines(state: &ResourceState, reservation: &Reservation) -> Vec<Deadline> {
    let reservation_id = reservation.id;
    let mut due = Vec::new();
    match reservation.status {
        ReservationStatus::PendingApproval => {
            if let Some(deadline) = reservation.approval_deadline {
                due.push(Deadline { due_at: deadline, command: ResourceCommand::ExpireApproval { reservation_id } });
            }
        }
        ReservationStatus::Offered => {
            if let Some(expires_at) = reservation.offer_expires_at {
                due.push(Deadline { due_at: expires_at, command: ResourceCommand::ExpireOffer { reservation_id } });
            }
        }
        ReservationStatus::Confirmed => {
            let checkin = state.resource.as_ref().map(|r| (r.policy.checkin_required, r.policy.checkin_window()));
            if let Some((true, window)) = checkin {
                if reservation.checked_in_at.is_none() {
                    due.push(Deadline {
                        due_at: saturating_add(reservation.range.start(), window),
                        command: ResourceCommand::ReleaseNoShow { reservation_id },
                    });
                }
            }
            due.push(Deadline {
                due_at: reservation.range.end(),
                command: ResourceCommand::Complete { reservation_id },
            });
        }
        _ => {}
    }
    due
}

/// Every command [`reservation_deadlines`] can ever produce for a reservation, whatever its
/// state: what a scheduler compares against when only that reservation changed.
pub fn possible_deadline_commands(reservation_id: Uuid) -> [ResourceCommand; 4] {
    [
        ResourceCommand::ExpireApproval { reservation_id },
        ResourceCommand::ExpireOffer { reservation_id },
        ResourceCommand::ReleaseNoShow { reservation_id },
        ResourceCommand::Complete { reservation_id },
    ]
}

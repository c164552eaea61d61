//! The resource aggregate: one event stream per bookable resource, the
//! consistency boundary for "never double-book".

mod booking;
pub mod command;
pub mod deadlines;
mod decide;
pub mod details;
pub mod event;
pub mod evolve;
mod lifecycle;
pub mod reservations;
pub mod rules;
pub mod state;
pub mod waitlist;

pub use command::{ResourceCommand, SeriesCancelScope};
pub use deadlines::{deadlines, possible_deadline_commands, reservation_deadlines, Deadline};
pub use decide::{decide, MAX_NAMED_APPROVERS};
pub use event::ResourceEvent;
pub use evolve::evolve;
pub use lifecycle::named_approvers;
pub use reservations::Reservations;
pub use state::{
    Reservation, ReservationStatus, Resource, ResourceDetails, ResourceKind, ResourceState, ResourceStatus,
    WaitlistEntry,
};

/// Event-store stream name of a resource.
pub fn stream_id(resource_id: uuid::Uuid) -> String {
    format!("resource-{resource_id}")
}

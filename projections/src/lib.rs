//! The read side of Resource Reserver: projectors that follow the event log from a checkpoint
//! and build the read models that queries use, in the same database as the log.
//!
//! * [`runtime`] — checkpoints, catch-up then live, rebuild, status and lag
//!   ([`secondary_indexes`]: set aside while a rebuild fills the tables); `handle` —
//!   [`ProjectionRuntime::start`] and read-your-writes ([`ProjectionHandle::wait_for`]);
//!   [`faults`] — projectors stuck on an event they cannot apply.
//! * [`page`] — cursors bound to the list that issued them; [`sql`] — both backends, text
//!   made storable; [`redaction`] — the one rule keeping secrets out of everything outward.
//! * [`catalog`], [`reservations`], [`availability`], [`users`], [`notifications`],
//!   [`analytics`], [`audit`] — read models and their query functions.
//! * [`time_travel`] — a resource's schedule as of a past instant, from the log.
//!
//! Every query takes the store's [`reserver_store::Database`] (`store.database()`).

pub mod analytics;
pub mod approver_routes;
pub mod audit;
pub mod availability;
pub mod catalog;
pub mod decode;
mod error;
pub mod faults;
mod handle;
pub mod notifications;
pub mod page;
pub mod public_events;
pub mod redaction;
pub mod reservations;
pub mod runtime;
pub mod secondary_indexes;
pub mod sessions;
pub mod sql;
pub mod time_travel;
pub mod users;

pub use error::{LagTimeout, ProjectionError};
pub use faults::{stuck_projectors, StuckProjector};
pub use handle::{ProjectionHandle, ProjectionRuntime};
pub use page::{Page, PageRequest};
pub use redaction::{redact_event, redact_value, REDACTED};
pub use runtime::{
    all_projectors, catch_up, projection_lag, projector_named, rebuild, rebuild_with, status, FollowObserver,
    Projector, ProjectorStatus, RuntimeOptions, DEFAULT_BATCH_SIZE, DEFAULT_WAIT,
};
pub use time_travel::schedule_as_of;

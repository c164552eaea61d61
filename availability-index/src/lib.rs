//! The availability index of Resource Reserver: every resource's bookable state held in the
//! memory of each replica, kept current by following the event log, so that availability,
//! free slots, next-available, schedule grids, conflict suggestions and a cross-resource
//! free-slot search are answered without a database round trip.
//!
//! * [`MemoryIndex`] — the index itself, synchronous: apply recorded events, ask questions.
//!   Per resource it keeps the resource aggregate's own state, folded with the domain's
//!   `ResourceState::apply` (settings, business hours, blackouts, capacity, policy, time zone,
//!   tags, group, status, and the reservations holding a unit in the domain's interval
//!   index), and the group tree. Every slot answer is the domain's
//!   `reserver_domain::availability::free_slots` on that state: one definition of "free".
//! * [`AvailabilityIndex`] — a [`MemoryIndex`] built from the log at start-up and kept
//!   current by a task following the log's live tail, with [`AvailabilityIndex::wait_for`]
//!   for read-your-writes.
//!
//! Memory is bounded by [`IndexLimits::max_reservations`]; see [`MemoryIndex`] for what
//! happens past it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod follow;
mod memory;
mod queries;

pub use error::{IndexError, IndexLag};
pub use follow::{AvailabilityIndex, IndexConfig, StartupReport};
pub use memory::{CatalogDates, IndexLimits, IndexStats, MemoryIndex};
pub use queries::{
    DaySummary, Schedule, ScheduleBlackout, ScheduleDay, ScheduleReservation, SearchHit, SearchQuery,
    MAX_SCHEDULE_DAYS, MAX_SEARCH_RESOURCES, MAX_SLOTS,
};

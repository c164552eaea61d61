//! Pure domain model of Resource Reserver: the rules, commands, events and
//! state of an event-sourced booking service for rooms, desks, equipment and
//! labs that never double-books.
//!
//! # Shape
//! * [`resource`] — the resource aggregate, one event stream per resource
//!   (`resource-{uuid}`): `decide(&state, &command, &ctx) -> Result<Vec<ResourceEvent>, Rejection>`
//!   and `evolve(state, &event) -> state`.
//! * [`user`] — the user aggregate (`user-{uuid}`): registration, roles, login history.
//! * [`text`] — the checks every string in a command passes.
//! * [`availability`] — slot search built on the very rule functions
//!   `decide` uses, so read models cannot drift from the aggregate.
//! * [`recurrence`] — RRULE series expansion and per-occurrence reports.
//!
//! No clocks, I/O or randomness: time and ids arrive in commands and the
//! [`DecisionContext`].
//!
//! # The invariant
//! At every instant the units held by `Confirmed`, `PendingApproval` and
//! `Offered` reservations of a resource never exceed its capacity, where each
//! reservation occupies `[start - buffer_before, end + buffer_after)`.
//!
//! # Time zones and DST (RFC 5545 §3.3.5)
//! All wall-clock rules (business hours, series) are evaluated in the
//! resource's IANA zone. A local time inside a spring-forward gap is shifted
//! forward by the gap length (02:30 on the Europe/Berlin spring-forward day
//! means 03:30 CEST); an ambiguous time in a fall-back fold means its first
//! occurrence (the earlier instant). A booking is inside business hours iff
//! its whole `[start, end)` is covered by the union of the opening intervals,
//! converted to UTC with that policy, of the local days it touches,
//! including the previous day for ranges that cross midnight.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod availability;
pub mod context;
pub mod group;
pub mod policy;
pub mod recurrence;
pub mod rejection;
pub mod resource;
pub mod schedule_rules;
pub mod text;
pub mod time_range;
pub mod user;

pub use context::{Actor, DecisionContext, Role};
pub use policy::BookingPolicy;
pub use rejection::{ConflictingInterval, Rejection};
pub use resource::{
    deadlines, decide, evolve, possible_deadline_commands, reservation_deadlines, Deadline, ResourceCommand,
    ResourceEvent, ResourceState,
};
pub use time_range::{normalize_instant, TimeRange};

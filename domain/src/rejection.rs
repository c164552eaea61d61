//! Why a command was refused: one typed reason per rule, each with a stable
//! snake_case code for APIs and enough data to explain itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::recurrence::OccurrenceReport;
use crate::time_range::TimeRange;

/// An existing reservation that a requested slot collides with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictingInterval {
    /// The reservation in the way.
    pub reservation_id: Uuid,
    /// Its booked (unbuffered) time.
    pub range: TimeRange,
}

/// A refused command. `code()` is stable; the `Display` text is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    /// Not enough free units for the slot (buffers included).
    #[error("slot conflicts with {} existing reservation(s)", conflicts.len())]
    Conflict {
        /// Reservations overlapping the buffered slot.
        conflicts: Vec<ConflictingInterval>,
        /// Next bookable slots of the same length, searched forward.
        next_free: Vec<TimeRange>,
    },
    /// The slot is not fully inside the resource's business hours.
    #[error("slot is outside business hours")]
    OutsideBusinessHours,
    /// The slot intersects a blackout period.
    #[error("slot intersects a blackout: {reason}")]
    Blackout {
        /// Blocking blackout.
        blackout_id: Uuid,
        /// Its stated reason.
        reason: String,
    },
    /// Shorter than the policy minimum.
    #[error("booking of {requested_minutes} min is shorter than the minimum {min_minutes} min")]
    TooShort {
        /// Policy minimum.
        min_minutes: i64,
        /// Requested length.
        requested_minutes: i64,
    },
    /// Longer than the policy maximum.
    #[error("booking of {requested_minutes} min is longer than the maximum {max_minutes} min")]
    TooLong {
        /// Policy maximum.
        max_minutes: i64,
        /// Requested length.
        requested_minutes: i64,
    },
    /// Starts earlier than the minimum notice allows.
    #[error("booking must start at or after {earliest_start}")]
    NoticeTooShort {
        /// Earliest permitted start.
        earliest_start: DateTime<Utc>,
    },
    /// Starts beyond the booking horizon.
    #[error("booking must start before {latest_start}")]
    BeyondHorizon {
        /// Bookings must start strictly before this instant.
        latest_start: DateTime<Utc>,
    },
    /// The resource is under maintenance.
    #[error("resource is in maintenance")]
    ResourceInMaintenance,
    /// The resource was retired.
    #[error("resource is retired")]
    ResourceRetired,
    /// The user already holds the maximum number of active reservations.
    #[error("user already holds {limit} active reservation(s)")]
    QuotaExceeded {
        /// Policy limit.
        limit: u32,
    },
    /// The referenced thing does not exist (or no longer matters).
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// The actor's role or ownership does not allow this.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Which rule denied it.
        reason: String,
    },
    /// The target is not in a state that allows this command.
    #[error("invalid state: {reason}")]
    InvalidState {
        /// What state was found.
        reason: String,
    },
    /// One named field of the command is malformed (control characters, blank, too long).
    #[error("{field}: {reason}")]
    InvalidField {
        /// The field as clients spell it (`name`, `tags`, `description`, `reason`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The command itself is malformed.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// An all-or-nothing series where at least one occurrence failed.
    #[error("series cannot be booked as a whole")]
    SeriesNotBookable {
        /// Outcome per occurrence, in time order.
        occurrences: Vec<OccurrenceReport>,
    },
}

impl Rejection {
    /// Stable machine-readable code, identical to the serialized `code` tag.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Conflict { .. } => "conflict",
            Rejection::OutsideBusinessHours => "outside_business_hours",
            Rejection::Blackout { .. } => "blackout",
            Rejection::TooShort { .. } => "too_short",
            Rejection::TooLong { .. } => "too_long",
            Rejection::NoticeTooShort { .. } => "notice_too_short",
            Rejection::BeyondHorizon { .. } => "beyond_horizon",
            Rejection::ResourceInMaintenance => "resource_in_maintenance",
            Rejection::ResourceRetired => "resource_retired",
            Rejection::QuotaExceeded { .. } => "quota_exceeded",
            Rejection::NotFound { .. } => "not_found",
            Rejection::Forbidden { .. } => "forbidden",
            Rejection::InvalidState { .. } => "invalid_state",
            Rejection::InvalidField { .. } => "invalid_field",
            Rejection::InvalidInput { .. } => "invalid_input",
            Rejection::SeriesNotBookable { .. } => "series_not_bookable",
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Rejection::NotFound { what: what.into() }
    }
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Rejection::Forbidden { reason: reason.into() }
    }
    pub(crate) fn invalid_state(reason: impl Into<String>) -> Self {
        Rejection::InvalidState { reason: reason.into() }
    }
    pub(crate) fn invalid_input(reason: impl Into<String>) -> Self {
        Rejection::InvalidInput { reason: reason.into() }
    }
    /// A malformed field, named as clients spell it.
    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Rejection::InvalidField { field: field.into(), reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_tag_matches_code() {
        let cases = vec![
            Rejection::OutsideBusinessHours,
            Rejection::QuotaExceeded { limit: 2 },
            Rejection::not_found("reservation"),
            Rejection::Conflict { conflicts: vec![], next_free: vec![] },
            Rejection::invalid_field("name", "must not be blank"),
        ];
        for rejection in cases {
            let json = serde_json::to_value(&rejection).unwrap();
            assert_eq!(json["code"], rejection.code());
        }
    }
}

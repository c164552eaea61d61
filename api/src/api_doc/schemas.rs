//! Schemas of the domain types the API sends and receives as they are. The domain crate stays
//! free of documentation concerns, so their shapes are described here; `api_doc::mirror_tests`
//! serializes real values and compares their fields with these, so a change on either side
//! fails there instead of documenting something the API does not send.
//!
//! Nothing here is constructed: these types exist for their `ToSchema` impls.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a caller may do: `admin` manages everything, `approver` answers approval requests,
/// `auditor` reads the audit trail, `user` books, `guest` reads.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Approver,
    Auditor,
    User,
    Guest,
}

/// What sort of thing a resource is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Room,
    Desk,
    Equipment,
    Lab,
    Other,
}

/// Whether a resource takes new bookings (`retired` in views: it never will again).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Available,
    Maintenance,
}

/// Where a reservation is in its lifecycle.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    PendingApproval,
    Confirmed,
    Offered,
    Cancelled,
    Rejected,
    ApprovalExpired,
    OfferDeclined,
    OfferExpired,
    NoShowReleased,
    Completed,
}

/// A half-open interval `[start, end)` in UTC.
#[derive(Serialize, ToSchema)]
pub struct TimeRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// An existing reservation a requested slot collides with.
#[derive(Serialize, ToSchema)]
pub struct ConflictingInterval {
    pub reservation_id: Uuid,
    /// Its booked (unbuffered) time.
    pub range: TimeRange,
}

/// A resource's booking rules; durations in whole minutes. Fields left out take their defaults.
#[derive(Serialize, ToSchema)]
pub struct BookingPolicy {
    /// Shortest allowed booking (default 15).
    pub min_duration_minutes: u32,
    /// Longest allowed booking (default 1440).
    pub max_duration_minutes: u32,
    /// Set-up time kept free before each booking (default 0).
    pub buffer_before_minutes: u32,
    /// Clean-up time kept free after each booking (default 0).
    pub buffer_after_minutes: u32,
    /// A booking must start less than this many days ahead (default 90).
    pub horizon_days: u32,
    /// A booking must start at least this many minutes ahead (default 0).
    pub min_notice_minutes: u32,
    /// New bookings wait for an approver (default false).
    pub requires_approval: bool,
    /// An approver (an admin included) may answer their own request (default false).
    pub allow_self_approval: bool,
    /// Most active reservations one user may hold here (default unlimited).
    pub max_active_per_user: Option<u32>,
    /// Unclaimed bookings are released after the check-in window (default false).
    pub checkin_required: bool,
    /// Minutes after the start during which check-in is accepted (default 15).
    pub checkin_window_minutes: u32,
    /// Minutes after which an unanswered approval request expires (default 1440).
    pub approval_timeout_minutes: u32,
    /// Minutes a waitlist offer holds its slot (default 60).
    pub offer_timeout_minutes: u32,
}

/// A daily opening range in local time, `HH:MM:SS`; an `end` not after `start` closes on the
/// next day (22:00–02:00).
#[derive(Serialize, ToSchema)]
pub struct LocalTimeRange {
    #[schema(value_type = String, example = "09:00:00")]
    pub start: String,
    #[schema(value_type = String, example = "17:00:00")]
    pub end: String,
}

/// Weekly opening hours in the resource's time zone: seven lists of ranges, Monday first; an
/// empty day is closed, and no ranges at all means open around the clock.
#[derive(Serialize, ToSchema)]
pub struct BusinessHours {
    #[schema(min_items = 7, max_items = 7)]
    pub days: Vec<Vec<LocalTimeRange>>,
}

/// A period during which a resource cannot be booked.
#[derive(Serialize, ToSchema)]
pub struct Blackout {
    pub id: Uuid,
    pub range: TimeRange,
    pub reason: String,
}

/// What a recurring booking does when some occurrences cannot be booked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeriesPolicy {
    AllOrNothing,
    SkipConflicts,
}

/// What became of one occurrence of a series.
#[derive(Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OccurrenceOutcome {
    /// Confirmed.
    Booked {
        reservation_id: Uuid,
    },
    /// Waiting for approval.
    Requested {
        reservation_id: Uuid,
    },
    /// Would have been booked, but the all-or-nothing series was refused.
    Bookable {
        reservation_id: Uuid,
    },
    /// Not enough free units.
    Conflict {
        with: Vec<ConflictingInterval>,
    },
    OutsideBusinessHours,
    Blackout {
        reason: String,
    },
    /// Any other rule, by its code.
    Refused {
        code: String,
        message: String,
    },
}

/// One occurrence of a series and its outcome.
#[derive(Serialize, ToSchema)]
pub struct OccurrenceReport {
    /// Wall-clock start in the resource's zone.
    pub local_start: NaiveDateTime,
    pub range: TimeRange,
    pub outcome: OccurrenceOutcome,
}

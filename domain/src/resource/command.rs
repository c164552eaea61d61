//! Everything one can ask of a resource. Ids of things to be created are
//! chosen by the caller so `decide` stays pure and retries stay idempotent.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::policy::BookingPolicy;
use crate::recurrence::SeriesPolicy;
use crate::resource::state::{ResourceDetails, ResourceStatus};
use crate::schedule_rules::BusinessHours;
use crate::time_range::TimeRange;

/// Which part of a series to cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum SeriesCancelScope {
    /// Every remaining occurrence.
    Whole,
    /// The given occurrence and all later ones.
    ThisAndFollowing {
        /// First occurrence to cancel.
        reservation_id: Uuid,
    },
}

/// A command addressed to one resource stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResourceCommand {
    /// Admin: create the resource (first event of the stream).
    CreateResource {
        /// Stream identity.
        resource_id: Uuid,
        /// Descriptive fields.
        details: ResourceDetails,
        /// Units in the pool (>= 1).
        capacity: u32,
        /// IANA zone.
        time_zone: Tz,
        /// Booking rules.
        policy: BookingPolicy,
        /// Opening hours; `None` = 24h.
        business_hours: Option<BusinessHours>,
    },
    /// Admin: replace details, capacity and policy.
    UpdateResource {
        /// New descriptive fields.
        details: ResourceDetails,
        /// New capacity.
        capacity: u32,
        /// New zone.
        time_zone: Tz,
        /// New rules.
        policy: BookingPolicy,
    },
    /// Admin: take the resource out of service for good.
    RetireResource {
        /// Why.
        reason: String,
    },
    /// Admin: replace the weekly opening hours.
    SetBusinessHours {
        /// New hours; `None` = 24h.
        hours: Option<BusinessHours>,
    },
    /// Admin: block a period.
    AddBlackout {
        /// New blackout's id.
        blackout_id: Uuid,
        /// Blocked interval.
        range: TimeRange,
        /// Why.
        reason: String,
    },
    /// Admin: unblock a period.
    RemoveBlackout {
        /// Which blackout.
        blackout_id: Uuid,
    },
    /// Admin: name who approves this resource's requests (user ids of approvers or admins);
    /// empty: the approvers its groups name, else every approver.
    SetApprovers {
        /// The named approvers, in the order given (duplicates dropped).
        approvers: Vec<Uuid>,
    },
    /// Admin: switch between available and maintenance.
    SetStatus {
        /// New status.
        status: ResourceStatus,
    },
    /// Book one slot for the actor.
    Book {
        /// New reservation's id.
        reservation_id: Uuid,
        /// Wanted slot.
        range: TimeRange,
    },
    /// Book a recurring series for the actor.
    BookSeries {
        /// Series id; occurrence ids derive from it.
        series_id: Uuid,
        /// RFC 5545 RRULE (with or without the `RRULE:` prefix).
        rrule: String,
        /// First occurrence, local wall clock in the resource zone.
        dtstart: NaiveDateTime,
        /// Length of each occurrence.
        duration_minutes: u32,
        /// Excluded occurrences, local wall clock.
        exdates: Vec<NaiveDateTime>,
        /// What to do when some occurrences fail.
        policy: SeriesPolicy,
    },
    /// Cancel one reservation (also one occurrence of a series).
    CancelReservation {
        /// Which.
        reservation_id: Uuid,
        /// Optional explanation.
        reason: Option<String>,
    },
    /// Cancel several occurrences of a series.
    CancelSeries {
        /// Which series.
        series_id: Uuid,
        /// Which occurrences.
        scope: SeriesCancelScope,
    },
    /// Approver: accept a pending request.
    Approve {
        /// Which.
        reservation_id: Uuid,
        /// Note to the requester.
        comment: String,
        /// The approvers the resource inherits from its nearest group naming some, resolved by
        /// the caller from the group streams; used only when the resource names none itself.
        #[serde(default)]
        group_approvers: Vec<Uuid>,
    },
    /// Approver: refuse a pending request.
    Reject {
        /// Which.
        reservation_id: Uuid,
        /// Note to the requester.
        comment: String,
        /// The approvers the resource inherits from its nearest group naming some, resolved by
        /// the caller from the group streams; used only when the resource names none itself.
        #[serde(default)]
        group_approvers: Vec<Uuid>,
    },
    /// Deadline: an unanswered request timed out.
    ExpireApproval {
        /// Which.
        reservation_id: Uuid,
    },
    /// Wait for a slot.
    JoinWaitlist {
        /// New entry's id.
        entry_id: Uuid,
        /// Wanted slot.
        desired: TimeRange,
        /// Accepted shift of the start, in minutes either way.
        flex_minutes: u32,
    },
    /// Stop waiting.
    LeaveWaitlist {
        /// Which entry.
        entry_id: Uuid,
    },
    /// Take an offered slot.
    AcceptOffer {
        /// The offered reservation.
        reservation_id: Uuid,
    },
    /// Refuse an offered slot.
    DeclineOffer {
        /// The offered reservation.
        reservation_id: Uuid,
    },
    /// Deadline: an offer was not answered in time.
    ExpireOffer {
        /// The offered reservation.
        reservation_id: Uuid,
    },
    /// Owner: confirm presence.
    CheckIn {
        /// Which.
        reservation_id: Uuid,
    },
    /// Deadline: nobody checked in within the window.
    ReleaseNoShow {
        /// Which.
        reservation_id: Uuid,
    },
    /// Deadline or owner: mark a finished reservation completed.
    Complete {
        /// Which.
        reservation_id: Uuid,
    },
}

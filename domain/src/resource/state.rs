//! The resource aggregate's state: the resource's settings plus the small,
//! live set of reservations and waitlist entries that can still matter.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::policy::BookingPolicy;
use crate::resource::reservations::Reservations;
use crate::schedule_rules::{Blackout, BusinessHours};
use crate::time_range::TimeRange;

/// What sort of thing is being booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// Meeting room.
    Room,
    /// Hot desk.
    Desk,
    /// Portable equipment.
    Equipment,
    /// Laboratory.
    Lab,
    /// Anything else.
    Other,
}

/// Whether the resource accepts new bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// Bookable.
    Available,
    /// Temporarily not bookable; existing reservations are kept.
    Maintenance,
}

/// Descriptive fields that no booking rule depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDetails {
    /// Display name.
    pub name: String,
    /// Category.
    pub kind: ResourceKind,
    /// Free-form labels for search.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Where to find it.
    #[serde(default)]
    pub location: String,
    /// Optional grouping (building, floor, pool).
    #[serde(default)]
    pub group_id: Option<Uuid>,
}

/// The bookable resource and every setting the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Stream identity.
    pub id: Uuid,
    /// Descriptive fields.
    pub details: ResourceDetails,
    /// Number of identical units; each reservation takes one.
    pub capacity: u32,
    /// IANA zone all wall-clock rules are evaluated in.
    pub time_zone: Tz,
    /// Weekly opening hours; `None` means open 24 hours.
    pub business_hours: Option<BusinessHours>,
    /// Periods that cannot be booked.
    pub blackouts: Vec<Blackout>,
    /// Available or in maintenance.
    pub status: ResourceStatus,
    /// Booking rules.
    pub policy: BookingPolicy,
    /// Retired resources accept nothing but stale deadline commands.
    pub retired: bool,
    /// Users who answer this resource's approval requests (with admins); empty: those its
    /// groups name, else every approver.
    #[serde(default)]
    pub approvers: Vec<Uuid>,
}

/// Where a reservation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Waiting for an approver; holds its unit.
    PendingApproval,
    /// Booked; holds its unit.
    Confirmed,
    /// Waitlist offer awaiting an answer; holds its unit.
    Offered,
    /// Cancelled by the owner or an admin.
    Cancelled,
    /// Refused by an approver.
    Rejected,
    /// Nobody answered the approval request in time.
    ApprovalExpired,
    /// Waitlist offer declined.
    OfferDeclined,
    /// Waitlist offer not answered in time.
    OfferExpired,
    /// Released because nobody checked in.
    NoShowReleased,
    /// Used and finished.
    Completed,
}

impl ReservationStatus {
    /// Statuses that occupy a unit for the invariant.
    pub fn holds_unit(self) -> bool {
        matches!(self, ReservationStatus::PendingApproval | ReservationStatus::Confirmed | ReservationStatus::Offered)
    }
}

/// One booking of one unit of the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Identity (deterministic for series occurrences and offers).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Requested time, without buffers.
    pub range: TimeRange,
    /// Lifecycle position.
    pub status: ReservationStatus,
    /// Series it belongs to, if any.
    pub series_id: Option<Uuid>,
    /// When it was requested (or offered).
    pub created_at: DateTime<Utc>,
    /// When a pending approval expires.
    pub approval_deadline: Option<DateTime<Utc>>,
    /// When a waitlist offer expires.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Waitlist entry an offer was made for.
    pub waitlist_entry_id: Option<Uuid>,
    /// When the owner checked in.
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// Someone waiting for a slot to free up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    /// Identity.
    pub id: Uuid,
    /// Who is waiting.
    pub user_id: Uuid,
    /// The wanted slot; its length is the wanted duration.
    pub desired: TimeRange,
    /// The start may move this many minutes either way.
    pub flex_minutes: u32,
    /// Join time (FIFO order is list order).
    pub joined_at: DateTime<Utc>,
}

impl WaitlistEntry {
    /// The latest instant any acceptable slot could end.
    pub fn latest_end(&self) -> DateTime<Utc> {
        crate::time_range::saturating_add(self.desired.end(), Duration::minutes(i64::from(self.flex_minutes)))
    }
}

/// Folded state of one resource stream. Starts as `Default` (not created).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    /// `None` until `resource_created`.
    pub resource: Option<Resource>,
    /// Reservations that can still matter, by id, indexed by time (serialized as a map by id).
    pub reservations: Reservations,
    /// Waiting entries in FIFO order.
    pub waitlist: Vec<WaitlistEntry>,
    /// `at` of the latest applied event; drives pruning.
    pub last_event_at: Option<DateTime<Utc>>,
}

impl ResourceState {
    /// Reservations currently holding a unit (all of them: a scan).
    pub fn holding(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values().filter(|r| r.status.holds_unit())
    }

    /// Reservations holding a unit whose range meets `range`, from the interval index.
    pub fn holding_meeting(&self, range: &TimeRange) -> impl Iterator<Item = &Reservation> + '_ {
        self.reservations.holding_meeting(range)
    }

    /// The ranges of [`Self::holding_meeting`], without reading the reservations themselves.
    pub fn holding_ranges_meeting(&self, range: &TimeRange) -> impl Iterator<Item = TimeRange> + '_ {
        self.reservations.holding_ranges_meeting(range)
    }
}

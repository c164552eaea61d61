//! Schemas of the read-model rows some queries return as they are (see `schemas` for why they
//! are described here and how they are kept true).
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::{OccurrenceReport, ReservationStatus, Role, SeriesPolicy, TimeRange};
use crate::views::{ReservationBody, ResourceBody};

/// The pagination envelope of lists, one named schema per item type (a generic one would
/// inline its items instead of referring to them).
macro_rules! pages {
    ($($name:ident of $item:ty;)*) => {$(
        /// One page of a list; pass `next_cursor` as `cursor` for the next page while `has_more`.
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            pub next_cursor: Option<String>,
            pub has_more: bool,
        }
    )*};
}

pages! {
    ResourcePage of ResourceBody;
    ReservationPage of ReservationBody;
    AuditPage of AuditEntry;
    DeliveryPage of Delivery;
}

/// An account.
#[derive(Serialize, ToSchema)]
pub struct User {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    /// Set while too many failed logins lock the account.
    pub locked_until: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    /// Disabled by an admin: cannot log in.
    pub disabled: bool,
    /// An admin reset the password; a new one must be chosen first.
    pub password_change_required: bool,
    /// Two-step login (TOTP) is on.
    pub mfa_enabled: bool,
}

/// A reservation as the read model keeps it.
#[derive(Serialize, ToSchema)]
pub struct ReservationRecord {
    pub reservation_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub series_id: Option<Uuid>,
    pub range: TimeRange,
    pub status: ReservationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub approval_deadline: Option<DateTime<Utc>>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub waitlist_entry_id: Option<Uuid>,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Who cancelled, approved or rejected it.
    pub decided_by: Option<Uuid>,
    /// Cancellation reason or approver comment.
    pub comment: Option<String>,
}

/// A recurring booking as requested, with every occurrence's outcome and reservation.
#[derive(Serialize, ToSchema)]
pub struct SeriesDetail {
    pub series_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    /// RFC 5545 RRULE.
    pub rrule: String,
    pub policy: SeriesPolicy,
    pub occurrences: Vec<OccurrenceReport>,
    pub booked_at: DateTime<Utc>,
    /// The occurrences' reservations, by start.
    pub reservations: Vec<ReservationRecord>,
}

/// One event in a reservation's life.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Log position.
    pub position: u64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// The event as recorded.
    pub event: serde_json::Value,
}

/// Someone waiting for a slot.
#[derive(Serialize, ToSchema)]
pub struct WaitlistEntry {
    pub entry_id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub desired: TimeRange,
    /// How far the slot may move, either way.
    pub flex_minutes: u32,
    pub joined_at: DateTime<Utc>,
    /// Place in the resource's FIFO queue, 1 = next.
    pub position: u32,
}

/// A resource group.
#[derive(Serialize, ToSchema)]
pub struct Group {
    pub group_id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A group with its subgroups, children sorted by name.
#[derive(Serialize, ToSchema)]
pub struct GroupNode {
    #[serde(flatten)]
    pub group: Group,
    #[schema(no_recursion)]
    pub children: Vec<GroupNode>,
}

/// A message to the caller.
#[derive(Serialize, ToSchema)]
pub struct Notification {
    pub notification_id: Uuid,
    pub user_id: Uuid,
    /// `reservation_confirmed`, `series_booked`, `reservation_cancelled`, `reservation_approved`,
    /// `reservation_rejected`, `approval_expired`, `approval_needed`, `waitlist_offer`,
    /// `no_show_released`, `webhook_disabled` or `reminder`.
    pub kind: String,
    /// Nil for `webhook_disabled`.
    pub resource_id: Uuid,
    pub reservation_id: Option<Uuid>,
    pub range: Option<TimeRange>,
    pub message: String,
    /// Log position of the event that caused it.
    pub position: u64,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// The endpoint a `webhook_disabled` notification is about.
    pub webhook_id: Option<Uuid>,
}

/// A page of notifications with the caller's unread count.
#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub data: Vec<Notification>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
    pub unread_count: u64,
}

/// One audited event.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub position: u64,
    pub event_id: Uuid,
    /// The acting user id, or the system.
    pub actor: Option<String>,
    /// The event type.
    pub action: String,
    /// The stream the event belongs to.
    pub target: String,
    pub resource_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub client_ip: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub command_id: Option<String>,
}

/// One local day of a resource's calendar.
#[derive(Serialize, ToSchema)]
pub struct DaySummary {
    pub date: NaiveDate,
    /// Minutes open that day (24 h without business hours).
    pub open_minutes: i64,
    /// Non-overlapping free slots of the asked length.
    pub free_slots: u64,
    pub first_free: Option<TimeRange>,
}

/// Utilization of one resource on one local day.
#[derive(Serialize, ToSchema)]
pub struct DailyUtilization {
    pub resource_id: Uuid,
    pub date: NaiveDate,
    pub booked_minutes: i64,
    pub open_minutes: i64,
    /// booked / open; 0 when closed.
    pub utilization: f64,
}

/// Utilization in one local hour of the week (of one resource, or of all in peak times).
#[derive(Serialize, ToSchema)]
pub struct HourlyUtilization {
    pub resource_id: Option<Uuid>,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub booked_minutes: i64,
    pub open_minutes: i64,
    pub utilization: f64,
}

/// Bookings of one resource in a window.
#[derive(Serialize, ToSchema)]
pub struct PopularResource {
    pub resource_id: Uuid,
    pub name: String,
    pub bookings: u64,
    pub booked_minutes: i64,
}

/// Check-in outcomes in a window.
#[derive(Serialize, ToSchema)]
pub struct NoShowStats {
    pub checked_in: u64,
    pub no_shows: u64,
    /// no_shows / (checked_in + no_shows); 0 when there were none.
    pub rate: f64,
}

/// One attempt to deliver a webhook message.
#[derive(Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first kilobyte of the endpoint's answer.
    pub response_body: Option<String>,
}

/// A webhook message and its attempts, oldest attempt first.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` of every attempt.
    pub id: Uuid,
    pub event_type: String,
    pub event_id: Uuid,
    pub position: u64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempt_count: u32,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// No retry is scheduled after this.
    pub expires_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
}

//! Per-resource booking policy: durations, buffers, notice, horizon, quotas
//! and the timeouts that drive approvals, offers and check-in.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Upper bound for any minute-valued setting (10 years), so that adding a
/// policy duration to a timestamp can never overflow in practice.
pub const MAX_POLICY_MINUTES: u32 = 10 * 366 * 24 * 60;

/// How long before its start a reservation may already be checked in.
pub const EARLY_CHECKIN_MINUTES: i64 = 15;

/// Booking rules of one resource. Durations are whole minutes so the policy
/// serializes plainly and compares exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BookingPolicy {
    /// Shortest allowed booking.
    pub min_duration_minutes: u32,
    /// Longest allowed booking.
    pub max_duration_minutes: u32,
    /// Set-up time reserved before each booking for conflict purposes.
    pub buffer_before_minutes: u32,
    /// Clean-up time reserved after each booking for conflict purposes.
    pub buffer_after_minutes: u32,
    /// A booking must start less than this many days after "now".
    pub horizon_days: u32,
    /// A booking must start at least this many minutes after "now".
    pub min_notice_minutes: u32,
    /// New bookings wait for an approver instead of being confirmed.
    pub requires_approval: bool,
    /// Whether an approver (an admin included) may answer their own request. Off by default:
    /// a request is answered by someone else, the point of asking for approval.
    pub allow_self_approval: bool,
    /// Most non-terminal, not-yet-ended reservations one user may hold here.
    pub max_active_per_user: Option<u32>,
    /// Unclaimed bookings are released after the check-in window.
    pub checkin_required: bool,
    /// Minutes after start during which check-in is still accepted.
    pub checkin_window_minutes: u32,
    /// Minutes after the request at which an unanswered approval expires.
    pub approval_timeout_minutes: u32,
    /// Minutes a waitlist offer holds its slot before it expires.
    pub offer_timeout_minutes: u32,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            min_duration_minutes: 15,
            max_duration_minutes: 24 * 60,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            horizon_days: 90,
            min_notice_minutes: 0,
            requires_approval: false,
            allow_self_approval: false,
            max_active_per_user: None,
            checkin_required: false,
            checkin_window_minutes: 15,
            approval_timeout_minutes: 24 * 60,
            offer_timeout_minutes: 30,
        }
    }
}

fn minutes(m: u32) -> Duration {
    Duration::minutes(i64::from(m))
}

impl BookingPolicy {
    /// Explains the first inconsistency, if any.
    pub fn validate(&self) -> Result<(), String> {
        let bounded = [
            ("min_duration_minutes", self.min_duration_minutes),
            ("max_duration_minutes", self.max_duration_minutes),
            ("buffer_before_minutes", self.buffer_before_minutes),
            ("buffer_after_minutes", self.buffer_after_minutes),
            ("min_notice_minutes", self.min_notice_minutes),
            ("checkin_window_minutes", self.checkin_window_minutes),
            ("approval_timeout_minutes", self.approval_timeout_minutes),
            ("offer_timeout_minutes", self.offer_timeout_minutes),
        ];
        if let Some((name, _)) = bounded.iter().find(|(_, v)| *v > MAX_POLICY_MINUTES) {
            return Err(format!("{name} exceeds {MAX_POLICY_MINUTES}"));
        }
        if self.min_duration_minutes == 0 {
            return Err("min_duration_minutes must be at least 1".into());
        }
        if self.min_duration_minutes > self.max_duration_minutes {
            return Err("min_duration_minutes exceeds max_duration_minutes".into());
        }
        if self.horizon_days == 0 || self.horizon_days > 3660 {
            return Err("horizon_days must be between 1 and 3660".into());
        }
        if self.offer_timeout_minutes == 0 || self.approval_timeout_minutes == 0 {
            return Err("timeouts must be at least 1 minute".into());
        }
        Ok(())
    }

    /// Shortest allowed booking.
    pub fn min_duration(&self) -> Duration {
        minutes(self.min_duration_minutes)
    }
    /// Longest allowed booking.
    pub fn max_duration(&self) -> Duration {
        minutes(self.max_duration_minutes)
    }
    /// Set-up buffer.
    pub fn buffer_before(&self) -> Duration {
        minutes(self.buffer_before_minutes)
    }
    /// Clean-up buffer.
    pub fn buffer_after(&self) -> Duration {
        minutes(self.buffer_after_minutes)
    }
    /// How far ahead bookings may start.
    pub fn horizon(&self) -> Duration {
        Duration::days(i64::from(self.horizon_days))
    }
    /// Minimum lead time.
    pub fn min_notice(&self) -> Duration {
        minutes(self.min_notice_minutes)
    }
    /// Check-in grace period after start.
    pub fn checkin_window(&self) -> Duration {
        minutes(self.checkin_window_minutes)
    }
    /// Approval deadline relative to the request.
    pub fn approval_timeout(&self) -> Duration {
        minutes(self.approval_timeout_minutes)
    }
    /// Offer lifetime.
    pub fn offer_timeout(&self) -> Duration {
        minutes(self.offer_timeout_minutes)
    }
}

//! Shapes shared by several areas of the API: instants are RFC 3339 (`DateTime<Utc>`), ids UUIDs.
//! Unknown members are ignored, so a newer server's additions do not break this client.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A half-open interval `[start, end)`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct TimeRange {
    #[serde(alias = "start_time")]
    pub start: DateTime<Utc>,
    #[serde(alias = "end_time")]
    pub end: DateTime<Utc>,
}

/// A free slot (`start_time`/`end_time`, as the availability routes name them).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Slot {
    #[serde(alias = "start")]
    pub start_time: DateTime<Utc>,
    #[serde(alias = "end")]
    pub end_time: DateTime<Utc>,
}

/// One page of a list: `{data, next_cursor, has_more}`; pass `next_cursor` as `cursor`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

/// Paging of a list request.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// 1 to 500; the server's default (50) when `None`.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            q.push(("cursor".into(), cursor.clone()));
        }
        q
    }
}

/// A reservation in the way of a booking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConflictingInterval {
    pub reservation_id: Uuid,
    pub range: TimeRange,
}

/// What booking a series did (or, previewed, would do) to one occurrence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OccurrenceReport {
    /// Wall-clock start in the resource's zone.
    pub local_start: NaiveDateTime,
    pub range: TimeRange,
    pub outcome: OccurrenceOutcome,
}

/// `booked`, `requested` (awaiting approval), `bookable` (preview), or why not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OccurrenceOutcome {
    Booked {
        reservation_id: Uuid,
    },
    Requested {
        reservation_id: Uuid,
    },
    Bookable {
        #[serde(default)]
        reservation_id: Option<Uuid>,
    },
    Conflict {
        #[serde(default)]
        with: Vec<ConflictingInterval>,
    },
    OutsideBusinessHours,
    Blackout {
        #[serde(default)]
        reason: String,
    },
    Refused {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    },
    /// An outcome this client does not know yet.
    #[serde(other)]
    Other,
}

impl OccurrenceOutcome {
    /// `booked`, `conflict`, …
    pub fn label(&self) -> &'static str {
        match self {
            Self::Booked { .. } => "booked",
            Self::Requested { .. } => "requested",
            Self::Bookable { .. } => "bookable",
            Self::Conflict { .. } => "conflict",
            Self::OutsideBusinessHours => "outside_business_hours",
            Self::Blackout { .. } => "blackout",
            Self::Refused { .. } => "refused",
            Self::Other => "other",
        }
    }

    /// The reservation it made, if any.
    pub fn reservation_id(&self) -> Option<Uuid> {
        match self {
            Self::Booked { reservation_id } | Self::Requested { reservation_id } => Some(*reservation_id),
            _ => None,
        }
    }

    /// Why it was not booked, in words.
    pub fn reason(&self) -> String {
        match self {
            Self::Conflict { with } => format!("overlaps {} reservation(s)", with.len()),
            Self::OutsideBusinessHours => "outside business hours".into(),
            Self::Blackout { reason } if reason.is_empty() => "blackout".into(),
            Self::Blackout { reason } => format!("blackout: {reason}"),
            Self::Refused { code, message } if message.is_empty() => code.clone(),
            Self::Refused { message, .. } => message.clone(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_every_documented_form_and_tolerate_new_ones() {
        let json = r#"[{"local_start":"2030-03-04T09:00:00","range":{"start":"2030-03-04T08:00:00Z","end":"2030-03-04T09:00:00Z"},
            "outcome":{"outcome":"conflict","with":[]}},
            {"local_start":"2030-03-05T09:00:00","range":{"start":"2030-03-05T08:00:00Z","end":"2030-03-05T09:00:00Z"},
            "outcome":{"outcome":"something_new","x":1}}]"#;
        let reports: Vec<OccurrenceReport> = serde_json::from_str(json).unwrap();
        assert_eq!(reports[0].outcome.label(), "conflict");
        assert_eq!(reports[1].outcome.label(), "other");
    }
}

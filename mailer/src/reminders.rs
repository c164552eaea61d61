//! Reminders: when a confirmed booking is within its owner's `reminder_minutes` of starting,
//! a `reservation_reminder` event is appended to the stream
//! `reminder-{reservation}-{start}` with `ExpectedVersion::NoStream`. The log itself makes it
//! happen once: a second replica, a restart or a retry finds the stream already there. The
//! in-app notification, the WebSocket frame, webhooks and the email all follow from that event.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reserver_projections::decode::{from_micros, micros};
use reserver_projections::public_events::REMINDER_EVENT_TYPE;
use reserver_projections::sql::{execute, fetch_all, Value};
use reserver_projections::ProjectionError;
use reserver_store::{AppendError, AppendRequest, EventStore, ExpectedVersion, NewEvent};
use serde_json::json;
use uuid::Uuid;

/// Reminders sent per pass.
const BATCH: i64 = 100;

/// A booking whose reminder is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub reservation_id: Uuid,
    pub user_id: Uuid,
    pub resource_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub minutes_before: i64,
}

impl DueReminder {
    /// One stream per booking and start, so a reminder exists at most once.
    pub fn stream_id(&self) -> String {
        format!("reminder-{}-{}", self.reservation_id, micros(self.start))
    }
}

/// Bookings not yet started whose reminder time has come. `default_minutes` applies to
/// accounts without a `reminder_minutes` preference; 0 turns reminders off.
pub async fn due(
    store: &dyn EventStore,
    now: DateTime<Utc>,
    default_minutes: i64,
) -> Result<Vec<DueReminder>, ProjectionError> {
    // No reminder is sent earlier than the longest lead time anyone can have, so the index
    // range ends there instead of at the last booking on file.
    let longest = default_minutes.max(crate::planner::MAX_REMINDER_MINUTES);
    let horizon = micros(now).saturating_add(longest.saturating_mul(60_000_000));
    let rows = fetch_all(
        &store.database(),
        "SELECT r.reservation_id, r.user_id, r.resource_id, r.start_at, r.end_at, \
         COALESCE(c.reminder_minutes, $2) AS minutes \
         FROM mail_reminders r LEFT JOIN mail_contacts c ON c.user_id = r.user_id \
         WHERE r.active = 1 AND r.start_at > $1 AND COALESCE(c.reminder_minutes, $2) > 0 \
         AND r.start_at - COALESCE(c.reminder_minutes, $2) * 60000000 <= $1 \
         AND r.start_at <= $4 \
         ORDER BY r.start_at LIMIT $3",
        &[Value::Int(micros(now)), Value::Int(default_minutes), Value::Int(BATCH), Value::Int(horizon)],
    )
    .await?;
    let id = |text: String| Uuid::parse_str(&text).map_err(|e| ProjectionError::Corrupt(e.to_string()));
    rows.into_iter()
        .map(|row| {
            Ok(DueReminder {
                reservation_id: id(row.text(0)?)?,
                user_id: id(row.text(1)?)?,
                resource_id: id(row.text(2)?)?,
                start: from_micros(row.int(3)?)?,
                end: from_micros(row.int(4)?)?,
                minutes_before: row.int(5)?,
            })
        })
        .collect()
}

/// Appends the reminder event (once per booking and start) and forgets the booking.
pub async fn send(store: &Arc<dyn EventStore>, reminder: &DueReminder) -> Result<bool, ProjectionError> {
    let stream = reminder.stream_id();
    let payload = json!({
        "reservation_id": reminder.reservation_id,
        "resource_id": reminder.resource_id,
        "user_id": reminder.user_id,
        "start_time": reminder.start,
        "end_time": reminder.end,
        "minutes_before": reminder.minutes_before,
    });
    // The event id follows from the stream, so a retried append is recognised as the same.
    let event =
        NewEvent::new(Uuid::new_v5(&Uuid::NAMESPACE_OID, stream.as_bytes()), REMINDER_EVENT_TYPE, payload.to_string());
    let sent = match store.append(AppendRequest::single(&stream, ExpectedVersion::NoStream, vec![event])).await {
        Ok(_) => true,
        Err(AppendError::WrongExpectedVersion { .. } | AppendError::EventIdConflict { .. }) => false,
        Err(AppendError::Store(e)) => return Err(e.into()),
        Err(AppendError::Invalid(e)) => return Err(ProjectionError::Corrupt(e)),
    };
    execute(
        &store.database(),
        "DELETE FROM mail_reminders WHERE reservation_id = $1 AND start_at = $2",
        &[reminder.reservation_id.to_string().into(), Value::Int(micros(reminder.start))],
    )
    .await?;
    Ok(sent)
}

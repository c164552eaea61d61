//! Notifications per user: confirmations, cancellations, approval decisions, waitlist offers,
//! and "approval needed" for the resource's named approvers (its own, else its nearest group's:
//! `approver_routes`), or every approver and admin where none are named. Who is an approver is
//! followed from the user streams inside this projector (`rm_notify_approvers`), who is named
//! from the resource and group streams (`rm_notify_routes`), so the recipients of an event are
//! those as of that event — the same on a rebuild as live.
//!
//! Notification ids are derived from the event id and the recipient, so they survive a rebuild
//! and the read marks (`notification_reads`, a user preference rather than a fact of the log)
//! stay attached.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_domain::user::UserEvent;
use reserver_domain::{ResourceEvent, TimeRange};
use reserver_store::{Backend, Database, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::decode::{decode, from_micros, DecodedBatch, DomainEvent};
use crate::error::ProjectionError;
use crate::page::{into_page, CursorKey, CursorList, KeyKind, Page, PageRequest, SortValue};
use crate::public_events::REMINDER_EVENT_TYPE;
use crate::runtime::Projector;
use crate::sql::{backend_of, execute, fetch_all, placeholders, DbTx, SqlBuilder, Value};

/// One message to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub notification_id: Uuid,
    pub user_id: Uuid,
    /// `reservation_confirmed`, `series_booked`, `reservation_cancelled`, `reservation_approved`,
    /// `reservation_rejected`, `approval_expired`, `approval_needed`, `waitlist_offer`, `no_show_released`,
    /// `webhook_disabled`, `reminder`.
    pub kind: String,
    pub resource_id: Uuid,
    pub reservation_id: Option<Uuid>,
    pub range: Option<TimeRange>,
    pub message: String,
    /// Log position of the event that caused it.
    pub position: u64,
    pub created_at: DateTime<Utc>,
    /// Filled in by queries from the user's read marks.
    #[serde(default)]
    pub read: bool,
    /// The webhook endpoint a `webhook_disabled` notification is about (`resource_id` is nil then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<Uuid>,
}

/// The projector's name (its checkpoint): what a query of these tables passes to
/// `ProjectionHandle::wait_for_projectors`, so it waits for this read model only.
pub const PROJECTOR: &str = "notifications";

/// Builds `rm_notifications` and `rm_notify_approvers`.
pub struct NotificationsProjector;

struct Draft {
    kind: &'static str,
    to: Vec<Uuid>,
    reservation_id: Option<Uuid>,
    range: Option<TimeRange>,
    message: String,
}

fn draft(event: &ResourceEvent, approvers: &BTreeSet<Uuid>) -> Option<Draft> {
    use ResourceEvent::*;
    let one = |kind, user: &Uuid, id: &Uuid, range: Option<TimeRange>, message: String| {
        Some(Draft { kind, to: vec![*user], reservation_id: Some(*id), range, message })
    };
    match event {
        ReservationConfirmed { reservation_id, user_id, range, series_id: None, .. } => one(
            "reservation_confirmed",
            user_id,
            reservation_id,
            Some(*range),
            format!("Booked {} to {}.", range.start(), range.end()),
        ),
        SeriesBooked { series_id, user_id, occurrences, .. } => {
            let booked = occurrences.iter().filter(|o| o.outcome.is_success()).count();
            Some(Draft {
                kind: "series_booked",
                to: vec![*user_id],
                reservation_id: None,
                range: None,
                message: format!("Series {series_id}: {booked} of {} occurrences booked.", occurrences.len()),
            })
        }
        ReservationRequested { reservation_id, user_id, range, .. } => Some(Draft {
            kind: "approval_needed",
            to: approvers.iter().filter(|a| *a != user_id).copied().collect(),
            reservation_id: Some(*reservation_id),
            range: Some(*range),
            message: format!("A reservation by {user_id} awaits approval."),
        }),
        WaitlistOfferAccepted { reservation_id, user_id, approval_deadline: Some(_), .. } => Some(Draft {
            kind: "approval_needed",
            to: approvers.iter().filter(|a| *a != user_id).copied().collect(),
            reservation_id: Some(*reservation_id),
            range: None,
            message: format!("A reservation by {user_id} (a waitlist offer taken) awaits approval."),
        }),
        ReservationCancelled { reservation_id, user_id, reason, .. } => {
            let why = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            one("reservation_cancelled", user_id, reservation_id, None, format!("Reservation cancelled{why}."))
        }
        ReservationApproved { reservation_id, user_id, comment, .. } => {
            one("reservation_approved", user_id, reservation_id, None, format!("Reservation approved. {comment}"))
        }
        ReservationRejected { reservation_id, user_id, comment, .. } => {
            one("reservation_rejected", user_id, reservation_id, None, format!("Reservation rejected. {comment}"))
        }
        ApprovalExpired { reservation_id, user_id, .. } => {
            one("approval_expired", user_id, reservation_id, None, "No approver answered in time.".into())
        }
        WaitlistOfferMade { reservation_id, user_id, range, expires_at, .. } => one(
            "waitlist_offer",
            user_id,
            reservation_id,
            Some(*range),
            format!("A slot you waited for is held for you until {expires_at}."),
        ),
        NoShowReleased { reservation_id, user_id, .. } => {
            one("no_show_released", user_id, reservation_id, None, "Released: nobody checked in.".into())
        }
        _ => None,
    }
}

/// Whether the event asks approvers for an answer.
fn needs_approvers(event: &ResourceEvent) -> bool {
    matches!(
        event,
        ResourceEvent::ReservationRequested { .. }
            | ResourceEvent::WaitlistOfferAccepted { approval_deadline: Some(_), .. }
    )
}

/// The named approvers who still approve (hold the approver or admin role); `None` when none
/// are named or none of them still approves: every approver is asked then.
fn named_recipients(named: &[Uuid], approvers: &BTreeSet<Uuid>) -> Option<BTreeSet<Uuid>> {
    let still: BTreeSet<Uuid> = named.iter().filter(|id| approvers.contains(id)).copied().collect();
    (!still.is_empty()).then_some(still)
}

#[async_trait]
impl Projector for NotificationsProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_notifications", "rm_notify_approvers", crate::approver_routes::TABLE]
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        self.apply_decoded(tx, events, &DecodedBatch::default()).await
    }

    async fn apply_decoded(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
        decoded: &DecodedBatch,
    ) -> Result<(), ProjectionError> {
        let mut rows = Vec::new();
        for view in events.iter().filter_map(|e| reminder(e).or_else(|| webhook_disabled(e))) {
            rows.push(row_of(view.notification_id, view.user_id, view.position, &view.kind));
        }
        let decodes = decoded.of(events);
        let decoded: Vec<(&RecordedEvent, &DomainEvent)> =
            events.iter().zip(decodes.iter()).filter_map(|(e, d)| d.as_ref().map(|d| (e, d))).collect();
        if decoded.is_empty() {
            tx.insert_rows(INSERT_NOTIFICATIONS, "", &rows).await?;
            return Ok(());
        }
        let mut approvers = BTreeSet::new();
        for row in tx.fetch_all("SELECT user_id FROM rm_notify_approvers", &[]).await? {
            approvers.insert(Uuid::parse_str(&row.text(0)?).map_err(|e| ProjectionError::Corrupt(e.to_string()))?);
        }
        let mut role_changes: HashMap<Uuid, bool> = HashMap::new();
        let mut routes = crate::approver_routes::Routes::default();
        for (recorded, event) in decoded {
            match event {
                DomainEvent::User { user_id, event } => {
                    let may_approve = match event {
                        UserEvent::Registered { role, .. } | UserEvent::RoleGranted { role, .. } => role.may_approve(),
                        _ => continue,
                    };
                    if may_approve {
                        approvers.insert(*user_id);
                    } else {
                        approvers.remove(user_id);
                    }
                    role_changes.insert(*user_id, may_approve);
                }
                DomainEvent::Resource { resource_id, event } => {
                    routes.follow_resource(tx, *resource_id, event).await?;
                    let named = if needs_approvers(event) {
                        named_recipients(&routes.named_approvers(tx, *resource_id).await?, &approvers)
                    } else {
                        None
                    };
                    let Some(d) = draft(event, named.as_ref().unwrap_or(&approvers)) else { continue };
                    for to in d.to {
                        // The message is not stored: `notifications_for_user` renders it from
                        // the event at this position, the log being append-only.
                        let id = Uuid::new_v5(&recorded.event_id, to.as_bytes());
                        rows.push(row_of(id, to, recorded.position, d.kind));
                    }
                }
                DomainEvent::Group { group_id, event } => routes.follow_group(tx, *group_id, event).await?,
            }
        }
        routes.write(tx).await?;
        let changed: Vec<String> = role_changes.keys().map(Uuid::to_string).collect();
        tx.delete_keys("rm_notify_approvers", "user_id", &changed).await?;
        let now_approvers: Vec<Vec<Value>> = role_changes
            .iter()
            .filter(|(_, approves)| **approves)
            .map(|(id, _)| vec![Value::Text(id.to_string())])
            .collect();
        tx.insert_rows("INSERT INTO rm_notify_approvers (user_id)", "", &now_approvers).await?;
        tx.insert_rows(INSERT_NOTIFICATIONS, "", &rows).await?;
        Ok(())
    }
}

/// A notification row: who it is for and which event of the log it is about (see
/// [`notification_of`]).
const INSERT_NOTIFICATIONS: &str = "INSERT INTO rm_notifications (notification_id, user_id, position, kind)";

fn row_of(notification_id: Uuid, user_id: Uuid, position: u64, kind: &str) -> Vec<Value> {
    vec![
        Value::Text(notification_id.to_string()),
        Value::Text(user_id.to_string()),
        Value::Int(position as i64),
        Value::Text(kind.to_string()),
    ]
}

/// The notification `recorded` gives `user_id`, rendered from the event as the projector
/// drafts it; `None` when the event gives none. An `approval_needed` message does not depend on
/// who the approvers are, so an empty set stands in for them.
fn notification_of(recorded: &RecordedEvent, user_id: Uuid) -> Option<NotificationView> {
    if let Some(view) = reminder(recorded).or_else(|| webhook_disabled(recorded)) {
        return (view.user_id == user_id).then_some(view);
    }
    let DomainEvent::Resource { resource_id, event } = decode(recorded)? else { return None };
    let d = draft(&event, &BTreeSet::new())?;
    Some(NotificationView {
        notification_id: Uuid::new_v5(&recorded.event_id, user_id.as_bytes()),
        user_id,
        kind: d.kind.to_string(),
        resource_id,
        reservation_id: d.reservation_id,
        range: d.range,
        message: d.message,
        position: recorded.position,
        created_at: event.at(),
        read: false,
        webhook_id: None,
    })
}

/// The notification a `reservation_reminder` event (see `public_events`) gives its owner.
fn reminder(recorded: &RecordedEvent) -> Option<NotificationView> {
    if recorded.event_type != REMINDER_EVENT_TYPE {
        return None;
    }
    let data: serde_json::Value = serde_json::from_str(&recorded.payload).ok()?;
    let id = |key: &str| data.get(key)?.as_str().and_then(|s| Uuid::parse_str(s).ok());
    let instant = |key: &str| data.get(key)?.as_str()?.parse::<DateTime<Utc>>().ok();
    let user_id = id("user_id")?;
    let range = TimeRange::new(instant("start_time")?, instant("end_time")?).ok();
    let minutes = data.get("minutes_before").and_then(|m| m.as_i64()).unwrap_or(0);
    Some(NotificationView {
        notification_id: Uuid::new_v5(&recorded.event_id, user_id.as_bytes()),
        user_id,
        kind: "reminder".into(),
        resource_id: id("resource_id")?,
        reservation_id: id("reservation_id"),
        range,
        message: format!("Starts in about {minutes} minutes."),
        position: recorded.position,
        created_at: recorded.recorded_at,
        read: false,
        webhook_id: None,
    })
}

/// The notification a `webhook_disabled` event (of a `webhook-{uuid}` stream, naming the owner
/// and the URL itself) gives the endpoint's owner.
fn webhook_disabled(recorded: &RecordedEvent) -> Option<NotificationView> {
    #[derive(Deserialize)]
    struct Disabled {
        owner: Uuid,
        url: String,
        reason: String,
        at: DateTime<Utc>,
    }
    if recorded.event_type != "webhook_disabled" {
        return None;
    }
    let webhook_id = recorded.stream_id.strip_prefix("webhook-").and_then(|id| Uuid::parse_str(id).ok())?;
    let disabled: Disabled = serde_json::from_str(&recorded.payload).ok()?;
    Some(NotificationView {
        notification_id: Uuid::new_v5(&recorded.event_id, disabled.owner.as_bytes()),
        user_id: disabled.owner,
        kind: "webhook_disabled".into(),
        resource_id: Uuid::nil(),
        reservation_id: None,
        range: None,
        message: format!("Webhook endpoint {} was disabled: {}.", disabled.url, disabled.reason),
        position: recorded.position,
        created_at: disabled.at,
        read: false,
        webhook_id: Some(webhook_id),
    })
}

/// A user's notifications, newest first; only unread ones when `unread_only`.
pub async fn notifications_for_user(
    db: &Database,
    user_id: Uuid,
    unread_only: bool,
    page: &PageRequest,
) -> Result<Page<NotificationView>, ProjectionError> {
    // The row says who and which event; the event itself says what (see `notification_of`).
    let recorded_at = match backend_of(db) {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM e.recorded_at) * 1000000 AS BIGINT)",
        Backend::Sqlite => "e.recorded_at",
    };
    let mut sql = SqlBuilder::new(&format!(
        "SELECT n.position, n.notification_id, CAST(e.event_id AS TEXT), e.stream_id, e.event_type, \
         CAST(e.payload AS TEXT), {recorded_at}, r.read_at FROM rm_notifications n \
         LEFT JOIN events e ON e.position = n.position \
         LEFT JOIN notification_reads r ON r.notification_id = n.notification_id WHERE n.user_id = "
    ));
    sql.bind(user_id.to_string());
    if unread_only {
        // An anti-join, as in `unread_count`: PostgreSQL then walks the user's rows newest first
        // and stops at the page, instead of joining every unread row before sorting.
        sql.push(" AND NOT EXISTS (SELECT 1 FROM notification_reads u WHERE u.notification_id = n.notification_id)");
    }
    let list = CursorList::new("notifications", KeyKind::Int);
    if let Some(cursor) = page.decode_for(&list)? {
        let SortValue::Int(position) = cursor.key else { return Err(ProjectionError::InvalidCursor) };
        sql.push(" AND n.position < ").bind(position);
    }
    let limit = page.size();
    sql.push(&format!(" ORDER BY n.position DESC LIMIT {}", limit + 1));
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        let position = row.int(0)?.max(0) as u64;
        let notification_id = row.text(1)?;
        let Some(event_id) = row.opt_text(2)? else {
            return Err(ProjectionError::Corrupt(format!("notifications: no event at position {position}")));
        };
        // The fields `notification_of` reads; the rest of the log row is not needed here.
        let recorded = RecordedEvent {
            position,
            event_id: Uuid::parse_str(&event_id).map_err(|e| ProjectionError::Corrupt(e.to_string()))?,
            stream_id: row.text(3)?,
            stream_version: 0,
            event_type: row.text(4)?,
            schema_version: 0,
            payload: row.text(5)?,
            metadata: String::new(),
            recorded_at: from_micros(row.int(6)?)?,
            prev_hash: Vec::new(),
            hash: Vec::new(),
        };
        // An event this build cannot render (a newer build's kind) is left out of the page, as
        // projections skip events they do not know; the page's cursor still moves past it.
        let view = match notification_of(&recorded, user_id) {
            Some(mut view) => {
                // The id is derived from the event and the recipient: a row that names another
                // event than the one it was written for is damage, not a notification to show.
                if view.notification_id.to_string() != notification_id {
                    return Err(ProjectionError::Corrupt(format!(
                        "notifications: row {notification_id} does not match the event at position {position}"
                    )));
                }
                view.read = row.opt_int(7)?.is_some();
                Some(view)
            }
            None => {
                tracing::debug!(position, event_type = %recorded.event_type, "notification left out: event not understood");
                None
            }
        };
        entries.push((CursorKey { key: SortValue::Int(position as i64), id: notification_id }, view));
    }
    let page = into_page(entries, limit, &list, |(key, _)| key.clone());
    Ok(Page {
        data: page.data.into_iter().filter_map(|(_, view)| view).collect(),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    })
}

/// How many notifications the user has not read.
pub async fn unread_count(db: &Database, user_id: Uuid) -> Result<u64, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT COUNT(*) FROM rm_notifications n WHERE n.user_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.notification_id)",
        &[user_id.to_string().into()],
    )
    .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0).max(0) as u64)
}

/// Marks some of the user's notifications read (others' ids are ignored). Returns how many
/// were newly marked.
pub async fn mark_read(
    db: &Database,
    user_id: Uuid,
    notification_ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<u64, ProjectionError> {
    if notification_ids.is_empty() {
        return Ok(0);
    }
    let mut args: Vec<Value> = vec![user_id.to_string().into(), Value::Int(at.timestamp_micros())];
    args.extend(notification_ids.iter().map(|id| Value::Text(id.to_string())));
    let sql = format!(
        "INSERT INTO notification_reads (notification_id, user_id, read_at) \
         SELECT notification_id, user_id, $2 FROM rm_notifications WHERE user_id = $1 AND notification_id IN ({}) \
         ON CONFLICT (notification_id) DO NOTHING",
        placeholders(3, notification_ids.len())
    );
    Ok(execute(db, &sql, &args).await?)
}

/// Marks every current notification of the user read.
pub async fn mark_all_read(db: &Database, user_id: Uuid, at: DateTime<Utc>) -> Result<u64, ProjectionError> {
    Ok(execute(
        db,
        "INSERT INTO notification_reads (notification_id, user_id, read_at) \
         SELECT notification_id, user_id, $2 FROM rm_notifications WHERE user_id = $1 \
         ON CONFLICT (notification_id) DO NOTHING",
        &[user_id.to_string().into(), Value::Int(at.timestamp_micros())],
    )
    .await?)
}

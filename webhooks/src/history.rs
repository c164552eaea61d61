//! What the API shows: the subscriptions the planner knows, and each subscription's
//! deliveries, newest first, with every attempt.

use chrono::{DateTime, Utc};
use reserver_projections::page::{open_cursor, seal_cursor};
use reserver_projections::sql::{fetch_all, placeholders, DbRow, SqlBuilder, Value};
use reserver_projections::Page;
use reserver_store::Database;
use serde::Serialize;
use uuid::Uuid;

use crate::deliveries::PENDING;
use crate::error::WebhookError;
use crate::subscription::Subscription;

/// Deliveries per page when none is asked for, and at most.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Every subscription, oldest first, as of the planner's position.
pub async fn subscriptions(db: &Database) -> Result<Vec<Subscription>, WebhookError> {
    let rows = fetch_all(db, "SELECT doc FROM webhook_subscriptions ORDER BY created_at, subscription_id", &[]).await?;
    rows.iter().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).collect()
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptView {
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first kilobyte of the endpoint's answer.
    pub response_body: Option<String>,
}

/// A delivery and its attempts, oldest attempt first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
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
    pub attempts: Vec<AttemptView>,
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn uuid(text: &str) -> Result<Uuid, WebhookError> {
    Uuid::parse_str(text).map_err(|e| WebhookError::Corrupt(format!("{text}: {e}")))
}

/// The list delivery cursors belong to (see `reserver_projections::page`).
const CURSOR_LIST: &str = "webhook-deliveries";

/// A page cursor: the sort key of the last row (`created_at`, `position`, `delivery_id`),
/// sealed so only this list accepts it back.
fn encode_cursor(view: &DeliveryView) -> String {
    seal_cursor(CURSOR_LIST, &(view.created_at.timestamp_micros(), view.position as i64, view.id))
}

fn decode_cursor(cursor: &str) -> Result<(i64, i64, String), WebhookError> {
    let (created, position, id): (i64, i64, Uuid) = open_cursor(CURSOR_LIST, cursor)?;
    Ok((created, position, id.to_string()))
}

const DELIVERY_COLUMNS: &str = "delivery_id, event_type, event_id, position, status, attempts, created_at, \
     next_attempt_at, expires_at, finished_at";

/// A row of [`DELIVERY_COLUMNS`], without its attempts yet.
fn delivery_view(row: &DbRow) -> Result<DeliveryView, WebhookError> {
    let status = row.text(4)?;
    Ok(DeliveryView {
        id: uuid(&row.text(0)?)?,
        event_type: row.text(1)?,
        event_id: uuid(&row.text(2)?)?,
        position: row.int(3)?.max(0) as u64,
        next_attempt_at: (status == PENDING).then(|| row.int(7).map(instant)).transpose()?,
        status,
        attempt_count: row.int(5)?.max(0) as u32,
        created_at: instant(row.int(6)?),
        expires_at: instant(row.int(8)?),
        finished_at: row.opt_int(9)?.map(instant),
        attempts: Vec::new(),
    })
}

/// A subscription's deliveries, newest first, optionally only those with `status`.
pub async fn deliveries(
    db: &Database,
    subscription: Uuid,
    status: Option<&str>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<DeliveryView>, WebhookError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut sql =
        SqlBuilder::new(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = "));
    sql.bind(subscription.to_string());
    if let Some(status) = status {
        sql.push(" AND status = ").bind(status);
    }
    if let Some(cursor) = cursor {
        let (created, position, id) = decode_cursor(cursor)?;
        sql.push(" AND (created_at < ").bind(created);
        sql.push(" OR (created_at = ").bind(created);
        sql.push(" AND (position < ").bind(position);
        sql.push(" OR (position = ").bind(position);
        sql.push(" AND delivery_id < ").bind(id).push("))))");
    }
    sql.push(&format!(" ORDER BY created_at DESC, position DESC, delivery_id DESC LIMIT {}", limit + 1));
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let mut views = rows.iter().map(delivery_view).collect::<Result<Vec<_>, _>>()?;
    let has_more = views.len() > limit as usize;
    views.truncate(limit as usize);
    attach_attempts(db, &mut views).await?;
    let next_cursor = if has_more { views.last().map(encode_cursor) } else { None };
    Ok(Page { data: views, next_cursor, has_more })
}

/// One delivery of a subscription, with its attempts.
pub async fn delivery(db: &Database, subscription: Uuid, id: Uuid) -> Result<Option<DeliveryView>, WebhookError> {
    let rows = fetch_all(
        db,
        &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = $1 AND delivery_id = $2"),
        &[subscription.to_string().into(), id.to_string().into()],
    )
    .await?;
    let mut views = rows.iter().map(delivery_view).collect::<Result<Vec<_>, _>>()?;
    attach_attempts(db, &mut views).await?;
    Ok(views.pop())
}

async fn attach_attempts(db: &Database, views: &mut [DeliveryView]) -> Result<(), WebhookError> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<Value> = views.iter().map(|v| Value::Text(v.id.to_string())).collect();
    let rows = fetch_all(
        db,
        &format!(
            "SELECT delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_body \
             FROM webhook_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, attempt",
            placeholders(1, ids.len())
        ),
        &ids,
    )
    .await?;
    for row in &rows {
        let id = uuid(&row.text(0)?)?;
        let Some(view) = views.iter_mut().find(|v| v.id == id) else { continue };
        view.attempts.push(AttemptView {
            attempt: row.int(1)?.max(0) as u32,
            attempted_at: instant(row.int(2)?),
            status_code: row.opt_int(3)?.and_then(|c| u16::try_from(c).ok()),
            latency_ms: row.int(4)?.max(0) as u64,
            error: row.opt_text(5)?,
            response_body: row.opt_text(6)?,
        });
    }
    Ok(())
}

//! The delivery queue in `webhook_deliveries`: planned rows, claims with a lease, the outcome
//! of each attempt (recorded in `webhook_attempts`), and redelivery.
//!
//! Claiming is one statement that both picks due rows and stamps them with a lease, so two
//! workers — in one process or on several replicas — never hold the same delivery at once:
//! on PostgreSQL the picking sub-select takes the rows `FOR UPDATE SKIP LOCKED` (a competitor
//! skips them instead of waiting, and re-checks the lease if it raced), on SQLite the single
//! `UPDATE … RETURNING` runs under the database write lock. A worker that dies mid-attempt
//! simply lets its lease run out; the attempt is then made again (at-least-once).

use chrono::{DateTime, Utc};
use reserver_projections::sql::{execute, execute_returning, fetch_all, DbTx, Value};
use reserver_store::Database;
use uuid::Uuid;

use crate::error::WebhookError;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// The first columns of a planned row, in the order of [`NewDelivery::row`].
pub const INSERT_HEAD: &str = "INSERT INTO webhook_deliveries (delivery_id, subscription_id, event_id, event_type, \
     position, body, status, created_at, next_attempt_at, expires_at)";
/// Planning the same event for the same subscription twice keeps the first row.
pub const INSERT_TAIL: &str = "ON CONFLICT (subscription_id, event_id) DO NOTHING";

/// A delivery about to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub delivery_id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub position: u64,
    pub body: String,
}

/// The delivery id of a log event for a subscription: derived from both, so planning it again
/// (a replayed batch) gives the same `webhook-id`.
pub fn delivery_id(event_id: Uuid, subscription_id: Uuid) -> Uuid {
    Uuid::new_v5(&event_id, subscription_id.as_bytes())
}

fn micros(at: DateTime<Utc>) -> Value {
    Value::Int(at.timestamp_micros())
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn uuid(text: &str) -> Result<Uuid, WebhookError> {
    Uuid::parse_str(text).map_err(|e| WebhookError::Corrupt(format!("{text}: {e}")))
}

impl NewDelivery {
    /// The row's values for [`INSERT_HEAD`]: due now, retried until `expires_at`.
    pub fn row(&self, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Vec<Value> {
        vec![
            self.delivery_id.to_string().into(),
            self.subscription_id.to_string().into(),
            self.event_id.to_string().into(),
            self.event_type.clone().into(),
            Value::Int(self.position as i64),
            self.body.clone().into(),
            PENDING.into(),
            micros(now),
            micros(now),
            micros(expires_at),
        ]
    }
}

/// Queues one delivery outside the planner (pings).
pub async fn enqueue(
    db: &Database,
    delivery: &NewDelivery,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let placeholders = (1..=10).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    execute(db, &format!("{INSERT_HEAD} VALUES ({placeholders}) {INSERT_TAIL}"), &delivery.row(now, expires_at))
        .await?;
    Ok(())
}

/// A delivery a worker holds until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub delivery_id: Uuid,
    pub subscription_id: Uuid,
    pub event_type: String,
    pub body: String,
    /// This attempt's number (1 for the first attempt ever).
    pub attempt: u32,
    /// This attempt's number since the last redelivery: what the back-off counts.
    pub attempt_in_round: u32,
    pub expires_at: DateTime<Utc>,
}

const CLAIMED_COLUMNS: &str = "delivery_id, subscription_id, event_type, body, attempts, retry_from, expires_at";

/// Claims up to `limit` due deliveries of active subscriptions until `lease_until`, counting
/// the attempt about to be made.
pub async fn claim(
    db: &Database,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Claimed>, WebhookError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let due = "SELECT w.delivery_id FROM webhook_deliveries w \
         JOIN webhook_subscriptions s ON s.subscription_id = w.subscription_id \
         WHERE w.status = 'pending' AND w.next_attempt_at <= $1 AND w.lease_until <= $1 AND s.active = 1 \
         ORDER BY w.next_attempt_at, w.position, w.delivery_id LIMIT $3";
    let sql = match db {
        Database::Postgres(_) => format!(
            "UPDATE webhook_deliveries AS d SET lease_until = $2, attempts = d.attempts + 1 \
             FROM ({due} FOR UPDATE OF w SKIP LOCKED) AS due WHERE d.delivery_id = due.delivery_id \
             RETURNING {}",
            CLAIMED_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ")
        ),
        Database::Sqlite(_) => format!(
            "UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1 \
             WHERE delivery_id IN ({due}) RETURNING {CLAIMED_COLUMNS}"
        ),
    };
    let rows = execute_returning(db, &sql, &[micros(now), micros(lease_until), Value::Int(limit as i64)]).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let attempt = row.int(4)?.max(1) as u32;
        claimed.push(Claimed {
            delivery_id: uuid(&row.text(0)?)?,
            subscription_id: uuid(&row.text(1)?)?,
            event_type: row.text(2)?,
            body: row.text(3)?,
            attempt,
            attempt_in_round: attempt.saturating_sub(row.int(5)?.max(0) as u32).max(1),
            expires_at: instant(row.int(6)?),
        });
    }
    Ok(claimed)
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempted_at: DateTime<Utc>,
    /// The endpoint's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// Why it failed without an answer (timeout, refused address, connection error).
    pub error: Option<String>,
    /// The start of the endpoint's answer.
    pub response_body: Option<String>,
}

/// What becomes of the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// No retry left before the delivery's maximum age.
    Failed,
}

/// Records an attempt and its outcome in one transaction. Does nothing to the delivery (but
/// still records the attempt) when its lease was lost and another worker claimed it since.
pub async fn finish_attempt(
    db: &Database,
    claimed: &Claimed,
    record: &AttemptRecord,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let id = claimed.delivery_id.to_string();
    let mut tx = DbTx::begin(db).await?;
    tx.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id, attempt) DO NOTHING",
        &[
            id.clone().into(),
            Value::Int(claimed.attempt as i64),
            micros(record.attempted_at),
            record.status_code.map(i64::from).into(),
            Value::Int(record.latency_ms.min(i64::MAX as u64) as i64),
            record.error.clone().into(),
            record.response_body.clone().into(),
        ],
    )
    .await?;
    let guard = "WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'";
    let (sql, extra) = match outcome {
        Outcome::Delivered => (
            format!("UPDATE webhook_deliveries SET status = 'delivered', finished_at = $3, lease_until = 0 {guard}"),
            now,
        ),
        Outcome::Failed => {
            (format!("UPDATE webhook_deliveries SET status = 'failed', finished_at = $3, lease_until = 0 {guard}"), now)
        }
        Outcome::RetryAt(at) => {
            (format!("UPDATE webhook_deliveries SET next_attempt_at = $3, lease_until = 0 {guard}"), at)
        }
    };
    tx.execute(&sql, &[id.into(), Value::Int(claimed.attempt as i64), micros(extra)]).await?;
    tx.commit().await?;
    Ok(())
}

/// When the worker should look again: the earliest instant a pending delivery of an active
/// subscription becomes due (its next attempt, or the end of its lease if later).
pub async fn next_due(db: &Database) -> Result<Option<DateTime<Utc>>, WebhookError> {
    let rows = fetch_all(
        db,
        "SELECT MIN(CASE WHEN d.lease_until > d.next_attempt_at THEN d.lease_until ELSE d.next_attempt_at END) \
         FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.subscription_id = d.subscription_id \
         WHERE d.status = 'pending' AND s.active = 1",
        &[],
    )
    .await?;
    Ok(rows.first().map(|r| r.opt_int(0)).transpose()?.flatten().map(instant))
}

/// Sends a delivery of `subscription` again: due now, with a fresh maximum age and a back-off
/// that starts over. Its `webhook-id` stays the same. False when there is no such delivery.
pub async fn redeliver(
    db: &Database,
    subscription: Uuid,
    delivery: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool, WebhookError> {
    let changed = execute(
        db,
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, expires_at = $4, \
         retry_from = attempts, finished_at = NULL WHERE delivery_id = $1 AND subscription_id = $2",
        &[delivery.to_string().into(), subscription.to_string().into(), micros(now), micros(expires_at)],
    )
    .await?;
    Ok(changed > 0)
}

/// The statuses of a subscription's deliveries that finished after `since`, latest first.
pub async fn recent_outcomes(
    db: &Database,
    subscription: Uuid,
    since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<String>, WebhookError> {
    let rows = fetch_all(
        db,
        &format!(
            "SELECT status FROM webhook_deliveries WHERE subscription_id = $1 AND finished_at IS NOT NULL \
             AND finished_at >= $2 ORDER BY finished_at DESC LIMIT {limit}"
        ),
        &[subscription.to_string().into(), micros(since)],
    )
    .await?;
    rows.iter().map(|r| r.text(0).map_err(WebhookError::from)).collect()
}

/// Deletes a subscription's deliveries and their attempts (inside the planner's transaction).
pub async fn delete_for(tx: &mut DbTx, subscription: Uuid) -> Result<(), WebhookError> {
    let id: Value = subscription.to_string().into();
    tx.execute(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT delivery_id FROM webhook_deliveries WHERE subscription_id = $1)",
        std::slice::from_ref(&id),
    )
    .await?;
    tx.execute("DELETE FROM webhook_deliveries WHERE subscription_id = $1", &[id]).await?;
    Ok(())
}
